"""The user's data: dataclasses, geometry, the project store and the file formats.

Imports numpy, pycocotools, Pillow and OpenCV only; never torch, Qt, engine or gui.
"""

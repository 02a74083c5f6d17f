"""Models: registry, weights, predictor, evaluation, training, explanations, video sources.

Imports annotations, torch, torchvision and OpenCV; never Qt or gui.
"""

"""Dockable panels of the labelling window: file list, category list, annotation list."""

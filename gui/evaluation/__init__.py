"""Widgets of the evaluation view (see gui/evaluation_view.py)."""

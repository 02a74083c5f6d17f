"""The Explain feature's widgets and engine-thread tasks (the feature module: gui/explain_view.py).

tasks (what runs on the engine thread), runner (one task at a time, with cancel), panel (the dock),
layer_tree, cards (one map with its numbers), layer_views (feature maps, filter visualisation)."""

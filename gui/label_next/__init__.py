"""The "Label next" dock: rank a run's images (gui.label_next.panel), review the labels the model
disagrees with (gui.label_next.review); the ranking runs off the GUI thread (gui.label_next.ranker)."""

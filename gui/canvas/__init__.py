"""The labelling canvas: image view, shape items, tools, image decoding and prefetch.

    canvas = CanvasWidget(parent, session=session)   # the session (gui.session) owns the state shown
    canvas.set_store(store)                 # standalone use: opens the store in the canvas's session
    canvas.show_image(image_id, highlight=[annotation ids])
    canvas.undo_stack                       # the session's QUndoStack; every edit is a gui.commands command

Tools ("select", "rectangle", "polygon", "brush", "eraser") through set_tool; edits through
copy_selection / paste / duplicate_selection / delete_selection / nudge / relabel /
polygon_to_mask / mask_to_polygon / accept_predictions / reject_predictions /
accept_predictions_above / reject_predictions_below. Signals: selection_changed(list),
cursor_moved(float, float), zoom_changed(float), tool_changed(str), image_loaded(int),
image_failed(int, str), message(str).

Modules: widget (the CanvasWidget and its refresh from the store), view (zoom, pan, event routing),
items (scene items and the cached shapes layer), painting (appearance as a pure function, path and
mask-image caches), shapes (pure geometry edits), edits (clipboard, selection and prediction
actions), image_cache and image_layer (off-thread decoding into tiled pyramids, LRU prefetch),
tools/ (one module per family of tools).
"""
from .widget import CanvasWidget

__all__ = ["CanvasWidget"]

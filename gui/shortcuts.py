"""The keyboard shortcuts of the labelling window: defaults, user overrides kept in QSettings,
and the conflict check that refuses one key bound to two commands.

The defaults follow what labelme and CVAT users already type: W/R rectangle, P polygon, B brush,
E eraser, V or Esc select, D/A next/previous image, F fit, 1-9 pick a category, [ ] brush size.
Each command may have up to two keys (primary and alternate).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

SETTINGS_GROUP = "shortcuts"
MAX_KEYS = 2


@dataclass(frozen=True)
class Command:
    id: str
    group: str  # heading in the help table
    text: str  # what the command does, as the menu and the help say it
    keys: tuple[str, ...]  # default keys, portable text ("Ctrl+Shift+Z")


COMMANDS: tuple[Command, ...] = (
    Command("tool.select", "Tools", "Select and edit", ("V", "Esc")),
    Command("tool.rectangle", "Tools", "Draw rectangles", ("W", "R")),
    Command("tool.polygon", "Tools", "Draw polygons", ("P",)),
    Command("tool.brush", "Tools", "Paint a mask (brush)", ("B",)),
    Command("tool.eraser", "Tools", "Erase from a mask", ("E",)),
    Command("brush.smaller", "Tools", "Smaller brush", ("[",)),
    Command("brush.larger", "Tools", "Larger brush", ("]",)),
    Command("edit.undo", "Edit", "Undo", ("Ctrl+Z",)),
    Command("edit.redo", "Edit", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
    Command("edit.copy", "Edit", "Copy selected shapes", ("Ctrl+C",)),
    Command("edit.paste", "Edit", "Paste shapes", ("Ctrl+V",)),
    Command("edit.duplicate", "Edit", "Duplicate selected shapes", ("Ctrl+D",)),
    Command("edit.delete", "Edit", "Delete selected shapes", ("Del",)),
    Command("edit.accept", "Edit", "Accept selected predictions", ("Shift+Return",)),
    Command("edit.reject", "Edit", "Reject selected predictions", ("Shift+Del",)),
    Command("edit.select_all", "Edit", "Select all shapes", ("Ctrl+A",)),
    Command("edit.invert_selection", "Edit", "Invert the selection", ("Ctrl+I",)),
    Command("edit.delete_predictions", "Edit", "Delete all predictions of this image", ("Ctrl+Shift+Del",)),
    Command("view.fit", "View", "Fit image to window", ("F",)),
    Command("view.one_to_one", "View", "Zoom 1:1 (100%)", ("Ctrl+0",)),
    Command("view.toggle_shapes", "View", "Hide or show all shapes", ("H",)),
    Command("view.only_category", "View", "Show only the current category (again: show all)", ("Shift+H",)),
    Command("view.captions", "View", "Show category names on shapes", ("L",)),
    Command("view.reset_adjust", "View", "Reset brightness, contrast and gamma", ("Ctrl+Shift+R",)),
    Command("nav.next", "Navigate", "Next image", ("D",)),
    Command("nav.previous", "Navigate", "Previous image", ("A",)),
    Command("rank.next", "Label next", "Next ranked image", ("Shift+N",)),
    Command("review.accept", "Label next", "Accept the model's version of a flagged label", ("M",)),
    Command("review.keep", "Label next", "Keep a flagged label (reviewed)", ("K",)),
    Command("review.delete", "Label next", "Delete a flagged label", ("X",)),
    *(Command(f"category.{i}", "Categories", f"Use category {i}", (str(i),)) for i in range(1, 10)),
    Command("file.open_project", "File", "Open project", ("Ctrl+O",)),
    Command("file.open_folder", "File", "Open image folder", ("Ctrl+Shift+O",)),
    Command("file.settings", "File", "Settings", ("Ctrl+,",)),
    Command("file.quit", "File", "Quit", ("Ctrl+Q",)),
    Command("help.shortcuts", "Help", "Keyboard shortcuts", ("F1",)),
)
COMMANDS_BY_ID = {c.id: c for c in COMMANDS}


def normalize(key: str) -> str:
    """One spelling per key ("ctrl+z" and "Ctrl+Z" are the same key); "" stays empty."""
    if not key:
        return ""
    return QKeySequence(key).toString(QKeySequence.PortableText)


def default_keymap() -> dict[str, tuple[str, ...]]:
    return {c.id: tuple(normalize(k) for k in c.keys) for c in COMMANDS}


def find_conflicts(keymap: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(key, first command id, second command id) for every key bound twice."""
    owner: dict[str, str] = {}
    conflicts = []
    for cid, keys in keymap.items():
        for key in keys:
            k = normalize(key)
            if not k:
                continue
            if k in owner and owner[k] != cid:
                conflicts.append((k, owner[k], cid))
            else:
                owner[k] = cid
    return conflicts


def describe_conflicts(conflicts: list[tuple[str, str, str]]) -> str:
    lines = []
    for key, a, b in conflicts:
        ta = COMMANDS_BY_ID[a].text if a in COMMANDS_BY_ID else a
        tb = COMMANDS_BY_ID[b].text if b in COMMANDS_BY_ID else b
        lines.append(f"{key} is used by both \u201c{ta}\u201d and \u201c{tb}\u201d.")
    return "\n".join(lines)


def load_keymap(settings: QSettings | None = None) -> dict[str, tuple[str, ...]]:
    """The defaults with the user's overrides applied. An override that would clash is ignored."""
    settings = settings or QSettings()
    keymap = default_keymap()
    settings.beginGroup(SETTINGS_GROUP)
    try:
        for cid in settings.childKeys():
            if cid not in keymap:
                continue
            raw = settings.value(cid, "")
            if isinstance(raw, (list, tuple)):
                raw = "\t".join(str(r) for r in raw)
            keys = tuple(normalize(k) for k in str(raw).split("\t"))[:MAX_KEYS]
            candidate = dict(keymap, **{cid: tuple(k for k in keys if k)})
            if not find_conflicts(candidate):
                keymap = candidate
    finally:
        settings.endGroup()
    return keymap


def save_keymap(keymap: dict[str, tuple[str, ...]], settings: QSettings | None = None) -> None:
    """Store only what differs from the defaults; refuses (ValueError) a keymap with conflicts."""
    conflicts = find_conflicts(keymap)
    if conflicts:
        raise ValueError(describe_conflicts(conflicts))
    settings = settings or QSettings()
    defaults = default_keymap()
    settings.remove(SETTINGS_GROUP)
    settings.beginGroup(SETTINGS_GROUP)
    for cid, keys in keymap.items():
        keys = tuple(normalize(k) for k in keys if k)
        if keys != tuple(k for k in defaults.get(cid, ()) if k):
            settings.setValue(cid, "\t".join(keys))
    settings.endGroup()
    settings.sync()


def key_sequences(keys: tuple[str, ...]) -> list[QKeySequence]:
    return [QKeySequence(k, QKeySequence.PortableText) for k in keys if k]


def native_text(keys: tuple[str, ...]) -> str:
    """How the keys read on this platform, for menus and the help table."""
    return ", ".join(QKeySequence(k, QKeySequence.PortableText).toString(QKeySequence.NativeText)
                     for k in keys if k)

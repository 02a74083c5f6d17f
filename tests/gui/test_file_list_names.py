"""Image names too long for the file list's column: what all names share is left out first, so two
different images never look the same in the list (COCO's names all start "COCO_val2014_000000")."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from annotations.model import ImageRecord
from annotations.store import Store
from gui.panels.short_names import fitted_name, shared_affixes

from pixels import argb

COCO = ["COCO_val2014_000000000036.jpg", "COCO_val2014_000000000073.jpg", "COCO_val2014_000000581936.jpg",
        "COCO_val2014_000000000139.jpg"]


def _by_length(n):
    return (lambda t: len(t) <= n), (lambda t: t if len(t) <= n else t[:n // 2] + "\u2026" + t[len(t) - n // 2 + 1:])


def test_what_all_names_share_is_left_out_first():
    start, end = shared_affixes(COCO)
    assert (start, end) == (len("COCO_val2014_000000"), len(".jpg"))
    fits, middle = _by_length(12)
    assert [fitted_name(n, start, end, fits, middle) for n in COCO] == \
        ["\u2026000036.jpg", "\u2026000073.jpg", "\u2026581936.jpg", "\u2026000139.jpg"]
    fits, middle = _by_length(16)  # room to spare: as much of the shared start as fits
    assert fitted_name(COCO[2], start, end, fits, middle) == "COCO_\u2026581936.jpg"
    fits, middle = _by_length(13)  # never a letter or two of it (noise)
    assert fitted_name(COCO[2], start, end, fits, middle) == "\u2026581936.jpg"
    city = ["aachen_000000_000019_leftImg8bit.png", "bochum_000000_000313_leftImg8bit.png"]
    start, end = shared_affixes(city)
    assert (start, end) == (0, len("_leftImg8bit.png"))
    fits, middle = _by_length(24)  # nothing shared at the start: the shared end goes
    assert fitted_name(city[1], start, end, fits, middle) == "bochum_000000_000313\u2026png"
    fits, middle = _by_length(8)  # still too long: the shortest form, its middle elided
    assert fitted_name(city[1], start, end, fits, middle) == middle("bochum_000000_000313\u2026")
    assert fitted_name("short.jpg", 5, 4, fits, middle) == middle("short.jpg")  # nothing but what all share
    assert fitted_name("a.jpg", 19, 4, fits, middle) == "a.jpg"  # fits: as it is
    assert shared_affixes(["only.jpg"]) == (0, 0)


def test_names_that_differ_inside_look_different_in_a_narrow_list(qtbot, tmp_path):
    from gui.panels.file_list import FileListPanel
    from gui.session import Session
    with Store.open(tmp_path / "p") as store:
        store.add_images(ImageRecord(None, n, 64, 48) for n in COCO)
        session = Session()
        panel = FileListPanel(session)
        qtbot.addWidget(panel)
        panel.resize(240, 300)  # the Images dock's width in a 1600x1000 window
        panel.show()
        session.open(store)
        view = panel.view
        qtbot.waitUntil(lambda: view.model().rowCount() == 4)
        fm, room = view.fontMetrics(), view.columnWidth(0) - 8
        # Qt's own middle elision makes the first and third names one text in this column
        assert fm.horizontalAdvance(COCO[0]) > room
        assert fm.elidedText(COCO[0], Qt.ElideMiddle, room) == fm.elidedText(COCO[2], Qt.ElideMiddle, room)
        cells = [view.model().index(r, 0) for r in (0, 2)]  # rows of one colour (alternating rows)
        pictures = [argb(view.viewport().grab(view.visualRect(i)).toImage()) for i in cells]
        assert pictures[0].shape == pictures[1].shape and not np.array_equal(*pictures)
        drawn = []
        for i in cells:
            option = QStyleOptionViewItem()
            option.initFrom(view)
            option.rect = view.visualRect(i)
            option.widget = view
            view.itemDelegateForColumn(0).initStyleOption(option, i)
            drawn.append(option.text)
        assert [t.split("\u2026")[-1] for t in drawn] == ["000036.jpg", "581936.jpg"]  # the part that differs, whole
        assert all(fm.horizontalAdvance(t) <= room for t in drawn)

"""Adding a format is adding one module of annotations.formats that declares FORMAT: the registry
finds it (in menu order), the command line and the File menu offer exactly the registered formats,
and nothing of them loads until a format is asked for."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from annotations import cli_convert, formats
from annotations.formats import FORMATS, IMPORT_FORMATS, REGISTRY, FormatError, format_info

ROOT = Path(__file__).resolve().parents[3]


def test_every_registered_format_has_its_module_functions():
    assert FORMATS == ("coco", "voc", "yolo", "labelme", "masks")  # FormatInfo.order
    for info in REGISTRY:
        module = importlib.import_module(f"annotations.formats.{info.name}")
        assert module.FORMAT is info
        assert callable(getattr(module, f"export_{info.name}"))
        assert callable(getattr(module, f"import_{info.name}", None)) == info.imports


def test_the_command_line_offers_the_registered_formats():
    assert tuple(cli_convert.EXPORT_CHOICES) == FORMATS
    assert tuple(cli_convert.IMPORT_CHOICES) == (*IMPORT_FORMATS, "coco-results")
    assert "masks" in cli_convert.EXPORT_CHOICES and "masks" not in cli_convert.IMPORT_CHOICES


def test_an_unknown_format_is_named():
    with pytest.raises(FormatError, match="unknown format 'csv'; known formats: coco, voc"):
        format_info("csv")


def test_a_new_format_is_one_module(tmp_path, monkeypatch):
    (tmp_path / "tally.py").write_text(
        "from annotations.formats.common import ExportReport, FormatInfo\n"
        "FORMAT = FormatInfo('tally', 'Tally (text file)', imports=False, single_file=True, order=35)\n"
        "def export_tally(store, out_path, image_ids=None, progress=None, include_predictions=False):\n"
        "    n = len(store.annotations())\n"
        "    open(out_path, 'w').write(str(n))\n"
        "    return ExportReport(annotations=n, path=str(out_path))\n", encoding="utf-8")
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(tmp_path)])
    formats.registry.cache_clear()
    try:
        assert formats.FORMATS == ("coco", "voc", "yolo", "tally", "labelme", "masks")
        assert "tally" in cli_convert.EXPORT_CHOICES and "tally" not in cli_convert.IMPORT_CHOICES
        assert format_info("tally").title == "Tally (text file)"
        from annotations.store import Store
        store = Store.open(tmp_path / "proj")
        report = formats.export_labels(store, "tally", tmp_path / "out.txt")
        store.close()
        assert (tmp_path / "out.txt").read_text() == "0" and report.annotations == 0
    finally:
        sys.modules.pop("annotations.formats.tally", None)
        monkeypatch.undo()
        formats.registry.cache_clear()
    assert "tally" not in formats.FORMATS


def test_a_module_named_apart_from_its_format_is_refused(tmp_path, monkeypatch):
    (tmp_path / "odd.py").write_text("from annotations.formats.common import FormatInfo\n"
                                     "FORMAT = FormatInfo('even', 'Even')\n", encoding="utf-8")
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(tmp_path)])
    formats.registry.cache_clear()
    try:
        with pytest.raises(ImportError, match="odd.py declares the format 'even'"):
            formats.registry()
    finally:
        sys.modules.pop("annotations.formats.odd", None)
        monkeypatch.undo()
        formats.registry.cache_clear()


def test_the_window_and_other_commands_load_no_format_module():
    code = ("import sys, gui.main_window, main; main.build_parser().parse_args(['evaluate', '--gt', 'g', '--dt', 'd']); "
            "print(sorted(m for m in sys.modules if m.startswith('annotations.formats.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    loaded = eval(out.stdout.strip().splitlines()[-1])
    assert not {f"annotations.formats.{name}" for name in ("coco", "voc", "yolo", "labelme", "masks")} & set(loaded)

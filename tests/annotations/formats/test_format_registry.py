"""Adding a format is one module plus one entry of annotations.formats.REGISTRY: every entry has its
module's functions, and the command line offers exactly the registered formats."""
from __future__ import annotations

import importlib

import pytest

from annotations import cli_convert
from annotations.formats import FORMATS, IMPORT_FORMATS, REGISTRY, FormatError, format_info


def test_every_registered_format_has_its_module_functions():
    for info in REGISTRY:
        module = importlib.import_module(f"annotations.formats.{info.name}")
        assert callable(getattr(module, f"export_{info.name}"))
        assert callable(getattr(module, f"import_{info.name}", None)) == info.imports


def test_the_command_line_offers_the_registered_formats():
    assert cli_convert.EXPORT_CHOICES == FORMATS
    assert cli_convert.IMPORT_CHOICES == (*IMPORT_FORMATS, "coco-results")


def test_an_unknown_format_is_named():
    with pytest.raises(FormatError, match="unknown format 'csv'; known formats: coco, voc"):
        format_info("csv")

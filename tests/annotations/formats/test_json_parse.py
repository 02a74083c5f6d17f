"""Label files are parsed by orjson where it reads exactly what json reads, and by json elsewhere:
the same values and the same refusals either way."""
from __future__ import annotations

import json

import pytest

from annotations.formats import coco

SAME = [b'{"a": 1, "a": 2}', b'[1e400, -0, 1.5, 12345678901234567, 9223372036854775807]',
        b'[123456789012345678901234567890, 18446744073709551616]', b'\xef\xbb\xbf{"x": 1}',
        '{"x": "\u00e9"}'.encode("utf-16"), b'["\\ud800"]', b'[NaN, Infinity, -Infinity]',
        b'{"k": 0.1, "t": true, "n": null}', b'[' * 50 + b']' * 50, b'{"s": "a\\u0000b"}',
        b'[1.0000000000000002, 5e-324, 1.7976931348623157e308, 2.5e-308]']
REFUSED = [b'{"a": }', b'[1,]', b'{"a":1', b'\x80\x81', b'[' * 100000 + b']' * 100000, b'["a\x01"]']


@pytest.mark.parametrize("raw", SAME)
def test_values_are_jsons(raw):
    got = coco.parse_json(raw)
    assert repr(got) == repr(json.loads(raw))


@pytest.mark.parametrize("raw", REFUSED)
def test_refusals_are_jsons(raw):
    with pytest.raises(Exception) as ours:
        coco.parse_json(raw)
    with pytest.raises(Exception) as theirs:
        json.loads(raw)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_large_files_and_long_numbers_go_to_json(monkeypatch):
    calls = []
    real = coco.orjson.loads
    monkeypatch.setattr(coco.orjson, "loads", lambda raw: calls.append(len(raw)) or real(raw))
    coco.parse_json(b'[1, 2, 3]')
    assert calls == [9]
    coco.parse_json(b'[1234567890123456789]')  # 19 digits: json, which keeps every digit
    monkeypatch.setattr(coco, "ORJSON_MAX_BYTES", 8)
    assert coco.parse_json(b'[1, 2, 3]') == [1, 2, 3]  # over the size orjson may take: json
    assert calls == [9]


@pytest.mark.parametrize("reader", ["coco", "evaluate", "labelme"])
def test_a_device_or_a_pipe_is_refused_in_one_line_without_being_read(tmp_path, reader, capsys):
    """/dev/zero as a label file was read until memory ran out ("error: MemoryError"), and a named
    pipe (also one named *.json in a labelme folder) waited forever for a writer: neither is a file
    a tool wrote."""
    import os
    import main
    project = tmp_path / "p"
    (tmp_path / "dt.json").write_text("[]")
    folder = tmp_path / "lm"
    folder.mkdir()
    os.mkfifo(folder / "a.json")
    sources = {"coco": ["/dev/zero", str(folder / "a.json")], "evaluate": ["/dev/zero", str(folder / "a.json")],
               "labelme": [str(folder)]}[reader]
    for source in sources:
        if reader == "evaluate":
            args = ["evaluate", "--gt", source, "--dt", str(tmp_path / "dt.json")]
        else:
            args = ["import", "--project", str(project), "--format", reader, source]
        assert main.main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not a regular file" in err[0], err

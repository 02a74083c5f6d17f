"""main.py, the dispatcher: a command's failure nobody caught is one `error:` line for the person and
the whole traceback in the log file (the training child's failures reach the log this way too)."""
from __future__ import annotations

import logging

import pytest

import main


def _log_text() -> str:
    from annotations.applog import setup_logging
    log_file = setup_logging()
    for h in logging.getLogger().handlers:
        h.flush()
    return log_file.read_text(encoding="utf-8")


def test_an_uncaught_failure_is_one_line_on_stderr_and_a_traceback_in_the_log(monkeypatch, capsys, tmp_path):
    import annotations.cli_demo as cli_demo

    def broken(args):
        raise RuntimeError("a bug deep in the demo writer")
    monkeypatch.setattr(cli_demo, "run", broken)
    assert main.main(["demo", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: internal error (RuntimeError: a bug deep in the demo writer); "
                   "run with SIGHTLINE_DEBUG=1 for details"]
    text = _log_text()
    at = text.rfind("command demo failed")
    assert at >= 0 and "Traceback" in text[at:] and "RuntimeError: a bug deep in the demo writer" in text[at:]


@pytest.mark.parametrize("error, code", [(ValueError("bad number in --images"), 2), (OSError("disk full"), 2)])
def test_bad_input_and_resource_errors_are_exit_code_2(monkeypatch, capsys, tmp_path, error, code):
    import annotations.cli_demo as cli_demo

    def failing(args):
        raise error
    monkeypatch.setattr(cli_demo, "run", failing)
    assert main.main(["demo", str(tmp_path / "demo")]) == code
    assert capsys.readouterr().err.startswith(f"error: {error.__class__.__name__}: {error}")


def test_the_window_arguments_are_named_as_the_installed_command(capsys):
    with pytest.raises(SystemExit):
        main.main(["some/project", "--no-such-option"])
    assert capsys.readouterr().err.startswith("usage: sightline ")

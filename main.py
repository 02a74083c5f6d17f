#!/usr/bin/env python3
"""Entry point. With no subcommand: the window (optionally on a project or image folder).

Subcommands run without a display, for scripts, servers and clusters:
  demo, import, export (annotations), predict, evaluate, train (engine).
Each lives in its package as a module with add_arguments(parser) and run(args) -> exit code;
this file only parses and dispatches.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = {
    "demo": ("annotations.cli_demo", "write the synthetic demo project"),
    "import": ("annotations.cli_convert", "import labels (COCO, VOC, YOLO, labelme) into a project"),
    "export": ("annotations.cli_convert", "export a project's labels (COCO, VOC, YOLO, labelme, PNG masks)"),
    "predict": ("engine.predict_cli", "run a model on a project or an image folder"),
    "evaluate": ("engine.evaluate_cli", "COCO/VOC evaluation of detections against ground truth"),
    "train": ("engine.train_cli", "fine-tune a model on a project (one JSON object per line)"),
    "rank": ("engine.rank_cli", "rank images: what to label next, which labels are probably wrong"),
    "explain": ("engine.explain_cli", "explain a prediction or label (heat map), or a split (pointing game)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sightline", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, exit_on_error=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, exit_on_error=False)
        importlib.import_module(module).add_arguments(p, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _quiet_opencv()
    if argv and argv[0] in COMMANDS or argv[:1] in (["-h"], ["--help"]):
        try:
            args = build_parser().parse_args(argv)
        except argparse.ArgumentError as e:  # a value refused (cli_numbers): one line, as every refusal
            print(f"error: {e}", file=sys.stderr)
            return 2
        if args.command is None:
            build_parser().print_help()
            return 0
        from annotations.applog import setup_logging
        setup_logging()
        module = importlib.import_module(COMMANDS[args.command][0])
        try:
            return int(module.run(args) or 0)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return 130
        except Exception as e:  # noqa: BLE001 - the last line of defence: one line, not a traceback
            logging.getLogger("sightline").exception("command %s failed", args.command)
            return _report_uncaught(e)
    gui = argparse.ArgumentParser(prog="sightline", description="Open the window.")
    gui.add_argument("project", nargs="?", help="project folder or image folder (default: the demo project)")
    args = gui.parse_args(argv)
    from gui.app import run_app
    return run_app(args.project)


def _quiet_opencv() -> None:
    """OpenCV prints its own warnings to the terminal (a camera index that does not open, a TIFF it
    leaves to PIL), beside the app's one-line messages about the same thing: only its errors, unless
    the person sets OPENCV_LOG_LEVEL or SIGHTLINE_DEBUG. OpenCV reads the variable when it loads."""
    import os
    if not os.environ.get("SIGHTLINE_DEBUG"):
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def _report_uncaught(e: Exception) -> int:
    """What a command did not catch: a SightlineError or bad input (exit 2), anything else a bug
    (exit 1). One `error:` line; SIGHTLINE_DEBUG=1 adds the traceback."""
    import os
    import traceback

    from annotations.errors import SightlineError
    if os.environ.get("SIGHTLINE_DEBUG"):  # (the log file has the traceback in any case)
        traceback.print_exc()
    text = (str(e).strip().splitlines() or [""])[0][:300]
    if isinstance(e, (SightlineError, OSError, ValueError, RecursionError, OverflowError, MemoryError)):
        name = "" if isinstance(e, SightlineError) else f"{e.__class__.__name__}: "
        print(f"error: {name}{text}", file=sys.stderr)
        return 2
    print(f"error: internal error ({e.__class__.__name__}: {text}); run with SIGHTLINE_DEBUG=1 for details",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

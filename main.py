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
import sys

COMMANDS = {
    "demo": ("annotations.cli_demo", "write the synthetic demo project"),
    "import": ("annotations.cli_convert", "import labels (COCO, VOC, YOLO, labelme) into a project"),
    "export": ("annotations.cli_convert", "export a project's labels (COCO, VOC, YOLO, labelme, PNG masks)"),
    "predict": ("engine.predict_cli", "run a model on a project or an image folder"),
    "evaluate": ("engine.evaluate_cli", "COCO/VOC evaluation of detections against ground truth"),
    "train": ("engine.train_cli", "fine-tune a model on a project (one JSON object per line)"),
    "explain": ("engine.explain_cli", "explain a prediction or label (heat map), or a split (pointing game)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS or argv[:1] in (["-h"], ["--help"]):
        args = build_parser().parse_args(argv)
        module = importlib.import_module(COMMANDS[args.command][0])
        try:
            return int(module.run(args) or 0)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return 130
    gui = argparse.ArgumentParser(prog="main.py", description="Open the window.")
    gui.add_argument("project", nargs="?", help="project folder or image folder (default: the demo project)")
    args = gui.parse_args(argv)
    from gui.app import run_app
    return run_app(args.project)


if __name__ == "__main__":
    sys.exit(main())

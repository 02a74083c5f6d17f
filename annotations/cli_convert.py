"""`main.py import` and `main.py export`: labels in and out of a project, from the terminal.

    main.py import --project P --format coco|voc|yolo|labelme PATH [--images DIR] [--max-pixels N]
    main.py import --project P --format coco-results --model NAME FILE.json
    main.py export --project P --format coco|voc|yolo|labelme|masks OUT [--split S]
                   [--with-predictions] [--predictions RUN]

Bad input ends with one line naming the file and the entry, and exit code 2."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from .cli_numbers import number
from .ranges import BIG
from .cli_pixels import add_max_pixels_argument, apply_max_pixels

class FormatChoices:
    """--format's choices: the registered formats (annotations.formats.registry), asked for only when
    an import or export command is parsed or its help shown, so other commands load no format."""

    def __init__(self, readable: bool, extra: tuple[str, ...] = ()):
        self.readable, self.extra = readable, extra

    def __iter__(self):
        from .formats import registry
        return iter([*(f.name for f in registry() if f.imports or not self.readable), *self.extra])

    def __contains__(self, value) -> bool:
        return value in list(self)


IMPORT_CHOICES = FormatChoices(readable=True, extra=("coco-results",))
EXPORT_CHOICES = FormatChoices(readable=False)


def add_arguments(p, name):
    p.add_argument("--project", required=True, help="project folder")
    if name == "import":
        p.add_argument("--format", required=True, choices=IMPORT_CHOICES, metavar="FORMAT", help="one of %(choices)s")
        p.add_argument("path", help="label file or data-set folder")
        p.add_argument("--images", help="folder the file's image names are relative to")
        p.add_argument("--model", help="model name for coco-results (detections become its predictions)")
        p.add_argument("--voc-coordinates", choices=("auto", "0", "1"), default="auto",
                       help="voc: 1 = VOC's 1-based pixel indices, 0 = 0-based (labelme2voc, Roboflow), "
                            "auto = 0-based when a box starts at 0 (default)")
    else:
        p.add_argument("--format", required=True, choices=EXPORT_CHOICES, metavar="FORMAT", help="one of %(choices)s")
        p.add_argument("out", help="output file (coco) or folder (the others)")
        p.add_argument("--split", choices=("train", "val", "test"), help="only the images of this split")
        p.add_argument("--with-predictions", action="store_true",
                       help="also export model predictions (with scores where the format has a place)")
        p.add_argument("--predictions", type=number(int, 1, BIG), metavar="RUN",
                       help="with --format coco: write the predictions of model run RUN as COCO results")
    add_max_pixels_argument(p)


def run(args) -> int:
    from .store import Store
    project = Path(args.project).expanduser()
    new = args.command == "import" and "\0" not in args.project and not Store.exists(project)
    folder_existed = new and project.exists()
    rc = 1
    try:
        rc = _run(args)
    finally:
        if rc != 0 and new:  # a failed import into a new project leaves no empty project behind
            _remove_new_project(project, folder_existed)
    return rc


def _remove_new_project(project: Path, folder_existed: bool) -> None:
    from .store import DB_NAME
    db = project if project.suffix == Path(DB_NAME).suffix else project / DB_NAME
    for f in [db] + [db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal")]:
        with contextlib.suppress(OSError):
            f.unlink()
    if not folder_existed:
        with contextlib.suppress(OSError):
            db.parent.rmdir()  # only when empty


def _run(args) -> int:
    from .errors import SightlineError
    from .store import Store, StoreError
    try:
        apply_max_pixels(args)
        for flag, name in (("--project ", "project"), ("", "path"), ("--images ", "images"), ("", "out")):
            value = getattr(args, name, None)  # one message, never the byte itself on the terminal
            if value is not None and "\0" in value:
                raise StoreError(f"{flag}{value!r}: a file or folder name cannot hold a NUL byte")
        if args.command == "export" and not Store.exists(args.project):
            raise StoreError(f"No project at {args.project}.")
        # an import needs to write; an export opens read-only when the project cannot be written
        with Store.open(args.project, read_only=False if args.command == "import" else None) as store:
            return _import(store, args) if args.command == "import" else _export(store, args)
    except SightlineError as e:
        print("error: " + " ".join(str(e).split("\n")), file=sys.stderr)
        return 2
    except OSError as e:  # an unwritable output folder, a full disk
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except (ValueError, RecursionError, OverflowError) as e:  # input that defeats a parser below ours
        print(f"error: {args.path if args.command == 'import' else args.out}: {e.__class__.__name__}: "
              f"{str(e).splitlines()[0][:200] if str(e) else ''}", file=sys.stderr)
        return 2


def _import(store, args) -> int:
    from .formats import FormatError, import_labels
    from .formats.coco import import_coco_results
    from .formats.pending import file_id_map
    from .progress import TerminalProgress
    if args.format == "coco-results":
        if not args.model:
            raise FormatError(f"{args.path}: --model NAME is needed to import detections")
        with TerminalProgress("import") as bar:
            run_id = import_coco_results(store, args.path, args.model, progress=bar)
        n = len(store.annotations(run_id=run_id))
        print(f"Imported {n} detections of {args.model} as model run {run_id}.")
        images, cats = file_id_map(store)
        if images or cats:
            print(f"  note: ids were read through the renumbering of the last COCO import "
                  f"({len(images)} image id(s), {len(cats)} category id(s))")
        return 0
    options = {}
    if args.format == "voc" and args.voc_coordinates != "auto":
        options["zero_based"] = args.voc_coordinates == "0"
    with TerminalProgress("import") as bar:
        report = import_labels(store, args.format, args.path, image_dir=args.images, progress=bar, **options)
    print(report)
    return 0


def _export(store, args) -> int:
    from .formats import FormatError, export_labels
    from .formats.coco import export_coco_results
    from .progress import TerminalProgress
    image_ids = store.image_ids(args.split) if args.split else None
    if args.predictions is not None:
        if args.format != "coco":
            raise FormatError(f"{args.out}: --predictions RUN writes COCO results; use it with --format coco "
                              "(or --with-predictions for the other formats)")
        report = export_coco_results(store, args.out, args.predictions, image_ids)
        print(f"Wrote {report.annotations} detections of run {args.predictions} to {args.out}.")
        return 0
    with TerminalProgress("export") as bar:
        report = export_labels(store, args.format, args.out, image_ids=image_ids, progress=bar,
                               include_predictions=args.with_predictions)
    print(report)
    return 0

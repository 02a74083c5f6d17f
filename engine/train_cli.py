"""`main.py train`: fine-tune a model on a project, printing one JSON object per line.

    main.py train --project P --model NAME [options] --out RUN_DIR
    main.py train --resume RUN_DIR [--max-iterations N ...]
    python -m torch.distributed.run --nproc_per_node N main.py train ...   (DDP, one process per device)

SIGINT or SIGTERM saves a resumable checkpoint and ends (a second one ends at once).
Exit status: 0 finished, stopped or interrupted cleanly; 2 bad input; 3 training failed (NaN, out
of memory); the JSON "error" event and stderr say why.
"""
from __future__ import annotations

import json
import signal
import sys

from annotations.cli_numbers import number
from annotations.cli_pixels import add_max_pixels_argument, apply_max_pixels
from annotations.errors import CancelToken

# option name -> (type, help); all default to None = "the model family's default" (or the run's, on resume)
_OPTIONS = {
    "source": (str, "starting weights: random, default (torchvision's), or a checkpoint path"),
    "train_split": (str, "split to train on (default train; '' = every image outside the validation split)"),
    "val_split": (str, "split to validate on (default val; '' = no validation)"),
    "image_size": (int, "longest image side the model sees"),
    "epochs": (int, "epochs"),
    "batch_size": (int, "images per batch (per process under torchrun)"),
    "optimizer": (str, "sgd or adamw"),
    "lr": (float, "base learning rate"),
    "momentum": (float, "SGD momentum"),
    "weight_decay": (float, "weight decay"),
    "warmup_iters": (int, "iterations of linear warmup"),
    "schedule": (str, "cosine, step or constant"),
    "gamma": (float, "step schedule: factor at each step"),
    "freeze_backbone_epochs": (int, "train with the backbone frozen for these first epochs"),
    "trainable_layers": (int, "last K backbone blocks train (-1 = all)"),
    "roi_batch_size": (int, "R-CNN models: sampled regions per image in the box head (0 = 512)"),
    "grad_clip": (float, "clip the gradient norm to this (0 = off)"),
    "early_stopping": (int, "stop after this many validations without improvement (0 = off)"),
    "monitor": (str, "validation metric for the best checkpoint and early stopping (map, map50, miou...)"),
    "val_every": (int, "epochs between validations"),
    "seed": (int, "random seed (data order, augmentation, initial weights)"),
    "device": (str, "auto, cpu, cuda or cuda:N"),
    "workers": (int, "data loading processes"),
    "log_every": (int, "iterations between progress lines"),
    "checkpoint_every": (int, "iterations between resumable checkpoints inside an epoch (0 = at epoch ends)"),
    "max_iterations": (int, "stop after this many iterations in all, saving a resumable checkpoint"),
    "max_minutes": (float, "the same after this many minutes of training"),
}
# What may change when a run is resumed without breaking it.
_RESUME_OVERRIDES = ("epochs", "device", "workers", "log_every", "checkpoint_every", "max_iterations", "max_minutes",
                     "early_stopping", "val_every")


def add_arguments(p, name):
    p.add_argument("--project", help="project folder")
    p.add_argument("--model", help="model name (registry), e.g. fcos_compact_fpn")
    p.add_argument("--out", help="run folder to write (default: <project>/runs/<model>-<n>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    for opt, (typ, help_text) in _OPTIONS.items():
        p.add_argument("--" + opt.replace("_", "-"), type=typ, default=None, help=help_text)
    p.add_argument("--step-epochs", type=number(int, 1, 1_000_000), nargs="*", default=None,
                   help="step schedule: epochs where lr drops")
    p.add_argument("--negatives", action="store_true", default=None, help="train on unlabelled images as background")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None, help="no augmentation")
    p.add_argument("--amp", "--fp16", dest="amp", action="store_true", default=None,
                   help="mixed precision: fp16 on CUDA, bfloat16 on CPUs that have it (else fp32)")
    p.add_argument("--no-amp", dest="amp", action="store_false", default=None, help="fp32 throughout")
    p.add_argument("--threads", type=number(int, 1, 1024), default=None, help="CPU threads for this process")
    add_max_pixels_argument(p)


def _given(args) -> dict:
    keys = list(_OPTIONS) + ["step_epochs", "negatives", "augment", "amp"]
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


class _StopFlag:
    """First SIGINT/SIGTERM: ask the run to save and stop. Second: stop at once."""

    def __init__(self):
        self.token = CancelToken()
        self._old = {}

    def _handle(self, signum, frame):
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.token.cancel()

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


def _print_event(event: dict) -> None:
    print(json.dumps(event), flush=True)
    if event.get("event") == "warning":  # also for the person at the terminal (images left out, classes unseen)
        print(f"warning: {event['message']}", file=sys.stderr, flush=True)


def run(args) -> int:
    from pathlib import Path

    import torch

    from annotations.errors import SightlineError
    from annotations.store import Store
    from engine.training import TrainingError, default_options, new_run_dir, resume_options, train
    from engine.training.checkpoints import remove_stale_temporaries

    if args.threads:
        torch.set_num_threads(args.threads)
    apply_max_pixels(args)
    given = _given(args)

    def fail(msg: str, code: int) -> int:
        _print_event({"event": "error", "message": msg})
        print(f"error: {msg}", file=sys.stderr)
        return code

    try:
        if args.resume:
            run_dir = Path(args.resume)
            opts = resume_options(run_dir, **{k: given.get(k) for k in _RESUME_OVERRIDES})
            opts.check()
            stale = remove_stale_temporaries(run_dir)
            if stale:
                print(f"note: removed {len(stale)} half-written checkpoint file(s) a killed run left in {run_dir}",
                      file=sys.stderr)
            ignored = sorted(set(given) - set(_RESUME_OVERRIDES))
            if ignored:
                print(f"note: a resumed run keeps its options; ignored: {', '.join(ignored)}", file=sys.stderr)
            project = args.project or _project_of(run_dir)
        else:
            if not args.project or not args.model:
                return fail("--project and --model are needed (or --resume RUN_DIR).", 2)
            project = args.project
            source = given.pop("source", "random")
            opts = default_options(args.model, source, **given)
            opts.check()  # before the run folder is made
            run_dir = Path(args.out) if args.out else new_run_dir(project, args.model)
            if (run_dir / "last.pt").exists():
                return fail(f"{run_dir} already holds a run; use --resume {run_dir} or another --out.", 2)
        if not project:
            return fail("The project of this run is unknown; pass --project.", 2)
        if not Store.exists(project):
            return fail(f"No project at {project}.", 2)
    except (OSError, ValueError, SightlineError) as e:  # an unreadable last.pt, a bad project, an unknown model
        return fail(str(e), 2)
    except KeyError as e:  # a checkpoint without the entries of a training run
        return fail(f"{args.resume or args.project}: the checkpoint holds no {e} entry; it is not a training run's "
                    "last.pt", 2)

    with _StopFlag() as flag:
        try:
            result = train(project, opts, run_dir, emit=_print_event, cancel=flag.token,
                           resume=bool(args.resume))
        except TrainingError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        except SightlineError as e:  # bad data, an unusable model source or device
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 0 if result.status in ("finished", "early_stopped", "interrupted") else 1


def _project_of(run_dir) -> str | None:
    import json as _json
    from pathlib import Path
    try:
        return _json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8")).get("project")
    except (OSError, ValueError):
        return None

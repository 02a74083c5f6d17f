"""The training run: a plain function with explicit arguments, reporting through a callback.

    result = train(project, options, run_dir, emit=print_json, cancel=token)

Writes run_dir/last.pt (resumable: model, optimizer, scheduler, scaler, RNG states, data position),
run_dir/best.pt (the best validation so far), run_dir/metrics.jsonl (every event) and
run_dir/run.json (options and status). The process's global state is left as found: the seed
applies inside a forked RNG, thread counts and signal handlers are the caller's business.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader

from annotations.store import Store

from . import checkpoints
from .data import (LabelledImages, TrainingDataError, build_transforms, category_labels, collate_detection,
                   collate_semantic, left_out_message, over_pixel_limit, read_samples)
from ..device import mixed_precision, resolve_device
from .distributed import from_environment
from .models import ModelSourceError, build_for_training, quicken_batchnorm_statistics, set_backbone_trainable
from .options import TrainOptions, task_of
from .runs import RunFiles
from .sampler import AspectGroupedBatches
from .schedule import lr_factor
from .steps import StepFailed, train_step
from .validation import coco_ground_truth, detection_metrics, semantic_metrics
from annotations.errors import CancelToken, SightlineError

Emit = Callable[[dict], None]


class TrainingError(SightlineError):
    """Training could not go on; the message says why and what to try."""


@dataclass
class TrainResult:
    status: str  # "finished" | "early_stopped" | "interrupted" | "failed"
    epoch: int
    iteration: int
    last_checkpoint: str | None
    best_checkpoint: str | None
    best_metric: float | None
    history: list[dict] = field(default_factory=list)  # validation metrics per validated epoch


def make_optimizer(model, o: TrainOptions) -> torch.optim.Optimizer:
    """SGD or AdamW over every parameter (frozen ones get no gradient and are skipped). The fused
    kernels are many times faster than the per-tensor loop on the CPU as well as on CUDA."""
    params = list(model.parameters())
    if o.optimizer == "sgd":
        def make(**kw):
            return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, **kw)
    elif o.optimizer == "adamw":
        def make(**kw):
            return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay, **kw)
    else:
        raise TrainingError(f"Unknown optimizer {o.optimizer!r} (sgd or adamw).")
    try:
        return make(fused=True)
    except (RuntimeError, ValueError, TypeError):  # a device or dtype without the fused kernel
        return make()


def _split_ids(store: Store, split: str, ids: list[int] | None, exclude: set[int]) -> list[int]:
    if ids is not None:
        return list(ids)
    if split:
        return store.image_ids(split)
    return [i for i in store.image_ids() if i not in exclude]


class _Trainer:
    def __init__(self, project, opts: TrainOptions, run_dir: Path, emit: Emit, cancel: CancelToken | None,
                 resume: bool):
        self.opts = opts
        self.run_dir = run_dir
        self.files = RunFiles(run_dir)
        self.cancel = cancel or CancelToken()
        self.task = task_of(opts.model)
        self.dist = from_environment("cuda" if resolve_device(opts.device).type == "cuda" else "cpu")
        self.device = resolve_device(opts.device, self.dist.local_rank if self.dist.active else None)
        self._emit = emit
        self.resume = resume
        self.categories: list[str] = []
        self.position = {"epoch": 0, "batch": 0, "iteration": 0}
        self.best = {"value": None, "epoch": None, "checkpoint": None}
        self.left_out: list[str] = []  # images over the pixel limit (load_data)
        self.bad_validations = 0
        self.history: list[dict] = []

    # ---- events ----------------------------------------------------------------------------
    def emit(self, event: dict) -> None:
        if not self.dist.is_main:
            return
        event = {"event": event.pop("event"), "time": round(time.time(), 3), **event}
        self.files.append_event(event)
        self._emit(event)

    # ---- data -------------------------------------------------------------------------------
    def load_data(self, project) -> None:
        store = project if isinstance(project, Store) else Store.open(project, create=False)
        try:
            o = self.opts
            self.project_root = str(store.root)
            cats = store.categories()
            if not cats:
                raise TrainingDataError(f"The project {store.root} has no categories: nothing to learn.")
            self.label_of = category_labels(cats, self.task)
            self.category_of_label = {v: k for k, v in self.label_of.items()}
            self.category_names = [c.name for c in sorted(cats, key=lambda c: c.id)]
            val_ids = _split_ids(store, o.val_split, o.val_image_ids, set()) if (o.val_split or o.val_image_ids) else []
            train_ids = _split_ids(store, o.train_split, o.train_image_ids, set(val_ids))
            self.train_samples, too_large = over_pixel_limit(
                read_samples(store, train_ids, self.task, self.label_of, o.negatives))
            labelled = [s for s in self.train_samples if s.labels]
            if not labelled and any(s.labels for s in too_large):
                raise TrainingDataError(f"No image to train on in {store.root}: every labelled training image is over "
                                        "the pixel limit. " + left_out_message([s for s in too_large if s.labels],
                                                                               store.root))
            if not labelled:
                where = f"split {o.train_split!r}" if o.train_split and o.train_image_ids is None else "the chosen images"
                raise TrainingDataError(
                    f"No labels to train on in {where} of {store.root} ({len(train_ids)} images there). "
                    "Label some images (or import labels), or pick another split.")
            counts = {lab: 0 for lab in self.label_of.values()}
            for s in self.train_samples:
                for lab in s.labels:
                    counts[lab] += 1
            self.warnings = [f"Category {self.category_names[lab - 1]!r} has no labelled examples in the training "
                             "images: the model cannot learn it." for lab, n in counts.items() if n == 0]
            self.val_samples, too_large_val = over_pixel_limit(
                read_samples(store, val_ids, self.task, self.label_of, negatives=True))
            self.left_out = [s.path for s in too_large + too_large_val]
            if self.left_out:
                self.warnings.append(left_out_message(too_large + too_large_val, store.root))
            self.val_gt = (coco_ground_truth(store, [s.image_id for s in self.val_samples], list(self.label_of))
                           if self.val_samples and self.task != "semantic" else None)
        finally:
            if store is not project:
                store.close()

    # ---- model and optimisation --------------------------------------------------------------
    def _build(self):
        o = self.opts
        source = o.source
        ckpt = None
        if self.resume:
            ckpt = checkpoints.load(self.files.last)
            source = "random"
        start = build_for_training(o.model, self.category_names, source, o.image_size, o.roi_batch_size)
        if o.source in ("random", ""):
            quicken_batchnorm_statistics(start.model)
        self.model = start.model.to(self.device)
        self.categories = start.categories
        self.source_description = start.description
        if ckpt is not None:
            if list(ckpt.get("categories") or []) != self.categories:
                raise TrainingError(
                    f"The project's categories changed since the run in {self.run_dir} started "
                    f"({ckpt.get('categories')} then, {self.categories} now), so it cannot resume. Start a new "
                    f"run from its checkpoint instead (--source {self.files.last}).")
            self.model.load_state_dict(ckpt["model"])
        self.optimizer = make_optimizer(self.model, o)
        self.sampler = AspectGroupedBatches([s.aspect for s in self.train_samples], o.batch_size, o.seed,
                                            group=True, rank=self.dist.rank,
                                            world_size=self.dist.world_size)
        self.epoch_sizes = [self.sampler.num_batches(e) for e in range(o.epochs)]
        self.total_iters = sum(self.epoch_sizes)
        factor = lr_factor(o.schedule, self.total_iters, o.warmup_iters, self.epoch_sizes[0] if self.epoch_sizes else 1,
                           o.step_epochs, o.gamma)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.amp_dtype, self.precision_note = mixed_precision(o.amp, self.device)
        self.amp = self.amp_dtype is not None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype is torch.float16)
        self.position = {"epoch": 0, "batch": 0, "iteration": 0}
        self.best = {"value": None, "epoch": None, "checkpoint": None}
        self.bad_validations = 0
        self.history: list[dict] = []
        if ckpt is not None:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scheduler.load_state_dict(ckpt["scheduler"])
            if ckpt.get("scaler"):
                self.scaler.load_state_dict(ckpt["scaler"])
            self.position = dict(ckpt["position"])
            self.best = dict(ckpt.get("best", self.best))
            self.bad_validations = int(ckpt.get("bad_validations", 0))
            self.history = list(ckpt.get("history", []))
        return ckpt

    def _state(self, position: dict, with_rng: bool = True) -> dict:
        extra = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": self.scaler.state_dict(), "epoch": position["epoch"], "position": dict(position),
                 "options": self._checkpoint_options(), "best": dict(self.best), "bad_validations": self.bad_validations,
                 "history": list(self.history), "metrics": self.history[-1] if self.history else {},
                 "project": self.project_root}
        if with_rng:
            extra["rng"] = {"torch": torch.get_rng_state()}
            if self.device.type == "cuda":
                extra["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        return extra

    def _checkpoint_options(self) -> dict:
        """The run's options, plus the input size the model was trained at, which loading the
        checkpoint for prediction reads (engine.weights: options min_size/max_size)."""
        d = self.opts.to_dict()
        transform = getattr(self._bare_model(), "transform", None)
        if transform is not None and getattr(transform, "fixed_size", None) is None:
            d["min_size"], d["max_size"] = int(transform.min_size[0]), int(transform.max_size)
        return d

    def _bare_model(self):
        return self.model.module if hasattr(self.model, "module") else self.model

    def save_last(self, position: dict) -> str | None:
        if self.dist.is_main:
            checkpoints.save(self.files.last, self._bare_model(), self.opts.model, self.categories,
                             **self._state(position))
            self.emit({"event": "checkpoint", "kind": "last", "path": str(self.files.last), **position})
        self.dist.barrier()
        return str(self.files.last)

    # ---- the run -----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        o = self.opts
        ckpt = self._build()
        for w in self.warnings:
            self.emit({"event": "warning", "message": w})
        if self.precision_note:
            self.emit({"event": "info", "message": self.precision_note})
        self.emit({"event": "start", "model": o.model, "task": self.task, "device": str(self.device),
                   "precision": {torch.float16: "fp16 mixed", torch.bfloat16: "bf16 mixed"}.get(self.amp_dtype, "fp32"),
                   "world_size": self.dist.world_size, "weights": self.source_description,
                   "train_images": len(self.train_samples), "val_images": len(self.val_samples),
                   "categories": self.categories, "epochs": o.epochs, "total_iterations": self.total_iters,
                   "resumed_from": dict(self.position) if ckpt is not None else None, "options": o.to_dict()})
        self._write_summary("running")
        if ckpt is not None and ckpt.get("rng"):
            torch.set_rng_state(ckpt["rng"]["torch"])
            if self.device.type == "cuda" and "cuda" in ckpt["rng"]:
                torch.cuda.set_rng_state(ckpt["rng"]["cuda"], self.device)
        status = self._loop()
        best = self.best["checkpoint"]
        self.emit({"event": "done", "status": status, "epoch": self.position["epoch"],
                   "iteration": self.position["iteration"], "last_checkpoint": str(self.files.last),
                   "best_checkpoint": best, "best_metric": self.best["value"], "monitor": o.monitor})
        self._write_summary(status)
        return TrainResult(status, self.position["epoch"], self.position["iteration"], str(self.files.last),
                           best, self.best["value"], self.history)

    def _write_summary(self, status: str) -> None:
        if self.dist.is_main:
            self.files.write_summary(self._summary(status))

    def _summary(self, status: str) -> dict:
        return {"status": status, "model": self.opts.model, "task": self.task, "project": self.project_root,
                "categories": self.categories, "options": self.opts.to_dict(), "position": dict(self.position),
                "total_iterations": getattr(self, "total_iters", None), "best": dict(self.best),
                "history": list(self.history), "last_checkpoint": str(self.files.last)
                if self.files.last.exists() else None, "updated_at": time.time(),
                "device": str(self.device), "world_size": self.dist.world_size,
                "left_out_over_pixel_limit": list(self.left_out)}

    def _wrap(self, frozen: bool):
        bare = self._bare_model()
        set_backbone_trainable(bare, frozen, self.opts.trainable_layers)
        if not self.dist.active:
            return bare
        from torch.nn.parallel import DistributedDataParallel as DDP
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(bare, device_ids=ids)

    def _loader(self, epoch: int, start_batch: int) -> DataLoader:
        o = self.opts
        batches = self.sampler.batches(epoch)[start_batch:]
        ds = LabelledImages(self.train_samples, self.task, build_transforms(True, o.image_size, o.augment, self.task))
        gen = torch.Generator().manual_seed(o.seed * 100003 + epoch)  # keeps the global RNG untouched
        return DataLoader(ds, batch_sampler=batches, num_workers=o.workers, generator=gen,
                          collate_fn=collate_semantic if self.task == "semantic" else collate_detection,
                          persistent_workers=False, pin_memory=self.device.type == "cuda")

    def _loop(self) -> str:
        o = self.opts
        pos = self.position
        frozen_state = None
        recent: list[tuple[float, int]] = []
        self.t_start = time.perf_counter()
        while pos["epoch"] < o.epochs:
            epoch = pos["epoch"]
            frozen = epoch < o.freeze_backbone_epochs
            if frozen != frozen_state:
                self.model = self._wrap(frozen)
                frozen_state = frozen
                if epoch > 0 and not frozen and o.freeze_backbone_epochs:
                    self.emit({"event": "info", "message": f"Backbone unfrozen at epoch {epoch + 1}."})
            self.model.train()
            n_batches = self.epoch_sizes[epoch]
            t_last = time.perf_counter()
            for batch in self._loader(epoch, pos["batch"]):
                try:
                    losses, n_images = train_step(self.model, batch, self.task, self.optimizer, self.scaler,
                                                  self.device, self.amp_dtype, o.grad_clip)
                except StepFailed as e:
                    raise TrainingError(self._explain(e)) from e.cause
                self.scheduler.step()
                pos["batch"] += 1
                pos["iteration"] += 1
                total = losses["loss"]
                now = time.perf_counter()
                late = bool(o.max_minutes and now - self.t_start > 60 * o.max_minutes)
                stop, nan, out_of_time = self.dist.any(self.cancel.cancelled, not math.isfinite(total), late)
                if nan:
                    raise TrainingError(
                        f"The loss became {total} at iteration {pos['iteration']} (epoch {epoch + 1}); training "
                        f"stopped. The last good checkpoint is kept"
                        f"{': ' + str(self.files.last) if self.files.last.exists() else ' (none was written yet)'}. "
                        "Try a lower learning rate (--lr) or gradient clipping (--grad-clip 10).")
                recent.append((now - t_last, n_images * self.dist.world_size))
                t_last = now
                recent = recent[-20:]
                if pos["iteration"] % max(1, o.log_every) == 0 or pos["batch"] == n_batches:
                    secs = sum(r[0] for r in recent)
                    it_s = len(recent) / secs if secs > 0 else 0.0
                    left = self.total_iters - pos["iteration"]
                    self.emit({"event": "iteration", "epoch": epoch + 1, "epochs": o.epochs,
                               "batch": pos["batch"], "batches": n_batches, "iteration": pos["iteration"],
                               "total_iterations": self.total_iters, "loss": total,
                               "losses": {k: v for k, v in losses.items() if k != "loss"},
                               "lr": self.optimizer.param_groups[0]["lr"],
                               "images_per_s": round(sum(r[1] for r in recent) / secs, 3) if secs > 0 else 0.0,
                               "eta_s": round(left / it_s, 1) if it_s > 0 else None,
                               "elapsed_s": round(now - self.t_start, 2)})
                hit_max = o.max_iterations and pos["iteration"] >= o.max_iterations
                if stop or hit_max or out_of_time:
                    self.save_last(pos)
                    reason = "interrupted" if stop else "max_iterations" if hit_max else "max_minutes"
                    self.emit({"event": "stopped", "reason": reason, **pos})
                    return "interrupted"
                if o.checkpoint_every and pos["iteration"] % o.checkpoint_every == 0 and pos["batch"] < n_batches:
                    self.save_last(pos)
            pos["epoch"] += 1
            pos["batch"] = 0
            early = self._validate(epoch) if self.val_samples and (
                (epoch + 1) % max(1, o.val_every) == 0 or epoch + 1 == o.epochs) else False
            self.save_last(pos)
            if self.best["checkpoint"] and self.best["epoch"] == epoch + 1 and self.dist.is_main:
                self.files.promote_last_to_best()
                self.emit({"event": "checkpoint", "kind": "best", "path": str(self.files.best), **pos})
            self._write_summary("running")
            if early:
                self.emit({"event": "stopped", "reason": "early_stopping", **pos})
                return "early_stopped"
        return "finished"

    def _validate(self, epoch: int) -> bool:
        """Score on the validation images (main process); True when early stopping says stop."""
        o = self.opts
        stop = False
        if self.dist.is_main:
            t0 = time.perf_counter()
            model = self._bare_model()
            if self.task == "semantic":
                metrics = semantic_metrics(model, self.val_samples, len(self.categories), self.device, self.amp,
                                           image_size=o.image_size)
            else:
                metrics = detection_metrics(model, self.val_gt, self.val_samples, self.category_of_label,
                                            self.device, self.task, self.amp)
            monitor = o.monitor if o.monitor in metrics else ("miou" if self.task == "semantic" else "map")
            value = metrics[monitor]
            improved = self.best["value"] is None or value > self.best["value"]
            if improved:
                self.best = {"value": value, "epoch": epoch + 1, "checkpoint": str(self.files.best), "monitor": monitor}
                self.bad_validations = 0
            else:
                self.bad_validations += 1
            record = {"epoch": epoch + 1, "iteration": self.position["iteration"], **metrics}
            self.history.append(record)
            self.emit({"event": "validation", **record, "monitor": monitor, "best": improved,
                       "seconds": round(time.perf_counter() - t0, 2),
                       "elapsed_s": round(time.perf_counter() - self.t_start, 2)})
            stop = bool(o.early_stopping and self.bad_validations >= o.early_stopping)
            self.model.train()
        stop, self.best, self.bad_validations = self.dist.broadcast_object((stop, self.best, self.bad_validations))
        return stop

    def _explain(self, e: StepFailed) -> str:
        o = self.opts
        if e.out_of_memory:
            return (f"Out of memory on {self.device} with batch size {o.batch_size} at image size {o.image_size}. "
                    f"Try a smaller batch (--batch-size {max(1, o.batch_size // 2)}) or a smaller --image-size.")
        return f"Training step failed: {e.cause}"


def train(project, options: TrainOptions, run_dir, emit: Emit | None = None,
          cancel: CancelToken | None = None, resume: bool = False) -> TrainResult:
    """Train `options.model` on the labels of `project` (a Store or a project path) into run_dir.

    cancel.cancel() (from any thread, a signal handler included) asks the run to save a resumable
    checkpoint at the next iteration and end with status "interrupted".

    With resume=True the state comes from run_dir/last.pt (options: see runs.resume_options), and
    the run carries on with the very batches, RNG states and optimizer state it stopped with. Raises TrainingError or
    TrainingDataError with a readable message; the last good checkpoint stays where it was.
    """
    options.check()  # before anything is written
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and options.device != "cpu" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(options.seed)
        trainer = _Trainer(project, options, run_dir, emit or (lambda e: None), cancel, resume)
        try:
            trainer.load_data(project)
            return trainer.run()
        except (TrainingError, TrainingDataError, ModelSourceError) as e:
            trainer.emit({"event": "error", "message": str(e)})
            if trainer.dist.is_main:
                summary = trainer._summary("failed")
                summary["error"] = str(e)
                trainer.files.write_summary(summary)
            raise
        finally:
            trainer.dist.close()

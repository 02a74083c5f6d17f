"""Re-index a model's class-indexed layers from one list of category names to another.

A checkpoint trained on classes [bg, cat, dog] loaded into a project with [bg, dog, bird] keeps the
"dog" rows (moved to their new index), drops "cat", and gives "bird" rows that either never fire
(inference: zero weights and a very negative logit bias) or keep a fresh initialisation (training).
With no names in common there is nothing to keep, and the checkpoint is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .registry import ANCHOR_MAJOR, BACKGROUND, PLACEHOLDER, class_indexed_parameters, get_spec
from annotations.errors import SightlineError

SUPPRESSED_LOGIT = -1.0e4  # a class that must never win: sigmoid and softmax give ~0
SUPPRESS, KEEP_INIT = "suppress", "keep_init"


class CategoryMismatch(SightlineError):
    """A checkpoint's classes cannot be mapped onto the project's; the message says why."""


@dataclass
class CategoryMapping:
    source: list[str]
    target: list[str]
    index: list[int | None]  # target index -> source index (None: class unknown to the source)
    common: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # target names the source does not know
    dropped: list[str] = field(default_factory=list)  # source names the target does not have

    @property
    def identity(self) -> bool:
        return self.source == self.target

    def summary(self) -> str:
        parts = [f"{len(self.common)} categories matched by name"]
        if self.missing:
            parts.append(f"not in the checkpoint (never predicted): {', '.join(self.missing)}")
        if self.dropped:
            parts.append(f"checkpoint categories not in the project: {', '.join(self.dropped)}")
        return "; ".join(parts)


def _real(name: str) -> bool:
    return name not in (BACKGROUND, PLACEHOLDER)


def match_categories(source: list[str], target: list[str]) -> CategoryMapping:
    """Map by name. Index 0 (background) maps to index 0 when both lists start with it."""
    first: dict[str, int] = {}
    for i, n in enumerate(source):
        first.setdefault(n, i)
    index: list[int | None] = []
    for j, n in enumerate(target):
        if n == BACKGROUND:
            index.append(first.get(BACKGROUND))
        elif _real(n):
            index.append(first.get(n))
        else:
            index.append(None)
    common = [n for n in target if _real(n) and n in first]
    missing = [n for n in target if _real(n) and n not in first]
    target_names = set(target)
    dropped = [n for n in source if _real(n) and n not in target_names]
    return CategoryMapping(list(source), list(target), index, common, missing, dropped)


def _is_regression(key: str) -> bool:
    return "bbox" in key or "regression" in key


def remap_state_dict(state_dict: dict, model_name: str, source: list[str], target: list[str],
                     target_state: dict | None = None, fill: str = SUPPRESS) -> tuple[dict, CategoryMapping]:
    """The state dict with every class-indexed layer re-indexed from `source` to `target` names.

    fill=SUPPRESS: rows of classes the source lacks never fire (for inference).
    fill=KEEP_INIT: those rows come from `target_state` (a freshly built model, for fine-tuning).
    """
    mapping = match_categories(source, target)
    if mapping.identity:
        return dict(state_dict), mapping
    if not mapping.common:
        raise CategoryMismatch(
            f"The checkpoint's categories ({', '.join(n for n in source if _real(n)) or 'none'}) have no name "
            f"in common with the project's ({', '.join(n for n in target if _real(n)) or 'none'}); "
            "nothing of its classifier can be used.")
    if fill == KEEP_INIT and target_state is None:
        raise ValueError("fill=KEEP_INIT needs target_state")
    layout = get_spec(model_name).head_layout
    aux = any(k.startswith("aux_classifier.") for k in state_dict)
    rows_per_class = class_indexed_parameters(model_name, aux)
    n_src, n_dst = len(source), len(target)
    out = dict(state_dict)
    for key, k in rows_per_class.items():
        if key not in state_dict:
            continue
        src = state_dict[key]
        if src.shape[0] != k * n_src:
            raise CategoryMismatch(f"Layer {key} has {src.shape[0]} rows, which does not fit "
                                   f"{n_src} categories; the checkpoint does not match its category list.")
        if fill == KEEP_INIT:
            dst = target_state[key].detach().clone().to(src.dtype)
        elif key.endswith(".bias") and not _is_regression(key):
            dst = torch.full((k * n_dst, *src.shape[1:]), SUPPRESSED_LOGIT, dtype=src.dtype)
        else:
            dst = torch.zeros((k * n_dst, *src.shape[1:]), dtype=src.dtype)
        for j, i in enumerate(mapping.index):
            if i is None:
                continue
            if layout == ANCHOR_MAJOR and k > 1:  # row a * n + c
                dst[j::n_dst] = src[i::n_src]
            else:  # rows c * k .. c * k + k - 1
                dst[j * k:(j + 1) * k] = src[i * k:(i + 1) * k]
        out[key] = dst
    return out, mapping

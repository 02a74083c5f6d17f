"""A ranking as people and scripts read it: one line of "why" per image, a table, JSON entries."""
from __future__ import annotations

from collections import Counter

from annotations.scores import ImageScore
from annotations.store import Store

from .ranking import Ranking


def why(image: ImageScore) -> str:
    """e.g. "missing 0.97; 2 wrong_class, 1 missing" -- the top object, then counts by kind."""
    if not image.objects:
        return "no predictions"
    top = image.objects[0]
    counts = Counter(o.kind for o in image.objects)
    text = f"{top.kind} {top.score:.2f}; " + ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
    if "near_threshold" in image.extra:
        text += f"; {image.extra['near_threshold']} near the threshold"
    if image.extra.get("penalty"):
        text += f"; near-duplicate penalty {image.extra['penalty']:.2f}"
    return text


def to_json(store: Store, ranking: Ranking) -> list[dict]:
    """Best first: image_id, file_name, score, why, the image's extra (near_threshold, penalty) and
    its objects (annotation_id -- None where a label is missing --, prediction_id, kind, score, extra)."""
    names = {im.id: im.file_name for im in store.images(ids=[s.image_id for s in ranking.images])}
    out = []
    for s in ranking.images:
        entry = {"image_id": s.image_id, "file_name": names.get(s.image_id), "score": round(s.score, 6),
                 "why": why(s), **s.extra,
                 "objects": [{"annotation_id": o.annotation_id, "prediction_id": o.prediction_id, "kind": o.kind,
                              "score": round(o.score, 6), **o.extra} for o in s.objects]}
        out.append(entry)
    return out


def table(entries: list[dict], top: int) -> str:
    lines = [f"{'rank':>4}  {'score':>7}  {'image':>6}  file / why"]
    for n, e in enumerate(entries[:top], 1):
        lines.append(f"{n:>4}  {e['score']:7.4f}  {e['image_id']:>6}  {e['file_name']}  ({e['why']})")
    if len(entries) > top:
        lines.append(f"... {len(entries) - top} more")
    return "\n".join(lines)

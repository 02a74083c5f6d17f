"""Choosing a batch that is not twenty copies of one scene.

Embeddings are centred (the mean over the pool taken away, so what all images share does not
count) and normalised; similarity is their cosine. Each image's k nearest neighbours are found
once (in blocks, so memory stays O(n k)). Then the batch is picked greedily: the next image is the
one with the highest score * (1 - penalty), where its penalty is the highest similarity (clipped
at 0) between it and an image already picked that is among its k nearest neighbours or has it
among its own. A near-copy of a picked image thus has a penalty near 1 and waits until nothing
else is left, as in FiftyOne Brain's uniqueness and Lightly's selection, which also work on
k-nearest-neighbour distances in a model's embedding space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import RankError

BLOCK = 1024


@dataclass
class DiverseChoice:
    order: list[int]  # indices into the pool, in the order picked
    penalties: list[float]  # each pick's penalty when it was picked


def normalise(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings, np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def nearest_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, similarities), each (n, k'), k' = min(k, n - 1), nearest first, self left out."""
    n = len(x)
    k = min(k, n - 1)
    idx = np.zeros((n, max(k, 0)), np.int64)
    sim = np.zeros((n, max(k, 0)))
    if k <= 0:
        return idx, sim
    for start in range(0, n, BLOCK):
        s = x[start:start + BLOCK] @ x.T
        rows = np.arange(len(s))
        s[rows, start + rows] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, part, 1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[start:start + len(s)] = np.take_along_axis(part, order, 1)
        sim[start:start + len(s)] = np.take_along_axis(vals, order, 1)
    return idx, sim


def diverse_order(scores, embeddings, n: int, k: int = 10) -> DiverseChoice:
    """Pick n of the pool (scores >= 0, one embedding row each) as described above."""
    scores = np.asarray(scores, float)
    if len(scores) != len(embeddings):
        raise RankError(f"{len(scores)} scores but {len(embeddings)} embeddings")
    if n < 1:
        raise RankError(f"the batch size must be at least 1, not {n}")
    n = min(n, len(scores))
    idx, sim = nearest_neighbours(normalise(embeddings), k)
    neighbours: list[dict[int, float]] = [dict() for _ in range(len(scores))]
    for i in range(len(scores)):
        for j, s in zip(idx[i].tolist(), sim[i].tolist()):
            neighbours[i][j] = max(neighbours[i].get(j, 0.0), s)
            neighbours[j][i] = max(neighbours[j].get(i, 0.0), s)
    penalty = np.zeros(len(scores))
    free = np.ones(len(scores), bool)
    base = np.maximum(scores, 0.0)
    order, penalties = [], []
    for _ in range(n):
        adjusted = np.where(free, base * (1.0 - penalty), -np.inf)
        best = int(np.argmax(adjusted))  # ties: the first, i.e. the higher-ranked image
        order.append(best)
        penalties.append(float(penalty[best]))
        free[best] = False
        for j, s in neighbours[best].items():
            penalty[j] = max(penalty[j], min(max(s, 0.0), 1.0))
    return DiverseChoice(order, penalties)

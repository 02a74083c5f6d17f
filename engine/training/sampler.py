"""Deterministic, resumable batches: shuffled per epoch from (seed, epoch), grouped by aspect ratio.

Every batch is a list of (sample position, augmentation seed). The same (seed, epoch) always
gives the same batches, so a resumed run skips the batches it already trained on and carries on
with exactly the ones an uninterrupted run would have seen. Under DDP each process takes every
world_size-th batch; the count is trimmed so that all processes step together.
"""
from __future__ import annotations

import numpy as np


class AspectGroupedBatches:
    def __init__(self, aspects: list[float], batch_size: int, seed: int = 0, group: bool = True,
                 rank: int = 0, world_size: int = 1):
        if batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.aspects = np.asarray(aspects, float)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group
        self.rank, self.world_size = rank, world_size

    def _all_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        n = len(self.aspects)
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n)
        aug_seeds = rng.integers(0, 2**31 - 1, size=n)
        bs = self.batch_size
        if not self.group:
            groups_of = np.zeros(n, int)
        else:  # landscape and portrait apart, so padding to a common size wastes little
            groups_of = (self.aspects >= 1.0).astype(int)
        pending: dict[int, list[tuple[int, int]]] = {}
        batches = []
        for i in order:
            g = int(groups_of[i])
            pending.setdefault(g, []).append((int(i), int(aug_seeds[i])))
            if len(pending[g]) == bs:
                batches.append(pending.pop(g))
        rest = [x for g in sorted(pending) for x in pending[g]]
        batches += [rest[k:k + bs] for k in range(0, len(rest), bs)]
        return batches

    def batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """This process's batches for `epoch`, in order."""
        allb = self._all_batches(epoch)
        if self.world_size > 1:
            per = len(allb) // self.world_size
            if per == 0:  # fewer batches than processes: every process reuses what there is
                allb = [allb[k % len(allb)] for k in range(self.world_size)]
                per = 1
            allb = allb[:per * self.world_size][self.rank::self.world_size]
        return allb

    def num_batches(self, epoch: int) -> int:
        return len(self.batches(epoch))

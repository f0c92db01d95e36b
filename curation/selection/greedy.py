"""Greedy subset selection maximising clustering-based MI (ACAV100M Algorithms 1 and 2).

The exact greedy rescans every remaining clip at each step (O(N^2), small N only). Batch greedy
scores only a random batch of b remaining clips and takes its s best one at a time, which is
O(N x b) overall; clips of the batch that were not taken go back to the pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from curation.selection.mutual_info import IncrementalMI, clustering_pairs, default_modalities


@dataclass(frozen=True)
class SelectionResult:
    """Selected clips in the order they were taken, with F (mean pair MI) after each addition."""

    clip_ids: np.ndarray
    order: np.ndarray
    mi_trajectory: np.ndarray


def _validate(labels: np.ndarray, target_size: int) -> None:
    if labels.ndim != 2:
        raise ValueError(f"labels must be (clips, clusterings), got shape {labels.shape}")
    if not 0 <= target_size <= len(labels):
        raise ValueError(f"target_size {target_size} outside [0, {len(labels)}]")


def greedy(labels: np.ndarray, target_size: int, pairs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2: at every step add the remaining clip with the largest MI gain. Returns (order, trajectory)."""
    _validate(labels, target_size)
    state = IncrementalMI(labels, pairs)
    all_idx = np.arange(len(labels))
    cell_idx = state.cell_index(all_idx)
    hist_idx = state.hist_index(all_idx)
    taken = np.zeros(len(labels), dtype=bool)
    order = np.empty(target_size, dtype=np.int64)
    trajectory = np.empty(target_size)
    for step in range(target_size):
        g = state.gains_at(cell_idx, hist_idx)
        g[taken] = -np.inf
        best = int(np.argmax(g))
        state.add_at(cell_idx[best], hist_idx[best])
        taken[best] = True
        order[step] = best
        trajectory[step] = state.value()
    return order, trajectory


def batch_greedy(
    labels: np.ndarray,
    target_size: int,
    pairs: Sequence[tuple[int, int]],
    batch_size: int,
    selection_size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 1, deterministic for a seed. Returns (order, trajectory)."""
    _validate(labels, target_size)
    if batch_size < 1 or not 1 <= selection_size <= batch_size:
        raise ValueError(f"need 1 <= selection_size ({selection_size}) <= batch_size ({batch_size})")
    rng = np.random.default_rng(seed)
    state = IncrementalMI(labels, pairs)
    index_dtype = np.int32 if len(labels) < 2**31 else np.int64
    pool = np.arange(len(labels), dtype=index_dtype)
    pool_size = len(labels)
    order = np.empty(target_size, dtype=np.int64)
    trajectory = np.empty(target_size)
    step = 0
    while step < target_size:
        positions = rng.choice(pool_size, size=min(batch_size, pool_size), replace=False)
        batch = pool[positions]
        cell_idx = state.cell_index(batch)
        hist_idx = state.hist_index(batch)
        picked = np.zeros(len(batch), dtype=bool)
        g = state.gains_at(cell_idx, hist_idx)
        for _ in range(min(selection_size, len(batch), target_size - step)):
            j = int(np.argmax(g))
            state.add_at(cell_idx[j], hist_idx[j])
            picked[j] = True
            g[j] = -np.inf
            # a gain depends only on the counts of the candidate's own cells and bins; sharing a cell means
            # sharing its two bins, so only candidates sharing a bin with the pick change (about C/k of them)
            stale = (hist_idx == hist_idx[j]).any(axis=1) & ~picked
            g[stale] = state.gains_at(cell_idx[stale], hist_idx[stale])
            order[step] = batch[j]
            trajectory[step] = state.value()
            step += 1
        # swap-remove the taken clips from the pool, highest position first so later swaps stay valid
        for pos in np.sort(positions[picked])[::-1]:
            pool_size -= 1
            pool[pos] = pool[pool_size]
    return order, trajectory


def select(
    labels: np.ndarray,
    clip_ids: Sequence | np.ndarray,
    target_size: int,
    pairing: str | Sequence[tuple[int, int]] = "combination",
    batch_size: int | None = 100,
    selection_size: int = 25,
    seed: int = 0,
    modalities: Sequence[str] | None = None,
) -> SelectionResult:
    """Select ``target_size`` clips maximising the mean MI between paired clusterings.

    ``labels`` is (N, C) cluster ids; ``modalities`` names each column "audio" or "visual" (default:
    first half audio, second half visual). ``pairing`` is a scheme name or explicit column pairs.
    ``batch_size=None`` runs the exact greedy instead of batch greedy.
    """
    labels = np.asarray(labels)
    if len(clip_ids) != len(labels):
        raise ValueError(f"{len(clip_ids)} clip ids for {len(labels)} label rows")
    if isinstance(pairing, str):
        pairs = clustering_pairs(modalities or default_modalities(labels.shape[1]), pairing)
    else:
        pairs = [tuple(p) for p in pairing]
    if batch_size is None:
        order, trajectory = greedy(labels, target_size, pairs)
    else:
        order, trajectory = batch_greedy(labels, target_size, pairs, batch_size, selection_size, seed)
    return SelectionResult(clip_ids=np.asarray(clip_ids)[order], order=order, mi_trajectory=trajectory)

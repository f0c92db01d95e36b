"""Clustering-based audio-visual mutual information (ACAV100M Eq. 2 and 3).

MI of two partitions of a set X with contingency counts n_ij, row sums a_i and column sums b_j is
``log|X| + (sum n_ij log n_ij - sum a_i log a_i - sum b_j log b_j) / |X|``. Keeping the three n*log(n)
sums as running totals makes the MI after adding one clip an O(1) update per clustering pair, which is
what lets greedy selection scale to millions of clips.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.special import xlogy

PAIRINGS = ("combination", "diagonal", "bipartite")
MODALITIES = ("audio", "visual")


def clustering_pairs(modalities: Sequence[str], pairing: str) -> list[tuple[int, int]]:
    """Which clusterings (columns of the label matrix) are compared, following §4.2 of the paper.

    ``combination``: every 2-subset of all clusterings (2L choose 2, the paper's default);
    ``diagonal``: the i-th audio clustering with the i-th visual clustering;
    ``bipartite``: every audio clustering with every visual clustering.
    """
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; expected {MODALITIES}")
    audio = [i for i, m in enumerate(modalities) if m == "audio"]
    visual = [i for i, m in enumerate(modalities) if m == "visual"]
    if pairing == "combination":
        pairs = list(itertools.combinations(range(len(modalities)), 2))
    elif pairing == "diagonal":
        if len(audio) != len(visual):
            raise ValueError(
                f"diagonal pairing needs as many audio as visual clusterings ({len(audio)} != {len(visual)})"
            )
        pairs = list(zip(audio, visual))
    elif pairing == "bipartite":
        pairs = [(a, v) for a in audio for v in visual]
    else:
        raise ValueError(f"unknown pairing {pairing!r}; expected one of {PAIRINGS}")
    if not pairs:
        raise ValueError(f"pairing {pairing!r} gives no clustering pair for modalities {list(modalities)}")
    return pairs


def default_modalities(n_clusterings: int) -> list[str]:
    """The label-matrix convention when none is given: first half audio, second half visual."""
    if n_clusterings < 2 or n_clusterings % 2:
        raise ValueError(f"cannot split {n_clusterings} clusterings into audio and visual halves; pass modalities")
    half = n_clusterings // 2
    return ["audio"] * half + ["visual"] * half


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Eq. 2 (natural log) between two label vectors, computed from scratch."""
    x = np.asarray(x, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    n = len(x)
    if n == 0:
        return 0.0
    ky = int(y.max()) + 1
    cells = np.bincount(x * ky + y)
    rows = np.bincount(x)
    cols = np.bincount(y)
    s = xlogy(cells, cells).sum() - xlogy(rows, rows).sum() - xlogy(cols, cols).sum()
    return float(np.log(n) + s / n)


def set_mutual_information(labels: np.ndarray, pairs: Sequence[tuple[int, int]]) -> float:
    """Eq. 3: the average MI over the given clustering pairs, from scratch (the reference for tests)."""
    return float(np.mean([mutual_information(labels[:, a], labels[:, b]) for a, b in pairs]))


def _xlogx_increments(size: int) -> np.ndarray:
    """d[m] = (m+1) log(m+1) - m log m: the change of a n*log(n) sum when one count goes from m to m+1."""
    m = np.arange(size + 1, dtype=np.float64)
    f = xlogy(m, m)
    return np.diff(f)


class IncrementalMI:
    """Running contingency tables of a growing subset, one per clustering pair.

    A pair's row and column sums are the histograms of its two clusterings over the subset, so they
    are kept once per clustering (with a weight = the number of pairs it takes part in) rather than
    once per pair. Adding a clip changes one cell per pair and one bin per clustering; the gain of a
    candidate is read off those counts in O(pairs + clusterings), with no recomputation of Eq. 2.
    """

    def __init__(self, labels: np.ndarray, pairs: Sequence[tuple[int, int]]) -> None:
        if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError("labels must be a 2-D integer array (clips x clusterings)")
        if len(labels) and labels.min() < 0:
            raise ValueError("cluster labels must be non-negative")
        self.labels = labels
        self.pairs = [(int(a), int(b)) for a, b in pairs]
        n_clusters = labels.max(axis=0).astype(np.int64) + 1 if len(labels) else np.ones(labels.shape[1], np.int64)
        left = np.array([a for a, _ in self.pairs], dtype=np.int64)
        right = np.array([b for _, b in self.pairs], dtype=np.int64)
        self._left, self._right = left, right
        self._right_k = n_clusters[right]
        cell_sizes = n_clusters[left] * n_clusters[right]
        self._cell_offset = np.concatenate([[0], np.cumsum(cell_sizes)[:-1]]).astype(np.int64)
        self._hist_offset = np.concatenate([[0], np.cumsum(n_clusters)[:-1]]).astype(np.int64)
        self._weight = np.bincount(np.concatenate([left, right]), minlength=labels.shape[1]).astype(np.float64)
        self.cells = np.zeros(int(cell_sizes.sum()), dtype=np.int64)
        self.hist = np.zeros(int(n_clusters.sum()), dtype=np.int64)
        self._cell_sums = np.zeros(len(self.pairs))
        self._hist_sums = np.zeros(labels.shape[1])
        self._total = 0.0
        self.size = 0
        self._delta = _xlogx_increments(1024)

    def cell_index(self, idx: np.ndarray) -> np.ndarray:
        """(B, pairs) flat positions of the candidates' contingency cells."""
        lab = self.labels[idx].astype(np.int64)
        return self._cell_offset + lab[:, self._left] * self._right_k + lab[:, self._right]

    def hist_index(self, idx: np.ndarray) -> np.ndarray:
        """(B, clusterings) flat positions of the candidates' histogram bins."""
        return self._hist_offset + self.labels[idx].astype(np.int64)

    def gains_at(self, cell_idx: np.ndarray, hist_idx: np.ndarray) -> np.ndarray:
        """Change of sum_pairs(cell n log n) - sum_pairs(row + column n log n) for each candidate row."""
        d = self._delta
        return d[self.cells[cell_idx]].sum(axis=1) - d[self.hist[hist_idx]] @ self._weight

    def gains(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)
        return self.gains_at(self.cell_index(idx), self.hist_index(idx))

    def value_with(self, gain: np.ndarray | float) -> np.ndarray | float:
        """F (mean MI over pairs) of the subset after adding a clip whose gain is ``gain``."""
        n = self.size + 1
        return np.log(n) + (self._total + gain) / (len(self.pairs) * n)

    def value(self) -> float:
        """F of the current subset (0 for the empty set)."""
        if self.size == 0:
            return 0.0
        return float(np.log(self.size) + self._total / (len(self.pairs) * self.size))

    def pair_values(self) -> np.ndarray:
        """MI of each clustering pair over the current subset."""
        if self.size == 0:
            return np.zeros(len(self.pairs))
        n = self.size
        marginals = self._hist_sums[self._left] + self._hist_sums[self._right]
        return np.log(n) + (self._cell_sums - marginals) / n

    def add_at(self, cell_idx: np.ndarray, hist_idx: np.ndarray) -> None:
        """Add one clip given its cell positions (pairs,) and histogram positions (clusterings,)."""
        d = self._delta
        cell_gain = d[self.cells[cell_idx]]
        hist_gain = d[self.hist[hist_idx]]
        self._cell_sums += cell_gain
        self._hist_sums += hist_gain
        self._total += cell_gain.sum() - hist_gain @ self._weight
        self.cells[cell_idx] += 1
        self.hist[hist_idx] += 1
        self.size += 1
        if self.size + 1 >= len(self._delta):
            self._delta = _xlogx_increments(2 * len(self._delta))

    def add(self, i: int) -> None:
        idx = np.array([i])
        self.add_at(self.cell_index(idx)[0], self.hist_index(idx)[0])

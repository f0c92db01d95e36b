"""Streaming mini-batch SGD k-means with re-initialisation of unused centres (ACAV100M §3.3.2).

Lloyd's algorithm needs every sample each iteration; SGD k-means only ever holds one mini-batch,
so memory does not grow with the number of clips. Input arrives as any iterable of (n, D) arrays
(shards of any size); rows are re-cut into fixed mini-batches, so for a given seed the result
depends only on the row order, not on where the shard boundaries fall.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

INITS = ("kmeans++", "random")


@dataclass(frozen=True)
class KMeansConfig:
    """``learning_rate`` is the paper's lambda: each assigned sample pulls its centre by that fraction.

    ``epochs`` > 1 iterates the source again, so it must be re-iterable (a list, or an object whose
    ``__iter__`` starts over), not a one-shot iterator. ``reinit_after`` is how many samples a centre
    must have seen since its (re)initialisation before it can be judged unused (default k*k: below
    that, a single update already puts its utilisation above the (1/k)^2 threshold). ``init`` seeds the
    centres from the first mini-batch: greedy ``"kmeans++"`` or ``"random"`` rows (kept to measure the
    difference: benchmarks/bench_selection_defaults.py).
    """

    n_clusters: int
    batch_size: int = 4096
    epochs: int = 1
    learning_rate: float = 0.01
    seed: int = 0
    reinit_after: int | None = None
    init: str = "kmeans++"


def label_dtype(n_clusters: int) -> np.dtype:
    """Smallest signed integer type that holds cluster ids (int16 for k <= 32767)."""
    return np.dtype(np.int16) if n_clusters <= np.iinfo(np.int16).max else np.dtype(np.int32)


def rebatch(source: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Re-cut a stream of row blocks into blocks of exactly ``batch_size`` rows (the last may be short)."""
    pending: list[np.ndarray] = []
    have = 0
    for block in source:
        block = np.asarray(block)
        if block.ndim != 2:
            raise ValueError(f"feature blocks must be 2-D, got shape {block.shape}")
        while len(block):
            take = min(batch_size - have, len(block))
            pending.append(block[:take])
            have += take
            block = block[take:]
            if have == batch_size:
                yield np.concatenate(pending) if len(pending) > 1 else pending[0]
                pending, have = [], 0
    if have:
        yield np.concatenate(pending)


def _sq_distances(x: np.ndarray, centers: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """(n, k) squared Euclidean distances, via |x|^2 - 2 x.c + |c|^2 (one matmul)."""
    if x_sq is None:
        x_sq = (x * x).sum(axis=1)
    d = x_sq[:, None] - 2.0 * (x @ centers.T) + (centers * centers).sum(axis=1)
    return np.maximum(d, 0.0, out=d)


class SGDKMeans:
    """Mini-batch SGD k-means; ``fit`` streams over the data, ``predict``/``assign`` label it."""

    def __init__(self, config: KMeansConfig, init_centers: np.ndarray | None = None) -> None:
        if config.n_clusters < 1 or config.batch_size < 1 or config.epochs < 1:
            raise ValueError(f"invalid k-means config {config}")
        if config.init not in INITS:
            raise ValueError(f"unknown k-means init {config.init!r}; expected one of {INITS}")
        if not 0.0 < config.learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {config.learning_rate}")
        self.config = config
        self.centers = None if init_centers is None else np.array(init_centers, dtype=np.float32)
        k = config.n_clusters
        if self.centers is not None and len(self.centers) != k:
            raise ValueError(f"{len(self.centers)} initial centres for k={k}")
        self.updates = np.zeros(k, dtype=np.int64)  # samples assigned to each centre since its (re)init
        self.steps = np.zeros(k, dtype=np.int64)  # samples seen since each centre's (re)init
        self.n_reinitialised = 0
        self._rng = np.random.default_rng(config.seed)

    @property
    def utilisation(self) -> np.ndarray:
        """Per-centre update rate: updates to the centre / estimation steps since its (re)init."""
        return self.updates / np.maximum(self.steps, 1)

    def fit(self, source: Iterable[np.ndarray]) -> SGDKMeans:
        if self.config.epochs > 1 and iter(source) is source:
            raise ValueError("epochs > 1 needs a re-iterable source (a list or an object that restarts on iter())")
        for _ in range(self.config.epochs):
            for batch in rebatch(source, self.config.batch_size):
                self.partial_fit(batch)
        if self.centers is None:
            raise ValueError("k-means got no data")
        return self

    def partial_fit(self, batch: np.ndarray) -> None:
        x = np.asarray(batch, dtype=np.float32)
        if not np.isfinite(x).all():
            raise ValueError("features contain NaN or infinite values")
        k = self.config.n_clusters
        if self.centers is None:
            self.centers = self._initial_centers(x)
        d = _sq_distances(x, self.centers)
        nearest = d.argmin(axis=1)
        counts = np.bincount(nearest, minlength=k)
        onehot = sparse.csr_matrix((np.ones(len(x), np.float32), (nearest, np.arange(len(x)))), shape=(k, len(x)))
        sums = onehot @ x
        hit = counts > 0
        means = sums[hit] / counts[hit, None]
        # n assigned samples, each a convex step of size lambda towards the centre's batch mean
        rate = 1.0 - (1.0 - self.config.learning_rate) ** counts[hit]
        self.centers[hit] += rate[:, None].astype(np.float32) * (means - self.centers[hit])
        self.updates += counts
        self.steps += len(x)
        self._reinitialise_unused(x, d[np.arange(len(x)), nearest])

    def _reinitialise_unused(self, x: np.ndarray, nearest_sq: np.ndarray) -> None:
        """Restart centres whose utilisation fell below (1/k)^2 at samples that are badly covered."""
        k = self.config.n_clusters
        patience = self.config.reinit_after if self.config.reinit_after is not None else k * k
        dead = np.flatnonzero((self.steps >= patience) & (self.utilisation < 1.0 / (k * k)))
        if not len(dead):
            return
        weights = nearest_sq.astype(np.float64)
        if weights.sum() <= 0:
            weights = np.ones(len(x))
        replace = len(dead) > np.count_nonzero(weights)
        picks = self._rng.choice(len(x), size=len(dead), replace=replace, p=weights / weights.sum())
        self.centers[dead] = x[picks]
        self.updates[dead] = 0
        self.steps[dead] = 0
        self.n_reinitialised += len(dead)

    def _initial_centers(self, x: np.ndarray) -> np.ndarray:
        k = self.config.n_clusters
        if len(x) < k:
            raise ValueError(f"the first mini-batch has {len(x)} rows, fewer than k={k}")
        if self.config.init == "random":
            return x[self._rng.choice(len(x), size=k, replace=False)].copy()
        return self._kmeans_plus_plus(x)

    def _kmeans_plus_plus(self, x: np.ndarray) -> np.ndarray:
        """Greedy k-means++ seeding on the first mini-batch (which must hold at least k rows).

        Each new centre is the best of 2 + log(k) D^2-sampled candidates (as scikit-learn does):
        SGD k-means moves centres slowly, so a poor seeding costs more than it does with Lloyd.
        """
        k = self.config.n_clusters
        trials = 2 + int(np.log(k))
        centers = np.empty((k, x.shape[1]), dtype=np.float32)
        x_sq = (x * x).sum(axis=1)
        centers[0] = x[self._rng.integers(len(x))]
        closest = _sq_distances(x, centers[:1], x_sq)[:, 0].astype(np.float64)
        for i in range(1, k):
            total = closest.sum()
            if total > 0:
                candidates = self._rng.choice(len(x), size=trials, p=closest / total)
            else:
                candidates = self._rng.integers(len(x), size=1)
            merged = np.minimum(closest[:, None], _sq_distances(x, x[candidates], x_sq))
            best = int(merged.sum(axis=0).argmin())
            centers[i] = x[candidates[best]]
            closest = merged[:, best]
        return centers

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.centers is None:
            raise ValueError("k-means is not fitted")
        nearest = _sq_distances(np.asarray(x, dtype=np.float32), self.centers).argmin(axis=1)
        return nearest.astype(label_dtype(self.config.n_clusters))

    def assign(self, source: Iterable[np.ndarray]) -> np.ndarray:
        """Second streaming pass: the cluster id of every row, in order (memory = one label per row)."""
        parts = [self.predict(batch) for batch in rebatch(source, self.config.batch_size)]
        if not parts:
            return np.empty(0, dtype=label_dtype(self.config.n_clusters))
        return np.concatenate(parts)

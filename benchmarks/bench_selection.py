"""Scale of ACAV100M-style selection: batch greedy at 10M clips, incremental vs naive MI, streaming k-means.

(i)   select M = N/10 of N clips (default N = 10M) with 10 clusterings of k = 256 (5 "audio", 5 "visual",
      combination pairing: 45 pairs), b = 100, s = 25: wall time and peak RSS. Labels are synthetic
      (half the clips follow one concept across clusterings, half are random), which does not change
      the cost per step.
(ii)  the same selection at N = 100k with the incremental O(pairs) gain against a naive estimator that
      recomputes Eq. 2 over every k x k table for every candidate (O(pairs * k^2)); the naive one is
      timed on its first --naive-steps picks and extrapolated linearly (its cost per pick does not
      depend on the subset size), after checking that both pick the same clips on those steps.
(iii) streaming mini-batch SGD k-means (k = 256) over N x 512 float16 features: clips/s for one
      fitting pass and one labelling pass.

    .venv/bin/python benchmarks/bench_selection.py [--n 10000000] [--naive-n 100000] [--kmeans-n 1000000]

Nothing here asserts on time; figures are printed.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy.special import xlogy

from curation.selection.greedy import batch_greedy
from curation.selection.kmeans import KMeansConfig, SGDKMeans
from curation.selection.mutual_info import clustering_pairs

MODALITIES = ["audio"] * 5 + ["visual"] * 5


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def planted_labels(n: int, k: int, clusterings: int, seed: int) -> np.ndarray:
    """int16 (n, clusterings): half the clips carry one concept through every clustering, half are random."""
    rng = np.random.default_rng(seed)
    labels = np.empty((n, clusterings), dtype=np.int16)
    concept = rng.integers(0, k, n)
    random_rows = rng.random(n) < 0.5
    for c in range(clusterings):
        column = rng.permutation(k).astype(np.int16)[concept]
        column[random_rows] = rng.integers(0, k, int(random_rows.sum()), dtype=np.int16)
        labels[:, c] = column
    return labels


def bench_large(n: int, k: int, seed: int) -> None:
    labels = planted_labels(n, k, len(MODALITIES), seed)
    before = current_rss_mib()
    pairs = clustering_pairs(MODALITIES, "combination")
    target = n // 10
    start, cpu_start = time.perf_counter(), time.process_time()
    order, trajectory = batch_greedy(labels, target, pairs, batch_size=100, selection_size=25, seed=seed)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"(i) batch greedy: N={n:,} M={target:,} clusterings=10 k={k} pairs={len(pairs)} b=100 s=25")
    print(
        f"    wall {elapsed:.1f} s, CPU {cpu:.1f} s "
        f"({target / elapsed:,.0f} picks/s, {elapsed / target * 1e6:.1f} us/pick)"
    )
    print(
        f"    label matrix {labels.nbytes / 2**20:.0f} MiB; RSS before selection {before:.0f} MiB; "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )
    print(f"    final mean pair MI {trajectory[-1]:.4f}, selected {len(np.unique(order)):,} distinct clips")


class NaiveMI:
    """Keeps the k x k tables but recomputes Eq. 2 over all cells of every pair for every candidate."""

    def __init__(self, labels: np.ndarray, pairs: list[tuple[int, int]], k: int) -> None:
        self.labels, self.k = labels, k
        self.left = np.array([a for a, _ in pairs])
        self.right = np.array([b for _, b in pairs])
        self.tables = np.zeros((len(pairs), k, k), dtype=np.float64)
        self.size = 0

    def value_with(self, i: int) -> float:
        cell = (np.arange(len(self.left)), self.labels[i, self.left], self.labels[i, self.right])
        tables = self.tables
        tables[cell] += 1  # in place, undone below: no copy of the tables per candidate
        n = self.size + 1
        rows, cols = tables.sum(axis=2), tables.sum(axis=1)
        s = xlogy(tables, tables).sum(axis=(1, 2)) - xlogy(rows, rows).sum(axis=1) - xlogy(cols, cols).sum(axis=1)
        tables[cell] -= 1
        return float(np.mean(np.log(n) + s / n))

    def add(self, i: int) -> None:
        self.tables[np.arange(len(self.left)), self.labels[i, self.left], self.labels[i, self.right]] += 1
        self.size += 1


def naive_batch_greedy(labels: np.ndarray, steps: int, pairs: list[tuple[int, int]], k: int, seed: int) -> np.ndarray:
    """Algorithm 1 with the same batch sampling as ``batch_greedy`` but a from-the-tables MI per candidate."""
    rng = np.random.default_rng(seed)
    state = NaiveMI(labels, pairs, k)
    pool = np.arange(len(labels), dtype=np.int32)
    pool_size, order = len(labels), []
    while len(order) < steps:
        positions = rng.choice(pool_size, size=min(100, pool_size), replace=False)
        batch = pool[positions]
        picked = np.zeros(len(batch), dtype=bool)
        for _ in range(min(25, steps - len(order))):
            values = np.array([-np.inf if picked[j] else state.value_with(int(c)) for j, c in enumerate(batch)])
            j = int(np.argmax(values))
            state.add(int(batch[j]))
            picked[j] = True
            order.append(int(batch[j]))
        for pos in np.sort(positions[picked])[::-1]:
            pool_size -= 1
            pool[pos] = pool[pool_size]
    return np.array(order)


def bench_naive(n: int, k: int, naive_steps: int, seed: int) -> None:
    labels = planted_labels(n, k, len(MODALITIES), seed)
    pairs = clustering_pairs(MODALITIES, "combination")
    target = n // 10
    start = time.process_time()
    order, _ = batch_greedy(labels, target, pairs, batch_size=100, selection_size=25, seed=seed)
    fast = time.process_time() - start
    start = time.process_time()
    naive_order = naive_batch_greedy(labels, naive_steps, pairs, k, seed)
    naive_part = time.process_time() - start
    naive = naive_part * target / naive_steps
    same = np.array_equal(order[:naive_steps], naive_order)
    print(f"(ii) N={n:,} M={target:,} k={k} pairs={len(pairs)} b=100 s=25 (CPU seconds of this process)")
    print(f"    incremental: {fast:.2f} s for all {target:,} picks ({fast / target * 1e6:.1f} us/pick)")
    print(
        f"    naive (recompute Eq. 2 per candidate): {naive_part:.1f} s for the first {naive_steps} picks "
        f"({naive_part / naive_steps * 1e3:.0f} ms/pick) -> {naive:,.0f} s extrapolated to {target:,}"
    )
    print(f"    speedup x{naive / fast:,.0f}; same clips picked on the timed steps: {same}")


def bench_kmeans(n: int, dim: int, k: int, batch: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (k, dim)).astype(np.float32)
    shard_rows = 65536
    shards = []
    for start in range(0, n, shard_rows):
        rows = min(shard_rows, n - start)
        x = centres[rng.integers(0, k, rows)] + rng.normal(0, 0.5, (rows, dim)).astype(np.float32)
        shards.append(x.astype(np.float16))
    data_mib = sum(s.nbytes for s in shards) / 2**20
    kmeans = SGDKMeans(KMeansConfig(n_clusters=k, batch_size=batch, epochs=1, seed=seed))
    start, cpu_start = time.perf_counter(), time.process_time()
    kmeans.fit(shards)
    fit, fit_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    start, cpu_start = time.perf_counter(), time.process_time()
    labels = kmeans.assign(shards)
    assign, assign_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    used = len(np.unique(labels))
    print(
        f"(iii) streaming SGD k-means: {n:,} x {dim} float16 ({data_mib:.0f} MiB in {len(shards)} shards), "
        f"k={k}, mini-batch {batch}"
    )
    print(
        f"    fit (1 epoch): wall {fit:.1f} s (CPU {fit_cpu:.1f} s) = {n / fit:,.0f} clips/s; "
        f"labelling pass: wall {assign:.1f} s (CPU {assign_cpu:.1f} s) = {n / assign:,.0f} clips/s"
    )
    print(f"    centres used {used}/{k}; re-initialised {kmeans.n_reinitialised}; peak RSS {peak_rss_mib():.0f} MiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000_000, help="clips for (i)")
    p.add_argument("--naive-n", type=int, default=100_000, help="clips for (ii)")
    p.add_argument("--naive-steps", type=int, default=25, help="naive picks timed in (ii)")
    p.add_argument("--kmeans-n", type=int, default=1_000_000, help="feature rows for (iii)")
    p.add_argument("--k", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", nargs="*", default=[], choices=["large", "naive", "kmeans"])
    args = p.parse_args()
    if "large" not in args.skip:
        bench_large(args.n, args.k, args.seed)  # first: peak RSS is per process, so nothing else may precede it
    if "naive" not in args.skip:
        bench_naive(args.naive_n, args.k, args.naive_steps, args.seed)
    if "kmeans" not in args.skip:
        bench_kmeans(args.kmeans_n, 512, args.k, 4096, args.seed)


if __name__ == "__main__":
    main()

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

(iv)  the --preset acav100m-large cost (b = 10,000, s = 500; k-means mini-batch 100k, 100 epochs) next to
      the defaults' at 1M and 10M clips, both on a planted 20k-clip table, and multi-layer vs single-layer
      selection on planted tables whose class signal sits in early layers only.

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


def timed_picks(labels: np.ndarray, pairs: list, target: int, b: int, s: int, picks: int, seed: int) -> float:
    """Seconds per pick of batch greedy over the first ``picks`` picks (a pick's cost does not grow with the
    subset: it scores b candidates against fixed-size tables), so target * this = the whole selection."""
    start = time.process_time()
    batch_greedy(labels, min(picks, target), pairs, batch_size=b, selection_size=s, seed=seed)
    return (time.process_time() - start) / min(picks, target)


def bench_preset(sizes: list[int], k: int, seed: int) -> None:
    """(iv) the acav100m-large preset's cost next to the defaults', and both on a planted table."""
    from dataclasses import replace

    from curation.selection.feature_table import FeatureTable
    from curation.selection.planted import PlantedSpec, planted_table
    from curation.selection.stage import PRESETS, SelectionConfig, auto_epochs, cluster_labels, run_selection

    preset = PRESETS["acav100m-large"]
    pairs = clustering_pairs(MODALITIES, "bipartite")
    print(f"(iv) batch greedy, 10 clusterings of k={k}, bipartite ({len(pairs)} pairs), M = N/10; CPU seconds per "
          "pick (this process; the machine is shared) timed on the first picks and multiplied by M")
    for n in sizes:
        labels = planted_labels(n, k, len(MODALITIES), seed)
        d = SelectionConfig(target_size=0)
        for name, b, s, picks in (("defaults", d.batch_size, d.selection_size, 20_000),
                                  ("acav100m-large", preset["batch_size"], preset["selection_size"], 2_000)):
            per_pick = timed_picks(labels, pairs, n // 10, b, s, picks, seed)
            print(f"    N={n:>10,} {name:<15} b={b:>6} s={s:>4}: {per_pick * 1e3:7.3f} ms/pick -> "
                  f"{per_pick * n / 10:8.0f} s for M={n // 10:,}")
        del labels
    dim, rows = 512, 200_000
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float16)
    for name, batch in (("defaults", 4096), ("acav100m-large", preset["kmeans_batch_size"])):
        cost = []
        for epochs in (1, 2):  # the difference is one epoch; the rest is the k-means++ seeding
            kmeans = SGDKMeans(KMeansConfig(n_clusters=k, batch_size=batch, epochs=epochs, seed=seed))
            start = time.process_time()
            kmeans.fit([x])
            cost.append(time.process_time() - start)
        per_row, seeding = (cost[1] - cost[0]) / rows, max(cost[0] - (cost[1] - cost[0]), 0.0)
        for n in sizes:
            epochs = preset["kmeans_epochs"] if name != "defaults" else auto_epochs(n)
            print(f"    k-means {name:<15} mini-batch {batch:>6}, {dim}-d: {1 / per_row:,.0f} rows/s per epoch, "
                  f"seeding {seeding:.1f} s -> N={n:,} x {epochs} epochs x 10 layers = "
                  f"{(per_row * n * epochs + seeding) * 10:,.0f} CPU s")
    n = 20_000
    table = planted_table(PlantedSpec(n, 32, seed=seed))
    features = FeatureTable(table.to_arrow())
    for name, config in (("defaults", SelectionConfig(target_size=n // 2)),
                         ("acav100m-large", SelectionConfig(target_size=n // 2, **preset))):
        start = time.perf_counter()
        order = run_selection(cluster_labels(features, config), config).order
        print(f"    planted {n:,} clips, 32 classes, keep half: {name:<15} precision {100 * table.positive[order].mean():.1f} "
              f"% in {time.perf_counter() - start:.0f} s")
    # single-layer vs multi-layer: only an early audio and an early visual layer carry the class
    from curation.selection.planted import Layer

    audio = (Layer(0.0, 1.5, 1.0), Layer(3.0, 0.5, 1.0), Layer(0.3, 1.0, 1.0))
    visual = (Layer(3.0, 0.5, 1.0), Layer(0.0, 1.5, 1.0), Layer(0.3, 1.0, 1.0))
    results = {"multi-layer (6 clusterings)": [], "single-layer (last layer)": []}
    for s in range(3):
        table = planted_table(PlantedSpec(n, 32, audio_layers=audio, visual_layers=visual, seed=100 + s))
        arrow = table.to_arrow()
        config = SelectionConfig(target_size=n // 2, seed=s)
        for name, columns in zip(results, (arrow.column_names, ["clip_id", "audio_planted_l2", "visual_planted_l2"])):
            labels = cluster_labels(FeatureTable(arrow.select(columns)), config)
            results[name].append(100 * table.positive[run_selection(labels, replace(config)).order].mean())
    for name, values in results.items():
        print(f"    planted {n:,} clips, class signal in early layers only: {name:<28} precision "
              + " ".join(f"{v:.1f}" for v in values) + f" (mean {np.mean(values):.1f}, 3 seeds)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000_000, help="clips for (i)")
    p.add_argument("--naive-n", type=int, default=100_000, help="clips for (ii)")
    p.add_argument("--naive-steps", type=int, default=25, help="naive picks timed in (ii)")
    p.add_argument("--kmeans-n", type=int, default=1_000_000, help="feature rows for (iii)")
    p.add_argument("--k", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset-sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], help="N for (iv)")
    p.add_argument("--skip", nargs="*", default=[], choices=["large", "naive", "kmeans", "preset"])
    args = p.parse_args()
    if "large" not in args.skip:
        bench_large(args.n, args.k, args.seed)  # first: peak RSS is per process, so nothing else may precede it
    if "naive" not in args.skip:
        bench_naive(args.naive_n, args.k, args.naive_steps, args.seed)
    if "kmeans" not in args.skip:
        bench_kmeans(args.kmeans_n, 512, args.k, 4096, args.seed)
    if "preset" not in args.skip:
        bench_preset(args.preset_sizes, args.k, args.seed)


if __name__ == "__main__":
    main()

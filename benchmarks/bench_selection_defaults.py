"""Do `acav1m select`'s defaults work at every collection size? Planted-correspondence tables, 5k to 1M clips.

Tables (curation/selection/planted.py): per clip one class per modality, equal in a random half of the
clips (the positives), another class in the audio of the rest; class frequencies Zipf-skewed (s = 1);
three layers per modality mixing class signal, a nuisance "style" cluster (independent across modalities)
and noise in different proportions; each modality its own prototypes and projections (no shared space).
Tables with 8 / 32 / 128 / 256 classes (four per size up to 20k, two at 100k, one at 1M: run time), with
the audio layers either in the same order as the visual ones ("aligned": layer i of both is equally
informative) or reversed ("crossed").

Protocol: keep half of the clips (chance = 50 %); precision = share of positives kept, in %.
  defaults     SelectionConfig(target_size=N/2) with nothing else set: what `acav1m select --size` does
  k = ...      the same with --clusters k (the sweep); "best k" = the k with the best mean over the size's tables
  pairings     combination / bipartite / diagonal on the default k's clusterings
  Ranking-*    64-d PCA of each modality (all layers, standardised), inner / cosine / -l2 (bench_correspondence)
  Contrastive  linear heads, symmetric InfoNCE (bench_correspondence), trained on <= 5k clips, 10 epochs
Part (b) measures k-means epochs and initialisation on one 20k and one 100k table, with their CPU cost.

    .venv/bin/python benchmarks/bench_selection_defaults.py [--sizes 5000 20000 100000 1000000] [--skip-kmeans]
    (--sizes with no value runs part (b) only)
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace

import numpy as np
import torch
from bench_correspondence import contrastive_scores, ranking_scores, standardise, top_half

from curation.selection.feature_table import FeatureTable
from curation.selection.mutual_info import PAIRINGS
from curation.selection.planted import DEFAULT_LAYERS, PlantedSpec, PlantedTable, planted_table
from curation.selection.stage import SelectionConfig, auto_epochs, cluster_count, cluster_labels, run_selection

SWEEP = {5_000: (8, 16, 32, 64, 128, 256), 20_000: (16, 32, 64, 128, 256), 100_000: (64, 128, 256)}
LARGE_SWEEP = (128, 256)  # 1M and above: a smaller sweep (each k costs minutes here)
TABLES = {  # per size: (classes, audio layer order); fewer tables as the size grows, to bound the run time
    5_000: ((8, "aligned"), (32, "crossed"), (128, "aligned"), (128, "crossed")),
    20_000: ((8, "aligned"), (32, "crossed"), (128, "aligned"), (128, "crossed")),
    100_000: ((32, "crossed"), (128, "aligned")),
}
LARGE_TABLES = ((256, "crossed"),)


def tables_for(n: int) -> list[PlantedSpec]:
    specs = []
    for i, (classes, order) in enumerate(TABLES.get(n, LARGE_TABLES)):
        audio = DEFAULT_LAYERS if order == "aligned" else DEFAULT_LAYERS[::-1]
        specs.append(PlantedSpec(n, classes, audio_layers=audio, seed=1000 * i + n % 997, label=f"C={classes} {order}"))
    return specs


def precision(table: PlantedTable, order: np.ndarray) -> float:
    return 100.0 * float(table.positive[order].mean())


def views(table: PlantedTable, modality: str, idx: np.ndarray) -> np.ndarray:
    layers = [v[idx] for k, v in table.features.items() if k.startswith(modality)]
    return np.concatenate([standardise(v) for v in layers], axis=1).astype(np.float32)


def baselines(table: PlantedTable, seed: int) -> dict[str, float]:
    n = table.spec.n_clips
    every = np.arange(n)
    v, a = views(table, "visual", every), views(table, "audio", every)
    out = {f"Ranking-{m}": precision(table, top_half(ranking_scores(v, a, m, seed))) for m in ("inner", "cos", "l2")}
    train = np.random.default_rng(seed).permutation(n)[:5_000]
    scores = contrastive_scores((v[train], a[train], None), (v, a), seed, epochs=10)
    out["Contrastive"] = precision(table, top_half(scores))
    return out


def select_with(
    table: PlantedTable, feature_table: FeatureTable, config: SelectionConfig, pairings: tuple[str, ...]
) -> dict[str, float]:
    """Precision of each pairing on one clustering run."""
    labels = cluster_labels(feature_table, config)
    return {p: precision(table, run_selection(labels, replace(config, pairing=p)).order) for p in pairings}


def bench_size(n: int, seed: int) -> dict:
    start = time.perf_counter()
    specs = tables_for(n)
    sweep = SWEEP.get(n, LARGE_SWEEP)
    defaults = SelectionConfig(target_size=n // 2)
    k_auto = cluster_count(defaults, n)
    rows = []
    for spec in specs:
        t0 = time.perf_counter()
        table = planted_table(spec)
        feature_table = FeatureTable(table.to_arrow())
        row = {"table": spec.label, "default": select_with(table, feature_table, defaults, PAIRINGS)}
        for k in sweep:
            if k != k_auto:
                config = replace(defaults, n_clusters=k)
                row[k] = select_with(table, feature_table, config, (defaults.pairing,))[defaults.pairing]
        row[k_auto] = row["default"][defaults.pairing]
        row.update(baselines(table, seed))
        rows.append(row)
        print(
            f"  [{n:,} | {spec.label}] defaults (k={k_auto}, {defaults.pairing}) {row[k_auto]:.1f}; "
            + ", ".join(f"k={k} {row[k]:.1f}" for k in sorted(set(sweep) | {k_auto}))
            + "; pairings " + "/".join(f"{p} {row['default'][p]:.1f}" for p in PAIRINGS)
            + f"; ranking-cos {row['Ranking-cos']:.1f}, contrastive {row['Contrastive']:.1f} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    mean = lambda key: float(np.mean([r[key] for r in rows]))  # noqa: E731
    per_k = {k: mean(k) for k in sorted(set(sweep) | {k_auto})}
    best_k = max(per_k, key=per_k.get)
    return {
        "n": n,
        "k_auto": k_auto,
        "defaults": per_k[k_auto],
        "best_k": best_k,
        "best": per_k[best_k],
        "per_k": per_k,
        "pairings": {p: float(np.mean([r["default"][p] for r in rows])) for p in PAIRINGS},
        "baselines": {m: mean(m) for m in ("Ranking-inner", "Ranking-cos", "Ranking-l2", "Contrastive")},
        "tables": len(rows),
        "seconds": time.perf_counter() - start,
    }


def bench_kmeans(n: int, classes: int, epochs: tuple[int, ...]) -> None:
    """Epochs and initialisation at the default k and pairing; CPU seconds of the 6 clusterings."""
    spec = PlantedSpec(n, classes, audio_layers=DEFAULT_LAYERS[::-1], seed=7)
    table = planted_table(spec)
    feature_table = FeatureTable(table.to_arrow())
    config = SelectionConfig(target_size=n // 2)
    print(f"(b) k-means on {n:,} clips, {classes} classes crossed, k={cluster_count(config, n)}, 6 clusterings, "
          f"default epochs {auto_epochs(n)}")
    runs = [("kmeans++", e) for e in epochs] + [("random", auto_epochs(n))]
    for init, e in runs:
        c = replace(config, kmeans_epochs=e, kmeans_init=init)
        t0 = time.process_time()
        labels = cluster_labels(feature_table, c)
        cost = time.process_time() - t0
        p = precision(table, run_selection(labels, c).order)
        print(f"    init {init:<9} epochs {e:>3}: precision {p:.1f}  k-means CPU {cost:.1f} s", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="*", default=[5_000, 20_000, 100_000, 1_000_000])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-kmeans", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("acav1m.select").setLevel(logging.ERROR)  # the sweep's sparse-k warnings are expected
    if not args.sizes:
        return bench_kmeans_part() if not args.skip_kmeans else None
    print("(a) precision (%) keeping half (chance 50), mean over each size's tables")
    results = [bench_size(n, args.seed) for n in args.sizes]
    print(
        f"\n{'clips':>10} {'tables':>6} {'default k':>9} {'defaults':>8} {'best k':>6} {'best':>6} {'gap':>5}  "
        f"{'combination':>11} {'bipartite':>9} {'diagonal':>8}  {'rank-in':>7} {'rank-cos':>8} {'rank-l2':>7} "
        f"{'contrast':>8} {'time s':>7}"
    )
    for r in results:
        b, pr = r["baselines"], r["pairings"]
        print(
            f"{r['n']:>10,} {r['tables']:>6} {r['k_auto']:>9} {r['defaults']:>8.1f} {r['best_k']:>6} {r['best']:>6.1f} "
            f"{r['best'] - r['defaults']:>5.1f}  {pr['combination']:>11.1f} {pr['bipartite']:>9.1f} "
            f"{pr['diagonal']:>8.1f}  {b['Ranking-inner']:>7.1f} {b['Ranking-cos']:>8.1f} {b['Ranking-l2']:>7.1f} "
            f"{b['Contrastive']:>8.1f} {r['seconds']:>7.0f}"
        )
    print("sweep (mean precision per k): " + "; ".join(
        f"{r['n']:,}: " + " ".join(f"{k}={v:.1f}" for k, v in r["per_k"].items()) for r in results))
    if not args.skip_kmeans:
        bench_kmeans_part()


def bench_kmeans_part() -> None:
    bench_kmeans(20_000, 32, (1, 5, 20, 100))
    bench_kmeans(100_000, 128, (1, 4, 20))


if __name__ == "__main__":
    main()

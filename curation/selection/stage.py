"""Selection as a pipeline step: records with feature (or cluster-id) columns in, the chosen subset out."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.atomic import write_parquet_atomic
from curation.selection.clustering import LABEL_PREFIX, ClusterLabels, cluster_features, read_labels
from curation.selection.feature_table import CLIP_ID, FeatureTable, split_modalities
from curation.selection.greedy import SelectionResult, select
from curation.selection.kmeans import KMeansConfig
from curation.selection.mutual_info import clustering_pairs

RANK = "rank"
log = logging.getLogger("acav1m.select")

# The automatic cluster count (see auto_clusters): chosen from benchmarks/bench_selection_defaults.py
CLIPS_PER_CELL = 2.5
MAX_CLUSTERS = 256  # the paper's k for its 10M-clip runs
MIN_CLUSTERS = 2
WARN_CLIPS_PER_CELL = 1.0
KMEANS_SAMPLES = 400_000  # 20 epochs of 20k clips
MAX_EPOCHS = 20
ACCEPTED_TABLES = (
    "feature columns audio_*/visual_* (lists of floats, clustered here) or precomputed cluster ids "
    "cluster_audio_*/cluster_visual_* (integers, e.g. a --labels-out file)"
)


def auto_clusters(subset_size: int) -> int:
    """k per clustering when none is given: about ``CLIPS_PER_CELL`` selected clips per k x k contingency cell.

    MI is estimated over the selected subset (M clips) from k x k tables; with fewer clips than cells the
    plug-in estimate is mostly noise and greedy selection chases empty cells instead of correspondence.
    Capped at the paper's 256, which it reaches from M = 256^2 * CLIPS_PER_CELL (about 164k selected clips).
    """
    k = math.isqrt(max(int(subset_size / CLIPS_PER_CELL), 0))
    return max(MIN_CLUSTERS, min(MAX_CLUSTERS, k))


def auto_epochs(n_clips: int) -> int:
    """k-means passes when none is given: enough for about ``KMEANS_SAMPLES`` mini-batch samples, 1 to 20.

    Measured on planted tables (bench_selection_defaults.py (b)): 1, 5, 20 and 100 epochs at 20k clips and
    1, 4 and 20 at 100k were all within 1 point; passes beyond a few hundred thousand samples buy nothing.
    """
    return max(1, min(MAX_EPOCHS, math.ceil(KMEANS_SAMPLES / max(n_clips, 1))))


def clips_per_cell(subset_size: int, k: int) -> float:
    return subset_size / (k * k)


@dataclass(frozen=True)
class SelectionConfig:
    """k, pairing, batch greedy b and s (s/b = 0.05, the ratio of the paper's appendix E.2; its §4 protocol's
    b=100, s=25 kept 7 points fewer positives on planted tables) and k-means settings were measured:
    benchmarks/bench_selection_defaults.py, README "ACAV100M subset selection".

    Columns whose names start with ``audio_prefix`` / ``visual_prefix`` are used: list<float>
    columns are clustered (one k-means each); if the table has ``cluster_<audio_/visual_...>`` integer
    columns instead (a labels file), those are taken as precomputed cluster ids. ``n_clusters=None``
    chooses k from the target size (``auto_clusters``).
    """

    target_size: int
    n_clusters: int | None = None
    batch_size: int = 1000
    selection_size: int = 50
    pairing: str = "bipartite"
    seed: int = 0
    kmeans_epochs: int | None = None  # None: auto_epochs
    kmeans_batch_size: int = 4096
    kmeans_learning_rate: float = 0.01
    kmeans_init: str = "kmeans++"
    audio_prefix: str = "audio_"
    visual_prefix: str = "visual_"


# ACAV100M appendix E.2: mini-batch 100k, 100 epochs, lambda 1e-2; batch greedy b = 10,000, s = 500. The
# paper's k per size is left to auto_clusters; pairing stays the measured default.
PRESETS: dict[str, dict] = {
    "acav100m-large": dict(
        kmeans_batch_size=100_000, kmeans_epochs=100, kmeans_learning_rate=1e-2, batch_size=10_000, selection_size=500
    ),
}


def preset_config(name: str | None, target_size: int, **overrides) -> SelectionConfig:
    """``SelectionConfig`` from a preset's values, then the given overrides on top."""
    if name is not None and name not in PRESETS:
        raise ValueError(f"unknown selection preset {name!r}; expected one of {sorted(PRESETS)}")
    return SelectionConfig(target_size=target_size, **{**PRESETS.get(name or "", {}), **overrides})


def cluster_count(config: SelectionConfig, n_clips: int) -> int:
    """The k to cluster with: the configured one (warning when it leaves too few clips per cell) or auto."""
    subset = min(config.target_size, n_clips)
    if config.n_clusters is None:
        k = auto_clusters(subset)
        log.info("clusters: k = %d per clustering (auto: %d selected clips, %.1f per contingency cell)",
                 k, subset, clips_per_cell(subset, k))
    else:
        k = config.n_clusters
        if k < 1:
            raise ValueError(f"--clusters must be >= 1, got {k}")
        if subset and clips_per_cell(subset, k) < WARN_CLIPS_PER_CELL:
            log.warning(
                "k = %d leaves %.2f selected clips per contingency cell (%d clips, %d cells): mutual information "
                "estimated from so few is mostly noise; leave the cluster count out to use k = %d",
                k, clips_per_cell(subset, k), subset, k * k, auto_clusters(subset),
            )
    return min(k, n_clips)  # fewer clips than clusters: every clip its own cluster at most


def _no_usable_columns(table: FeatureTable, config: SelectionConfig) -> ValueError:
    prefixes = (config.audio_prefix, config.visual_prefix)
    bare = [c for c in table.label_columns() if c.startswith(prefixes)]
    hint = (
        f"; integer columns {bare} look like cluster ids: name them {LABEL_PREFIX}<name> "
        f"(e.g. {LABEL_PREFIX}{bare[0]})" if bare else ""
    )
    return ValueError(
        f"no feature or label columns in {table.name}: expected {ACCEPTED_TABLES}; found {table.schema.names}{hint}"
    )


def cluster_labels(table: FeatureTable, config: SelectionConfig) -> ClusterLabels:
    """The label matrix for ``table``: read if it has cluster-id columns, else clustered from its features."""
    label_names = [c.removeprefix(LABEL_PREFIX) for c in table.label_columns() if c.startswith(LABEL_PREFIX)]
    names, modalities = split_modalities(label_names, config.audio_prefix, config.visual_prefix)
    if names:
        return read_labels(table, names, modalities)
    columns, modalities = split_modalities(table.feature_columns(), config.audio_prefix, config.visual_prefix)
    if not columns:
        raise _no_usable_columns(table, config)
    n = len(table)
    if n == 0:
        return ClusterLabels(table.clip_ids(), tuple(columns), tuple(modalities), np.empty((0, len(columns)), np.int16))
    k = cluster_count(config, n)
    kmeans = KMeansConfig(
        n_clusters=k,
        batch_size=max(config.kmeans_batch_size, k),
        epochs=config.kmeans_epochs or auto_epochs(n),
        learning_rate=config.kmeans_learning_rate,
        seed=config.seed,
        init=config.kmeans_init,
    )
    return cluster_features(table, columns, modalities, kmeans)


def describe(labels: ClusterLabels, config: SelectionConfig) -> dict:
    """What the selection used, for the console and run.json: clusterings per modality, k, pairs."""
    ks = sorted({int(k) for k in labels.labels.max(axis=0) + 1}) if len(labels.clip_ids) else []
    return {
        "clusterings": len(labels.names),
        "audio_clusterings": labels.modalities.count("audio"),
        "visual_clusterings": labels.modalities.count("visual"),
        "clusters": ks[0] if len(ks) == 1 else ks,  # ids in use, at most the k clustered with
        "clusters_rule": "precomputed" if labels.precomputed else "given" if config.n_clusters is not None
        else f"auto: about {CLIPS_PER_CELL} selected clips per contingency cell",
        "kmeans_epochs": None if labels.precomputed else config.kmeans_epochs or auto_epochs(len(labels.clip_ids)),
        "pairing": config.pairing,
        "pairs": len(clustering_pairs(labels.modalities, config.pairing)) if labels.names else 0,
    }


def run_selection(labels: ClusterLabels, config: SelectionConfig) -> SelectionResult:
    if config.target_size > len(labels.clip_ids):
        log.warning("asked to select %d clips from a table of %d: selecting all %d (ranked)",
                    config.target_size, len(labels.clip_ids), len(labels.clip_ids))
    return select(
        labels.labels,
        labels.clip_ids,
        target_size=min(config.target_size, len(labels.clip_ids)),
        pairing=config.pairing,
        batch_size=config.batch_size,
        selection_size=config.selection_size,
        seed=config.seed,
        modalities=labels.modalities,
    )


def select_features(table: FeatureTable, config: SelectionConfig) -> tuple[SelectionResult, dict]:
    """Cluster (or read labels), select; and what was used (``describe`` plus the diversity summary)."""
    labels = cluster_labels(table, config)
    result = run_selection(labels, config)
    diversity = diversity_table(labels, result.order, config.seed)
    return result, {**describe(labels, config), **diversity_summary(diversity),
                    "diversity_histograms": diversity_histograms(diversity)}


def select_records(records: pa.Table, config: SelectionConfig) -> tuple[pa.Table, dict]:
    """The selected rows of ``records`` in selection order, with their 0-based ``rank``; and what was used."""
    result, used = select_features(FeatureTable(records), config)
    return records.take(pa.array(result.order)).append_column(RANK, pa.array(np.arange(len(result.order)))), used


def write_selected(result: SelectionResult, path: str | Path) -> None:
    """``selected.parquet``: clip_id and rank (0 = taken first)."""
    table = pa.table({CLIP_ID: pa.array(result.clip_ids, type=pa.string()), RANK: np.arange(len(result.order))})
    write_parquet_atomic(path, table)


def diversity_path(out: str | Path) -> Path:
    """Where ``select_parquet`` puts the diversity check: ``selected.parquet`` -> ``selected.diversity.parquet``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.diversity.parquet")


RUN_TABLES = ("features.parquet", "embeddings.parquet")  # in a curation run folder, in order of preference


def resolve_input(source: str | Path) -> Path:
    """A curation run folder means its per-layer ``features.parquet`` (else its ``embeddings.parquet``: one
    layer per modality); any other path is a Parquet file or a folder of Parquet shards."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"no such file or folder: {source}")
    if source.is_dir():
        for name in RUN_TABLES:
            if (source / name).is_file():
                return source / name
    return source


def select_parquet(
    source: str | Path, out: str | Path, config: SelectionConfig, labels_out: str | Path | None = None
) -> tuple[SelectionResult, dict]:
    """Read records/features (a Parquet file or directory), select, write ``out``, its diversity check next
    to it (``diversity_path``) and the labels if asked. Returns the result and what was used (``describe``
    plus the mean histogram entropy of the selected and of a random subset)."""
    source = resolve_input(source)
    labels = cluster_labels(FeatureTable(source), config)
    if labels_out is not None:
        labels.write(labels_out)
    result = run_selection(labels, config)
    write_selected(result, out)
    diversity = diversity_table(labels, result.order, config.seed)
    write_parquet_atomic(diversity_path(out), diversity)
    return result, {"input": str(source), **describe(labels, config), **diversity_summary(diversity)}


def diversity_table(labels: ClusterLabels, order: np.ndarray, seed: int) -> pa.Table:
    """Per clustering, how many selected clips and how many of a random subset of the same size fall in
    each cluster (ACAV100M appendix A.1): a selection that collapsed onto a few clusters shows here."""
    rng = np.random.default_rng(seed)
    random_order = rng.choice(len(labels.clip_ids), size=len(order), replace=False)
    rows: dict[str, list] = {"clustering": [], "cluster": [], "selected": [], "random": []}
    for i, name in enumerate(labels.names):
        k = int(labels.labels[:, i].max()) + 1 if len(labels.clip_ids) else 0
        rows["clustering"] += [name] * k
        rows["cluster"] += list(range(k))
        rows["selected"] += np.bincount(labels.labels[order, i], minlength=k).tolist()
        rows["random"] += np.bincount(labels.labels[random_order, i], minlength=k).tolist()
    schema = pa.schema([("clustering", pa.string()), ("cluster", pa.int32()), ("selected", pa.int64()),
                        ("random", pa.int64())])
    return pa.Table.from_pydict(rows, schema=schema)


def histogram_entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of a histogram: log(k) when even, 0 when all in one cluster."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def diversity_histograms(table: pa.Table) -> dict[str, dict[str, list[int]]]:
    """The diversity table as clustering -> {"selected": counts, "random": counts} (for run.json and the card)."""
    out: dict[str, dict[str, list[int]]] = {}
    for row in table.to_pylist():
        entry = out.setdefault(row["clustering"], {"selected": [], "random": []})
        entry["selected"].append(row["selected"])
        entry["random"].append(row["random"])
    return out


def diversity_summary(table: pa.Table) -> dict[str, float]:
    """Mean over clusterings of the histogram entropy of the selected and of the random subset."""
    out: dict[str, list[float]] = {"selected": [], "random": []}
    names = table.column("clustering").to_numpy(zero_copy_only=False)
    for name in dict.fromkeys(names):
        rows = names == name
        for key in out:
            out[key].append(histogram_entropy(table.column(key).to_numpy()[rows]))
    return {f"{key}_entropy": float(np.mean(v)) if v else 0.0 for key, v in out.items()}

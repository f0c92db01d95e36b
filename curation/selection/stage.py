"""Selection as a pipeline step: records with feature (or cluster-id) columns in, the chosen subset out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.selection.clustering import LABEL_PREFIX, ClusterLabels, cluster_features, read_labels
from curation.selection.feature_table import CLIP_ID, FeatureTable, split_modalities
from curation.selection.greedy import SelectionResult, select
from curation.selection.kmeans import KMeansConfig

RANK = "rank"


@dataclass(frozen=True)
class SelectionConfig:
    """Defaults follow the paper's §4 protocol (b=100, s=25; combination pairing).

    Columns whose names start with ``audio_prefix`` / ``visual_prefix`` are used: list<float>
    columns are clustered (one k-means each); if the table has ``cluster_<audio_/visual_...>`` integer
    columns instead (a labels file), those are taken as precomputed cluster ids.
    """

    target_size: int
    n_clusters: int = 256
    batch_size: int = 100
    selection_size: int = 25
    pairing: str = "combination"
    seed: int = 0
    kmeans_epochs: int = 20
    kmeans_batch_size: int = 4096
    kmeans_learning_rate: float = 0.01
    audio_prefix: str = "audio_"
    visual_prefix: str = "visual_"


def cluster_labels(table: FeatureTable, config: SelectionConfig) -> ClusterLabels:
    """The label matrix for ``table``: read if it has cluster-id columns, else clustered from its features."""
    label_names = [c.removeprefix(LABEL_PREFIX) for c in table.label_columns() if c.startswith(LABEL_PREFIX)]
    names, modalities = split_modalities(label_names, config.audio_prefix, config.visual_prefix)
    if names:
        return read_labels(table, names, modalities)
    columns, modalities = split_modalities(table.feature_columns(), config.audio_prefix, config.visual_prefix)
    if not columns:
        raise ValueError(
            f"no feature or label columns starting with {config.audio_prefix!r} or {config.visual_prefix!r} "
            f"in {table.schema.names}"
        )
    n = len(table)
    if n == 0:
        return ClusterLabels(table.clip_ids(), tuple(columns), tuple(modalities), np.empty((0, len(columns)), np.int16))
    k = min(config.n_clusters, n)  # fewer clips than clusters: every clip its own cluster at most
    kmeans = KMeansConfig(
        n_clusters=k,
        batch_size=max(config.kmeans_batch_size, k),
        epochs=config.kmeans_epochs,
        learning_rate=config.kmeans_learning_rate,
        seed=config.seed,
    )
    return cluster_features(table, columns, modalities, kmeans)


def run_selection(labels: ClusterLabels, config: SelectionConfig) -> SelectionResult:
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


def select_records(records: pa.Table, config: SelectionConfig) -> pa.Table:
    """The selected rows of ``records`` in selection order, with their 0-based ``rank``."""
    result = run_selection(cluster_labels(FeatureTable(records), config), config)
    return records.take(pa.array(result.order)).append_column(RANK, pa.array(np.arange(len(result.order))))


def write_selected(result: SelectionResult, path: str | Path) -> None:
    """``selected.parquet``: clip_id and rank (0 = taken first)."""
    table = pa.table({CLIP_ID: pa.array(result.clip_ids, type=pa.string()), RANK: np.arange(len(result.order))})
    pq.write_table(table, path)


def select_parquet(
    source: str | Path, out: str | Path, config: SelectionConfig, labels_out: str | Path | None = None
) -> SelectionResult:
    """Read records/features (a Parquet file or directory), select, write ``out`` (and the labels if asked)."""
    labels = cluster_labels(FeatureTable(source), config)
    if labels_out is not None:
        labels.write(labels_out)
    result = run_selection(labels, config)
    write_selected(result, out)
    return result

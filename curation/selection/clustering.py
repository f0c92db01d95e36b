"""Per-layer clustering of a feature table into the (clips x clusterings) label matrix selection uses.

Labels are stored as Parquet: ``clip_id`` plus one int16/int32 column per clustering, named
``cluster_<feature column>``, so a labels file can be fed back to selection without re-clustering (the
prefix keeps ordinary integer record columns such as ``audio_sample_rate`` from passing for labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.atomic import write_parquet_atomic
from curation.selection.feature_table import CLIP_ID, FeatureTable
from curation.selection.kmeans import KMeansConfig, SGDKMeans

LABEL_PREFIX = "cluster_"


@dataclass(frozen=True)
class ClusterLabels:
    clip_ids: np.ndarray
    names: tuple[str, ...]
    modalities: tuple[str, ...]
    labels: np.ndarray  # (clips, clusterings)
    precomputed: bool = False  # read from cluster_* columns rather than clustered here

    def to_arrow(self) -> pa.Table:
        columns = {CLIP_ID: pa.array(self.clip_ids, type=pa.string())}
        for i, name in enumerate(self.names):
            columns[LABEL_PREFIX + name] = pa.array(self.labels[:, i])
        return pa.table(columns)

    def write(self, path: str | Path) -> None:
        write_parquet_atomic(path, self.to_arrow())


def cluster_features(
    table: FeatureTable, columns: Sequence[str], modalities: Sequence[str], config: KMeansConfig
) -> ClusterLabels:
    """One SGD k-means per feature column (seed + column index), each a fit pass then a labelling pass."""
    labels = []
    for i, name in enumerate(columns):
        source = table.column(name)
        kmeans = SGDKMeans(replace(config, seed=config.seed + i)).fit(source)
        labels.append(kmeans.assign(source))
    return ClusterLabels(
        clip_ids=table.clip_ids(), names=tuple(columns), modalities=tuple(modalities), labels=np.stack(labels, axis=1)
    )


def read_labels(table: FeatureTable, names: Sequence[str], modalities: Sequence[str]) -> ClusterLabels:
    """Precomputed cluster ids: the ``cluster_<name>`` integer columns of ``table``."""
    labels = np.stack([table.integer_column(LABEL_PREFIX + name) for name in names], axis=1)
    return ClusterLabels(table.clip_ids(), tuple(names), tuple(modalities), labels, precomputed=True)

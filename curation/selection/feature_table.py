"""Precomputed per-clip features in Parquet: ``clip_id`` plus one list<float> column per layer.

Column names carry the modality as a prefix (``audio_<extractor>_<layer>``, ``visual_<...>``) so a
table is self-describing. Columns are read one at a time in record batches, so clustering a layer
streams through the table without holding the other layers or all rows in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from curation.atomic import write_parquet_atomic

CLIP_ID = "clip_id"


def feature_column(modality: str, extractor: str, layer: str) -> str:
    return f"{modality}_{extractor}_{layer}"


def write_feature_table(path: str | Path, clip_ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
    """Write (N, D) arrays as fixed-length list columns; float16 stays float16 (halves the file)."""
    columns: dict[str, pa.Array] = {CLIP_ID: pa.array(list(clip_ids), type=pa.string())}
    for name, values in features.items():
        values = np.asarray(values)
        if values.ndim != 2 or len(values) != len(clip_ids):
            raise ValueError(f"feature {name!r} has shape {values.shape}, expected ({len(clip_ids)}, D)")
        if values.dtype != np.float16:
            values = values.astype(np.float32)
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        columns[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    write_parquet_atomic(path, pa.table(columns))


# The per-task form of the per-layer features (one row per clip, layers as parallel lists), which
# ``write_wide_layers`` turns into the feature table selection reads (one column per layer).
LAYERS_SCHEMA = pa.schema(
    [(CLIP_ID, pa.string()), ("layer_names", pa.list_(pa.string())), ("layer_values", pa.list_(pa.list_(pa.float16())))]
)


def layer_row(clip_id: str, layers: Mapping[str, np.ndarray] | None) -> dict:
    layers = layers or {}
    return {CLIP_ID: clip_id, "layer_names": list(layers),
            "layer_values": [np.asarray(v, np.float16).ravel().tolist() for v in layers.values()]}


def wide_layers(long: pa.Table) -> pa.Table | None:
    """clip_id + one float16 fixed-size-list column per layer, from ``LAYERS_SCHEMA`` rows that have layers
    (None when none has); every row must name the same layers."""
    rows = long.filter(pc.greater(pc.list_value_length(long.column("layer_names")), 0))
    if not rows.num_rows:
        return None
    names = rows.column("layer_names")[0].as_py()
    every = pc.list_flatten(rows.column("layer_names").combine_chunks()).to_pylist()
    if every != names * rows.num_rows:
        raise ValueError(f"clips carry different feature layers (expected {names} for every clip)")
    values = rows.column("layer_values").combine_chunks()
    columns: dict[str, pa.Array] = {CLIP_ID: rows.column(CLIP_ID).combine_chunks()}
    per_layer = pc.list_flatten(values)  # clip-major: clip 0's layers, clip 1's layers, ...
    for i, name in enumerate(names):
        layer = per_layer.take(pa.array(np.arange(i, len(per_layer), len(names))))
        widths = pc.list_value_length(layer).to_numpy()
        if (widths != widths[0]).any():
            raise ValueError(f"feature layer {name!r} has vectors of different lengths {sorted(set(widths))}")
        columns[name] = pa.FixedSizeListArray.from_arrays(pc.list_flatten(layer), int(widths[0]))
    return pa.table(columns)


def write_layer_table(path: str | Path, per_task: Iterable[pa.Table]) -> bool:
    """Stream ``LAYERS_SCHEMA`` tables (one per task) into one wide feature table at ``path`` (atomic).
    Returns False, writing nothing, when no clip has layers."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = None
    try:
        for long in per_task:
            wide = wide_layers(long)
            if wide is None:
                continue
            if writer is None:
                writer = pq.ParquetWriter(tmp, wide.schema, compression="zstd")
            writer.write_table(wide)  # a task with other layers fails here, naming the schema difference
        if writer is None:
            return False
        writer.close()
        writer = None
        os.replace(tmp, path)
        return True
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)


def list_to_numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A list / fixed-size-list column of equal-length float vectors as an (n, D) array."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise ValueError(f"{array.null_count} clips have no value for this feature")
    if len(array) == 0:
        return np.empty((0, 0), dtype=np.float32)
    lengths = pc.list_value_length(array).to_numpy()
    if (lengths != lengths[0]).any():
        raise ValueError("feature vectors have different lengths")
    return array.flatten().to_numpy(zero_copy_only=False).reshape(len(array), int(lengths[0]))


class ColumnSource:
    """A re-iterable stream of (n, D) blocks of one feature column, as k-means epochs need."""

    def __init__(self, dataset: ds.Dataset, column: str, batch_rows: int) -> None:
        self._dataset, self._column, self._batch_rows = dataset, column, batch_rows

    def __iter__(self) -> Iterator[np.ndarray]:
        for batch in self._dataset.to_batches(columns=[self._column], batch_size=self._batch_rows):
            if batch.num_rows:
                yield list_to_numpy(batch.column(0))


class FeatureTable:
    """A Parquet file, a directory of Parquet files, or an in-memory Arrow table of clip records."""

    def __init__(self, source: str | Path | pa.Table, batch_rows: int = 65536, clip_ids: Sequence[str] | None = None) -> None:
        """``clip_ids``: read only those clips (e.g. the ones that passed the filters), still streaming."""
        self.name = "the given table" if isinstance(source, pa.Table) else str(source)
        self.dataset = ds.dataset(source) if isinstance(source, pa.Table) else ds.dataset(str(source), format="parquet")
        if clip_ids is not None:
            self.dataset = self.dataset.filter(pc.field(CLIP_ID).isin(pa.array(list(clip_ids), pa.string())))
        self.batch_rows = batch_rows
        self.schema = self.dataset.schema
        if CLIP_ID not in self.schema.names:
            raise ValueError(f"no {CLIP_ID!r} column in {self.name} (columns: {self.schema.names})")

    def __len__(self) -> int:
        return self.dataset.count_rows()

    def feature_columns(self) -> list[str]:
        """Columns of float vectors (list, large list or fixed-size list of floats)."""
        lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
        return [
            f.name
            for f in self.schema
            if any(is_list(f.type) for is_list in lists) and pa.types.is_floating(f.type.value_type)
        ]

    def label_columns(self) -> list[str]:
        return [f.name for f in self.schema if pa.types.is_integer(f.type)]

    def clip_ids(self) -> np.ndarray:
        return self.dataset.to_table(columns=[CLIP_ID]).column(0).to_numpy()

    def column(self, name: str) -> ColumnSource:
        return ColumnSource(self.dataset, name, self.batch_rows)

    def integer_column(self, name: str) -> np.ndarray:
        return self.dataset.to_table(columns=[name]).column(0).to_numpy()


def split_modalities(columns: Sequence[str], audio_prefix: str, visual_prefix: str) -> tuple[list[str], list[str]]:
    """Keep the columns that name a modality by prefix: (audio columns then visual columns, their modalities)."""
    audio = [c for c in columns if c.startswith(audio_prefix)]
    visual = [c for c in columns if c.startswith(visual_prefix)]
    return audio + visual, ["audio"] * len(audio) + ["visual"] * len(visual)

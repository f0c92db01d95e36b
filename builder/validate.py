"""Turn incoming records into schema-exact Arrow batches, or fail naming the row and the field.

Checks are vectorised with pyarrow.compute so validation keeps up with the writer; only when a batch
fails conversion do we fall back to a row-by-row scan to say exactly where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pandas.util import hash_array

from builder.schema import CATEGORIES, ConfigSchema

YOUTUBE_ID_PATTERN = r"^[A-Za-z0-9_-]{11}$"
VIDEO_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class SchemaError(ValueError):
    """Input that does not fit the declared schema; the message names the row and the field."""

    def __init__(self, message: str, row: int | None = None, field: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.row = row
        self.field = field


def rows_to_batch(rows: list[Mapping[str, Any]], schema: ConfigSchema, first_row: int) -> pa.RecordBatch:
    """Convert dict records; missing or extra keys and values of the wrong type name their row."""
    expected = frozenset(schema.column_names)
    for offset, row in enumerate(rows):
        keys = row.keys()
        if keys != expected:
            missing, extra = sorted(expected - set(keys)), sorted(set(keys) - expected)
            detail = "; ".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))
            raise SchemaError(f"columns do not match config '{schema.name}': {detail}", row=first_row + offset)
    try:
        return pa.RecordBatch.from_pylist(rows, schema=schema.arrow_schema)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError, OverflowError):
        _raise_first_bad_value(rows, schema, first_row)
        raise


def _raise_first_bad_value(rows: list[Mapping[str, Any]], schema: ConfigSchema, first_row: int) -> None:
    for offset, row in enumerate(rows):
        for column in schema.columns:
            value = row[column.name]
            if isinstance(value, bytes) and pa.types.is_string(schema.arrow_schema.field(column.name).type):
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise SchemaError(f"not valid UTF-8 ({error})", first_row + offset, column.name) from None
            try:
                pa.array([value], type=schema.arrow_schema.field(column.name).type)
            except (pa.ArrowException, TypeError, ValueError, UnicodeError, OverflowError) as error:
                raise SchemaError(
                    f"cannot store {type(value).__name__} {value!r:.80} as {column.feature}: {error}",
                    first_row + offset,
                    column.name,
                ) from None


def table_to_batches(
    table: pa.Table, schema: ConfigSchema, batch_rows: int, first_row: int = 0
) -> Iterable[pa.RecordBatch]:
    """Select and cast an Arrow table's columns to the schema; missing, extra or uncastable columns fail."""
    names = set(table.column_names)
    missing = [name for name in schema.column_names if name not in names]
    extra = sorted(names - set(schema.column_names))
    if missing or extra:
        detail = "; ".join(filter(None, [missing and f"missing {missing}", extra and f"unexpected {extra}"]))
        raise SchemaError(f"columns do not match config '{schema.name}': {detail}")
    arrays = []
    for field in schema.arrow_schema:
        column = table.column(field.name)
        try:
            arrays.append(column.cast(field.type) if column.type != field.type else column)
        except (pa.ArrowException, UnicodeError) as error:
            row = first_row + _first_uncastable_row(column, field.type)
            raise SchemaError(f"cannot cast {column.type} to {field.type}: {error}", row, field.name) from None
    cast = pa.Table.from_arrays(arrays, schema=schema.arrow_schema)
    yield from cast.to_batches(max_chunksize=batch_rows)


def _first_uncastable_row(column: pa.ChunkedArray, target: pa.DataType) -> int:
    for row, value in enumerate(column.to_pylist()):
        try:
            pa.array([value], type=column.type).cast(target)
        except (pa.ArrowException, UnicodeError):
            return row
    return 0


class BatchChecker:
    """Row-level invariants over a stream of batches (also across batches: duplicate clip ids)."""

    def __init__(self, schema: ConfigSchema) -> None:
        self.schema = schema
        self._id_hashes: list[np.ndarray] = []
        self._rows_seen = 0

    def check(self, batch: pa.RecordBatch) -> None:
        first_row = self._rows_seen
        self._rows_seen += batch.num_rows
        self._check_required(batch, first_row)
        names = set(batch.schema.names)
        if {"start_time", "end_time"} <= names:
            self._check_times(batch, first_row)
        if "video_id" in names:
            self._check_ids(batch, first_row)
        for column in self.schema.columns:
            if column.is_score:
                self._check_score(batch, column.name, first_row)
        if "category" in names:
            category = batch.column("category")  # nullable: a clip may have no category
            _fail_where(
                pc.and_(pc.is_valid(category), pc.invert(pc.is_in(category, pa.array(CATEGORIES)))),
                batch, first_row, "category", f"must be one of {list(CATEGORIES)}",
            )
        self._id_hashes.append(_hash64(batch.column("clip_id")))

    def finish(self) -> None:
        """Fail on an empty input or on a clip id seen twice anywhere in the stream."""
        if self._rows_seen == 0:
            raise SchemaError(f"config '{self.schema.name}' received no records")
        hashes = np.concatenate(self._id_hashes)
        self._id_hashes = []
        order = np.argsort(hashes, kind="stable")
        self._sorted_ids = hashes[order]
        same = np.flatnonzero(self._sorted_ids[1:] == self._sorted_ids[:-1])
        if same.size:
            first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
            raise SchemaError(f"duplicate clip_id (also at row {first})", second, "clip_id")

    def missing(self, clip_ids: pa.Array) -> int | None:
        """Index of the first clip id not seen by this (finished) checker, or None when all were seen."""
        hashes = _hash64(clip_ids)
        positions = np.searchsorted(self._sorted_ids, hashes).clip(max=len(self._sorted_ids) - 1)
        absent = np.flatnonzero(self._sorted_ids[positions] != hashes)
        return int(absent[0]) if absent.size else None

    def _check_required(self, batch: pa.RecordBatch, first_row: int) -> None:
        for column in self.schema.columns:
            if not column.nullable:
                values = batch.column(column.name)
                _fail_where(values.is_null(), batch, first_row, column.name, "is null but required")

    def _check_times(self, batch: pa.RecordBatch, first_row: int) -> None:
        start, end = batch.column("start_time"), batch.column("end_time")
        for name, values in (("start_time", start), ("end_time", end)):
            _fail_where(pc.invert(pc.is_finite(values)), batch, first_row, name, "is NaN or infinite")
        _fail_where(pc.less(start, 0), batch, first_row, "start_time", "is negative")
        _fail_where(pc.less_equal(end, start), batch, first_row, "end_time", "is not after start_time")
        expected = pc.binary_join_element_wise(
            batch.column("video_id"),
            pc.utf8_lpad(pc.cast(pc.cast(pc.round(pc.multiply(start, 1000.0)), pa.int64()), pa.string()), 9, "0"),
            "_",
        )
        _fail_where(
            pc.not_equal(batch.column("clip_id"), expected), batch, first_row, "clip_id",
            "is not `<video_id>_<start_time in ms, 9 digits>`",
        )

    def _check_ids(self, batch: pa.RecordBatch, first_row: int) -> None:
        video_id = batch.column("video_id")
        bad = pc.invert(pc.match_substring_regex(video_id, VIDEO_ID_PATTERN))
        _fail_where(bad, batch, first_row, "video_id", "must be 1-64 characters of [A-Za-z0-9_-]")
        if "source" in batch.schema.names:
            youtube = pc.equal(batch.column("source"), "youtube")
            bad = pc.and_(youtube, pc.invert(pc.match_substring_regex(video_id, YOUTUBE_ID_PATTERN)))
            _fail_where(bad, batch, first_row, "video_id", "is not a YouTube id (11 characters of [A-Za-z0-9_-])")

    def _check_score(self, batch: pa.RecordBatch, name: str, first_row: int) -> None:
        values = batch.column(name)
        _fail_where(pc.invert(pc.is_finite(values)), batch, first_row, name, "is NaN or infinite")
        outside = pc.or_(pc.less(values, -1.0001), pc.greater(values, 1.0001))
        _fail_where(outside, batch, first_row, name, "is a cosine outside [-1, 1]")


def _fail_where(mask: pa.Array, batch: pa.RecordBatch, first_row: int, field: str, message: str) -> None:
    mask = pc.fill_null(mask, False)
    if pc.any(mask).as_py():
        index = pc.index(mask, True).as_py()
        value = batch.column(field)[index].as_py()
        clip_id = batch.column("clip_id")[index].as_py() if "clip_id" in batch.schema.names else None
        raise SchemaError(f"{message} (value {value!r:.80}, clip_id {clip_id!r})", first_row + index, field)


def _hash64(values: pa.Array) -> np.ndarray:
    """64-bit digests of the clip ids (vectorised SipHash): 8 bytes a row instead of a set of strings."""
    return hash_array(values.to_numpy(zero_copy_only=False).astype(object))

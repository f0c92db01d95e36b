"""Streaming, size-bounded Parquet shards written the way `datasets` writes them itself.

Memory holds at most one row group per open writer, whatever the number of rows. Shards are named
`{split}-{i:05d}-of-{n:05d}.parquet` only when the writer closes, since `n` is known only then.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_SHARD_BYTES = 500 * 2**20  # what `datasets` uses when it pushes to the Hub


@dataclass(frozen=True)
class ParquetOptions:
    """Writer options; content-defined chunking makes re-uploads of edited shards dedupe on the Hub."""

    compression: str = "zstd"
    use_content_defined_chunking: bool = True
    write_page_index: bool = True

    def writer(self, path: Path, schema: pa.Schema) -> pq.ParquetWriter:
        return pq.ParquetWriter(
            path,
            schema,
            compression=self.compression,
            use_content_defined_chunking=self.use_content_defined_chunking,
            write_page_index=self.write_page_index,
        )


class BackgroundIO:
    """One thread that encodes and compresses row groups in submission order (so output bytes do not change)
    while the caller reads and validates the next batch; at most `max_pending` row groups wait in memory."""

    def __init__(self, max_pending: int = 1) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="parquet-writer")
        self._pending: deque[Future] = deque()
        self.max_pending = max_pending

    def submit(self, fn: Callable, *args: object, **kwargs: object) -> None:
        self._pending.append(self._pool.submit(fn, *args, **kwargs))
        while len(self._pending) > self.max_pending:
            self._pending.popleft().result()  # re-raises a write error here, in the caller's thread

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)

    def close_quietly(self) -> None:
        """On an error path: finish or drop queued writes without masking the original exception."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)


@dataclass
class ShardInfo:
    path: Path
    num_rows: int
    num_bytes: int  # uncompressed Arrow bytes, as `datasets` reports `num_bytes`


class ShardedSplitWriter:
    """Writes one split of one config into numbered shards of about `shard_bytes` (uncompressed)."""

    def __init__(
        self,
        directory: Path,
        split: str,
        schema: pa.Schema,
        shard_bytes: int = DEFAULT_SHARD_BYTES,
        row_group_bytes: int = 100 * 2**20,
        options: ParquetOptions = ParquetOptions(),
        io: BackgroundIO | None = None,
    ) -> None:
        if row_group_bytes > shard_bytes:
            row_group_bytes = shard_bytes
        self.io = io
        self.directory, self.split, self.schema = directory, split, schema
        self.shard_bytes, self.row_group_bytes, self.options = shard_bytes, row_group_bytes, options
        self.shards: list[ShardInfo] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        row_bytes = max(1, batch.nbytes // batch.num_rows)
        rows_fitting = max(1, (self.row_group_bytes - self._pending_bytes) // row_bytes)
        head, tail = batch.slice(0, rows_fitting), batch.slice(rows_fitting)
        self._pending.append(head)
        self._pending_bytes += head.nbytes
        if self._pending_bytes >= self.row_group_bytes:
            self._flush_row_group()
        if tail.num_rows:
            self.write(tail)

    def _flush_row_group(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        self._pending, self._pending_bytes = [], 0
        if self._writer is None:
            path = self.directory / f".{self.split}-{len(self.shards):05d}.parquet.partial"
            self._writer = self.options.writer(path, self.schema)
            self.shards.append(ShardInfo(path, 0, 0))
        self._submit(self._writer.write_table, table, row_group_size=table.num_rows)
        shard = self.shards[-1]
        shard.num_rows += table.num_rows
        shard.num_bytes += table.nbytes
        if shard.num_bytes >= self.shard_bytes:
            self._close_shard()

    def _submit(self, fn: Callable, *args: object, **kwargs: object) -> None:
        if self.io is None:
            fn(*args, **kwargs)
        else:
            self.io.submit(fn, *args, **kwargs)

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._submit(self._writer.close)
            self._writer = None

    def close(self) -> list[ShardInfo]:
        """Flush, then rename shards to their final `-of-` names (all in the same directory)."""
        self._flush_row_group()
        self._close_shard()
        if self.io is not None:
            self.io.drain()
        total = len(self.shards)
        for index, shard in enumerate(self.shards):
            final = self.directory / f"{self.split}-{index:05d}-of-{total:05d}.parquet"
            os.replace(shard.path, final)
            shard.path = final
        return self.shards

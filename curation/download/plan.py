"""The run folder: the frozen selection, fixed-size shards, and which shards are finished.

The folder is claimed like every acav1m output (curation/output_dir.py: new, empty, or marked as ours).
``DIR/.acav1m-state/selection.parquet`` holds the selected rows as they were when the run started, so a rerun
plans the same shards even if the source has changed since; ``run.json`` (written last) says what was
asked. A shard is finished when its outcome part ``parts/<shard>.parquet`` exists: it is written after
the shard's media, so a shard killed half-way is simply done again, with the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.availability import AVAILABILITY_SCHEMA
from curation.atomic import write_text_atomic
from curation.download.select import Selection, selected_tables
from curation.output_dir import claim

STATE = ".acav1m-state"


@dataclass(frozen=True)
class Shard:
    split: str
    index: int
    rows: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return f"{self.split}-{self.index:05d}"

    @property
    def clip_ids(self) -> list[str]:
        return [row["clip_id"] for row in self.rows]


class RunFolder:
    """``out`` and its state folder; refuses folders it did not create, and runs started differently."""

    def __init__(self, out: str | os.PathLike[str], spec: dict[str, Any]) -> None:
        self.out = Path(out).resolve()
        self.state = self.out / STATE
        self.spec = spec

    @property
    def selection_path(self) -> Path:
        return self.state / "selection.parquet"

    def part_path(self, shard: Shard) -> Path:
        return self.state / "parts" / f"{shard.name}.parquet"

    def staging(self, shard: Shard) -> Path:
        return self.state / "partial" / shard.name

    def cache(self, shard: Shard) -> Path:
        return self.state / "cache" / shard.name

    def prepare(self, selection: Selection) -> int:
        """Freeze the selection on the first run; on a rerun check it is the same job. Returns the row count."""
        run_file = self.state / "run.json"
        if run_file.exists():
            before = json.loads(run_file.read_text(encoding="utf-8"))
            changed = sorted(k for k in set(before) | set(self.spec) if before.get(k) != self.spec.get(k))
            if changed:
                detail = "; ".join(f"{k}: was {before.get(k)!r}, now {self.spec.get(k)!r}" for k in changed)
                raise ValueError(f"{self.out} holds a run started with other options ({detail}); rerun it with "
                                 "the same options to resume, or choose another --out")
        else:
            claim(self.out, self.spec["mode"])
            created = not self.state.exists()
            self.state.mkdir(parents=True, exist_ok=True)
            try:
                _write_selection(selection, self.selection_path)
            except BaseException:
                if created:
                    shutil.rmtree(self.state, ignore_errors=True)
                raise
            write_text_atomic(run_file, json.dumps(self.spec, indent=1, sort_keys=True))
        shutil.rmtree(self.state / "partial", ignore_errors=True)  # a killed run's unfinished shards
        rows = pq.ParquetFile(self.selection_path).metadata.num_rows
        if rows == 0:
            raise ValueError(f"{selection.dataset}: no rows selected (check --config, --split, --filter, --limit)")
        return rows

    def shards(self, splits: tuple[str, ...], size: int) -> Iterator[Shard]:
        """Consecutive runs of ``size`` rows of each split, in selection order."""
        selected = pq.ParquetFile(self.selection_path)
        for split in splits:
            rows: list[dict[str, Any]] = []
            index = 0
            for batch in selected.iter_batches(batch_size=10_000):
                table = pa.Table.from_batches([batch])
                rows += table.filter(pc.equal(table.column("split"), split)).to_pylist()
                while len(rows) >= size:
                    yield Shard(split, index, rows[:size])
                    rows, index = rows[size:], index + 1
            if rows:
                yield Shard(split, index, rows)

    def finished(self, shard: Shard) -> pa.Table | None:
        """The shard's outcomes if it was finished; a part for other clips means the plan changed under us."""
        path = self.part_path(shard)
        if not path.exists():
            return None
        part = pq.read_table(path)
        if part.column("clip_id").to_pylist() != shard.clip_ids:
            raise ValueError(f"{path} lists other clips than shard {shard.name} of {self.selection_path}: "
                             "the run folder was changed by hand; use a new --out")
        return part

    def commit(self, shard: Shard, outcomes: pa.Table) -> None:
        """Mark the shard finished (after its media are in place) and drop its scratch files."""
        path = self.part_path(shard)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(outcomes.cast(AVAILABILITY_SCHEMA), tmp)
        os.replace(tmp, path)
        shutil.rmtree(self.staging(shard), ignore_errors=True)
        shutil.rmtree(self.cache(shard), ignore_errors=True)

    def write_availability(self, parts: list[Path]) -> Path:
        """``DIR/availability.parquet``: every selected row's outcome, in selection order, part by part."""
        path = self.out / "availability.parquet"
        tmp = path.with_name(path.name + ".tmp")
        with pq.ParquetWriter(tmp, AVAILABILITY_SCHEMA, compression="zstd") as writer:
            pending: list[pa.Table] = []
            for i, part in enumerate(parts):
                pending.append(pq.read_table(part).cast(AVAILABILITY_SCHEMA))
                if sum(t.num_rows for t in pending) >= 65_536 or i == len(parts) - 1:  # row groups of ~64k rows
                    writer.write_table(pa.concat_tables(pending))
                    pending = []
        os.replace(tmp, path)
        for scratch in ("cache", "partial"):
            shutil.rmtree(self.state / scratch, ignore_errors=True)
        return path


def _write_selection(selection: Selection, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for table in selected_tables(selection):
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"{selection.dataset}: no rows selected (check --config, --split, --filter, --limit)")
    os.replace(tmp, path)

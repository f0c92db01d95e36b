"""Bring an availability table (`acav1m availability` / `acav1m download`) into a build.

Rows whose media no one can fetch any more are flagged (``kept = false``, ``reject_reason`` gains
``unavailable``, so ``default`` leaves them out while ``candidates`` keeps them) or dropped from every
config; the card reports the available share of ``default`` and the check date either way. The records are
rewritten batch by batch into a scratch folder, so memory does not grow with the release.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.release import AvailabilityFigures

OK = "ok"
# No one can get the clip any more: flagged or dropped. Restricted, rate-limited or blocked clips are not.
UNAVAILABLE = frozenset({"unavailable", "private", "removed", "too_short"})
AVAILABILITY_SCHEMA = pa.schema([
    pa.field("clip_id", pa.string(), nullable=False),
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("detail", pa.string()),
    pa.field("checked_at", pa.timestamp("ms", tz="UTC"), nullable=False),  # Parquet has no seconds unit
])
MODES = ("flag", "drop")


def read_statuses(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, str]]:
    """clip_id -> latest status, and clip_id -> ISO date of that check."""
    table = pq.read_table(path)
    missing = {"clip_id", "status", "checked_at"} - set(table.schema.names)
    if missing:
        raise ValueError(f"{path}: not an availability table (missing {sorted(missing)})")
    table = table.sort_by("checked_at")
    statuses, dates = {}, {}
    for clip, status, checked in zip(table.column("clip_id").to_pylist(), table.column("status").to_pylist(),
                                     table.column("checked_at").to_pylist()):
        statuses[clip], dates[clip] = status, checked.date().isoformat()
    return statuses, dates


def apply_availability(
    table_path: str | os.PathLike[str], mode: str, records: str | os.PathLike[str], work: Path,
    keyed: dict[str, str | os.PathLike[str] | None],
) -> tuple[Path, dict[str, Path | None], AvailabilityFigures]:
    """Flag or drop unavailable rows of ``records`` (and, when dropping, of the keyed configs' files)."""
    if mode not in MODES:
        raise ValueError(f"--unavailable {mode!r}: choose one of {', '.join(MODES)}")
    statuses, dates = read_statuses(table_path)
    counts: Counter[str] = Counter()
    checked_on: set[str] = set()
    dropped: set[str] = set()
    affected = 0
    out = work / "records.parquet"
    writer: pq.ParquetWriter | None = None
    try:
        for batch in _batches(records):
            ids = batch.column("clip_id").to_pylist()
            row_status = [statuses.get(c) for c in ids]
            gone = pa.array([s in UNAVAILABLE for s in row_status])
            published = batch.column("kept").to_pylist() if "kept" in batch.schema.names else [True] * len(ids)
            for clip, status, kept in zip(ids, row_status, published):
                if kept:
                    counts[status or "not checked"] += 1
                    if status is not None:
                        checked_on.add(dates[clip])
            affected += pc.sum(gone).as_py() or 0
            if mode == "drop":
                dropped.update(c for c, g in zip(ids, gone.to_pylist()) if g)
                batch = batch.filter(pc.invert(gone))
            else:
                batch = _flag(batch, gone, records)
            if writer is None:
                writer = pq.ParquetWriter(out, batch.schema)
            writer.write_table(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"{records}: no records")
    keyed_out = {name: _without(path, dropped, work / f"{name}.parquet") if path and dropped else path
                 for name, path in keyed.items()}
    figures = AvailabilityFigures(
        checked_on=max(checked_on) if checked_on else "",
        clips=sum(counts.values()),
        checked=sum(n for s, n in counts.items() if s != "not checked"),
        available=counts[OK],
        unavailable=sum(counts[s] for s in UNAVAILABLE),
        by_status=dict(sorted(counts.items())),
        action=mode,
        affected=affected,
    )
    return out, {k: Path(v) if v else None for k, v in keyed_out.items()}, figures


def _flag(batch: pa.Table, gone: pa.Array, records: object) -> pa.Table:
    if "kept" not in batch.schema.names:
        raise ValueError(f"{records}: --unavailable flag needs candidates-shaped records (with `kept`); "
                         "use --unavailable drop for default-shaped records")
    kept = pc.and_(pc.fill_null(batch.column("kept"), False), pc.invert(gone))
    reason = batch.column("reject_reason")
    flagged = pc.if_else(pc.is_null(reason), "unavailable", pc.binary_join_element_wise(reason, "unavailable", ","))
    reason = pc.if_else(gone, flagged, reason)
    batch = batch.set_column(batch.schema.get_field_index("kept"), batch.schema.field("kept"), kept)
    return batch.set_column(batch.schema.get_field_index("reject_reason"), batch.schema.field("reject_reason"), reason)


def _batches(records: str | os.PathLike[str]):
    path = Path(records)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        for batch in pq.ParquetFile(file).iter_batches(batch_size=50_000):
            yield pa.Table.from_batches([batch])


def _without(path: str | os.PathLike[str], dropped: set[str], out: Path) -> Path:
    """A keyed config's file without the dropped clips (the build refuses ids that are not among the records)."""
    writer: pq.ParquetWriter | None = None
    drop = pa.array(sorted(dropped), pa.string())
    for batch in _batches(path):
        batch = batch.filter(pc.invert(pc.is_in(batch.column("clip_id"), drop)))
        writer = writer or pq.ParquetWriter(out, batch.schema)
        writer.write_table(batch)
    if writer is not None:
        writer.close()
    return out

"""Write one finished shard in the chosen format, atomically and with the same bytes on every run.

- ``webdataset``: ``DIR/<split>-<i>.tar`` with ``<clip_id>.flac``, ``.json`` (the row), ``.mp4`` per ok clip,
  written with the stdlib ``tarfile`` (fixed owner, mode and mtime: reruns give identical tars; the
  ``webdataset`` package's writer would stamp the current time and imports torch).
- ``parquet``: ``DIR/<split>-<i>.parquet`` in the ``media`` config's schema (datasets ``Audio`` and ``Video``
  columns), so ``load_dataset(DIR)`` decodes them.
- ``files``: ``DIR/<split>/<clip_id>.{flac,json,mp4}``.
Only clips with status ``ok`` are written; the others are rows of ``availability.parquet``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from builder.schema import CONFIGS
from curation.download.clip import ClipOutcome, MediaOptions
from curation.download.plan import Shard

FORMATS = ("webdataset", "parquet", "files")


def metadata_json(row: dict[str, Any]) -> bytes:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def write_shard(out: Path, shard: Shard, outcomes: list[ClipOutcome], fmt: str, options: MediaOptions) -> list[Path]:
    """Write the ok clips of ``shard`` (in row order); returns the paths written."""
    ok = [outcome for outcome in outcomes if outcome.files]
    if fmt == "webdataset":
        return [_write_tar(out / f"{shard.name}.tar", ok)]
    if fmt == "parquet":
        return [_write_parquet(out / f"{shard.name}.parquet", ok, options)]
    if fmt == "files":
        return _write_files(out / shard.split, ok)
    raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _write_tar(path: Path, outcomes: list[ClipOutcome]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for outcome in outcomes:
            members = {ext: file.read_bytes() for ext, file in outcome.files.items()}
            members["json"] = metadata_json(outcome.row)
            for ext in sorted(members):  # the order webdataset's own writer uses
                info = tarfile.TarInfo(f"{outcome.row['clip_id']}.{ext}")
                info.size, info.mtime, info.mode = len(members[ext]), 0, 0o644
                tar.addfile(info, io.BytesIO(members[ext]))
    os.replace(tmp, path)
    return path


def media_schema(options: MediaOptions) -> pa.Schema:
    media = CONFIGS["media"]
    if not options.audio_only:
        return media.arrow_schema
    return datasets.Features({c.name: c.feature for c in media.columns if c.name != "video"}).arrow_schema


def _write_parquet(path: Path, outcomes: list[ClipOutcome], options: MediaOptions) -> Path:
    schema = media_schema(options)
    tmp = path.with_name(f".{path.name}.tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        rows: list[dict[str, Any]] = []
        size = 0
        for outcome in outcomes:
            clip_id = outcome.row["clip_id"]
            row: dict[str, Any] = {"clip_id": clip_id}
            for ext, column in (("flac", "audio"), ("mp4", "video")):
                if column in schema.names:
                    row[column] = {"bytes": outcome.files[ext].read_bytes(), "path": f"{clip_id}.{ext}"}
                    size += len(row[column]["bytes"])
            rows.append(row)
            if size >= CONFIGS["media"].row_group_bytes:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows, size = [], 0
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    os.replace(tmp, path)
    return path


def _write_files(folder: Path, outcomes: list[ClipOutcome]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for outcome in outcomes:
        clip_id = outcome.row["clip_id"]
        staged_json = next(iter(outcome.files.values())).with_suffix(".json")
        staged_json.write_bytes(metadata_json(outcome.row))
        for ext, staged in sorted({**outcome.files, "json": staged_json}.items()):
            target = folder / f"{clip_id}.{ext}"
            os.replace(staged, target)
            written.append(target)
    return written

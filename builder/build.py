"""Build a dataset directory laid out exactly as the Hub repo, atomically and deterministically.

Layout: `data/<config>/{split}-{i:05d}-of-{n:05d}.parquet` for every config (default included), plus
`README.md` (card), `croissant.json`, `RELEASE_NOTES.md` and figures under `images/`. Everything is written
into a sibling temporary directory that replaces the target only when complete, so a failed build leaves
the previous release intact. A marker file says the folder is an acav1m build: a folder without it is
never replaced unless asked, since it may hold a user's files.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from builder.card import write_card
from builder.changes import NOTES_FILE, compare_releases, load_previous, render_notes
from builder.release import ReleaseInfo
from builder.result import BuildResult
from builder.schema import CONFIGS, SPLITS, ConfigSchema
from builder.stats import ConfigStats
from builder.takedown import Removals
from builder.validate import BatchChecker, SchemaError, rows_to_batch, table_to_batches
from builder.writer import DEFAULT_SHARD_BYTES, BackgroundIO, ParquetOptions, ShardedSplitWriter, ShardInfo
from croissant.metadata import write_croissant

Records = str | os.PathLike | pa.Table | Iterable[Mapping[str, Any]]
BATCH_ROWS = 50_000
MARKER = ".acav1m-build.json"  # written last into every build: what `build` may replace without --overwrite


def split_of(video_id: str, test_fraction: float) -> str:
    """Stable split by source video: every clip of a video lands in the same split, on every machine."""
    digest = int.from_bytes(hashlib.blake2b(video_id.encode(), digest_size=8).digest(), "little")
    return "test" if digest / 2**64 < test_fraction else "train"


def video_id_of(clip_id: str) -> str:
    """Clip ids are `<video_id>_<start ms>` (checked on build), so a keyed row knows its video."""
    return clip_id.rsplit("_", 1)[0]


def build_dataset(
    out_dir: str | os.PathLike,
    records: Records,
    *,
    embeddings: Records | None = None,
    media: Records | None = None,
    release: ReleaseInfo | None = None,
    removals: Removals | None = None,
    previous: str | None = None,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    options: ParquetOptions = ParquetOptions(),
    progress: bool = False,
    overwrite: bool = False,
) -> BuildResult:
    """Validate and publish records; `candidates`-shaped input also yields the filtered `default` config.

    `removals` drops listed clip or video ids from every config; `previous` (a built directory or repo id)
    is compared with this build in the release notes.
    """

    release = release or ReleaseInfo()
    release = replace(release, date_published=_iso_date(release.date_published))
    if shard_bytes <= 0:
        raise ValueError(f"shard size must be positive, got {shard_bytes} bytes")
    if not 0 <= release.test_fraction < 1:
        raise ValueError(f"test fraction must be in [0, 1), got {release.test_fraction}")
    out_dir = Path(out_dir).resolve()
    check_target(out_dir, overwrite)
    previous_clips = load_previous(previous) if previous else None
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    io = BackgroundIO()
    try:
        build = _Build(staging, release, removals or Removals(), shard_bytes, options, progress, io)
        build.add_records(records)
        build.add_keyed("embeddings", embeddings)
        build.add_keyed("media", media)
        io.close()
        result = build.result()
        if previous_clips is not None:
            result.changes = compare_releases(previous, previous_clips, staging, result.removals)
        kept = result.stats["default"].num_rows if "default" in result.stats else 0
        (staging / NOTES_FILE).write_text(render_notes(release, kept, result.removals, result.changes), encoding="utf-8")
        write_card(staging, result, release)
        write_croissant(staging, result, release)
        _write_marker(staging)
        _replace_dir(staging, out_dir)
    except BaseException:
        io.close_quietly()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.out_dir = out_dir
    for config_shards in result.shards.values():
        for shards in config_shards.values():
            for shard in shards:
                shard.path = out_dir / shard.path.relative_to(staging)
    return result


def check_target(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a folder that is not an earlier build: it may hold files acav1m did not write."""
    if not out_dir.exists() or overwrite:
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a directory; choose another output path")
    if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file() and not _legacy_build(out_dir):
        raise FileExistsError(
            f"{out_dir} is not empty and is not an acav1m build (no {MARKER}); building would delete its files: "
            "choose an empty or new folder, or pass --overwrite"
        )
    foreign = unlisted_files(out_dir)
    if foreign:
        raise FileExistsError(
            f"{out_dir} holds files the earlier build did not write ({', '.join(foreign[:5])}"
            f"{' ...' if len(foreign) > 5 else ''}); move them out, or pass --overwrite to delete them"
        )


def _legacy_build(directory: Path) -> bool:
    """A build from before the marker existed: card, Croissant and Parquet under data/, and nothing else."""
    files = [p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()]
    layout = all(f in ("README.md", "croissant.json") or (f.startswith("data/") and f.endswith(".parquet"))
                 for f in files)
    return layout and (directory / "README.md").is_file() and (directory / "croissant.json").is_file()


def unlisted_files(directory: Path) -> list[str]:
    """Files in a build folder that its marker does not list (a user's, or left by something else)."""
    marker = directory / MARKER
    if not marker.is_file():
        return []
    listed = set(json.loads(marker.read_text(encoding="utf-8"))["files"]) | {MARKER}
    present = (p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    return sorted(name for name in present if name not in listed)


def _iso_date(text: str) -> str:
    """The publication date: as given (checked), else the build date."""
    if not text:
        return datetime.date.today().isoformat()
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"date {text!r} is not a valid calendar date (YYYY-MM-DD)") from None


def _write_marker(staging: Path) -> None:
    """List what the build wrote, so `validate` can tell stale files and `build` its own earlier output."""
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    (staging / MARKER).write_text(json.dumps({"tool": "acav1m build", "files": files}, indent=1) + "\n")


class _Build:
    def __init__(
        self, staging: Path, release: ReleaseInfo, removals: Removals, shard_bytes: int, options: ParquetOptions,
        progress: bool, io: BackgroundIO,
    ) -> None:
        self.io = io
        self.removals = removals
        self.staging, self.release = staging, release
        self.shard_bytes, self.options, self.progress = shard_bytes, options, progress
        self.stats: dict[str, ConfigStats] = {}
        self.shards: dict[str, dict[str, list[ShardInfo]]] = {}
        self.record_ids: BatchChecker | None = None  # the records' clip ids, to check keyed configs against

    def add_records(self, records: Records) -> None:
        batches = _peek_batches(records)
        first = next(batches, None)
        if first is None:
            raise SchemaError("the input has no records")
        names = set(first.schema.names) if isinstance(first, (pa.RecordBatch, pa.Table)) else set(first[0])
        has_flags = "kept" in names
        main = CONFIGS["candidates" if has_flags else "default"]
        configs = [main, CONFIGS["default"]] if has_flags else [main]
        writers = {c.name: self._writers(c) for c in configs}
        checker = BatchChecker(main)
        with tqdm(desc=f"build {main.name}", unit="rows", disable=not self.progress) as bar:
            for batch in _validated(itertools.chain([first], batches), main):
                checker.check(batch)
                bar.update(batch.num_rows)
                batch, removed = self.removals.split(batch, batch.column("video_id"))
                if removed is not None:
                    self.removals.record(main.name, removed)
                    if has_flags:
                        self.removals.record("default", removed.filter(pc.fill_null(removed.column("kept"), False)))
                splits = self._splits(batch.column("video_id"))
                self._write(main, writers[main.name], batch, splits)
                if has_flags:
                    kept = pc.fill_null(batch.column("kept"), False)
                    default = batch.filter(kept).select(CONFIGS["default"].column_names)
                    kept_splits = [s for s, k in zip(splits, kept.to_pylist()) if k]
                    self._write(CONFIGS["default"], writers["default"], default, kept_splits)
        checker.finish()
        self.record_ids = checker
        if has_flags and self.stats["default"].num_rows == 0:
            raise SchemaError("no candidate has kept=True: the filtered `default` config would be empty")
        for config in configs:
            self._close(config, writers[config.name])

    def add_keyed(self, name: str, records: Records | None) -> None:
        """Configs keyed by clip_id (embeddings, media) follow the split of their clip."""
        if records is None:
            return
        schema = CONFIGS[name]
        writers = self._writers(schema)
        checker = BatchChecker(schema)
        first_row = 0
        for batch in _validated(_peek_batches(records), schema):
            checker.check(batch)
            clip_ids = batch.column("clip_id")
            unknown = self.record_ids.missing(clip_ids)
            if unknown is not None:
                raise SchemaError(f"{clip_ids[unknown]} is not among the records", first_row + unknown, "clip_id")
            first_row += batch.num_rows
            video_ids = pa.array([video_id_of(c) for c in clip_ids.to_pylist()], pa.string())
            batch, removed = self.removals.split(batch, video_ids)
            if removed is not None:
                self.removals.record(name, removed)
                video_ids = pa.array([video_id_of(c) for c in batch.column("clip_id").to_pylist()], pa.string())
            splits = self._splits(video_ids)
            self._write(schema, writers, batch, splits)
        checker.finish()
        self._close(schema, writers)

    def _splits(self, video_ids: pa.Array) -> list[str]:
        """Split per row, hashing each distinct video of the batch once."""
        encoded = video_ids.dictionary_encode()
        names = [split_of(v, self.release.test_fraction) for v in encoded.dictionary.to_pylist()]
        return [names[i] for i in encoded.indices.to_numpy()]

    def _writers(self, schema: ConfigSchema) -> dict[str, ShardedSplitWriter]:
        directory = self.staging / schema.data_dir
        directory.mkdir(parents=True, exist_ok=True)
        self.stats[schema.name] = ConfigStats(schema)
        return {
            split: ShardedSplitWriter(
                directory, split, schema.arrow_schema, self.shard_bytes, schema.row_group_bytes, self.options, self.io
            )
            for split in SPLITS
        }

    def _write(
        self, schema: ConfigSchema, writers: dict[str, ShardedSplitWriter], batch: pa.RecordBatch, splits: list[str]
    ) -> None:
        split_array = pa.array(splits, pa.string())
        for split, writer in writers.items():
            part = batch.filter(pc.equal(split_array, split))
            if part.num_rows:
                writer.write(part)
                self.stats[schema.name].update(split, part)

    def _close(self, schema: ConfigSchema, writers: dict[str, ShardedSplitWriter]) -> None:
        closed = {split: writer.close() for split, writer in writers.items()}
        self.shards[schema.name] = {split: shards for split, shards in closed.items() if shards}
        stats = self.stats[schema.name]
        stats.files_bytes = sum(s.path.stat().st_size for shards in self.shards[schema.name].values() for s in shards)

    def result(self) -> BuildResult:
        order = [name for name in CONFIGS if name in self.shards]  # `default` first, as the card lists it
        return BuildResult(
            self.staging, {n: self.stats[n] for n in order}, {n: self.shards[n] for n in order}, self.removals
        )


def _peek_batches(records: Records) -> Iterator[pa.RecordBatch | list[Mapping[str, Any]]]:
    """Yield input chunks: Arrow batches from tables or Parquet, lists of dicts from iterables."""
    if isinstance(records, pa.Table):
        yield from records.to_batches(max_chunksize=BATCH_ROWS)
    elif isinstance(records, (str, os.PathLike)):
        path = Path(records)
        if not path.exists():
            raise FileNotFoundError(f"records {path} do not exist")
        files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise SchemaError(f"no Parquet files under {path}")
        for file in files:
            try:
                # pre_buffer keeps every range it read cached for the file's lifetime: memory would grow with rows
                reader = pq.ParquetFile(file, pre_buffer=False)
            except (pa.ArrowInvalid, OSError) as error:
                raise ValueError(
                    f"{file} is not a Parquet file ({error}); build reads records.parquet written by `acav1m curate`"
                ) from None
            yield from reader.iter_batches(batch_size=BATCH_ROWS)
    else:
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, BATCH_ROWS)):
            yield chunk


def _validated(chunks: Iterable[Any], schema: ConfigSchema) -> Iterator[pa.RecordBatch]:
    first_row = 0
    for chunk in chunks:
        if isinstance(chunk, list):
            batches: Iterable[pa.RecordBatch] = [rows_to_batch(chunk, schema, first_row)]
        else:
            batches = table_to_batches(pa.Table.from_batches([chunk]), schema, BATCH_ROWS, first_row)
        for batch in batches:
            first_row += batch.num_rows
            yield batch


def _replace_dir(staging: Path, target: Path) -> None:
    """Swap the finished build in; the old release is removed only after the new one is in place."""
    if target.exists():
        retired = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired)
    else:
        os.replace(staging, target)

"""Run a download (or a metadata-only availability check) over the shards of a run folder.

Clips are processed on ``workers`` threads; each thread drives its own yt-dlp worker process through
fetch.py, and a shared pacer keeps request starts within ``requests_per_s`` across all of them. Two
shards are in flight at most: while the slowest clips of one finish, the next one's start. A shard's
media and then its outcome part are committed by the main thread, in shard order of completion.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from builder.availability import AVAILABILITY_SCHEMA, OK
from curation import progress as curation_progress
from curation.download.clip import ClipOutcome, MediaOptions, check_clip, download_clip
from curation.download.plan import RunFolder, Shard
from curation.download.select import Selection, path_of
from curation.download.status import summary_lines
from curation.download.writers import FORMATS, write_shard
from curation.fetch import FetchConfig, stop_workers


@dataclass(frozen=True)
class DownloadOptions:
    """How a run works; ``rate_limit`` (bytes/s) is shared by the workers, each getting an equal part."""

    format: str = "webdataset"
    media: MediaOptions = MediaOptions()
    shard_size: int = 100
    workers: int = 1
    requests_per_s: float = 1.0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"--format {self.format!r}: choose one of {', '.join(FORMATS)}")
        if self.shard_size < 1 or self.workers < 1 or self.requests_per_s <= 0:
            raise ValueError("--shard-size and --workers must be >= 1 and --requests-per-second > 0")


@dataclass
class RunStats:
    """What a run did; time sums are over clips (so they exceed wall time with several workers)."""

    rows: int = 0
    resumed: int = 0  # rows in shards finished by an earlier run
    statuses: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    fetch_s: float = 0.0
    cut_s: float = 0.0
    verify_s: float = 0.0
    wall_s: float = 0.0
    summary: list[str] = field(default_factory=list)

    def add(self, outcome: ClipOutcome) -> None:
        self.statuses[outcome.status] += 1
        self.bytes += outcome.bytes
        self.fetch_s += outcome.fetch_s
        self.cut_s += outcome.cut_s
        self.verify_s += outcome.verify_s


@dataclass
class RunResult:
    out: Path
    availability: Path
    stats: RunStats


def run_download(
    selection: Selection, out: str | Path, fetch_config: FetchConfig, options: DownloadOptions = DownloadOptions(),
    *, metadata_only: bool = False, progress: bool = False,
) -> RunResult:
    """Download every selected clip into ``out`` (or, ``metadata_only``, only check availability)."""
    spec = {"mode": "availability" if metadata_only else "download", "dataset": path_of(selection.dataset),
            "config": selection.config, "splits": list(selection.splits), "filters": list(selection.filters),
            "limit": selection.limit, "test_fraction": selection.test_fraction, "shard_size": options.shard_size}
    if not metadata_only:
        spec.update(format=options.format, audio_only=options.media.audio_only,
                    sample_rate=options.media.sample_rate, max_height=options.media.max_height)
    folder = RunFolder(out, spec)
    began = time.monotonic()
    stats = RunStats(rows=folder.prepare(selection))
    if fetch_config.rate_limit:
        fetch_config = replace(fetch_config, rate_limit=max(1, fetch_config.rate_limit // options.workers))
    display = _Progress(stats, progress)
    pacer = _Pacer(options.requests_per_s)

    def task(row: dict[str, Any], config: FetchConfig, staging: Path) -> ClipOutcome:
        pacer.wait()
        if metadata_only:
            return check_clip(row, config)
        return download_clip(row, config, options.media, staging)

    parts: list[Path] = []  # every shard's outcome file, in plan order (rows are not kept in memory)
    in_flight: deque[tuple[Shard, list[Future[ClipOutcome]]]] = deque()

    def finish(shard: Shard, futures: list[Future[ClipOutcome]]) -> None:
        outcomes = [future.result() for future in futures]
        if not metadata_only:
            write_shard(folder.out, shard, outcomes, options.format, options.media)
        table = pa.Table.from_pylist([o.availability_row() for o in outcomes], schema=AVAILABILITY_SCHEMA)
        folder.commit(shard, table)

    pool = ThreadPoolExecutor(options.workers, thread_name_prefix="download")
    curation_progress.set_sink(display.retry)  # fetch reports its retry waits here
    try:
        for shard in folder.shards(selection.splits, options.shard_size):
            parts.append(folder.part_path(shard))
            part = folder.finished(shard)
            if part is not None:
                display.resumed(part.column("status").to_pylist())
                continue
            staging = folder.staging(shard)
            staging.mkdir(parents=True, exist_ok=True)
            config = replace(fetch_config, cache_dir=folder.cache(shard))
            futures = [pool.submit(task, row, config, staging) for row in shard.rows]
            for future in futures:
                future.add_done_callback(display.done)
            in_flight.append((shard, futures))
            while len(in_flight) > 1:
                finish(*in_flight.popleft())
        while in_flight:
            finish(*in_flight.popleft())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_workers()  # in-flight clips fail now instead of running on to their deadline
        raise
    finally:
        curation_progress.set_sink(None)
        display.close()
    pool.shutdown()
    availability = folder.write_availability(parts)
    stats.wall_s = time.monotonic() - began
    table = pq.read_table(availability, columns=["split", "status"])
    stats.summary = summary_lines(zip(table.column("split").to_pylist(), table.column("status").to_pylist()))
    return RunResult(folder.out, availability, stats)


class _Pacer:
    """Request starts at least ``1 / rate`` seconds apart, across all threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class _Progress:
    """done / failed / remaining, and the retry wait in progress, on one tqdm line."""

    def __init__(self, stats: RunStats, enabled: bool) -> None:
        self.stats = stats
        self.lock = threading.Lock()
        self.bar = tqdm(total=stats.rows, unit="clip", disable=not enabled, dynamic_ncols=True)
        self.retry_message = ""

    def resumed(self, statuses: list[str]) -> None:
        with self.lock:
            self.stats.resumed += len(statuses)
            self.stats.statuses.update(statuses)
            self.bar.update(len(statuses))
            self._show()

    def done(self, future: Future[ClipOutcome]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        with self.lock:
            self.stats.add(future.result())
            self.bar.update(1)
            self._show()
            self.retry_message = ""

    def retry(self, message: str) -> None:
        """fetch's "retrying <clip> (n/max, reason, N s)": shown until a clip finishes after it."""
        with self.lock:
            self.retry_message = message
            self._show()

    def _show(self) -> None:
        ok = self.stats.statuses[OK]
        finished = sum(self.stats.statuses.values())
        text = f"ok {ok}, failed {finished - ok}, left {self.stats.rows - finished}"
        if self.retry_message:
            text += f"; {self.retry_message}"
        self.bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self.bar.close()


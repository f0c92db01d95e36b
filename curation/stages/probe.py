"""Probe: read every source video's metadata once, without media, and filter on it before anything is fetched.

ACAV100M (§3.1) judges its candidates by metadata before downloading them, which saves most of the download
and storage. This runs before the per-clip tasks, over all candidates at once, because the language rule
needs every candidate's language before it can decide; the tasks then fetch only the survivors.

* One yt-dlp metadata call per video id (``curation.fetch.fetch_info``: same worker processes, deadline,
  retries and back-off as downloads), however many clips of the video are listed; ``concurrency`` calls in
  flight. Successful probes are cached per id in the fetch cache, shared across tasks and runs.
* The run freezes what it probed in ``<output>/probes.parquet`` (one row per video: trimmed info dict, or
  the failure), so a resumed run decides on the same facts and hands the same survivors to its tasks.
  Delete that file to probe failed videos again.
* Local files have no platform metadata: they pass through, with empty ``source_*`` columns.

A clip whose video could not be probed is recorded with stage ``probe`` and the fetch reason (``http_404``,
``rate_limited``, ``timeout``...); one rejected by a filter with stage ``metadata`` and the filter's reason.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from builder.release import RetentionRow
from curation.errors import ClipError
from curation.executor import error_row
from curation.fetch import FetchConfig, fetch_info
from curation.metadata.filters import FILTER_STAGES, REASONS, MetadataConfig, MetadataScreen, screen_videos
from curation.metadata.info import VideoMetadata
from curation.sources import Candidate

PROBE_SCHEMA = pa.schema([("video_id", pa.string()), ("info", pa.string()), ("reason", pa.string()),
                          ("detail", pa.string())])
# The published per-clip columns this stage fills (declared in builder/schema.py, SOURCE_METADATA_COLUMNS).
METADATA_COLUMNS = ("source_duration_s", "source_category", "source_language", "source_language_confidence",
                    "source_license", "upload_date", "channel_id")


@dataclass(frozen=True)
class Probe:
    """What probing one video gave: its info dict, or the reason and detail it failed with."""

    info: dict[str, Any] | None
    reason: str = ""
    detail: str = ""


@dataclass
class Screening:
    """The candidates that go on to fetch, the clips that did not (error rows), retention rows and the report."""

    kept: list[Candidate]
    errors: list[dict[str, str | None]]  # rows of the errors table (executor.ERROR_SCHEMA)
    retention: list[RetentionRow]
    columns: dict[str, dict[str, Any]]  # video_id -> published metadata column values
    report: dict[str, Any]

    def attach(self, table: pa.Table) -> pa.Table:
        """Fill the metadata columns of per-clip rows from their source video (order preserved)."""
        video_ids = table.column("video_id").to_pylist()
        for name in METADATA_COLUMNS:
            index = table.schema.get_field_index(name)
            target = table.schema.field(name)
            values = pa.array([self.columns.get(v, {}).get(name) for v in video_ids], target.type)
            table = table.set_column(index, target, values)
        return table


def screen_candidates(
    candidates: list[Candidate], config: MetadataConfig, fetch: FetchConfig, output: Path, progress: bool = True
) -> Screening:
    """Probe each remote video once, judge it, and split the clips into survivors and error rows."""
    first: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.local_path is None:
            first.setdefault(candidate.video_id, candidate)
    probes, probe_stats = probe_videos(first, fetch, config.concurrency, output / "probes.parquet", progress)
    videos = {vid: VideoMetadata.from_info(vid, p.info, first[vid].source) for vid, p in sorted(probes.items())
              if p.info is not None}
    screen = screen_videos(videos.values(), config)
    kept: list[Candidate] = []
    errors: list[dict[str, str | None]] = []
    removed: Counter = Counter()
    for candidate in candidates:
        if candidate.local_path is None:
            probe = probes[candidate.video_id]
            verdict = screen.verdicts.get(candidate.video_id)
            if verdict is None:
                removed["probe"] += 1
                errors.append(error_row(candidate.clip_id, "probe", probe.reason, probe.detail, candidate))
                continue
            if verdict.filter is not None:
                removed[verdict.filter] += 1
                errors.append(error_row(candidate.clip_id, "metadata", REASONS[verdict.filter], verdict.detail,
                                        candidate))
                continue
        kept.append(candidate)
    report = {**screen.report, "probe": probe_stats}
    return Screening(kept, errors, _retention(len(candidates), removed, screen, config), _columns(videos, screen),
                     report)


def probe_videos(
    first: dict[str, Candidate], fetch: FetchConfig, concurrency: int, frozen: Path, progress: bool = True
) -> tuple[dict[str, Probe], dict[str, int]]:
    """Each video's probe: from this run's frozen file, else ``fetch_info`` (cache, else one yt-dlp call)."""
    probes = _read_frozen(frozen)
    todo = [first[vid] for vid in sorted(first) if vid not in probes]
    stats = {"videos": len(first), "frozen": len(first) - len(todo), "cached": 0, "requests": 0, "failed": 0}
    if todo:
        pool = ThreadPoolExecutor(max_workers=concurrency)
        try:
            with tqdm(total=len(todo), desc="probe", unit="video", disable=not progress) as bar:
                futures = {pool.submit(_probe_one, candidate, fetch): candidate.video_id for candidate in todo}
                for future in as_completed(futures):
                    probe, cached, attempts = future.result()
                    probes[futures[future]] = probe
                    stats["cached"] += cached
                    stats["requests"] += attempts
                    bar.update()
        finally:  # on Ctrl-C: drop the queued probes; successful ones are in the per-id cache for the rerun
            pool.shutdown(wait=True, cancel_futures=True)
        _write_frozen(frozen, probes)
    stats["failed"] = sum(probes[vid].info is None for vid in first)
    return {vid: probes[vid] for vid in first}, stats


def _probe_one(candidate: Candidate, fetch: FetchConfig) -> tuple[Probe, bool, int]:
    try:
        got = fetch_info(candidate, fetch)
    except ClipError as error:
        return Probe(None, error.reason, error.detail), False, 1
    return Probe(got.info), got.from_cache, got.attempts


def _read_frozen(path: Path) -> dict[str, Probe]:
    if not path.is_file():
        return {}
    rows = pq.read_table(path).to_pylist()
    return {r["video_id"]: Probe(json.loads(r["info"]) if r["info"] is not None else None, r["reason"] or "",
                                 r["detail"] or "") for r in rows}


def _write_frozen(path: Path, probes: dict[str, Probe]) -> None:
    rows = [{"video_id": vid, "info": None if p.info is None else json.dumps(p.info, sort_keys=True, ensure_ascii=False),
             "reason": p.reason or None, "detail": p.detail or None} for vid, p in sorted(probes.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=PROBE_SCHEMA), tmp, compression="zstd")
    os.replace(tmp, path)


def _retention(total: int, removed: Counter, screen: MetadataScreen, config: MetadataConfig) -> list[RetentionRow]:
    """One funnel row for the probe and one per active filter, in clips."""
    active = {
        "duration": config.min_duration_s is not None or config.max_duration_s is not None,
        "live": config.exclude_live,
        "category": bool(config.exclude_categories),
        "keyword": screen.report["settings"]["keywords"] > 0,
        "language": screen.kept_languages is not None,
    }
    rows = [RetentionRow("probe", total, total - removed["probe"], removed["probe"])]
    remaining = rows[0].outputs
    for name, stage in FILTER_STAGES:
        if active[name]:
            rows.append(RetentionRow(stage, remaining, remaining - removed[name], removed[name]))
            remaining -= removed[name]
    return rows


def _columns(videos: dict[str, VideoMetadata], screen: MetadataScreen) -> dict[str, dict[str, Any]]:
    out = {}
    for vid, video in videos.items():
        verdict = screen.verdicts[vid]
        out[vid] = {
            "source_duration_s": video.duration_s,
            "source_category": video.category,
            "source_language": verdict.language,
            "source_language_confidence": verdict.language_confidence,
            "source_license": video.license,
            "upload_date": video.upload_date,
            "channel_id": video.channel_id,
        }
    return out

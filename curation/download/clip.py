"""One row -> one outcome: fetch the span, cut it, decode what was written once, or say why not.

The cut is the curation code's own: ``decode_clip`` on the fetched file gives the span's 16 kHz mono audio
and refuses a file that does not cover it (``too_short``); ``clip_mp4_bytes`` re-encodes exactly the
frames shown in ``[start_time, end_time)``. The written mp4 is then decoded once more with ``decode_clip``
and the FLAC read back with soundfile, so a clip that is short or lacks a track is never written as ok.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import av
import soundfile as sf

from builder.availability import OK
from curation.download.select import as_candidate
from curation.download.status import status_of
from curation.errors import ClipError
from curation.fetch import FetchConfig, fetch, probe_remote
from curation.media.decode import DecodeConfig, decode_clip
from curation.media.export import clip_mp4_bytes, flac_bytes

COVER_TOLERANCE_S = DecodeConfig.tolerance  # how far media may fall short of the span, as in curation


@dataclass(frozen=True)
class MediaOptions:
    """What each clip becomes: mp4 (at most ``max_height`` px) + FLAC, or FLAC only."""

    audio_only: bool = False
    sample_rate: int = 16_000
    max_height: int = 360


@dataclass
class ClipOutcome:
    """A row's status, its staged media files when ok, and where its time went (seconds)."""

    row: dict[str, Any]
    status: str
    detail: str | None
    checked_at: datetime
    files: dict[str, Path] = field(default_factory=dict)
    fetch_s: float = 0.0
    cut_s: float = 0.0
    verify_s: float = 0.0
    bytes: int = 0  # media bytes written (the staged files move or vanish once the shard is committed)

    def availability_row(self) -> dict[str, Any]:
        row = self.row
        return {"clip_id": row["clip_id"], "video_id": row["video_id"], "split": row["split"],
                "status": self.status, "detail": self.detail, "checked_at": self.checked_at}


def download_clip(row: dict[str, Any], config: FetchConfig, options: MediaOptions, staging: Path) -> ClipOutcome:
    began = time.monotonic()
    try:
        media = fetch(as_candidate(row), config)
    except ClipError as error:
        return _failed(row, status_of(error), error.detail, fetch_s=time.monotonic() - began)
    fetched = time.monotonic()
    outcome = ClipOutcome(row, OK, None, _now(), fetch_s=fetched - began)
    start = float(row["start_time"]) - media.section_start
    seconds = float(row["end_time"]) - float(row["start_time"])
    decode = DecodeConfig(clip_seconds=seconds, sample_rate=options.sample_rate, size=32, motion=False)
    try:
        clip = decode_clip(media.path, start, start + seconds, decode)
        files = {"flac": staging / f"{row['clip_id']}.flac"}
        files["flac"].write_bytes(flac_bytes(clip.audio, options.sample_rate))
        if not options.audio_only:
            files["mp4"] = staging / f"{row['clip_id']}.mp4"
            files["mp4"].write_bytes(clip_mp4_bytes(media.path, start, start + seconds, clip.audio,
                                                    options.sample_rate, options.max_height))
    except ClipError as error:  # the detail names the cached file: keep only its name
        detail = error.detail.replace(str(media.path), media.path.name)
        return _failed(row, status_of(error), detail, fetch_s=outcome.fetch_s)
    except (ValueError, av.error.FFmpegError, OSError) as error:
        return _failed(row, "decode_failed", f"{type(error).__name__}: {error}", fetch_s=outcome.fetch_s)
    cut = time.monotonic()
    outcome.cut_s = cut - fetched
    problem = verify(files, seconds, decode)
    outcome.verify_s = time.monotonic() - cut
    if problem is not None:
        return _failed(row, "decode_failed", f"written clip: {problem}", fetch_s=outcome.fetch_s)
    outcome.files = files
    outcome.bytes = sum(path.stat().st_size for path in files.values())
    return outcome


def verify(files: dict[str, Path], seconds: float, decode: DecodeConfig) -> str | None:
    """None if the written clip covers the span with its tracks; else what is wrong."""
    info = sf.info(str(files["flac"]))
    expected = round(seconds * decode.sample_rate)
    if (info.samplerate, info.channels, info.frames) != (decode.sample_rate, 1, expected):
        return f"FLAC has {info.frames} samples at {info.samplerate} Hz x{info.channels}, expected {expected} mono"
    if "mp4" in files:
        try:
            decode_clip(files["mp4"], 0.0, seconds, decode)
        except ClipError as error:
            return str(error)
    return None


def check_clip(row: dict[str, Any], config: FetchConfig) -> ClipOutcome:
    """Availability without media: yt-dlp metadata only; a known duration must reach the clip's end."""
    began = time.monotonic()
    try:
        info = probe_remote(as_candidate(row), config)
    except ClipError as error:
        return _failed(row, status_of(error), error.detail, fetch_s=time.monotonic() - began)
    elapsed = time.monotonic() - began
    end = float(row["end_time"])
    if info.duration is not None and math.isfinite(info.duration) and info.duration < end - COVER_TOLERANCE_S:
        return _failed(row, "too_short", f"video is {info.duration:.2f} s long, clip ends at {end:.2f} s",
                       fetch_s=elapsed)
    return ClipOutcome(row, OK, None, _now(), fetch_s=elapsed)


def _failed(row: dict[str, Any], status: str, detail: str, fetch_s: float = 0.0) -> ClipOutcome:
    return ClipOutcome(row, status, detail or None, _now(), fetch_s=fetch_s)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)

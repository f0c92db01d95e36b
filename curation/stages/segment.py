"""Segment: cut whole videos (candidates without an end time) into clips; keep given timestamps.

Modes: ``shots`` (ACAV100M: up to ``max_clips`` non-redundant clips of ``clip_seconds``), ``fixed``
(evenly spread windows of ``clip_seconds``) and ``shots-variable`` (AVSET-10M / Panda-70M: every shot
is a clip of its own length, split when longer than ``max_seconds``, dropped when shorter than
``min_seconds``). A clip's published ``[start_time, end_time)`` is the span that is decoded and scored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from curation.errors import ClipError
from curation.media.decode import probe
from curation.media.segment import fixed_windows, scan_video, shot_aware_clips, shot_spans
from curation.record import ClipRecord
from curation.sources import clip_id
from curation.stage import PerClipStage, Resources

MODES = ("shots", "fixed", "shots-variable")


class SegmentStage(PerClipStage):
    name = "segment"
    resources = Resources(cpus=1.0)

    def __init__(self, mode: str = "shots", clip_seconds: float = 10.0, max_clips: int = 3, detector: str = "auto",
                 min_seconds: float = 2.0, max_seconds: float = 60.0):
        if mode not in MODES:
            raise ValueError(f"segment mode must be one of {MODES}, got {mode!r}")
        if not 0 < min_seconds <= clip_seconds <= max_seconds:
            raise ValueError(f"segment lengths need 0 < min_seconds ({min_seconds}) <= clip_seconds ({clip_seconds}) "
                             f"<= max_seconds ({max_seconds})")
        self.mode, self.clip_seconds, self.max_clips, self.detector = mode, clip_seconds, max_clips, detector
        self.min_seconds, self.max_seconds = min_seconds, max_seconds

    def spans(self, path: str) -> list[tuple[float, float]]:
        """Where to cut one whole video, in seconds from its start."""
        if self.mode == "shots-variable":
            return shot_spans(scan_video(path, self.detector), self.min_seconds, self.max_seconds)
        if self.mode == "shots":
            windows = shot_aware_clips(path, self.clip_seconds, self.max_clips, self.detector)
            return [(w.start, w.start + self.clip_seconds) for w in windows]
        duration = probe(path).duration
        if not math.isfinite(duration):
            raise ClipError("corrupt", f"{path}: the container does not state its duration")
        return fixed_windows(duration, self.clip_seconds, max_clips=self.max_clips)

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        if record.candidate.end_time is not None:
            yield record
            return
        spans = self.spans(record.media_path)
        if not spans:
            raise ClipError("no_clip", f"no shot of {self.min_seconds:g}-{self.max_seconds:g} s in {record.media_path}")
        for raw_start, raw_end in spans:
            start = round(raw_start, 3)  # millisecond timestamps; the length is kept exactly
            candidate = dataclasses.replace(record.candidate, clip_id=clip_id(record.candidate.video_id, start),
                                            start_time=start, end_time=round(start + raw_end - raw_start, 3))
            yield ClipRecord(candidate, media_path=record.media_path, media_offset=record.media_offset)

    def describe(self) -> dict[str, str]:
        if self.mode == "shots-variable":
            return {"segmentation": f"one clip per shot, {self.min_seconds:g}-{self.max_seconds:g} s "
                                    "(longer shots split evenly)"}
        how = f"shot-aware, up to {self.max_clips} non-redundant clips" if self.mode == "shots" else "fixed windows"
        return {"segmentation": f"{how} of {self.clip_seconds:g} s per video"}

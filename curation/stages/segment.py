"""Segment: cut whole videos (candidates without an end time) into 10 s clips; keep given timestamps."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from curation.errors import ClipError
from curation.media.decode import probe
from curation.media.segment import fixed_windows, shot_aware_clips
from curation.record import ClipRecord
from curation.sources import clip_id
from curation.stage import PerClipStage, Resources


class SegmentStage(PerClipStage):
    name = "segment"
    resources = Resources(cpus=1.0)

    def __init__(self, mode: str = "shots", clip_seconds: float = 10.0, max_clips: int = 3, detector: str = "auto"):
        if mode not in ("shots", "fixed"):
            raise ValueError(f"segment mode must be 'shots' or 'fixed', got {mode!r}")
        self.mode, self.clip_seconds, self.max_clips, self.detector = mode, clip_seconds, max_clips, detector

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        if record.candidate.end_time is not None:
            yield record
            return
        if self.mode == "shots":
            starts = [w.start for w in shot_aware_clips(
                record.media_path, self.clip_seconds, self.max_clips, self.detector)]
        else:
            duration = probe(record.media_path).duration
            if not math.isfinite(duration):
                raise ClipError("corrupt", f"{record.media_path}: the container does not state its duration")
            starts = [start for start, _ in fixed_windows(duration, self.clip_seconds, max_clips=self.max_clips)]
        for start in starts:
            start = round(start, 3)
            candidate = dataclasses.replace(
                record.candidate,
                clip_id=clip_id(record.candidate.video_id, start),
                start_time=start,
                end_time=round(start + self.clip_seconds, 3),
            )
            yield ClipRecord(candidate, media_path=record.media_path, media_offset=record.media_offset)

    def describe(self) -> dict[str, str]:
        how = f"shot-aware, up to {self.max_clips} non-redundant clips" if self.mode == "shots" else "fixed windows"
        return {"segmentation": f"{how} of {self.clip_seconds:g} s per video"}

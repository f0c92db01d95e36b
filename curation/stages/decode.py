"""Decode: a clip's exact span [start_time, end_time): 1 fps frames (224x224), 16 kHz mono audio, motion."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from curation.errors import ClipError
from curation.media.decode import DecodeConfig, decode_clip
from curation.record import ClipRecord, Failure
from curation.stage import Resources, Stage


class DecodeStage(Stage):
    """Decodes a batch on a few threads: PyAV releases the GIL while FFmpeg decodes."""

    name = "decode"
    resources = Resources(cpus=1.0, memory_gb=0.2)
    runtime_attributes = frozenset({"threads"})

    def __init__(self, config: DecodeConfig = DecodeConfig(), threads: int = 2) -> None:
        self.config, self.threads = config, threads

    def _decode(self, record: ClipRecord) -> ClipRecord | Failure:
        c = record.candidate
        start, end = c.start_time - record.media_offset, c.end_time - record.media_offset
        try:
            clip = decode_clip(record.media_path, start, end, self.config)
        except ClipError as error:
            return Failure(record.clip_id, self.name, error.reason, error.detail)
        except OSError as error:
            return Failure(record.clip_id, self.name, "unreadable", f"{record.media_path}: {error}")
        record.frames, record.audio, record.motion = clip.frames, clip.audio, clip.motion
        record.motion_fps = float(self.config.motion_fps)
        return record

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        if self.threads <= 1 or len(batch) <= 1:
            return [self._decode(record) for record in batch]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(self._decode, batch))

    def describe(self) -> dict[str, str]:
        c = self.config
        return {"decode": f"PyAV: the clip's own span, {c.fps} frame(s) per second at {c.size}x{c.size}, "
                          f"{c.sample_rate} Hz mono"}

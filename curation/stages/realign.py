"""Re-alignment (ACAV-1M Algorithm 1): a clip whose sound is shifted against its picture is re-cut.

When the model-free offset estimate is confident (confidence >= `min_confidence`) and the shift is
real but bounded (`min_shift_s` <= |offset| <= `max_shift_s`), the audio window moves by the offset
(audio late by d: take the audio of [start + d, end + d)); the frames stay. The new audio is embedded
and the clip scored again, so its scores, its remaining offset and the sync filter see the
re-aligned clip. `av_shift_s` records the applied shift (0 for clips left alone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from curation.embed import EmbedderConfig
from curation.embed.base import device_gpus
from curation.errors import ClipError
from curation.media.decode import DecodeConfig, decode_clip
from curation.record import ClipRecord
from curation.stage import PerClipStage, Resources
from curation.stages.embed import shared_embedder
from curation.stages.score import ScoreStage


class RealignStage(PerClipStage):
    name = "realign"

    def __init__(self, embedder: EmbedderConfig, min_confidence: float = 0.3, min_shift_s: float = 0.08,
                 max_shift_s: float = 1.0, window_s: float = 2.0, hop_s: float = 1.0) -> None:
        if not 0 <= min_shift_s <= max_shift_s:
            raise ValueError(f"realign shifts need 0 <= min ({min_shift_s}) <= max ({max_shift_s})")
        self.embedder_config, self.min_confidence = embedder, min_confidence
        self.min_shift_s, self.max_shift_s, self.window_s, self.hop_s = min_shift_s, max_shift_s, window_s, hop_s
        self.resources = Resources(cpus=1.0, gpus=device_gpus(embedder.device),
                                   model=f"{embedder.backend}-{embedder.variant}")
        self.scorer = ScoreStage(max_offset_s=max(1.0, max_shift_s))
        self.counts: Counter = Counter()
        self.embedder = None
        self.runtime_attributes = frozenset({"counts", "scorer", "embedder"})

    def setup(self) -> None:
        self.embedder = shared_embedder(self.embedder_config)

    def wants_shift(self, record: ClipRecord) -> float | None:
        """The shift to apply (seconds, rounded to ms), or None when the clip stays as it is."""
        offset, confidence = record.columns.get("av_offset_s"), record.columns.get("av_offset_confidence")
        if offset is None or confidence is None or confidence < self.min_confidence:
            return None
        return round(offset, 3) if self.min_shift_s <= abs(offset) <= self.max_shift_s else None

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        record.columns["av_shift_s"] = 0.0
        shift = self.wants_shift(record)
        if shift is not None:
            c = record.candidate
            start = c.start_time - record.media_offset + shift
            try:
                audio = decode_clip(record.media_path, start, start + c.end_time - c.start_time,
                                    DecodeConfig(motion=False)).audio
            except ClipError as error:  # the shifted window leaves the media: keep the clip as it was
                self.counts[f"not_realigned:{error.reason}"] += 1
                yield record
                return
            record.audio = audio
            record.embeddings.update(
                audio=self.embedder.embed_audio(audio[None])[0],
                audio_sec=self.embedder.embed_audio_per_second(audio[None], self.window_s, self.hop_s)[0])
            self.scorer.score(record)
            record.columns["av_shift_s"] = shift
            self.counts["realigned"] += 1
        yield record

    def stats(self) -> dict[str, int]:
        return dict(self.counts)

    def describe(self) -> dict[str, str]:
        return {"realign": f"audio window shifted by the model-free offset when confidence >= {self.min_confidence:g} "
                           f"and {self.min_shift_s:g} <= |offset| <= {self.max_shift_s:g} s; re-embedded, re-scored"}

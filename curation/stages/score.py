"""Score: the four ACAV-1M similarities as raw cosines, plus checks that similarity alone misses.

`sim_av_temporal` pairs the 2 s audio window centred on second t with frame t (1 s hop) and averages
over the clip; `temporal_contrast` compares those aligned pairs with time-shifted ones, and
`av_offset_s` estimates a shift from the signals themselves (no model), so dubbed or shifted audio shows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from curation.media.av_offset import estimate_av_offset, temporal_contrast
from curation.media.decode import DecodeConfig
from curation.record import ClipRecord
from curation.stage import PerClipStage, Resources


def clip_scores(embeddings: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Cosines of unit vectors; text scores are None when the clip has no caption."""
    audio, visual, text = embeddings["audio"], embeddings["visual"], embeddings.get("text")
    per_second = np.sum(embeddings["audio_sec"] * embeddings["visual_sec"], axis=1)
    return {
        "sim_text_audio": None if text is None else float(text @ audio),
        "sim_text_visual": None if text is None else float(text @ visual),
        "sim_av_instance": float(audio @ visual),
        "sim_av_temporal": float(per_second.mean()),
        "temporal_contrast": float(temporal_contrast(embeddings["audio_sec"], embeddings["visual_sec"])),
    }


class ScoreStage(PerClipStage):
    name = "score"
    resources = Resources(cpus=0.1)

    def __init__(self, max_offset_s: float = 1.0, sample_rate: int = DecodeConfig.sample_rate) -> None:
        self.max_offset_s, self.sample_rate = max_offset_s, sample_rate

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        self.score(record)
        yield record

    def score(self, record: ClipRecord) -> None:
        """Set the score columns from the record's embeddings, frames' motion and audio."""
        record.columns.update(clip_scores(record.embeddings))
        if record.motion is not None:
            offset = estimate_av_offset(record.motion, record.motion_fps, record.audio, self.sample_rate,
                                        self.max_offset_s)
            record.columns["av_offset_s"] = float(offset.offset_s)
            record.columns["av_offset_confidence"] = float(offset.confidence)

    def describe(self) -> dict[str, str]:
        return {"av_offset": "cross-correlation of visual change and audio onset envelopes (model-free)"}

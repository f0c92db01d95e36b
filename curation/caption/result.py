"""What captioning gives one clip: the three texts plus the provenance a dataset row must carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaptionResult:
    """One clip's captions; ``caption_models`` and ``caption_prompt_version`` say exactly what produced them."""

    clip_id: str
    visual_caption: str
    audio_caption: str
    caption: str
    caption_language: str
    caption_models: str
    caption_prompt_version: str


def models_string(video: str, audio: str, summary: str) -> str:
    """The ``caption_models`` provenance value, e.g. ``video=...;audio=...;summary=...``."""
    return f"video={video};audio={audio};summary={summary}"

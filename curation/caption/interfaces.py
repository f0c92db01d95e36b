"""The three roles of the paper's captioning step, as small interfaces so any backend can play any role.

Each call takes one batch of at most ``batch_size`` items and returns one entry per item, in order. A backend may
raise for the whole batch; the facade then retries item by item so one bad clip does not fail its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from curation.errors import ClipError


class VideoCaptioner(Protocol):
    """Describes what is seen in a clip (paper: VideoLLaVA)."""

    model_id: str
    batch_size: int

    def describe_videos(self, frames: Sequence[np.ndarray], prompt: str) -> Sequence[str | ClipError]:
        """``frames``: per clip uint8 RGB (T, H, W, 3)."""
        ...


class AudioCaptioner(Protocol):
    """Describes what is heard in a clip (paper: WavCaps)."""

    model_id: str
    batch_size: int

    def describe_audios(self, audios: Sequence[np.ndarray], prompt: str) -> Sequence[str | ClipError]:
        """``audios``: per clip float32 mono at 16 kHz."""
        ...


class Summarizer(Protocol):
    """Condenses the two descriptions into one caption (paper: GPT-4)."""

    model_id: str
    batch_size: int

    def summarize(self, prompts: Sequence[str]) -> Sequence[str | ClipError]:
        """``prompts``: the filled-in summarize prompt per clip."""
        ...

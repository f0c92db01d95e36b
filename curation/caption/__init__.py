"""Captioning stage (ACAV-1M §3.1, G.1): a video captioner and an audio captioner describe each clip, an LLM
condenses both into one neutral sentence (bias-mitigation prompt, H.8). Every caption carries its model ids and
prompt version.

Importing this package stays light (no torch/transformers); model backends load when a Captioner is built.
"""

from __future__ import annotations

from curation.caption.api_client import ApiConfigError, ChatCompletionsClient
from curation.caption.captioner import Captioner
from curation.caption.config import (
    DEFAULT_AUDIO_MODEL,
    DEFAULT_VIDEO_MODEL,
    ApiConfig,
    CaptionConfig,
    CheckpointNotFoundError,
    ModelSpec,
    Secret,
)
from curation.caption.interfaces import AudioCaptioner, Summarizer, VideoCaptioner
from curation.caption.result import CaptionResult

__all__ = [
    "DEFAULT_AUDIO_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "ApiConfig",
    "ApiConfigError",
    "AudioCaptioner",
    "CaptionConfig",
    "CaptionResult",
    "Captioner",
    "ChatCompletionsClient",
    "CheckpointNotFoundError",
    "ModelSpec",
    "Secret",
    "Summarizer",
    "VideoCaptioner",
]

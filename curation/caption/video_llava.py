"""Video descriptions with VideoLLaVA, the paper's video captioner, through transformers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from transformers import AutoTokenizer, VideoLlavaForConditionalGeneration, VideoLlavaImageProcessor

from curation.caption.config import ModelSpec
from curation.caption.generation import ensure_pad_token, generate_texts
from curation.caption.loading import LocalBackend, Runtime
from curation.errors import ClipError


def sample_frame_indices(num_available: int, num_frames: int) -> np.ndarray:
    """Evenly spread indices (VideoLLaVA was trained on 8 uniformly sampled frames)."""
    return np.linspace(0, num_available - 1, num_frames).round().astype(int)


class VideoLlavaCaptioner(LocalBackend):
    """``VideoLlavaForConditionalGeneration`` with the checkpoint's tokenizer and ``VideoLlavaImageProcessor``.

    The checkpoint's ``VideoLlavaVideoProcessor`` (and so ``VideoLlavaProcessor``) needs torchvision, which cannot
    live beside the CPU torch here. Frames therefore go through the image processor (same resize, centre crop and
    CLIP normalisation) and the ``<video>`` placeholder is expanded as the processor would: one token per patch plus
    the CLS token, per frame. The prompt uses VideoLLaVA's ``USER: <video>\\n... ASSISTANT:`` format.
    """

    default_max_new_tokens = 96

    def __init__(self, spec: ModelSpec, runtime: Runtime, *, num_frames: int = 8, **options: Any) -> None:
        """``options``: ``max_new_tokens``, ``batch_size`` and ``hf_cache_dir``, as for every ``LocalBackend``."""
        self._num_frames = num_frames
        super().__init__(spec, runtime, **options)

    def _load(self) -> None:
        self._tokenizer = self._from_checkpoint(AutoTokenizer.from_pretrained, padding_side="left")
        ensure_pad_token(self._tokenizer)
        self._image_processor = self._from_checkpoint(VideoLlavaImageProcessor.from_pretrained)
        self._model = self._load_model(VideoLlavaForConditionalGeneration)
        config = self._model.config
        self._video_token = self._tokenizer.convert_ids_to_tokens(config.video_token_index)
        self._patch_size = config.vision_config.patch_size

    def describe_videos(self, frames: Sequence[np.ndarray], prompt: str) -> Sequence[str | ClipError]:
        picked = [clip[sample_frame_indices(len(clip), self._num_frames)] for clip in frames]
        pixels = self._image_processor(
            images=[frame for clip in picked for frame in clip], return_tensors="pt", return_legacy_image_output=False
        )["pixel_values"]
        pixels = pixels.reshape(len(picked), self._num_frames, *pixels.shape[1:])
        height, width = pixels.shape[-2:]
        tokens_per_frame = (height // self._patch_size) * (width // self._patch_size) + 1
        placeholder = self._video_token * (tokens_per_frame * self._num_frames)
        text = f"USER: {placeholder}\n{prompt} ASSISTANT:"
        inputs = self._tokenizer([text] * len(picked), return_tensors="pt", padding=True)
        inputs["pixel_values_videos"] = pixels
        return generate_texts(self._model, self._tokenizer, inputs, self._runtime, self._max_new_tokens)

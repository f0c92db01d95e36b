"""Video descriptions with VideoLLaVA, the paper's video captioner, through transformers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from transformers import AutoTokenizer, VideoLlavaForConditionalGeneration, VideoLlavaImageProcessor

from curation.caption.config import ModelSpec
from curation.caption.generation import ensure_pad_token, generate_texts
from curation.caption.loading import Runtime, load_local, resolve_checkpoint
from curation.errors import ClipError


def sample_frame_indices(num_available: int, num_frames: int) -> np.ndarray:
    """Evenly spread indices (VideoLLaVA was trained on 8 uniformly sampled frames)."""
    return np.linspace(0, num_available - 1, num_frames).round().astype(int)


class VideoLlavaCaptioner:
    """``VideoLlavaForConditionalGeneration`` with the checkpoint's tokenizer and ``VideoLlavaImageProcessor``.

    The checkpoint's ``VideoLlavaVideoProcessor`` (and so ``VideoLlavaProcessor``) needs torchvision, which cannot
    live beside the CPU torch here. Frames therefore go through the image processor (same resize, centre crop and
    CLIP normalisation) and the ``<video>`` placeholder is expanded as the processor would: one token per patch plus
    the CLS token, per frame. The prompt uses VideoLLaVA's ``USER: <video>\\n... ASSISTANT:`` format.
    """

    def __init__(
        self,
        spec: ModelSpec,
        runtime: Runtime,
        *,
        num_frames: int = 8,
        max_new_tokens: int = 96,
        batch_size: int = 4,
        hf_cache_dir: str | None = None,
    ) -> None:
        path = resolve_checkpoint(spec, hf_cache_dir)
        self.model_id = spec.model_id
        self.batch_size = batch_size
        self._runtime = runtime
        self._num_frames = num_frames
        self._max_new_tokens = max_new_tokens
        self._tokenizer = load_local(AutoTokenizer.from_pretrained, path, spec.model_id, padding_side="left")
        ensure_pad_token(self._tokenizer)
        self._image_processor = load_local(VideoLlavaImageProcessor.from_pretrained, path, spec.model_id)
        self._model = (
            load_local(VideoLlavaForConditionalGeneration.from_pretrained, path, spec.model_id, dtype=runtime.dtype)
            .to(runtime.device)
            .eval()
        )
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

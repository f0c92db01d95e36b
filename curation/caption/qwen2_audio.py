"""Audio descriptions with Qwen2-Audio-Instruct, standing in for the paper's WavCaps captioner."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from transformers import Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

from curation.caption.generation import ensure_pad_token, generate_texts
from curation.caption.loading import LocalBackend
from curation.errors import ClipError

SAMPLE_RATE = 16_000


class Qwen2AudioCaptioner(LocalBackend):
    """``Qwen2AudioForConditionalGeneration`` with its processor (Whisper features + chat template).

    WavCaps (HTSAT + BART, Mei et al. 2024) has no transformers port: it ships only as research code and weights
    outside the Hub's transformers formats. Qwen2-Audio-7B-Instruct is a genuine transformers audio-to-text model
    that describes sound events, speech and music, so it plays the audio-captioner role; provenance records it.
    """

    default_max_new_tokens = 96

    def _load(self) -> None:
        self._processor = self._from_checkpoint(Qwen2AudioProcessor.from_pretrained)
        self._processor.tokenizer.padding_side = "left"
        ensure_pad_token(self._processor.tokenizer)
        self._model = self._load_model(Qwen2AudioForConditionalGeneration)

    def describe_audios(self, audios: Sequence[np.ndarray], prompt: str) -> Sequence[str | ClipError]:
        # the checkpoint's template emits the audio placeholder for items carrying an "audio_url" key
        audio_item = {"type": "audio", "audio_url": "clip"}
        conversation = [{"role": "user", "content": [audio_item, {"type": "text", "text": prompt}]}]
        text = self._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = self._processor(
            text=[text] * len(audios), audio=list(audios), sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True
        )
        return generate_texts(self._model, self._processor.tokenizer, inputs, self._runtime, self._max_new_tokens)

"""Summaries from a local instruction-tuned causal LM: the no-API alternative to the paper's GPT-4 step."""

from __future__ import annotations

from collections.abc import Sequence

from transformers import AutoModelForCausalLM, AutoTokenizer

from curation.caption.generation import ensure_pad_token, generate_texts
from curation.caption.loading import LocalBackend
from curation.errors import ClipError


class LocalLLMSummarizer(LocalBackend):
    """``AutoModelForCausalLM`` + the tokenizer's chat template (instruction-tuned checkpoints only)."""

    default_max_new_tokens = 60

    def _load(self) -> None:
        self._tokenizer = self._from_checkpoint(AutoTokenizer.from_pretrained, padding_side="left")
        if not self._tokenizer.chat_template:
            raise ValueError(
                f"checkpoint {self.model_id!r} at {self._path} has no chat template: use an instruct model"
            )
        ensure_pad_token(self._tokenizer)
        self._model = self._load_model(AutoModelForCausalLM)

    def summarize(self, prompts: Sequence[str]) -> Sequence[str | ClipError]:
        texts = [
            self._tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            for prompt in prompts
        ]
        inputs = self._tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return generate_texts(self._model, self._tokenizer, inputs, self._runtime, self._max_new_tokens)

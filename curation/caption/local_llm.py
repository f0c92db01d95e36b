"""Summaries from a local instruction-tuned causal LM: the no-API alternative to the paper's GPT-4 step."""

from __future__ import annotations

from collections.abc import Sequence

from transformers import AutoModelForCausalLM, AutoTokenizer

from curation.caption.config import ModelSpec
from curation.caption.generation import ensure_pad_token, generate_texts
from curation.caption.loading import Runtime, load_local, resolve_checkpoint
from curation.errors import ClipError


class LocalLLMSummarizer:
    """``AutoModelForCausalLM`` + the tokenizer's chat template (instruction-tuned checkpoints only)."""

    def __init__(
        self,
        spec: ModelSpec,
        runtime: Runtime,
        *,
        max_new_tokens: int = 60,
        batch_size: int = 4,
        hf_cache_dir: str | None = None,
    ) -> None:
        path = resolve_checkpoint(spec, hf_cache_dir)
        self.model_id = spec.model_id
        self.batch_size = batch_size
        self._runtime = runtime
        self._max_new_tokens = max_new_tokens
        self._tokenizer = load_local(AutoTokenizer.from_pretrained, path, spec.model_id, padding_side="left")
        if not self._tokenizer.chat_template:
            raise ValueError(f"checkpoint {spec.model_id!r} at {path} has no chat template: use an instruct model")
        ensure_pad_token(self._tokenizer)
        self._model = (
            load_local(AutoModelForCausalLM.from_pretrained, path, spec.model_id, dtype=runtime.dtype)
            .to(runtime.device)
            .eval()
        )

    def summarize(self, prompts: Sequence[str]) -> Sequence[str | ClipError]:
        texts = [
            self._tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            for prompt in prompts
        ]
        inputs = self._tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return generate_texts(self._model, self._tokenizer, inputs, self._runtime, self._max_new_tokens)

"""Greedy generation shared by the transformers backends: same decoding for every role, so captions are repeatable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from curation.caption.loading import Runtime


def ensure_pad_token(tokenizer: Any) -> None:
    """Batches need a pad token; Llama-style tokenizers often ship none, and EOS is the usual stand-in."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token


def to_runtime(inputs: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Move tensors to the device; floating inputs (pixels, mel features) take the model dtype."""
    moved = {}
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor):
            value = value.to(runtime.device, dtype=runtime.dtype if value.is_floating_point() else None)
        moved[name] = value
    return moved


def generate_texts(
    model: Any, tokenizer: Any, inputs: Mapping[str, Any], runtime: Runtime, max_new_tokens: int
) -> list[str]:
    """Decode only the new tokens of a left-padded batch."""
    batch = to_runtime(inputs, runtime)
    with torch.inference_mode():
        output = model.generate(
            **batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    new_tokens = output[:, batch["input_ids"].shape[1] :]
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

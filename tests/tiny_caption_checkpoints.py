"""Tiny randomly initialised checkpoints of the real model classes, saved like Hub checkpoints.

They generate nonsense, but they go through exactly the loading, preprocessing and generation code that a 7B
checkpoint does, so tests and benchmarks can check plumbing without weights from the network.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    VideoLlavaConfig,
    VideoLlavaForConditionalGeneration,
    VideoLlavaImageProcessor,
    WhisperFeatureExtractor,
)

from curation.caption.config import ModelSpec

TINY_VIDEO_ID = "acav1m-tiny/video-llava"
TINY_AUDIO_ID = "acav1m-tiny/qwen2-audio"
TINY_LM_ID = "acav1m-tiny/llama-lm"

_WORDS = (
    "a an the one two some this that and with while of in on at near under over from to into by through "
    "dog cat bird horse cow car truck train plane boat bike man woman child person people crowd band "
    "guitar piano drum violin music song voice speech engine wind rain water wave fire street road park "
    "room kitchen stage field forest beach city river sky snow "
    "plays sings talks speaks barks runs walks drives flies rides dances cooks laughs claps shouts rings "
    "red blue green small large loud quiet soft fast slow bright dark outdoor indoor "
    "describe video audio clip sound sounds seen heard sentence caption description write neutral factual "
    "user assistant system you are helpful visual few short setting main objects actions people events "
    "speech environment source sources only what do not who they"
).split()
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_BASE_SPECIALS = ["<unk>", "<pad>", "<s>", "</s>"]


def tiny_tokenizer(extra_specials: list[str], chat_template: str | None = None) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over a small English vocabulary, built with ``tokenizers``."""
    specials = _BASE_SPECIALS + extra_specials
    vocab = {token: index for index, token in enumerate(specials + list(dict.fromkeys(_WORDS)))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=extra_specials,
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def _no_special_output(tokenizer: PreTrainedTokenizerFast) -> GenerationConfig:
    """Greedy decoding that never emits special tokens, so nonsense captions are never empty."""
    return GenerationConfig(suppress_tokens=list(tokenizer.all_special_ids), eos_token_id=None, bos_token_id=None)


# the size of every tiny transformer stack (text decoders and the CLIP vision tower)
_TINY_STACK = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)


def _text_config(model_type: str, vocab_size: int) -> dict:
    return dict(
        model_type=model_type,
        **_TINY_STACK,
        num_key_value_heads=2,
        vocab_size=vocab_size,
        max_position_embeddings=1024,
    )


def save_tiny_video_llava(directory: Path) -> Path:
    """VideoLLaVA with a 2-layer CLIP tower on 32x32 crops (8x8 patches) and a 2-layer Llama."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(["<image>", "<video>"])
    config = VideoLlavaConfig(
        vision_config=dict(
            model_type="clip_vision_model", **_TINY_STACK, image_size=32, patch_size=8, projection_dim=32
        ),
        text_config=_text_config("llama", len(tokenizer)),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_seq_length=16,
        video_seq_length=8 * 17,
    )
    model = VideoLlavaForConditionalGeneration(config)
    model.generation_config = _no_special_output(tokenizer)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    VideoLlavaImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        directory
    )
    return Path(directory)


def save_tiny_qwen2_audio(directory: Path) -> Path:
    """Qwen2-Audio with 16 mel bins over 10 s windows, a 1-layer encoder and a 2-layer Qwen2."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(["<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"])
    features = WhisperFeatureExtractor(feature_size=16, sampling_rate=16_000, chunk_length=10)
    config = Qwen2AudioConfig(
        audio_config=dict(
            model_type="qwen2_audio_encoder",
            num_mel_bins=16,
            encoder_layers=1,
            encoder_attention_heads=2,
            encoder_ffn_dim=32,
            d_model=16,
            max_source_positions=500,
        ),
        text_config=_text_config("qwen2", len(tokenizer)),
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
    )
    model = Qwen2AudioForConditionalGeneration(config)
    model.generation_config = _no_special_output(tokenizer)
    model.save_pretrained(directory)
    Qwen2AudioProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(directory)
    return Path(directory)


def save_tiny_causal_lm(directory: Path) -> Path:
    """A 2-layer Llama causal LM whose tokenizer carries a ChatML chat template."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(["<|im_start|>", "<|im_end|>"], chat_template=_CHATML)
    model = LlamaForCausalLM(LlamaConfig(**_text_config("llama", len(tokenizer))))
    model.generation_config = _no_special_output(tokenizer)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


def save_tiny_checkpoints(directory: Path) -> dict[str, ModelSpec]:
    """All three tiny checkpoints under ``directory``, as specs keyed by role (video, audio, summary)."""
    directory = Path(directory)
    return {
        "video": ModelSpec(TINY_VIDEO_ID, str(save_tiny_video_llava(directory / "video-llava"))),
        "audio": ModelSpec(TINY_AUDIO_ID, str(save_tiny_qwen2_audio(directory / "qwen2-audio"))),
        "summary": ModelSpec(TINY_LM_ID, str(save_tiny_causal_lm(directory / "llama-lm"))),
    }

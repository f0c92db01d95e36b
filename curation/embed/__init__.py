"""Text, audio and frame embeddings for the alignment scores, behind one interface (:class:`Embedder`).

Stages call :func:`build_embedder` with an :class:`EmbedderConfig`; a new backend is one more entry in
:data:`BACKENDS`. Backends are imported lazily so that importing this package loads no model code.
"""

from __future__ import annotations

import importlib

from curation.embed.base import Embedder, EmbedderConfig

__all__ = ["BACKENDS", "Embedder", "EmbedderConfig", "build_embedder"]

# backend name -> "module:class"; every class takes (variant, checkpoint, *, device, batch_size, bf16, random_weights)
BACKENDS = {
    "imagebind": "curation.embed.imagebind:ImageBindEmbedder",
    "pe_audio_video": "curation.embed.pe_audio_video:PeAudioVideoEmbedder",
}


def build_embedder(config: EmbedderConfig) -> Embedder:
    """The configured backend, ready to embed (weights loaded, or random only when explicitly requested)."""
    if config.backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {config.backend!r}; known: {', '.join(map(repr, BACKENDS))}")
    module, name = BACKENDS[config.backend].split(":")
    backend = getattr(importlib.import_module(module), name)
    return backend(
        config.variant,
        config.checkpoint,
        device=config.device,
        batch_size=config.batch_size,
        bf16=config.bf16,
        random_weights=config.random_weights,
    )

"""Text, audio and frame embeddings for the alignment scores, behind one interface (:class:`Embedder`).

Stages call :func:`build_embedder` with an :class:`EmbedderConfig`; a new backend is one more branch here.
Backends are imported lazily so that importing this package loads no model code.
"""

from __future__ import annotations

from curation.embed.base import Embedder, EmbedderConfig

__all__ = ["Embedder", "EmbedderConfig", "build_embedder"]


def build_embedder(config: EmbedderConfig) -> Embedder:
    """The configured backend, ready to embed (weights loaded, or random only when explicitly requested)."""
    if config.backend == "imagebind":
        from curation.embed.imagebind import ImageBindEmbedder

        return ImageBindEmbedder(
            config.variant,
            config.checkpoint,
            device=config.device,
            batch_size=config.batch_size,
            bf16=config.bf16,
            random_weights=config.random_weights,
        )
    if config.backend == "pe_audio_video":
        from curation.embed.pe_audio_video import PeAudioVideoEmbedder

        return PeAudioVideoEmbedder(
            config.variant,
            config.checkpoint,
            device=config.device,
            batch_size=config.batch_size,
            bf16=config.bf16,
            random_weights=config.random_weights,
        )
    raise ValueError(f"unknown embedding backend {config.backend!r}; known: 'imagebind', 'pe_audio_video'")

"""Text, audio and frame embeddings for the alignment scores, behind one interface (:class:`Embedder`).

Stages call :func:`build_embedder` with an :class:`EmbedderConfig`; a new backend is one more entry in
:data:`BACKENDS`. Backends are imported lazily so that importing this package loads no model code.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from curation.embed.base import Embedder, EmbedderConfig

__all__ = ["BACKENDS", "Embedder", "EmbedderConfig", "build_embedder", "embedder_name", "weights_identity"]

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


def _weights_file(config: EmbedderConfig) -> Path | None:
    """The local weights a config resolves to (None: random weights or a Hub id resolved by the backend)."""
    if config.backend == "imagebind":
        from curation.embed.imagebind import weights_source

        return weights_source(config.variant, config.checkpoint, config.random_weights)
    return Path(config.checkpoint) if config.checkpoint else None


def weights_identity(config: EmbedderConfig) -> dict | str:
    """`random`, or the weights file's path, size and mtime (an edited or swapped file is other weights)."""
    if config.random_weights:
        return "random"
    path = _weights_file(config)
    if path is None:
        return "random" if config.backend == "imagebind" else f"hub:{config.variant}"
    if path.is_file():
        from curation.embed.weights import check_checkpoint

        check_checkpoint(path)
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def embedder_name(config: EmbedderConfig) -> str:
    """The provenance string for run.json and the card, from the configuration alone (no model is built).

    Names follow the backends' own `name` attribute (`imagebind_huge`, `pe_audio_video_<checkpoint>`).
    """
    weights = weights_identity(config)
    if config.backend == "imagebind":
        name = f"imagebind_{config.variant}"
    else:
        name = f"{config.backend}_{'tiny-random' if weights == 'random' else config.variant.rsplit('/', 1)[-1]}"
    if weights == "random":
        return f"{name} (random weights)"
    return f"{name} ({Path(weights['path']).name})" if isinstance(weights, dict) else name

"""Embed: audio (whole clip and per second), frames and caption into the joint space (ImageBind).

Clips of different lengths are embedded in separate model batches (one per length).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable

import numpy as np

from curation.embed import Embedder, EmbedderConfig, build_embedder, embedder_name
from curation.embed.base import device_gpus
from curation.record import ClipRecord, Failure, same_length_groups
from curation.stage import Resources, Stage


@functools.lru_cache(maxsize=2)
def shared_embedder(config: EmbedderConfig) -> Embedder:
    """One model per process, shared by every stage that embeds (embed, categorise)."""
    return build_embedder(config)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class EmbedStage(Stage):
    name = "embed"

    def __init__(self, config: EmbedderConfig, window_s: float = 2.0, hop_s: float = 1.0, layers: int = 0) -> None:
        """``layers`` > 0 also keeps that many trunk blocks per modality (ACAV100M selection features), hooked
        in the same forward passes that make the embeddings: no second decode, no second model run."""
        if layers and config.backend != "imagebind":
            raise ValueError(f"per-layer selection features need the imagebind embedder, not {config.backend!r}; "
                             "set selection.layers=0 to cluster the final embeddings only")
        self.config, self.window_s, self.hop_s, self.layers = config, window_s, hop_s, layers
        self.resources = Resources(cpus=1.0, gpus=device_gpus(config.device), memory_gb=6.0 if config.variant == "huge" else 0.5,
                                   model=f"{config.backend}-{config.variant}")
        self.embedder: Embedder | None = None
        self.runtime_attributes = frozenset({"embedder"})

    def setup(self) -> None:
        self.embedder = shared_embedder(self.config)

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        embedder = self.embedder
        for group in same_length_groups(batch):  # clips of one length stack into one model batch
            self.embed_media(embedder, group)
        captioned = [r for r in batch if r.columns.get("caption")]
        if captioned:
            for record, text in zip(captioned, embedder.embed_text([r.columns["caption"] for r in captioned])):
                record.embeddings["text"] = text
        return batch

    def embed_media(self, embedder: Embedder, group: list[ClipRecord]) -> None:
        """Audio (whole clip and per second) and frames of clips of equal length; T seconds = T frames.
        With ``layers``, the hooked trunk blocks of the same forward passes too."""
        n, steps = len(group), group[0].frames.shape[0]
        audio = np.stack([r.audio for r in group])
        with self._trunk_layers(embedder, "audio") as audio_layers:
            audio_clip = embedder.embed_audio(audio)
        audio_sec = embedder.embed_audio_per_second(audio, self.window_s, self.hop_s)
        with self._trunk_layers(embedder, "visual") as visual_layers:
            frames = embedder.embed_frames(np.concatenate([r.frames for r in group])).reshape(n, steps, -1)
        if audio_sec.shape[1] != steps:
            raise ValueError(f"{audio_sec.shape[1]} audio seconds but {steps} frames for clips of "
                             f"{len(group[0].audio)} samples: decode fps and per-second hop disagree")
        visual = unit(frames.mean(axis=1))
        for i, record in enumerate(group):
            record.embeddings = {"audio": audio_clip[i], "audio_sec": audio_sec[i], "visual": visual[i],
                                 "visual_sec": frames[i]}
        if self.layers:
            layers = {**audio_layers.per_clip(n), **visual_layers.per_clip(n)}
            for i, record in enumerate(group):
                record.embeddings["layers"] = {name: values[i] for name, values in layers.items()}

    def output_settings(self) -> dict:
        settings = super().output_settings()
        if not self.layers:
            settings.pop("layers", None)  # runs without selection features keep their task fingerprints
        return settings

    def _trunk_layers(self, embedder: Embedder, modality: str) -> contextlib.AbstractContextManager:
        if not self.layers:
            return contextlib.nullcontext()
        from curation.selection.imagebind_features import trunk_layers

        return trunk_layers(embedder.model, modality, self.layers)

    def describe(self) -> dict[str, str]:
        return {"embedder": embedder_name(self.config)}

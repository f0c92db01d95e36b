"""Embed: audio (whole clip and per second), frames and caption into the joint space (ImageBind).

Clips of different lengths are embedded in separate model batches (one per length).
"""

from __future__ import annotations

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

    def __init__(self, config: EmbedderConfig, window_s: float = 2.0, hop_s: float = 1.0) -> None:
        self.config, self.window_s, self.hop_s = config, window_s, hop_s
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
        """Audio (whole clip and per second) and frames of clips of equal length; T seconds = T frames."""
        n, steps = len(group), group[0].frames.shape[0]
        audio = np.stack([r.audio for r in group])
        audio_clip = embedder.embed_audio(audio)
        audio_sec = embedder.embed_audio_per_second(audio, self.window_s, self.hop_s)
        frames = embedder.embed_frames(np.concatenate([r.frames for r in group])).reshape(n, steps, -1)
        if audio_sec.shape[1] != steps:
            raise ValueError(f"{audio_sec.shape[1]} audio seconds but {steps} frames for clips of "
                             f"{len(group[0].audio)} samples: decode fps and per-second hop disagree")
        visual = unit(frames.mean(axis=1))
        for i, record in enumerate(group):
            record.embeddings = {"audio": audio_clip[i], "audio_sec": audio_sec[i], "visual": visual[i],
                                 "visual_sec": frames[i]}

    def describe(self) -> dict[str, str]:
        return {"embedder": embedder_name(self.config)}

"""Categorise: zero-shot assignment to the six ACAV-1M categories from audio and visual embeddings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from builder.schema import CATEGORIES
from curation.embed import EmbedderConfig
from curation.embed.base import device_gpus
from curation.record import ClipRecord
from curation.stage import PerClipStage, Resources
from curation.stages.embed import shared_embedder, unit

DEFAULT_PROMPTS: dict[str, tuple[str, ...]] = {
    "music": ("a person playing a musical instrument", "people singing", "a music performance"),
    "nature": ("birds singing in a forest", "water flowing in a river", "wind and rain outdoors"),
    "speech": ("a person talking", "people having a conversation", "someone giving a speech"),
    "vehicles": ("a car engine running", "a train passing by", "an airplane flying"),
    "sports": ("people playing a ball game", "a crowd cheering at a sports event", "a person exercising"),
    "others": ("machines working in a factory", "a busy city street", "household objects being used"),
}


class CategoriseStage(PerClipStage):
    """Softmax over category prototypes (mean of prompt embeddings) of the clip's audio + visual embedding."""

    name = "categorise"

    def __init__(self, embedder: EmbedderConfig, prompts: Mapping[str, Iterable[str]] = DEFAULT_PROMPTS,
                 temperature: float = 0.05) -> None:
        unknown = set(prompts) - set(CATEGORIES)
        if unknown or not prompts:
            raise ValueError(f"category prompts must be keyed by {CATEGORIES}, got unknown {sorted(unknown)}")
        self.embedder, self.temperature = embedder, temperature
        self.prompts = {name: tuple(texts) for name, texts in prompts.items()}
        self.resources = Resources(cpus=0.1, gpus=device_gpus(embedder.device), model=f"{embedder.backend}-{embedder.variant}")
        self.runtime_attributes = frozenset({"prototypes"})
        self.prototypes: np.ndarray | None = None

    def setup(self) -> None:
        embedder = shared_embedder(self.embedder)
        self.prototypes = np.stack([unit(embedder.embed_text(list(texts)).mean(axis=0)) for texts in self.prompts.values()])

    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        query = unit(record.embeddings["audio"] + record.embeddings["visual"])
        logits = self.prototypes @ query / self.temperature
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        record.columns["category"] = list(self.prompts)[best]
        record.columns["category_confidence"] = float(probs[best])
        yield record

    def describe(self) -> dict[str, str]:
        return {"categories": f"zero-shot over {len(self.prompts)} prompt sets, temperature {self.temperature}"}

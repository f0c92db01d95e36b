"""Null-calibrated thresholds for correspondence scores (AVSET-10M §3.1 stage 2, Fig. 1).

AVSET keeps a clip when its audio-visual cosine exceeds mu + 3 sigma of the cosines of deliberately
mismatched pairs. A threshold only means something for the encoder that produced the null, so it is
re-fitted here from the run's own embeddings: clip i's text/audio is scored against clip j's
audio/visual for j a seeded derangement of the clips (never i itself, never a clip cut from the same
video, which could genuinely match). The same null also yields a false-correspondence-rate estimate
for any kept set.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

SCORE_KINDS = ("text_audio", "text_visual", "av_instance", "av_temporal")

TemporalScore = Callable[[np.ndarray, np.ndarray], np.ndarray]


def mean_diagonal_cosine(audio_sec: np.ndarray, visual_sec: np.ndarray) -> np.ndarray:
    """Per-pair temporal score: mean over seconds t of cos(audio_t, visual_t); inputs (P, T, D) -> (P,).

    NaN rows pad clips shorter than T: a pair is averaged over the seconds both of its clips have.
    """
    cosines = np.einsum("ptd,ptd->pt", _unit(audio_sec), _unit(visual_sec))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is a missing score, skipped later
        return np.nanmean(cosines, axis=1)


@dataclass(frozen=True)
class EmbeddingCorpus:
    """Per-clip embeddings of one run; any of text/per-second arrays may be absent.

    ``video_ids`` (one per clip) keeps clips of the same source video out of the null. A row of NaN
    marks a missing embedding (e.g. a clip without caption): its scores are NaN and are skipped.
    """

    audio_emb: np.ndarray
    visual_emb: np.ndarray
    text_emb: np.ndarray | None = None
    audio_sec: np.ndarray | None = None
    visual_sec: np.ndarray | None = None
    video_ids: Sequence[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.audio_emb)
        for name in ("visual_emb", "text_emb", "audio_sec", "visual_sec", "video_ids"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} rows, audio_emb has {n}")

    def __len__(self) -> int:
        return len(self.audio_emb)

    def kinds(self) -> tuple[str, ...]:
        """Score kinds computable from the arrays present."""
        have_text = self.text_emb is not None
        have_sec = self.audio_sec is not None and self.visual_sec is not None
        available = {"text_audio": have_text, "text_visual": have_text, "av_instance": True, "av_temporal": have_sec}
        return tuple(kind for kind in SCORE_KINDS if available[kind])

    def pair_scores(
        self, kind: str, i: np.ndarray, j: np.ndarray, temporal_score: TemporalScore = mean_diagonal_cosine
    ) -> np.ndarray:
        """Score of clip i's first modality against clip j's second (i == j gives the clips' own scores)."""
        if kind not in self.kinds():
            raise ValueError(f"score kind {kind!r} not available from this corpus (have {self.kinds()})")
        if kind == "av_temporal":
            return temporal_score(self.audio_sec[i], self.visual_sec[j]).astype(np.float64)
        first, second = {
            "text_audio": (self.text_emb, self.audio_emb),
            "text_visual": (self.text_emb, self.visual_emb),
            "av_instance": (self.audio_emb, self.visual_emb),
        }[kind]
        return np.einsum("pd,pd->p", _unit(first[i]), _unit(second[j])).astype(np.float64)

    def own_scores(self, kind: str, temporal_score: TemporalScore = mean_diagonal_cosine) -> np.ndarray:
        """Each clip's score against itself: the candidate scores a threshold is applied to."""
        idx = np.arange(len(self))
        return self.pair_scores(kind, idx, idx, temporal_score)


@dataclass(frozen=True)
class CalibrationConfig:
    """``method="sigma"``: threshold = null mean + k * null std (AVSET uses k = 3).
    ``method="quantile"``: threshold = empirical ``quantile`` of the null scores (no normality assumption).
    """

    min_pairs: int = 10_000
    method: Literal["sigma", "quantile"] = "sigma"
    k: float = 3.0
    quantile: float = 0.999
    seed: int = 0


@dataclass(frozen=True)
class CalibratedThreshold:
    """One score kind's null fit. ``null_tail`` is the empirical P(null score >= threshold)."""

    kind: str
    null_mean: float
    null_std: float
    null_median: float
    null_tail: float
    n_pairs: int
    threshold: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CalibratedThresholds:
    """Thresholds for every score kind of a corpus, keyed by kind."""

    by_kind: dict[str, CalibratedThreshold] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> CalibratedThreshold:
        return self.by_kind[kind]

    def to_dict(self) -> dict[str, dict]:
        return {kind: t.to_dict() for kind, t in self.by_kind.items()}


@dataclass(frozen=True)
class FcrEstimate:
    """Estimated false-correspondence rate of the clips kept at a threshold (see ``estimate_fcr``)."""

    n_candidates: int
    n_kept: int
    pi0: float
    null_tail: float
    expected_false: float
    fcr: float

    def to_dict(self) -> dict:
        return asdict(self)


def null_pairs(
    n: int, *, min_pairs: int = 10_000, video_ids: Sequence[str] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of mismatched pairs: stacked derangements, at least ``min_pairs`` or all there are.

    One seeded shuffle ``order`` is paired with itself cyclically shifted by s (1 <= s < n): every shift is a
    derangement and distinct shifts never repeat an ordered pair, so small corpora use several shifts and
    exhaust all n(n-1) pairs at most. Pairs from the same video are then dropped.
    """
    if n < 2:
        raise ValueError("need at least 2 clips to build mismatched pairs")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    vids = None if video_ids is None else np.asarray(video_ids)
    chunks_i: list[np.ndarray] = []
    chunks_j: list[np.ndarray] = []
    total = 0
    for shift in rng.permutation(np.arange(1, n)):
        i, j = order, np.roll(order, -int(shift))
        if vids is not None:
            keep = vids[i] != vids[j]
            i, j = i[keep], j[keep]
        chunks_i.append(i)
        chunks_j.append(j)
        total += len(i)
        if total >= min_pairs:
            break
    if total == 0:
        raise ValueError("no mismatched pairs: every clip comes from the same video")
    return np.concatenate(chunks_i), np.concatenate(chunks_j)


def fit_threshold(
    kind: str, null_scores: np.ndarray, config: CalibrationConfig = CalibrationConfig()
) -> CalibratedThreshold:
    """Fit a threshold to one kind's null scores (non-finite scores are skipped)."""
    scores = np.asarray(null_scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    if len(scores) == 0:
        raise ValueError(f"no finite null scores for {kind!r}")
    mean = float(scores.mean())
    std = float(scores.std(ddof=1)) if len(scores) > 1 else 0.0
    if config.method == "sigma":
        threshold, method = mean + config.k * std, f"mean+{config.k:g}sigma"
    elif config.method == "quantile":
        threshold, method = float(np.quantile(scores, config.quantile)), f"quantile{config.quantile:g}"
    else:
        raise ValueError(f"unknown method {config.method!r}")
    # (count + 1) / (n + 1): never 0, so a small null cannot claim a zero false-correspondence rate.
    tail = (int(np.count_nonzero(scores >= threshold)) + 1) / (len(scores) + 1)
    return CalibratedThreshold(
        kind=kind,
        null_mean=mean,
        null_std=std,
        null_median=float(np.median(scores)),
        null_tail=tail,
        n_pairs=len(scores),
        threshold=float(threshold),
        method=method,
    )


def calibrate(
    corpus: EmbeddingCorpus,
    config: CalibrationConfig = CalibrationConfig(),
    *,
    kinds: Sequence[str] | None = None,
    temporal_score: TemporalScore = mean_diagonal_cosine,
) -> CalibratedThresholds:
    """Thresholds for each score kind from the corpus's own mismatched pairs.

    All kinds share one set of pairs so their nulls are comparable. ``temporal_score`` must be the
    function the pipeline uses for ``av_temporal`` (default: mean per-second diagonal cosine).
    """
    i, j = null_pairs(len(corpus), min_pairs=config.min_pairs, video_ids=corpus.video_ids, seed=config.seed)
    chosen = corpus.kinds() if kinds is None else tuple(kinds)
    return CalibratedThresholds(
        {kind: fit_threshold(kind, corpus.pair_scores(kind, i, j, temporal_score), config) for kind in chosen}
    )


def estimate_fcr(threshold: CalibratedThreshold, candidate_scores: np.ndarray) -> FcrEstimate:
    """False-correspondence rate of the candidates kept at ``threshold.threshold``.

    FCR ~= pi0 * n * P0(S >= t) / #kept, where P0 is the null survival (``null_tail``) and pi0 the fraction
    of candidates that are really mismatched. pi0 is estimated Storey-style at lambda = null median: true
    matches almost never score below the null median, so #(candidates below it) ~= pi0 * n / 2, hence
    pi0 ~= 2 * #(below) / n (clipped to [0, 1]). Matches that do score that low inflate pi0, so the
    estimate errs high (conservative). Valid for a set kept by this one score only; non-finite scores
    (missing embeddings) are not candidates.
    """
    scores = np.asarray(candidate_scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    n = len(scores)
    if n == 0:
        return FcrEstimate(0, 0, 0.0, threshold.null_tail, 0.0, 0.0)
    kept = int(np.count_nonzero(scores >= threshold.threshold))
    pi0 = min(1.0, 2.0 * float(np.mean(scores < threshold.null_median)))
    expected_false = pi0 * n * threshold.null_tail
    fcr = min(1.0, expected_false / kept) if kept else 0.0
    return FcrEstimate(n, kept, pi0, threshold.null_tail, expected_false, fcr)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, np.finfo(np.float64).tiny)


__all__ = [
    "SCORE_KINDS",
    "CalibratedThreshold",
    "CalibratedThresholds",
    "CalibrationConfig",
    "EmbeddingCorpus",
    "FcrEstimate",
    "calibrate",
    "estimate_fcr",
    "fit_threshold",
    "mean_diagonal_cosine",
    "null_pairs",
]

"""AVSET-style calibrated thresholds for the pipeline: fit on the run's own mismatched pairs.

Glue between the task outputs (float32 vectors) and `curation.avset.calibration`: thresholds come back
in the normalised unit the filters use, and the null statistics plus an estimated false-correspondence
rate per score go to the run summary and the card.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.avset.calibration import CalibrationConfig, EmbeddingCorpus, calibrate, estimate_fcr
from curation.filters import FilterConfig, normalise

# calibration kind -> (filter threshold key, score column)
KINDS = {
    "text_audio": ("sim_text_audio", "sim_text_audio"),
    "text_visual": ("sim_text_visual", "sim_text_visual"),
    "av_instance": ("instance", "sim_av_instance"),
    "av_temporal": ("temporal", "sim_av_temporal"),
}


def _matrix(column: pa.ChunkedArray) -> np.ndarray | None:
    """(N, k) float32 from a list column without Python objects; None if any clip lacks it (no caption)."""
    if column.null_count:
        return None
    flat = pc.list_flatten(column.combine_chunks()).to_numpy(zero_copy_only=False)
    return flat.astype(np.float32).reshape(len(column), -1)


def _seconds(column: pa.ChunkedArray, dim: int) -> np.ndarray:
    """(N, T_max, dim) per-second embeddings; clips shorter than T_max are padded with NaN rows, which the
    temporal null score skips (a mismatched pair is compared over the seconds both clips have)."""
    column = column.combine_chunks()
    steps = pc.list_value_length(column).to_numpy(zero_copy_only=False) // dim
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    out = np.full((len(column), int(steps.max(initial=0)), dim), np.nan, np.float32)
    rows = np.repeat(np.arange(len(column)), steps)
    out[rows, np.arange(len(flat)) - np.repeat(np.cumsum(steps) - steps, steps)] = flat
    return out


def corpus_from_vectors(vectors: pa.Table, video_ids: list[str]) -> EmbeddingCorpus:
    audio = _matrix(vectors.column("audio"))
    dim = audio.shape[1]
    return EmbeddingCorpus(
        audio_emb=audio,
        visual_emb=_matrix(vectors.column("visual")),
        text_emb=_matrix(vectors.column("text")),
        audio_sec=_seconds(vectors.column("audio_sec"), dim),
        visual_sec=_seconds(vectors.column("visual_sec"), dim),
        video_ids=video_ids,
    )


def calibrated_thresholds(
    vectors: pa.Table, sample_video_ids: list[str], scored: pa.Table, config: FilterConfig
) -> tuple[dict[str, float], dict]:
    """Normalised thresholds keyed for `apply_filters`, and a report (null fit + FCR over all candidates).

    `vectors` may be a sample of the run (a few hundred clips already give the 10k mismatched pairs).
    """
    corpus = corpus_from_vectors(vectors, sample_video_ids)
    fitted = calibrate(corpus, CalibrationConfig(min_pairs=config.calibration_pairs, k=config.calibration_k,
                                                 seed=config.seed), kinds=config.calibrates or None)
    thresholds, report = {}, {}
    for kind, fit in fitted.by_kind.items():
        key, column = KINDS[kind]
        thresholds[key] = float(normalise(fit.threshold))
        scores = scored.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        fcr = estimate_fcr(fit, scores[~np.isnan(scores)])
        report[column] = {**fit.to_dict(), "threshold_normalised": thresholds[key], "fcr": fcr.to_dict()}
    return thresholds, report

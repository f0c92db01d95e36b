"""AVSET-style calibrated thresholds for the pipeline: fit on the run's own mismatched pairs.

Glue between the task outputs (float32 vectors) and `curation.avset.calibration`: thresholds come back
in the normalised unit the filters use, and the null statistics plus an estimated false-correspondence
rate per score go to the run summary and the card.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.avset.calibration import CalibrationConfig, EmbeddingCorpus, calibrate, estimate_fcr
from curation.filters import FilterConfig, normalise

# calibration kind -> (filter threshold key, score column)
KINDS = {
    "text_audio": ("sim_text_audio", "sim_text_audio"),
    "text_visual": ("sim_text_visual", "sim_text_visual"),
    "av_instance": ("instance", "sim_av_instance"),
    "av_temporal": ("temporal", "sim_av_temporal"),
}


def _matrix(column: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray | None:
    values = column.to_pylist()
    if any(values[i] is None for i in rows):
        return None
    return np.asarray([values[i] for i in rows], dtype=np.float32)


def corpus_from_vectors(vectors: pa.Table, video_ids: list[str], max_clips: int, seed: int) -> EmbeddingCorpus:
    """A (sub)sample of clips is enough: a few hundred clips already give the 10k mismatched pairs."""
    n = vectors.num_rows
    rows = np.arange(n) if n <= max_clips else np.sort(np.random.default_rng(seed).choice(n, max_clips, replace=False))
    audio = _matrix(vectors.column("audio"), rows)
    dim = audio.shape[1]
    audio_sec = _matrix(vectors.column("audio_sec"), rows)
    visual_sec = _matrix(vectors.column("visual_sec"), rows)
    return EmbeddingCorpus(
        audio_emb=audio,
        visual_emb=_matrix(vectors.column("visual"), rows),
        text_emb=_matrix(vectors.column("text"), rows),
        audio_sec=None if audio_sec is None else audio_sec.reshape(len(rows), -1, dim),
        visual_sec=None if visual_sec is None else visual_sec.reshape(len(rows), -1, dim),
        video_ids=[video_ids[i] for i in rows],
    )


def calibrated_thresholds(vectors: pa.Table, scored: pa.Table, config: FilterConfig) -> tuple[dict[str, float], dict]:
    """Normalised thresholds keyed for `apply_filters`, and a report (null fit + FCR) for the card."""
    video_ids = scored.column("video_id").to_pylist()
    corpus = corpus_from_vectors(vectors, video_ids, config.calibration_clips, config.seed)
    fitted = calibrate(corpus, CalibrationConfig(min_pairs=config.calibration_pairs, k=config.calibration_k,
                                                 seed=config.seed))
    thresholds, report = {}, {}
    for kind, fit in fitted.by_kind.items():
        key, column = KINDS[kind]
        thresholds[key] = float(normalise(fit.threshold))
        scores = scored.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        fcr = estimate_fcr(fit, scores[~np.isnan(scores)])
        report[column] = {**fit.to_dict(), "threshold_normalised": thresholds[key], "fcr": fcr.to_dict()}
    return thresholds, report

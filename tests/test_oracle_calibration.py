"""Oracles for the calibration's edge cases: ties at a threshold, tiny nulls, every pair of a small corpus.

Expected values are worked out by hand or with numpy from the definitions in `curation/avset/calibration.py`'s
docstrings: tail = (#(null >= t) + 1) / (n + 1); FCR = min(1, pi0 * n * tail / #kept) with
pi0 = min(1, 2 * #(score < null median) / n); a null pair never pairs a clip with itself or with a clip of
its own video, and no ordered pair repeats.
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.avset.calibration import (
    CalibratedThreshold,
    CalibrationConfig,
    EmbeddingCorpus,
    calibrate,
    estimate_fcr,
    fit_threshold,
    null_pairs,
)


def test_tail_counts_null_scores_equal_to_the_threshold():
    scores = np.arange(11, dtype=np.float64)  # the 0.8 quantile of 0..10 is exactly 8.0
    fit = fit_threshold("av_instance", scores, CalibrationConfig(method="quantile", quantile=0.8))
    assert (fit.kind, fit.threshold, fit.n_pairs) == ("av_instance", 8.0, 11)
    assert fit.null_tail == (3 + 1) / (11 + 1)  # 8, 9 and 10 are >= 8
    assert fit.null_median == 5.0 and fit.null_mean == 5.0


def test_sigma_rule_on_one_and_two_null_scores():
    one = fit_threshold("x", np.array([0.3, np.nan]))  # NaN skipped: one score, no spread
    assert (one.null_std, one.threshold, one.null_tail, one.n_pairs) == (0.0, 0.3, 1.0, 1)
    two = fit_threshold("x", np.array([0.1, 0.3]), CalibrationConfig(k=2.0))
    sd = np.sqrt(((0.1 - 0.2) ** 2 + (0.3 - 0.2) ** 2) / (2 - 1))  # sample sd
    assert two.null_std == pytest.approx(sd, rel=1e-12)
    assert two.threshold == pytest.approx(0.2 + 2.0 * sd, rel=1e-12)
    with pytest.raises(ValueError, match="no finite null scores"):
        fit_threshold("x", np.array([np.nan, np.inf]))


def _threshold(threshold: float, median: float, tail: float) -> CalibratedThreshold:
    return CalibratedThreshold("av_instance", 0.0, 0.1, median, tail, 1000, threshold, "mean+3sigma")


def test_fcr_counts_ties_as_kept_and_scores_at_the_median_as_not_below():
    scores = np.array([0.1, 0.1, 0.0, 0.5, 0.5, 0.7, 0.3, 0.05, np.nan])
    fcr = estimate_fcr(_threshold(0.5, 0.1, 0.01), scores)
    n, kept, below = 8, 3, 2  # NaN is no candidate; 0.5, 0.5, 0.7 kept; 0.0 and 0.05 below the median 0.1
    pi0 = min(1.0, 2 * below / n)
    assert (fcr.n_candidates, fcr.n_kept, fcr.pi0, fcr.null_tail) == (n, kept, pi0, 0.01)
    assert fcr.expected_false == pytest.approx(pi0 * n * 0.01, rel=1e-12)
    assert fcr.fcr == pytest.approx(pi0 * n * 0.01 / kept, rel=1e-12)


def test_fcr_is_clipped_at_one_and_zero_when_nothing_is_kept():
    mostly_null = estimate_fcr(_threshold(0.5, 0.3, 0.4), np.array([0.0, 0.1, 0.2, 0.6]))
    assert mostly_null.pi0 == 1.0 and mostly_null.expected_false == pytest.approx(1.6) and mostly_null.fcr == 1.0
    none_kept = estimate_fcr(_threshold(0.9, 0.3, 0.4), np.array([0.0, 0.1, 0.2, 0.6]))
    assert (none_kept.n_kept, none_kept.fcr) == (0, 0.0)
    empty = estimate_fcr(_threshold(0.9, 0.3, 0.4), np.array([np.nan]))
    assert (empty.n_candidates, empty.null_tail, empty.fcr) == (0, 0.4, 0.0)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_a_small_corpus_yields_every_ordered_mismatched_pair_once(n):
    i, j = null_pairs(n, min_pairs=10**6)
    pairs = list(zip(i.tolist(), j.tolist()))
    assert sorted(pairs) == [(a, b) for a in range(n) for b in range(n) if a != b]
    with pytest.raises(ValueError, match="at least 2 clips"):
        null_pairs(1)


def _corpus(n: int = 40, seed: int = 0) -> EmbeddingCorpus:
    rng = np.random.default_rng(seed)
    return EmbeddingCorpus(
        audio_emb=rng.normal(size=(n, 8)), visual_emb=rng.normal(size=(n, 8)), text_emb=rng.normal(size=(n, 8)),
        audio_sec=rng.normal(size=(n, 5, 8)), visual_sec=rng.normal(size=(n, 5, 8)),
        video_ids=[f"v{k // 2}" for k in range(n)],
    )


def _cos(a, b):
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_calibration_honours_pairs_seed_kinds_and_the_temporal_score():
    corpus = _corpus()
    small = calibrate(corpus, CalibrationConfig(min_pairs=30))
    assert set(small.by_kind) == {"text_audio", "text_visual", "av_instance", "av_temporal"}
    assert all(t.kind == kind and 30 <= t.n_pairs < 30 + 40 for kind, t in small.by_kind.items())
    again = calibrate(corpus, CalibrationConfig(min_pairs=30))
    assert again.to_dict() == small.to_dict()  # seeded: the same corpus gives the same thresholds
    other_seed = calibrate(corpus, CalibrationConfig(min_pairs=30, seed=1))
    assert other_seed["av_instance"].threshold != small["av_instance"].threshold

    only = calibrate(corpus, CalibrationConfig(min_pairs=30), kinds=["av_instance"])
    assert list(only.by_kind) == ["av_instance"]

    def max_cosine(audio_sec, visual_sec):  # any per-pair temporal score the pipeline might use
        return _cos(audio_sec, visual_sec).max(axis=1)

    custom = calibrate(corpus, CalibrationConfig(min_pairs=30), kinds=["av_temporal"], temporal_score=max_cosine)
    i, j = null_pairs(40, min_pairs=30, video_ids=corpus.video_ids, seed=0)
    expected = _cos(corpus.audio_sec[i], corpus.visual_sec[j]).max(axis=1)
    assert custom["av_temporal"].null_mean == pytest.approx(expected.mean(), rel=1e-12)
    own = corpus.own_scores("av_temporal", max_cosine)
    np.testing.assert_allclose(own, _cos(corpus.audio_sec, corpus.visual_sec).max(axis=1), rtol=1e-12)


def test_corpus_kinds_need_both_per_second_arrays_and_matching_lengths():
    rng = np.random.default_rng(1)
    audio_only = EmbeddingCorpus(rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), audio_sec=rng.normal(size=(4, 2, 3)))
    assert audio_only.kinds() == ("av_instance",)
    with pytest.raises(ValueError, match="video_ids has 3 rows, audio_emb has 4"):
        EmbeddingCorpus(rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), video_ids=["a", "b", "c"])


def test_float32_scores_are_compared_and_summarised_in_float64():
    """Scores read from Parquet are float32: the threshold comparison and the null's moments use float64, so a
    float32 score just below a threshold is not lifted onto it by rounding the threshold to float32."""
    t = 0.100000001490117  # float32(t) == float32(0.1), whose float64 value 0.10000000149011612 is below t
    scores = np.array([0.1, 0.2, 0.05, -0.3], dtype=np.float32)
    fcr = estimate_fcr(_threshold(t, 0.0, 0.01), scores)
    assert fcr.n_kept == 1  # only 0.2: float32(0.1) < t in float64
    null = np.random.default_rng(2).normal(0.1, 0.05, 5000).astype(np.float32)
    fit = fit_threshold("av_instance", null)
    wide = null.astype(np.float64)
    assert fit.null_mean == pytest.approx(wide.mean(), rel=1e-15, abs=0)
    assert fit.null_std == pytest.approx(wide.std(ddof=1), rel=1e-13)

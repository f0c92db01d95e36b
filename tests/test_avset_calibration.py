"""Null-calibrated thresholds and the false-correspondence-rate estimate on synthetic embeddings.

The corpus plants a known 30 % of mismatched clips: matched clips share a latent vector between their
audio, visual and text embeddings (with per-clip noise, so match strength varies); mismatched clips
take their visual embedding from an unrelated latent, i.e. exactly the null distribution.
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.avset.calibration import (
    CalibrationConfig,
    EmbeddingCorpus,
    calibrate,
    estimate_fcr,
    fit_threshold,
    null_pairs,
)


def synthetic_corpus(n: int = 3000, dim: int = 32, mismatched: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    latent, unrelated = rng.standard_normal((2, n, dim))
    noise = rng.uniform(0.6, 1.6, (n, 1))
    wrong = rng.random(n) < mismatched
    audio = latent + noise * rng.standard_normal((n, dim))
    visual = np.where(wrong[:, None], unrelated, latent) + noise * rng.standard_normal((n, dim))
    text = latent + noise * rng.standard_normal((n, dim))
    per_second = latent[:, None, :] + rng.standard_normal((n, 10, dim))
    visual_sec = np.where(wrong[:, None, None], unrelated[:, None, :], latent[:, None, :]) + rng.standard_normal(
        (n, 10, dim)
    )
    corpus = EmbeddingCorpus(audio, visual, text, per_second, visual_sec, video_ids=[f"v{i // 3}" for i in range(n)])
    return corpus, wrong


def test_null_pairs_are_derangements_without_same_video_pairs():
    videos = [f"v{i // 2}" for i in range(20)]
    i, j = null_pairs(20, min_pairs=10_000, video_ids=videos, seed=3)
    assert len(i) == 20 * 19 - 20  # every ordered pair except self and same-video ones: all there are
    assert not np.any(i == j)
    assert not any(videos[a] == videos[b] for a, b in zip(i, j))
    assert len(set(zip(i.tolist(), j.tolist()))) == len(i)
    big_i, big_j = null_pairs(3000, min_pairs=10_000, seed=3)
    assert 10_000 <= len(big_i) < 13_000 and not np.any(big_i == big_j)
    again = null_pairs(3000, min_pairs=10_000, seed=3)
    np.testing.assert_array_equal(big_j, again[1])
    with pytest.raises(ValueError):
        null_pairs(4, video_ids=["same"] * 4)


def test_temporal_null_pairs_audio_seconds_of_i_with_visual_seconds_of_j():
    corpus, _ = synthetic_corpus(n=50)
    i, j = np.array([0, 1, 2]), np.array([5, 7, 9])
    scores = corpus.pair_scores("av_temporal", i, j)
    a = corpus.audio_sec[i] / np.linalg.norm(corpus.audio_sec[i], axis=-1, keepdims=True)
    v = corpus.visual_sec[j] / np.linalg.norm(corpus.visual_sec[j], axis=-1, keepdims=True)
    np.testing.assert_allclose(scores, (a * v).sum(-1).mean(-1))


def test_calibrates_every_score_kind_with_sigma_rule():
    corpus, _ = synthetic_corpus()
    thresholds = calibrate(corpus)
    assert set(thresholds.by_kind) == {"text_audio", "text_visual", "av_instance", "av_temporal"}
    for kind, t in thresholds.by_kind.items():
        assert t.n_pairs >= 10_000 and t.method == "mean+3sigma"
        assert abs(t.null_mean) < 0.02, kind  # unrelated unit vectors: cosines centred on 0
        assert t.threshold == pytest.approx(t.null_mean + 3 * t.null_std)
    assert set(thresholds.to_dict()["av_instance"]) >= {"null_mean", "null_std", "n_pairs", "threshold", "method"}


def test_missing_captions_are_skipped():
    corpus, _ = synthetic_corpus(n=400)
    text = corpus.text_emb.copy()
    text[::4] = np.nan  # a quarter of the clips have no caption
    partial = EmbeddingCorpus(corpus.audio_emb, corpus.visual_emb, text, video_ids=corpus.video_ids)
    thresholds = calibrate(partial, CalibrationConfig(min_pairs=4000))
    assert thresholds["text_audio"].n_pairs < thresholds["av_instance"].n_pairs
    assert np.isfinite(thresholds["text_audio"].threshold)
    estimate = estimate_fcr(thresholds["text_audio"], partial.own_scores("text_audio"))
    assert estimate.n_candidates == 300


def test_quantile_rule_and_gaussian_tail():
    null = np.random.default_rng(0).standard_normal(200_000)
    sigma = fit_threshold("x", null, CalibrationConfig(k=3.0))
    assert sigma.null_tail == pytest.approx(0.00135, abs=0.0003)
    quantile = fit_threshold("x", null, CalibrationConfig(method="quantile", quantile=0.99))
    assert quantile.threshold == pytest.approx(2.326, abs=0.03) and quantile.null_tail == pytest.approx(0.01, abs=0.001)


@pytest.mark.parametrize(
    "config",
    [
        CalibrationConfig(k=1.0),
        CalibrationConfig(k=1.5),
        CalibrationConfig(k=2.0),
        CalibrationConfig(method="quantile", quantile=0.9),
    ],
    ids=["1sigma", "1.5sigma", "2sigma", "q0.9"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_estimated_fcr_tracks_the_planted_mismatch_rate(config, seed):
    corpus, wrong = synthetic_corpus(seed=seed)
    threshold = calibrate(corpus, config, kinds=["av_instance"])["av_instance"]
    scores = corpus.own_scores("av_instance")
    estimate = estimate_fcr(threshold, scores)
    kept = scores >= threshold.threshold
    true_fcr = float(wrong[kept].mean())
    assert estimate.n_kept == int(kept.sum())
    assert estimate.pi0 == pytest.approx(wrong.mean(), abs=0.05)
    # Tolerance: 2 percentage points absolute (measured error <= 1.5 points over these cases).
    assert abs(estimate.fcr - true_fcr) <= 0.02, (estimate, true_fcr)


def test_fcr_is_conservative_when_matches_are_weak():
    """Weak matches that score below the null median inflate pi0, so the estimate errs high."""
    rng = np.random.default_rng(5)
    n, dim = 3000, 32
    latent, unrelated = rng.standard_normal((2, n, dim))
    noise = rng.uniform(0.5, 3.0, (n, 1))
    wrong = rng.random(n) < 0.3
    corpus = EmbeddingCorpus(
        latent + noise * rng.standard_normal((n, dim)),
        np.where(wrong[:, None], unrelated, latent) + noise * rng.standard_normal((n, dim)),
    )
    threshold = calibrate(corpus, CalibrationConfig(k=1.0))["av_instance"]
    scores = corpus.own_scores("av_instance")
    estimate = estimate_fcr(threshold, scores)
    assert estimate.pi0 > wrong.mean()
    assert estimate.fcr >= float(wrong[scores >= threshold.threshold].mean())

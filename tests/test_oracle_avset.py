"""Oracles for the AVSET numbers that reach the data: speech/music ratios and "other sound" activity (on the
10 ms grid), the voice-over rule at its thresholds, and the Table 2 funnel at its edges.

Each expected value is computed here from the written definition (module docstrings, schema descriptions),
sample by sample or frame by frame, not with the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.avset.activity import (
    ActivityConfig,
    active_frames,
    dilate,
    frame_levels_db,
    segments_to_frames,
    union_seconds,
)
from curation.avset.retention import RetentionTable, StageCounts
from curation.avset.voiceover import TagResult, VoiceoverRule
from curation.selection.mutual_info import default_modalities


def test_union_seconds_is_the_covered_time_on_a_fine_grid():
    """speech_ratio = covered seconds / clip length: overlapping, nested and touching segments count once."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        starts = rng.uniform(0, 9, 6).round(3)
        segments = tuple((float(s), float(s + round(rng.uniform(0.01, 3), 3))) for s in starts)
        grid = np.zeros(14_000, bool)  # 1 ms cells
        for start, end in segments:
            grid[int(round(start * 1000)):int(round(end * 1000))] = True
        assert union_seconds(segments) == pytest.approx(grid.sum() / 1000, abs=1e-9)
    assert union_seconds(((1.0, 2.0), (2.0, 3.0), (1.5, 1.7))) == pytest.approx(2.0)
    assert union_seconds(()) == 0.0


def test_frame_levels_are_rms_dbfs_of_25ms_windows_every_10ms():
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.1, 16_000) * np.repeat(rng.uniform(0, 1, 100), 160)
    levels = frame_levels_db(audio)
    frames = range(1 + (16_000 - 400) // 160)
    expected = [10 * np.log10(np.mean(audio[i * 160:i * 160 + 400] ** 2) + 1e-12) for i in frames]
    np.testing.assert_allclose(levels, expected, atol=1e-9)
    # float32 samples (what the decoder gives) are measured in float64, not in float32 arithmetic
    audio32 = audio.astype(np.float32)
    expected32 = [10 * np.log10(np.mean(audio32[i * 160:i * 160 + 400].astype(np.float64) ** 2) + 1e-12) for i in frames]
    np.testing.assert_allclose(frame_levels_db(audio32), expected32, atol=1e-9)
    full_scale_sine = np.sin(2 * np.pi * 1000 * np.arange(1600) / 16_000)
    assert frame_levels_db(full_scale_sine)[0] == pytest.approx(10 * np.log10(0.5), abs=0.01)  # -3.01 dBFS


def test_active_frames_are_within_range_of_the_loud_frames_and_above_the_floor():
    rng = np.random.default_rng(2)
    gains_db = rng.choice([-10.0, -35.0, -45.0, -55.0, -75.0], 100)
    audio = np.concatenate([10 ** (g / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(1600) / 16_000)
                            for g in gains_db])
    config = ActivityConfig(range_db=40.0, abs_floor_db=-60.0)
    levels = np.array([10 * np.log10(np.mean(audio[i * 160:i * 160 + 400] ** 2) + 1e-12)
                       for i in range(1 + (len(audio) - 400) // 160)])
    floor = max(-60.0, np.percentile(levels, 99) - 40.0)
    np.testing.assert_array_equal(active_frames(audio, config), levels > floor)
    assert 0.2 < active_frames(audio, config).mean() < 0.9


def test_activity_floor_is_the_99th_percentile_and_digital_silence_is_quiet_not_missing():
    """1 s of digital silence, 7 s of a -10 dBFS tone with a 40 ms 0 dBFS click (< 1 % of frames), 1 s at -45
    and 1 s at -55 dBFS: the floor is p99 (-10) - 40 = -50 dB (not the click's -40, not the absolute -60), so
    the -45 dB second is active and the -55 dB second is not; silent frames are -120 dB, not missing."""
    t = np.arange(16_000) / 16_000
    tone = np.sqrt(2) * np.sin(2 * np.pi * 440 * t)
    loud = np.tile(tone, 7) * 10 ** (-10 / 20)
    loud[48_000:48_640] = np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(640) / 16_000)
    audio = np.concatenate([np.zeros(16_000), loud, tone * 10 ** (-45 / 20), tone * 10 ** (-55 / 20)])
    levels = np.array([10 * np.log10(np.mean(audio[i * 160:i * 160 + 400] ** 2) + 1e-12)
                       for i in range(1 + (len(audio) - 400) // 160)])
    assert levels[:90].max() == pytest.approx(-120.0) and np.percentile(levels, 100) > -1.0
    floor = max(-60.0, np.percentile(levels, 99) - 40.0)
    assert floor == pytest.approx(-50.0, abs=0.1)
    active = active_frames(audio)
    np.testing.assert_array_equal(active, levels > floor)
    assert active[820:890].all() and not active[920:990].any() and not active[:90].any()


def test_segments_map_to_the_frames_they_cover_and_dilation_grows_runs():
    mask = segments_to_frames(((0.125, 0.301), (0.9, 2.0)), 100)
    expected = np.zeros(100, bool)
    expected[12:31] = True  # frames whose 10 ms cell overlaps [0.125, 0.301): 12 .. 30
    expected[90:100] = True
    np.testing.assert_array_equal(mask, expected)
    runs = np.zeros(30, bool)
    runs[[5, 6, 20]] = True
    grown = dilate(runs, 2)
    np.testing.assert_array_equal(np.flatnonzero(grown), [3, 4, 5, 6, 7, 8, 18, 19, 20, 21, 22])
    np.testing.assert_array_equal(dilate(runs, 0), runs)
    np.testing.assert_array_equal(np.flatnonzero(dilate(runs, 1)), [4, 5, 6, 7, 19, 20, 21])
    edges = segments_to_frames(((0.0, 0.05), (5.0, 6.0), (9.95, 12.0)), 1000)  # from the first to past the last
    np.testing.assert_array_equal(np.flatnonzero(edges), [*range(5), *range(500, 600), *range(995, 1000)])
    off_grid = segments_to_frames(((0.127, 0.2),), 100)  # starts 7 ms into cell 12: cell 12 overlaps it
    np.testing.assert_array_equal(np.flatnonzero(off_grid), range(12, 20))


@pytest.mark.parametrize("rule", [VoiceoverRule(), VoiceoverRule(speech_min=0.3, music_min=0.3, other_min=0.2)])
def test_voiceover_rule_at_its_thresholds(rule):
    """Present means value >= its minimum; voice-over = speech or music present together with another source."""
    grid = [0.0, rule.speech_min - 1e-9, rule.speech_min, rule.music_min - 1e-9, rule.music_min,
            rule.other_min - 1e-9, rule.other_min, 1.0]
    for speech in grid:
        for music in grid:
            for other in grid:
                present = [speech >= rule.speech_min, music >= rule.music_min, other >= rule.other_min]
                decision = rule.decide(TagResult(speech, music, other, "t"))
                assert decision.voiceover is ((present[0] or present[1]) and sum(present) >= 2)
                names = [n for n, p in zip(("speech", "music", "other"), present) if p]
                assert decision.reason == ("+".join(names) or "silent")


def test_default_rule_is_two_seconds_of_speech_three_of_music_and_a_fifth_second_of_other_sound():
    rule = VoiceoverRule()  # documented minimums for a 10 s clip
    assert (rule.speech_min * 10, rule.music_min * 10, rule.other_min * 10) == pytest.approx((2.0, 3.0, 0.2))


def test_funnel_edges_and_proportions():
    for counts in [(10, 8, 5, 5), (10, 8, 8, 8), (10, 10, 10, 10), (0, 0, 0, 0), (7, 0, 0, 0)]:
        table = RetentionTable({"clips": StageCounts(*counts)}).to_dict()["sources"]["clips"]
        assert [row["clips"] for row in table] == list(counts)
        assert [row["proportion"] for row in table] == [c / counts[0] if counts[0] else 0.0 for c in counts]
    markdown = RetentionTable({"x": StageCounts(1200, 900, 300, 450)}).to_markdown().splitlines()
    assert markdown[-1] == "| S4 | Sample Recycling | 450 | 37.5% |"
    assert markdown[2] == "| S1 | Candidate Videos | 1,200 | 100.0% |"
    flags = np.random.default_rng(3).random((3, 200)) < [[0.7], [0.4], [0.5]]
    av, vo = flags[0], flags[1]
    rec = av & vo & flags[2]
    counts = StageCounts.from_flags(av, vo, rec)
    assert counts.counts == (200, av.sum(), (av & ~vo).sum(), (av & ~vo).sum() + rec.sum())


def test_two_clusterings_split_into_one_audio_and_one_visual():
    assert default_modalities(2) == ["audio", "visual"]
    assert default_modalities(6) == ["audio"] * 3 + ["visual"] * 3
    for bad in (0, 1, 3):
        with pytest.raises(ValueError, match="cannot split"):
            default_modalities(bad)


def test_mutual_information_edge_cases_and_bad_labels():
    from curation.selection.mutual_info import IncrementalMI, clustering_pairs, mutual_information

    assert mutual_information(np.array([], int), np.array([], int)) == 0.0
    assert mutual_information(np.array([3]), np.array([1])) == 0.0  # one clip: log 1 + (0 - 0 - 0) / 1
    with pytest.raises(ValueError, match="unknown modalities"):
        clustering_pairs(["audio", "text"], "combination")
    with pytest.raises(ValueError, match="2-D integer"):
        IncrementalMI(np.zeros((4, 2), dtype=np.float64), [(0, 1)])
    with pytest.raises(ValueError, match="2-D integer"):
        IncrementalMI(np.zeros(4, dtype=np.int64), [(0, 1)])


def test_a_clip_shorter_than_one_window_is_one_zero_padded_frame():
    audio = np.full(100, 0.5)
    assert frame_levels_db(audio) == pytest.approx([10 * np.log10(100 * 0.25 / 400 + 1e-12)])


def test_nmf_learns_every_free_column_and_keeps_the_fixed_ones():
    from curation.avset.separation import _fit_length, _kl_nmf

    rng = np.random.default_rng(4)
    v = rng.uniform(0.1, 1.0, (20, 3)) @ rng.uniform(0.1, 1.0, (3, 50))
    w0 = rng.uniform(0.1, 1.0, (20, 3))
    w, h = _kl_nmf(v, w0, 300)  # default: every column is learnt
    assert not np.isclose(w, w0).all(axis=0).any()
    assert np.abs(w @ h - v).max() < 0.05 * v.max()  # an exact rank-3 spectrogram is recovered
    w_fixed, _ = _kl_nmf(v, w0, 50, fixed=2)
    np.testing.assert_array_equal(w_fixed[:, :2], w0[:, :2])
    assert _fit_length(np.ones(5), 8).tolist() == [1, 1, 1, 1, 1, 0, 0, 0]  # padded at the end, to length
    assert _fit_length(np.arange(10), 4).tolist() == [0, 1, 2, 3]


def _lee_seung_kl(v, w, iterations, fixed):
    """KL-NMF multiplicative updates written out from Lee & Seung (2001), eq. 4-5: H first, then the free
    columns of W; no renormalisation (rescaling a column of W and the row of H it multiplies leaves W @ H,
    hence the separation mask, unchanged)."""
    w, h = w.copy(), np.full((w.shape[1], v.shape[1]), v.mean() / w.shape[1])
    for _ in range(iterations):
        h = h * (w.T @ (v / (w @ h))) / w.sum(axis=0)[:, None]
        update = w * ((v / (w @ h)) @ h.T) / h.sum(axis=1)[None, :]
        w[:, fixed:] = update[:, fixed:]
    return w, h


def _kl_divergence(v, approx):
    return float(np.sum(v * np.log(v / approx) - v + approx))


@pytest.mark.parametrize("fixed", [0, 3])
def test_nmf_product_follows_the_lee_seung_kl_updates(fixed):
    from curation.avset.separation import _kl_nmf

    rng = np.random.default_rng(11)
    v = rng.uniform(0.05, 1.0, (30, 5)) @ rng.uniform(0.05, 1.0, (5, 70)) + rng.uniform(0, 0.05, (30, 70))
    w0 = rng.uniform(0.1, 1.0, (30, 8))
    w0 /= w0.sum(axis=0, keepdims=True)
    w, h = _kl_nmf(v, w0, 40, fixed=fixed)
    w_ref, h_ref = _lee_seung_kl(v, w0, 40, fixed)
    np.testing.assert_allclose(w @ h, w_ref @ h_ref, rtol=1e-9)
    np.testing.assert_allclose(w[:, fixed:].sum(axis=0), 1.0, rtol=1e-9)  # the scale convention: spectra sum to 1
    np.testing.assert_array_equal(w[:, :fixed], w0[:, :fixed])
    # and the updates descend the KL divergence (the property they are chosen for)
    losses = [_kl_divergence(v, np.matmul(*_lee_seung_kl(v, w0, k, fixed))) for k in (1, 5, 40)]
    assert losses[0] > losses[1] > losses[2] == pytest.approx(_kl_divergence(v, w @ h), rel=1e-9)


def test_nmf_dictionaries_start_as_spectra_that_sum_to_one():
    """The separator's random initial spectra are positive (0.1-1.0 before scaling) and each sums to one, the
    scale every later update keeps; the seed fixes them, so a clip separates to the same stem every run."""
    from curation.avset.separation import _random_factors

    w = _random_factors(np.random.default_rng(3), 513, 24)
    expected = np.random.default_rng(3).uniform(0.1, 1.0, (513, 24))
    np.testing.assert_allclose(w, expected / expected.sum(axis=0), rtol=1e-12)

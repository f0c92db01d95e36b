"""The synthetic corpus: its ground truth must be what a decoder actually sees and hears."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from curation.media.decode import DecodeConfig, DecodedClip, decode_clip, probe
from curation.media.synthetic import (
    AUDIO_OFFSET,
    ClipSpec,
    Variant,
    make_clip,
    make_corpus,
    make_long_video,
)

RATE = 25  # motion samples per second, and the clips' frame rate
Corpus = dict[Variant, tuple[ClipSpec, DecodedClip]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    specs = make_corpus(tmp_path_factory.mktemp("corpus"), n_per_variant=1, seed=11)
    return {spec.variant: (spec, decode_clip(spec.path, 0.0, 10.0)) for spec in specs}


def _audio_changes(clip: DecodedClip) -> np.ndarray:
    """|change| of the audio RMS per 1/25 s window, aligned with ``motion`` (value k: window k vs k-1)."""
    rms = np.sqrt((clip.audio.reshape(-1, 16000 // RATE) ** 2).mean(axis=1))
    return np.abs(np.diff(rms, prepend=rms[0]))


def _events(signal: np.ndarray) -> set[int]:
    return set(np.flatnonzero(signal > 0.5 * signal.max()).tolist())


def _transitions(events: tuple[tuple[float, float], ...]) -> set[int]:
    return {round(t * RATE) for onset, length in events for t in (onset, onset + length)}


def _audio_lag(clip: DecodedClip, max_lag: int = 20) -> int:
    """Motion samples by which audio changes trail visual changes (the cross-correlation peak)."""
    assert clip.motion is not None
    visual = clip.motion - clip.motion.mean()
    audio = _audio_changes(clip) - _audio_changes(clip).mean()
    n = len(visual)
    lags = range(-max_lag, max_lag + 1)
    scores = [np.dot(visual[max(0, -lag) : n - max(0, lag)], audio[max(0, lag) : n - max(0, -lag)]) for lag in lags]
    return lags[int(np.argmax(scores))]


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    first = make_clip(tmp_path / "a.mp4", "audio_late", seed=3, width=160, height=120)
    second = make_clip(tmp_path / "b.mp4", "audio_late", seed=3, width=160, height=120)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first.path, second.path)]
    assert digest[0] == digest[1]
    assert dataclasses.replace(first, path=second.path) == second


def test_corpus_ground_truth(corpus: Corpus) -> None:
    assert set(corpus) == set(Variant)
    for variant, (spec, _) in corpus.items():
        assert spec.path.name == f"{variant.value}_000.mp4"
        assert probe(spec.path).fps == 25.0
        schedule = spec.flashes or spec.beeps
        assert 6 <= len(schedule) <= 12
        assert all(0.15 <= length <= 0.3 and 0.0 < onset < 9.3 for onset, length in schedule)
        if variant in AUDIO_OFFSET:
            assert [b[0] - f[0] for f, b in zip(spec.flashes, spec.beeps, strict=True)] == pytest.approx(
                [AUDIO_OFFSET[variant]] * len(spec.flashes)
            )
    assert corpus[Variant.STATIC][0].flashes == () and corpus[Variant.SILENT][0].beeps == ()
    assert corpus[Variant.MISMATCHED][0].beeps != corpus[Variant.MISMATCHED][0].flashes
    looks = {(s.shape, s.shape_rgb, s.background_rgb, round(s.beep_hz)) for s, _ in corpus.values()}
    assert len(looks) == len(Variant)  # clips differ in what they show and sound like


def test_sync_flashes_and_beeps_line_up_in_decoded_media(corpus: Corpus) -> None:
    spec, clip = corpus[Variant.SYNC]
    assert clip.motion is not None
    expected = _transitions(spec.flashes)
    assert _events(clip.motion) == expected
    assert _events(_audio_changes(clip)) == expected
    # The 1 fps frames: shape visible exactly when a flash covers the frame shown at i + 0.5 s (frame 25 i + 12).
    lit = {f for onset, length in spec.flashes for f in range(round(onset * RATE), round((onset + length) * RATE))}
    background = np.array(spec.background_rgb, float)
    visible = [bool(np.abs(frame.astype(float) - background).max(axis=-1).mean() > 0.05 * 255) for frame in clip.frames]
    assert visible == [25 * i + 12 in lit for i in range(10)]


@pytest.mark.parametrize(
    ("variant", "lag"), [(Variant.SYNC, 0), (Variant.AUDIO_LATE, 10), (Variant.AUDIO_EARLY, -6.25)]
)
def test_measured_audio_offset(corpus: Corpus, variant: Variant, lag: float) -> None:
    """Lag in motion samples (1/25 s) between the decoded audio envelope and the motion envelope."""
    _, clip = corpus[variant]
    assert abs(_audio_lag(clip) - lag) <= 1  # within one video frame (0.04 s)


def test_static_silent_and_mismatched(corpus: Corpus) -> None:
    static = corpus[Variant.STATIC][1]
    assert static.motion is not None and static.motion.max() < 0.002
    assert _audio_changes(static).max() > 0.1  # the beeps go on
    assert np.abs(corpus[Variant.SILENT][1].audio).max() < 1e-3
    spec, clip = corpus[Variant.MISMATCHED]
    assert clip.motion is not None
    assert _events(clip.motion) == _transitions(spec.flashes)
    assert _events(_audio_changes(clip)) == _transitions(spec.beeps)


def test_long_video_scenes(tmp_path: Path) -> None:
    scenes = [(3.0, "flat"), (4.4, "gradient"), (5.0, "blocks")]
    spec = make_long_video(tmp_path / "long.mp4", scenes, seed=1, width=160, height=120)
    assert spec.cuts == (3.0, 7.4) and spec.duration == 12.4
    assert probe(spec.path).duration == pytest.approx(12.4, abs=0.05)
    clip = decode_clip(spec.path, 2.0, 12.0, DecodeConfig(motion=False))
    # Frames at 2.5 s (scene 1), 3.5-6.5 s (scene 2), 7.5-11.5 s (scene 3): each cut changes the picture.
    change = np.abs(np.diff(clip.frames.astype(float), axis=0)).mean(axis=(1, 2, 3))
    assert set(np.argsort(change)[-2:].tolist()) == {0, 4}

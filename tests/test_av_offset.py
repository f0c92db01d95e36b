"""Model-free sync checks: offsets on encoded flash/beep clips with planted shifts, contrast signs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curation.media.av_offset import (
    audio_change_envelope,
    estimate_av_offset,
    lagged_correlation,
    temporal_contrast,
)
from curation.media.decode import DecodeConfig, decode_clip
from curation.media.synthetic import AUDIO_OFFSET, Variant, make_clip

SR, FPS = 16_000, 25.0
# The RGB frames are not used here: tiny ones keep decoding cheap. Motion stays 64x64 grey at 25 fps.
CONFIG = DecodeConfig(fps=1, size=32)
# Visual events are known only to a frame interval, so estimates may sit up to ~half a frame
# (0.02 s at 25 fps) off; this tolerance leaves room for one more frame of error.
TOLERANCE = 0.08


def _decode(tmp_path: Path, variant: Variant, seed: int) -> tuple[np.ndarray, np.ndarray]:
    path = tmp_path / f"{variant}_{seed}.mp4"
    make_clip(path, variant, seed, width=160, height=120)
    clip = decode_clip(path, 0.0, 10.0, CONFIG)
    assert clip.motion is not None
    return clip.motion, clip.audio


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("variant", [Variant.SYNC, Variant.AUDIO_LATE, Variant.AUDIO_EARLY])
def test_planted_offset_recovered(tmp_path: Path, variant: Variant, seed: int) -> None:
    motion, audio = _decode(tmp_path, variant, seed)
    estimate = estimate_av_offset(motion, FPS, audio, SR)
    assert estimate.offset_s == pytest.approx(AUDIO_OFFSET[variant], abs=TOLERANCE)
    assert estimate.confidence > 0.45 and estimate.margin > 0.25


@pytest.mark.parametrize(("variant", "seed"), [(Variant.MISMATCHED, 0), (Variant.MISMATCHED, 1), (Variant.SILENT, 0), (Variant.STATIC, 0)])
def test_unrelated_sound_has_low_confidence(tmp_path: Path, variant: Variant, seed: int) -> None:
    motion, audio = _decode(tmp_path, variant, seed)
    estimate = estimate_av_offset(motion, FPS, audio, SR)
    assert estimate.confidence < 0.3 and estimate.margin < 0.15
    if variant is not Variant.MISMATCHED:  # nothing to correlate: no guess at all
        assert estimate.offset_s == 0.0 and estimate.confidence == 0.0


def test_envelope_lines_up_with_frame_index() -> None:
    """A tone starting at frame 40's time raises the audio envelope at index 40, like motion would."""
    audio = np.zeros(int(4 * SR))
    start = int(40 / FPS * SR)
    audio[start:] = 0.3 * np.sin(2 * np.pi * 700 * np.arange(audio.size - start) / SR)
    envelope = audio_change_envelope(audio, SR, FPS, 100)
    assert envelope.shape == (100,) and envelope[0] == 0.0
    assert int(np.argmax(envelope)) == 40


def test_lag_sign_convention() -> None:
    rng = np.random.default_rng(0)
    video = rng.random(200)
    audio_late = np.roll(video, 5)  # audio_late[i + 5] == video[i]
    corr = lagged_correlation(video, audio_late, max_lag=10)
    assert int(np.argmax(corr)) - 10 == 5 and corr.max() == pytest.approx(1.0, abs=1e-9)


def test_bad_rates_rejected() -> None:
    with pytest.raises(ValueError):
        audio_change_envelope(np.zeros(100), 0, FPS, 4)


# --- temporal contrast --------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_temporal_contrast_signs() -> None:
    rng = np.random.default_rng(0)
    visual = _unit(rng.normal(size=(10, 32)))
    in_sync = _unit(visual + 0.1 * rng.normal(size=visual.shape))
    assert temporal_contrast(in_sync, visual) > 0.5
    shifted = np.roll(in_sync, 2, axis=0)  # sound two seconds late: shifted pairs match better
    assert temporal_contrast(shifted, visual) < 0.0
    constant = _unit(np.tile(rng.normal(size=(1, 32)), (10, 1)))  # steady background sound
    assert temporal_contrast(constant, visual) == pytest.approx(0.0, abs=0.05)


def test_temporal_contrast_shapes() -> None:
    a = _unit(np.ones((3, 4)))
    assert temporal_contrast(a, a, shifts=(1, 5)) == pytest.approx(0.0)  # shift 5 skipped
    with pytest.raises(ValueError):
        temporal_contrast(a, a, shifts=(3,))
    with pytest.raises(ValueError):
        temporal_contrast(a, a[:2])

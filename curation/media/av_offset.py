"""Model-free audio-visual synchrony checks.

Two cheap signals that need no pretrained network:

* ``estimate_av_offset``: where visual change and audio change line up best in time. A clip whose
  sound is shifted against its picture (bad mux, dubbed, re-edited) shows a peak away from lag 0;
  a clip whose sound is unrelated to its picture shows no clear peak at all.
* ``temporal_contrast``: given per-second audio and visual embeddings, how much better the aligned
  seconds match than time-shifted seconds. Sound that belongs to *this* moment of the video scores
  above zero; background music or a static scene scores near zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this RMS (about -80 dBFS for audio in [-1, 1]) the track is treated as silent: its spectral
# flux would be quantisation noise, and normalising noise to unit variance invents correlations.
_SILENCE_RMS = 1e-4
# A visual-change envelope (mean absolute grey change in [0, 1], as decode.DecodedClip.motion) whose
# spread is below this, about 0.05 grey levels, is a still picture plus codec noise, for the same reason.
_STILL_MOTION_STD = 2e-4
# Log compression gain for magnitudes: makes the flux follow loudness ratios, not absolute level.
_LOG_GAIN = 1000.0
# Lags within this many frames of the peak count as the same peak when finding the runner-up.
_PEAK_HALF_WIDTH = 2


@dataclass(frozen=True)
class OffsetEstimate:
    """Best lag between picture and sound.

    ``offset_s`` > 0 means the audio lags the video (sound arrives late). ``confidence`` is the
    Pearson correlation at the best lag, clipped to [0, 1]. ``margin`` is that peak minus the best
    correlation away from it (at least ``_PEAK_HALF_WIDTH`` + 1 frames off): a periodic or noisy
    clip can have a high peak but no margin.
    """

    offset_s: float
    confidence: float
    margin: float


_NO_ESTIMATE = OffsetEstimate(offset_s=0.0, confidence=0.0, margin=0.0)


def audio_change_envelope(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Absolute spectral flux per video-frame interval, so it lines up with frame differences.

    Block ``i`` is one frame interval of audio centred on video frame ``i``'s timestamp, so entry
    ``i`` (change from block ``i - 1`` to block ``i``; entry 0 is 0) lines up with ``motion[i] =
    |frame_i - frame_{i-1}|``. A visual change is only known to within that frame interval; centring
    splits the difference, so offsets read up to half a frame late on renders whose events sit
    exactly on frame times and up to half a frame early on camera footage.
    Both onsets and offsets count (absolute, not positive, flux) because frame differences are
    unsigned too: a shape that appears with a sound and vanishes when it stops changes the picture
    twice, and only an unsigned audio envelope matches both.
    """
    if sample_rate <= 0 or fps <= 0:
        raise ValueError("sample_rate and fps must be positive")
    block = int(sample_rate // fps)
    # Front padding by half a block makes padded index round(i * sr / fps) the start of block i.
    x = np.concatenate([np.zeros(block // 2), np.asarray(audio, dtype=np.float64).reshape(-1)])
    starts = np.round(np.arange(n_frames) * (sample_rate / fps)).astype(np.int64)
    needed = int(starts[-1]) + block if n_frames else 0
    if x.size < needed:
        x = np.pad(x, (0, needed - x.size))
    blocks = x[starts[:, None] + np.arange(block)[None, :]]
    spectra = np.log1p(_LOG_GAIN * np.abs(np.fft.rfft(blocks, axis=1)) / block)
    flux = np.zeros(n_frames)
    flux[1:] = np.abs(np.diff(spectra, axis=0)).sum(axis=1)
    return flux


def lagged_correlation(video_env: np.ndarray, audio_env: np.ndarray, max_lag: int) -> np.ndarray:
    """Pearson correlation of ``video_env[i]`` with ``audio_env[i + k]`` for k in [-max_lag, max_lag].

    Each lag is normalised over its own overlap, so edge lags are not penalised for being shorter.
    Lags whose overlap is constant get correlation 0.
    """
    n = min(video_env.size, audio_env.size)
    out = np.zeros(2 * max_lag + 1)
    for j, k in enumerate(range(-max_lag, max_lag + 1)):
        v = video_env[max(0, -k) : n - max(0, k)]
        a = audio_env[max(0, k) : n - max(0, -k)]
        if v.size < 3:
            continue
        v = v - v.mean()
        a = a - a.mean()
        denom = np.sqrt((v * v).sum() * (a * a).sum())
        if denom > 1e-12:
            out[j] = float((v * a).sum() / denom)
    return out


def estimate_av_offset(
    motion: np.ndarray,
    motion_fps: float,
    audio: np.ndarray,
    sample_rate: int,
    max_lag_s: float = 1.0,
) -> OffsetEstimate:
    """Lag (seconds, + = audio late) that best aligns visual change with audio change.

    ``motion[i]`` is the visual change (in [0, 1]) from frame ``i - 1`` to frame ``i`` at
    ``motion_fps``, and ``audio[0]`` is at the time of frame 0, as in ``decode.DecodedClip``.
    Silent audio or a still picture gives offset 0 with confidence 0 rather than a noise-driven
    guess. The peak is refined to sub-frame precision by a parabola through its neighbours.
    """
    motion = np.asarray(motion, dtype=np.float64).reshape(-1)
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    if motion.size < 3 or audio.size == 0:
        return _NO_ESTIMATE
    # Entry 0 has no predecessor frame in either envelope; leave it out.
    video_env = motion[1:]
    if video_env.std() < _STILL_MOTION_STD or np.sqrt(np.mean(audio**2)) < _SILENCE_RMS:
        return _NO_ESTIMATE
    audio_env = audio_change_envelope(audio, sample_rate, motion_fps, motion.size)[1:]
    max_lag = max(1, min(int(round(max_lag_s * motion_fps)), video_env.size // 2))
    corr = lagged_correlation(video_env, audio_env, max_lag)
    best = int(np.argmax(corr))
    peak = float(corr[best])
    if peak <= 0.0:
        return _NO_ESTIMATE
    away = np.abs(np.arange(corr.size) - best) > _PEAK_HALF_WIDTH
    runner_up = float(corr[away].max()) if away.any() else 0.0
    return OffsetEstimate(
        offset_s=(best - max_lag + _parabolic_shift(corr, best)) / motion_fps,
        confidence=min(peak, 1.0),
        margin=max(peak - max(runner_up, 0.0), 0.0),
    )


def _parabolic_shift(values: np.ndarray, i: int) -> float:
    """Sub-sample position of a peak, in [-0.5, 0.5], from the parabola through its neighbours."""
    if i == 0 or i == values.size - 1:
        return 0.0
    left, mid, right = values[i - 1], values[i], values[i + 1]
    curvature = left - 2.0 * mid + right
    if curvature >= 0.0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


def temporal_contrast(
    audio_emb: np.ndarray,
    visual_emb: np.ndarray,
    shifts: tuple[int, ...] = (1, 2, 3),
) -> float:
    """Mean cosine of aligned per-second pairs minus mean cosine of time-shifted pairs.

    Shifted pairs are taken in both directions (audio ahead and audio behind). Shifts that leave
    no overlapping seconds are skipped; if none is usable the contrast is undefined and raises.
    Rows are re-normalised, so slightly unnormalised inputs are harmless.
    """
    a = _unit_rows(audio_emb)
    v = _unit_rows(visual_emb)
    if a.shape != v.shape:
        raise ValueError(f"audio_emb {a.shape} and visual_emb {v.shape} must have the same shape")
    t = a.shape[0]
    aligned = float(np.mean(np.sum(a * v, axis=1)))
    shifted = [
        float(np.mean(np.sum(a[s:] * v[: t - s], axis=1) + np.sum(a[: t - s] * v[s:], axis=1)) / 2.0)
        for s in shifts
        if 0 < s < t
    ]
    if not shifted:
        raise ValueError(f"no shift in {shifts} is usable with {t} time steps")
    return aligned - float(np.mean(shifted))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty (T, D) array, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)

"""Mel power spectrograms in numpy (HTK mel scale, L1-normalised triangles, centred Hann STFT).

Written to match what the aisfx audio CNN was trained on (its librosa variant), without pulling in
librosa; also used for simple log-mel statistics features.
"""

from __future__ import annotations

import numpy as np


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters, each summing to 1."""
    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - freqs[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    sums = weights.sum(axis=1, keepdims=True)
    return weights / np.where(sums > 0, sums, 1.0)


def mel_power(
    audio: np.ndarray,
    sample_rate: float,
    n_fft: int,
    hop: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """(frames, n_mels) mel power spectrogram of a mono signal (reflect-padded by n_fft/2 like librosa)."""
    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) <= n_fft // 2:
        audio = np.pad(audio, (0, n_fft // 2 + 1 - len(audio)))
    padded = np.pad(audio, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    bank = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax if fmax is not None else sample_rate / 2.0)
    return power @ bank.T

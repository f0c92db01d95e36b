"""ImageBind preprocessing re-implemented without torchaudio/torchvision: checked against independent references."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch

from curation.embed import preprocess as pp

torch.set_num_threads(1)
SR = 16_000
EPS_LOG = float(np.log(np.finfo(np.float32).eps))


def _knf_fbank(wave: np.ndarray, num_bins: int) -> np.ndarray:
    """kaldi-native-fbank configured as ImageBind calls torchaudio's kaldi.fbank, (num_bins, frames)."""
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SR
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hanning"
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = num_bins
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    opts.htk_compat = True
    opts.use_log_fbank = True
    opts.use_power = True
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(SR, wave.tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)]).T


def _signal(kind: str, seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    noise = rng.standard_normal(t.size)
    if kind == "noise":
        return (0.1 * noise).astype(np.float32)
    chirp = np.sin(2 * np.pi * (200 + 1500 * t) * t)
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * chirp + 0.01 * noise).astype(np.float32)


def _tones(segments: dict[float, float]) -> np.ndarray:
    """10 s of near-silence with a pure tone (Hz) in each 2 s span starting at the given second."""
    audio = 1e-4 * np.random.default_rng(1).standard_normal(10 * SR)
    t = np.arange(2 * SR) / SR
    for start, freq in segments.items():
        audio[int(start * SR) : int(start * SR) + 2 * SR] += 0.5 * np.sin(2 * np.pi * freq * t)
    return audio.astype(np.float32)


# Kaldi refuses 128 bins at a 512-point FFT (see below), so the comparison uses the largest counts it accepts;
# the code path is the same for every bin count.
@pytest.mark.parametrize("num_bins", [80, 120])
@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_fbank_matches_kaldi_native_fbank(kind: str, num_bins: int) -> None:
    wave = _signal(kind)
    ours = pp.waveform_to_fbank(wave, num_mel_bins=num_bins)
    ref = _knf_fbank(wave, num_bins)
    assert ours.shape == ref.shape == (num_bins, 198)
    assert ours.dtype == np.float32
    diff = np.abs(ours - ref)
    # Measured: max 6.5e-4 (noise), 2.7e-3 (tone, in a bin ~24 nats below the frame peak, where float32
    # rounding in knf dominates); mean <= 1.8e-5. We compute in float64, knf in float32.
    assert diff.max() < 5e-3 and diff.mean() < 5e-5


def test_fbank_128_bins_keeps_imagebinds_empty_filter() -> None:
    """Filter 3 covers no FFT bin: torchaudio (hence ImageBind) keeps it at log(eps); Kaldi refuses it."""
    fbank = pp.waveform_to_fbank(_signal("noise"))
    assert fbank.shape == (128, 198)
    at_floor = np.isclose(fbank, EPS_LOG, rtol=1e-6).all(axis=1)
    assert at_floor.nonzero()[0].tolist() == [3]
    opts = knf.FbankOptions()
    opts.mel_opts.num_bins = 128
    with pytest.raises(ValueError, match="num_mel_bins too large"):
        knf.OnlineFbank(opts)


def test_fbank_frame_count_and_short_input() -> None:
    assert pp.waveform_to_fbank(np.zeros(16_000, np.float32)).shape == (128, 98)
    assert pp.waveform_to_fbank(np.zeros(399, np.float32)).shape == (128, 0)


def test_whole_clip_windows_layout() -> None:
    audio = _tones({0: 300.0, 4: 1500.0, 8: 5000.0})
    windows = pp.audio_to_fbank_windows(audio)
    assert windows.shape == (3, 1, 128, 204) and windows.dtype == np.float32
    peaks = windows[:, 0, :, :198].mean(axis=2).argmax(axis=1)
    assert peaks[0] < peaks[1] < peaks[2]  # each window sees its own tone: starts 0, 4 and 8 s
    for i, start in enumerate([0, 4 * SR, 8 * SR]):
        segment = audio[start : start + 2 * SR].astype(np.float64)
        expected = (pp.waveform_to_fbank(segment - segment.mean()) - pp.AUDIO_MEAN) / pp.AUDIO_STD
        np.testing.assert_allclose(windows[i, 0, :, :198], expected, atol=1e-6)
    np.testing.assert_allclose(windows[:, 0, :, 198:], -pp.AUDIO_MEAN / pp.AUDIO_STD, rtol=1e-6)


def test_short_clip_windows_all_start_at_zero() -> None:
    windows = pp.audio_to_fbank_windows(_signal("tone", seconds=1.5))
    assert windows.shape == (3, 1, 128, 204)
    np.testing.assert_array_equal(windows[0], windows[2])
    np.testing.assert_allclose(windows[0, 0, :, 148:], -pp.AUDIO_MEAN / pp.AUDIO_STD, rtol=1e-6)  # 148 frames


def test_per_second_windows_are_centred_and_clamped() -> None:
    starts = pp.per_second_starts(10 * SR)
    assert starts == [0, 8_000, 24_000, 40_000, 56_000, 72_000, 88_000, 104_000, 120_000, 128_000]
    audio = _tones({3.5: 1000.0})
    windows = pp.audio_to_fbank_per_second(audio)
    assert windows.shape == (10, 1, 128, 204) and windows.dtype == np.float32
    np.testing.assert_allclose(windows[4], pp.audio_to_fbank_windows(audio[56_000:88_000], num_windows=1)[0])
    energy = windows[:, 0, :, :198].mean(axis=(1, 2))
    assert energy.argmax() == 4  # the window centred on second 4 (3.5-5.5 s) holds the whole tone


def test_frames_constant_colour_known_numbers() -> None:
    frames = np.empty((2, 300, 400, 3), np.uint8)
    frames[0] = 128
    frames[1] = (10, 128, 250)
    x = pp.frames_to_tensor(frames)
    assert x.shape == (2, 3, 224, 224) and x.dtype == torch.float32
    grey = torch.tensor([0.076336, 0.168897, 0.339949]).view(3, 1, 1)
    mixed = torch.tensor([-1.646278, 0.168897, 2.074797]).view(3, 1, 1)
    torch.testing.assert_close(x[0], grey.expand(3, 224, 224), atol=1e-5, rtol=0)
    torch.testing.assert_close(x[1], mixed.expand(3, 224, 224), atol=1e-5, rtol=0)


def test_frames_center_crop_without_resize() -> None:
    columns = np.broadcast_to((np.arange(300) // 2).astype(np.uint8)[None, :, None], (224, 300, 3))
    x = pp.frames_to_tensor(np.ascontiguousarray(columns)[None])
    expected = (torch.arange(38, 262) // 2 / 255.0 - pp.CLIP_MEAN[0]) / pp.CLIP_STD[0]
    torch.testing.assert_close(x[0, 0, 100], expected.float())  # (300 - 224) / 2 = 38 columns cut each side


def test_frames_bicubic_short_side_resize_then_crop() -> None:
    """640x360, left half black: resized to 398x224, then 87 columns cut, so the edge lands near x=112."""
    frame = np.zeros((1, 360, 640, 3), np.uint8)
    frame[:, :, 320:] = 255
    x = pp.frames_to_tensor(frame)[0, 0]
    black, white = -pp.CLIP_MEAN[0] / pp.CLIP_STD[0], (1 - pp.CLIP_MEAN[0]) / pp.CLIP_STD[0]
    torch.testing.assert_close(x[:, :108], torch.full((224, 108), black), atol=1e-5, rtol=0)
    torch.testing.assert_close(x[:, 116:], torch.full((224, 108), white), atol=1e-5, rtol=0)


def test_bpe_vocab_ships_in_package() -> None:
    path = pp.bpe_vocab_path()
    assert path.name == "bpe_simple_vocab_16e6.txt.gz" and path.is_file()

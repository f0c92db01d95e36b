"""decode_clip and probe on real encoded files from the synthetic generator."""

from __future__ import annotations

import math
import multiprocessing
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from curation.errors import ClipError
from curation.media import decode
from curation.media.decode import DecodeConfig, DecodedClip, decode_clip, probe
from curation.media.synthetic import VP9_OPUS, make_bad_inputs, make_clip, make_long_video, write_media

FPS = 25
SECONDS = 14
BEEP_AT = 3.217  # seconds; deliberately not on a frame or AAC-frame boundary
BEEP_HZ = 1000.0


def _coded_frames(width: int = 320, height: int = 240) -> Iterator[np.ndarray]:
    """Red encodes the second, green the frame within it; a white band on the left must be cropped away."""
    for i in range(SECONDS * FPS):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = 18 * (i // FPS)
        frame[..., 1] = 10 * (i % FPS)
        frame[..., 2] = 128
        frame[:, : width // 10] = 255
        yield frame


def _beep_audio(rate: int) -> np.ndarray:
    """Silence with one hard-onset 1 kHz burst at BEEP_AT."""
    audio = np.zeros(SECONDS * rate, np.float32)
    first, length = round(BEEP_AT * rate), round(0.1 * rate)
    audio[first : first + length] = 0.5 * np.sin(2 * np.pi * BEEP_HZ * np.arange(length) / rate)
    return audio


def _decoded_index(frames: np.ndarray) -> list[tuple[int, int]]:
    """(second, frame within second) read back from each decoded frame's colour."""
    red = frames[..., 0].astype(float).mean(axis=(1, 2))
    green = frames[..., 1].astype(float).mean(axis=(1, 2))
    return [(round(r / 18), round(g / 10)) for r, g in zip(red, green, strict=True)]


def _onset(audio: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(audio) > 0.25)[0])


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("decode")
    files = {"h264": root / "coded.mp4", "vp9": root / "coded.webm"}
    write_media(files["h264"], _coded_frames(), _beep_audio(44100), fps=FPS, sample_rate=44100)
    write_media(
        files["vp9"], _coded_frames(160, 120), _beep_audio(48000), fps=FPS, sample_rate=48000, encoding=VP9_OPUS
    )
    return files


def test_shapes_dtypes_and_exact_sample_count(media: dict[str, Path]) -> None:
    clip = decode_clip(media["h264"], 0.0, 10.0)
    assert clip.frames.shape == (10, 224, 224, 3) and clip.frames.dtype == np.uint8
    assert clip.audio.shape == (160000,) and clip.audio.dtype == np.float32
    assert clip.motion is not None and clip.motion.shape == (250,) and clip.motion.dtype == np.float32
    assert clip.source_fps == 25.0
    assert clip.duration == pytest.approx(SECONDS, abs=0.05)
    assert decode_clip(media["h264"], 0.0, 10.0, DecodeConfig(motion=False)).motion is None


@pytest.mark.parametrize("start", [0.0, 2.3])
def test_frame_nearest_each_second_centre(media: dict[str, Path], start: float) -> None:
    clip = decode_clip(media["h264"], start, start + 10.0)
    # Target start + i + 0.5. From 0: 0.5 s is midway between frames 12 and 13; the earlier one wins.
    # From 2.3: 2.8 s is exactly frame 70 = second 2, frame 20.
    expected = [(i, 12) for i in range(10)] if start == 0.0 else [(2 + i, 20) for i in range(10)]
    assert _decoded_index(clip.frames) == expected
    assert clip.frames.max() < 230  # the white band at the left edge fell outside the centre crop


@pytest.mark.parametrize("start", [0.0, 2.3])
def test_audio_starts_at_the_requested_sample(media: dict[str, Path], start: float) -> None:
    clip = decode_clip(media["h264"], start, start + 10.0)
    expected = (BEEP_AT - start) * 16000
    assert abs(_onset(clip.audio) - expected) <= 8  # half a millisecond; one AAC frame would be 372 samples
    assert np.abs(clip.audio[: _onset(clip.audio) - 16]).max() < 0.02


def test_vp9_webm(media: dict[str, Path]) -> None:
    clip = decode_clip(media["vp9"], 2.3, 12.3)
    assert _decoded_index(clip.frames) == [(2 + i, 20) for i in range(10)]
    # Matroska stores milliseconds, so the audio anchor may be off by up to half a millisecond (8 samples).
    assert abs(_onset(clip.audio) - (BEEP_AT - 2.3) * 16000) <= 24


def test_variable_frame_rate_uses_timestamps(tmp_path: Path) -> None:
    # Irregular frame times: frame index is no guide to time.
    times = np.r_[
        [0, 0.03, 0.1, 0.35, 0.62, 0.64, 1.3, 1.45, 2.2, 2.9, 3.05, 3.56, 4.1],
        [4.7, 4.75, 5.9, 6.2, 6.48, 7.7, 8.3, 8.61, 9.2, 9.45, 9.58, 10.1, 10.4],
    ]
    colours = [np.full((120, 160, 3), 6 * i, np.uint8) for i in range(len(times))]
    path = tmp_path / "vfr.mp4"
    write_media(path, colours, np.zeros(11 * 44100, np.float32), fps=FPS, frame_times=times.tolist())

    clip = decode_clip(path, 0.0, 10.0, DecodeConfig(motion=False))
    targets = np.arange(10) + 0.5
    distance = np.abs(times[np.newaxis, :] - targets[:, np.newaxis])
    expected = distance.argmin(axis=1)
    assert np.all(np.sort(distance, axis=1)[:, 1] - distance.min(axis=1) > 0.02)  # no near-ties
    decoded = np.round(clip.frames.astype(float).mean(axis=(1, 2, 3)) / 6).astype(int)
    assert decoded.tolist() == expected.tolist()


def test_motion_marks_scene_cuts_and_late_clips_decode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_long_video(tmp_path / "long.mp4", [(4.0, "flat"), (6.0, "checker"), (8.0, "stripes")], seed=3)
    fed: list[float] = []
    feed = decode._VideoTrack.feed
    monkeypatch.setattr(decode._VideoTrack, "feed", lambda track, frame: (fed.append(frame.time), feed(track, frame)))
    start = 5.5
    clip = decode_clip(spec.path, start, start + 10.0)
    # One seek, to the keyframe before 5.5 s (GOPs are 2 s); decoding stops at the first frame after the
    # last motion sample (15.46 s).
    assert 3.9 <= min(fed) <= 5.5 and 15.46 <= max(fed) < 15.6
    assert clip.motion is not None
    cut = spec.cuts[1] - start  # 4.5 s into the clip, midway between two motion samples
    assert int(np.argmax(clip.motion)) == math.ceil(cut * 25)
    # The 1 fps frame at 9.0 s shows the old scene, the one at 10.0 s (the cut) the new one.
    change = np.abs(np.diff(clip.frames.astype(float), axis=0)).mean(axis=(1, 2, 3))
    assert int(np.argmax(change)) == 3 and change[3] > 5 * np.delete(change, 3).max()


def test_media_slightly_short_is_padded_but_shorter_is_too_short(tmp_path: Path) -> None:
    nearly = make_clip(tmp_path / "nearly.mp4", "sync", seed=5, duration=9.96, width=160, height=120)
    clip = decode_clip(nearly.path, 0.0, 10.0)
    assert clip.audio.shape == (160000,) and np.all(clip.audio[-600:] == 0.0)
    short = make_clip(tmp_path / "short.mp4", "sync", seed=5, duration=9.8, width=160, height=120)
    with pytest.raises(ClipError) as caught:
        decode_clip(short.path, 0.0, 10.0)
    assert caught.value.reason == "too_short"
    with pytest.raises(ClipError, match="too_short"):
        decode_clip(nearly.path, 5.0, 15.0)
    assert decode_clip(nearly.path, -0.05, 9.95).audio[:700].max() == 0.0  # padded at the front
    with pytest.raises(ClipError, match="too_short"):
        decode_clip(nearly.path, -1.0, 9.0)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return make_bad_inputs(tmp_path_factory.mktemp("bad"))


def test_every_bad_input_has_its_reason(bad_inputs: dict[str, tuple[Path, str]]) -> None:
    got = {}
    for name, (path, _) in bad_inputs.items():
        with pytest.raises(ClipError) as caught:
            decode_clip(path, 0.0, 10.0)
        got[name] = caught.value.reason
        assert path.name in caught.value.detail
        assert path.stat().st_size < 300_000  # small on disk, the 5000x5000 one included
    assert got == {name: reason for name, (_, reason) in bad_inputs.items()}


def test_probe(media: dict[str, Path], bad_inputs: dict[str, tuple[Path, str]]) -> None:
    info = probe(media["h264"])
    assert (info.width, info.height, info.fps, info.has_audio, info.has_video) == (320, 240, 25.0, True, True)
    assert info.duration == pytest.approx(SECONDS, abs=0.05)
    assert not probe(bad_inputs["audio_only"][0]).has_video
    assert not probe(bad_inputs["video_only"][0]).has_audio
    for name in ("empty", "text", "truncated"):
        path, reason = bad_inputs[name]
        with pytest.raises(ClipError) as caught:
            probe(path)
        assert caught.value.reason == reason


def test_any_positive_span_decodes_to_its_own_length(media: dict[str, Path]) -> None:
    for start, end in ((3.0, 3.0), (4.0, 2.0), (math.nan, 5.0)):
        with pytest.raises(ValueError):
            decode_clip(media["h264"], start, end)
    clip = decode_clip(media["h264"], 1.0, 6.0)  # the config's default 10 s does not matter
    assert clip.frames.shape[0] == 5 and clip.audio.shape == (80_000,) and clip.motion.shape == (125,)
    assert _decoded_index(clip.frames) == [(1 + i, 12) for i in range(5)]


def test_runs_in_spawned_worker_processes(media: dict[str, Path], bad_inputs: dict[str, tuple[Path, str]]) -> None:
    config = DecodeConfig(motion=False)
    assert pickle.loads(pickle.dumps(config)) == config
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        clip: DecodedClip = pool.submit(decode_clip, media["h264"], 2.3, 12.3, config).result()
        failure = pool.submit(decode_clip, bad_inputs["short"][0], 0.0, 10.0, config).exception()
    assert _decoded_index(clip.frames) == [(2 + i, 20) for i in range(10)]
    assert isinstance(failure, ClipError) and failure.reason == "too_short"

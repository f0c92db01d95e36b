"""Decode one clip of a media file into what the scorers read: RGB frames, 16 kHz mono audio, motion.

A clip is exactly the span it is asked for, ``[start, end)``, whatever its length: a 4 s clip gives 4
frames and 64 000 samples, a 30 s clip 30 frames and 480 000 samples (at the default 1 fps, 16 kHz).

One seek and one demux pass per clip: only the packets from the keyframe before ``start`` up to ``end``
are decoded, so a clip late in a long video costs about as much as one at its start. Frames are chosen
by presentation time (correct for variable frame rates) and audio is placed on the clip's sample grid
by timestamp, so both line up with ``start`` to within a sample or so rather than a codec frame.
Everything is a plain function of its arguments, safe to run in worker processes.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from curation.errors import ClipError

# Audio timestamps this close (seconds) to where the previous chunk ended are rounding (Matroska
# stores milliseconds); further away they are a real gap or overlap and the chunk goes where it says.
_PTS_JITTER = 0.01
# Audio frames ending this long (seconds) before the clip are not resampled at all.
_AUDIO_LEAD_IN = 0.05
# Tie-break slack (seconds) when two frames are equally near a sampling time: the earlier one wins.
_TIE = 1e-6


@dataclass(frozen=True)
class DecodeConfig:
    """What a decoded clip looks like.

    ``clip_seconds`` is the length of a default clip; ``decode_clip`` sets it to the requested span's
    length, so ``n_frames`` / ``n_samples`` / ``n_motion`` always describe the clip being decoded.
    ``tolerance`` is how much (seconds) the media may fall short of the requested span at either end
    and still be accepted, padded by repeating the last frame / zero audio. ``motion=False`` skips the
    motion envelope. ``threads`` is per decoder; pipelines parallelise with processes, hence 1.
    """

    clip_seconds: float = 10.0
    fps: int = 1
    size: int = 224
    sample_rate: int = 16000
    max_pixels: int = 4096 * 4096
    motion: bool = True
    motion_fps: int = 25
    motion_size: int = 64
    tolerance: float = 0.1
    threads: int = 1

    @property
    def n_frames(self) -> int:
        """One frame per 1/fps s of the clip (at least one): at 1 fps, one per second, as the per-second
        audio windows count them (``curation.embed.preprocess.per_second_starts``)."""
        return max(1, round(self.clip_seconds * self.fps))

    @property
    def n_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)

    @property
    def n_motion(self) -> int:
        return round(self.clip_seconds * self.motion_fps)


@dataclass(frozen=True)
class MediaInfo:
    """Header facts about a file (no decoding): enough to plan clips. ``duration`` is nan if unknown."""

    duration: float
    has_audio: bool
    has_video: bool
    width: int
    height: int
    fps: float


@dataclass(frozen=True, eq=False)
class DecodedClip:
    """One decoded clip.

    ``frames``: (n_frames, size, size, 3) uint8 RGB, frame i the one shown nearest ``start + (i + 0.5) / fps``.
    ``audio``: (n_samples,) float32 mono at ``sample_rate``; sample j is at ``start + j / sample_rate``.
    ``motion``: (n_motion,) float32 in [0, 1], or None when disabled; value k is the mean absolute
    change of a ``motion_size``-square grid of luma samples between the frames shown at
    ``t_k - 1 / motion_fps`` and ``t_k = start + k / motion_fps``
    (so a cut or flash at time T shows at k = ceil((T - start) * motion_fps)).
    ``source_fps`` and ``duration`` (seconds) describe the whole source file.
    """

    frames: np.ndarray
    audio: np.ndarray
    motion: np.ndarray | None
    source_fps: float
    duration: float


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read the container header. Raises ClipError (empty_file, not_video, corrupt) if it cannot be opened."""
    with open_media(Path(path)) as container:
        return _media_info(container, video_stream(container), _audio_stream(container))


def decode_clip(
    path: str | os.PathLike[str], start: float, end: float, config: DecodeConfig = DecodeConfig()
) -> DecodedClip:
    """Decode ``[start, end)`` seconds (from the start of the file) of ``path``, of any length.

    ``end <= start`` is a ValueError (a caller's bug, not the file's). Every per-file failure is a
    ClipError, including a span the file does not cover (a start slightly before 0 is padded like a
    slightly short file); a missing file is an OSError.
    """
    if not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise ValueError(f"clip [{start}, {end}) is not a positive span")
    config = dataclasses.replace(config, clip_seconds=end - start)
    path = Path(path)
    with open_media(path) as container:
        video, audio = video_stream(container), _audio_stream(container)
        if video is None:
            raise ClipError("missing_video", f"{path}: no video stream")
        if audio is None:
            raise ClipError("missing_audio", f"{path}: no audio stream")
        info = _media_info(container, video, audio)
        _check_pixels(info.width, info.height, config, path)
        if info.duration < end - config.tolerance:  # False when the duration is unknown (nan)
            raise ClipError("too_short", f"{path}: {info.duration:.2f} s long, clip needs {start:.2f}-{end:.2f} s")
        origin = _origin(container)
        try:
            frames, motion, samples = _decode(container, video, audio, origin, start, config, path)
        except av.error.FFmpegError as error:
            raise ClipError("corrupt", f"{path}: {error}") from error
    return DecodedClip(frames, samples, motion, info.fps, info.duration)


# --- opening and header checks ---------------------------------------------------------------

# Leading bytes of containers we might be handed; used only to tell a damaged media file ("corrupt")
# from something that never was one ("not_video") when FFmpeg refuses to open it.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
_MAGIC = (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"fLaC", b"ID3", b"\x00\x00\x01\xba")


def open_media(path: Path) -> av.container.InputContainer:
    if path.stat().st_size == 0:
        raise ClipError("empty_file", f"{path}: 0 bytes")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        reason = "corrupt" if _looks_like_media(path) else "not_video"
        raise ClipError(reason, f"{path}: cannot open: {error}") from error


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(192)
    is_ts = len(head) > 188 and head[0] == head[188] == 0x47
    return head[4:8] in _ISO_BOXES or head.startswith(_MAGIC) or is_ts


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first real video stream; cover art in audio files is a 'video' stream too, and is skipped."""
    attached = av.stream.Disposition.attached_pic
    return next((s for s in container.streams.video if not s.disposition & attached), None)


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def _origin(container: av.container.InputContainer) -> float:
    """Clip times count from the container's start time (non-zero in e.g. MPEG-TS)."""
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _media_info(
    container: av.container.InputContainer,
    video: av.video.stream.VideoStream | None,
    audio: av.audio.stream.AudioStream | None,
) -> MediaInfo:
    if container.duration is not None:
        duration = container.duration / av.time_base
    else:
        ends = [_declared_extent(container, s)[1] for s in (video, audio) if s is not None]
        duration = max((e for e in ends if math.isfinite(e)), default=math.nan)
    rate = (video.average_rate or video.guessed_rate) if video is not None else None
    return MediaInfo(
        duration=duration,
        has_audio=audio is not None,
        has_video=video is not None,
        width=video.codec_context.width if video is not None else 0,
        height=video.codec_context.height if video is not None else 0,
        fps=float(rate) if rate else 0.0,
    )


def _check_pixels(width: int, height: int, config: DecodeConfig, path: Path) -> None:
    if width * height > config.max_pixels:
        raise ClipError("frame_too_large", f"{path}: {width}x{height} exceeds {config.max_pixels} pixels")


def _declared_extent(container: av.container.InputContainer, stream: av.stream.Stream) -> tuple[float, float]:
    """(first, end) seconds from the origin that a stream's header claims to cover; end is nan if unknown.

    Only a hint: with B-frames and a variable frame rate, mp4 stream durations can fall a few frames
    short of the last timestamp, so this never rejects a clip on its own.
    """
    origin = _origin(container)
    first = float(stream.start_time * stream.time_base) - origin if stream.start_time is not None else 0.0
    if stream.duration:
        return first, first + float(stream.duration * stream.time_base)
    if container.duration is not None:
        return first, container.duration / av.time_base
    return first, math.nan


# --- the decode pass -------------------------------------------------------------------------


def _decode(
    container: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    audio: av.audio.stream.AudioStream,
    origin: float,
    start: float,
    config: DecodeConfig,
    path: Path,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    video.codec_context.thread_count = config.threads
    video_track = _VideoTrack(video, start + origin, config, path)
    audio_track = _AudioTrack(start + origin, config.n_samples, config.sample_rate)
    if start > 0:
        container.seek(math.floor((start + origin) / video.time_base), stream=video, backward=True)
    for packet in container.demux(video, audio):
        track = video_track if packet.stream_index == video.index else audio_track
        if not track.done:
            for frame in packet.decode():
                track.feed(frame)
        if video_track.done and audio_track.done:
            break
    else:
        audio_track.flush()
    for stream, track in ((video, video_track), (audio, audio_track)):
        first, end = _declared_extent(container, stream)
        declared = _Span(first - start, end - start)
        _check_coverage(stream.type, track.covered, track.done, declared, config, path)
    frames, motion = video_track.finish()
    return frames, motion, audio_track.samples


def _frame_seconds(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> float:
    if frame.duration and frame.time_base is not None:
        return float(frame.duration * frame.time_base)
    rate = stream.average_rate or stream.guessed_rate
    return 1.0 / float(rate) if rate else 0.0


def _check_coverage(kind: str, span: _Span, done: bool, declared: _Span, config: DecodeConfig, path: Path) -> None:
    """Decoded data must cover the clip (to within the tolerance). If it does not, but the header said
    it would, the file is damaged (corrupt); if the header agrees, or says nothing, it is too_short.

    ``done`` means decoding stopped because everything needed was there, not at the end of the file.
    """
    if _covers(span, done, config):
        return
    reason = "corrupt" if _covers(declared, False, config) else "too_short"
    got = f"{span.first:.2f} to {span.end:.2f} s" if math.isfinite(span.first) else "nothing"
    raise ClipError(reason, f"{path}: decoded {kind} covers {got} of the {config.clip_seconds} s clip")


def _covers(span: _Span, done: bool, config: DecodeConfig) -> bool:
    """Spans are in seconds from the clip start; nan (unknown) never covers."""
    return span.first <= config.tolerance and (done or span.end >= config.clip_seconds - config.tolerance)


def _motion(grey: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(grey).astype(np.int16)  # integer sums: several times faster than float means here
    change = np.abs(stack[1:] - stack[:-1]).reshape(len(grey) - 1, -1)
    return (change.sum(axis=1) / (255.0 * change.shape[1])).astype(np.float32)


@dataclass(frozen=True)
class _Span:
    """Time range (seconds from the clip start) covered by decoded data; the default is 'nothing'."""

    first: float = math.inf
    end: float = -math.inf


class _VideoTrack:
    """Feeds decoded frames to the 1 fps RGB picker and the motion picker, and notes the span covered."""

    def __init__(self, stream: av.video.stream.VideoStream, start: float, config: DecodeConfig, path: Path) -> None:
        """``start`` is the clip start in stream time (seconds, origin included)."""
        self.stream, self.start, self.config, self.path = stream, start, config, path
        frame_times = start + (np.arange(config.n_frames) + 0.5) / config.fps
        self.pickers = [_Nearest(frame_times, _RgbConverter(config.size, config.threads))]
        if config.motion:
            motion_times = start + np.arange(-1, config.n_motion) / config.motion_fps
            self.pickers.append(_Nearest(motion_times, _GreyConverter(config.motion_size, config.threads)))
        self.first: float | None = None
        self.last: av.VideoFrame | None = None

    @property
    def done(self) -> bool:
        return all(picker.done for picker in self.pickers)

    @property
    def covered(self) -> _Span:
        if self.first is None or self.last is None:
            return _Span()
        end = self.last.time + _frame_seconds(self.last, self.stream)
        return _Span(self.first - self.start, end - self.start)

    def feed(self, frame: av.VideoFrame) -> None:
        t = frame.time
        if t is None:  # no timestamp to place it by
            return
        _check_pixels(frame.width, frame.height, self.config, self.path)
        for picker in self.pickers:
            picker.feed(t, frame)
        self.first = t if self.first is None else self.first
        self.last = frame

    def finish(self) -> tuple[np.ndarray, np.ndarray | None]:
        frames = np.stack(self.pickers[0].finish())
        return frames, _motion(self.pickers[1].finish()) if self.config.motion else None


class _Nearest:
    """For each target time, the decoded frame whose presentation time is nearest (ties: the earlier).

    Frames arrive in presentation order, so a target is settled as soon as a frame at or after it
    arrives: the answer is that frame or the one before. Only chosen frames are converted.
    """

    def __init__(self, targets: np.ndarray, convert: Callable[[av.VideoFrame], np.ndarray]) -> None:
        self.targets = targets.tolist()
        self.convert = convert
        self.chosen: list[np.ndarray] = []
        self.previous: tuple[float, av.VideoFrame] | None = None
        self.last_converted: tuple[av.VideoFrame, np.ndarray] | None = None

    @property
    def done(self) -> bool:
        return len(self.chosen) == len(self.targets)

    def feed(self, t: float, frame: av.VideoFrame) -> None:
        while not self.done and self.targets[len(self.chosen)] <= t:
            target = self.targets[len(self.chosen)]
            previous = self.previous
            nearer_before = previous is not None and target - previous[0] <= t - target + _TIE
            self._choose(previous[1] if previous is not None and nearer_before else frame)
        self.previous = (t, frame)

    def finish(self) -> list[np.ndarray]:
        """Targets past the last frame get the last frame (the caller has checked the shortfall is small)."""
        assert self.previous is not None, "coverage is checked before finishing"
        while not self.done:
            self._choose(self.previous[1])
        return self.chosen

    def _choose(self, frame: av.VideoFrame) -> None:
        if self.last_converted is None or self.last_converted[0] is not frame:
            self.last_converted = (frame, self.convert(frame))
        self.chosen.append(self.last_converted[1])


class _RgbConverter:
    """Bicubic resize of the short side to ``size``, then a centre crop (the ImageBind/CLIP recipe)."""

    def __init__(self, size: int, threads: int) -> None:
        self.size, self.threads = size, threads
        self.reformatter = VideoReformatter()  # reused: keeps its scaler context between frames

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        scale = self.size / min(frame.width, frame.height)
        width = max(self.size, round(frame.width * scale))
        height = max(self.size, round(frame.height * scale))
        rgb = self.reformatter.reformat(
            frame, width, height, "rgb24", interpolation=Interpolation.BICUBIC, threads=self.threads
        ).to_ndarray()
        top, left = (height - self.size) // 2, (width - self.size) // 2
        return rgb[top : top + self.size, left : left + self.size]


class _GreyConverter:
    """A ``size`` x ``size`` grid of luma samples spread evenly over the frame: enough to see flashes and
    cuts. For 8-bit planar YUV the grid is sliced straight out of the luma plane (~50x cheaper than a
    scaler call, which matters at 25 frames per second); other formats go through the scaler."""

    _LUMA_FIRST = frozenset(
        {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
    )

    def __init__(self, size: int, threads: int) -> None:
        self.size, self.threads = size, threads
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        size, width, height = self.size, frame.width, frame.height
        if frame.format.name not in self._LUMA_FIRST or min(width, height) < size:
            return self.reformatter.reformat(
                frame, size, size, "gray", interpolation=Interpolation.AREA, threads=self.threads
            ).to_ndarray()
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)
        step_y, step_x = height // size, width // size
        top, left = (height - step_y * (size - 1)) // 2, (width - step_x * (size - 1)) // 2
        return luma[top::step_y, left::step_x][:size, :size].copy()  # a copy, so the frame can be freed


class _AudioTrack:
    """Resamples to mono and writes each chunk at the sample its timestamp names on the clip's grid."""

    def __init__(self, start: float, n_samples: int, rate: int) -> None:
        """``start`` is the clip start in stream time (seconds, origin included)."""
        self.start, self.rate = start, rate
        self.samples = np.zeros(n_samples, np.float32)
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        self.first: int | None = None  # grid index of the first sample written (may be negative)
        self.end: int | None = None  # grid index just past the last sample written

    @property
    def done(self) -> bool:
        return self.end is not None and self.end >= len(self.samples)

    @property
    def covered(self) -> _Span:
        if self.first is None or self.end is None:
            return _Span()
        return _Span(self.first / self.rate, self.end / self.rate)

    def feed(self, frame: av.AudioFrame) -> None:
        if frame.time is not None and frame.time + frame.samples / frame.sample_rate < self.start - _AUDIO_LEAD_IN:
            return
        for chunk in self.resampler.resample(frame):
            self._place(chunk)

    def flush(self) -> None:
        for chunk in self.resampler.resample(None):
            self._place(chunk)

    def _place(self, chunk: av.AudioFrame) -> None:
        data = chunk.to_ndarray().reshape(-1)
        position = self.end
        if chunk.time is not None:
            stamped = round((chunk.time - self.start) * self.rate)
            if position is None or abs(stamped - position) > _PTS_JITTER * self.rate:
                position = stamped
        if position is None:
            position = 0
        lo, hi = max(position, 0), min(position + len(data), len(self.samples))
        if hi > lo:
            self.samples[lo:hi] = data[lo - position : hi - position]
        self.first = position if self.first is None else min(self.first, position)
        self.end = position + len(data)

"""Synthetic audio-visual test media: real encoded files with known, planted content.

Every test that needs a media file gets it from here, so there is one writer to trust. Clips show a
bright shape flashing on a dark background in step with beeps; variants break that correspondence in
known ways (shifted, mismatched, silent, static) so alignment scores can be checked against ground truth.
"""

from __future__ import annotations

import enum
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

Event = tuple[float, float]  # (onset seconds, duration seconds)
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Encoding:
    """Codec choices for a written file; the defaults resemble an ordinary web upload (H.264 + AAC).

    Encoding is single-threaded so that the same arguments give the same bytes on any machine.
    ``faststart`` moves the mp4 index to the front, which changes how a truncated file fails.
    """

    video_codec: str = "libx264"
    audio_codec: str = "aac"
    gop_seconds: float = 2.0
    faststart: bool = False


VP9_OPUS = Encoding(video_codec="libvpx-vp9", audio_codec="libopus")

_VIDEO_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"threads": "1", "preset": "veryfast"},
    "libvpx-vp9": {"threads": "1", "deadline": "realtime", "cpu-used": "8", "row-mt": "0"},
}


def write_media(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray] | None,
    audio: np.ndarray | None,
    *,
    fps: float | Fraction = 25,
    sample_rate: int = 44100,
    frame_times: Sequence[float] | None = None,
    encoding: Encoding = Encoding(),
) -> None:
    """Encode RGB frames (H, W, 3) uint8 and float audio (samples,) or (channels, samples) to ``path``.

    The container follows the file extension. ``frame_times`` (seconds, increasing) gives a
    variable frame rate; otherwise frame i is shown at i / fps. Audio and video packets are written
    interleaved, as a real muxer would, so seeking behaves like it does on downloaded files.
    """
    path = Path(path)
    frame_iter = iter(frames if frames is not None else ())
    first = next(frame_iter, None)
    options = {"movflags": "+faststart"} if encoding.faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = _add_video_stream(container, first, fps, frame_times, encoding) if first is not None else None
        audio_writer = _AudioWriter(container, audio, sample_rate, encoding.audio_codec) if audio is not None else None
        if video is not None:
            for i, rgb in enumerate(itertools.chain([first], frame_iter)):
                seconds = frame_times[i] if frame_times is not None else i / fps
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.time_base = video.codec_context.time_base
                frame.pts = round(seconds / video.codec_context.time_base)
                container.mux(video.encode(frame))
                if audio_writer is not None:
                    audio_writer.write_until(float(seconds) + 1.0 / float(fps))
            container.mux(video.encode(None))
        if audio_writer is not None:
            audio_writer.finish()


def _add_video_stream(
    container: av.container.OutputContainer,
    first: np.ndarray,
    fps: float | Fraction,
    frame_times: Sequence[float] | None,
    encoding: Encoding,
) -> av.video.stream.VideoStream:
    rate = Fraction(fps).limit_denominator(1001)
    stream = container.add_stream(encoding.video_codec, rate=rate)
    stream.height, stream.width = first.shape[:2]
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = max(1, round(encoding.gop_seconds * rate))
    stream.codec_context.options = dict(_VIDEO_OPTIONS.get(encoding.video_codec, {}))
    time_base = Fraction(1, 1000) if frame_times is not None else 1 / rate
    stream.codec_context.time_base = time_base
    stream.time_base = time_base
    return stream


class _AudioWriter:
    """Feeds audio to the encoder in step with the video so the muxer can interleave packets."""

    chunk = 1024

    def __init__(
        self, container: av.container.OutputContainer, audio: np.ndarray, sample_rate: int, codec: str
    ) -> None:
        samples = np.asarray(audio, dtype=np.float32)
        self.samples = samples[np.newaxis, :] if samples.ndim == 1 else samples
        self.layout = {1: "mono", 2: "stereo"}[self.samples.shape[0]]
        self.container = container
        self.rate = sample_rate
        self.stream = container.add_stream(codec, rate=sample_rate)
        self.stream.layout = self.layout
        self.position = 0

    def write_until(self, seconds: float) -> None:
        stop = min(self.samples.shape[1], round(seconds * self.rate))
        while self.position < stop:
            end = min(stop, self.position + self.chunk)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(self.samples[:, self.position : end]), format="fltp", layout=self.layout
            )
            frame.sample_rate = self.rate
            frame.time_base = Fraction(1, self.rate)
            frame.pts = self.position
            self.container.mux(self.stream.encode(frame))
            self.position = end

    def finish(self) -> None:
        self.write_until(self.samples.shape[1] / self.rate)
        self.container.mux(self.stream.encode(None))


# --- flash/beep clips -------------------------------------------------------------------------


class Variant(str, enum.Enum):
    """How a clip's audio relates to its picture (a str, so it serialises as its value)."""

    SYNC = "sync"
    AUDIO_LATE = "audio_late"
    AUDIO_EARLY = "audio_early"
    MISMATCHED = "mismatched"
    SILENT = "silent"
    STATIC = "static"


# Seconds by which beeps follow their flashes; variants absent here have no matching flashes.
AUDIO_OFFSET: dict[Variant, float] = {Variant.SYNC: 0.0, Variant.AUDIO_LATE: 0.4, Variant.AUDIO_EARLY: -0.25}

SHAPES = ("square", "circle", "triangle", "diamond", "cross", "ring")

_FLASH_RATE = (0.6, 1.2)  # flashes per second
_FLASH_SECONDS = (0.15, 0.3)  # flash length range
_MIN_GAP = 0.5  # seconds between flash onsets, so schedules are unambiguous to cross-correlate
_MARGIN = (0.5, 0.8)  # keep flashes clear of the ends, so shifted beeps stay inside the clip
_BEEP_AMPLITUDE = 0.5
_NOISE_AMPLITUDE = 0.005
_FADE_SECONDS = 0.003


@dataclass(frozen=True)
class ClipSpec:
    """Ground truth for one synthetic clip.

    ``flashes`` are the visible flash events, ``beeps`` the audible ones (both (onset, duration)
    seconds). ``audio_offset`` is how many seconds beeps lag their flashes, or None when the two
    schedules are unrelated (mismatched, silent, static).
    """

    path: Path
    variant: Variant
    seed: int
    duration: float
    width: int
    height: int
    fps: int
    sample_rate: int
    shape: str
    shape_rgb: RGB
    background_rgb: RGB
    beep_hz: float
    flashes: tuple[Event, ...]
    beeps: tuple[Event, ...]
    audio_offset: float | None


def flash_schedule(rng: np.random.Generator, duration: float, fps: int) -> tuple[Event, ...]:
    """0.6-1.2 flashes per second (6-12 in 10 s) of 0.15-0.3 s, frame-aligned, onsets >= 0.5 s apart."""
    lo, hi = _MARGIN[0], duration - _MARGIN[1]
    if hi <= lo:
        raise ValueError(f"a {duration} s clip is too short for flashes")
    count = min(max(1, round(rng.uniform(*_FLASH_RATE) * duration)), int((hi - lo) / _MIN_GAP) + 1)
    slack = hi - lo - (count - 1) * _MIN_GAP
    onsets = np.sort(rng.uniform(0.0, slack, count)) + lo + _MIN_GAP * np.arange(count)
    shortest, longest = max(1, math.ceil(_FLASH_SECONDS[0] * fps)), max(1, math.floor(_FLASH_SECONDS[1] * fps))
    lengths = rng.integers(shortest, longest + 1, count)
    return tuple((round(t * fps) / fps, int(n) / fps) for t, n in zip(onsets, lengths, strict=True))


def make_clip(
    path: str | os.PathLike[str],
    variant: Variant | str,
    seed: int,
    duration: float = 10.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    *,
    sample_rate: int = 44100,
    encoding: Encoding = Encoding(),
) -> ClipSpec:
    """Write one flash/beep clip; the same arguments give the same content (and, with PyAV 18, bytes)."""
    variant = Variant(variant)
    rng = np.random.default_rng(seed)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    shape_rgb = _rgb(rng, 170, 256)
    background_rgb = _rgb(rng, 0, 60)
    beep_hz = float(rng.uniform(400.0, 2000.0))
    schedule = flash_schedule(rng, duration, fps)
    if variant is Variant.MISMATCHED:
        other = np.random.default_rng([seed, 1])
        beeps = flash_schedule(other, duration, fps)
    elif variant is Variant.SILENT:
        beeps = ()
    else:
        shift = AUDIO_OFFSET.get(variant, 0.0)
        beeps = tuple((onset + shift, length) for onset, length in schedule)
    flashes = () if variant is Variant.STATIC else schedule
    mask = _shape_mask(shape, height, width, rng)
    spec = ClipSpec(
        path=Path(path),
        variant=variant,
        seed=seed,
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        sample_rate=sample_rate,
        shape=shape,
        shape_rgb=shape_rgb,
        background_rgb=background_rgb,
        beep_hz=beep_hz,
        flashes=flashes,
        beeps=beeps,
        audio_offset=AUDIO_OFFSET.get(variant),
    )
    write_media(
        path,
        _flash_frames(spec, mask),
        _beep_track(spec, rng, silent=variant is Variant.SILENT),
        fps=fps,
        sample_rate=sample_rate,
        encoding=encoding,
    )
    return spec


def _rgb(rng: np.random.Generator, lo: int, hi: int) -> RGB:
    r, g, b = (int(v) for v in rng.integers(lo, hi, 3))
    return r, g, b


def _flash_frames(spec: ClipSpec, mask: np.ndarray) -> Iterator[np.ndarray]:
    off = np.empty((spec.height, spec.width, 3), np.uint8)
    off[:] = spec.background_rgb
    on = off.copy()
    on[mask] = spec.shape_rgb
    lit = np.full(round(spec.duration * spec.fps), spec.variant is Variant.STATIC)
    for onset, length in spec.flashes:
        first = round(onset * spec.fps)
        lit[first : first + round(length * spec.fps)] = True
    for shown in lit:
        yield on if shown else off


def _shape_mask(shape: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of a shape about 40 % of the frame height, placed at a random spot."""
    radius = 0.2 * height
    cy = rng.uniform(radius, height - radius)
    cx = rng.uniform(radius, width - radius)
    y, x = np.mgrid[0:height, 0:width]
    dy, dx = (y - cy) / radius, (x - cx) / radius
    ay, ax, r2 = np.abs(dy), np.abs(dx), dx**2 + dy**2
    masks: dict[str, Callable[[], np.ndarray]] = {
        "square": lambda: (ax <= 1) & (ay <= 1),
        "circle": lambda: r2 <= 1,
        "triangle": lambda: (dy <= 1) & (dy >= 2 * ax - 1),
        "diamond": lambda: ax + ay <= 1,
        "cross": lambda: ((ax <= 0.3) & (ay <= 1)) | ((ay <= 0.3) & (ax <= 1)),
        "ring": lambda: (r2 <= 1) & (r2 >= 0.4),
    }
    return masks[shape]()


def _beep_track(spec: ClipSpec, rng: np.random.Generator, *, silent: bool) -> np.ndarray:
    """Stereo track: faint noise with sample-exact beeps (3 ms fades, so onsets stay sharp)."""
    total = round(spec.duration * spec.sample_rate)
    if silent:
        return np.zeros((2, total), np.float32)
    track = rng.normal(0.0, _NOISE_AMPLITUDE, (2, total))
    for onset, length in spec.beeps:
        span = _span(onset, length, spec.sample_rate, total)
        track[:, span] += _tone(spec.beep_hz, length, spec.sample_rate)[: span.stop - span.start]
    return track.astype(np.float32)


def _span(onset: float, length: float, rate: int, total: int) -> slice:
    start = round(onset * rate)
    return slice(start, min(total, start + round(length * rate)))


def _tone(hz: float, seconds: float, rate: int) -> np.ndarray:
    n = round(seconds * rate)
    t = np.arange(n) / rate
    fade = np.clip(np.minimum(t, seconds - t) / _FADE_SECONDS, 0.0, 1.0)
    return _BEEP_AMPLITUDE * fade * np.sin(2 * np.pi * hz * t)


def make_corpus(directory: str | os.PathLike[str], n_per_variant: int, seed: int) -> list[ClipSpec]:
    """``n_per_variant`` clips of every variant, named ``{variant}_{k:03d}.mp4``, seeds derived from ``seed``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs = []
    for v, variant in enumerate(Variant):
        for k in range(n_per_variant):
            clip_seed = int(np.random.SeedSequence([seed, v, k]).generate_state(1)[0])
            specs.append(make_clip(directory / f"{variant.value}_{k:03d}.mp4", variant, clip_seed))
    return specs


# --- long videos with scene cuts ---------------------------------------------------------------


class SceneStyle(str, enum.Enum):
    """Background families that differ clearly at a hard cut."""

    FLAT = "flat"
    GRADIENT = "gradient"
    CHECKER = "checker"
    STRIPES = "stripes"
    BLOCKS = "blocks"


@dataclass(frozen=True)
class Scene:
    """One shot of a long video: where it sits, how it looks and what it sounds like."""

    start: float
    duration: float
    style: SceneStyle
    rgb: RGB
    tone_hz: float


@dataclass(frozen=True)
class LongVideoSpec:
    """Ground truth for a multi-scene video; ``cuts`` are the hard-cut times in seconds."""

    path: Path
    duration: float
    fps: int
    sample_rate: int
    scenes: tuple[Scene, ...]

    @property
    def cuts(self) -> tuple[float, ...]:
        return tuple(scene.start for scene in self.scenes[1:])


def make_long_video(
    path: str | os.PathLike[str],
    scenes: Sequence[tuple[float, SceneStyle | str]],
    seed: int,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    *,
    sample_rate: int = 44100,
    encoding: Encoding = Encoding(),
) -> LongVideoSpec:
    """Write scenes of the given (seconds, style) joined by hard cuts; each has a moving square and a tone.

    Durations are rounded to whole frames so cuts fall exactly on frame boundaries.
    """
    rng = np.random.default_rng(seed)
    built, first = [], 0  # frame index where the scene starts
    for seconds, style in scenes:
        frames = max(1, round(seconds * fps))
        colour, tone_hz = _rgb(rng, 30, 226), float(rng.uniform(150, 3000))
        built.append(Scene(first / fps, frames / fps, SceneStyle(style), colour, tone_hz))
        first += frames
    spec = LongVideoSpec(Path(path), first / fps, fps, sample_rate, tuple(built))
    write_media(
        path,
        _scene_frames(spec, height, width, rng),
        _scene_audio(spec, rng),
        fps=fps,
        sample_rate=sample_rate,
        encoding=encoding,
    )
    return spec


def _scene_frames(spec: LongVideoSpec, height: int, width: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    backgrounds = [_background(scene, height, width, rng) for scene in spec.scenes]
    side = height // 6
    for scene, background in zip(spec.scenes, backgrounds, strict=True):
        frames = round(scene.duration * spec.fps)
        for i in range(frames):
            frame = background.copy()
            x = round((width - side) * i / max(1, frames - 1))  # the square crosses the frame once per scene
            frame[height // 2 - side // 2 : height // 2 + side // 2, x : x + side] = 255 - np.asarray(scene.rgb)
            yield frame


def _background(scene: Scene, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    if scene.style is SceneStyle.FLAT:
        level = np.ones((height, width))
    elif scene.style is SceneStyle.GRADIENT:
        level = 0.2 + 0.8 * x / width
    elif scene.style is SceneStyle.CHECKER:
        level = np.where((y // 30 + x // 30) % 2 == 0, 1.0, 0.3)
    elif scene.style is SceneStyle.STRIPES:
        level = 0.6 + 0.4 * np.sin(2 * np.pi * y / 24)
    else:
        level = np.kron(rng.uniform(0.2, 1.0, (height // 16 + 1, width // 16 + 1)), np.ones((16, 16)))
        level = level[:height, :width]
    return (level[..., np.newaxis] * np.asarray(scene.rgb)).astype(np.uint8)


def _scene_audio(spec: LongVideoSpec, rng: np.random.Generator) -> np.ndarray:
    """Stereo: a steady tone per scene (changing at each cut) over faint noise."""
    total = round(spec.duration * spec.sample_rate)
    track = rng.normal(0.0, 10 * _NOISE_AMPLITUDE, (2, total))
    for scene in spec.scenes:
        span = _span(scene.start, scene.duration, spec.sample_rate, total)
        t = np.arange(span.stop - span.start) / spec.sample_rate
        track[:, span] += 0.2 * np.sin(2 * np.pi * scene.tone_hz * t)
    return track.astype(np.float32)


# --- time-coded video: every frame and every second of sound says when it is ---------------------


@dataclass(frozen=True)
class TimecodeSpec:
    """A video whose picture and sound encode the time, to check that a clip is the span asked for.

    Frame ``i`` (shown from ``i / fps``) has red ``RED_STEP * second`` and green ``GREEN_STEP * (i %
    fps)``; during second ``s`` the sound is a pure tone of ``tone_hz(s)``. The tone steps by 50 Hz per
    second, so a 1 s FFT (1 Hz bins) tells the second apart from its neighbours unambiguously.
    """

    path: Path
    duration: int
    fps: int
    sample_rate: int

    RED_STEP = 4  # up to 63 s
    GREEN_STEP = 10  # up to 25 fps

    @staticmethod
    def tone_hz(second: int) -> float:
        return 300.0 + 50.0 * second

    @classmethod
    def second_of(cls, frame: np.ndarray) -> int:
        """The second a decoded frame shows, read back from its mean red (robust to codec noise)."""
        return round(float(frame[..., 0].astype(np.float64).mean()) / cls.RED_STEP)


def make_timecode_video(
    path: str | os.PathLike[str], duration: int, fps: int = 25, *, sample_rate: int = 44100,
    size: tuple[int, int] = (160, 120), encoding: Encoding = Encoding(),
) -> TimecodeSpec:
    """Write ``duration`` whole seconds of time-coded picture and sound (see ``TimecodeSpec``)."""
    if not 0 < duration * TimecodeSpec.RED_STEP <= 255 or fps * TimecodeSpec.GREEN_STEP > 255:
        raise ValueError(f"duration {duration} s / fps {fps} cannot be colour-coded")
    width, height = size
    spec = TimecodeSpec(Path(path), duration, fps, sample_rate)

    def frames() -> Iterator[np.ndarray]:
        frame = np.empty((height, width, 3), np.uint8)
        for i in range(duration * fps):
            frame[..., 0] = TimecodeSpec.RED_STEP * (i // fps)
            frame[..., 1] = TimecodeSpec.GREEN_STEP * (i % fps)
            frame[..., 2] = 96
            yield frame

    t = np.arange(sample_rate) / sample_rate
    audio = np.concatenate([0.3 * np.sin(2 * np.pi * spec.tone_hz(s) * t) for s in range(duration)])
    write_media(path, frames(), audio.astype(np.float32), fps=fps, sample_rate=sample_rate, encoding=encoding)
    return spec


# --- inputs the decoder must reject ----------------------------------------------------------


def make_bad_inputs(directory: str | os.PathLike[str]) -> dict[str, tuple[Path, str]]:
    """Broken or unusable files, each with the ClipError reason ``decode_clip(path, 0, 10)`` must raise.

    - ``truncated``: the first 40 % of an mp4 whose index (moov) is at the end; it cannot be opened.
    - ``truncated_faststart``: the same cut of an mp4 with its index first; it opens, then the decoder
      fails on the half packet at the cut.
    - ``truncated_at_packet``: as above but cut between packets: decoding just stops early, short of
      what the header promised.
    - ``audio_ends_early``: 10 s of video, 8 s of audio (and the header says so).
    - ``huge_frame``: 5000x5000 H.264 (one frame lasting 10 s, < 100 kB), rejected from the header.
    - ``corrupt_audio``: random bytes over the payload of every 10th AAC packet; the AAC decoder
      raises InvalidDataError on each damaged packet.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str]] = {}

    def add(name: str, filename: str, reason: str) -> Path:
        out[name] = (directory / filename, reason)
        return directory / filename

    add("empty", "empty.mp4", "empty_file").write_bytes(b"")
    add("text", "text.mp4", "not_video").write_text("this is a text file, not a video\n" * 40)

    corrupt = add("corrupt_audio", "corrupt_audio.mp4", "corrupt")
    make_clip(corrupt, Variant.SYNC, seed=3)
    _write_head(corrupt, add("truncated", "truncated.mp4", "corrupt"))
    _damage_audio_packets(corrupt, every=10, seed=3)
    faststart = directory / "faststart.mp4"
    make_clip(faststart, Variant.SYNC, seed=4, encoding=Encoding(faststart=True))
    _write_head(faststart, add("truncated_faststart", "truncated_faststart.mp4", "corrupt"))
    _write_head(faststart, add("truncated_at_packet", "truncated_at_packet.mp4", "corrupt"), whole_packets=True)
    faststart.unlink()

    tone = _tone(440.0, 10.0, 44100)
    write_media(add("audio_only", "audio_only.m4a", "missing_video"), None, tone)
    still = np.full((96, 128, 3), 90, np.uint8)
    write_media(add("video_only", "video_only.mp4", "missing_audio"), [still] * 250, None, fps=25)
    write_media(add("audio_ends_early", "audio_ends_early.mp4", "too_short"), [still] * 250, tone[: 8 * 44100], fps=25)
    make_clip(add("short", "short.mp4", "too_short"), Variant.SYNC, seed=2, duration=2.0)
    huge = np.full((5000, 5000, 3), 40, np.uint8)
    write_media(add("huge_frame", "huge_frame.mp4", "frame_too_large"), [huge], tone, fps=Fraction(1, 10))
    return out


def _write_head(source: Path, target: Path, fraction: float = 0.4, *, whole_packets: bool = False) -> None:
    """Copy the first ``fraction`` of a file; with ``whole_packets``, cut at the packet boundary before
    that point, so the data simply stops (no half packet for a decoder to choke on)."""
    data = source.read_bytes()
    cut = int(fraction * len(data))
    if whole_packets:
        with av.open(str(source)) as container:
            ends = [p.pos + p.size for p in container.demux() if p.pos is not None and p.pos + p.size <= cut]
        cut = max(ends)
    target.write_bytes(data[:cut])


def _damage_audio_packets(path: Path, every: int, seed: int) -> None:
    """Overwrite the payload of every ``every``-th audio packet in place (found via demuxer byte offsets)."""
    with av.open(str(path)) as container:
        spans = [(p.pos, p.size) for p in container.demux(audio=0) if p.size > 8 and p.pos is not None]
    rng = np.random.default_rng(seed)
    data = bytearray(path.read_bytes())
    for pos, size in spans[::every]:
        data[pos + 2 : pos + size - 2] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))

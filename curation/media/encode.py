"""Writing real media files (H.264/AAC or VP9/Opus) from frames and samples with PyAV, deterministically.

One writer shared by the synthetic test corpus and the media export of published clips.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


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

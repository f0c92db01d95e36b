"""Media for the `media` config: the clip as a small mp4 and its 16 kHz audio as FLAC bytes.

Only for collections whose licence allows redistribution; the clip is re-encoded (H.264 + AAC, at most
360 px high, source frame times kept) so it starts and ends exactly at the clip's timestamps.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from curation.media.encode import write_media


def flac_bytes(audio: np.ndarray, sample_rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(audio, dtype=np.float32), sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def clip_mp4_bytes(path: str | os.PathLike[str], start: float, end: float, audio: np.ndarray,
                   sample_rate: int = 16_000, max_height: int = 360) -> bytes:
    """Frames shown in [start, end) at their own times, muxed with the clip's decoded audio."""
    frames, times = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        origin = container.start_time / av.time_base if container.start_time is not None else 0.0
        if start > 0:
            container.seek(math.floor((start + origin) / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = frame.time - origin
            if t < start - 1e-6:
                continue
            if t >= end - 1e-6:
                break
            height = min(max_height, frame.height) // 2 * 2
            width = max(2, round(frame.width * height / frame.height / 2) * 2)
            frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            times.append(round(t - start, 6))
    if not frames:
        raise ValueError(f"{path}: no video frames in [{start}, {end})")
    with tempfile.TemporaryDirectory(prefix="acav1m-clip-") as tmp:
        target = Path(tmp) / "clip.mp4"
        write_media(target, frames, audio, sample_rate=sample_rate, frame_times=times)
        return target.read_bytes()

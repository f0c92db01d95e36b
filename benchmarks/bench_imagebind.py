"""Seconds per clip per modality for the ImageBind embedder on this machine, fp32 and bf16 autocast.

``huge`` is the genuine architecture with random weights (speed is all that is measured; the real weights are
not downloadable here); ``tiny`` is the test configuration. One clip = 1 caption, 10 s of audio as 3 windows
of 2 s, the 10 per-second audio windows, and 10 frames. Times include preprocessing (also shown alone).
Wall seconds are what a run costs; process CPU seconds (all threads) are less distorted when other processes
share the cores. Run it alone and once: huge needs ~5 GB RSS and ~20 s to build.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_imagebind.py [--sizes huge tiny] [--clips N] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from curation.embed.imagebind import ImageBindEmbedder, tokenize
from curation.embed.preprocess import audio_to_fbank_per_second, audio_to_fbank_windows, frames_to_tensor

FRAMES_PER_CLIP = 10
DEFAULT_CLIPS = {"huge": 1, "tiny": 8}  # tiny runs in milliseconds: time several clips to average out noise


@dataclass(frozen=True)
class Row:
    """Seconds per clip for one model size, precision and clock (wall or process CPU)."""

    size: str
    precision: str
    clock: str
    text: float
    audio: float
    audio_per_second: float
    frames: float

    @property
    def total(self) -> float:
        return self.text + self.audio + self.audio_per_second + self.frames


def _rss_gb() -> tuple[float, float]:
    """(current, peak) resident set size in GB, from /proc."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return tuple(int(fields[key].split()[0]) / 1e6 for key in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def _seconds(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _inputs(clips: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    texts = ["a man plays an acoustic guitar while a dog barks in the background"] * clips
    audio = (0.1 * rng.standard_normal((clips, 160_000))).astype(np.float32)
    frames = rng.integers(0, 256, (clips * FRAMES_PER_CLIP, 224, 224, 3), dtype=np.uint8)
    return texts, audio, frames


def _rows(size: str, precision: str, clips: int, runs: list[Callable[[], object]]) -> list[Row]:
    times = np.array([_seconds(run) for run in runs]) / clips  # (4 modalities, 2 clocks)
    return [Row(size, precision, clock, *times[:, i]) for i, clock in enumerate(("wall", "cpu"))]


def bench(embedder: ImageBindEmbedder, precision: str, clips: int) -> list[Row]:
    """Warm up on one item per modality, then time ``clips`` clips; seconds per clip."""
    embedder.bf16 = precision == "bf16"
    texts, audio, frames = _inputs(clips)
    embedder.embed_text(texts[:1])
    embedder.embed_audio(audio[:1])
    embedder.embed_frames(frames[:1])
    return _rows(embedder.size, precision, clips, [
        lambda: embedder.embed_text(texts),
        lambda: embedder.embed_audio(audio),
        lambda: embedder.embed_audio_per_second(audio),
        lambda: embedder.embed_frames(frames),
    ])  # fmt: skip


def preprocessing_rows(clips: int) -> list[Row]:
    texts, audio, frames = _inputs(clips)
    return _rows("prep", "-", clips, [
        lambda: tokenize(texts),
        lambda: [audio_to_fbank_windows(a) for a in audio],
        lambda: [audio_to_fbank_per_second(a) for a in audio],
        lambda: frames_to_tensor(frames),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["huge", "tiny"], choices=["huge", "tiny"])
    parser.add_argument("--clips", type=int, default=None, help=f"clips timed per size (default {DEFAULT_CLIPS})")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average before: {os.getloadavg()}")
    rows: list[Row] = []
    for size in args.sizes:
        start = time.perf_counter()
        embedder = ImageBindEmbedder(size, device="cpu", random_weights=size == "huge")
        params = sum(p.numel() for p in embedder.model.parameters())
        rss, peak = _rss_gb()
        print(f"{size}: {params / 1e6:.1f} M params, built in {time.perf_counter() - start:.1f} s, "
              f"RSS {rss:.2f} GB (peak {peak:.2f} GB), random weights: {embedder.random_weights}")  # fmt: skip
        for precision in ("fp32", "bf16"):
            rows += bench(embedder, precision, args.clips or DEFAULT_CLIPS[size])
        del embedder
    rows += preprocessing_rows(args.clips or DEFAULT_CLIPS["tiny"])
    header = (f"{'size':<6}{'prec':<6}{'clock':<6}{'text':>8}{'audio(3w)':>11}{'audio/s(10w)':>14}"
              f"{'10 frames':>11}{'total':>9}")  # fmt: skip
    clips = args.clips or ", ".join(f"{k} {v}" for k, v in DEFAULT_CLIPS.items())
    print(f"\nseconds per clip (clips timed after warm-up: {clips}; preprocessing included)\n{header}")
    for r in sorted(rows, key=lambda r: r.clock == "cpu"):
        print(f"{r.size:<6}{r.precision:<6}{r.clock:<6}{r.text:>8.3f}{r.audio:>11.3f}{r.audio_per_second:>14.3f}"
              f"{r.frames:>11.3f}{r.total:>9.3f}")  # fmt: skip
    print(f"load average after: {os.getloadavg()}; peak RSS {_rss_gb()[1]:.2f} GB")


if __name__ == "__main__":
    main()

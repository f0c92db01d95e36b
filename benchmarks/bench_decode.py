"""Decode throughput of ``decode_clip`` against a bare PyAV loop doing the least that yields the same arrays.

The bare loop seeks, takes the first frame at or after each sampling time, resamples every audio frame
and cuts 160 000 samples: no nearest-frame choice, no timestamp placement, no checks, no motion.
Throughput is clips per CPU-second of this process (single-threaded decoders, so per core), from each
clip's best of ``--repeat`` runs, which is steadier than wall time on a shared machine; wall time is
printed too. Nothing here asserts on time.

    .venv/bin/python benchmarks/bench_decode.py [--clips 30] [--width 640 --height 360] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from curation.media.decode import DecodeConfig, decode_clip
from curation.media.synthetic import SceneStyle, Variant, make_clip, make_long_video

Job = tuple[Path, float]


def bare_decode(path: Path, start: float, config: DecodeConfig) -> tuple[np.ndarray, np.ndarray]:
    """The minimal PyAV loop: same frames (up to the nearest-frame choice) and resampled audio."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        video.codec_context.thread_count = 1
        if start > 0:
            container.seek(int(start / video.time_base), stream=video, backward=True)
        targets = [start + (i + 0.5) / config.fps for i in range(config.n_frames)]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=config.sample_rate)
        reformatter = VideoReformatter()
        frames: list[np.ndarray] = []
        chunks: list[np.ndarray] = []
        n_audio = 0
        for packet in container.demux(video, audio):
            for frame in packet.decode():
                if packet.stream_index == video.index:
                    if len(frames) < len(targets) and frame.time >= targets[len(frames)]:
                        frames.append(_rgb(reformatter, frame, config.size))
                elif frame.time >= start:
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray()[0])
                        n_audio += out.samples
            if len(frames) == len(targets) and n_audio >= config.n_samples:
                break
        return np.stack(frames), np.concatenate(chunks)[: config.n_samples]


def _rgb(reformatter: VideoReformatter, frame: av.VideoFrame, size: int) -> np.ndarray:
    scale = size / min(frame.width, frame.height)
    width, height = max(size, round(frame.width * scale)), max(size, round(frame.height * scale))
    rgb = reformatter.reformat(frame, width, height, "rgb24", interpolation=Interpolation.BICUBIC, threads=1)
    top, left = (height - size) // 2, (width - size) // 2
    return rgb.to_ndarray()[top : top + size, left : left + size]


@dataclass(frozen=True)
class Timing:
    """Summed over clips, each clip's best (least) CPU and wall time over the repeats."""

    clips: int
    cpu: float
    wall: float

    @property
    def per_cpu_second(self) -> float:
        return self.clips / self.cpu


def _time(methods: dict[str, Callable[[Path, float], object]], jobs: list[Job], repeat: int) -> dict[str, Timing]:
    """Methods take turns clip by clip, so load from other processes hits them alike; best-of-``repeat``
    per clip filters out the worst of that load."""
    best = {name: [(math.inf, math.inf)] * len(jobs) for name in methods}
    for _ in range(repeat):
        for j, (path, start) in enumerate(jobs):
            for name, run in methods.items():
                cpu, wall = time.process_time(), time.perf_counter()
                run(path, start)
                took = (time.process_time() - cpu, time.perf_counter() - wall)
                best[name][j] = (min(best[name][j][0], took[0]), min(best[name][j][1], took[1]))
    return {name: Timing(len(jobs), sum(c for c, _ in times), sum(w for _, w in times)) for name, times in best.items()}


def _corpus(directory: Path, clips: int, width: int, height: int) -> tuple[list[Job], list[Job]]:
    variants = list(Variant)
    short = []
    for i in range(clips):
        spec = make_clip(directory / f"clip_{i:03d}.mp4", variants[i % len(variants)], i, width=width, height=height)
        short.append((spec.path, 0.0))
    styles = list(SceneStyle)
    long_video = make_long_video(
        directory / "long.mp4", [(6.0, styles[i % len(styles)]) for i in range(10)], seed=0, width=width, height=height
    )
    offsets = [0.0, 7.3, 15.0, 22.5, 31.1, 40.0, 46.7, 50.0]
    return short, [(long_video.path, t) for t in offsets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=30)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        short, long_cuts = _corpus(Path(tmp), args.clips, args.width, args.height)
        print(
            f"corpus: {len(short)} x 10 s clips + 60 s video cut at {len(long_cuts)} offsets, "
            f"{args.width}x{args.height} H.264/AAC 25 fps, written in {time.perf_counter() - started:.1f} s"
        )
        with_motion, without_motion = DecodeConfig(), DecodeConfig(motion=False)
        methods: dict[str, Callable[[Path, float], object]] = {
            "bare PyAV loop": lambda p, s: bare_decode(p, s, without_motion),
            "decode_clip (motion on)": lambda p, s: decode_clip(p, s, s + 10.0, with_motion),
            "decode_clip (motion off)": lambda p, s: decode_clip(p, s, s + 10.0, without_motion),
        }
        for name, jobs in (("10 s clips", short), ("60 s video, 10 s cuts", long_cuts)):
            for run in methods.values():  # warm-up: imports, page cache
                run(*jobs[0])
            timings = _time(methods, jobs, args.repeat)
            base = timings["bare PyAV loop"].per_cpu_second
            print(f"\n{name}:")
            for method, timing in timings.items():
                print(
                    f"  {method:26s} {timing.per_cpu_second:6.2f} clips/CPU-s  "
                    f"({timing.clips / timing.wall:6.2f} clips/s wall)  ratio to bare {timing.per_cpu_second / base:.2f}"
                )


if __name__ == "__main__":
    main()

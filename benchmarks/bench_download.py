"""`acav1m download` throughput from a local server: clips/s with 1 and 4 workers, bytes per clip, and
where the time goes (network wait incl. yt-dlp/ffmpeg section cut, re-encode of the exact span, verify).

Generated 320x240 H.264/AAC videos are served on 127.0.0.1 by the fetch tests' server (HTTP Range
support, which ffmpeg's section cut needs) and fetched through yt-dlp's generic extractor, exactly as `acav1m download` does for any row (section download
with ffmpeg, then the curation decoder). Worker processes are warmed up first, so the figures are
steady-state; the warm-up is timed separately. Nothing here asserts on time.

    .venv/bin/python benchmarks/bench_download.py [--clips 24] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.build import build_dataset
from builder.release import ReleaseInfo
from builder.sample import sample_table
from curation.download.clip import MediaOptions
from curation.download.run import DownloadOptions, RunResult, run_download
from curation.download.select import Selection
from curation.fetch import FetchConfig
from curation.media.synthetic import make_clip
from curation.sources import clip_id

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_fetch  # noqa: E402  (the local server of the fetch tests)
from test_fetch import MediaServer  # noqa: E402

test_fetch.SERVER_LIFETIME_S = 3600.0  # the tests' safety stop would end a long benchmark


def make_build(root: Path, base_url: str, n: int, seconds: float) -> Path:
    """n rows, one per served video, each the span [1, 1 + seconds) of a (seconds + 2) s video."""
    table = sample_table(n, seed=11)
    video_ids = [f"bench{i:011d}" for i in range(n)]
    columns = {"clip_id": [clip_id(v, 1.0) for v in video_ids], "video_id": video_ids,
               "url": [f"{base_url}/{v}.mp4" for v in video_ids], "start_time": [1.0] * n,
               "end_time": [1.0 + seconds] * n, "source": ["url"] * n, "kept": [True] * n,
               "reject_reason": pa.nulls(n, pa.string())}
    for name, values in columns.items():
        field = table.schema.field(name)
        table = table.set_column(table.schema.get_field_index(name), field, pa.array(values, field.type))
    return build_dataset(root / "acav1m", table, release=ReleaseInfo(test_fraction=0.0)).out_dir


def run(dataset: Path, out: Path, workers: int, media: MediaOptions = MediaOptions(), limit: int | None = None) -> RunResult:
    config = FetchConfig(cache_dir=out / "unused", timeout_s=120, retries=1)
    options = DownloadOptions(media=media, shard_size=8, workers=workers, requests_per_s=1000)
    return run_download(Selection(str(dataset), limit=limit), out, config, options)


def report(label: str, result: RunResult) -> None:
    s = result.stats
    failed = {k: v for k, v in s.statuses.items() if k != "ok"}
    if failed:
        table = pq.read_table(result.availability)
        print(f"{label}: failures {failed}, e.g. {table.filter(pc.not_equal(table['status'], 'ok'))['detail'][0]}")
    ok = s.statuses["ok"] or 1
    n = sum(s.statuses.values())
    print(f"| {label} | {n} | {s.statuses['ok']} | {s.wall_s:.1f} | {n / s.wall_s:.2f} | {s.bytes / ok / 1024:.0f} | "
          f"{s.fetch_s / n:.2f} | {s.cut_s / n:.2f} | {s.verify_s / n:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared with other jobs "
          "when above ~1)")
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        root = Path(tmp)
        files = {}
        for i in range(args.clips):
            path = root / f"bench{i:011d}.mp4"
            make_clip(path, "sync", seed=i, duration=args.seconds + 2, width=320, height=240)
            files[f"/{path.name}"] = path.read_bytes()
        server = MediaServer(files).start()
        try:
            dataset = make_build(root, server.url(""), args.clips, args.seconds)
            began = time.monotonic()
            run(dataset, root / "warm-up", 4, limit=4)  # starts 4 yt-dlp worker processes, reused below
            print(f"warm-up (4 worker processes, 4 clips): {time.monotonic() - began:.1f} s")
            print("\n| run | clips | ok | wall s | clips/s | KiB per clip | fetch s/clip | cut s/clip | verify s/clip |")
            print("|---|---|---|---|---|---|---|---|---|")
            report("1 worker, mp4 + flac", run(dataset, root / "w1", 1))
            report("4 workers, mp4 + flac", run(dataset, root / "w4", 4))
            report("1 worker, --audio-only", run(dataset, root / "audio", 1, MediaOptions(audio_only=True)))
        finally:
            server.close()
    print("\nfetch = request + yt-dlp + ffmpeg section cut (server on 127.0.0.1, so no real network wait); "
          "cut = decode the span + re-encode mp4/FLAC; verify = decode the written clip once. "
          "Per-clip seconds are summed over workers, so with 4 workers they exceed wall time / clips.")


if __name__ == "__main__":
    main()

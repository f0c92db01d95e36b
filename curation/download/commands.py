"""`acav1m download` and `acav1m availability`: argparse front ends over run.py."""

from __future__ import annotations

import argparse

from builder.commands import parse_size
from builder.schema import SPLITS

DATASET_HELP = "Hub repo id (org/name[@revision]), a built dataset folder, a records Parquet or a clip list CSV"


def add_download(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="fetch the media of a published dataset: WebDataset tars, Parquet or files, plus availability",
        description="Fetch exactly [start_time, end_time) of every selected row with yt-dlp, check each written "
        "clip by decoding it, and write shards atomically (a rerun resumes). Every row gets a status in "
        "OUT/availability.parquet.",
    )
    _common(parser)
    parser.add_argument("--format", choices=("webdataset", "parquet", "files"), default="webdataset",
                        help="tar shards of {clip_id}.mp4/.flac/.json (default), Parquet with Audio/Video columns, "
                        "or one folder per split")
    parser.add_argument("--audio-only", action="store_true", help="write FLAC only (no mp4)")
    parser.add_argument("--sample-rate", type=int, default=16_000, help="FLAC sample rate, mono (default 16000)")
    parser.set_defaults(run=run_download_command)


def add_availability(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "availability",
        help="check which clips of a dataset can still be fetched (metadata only, no media)",
        description="Ask yt-dlp for each row's video metadata without downloading media, at a bounded rate; "
        "writes OUT/availability.parquet (clip_id, video_id, split, status, detail, checked_at). Resumable.",
    )
    _common(parser)
    parser.set_defaults(run=run_availability_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", metavar="DATASET", help=DATASET_HELP)
    parser.add_argument("--out", required=True, help="output folder (new, empty, or an earlier run to resume)")
    parser.add_argument("--config", default="default", choices=("default", "candidates"), help="dataset config")
    parser.add_argument("--split", action="append", choices=SPLITS, help="split(s) to take (default: all)")
    parser.add_argument("--filter", dest="filters", action="append", default=[], metavar="EXPR",
                        help='row filter such as "sim_av_instance>=0.3" (repeat to AND several)')
    parser.add_argument("--limit", type=int, help="at most N rows (in split, file, row order)")
    parser.add_argument("--test-fraction", type=float, default=0.1,
                        help="records/clip lists only: share of videos put in `test`, as `acav1m build` does")
    parser.add_argument("--shard-size", type=int, default=100, help="rows per shard (the unit of resume)")
    parser.add_argument("--workers", type=int, default=1, help="clips fetched in parallel")
    parser.add_argument("--requests-per-second", type=float, default=1.0,
                        help="at most this many new clips started per second, over all workers (default 1)")
    parser.add_argument("--rate-limit", type=parse_size, help="total download bandwidth, bytes/s (e.g. 5MB)")
    parser.add_argument("--retries", type=int, default=3, help="retries for 429, 5xx and timeouts (default 3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per clip, retries included")
    parser.add_argument("--cookies", help="Netscape cookies file for yt-dlp (never logged)")
    parser.add_argument("--cookies-from-browser", help="yt-dlp's BROWSER[:PROFILE] to read cookies from")
    parser.add_argument("--ffmpeg", help="ffmpeg binary for section downloads (default: PATH, then imageio-ffmpeg)")


def _run(args: argparse.Namespace, metadata_only: bool) -> int:
    from pathlib import Path

    from curation.download.clip import MediaOptions
    from curation.download.plan import STATE
    from curation.download.run import DownloadOptions, run_download
    from curation.download.select import Selection
    from curation.fetch import FetchConfig

    selection = Selection(args.dataset, args.config, tuple(dict.fromkeys(args.split or SPLITS)),
                          tuple(args.filters), args.limit, args.test_fraction)
    media = MediaOptions() if metadata_only else MediaOptions(args.audio_only, args.sample_rate)
    options = DownloadOptions(getattr(args, "format", "webdataset"), media, args.shard_size, args.workers,
                              args.requests_per_second)
    browser = tuple(args.cookies_from_browser.split(":")) if args.cookies_from_browser else None
    fetch_config = FetchConfig(cache_dir=Path(args.out) / STATE / "cache", timeout_s=args.timeout,
                               retries=args.retries, rate_limit=args.rate_limit, ffmpeg_location=args.ffmpeg,
                               cookies_file=args.cookies, cookies_from_browser=browser)
    result = run_download(selection, args.out, fetch_config, options, metadata_only=metadata_only, progress=True)
    stats = result.stats
    if stats.resumed:
        print(f"{stats.resumed} of {stats.rows} rows were finished by an earlier run")
    for line in stats.summary:
        print(line)
    print(f"wrote {result.availability}" + ("" if metadata_only else f" and the media under {result.out}"))
    return 0


def run_download_command(args: argparse.Namespace) -> int:
    return _run(args, metadata_only=False)


def run_availability_command(args: argparse.Namespace) -> int:
    return _run(args, metadata_only=True)

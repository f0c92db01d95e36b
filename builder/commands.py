"""`acav1m build | validate | push | sample-records`: thin argparse front ends over the builder."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$", re.IGNORECASE)
UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_size(text: str) -> int:
    """Bytes from `500MB`-style text; a size that rounds to nothing is refused."""
    match = SIZE.match(text.strip())
    if not match:
        raise ValueError(f"--shard-size {text!r} is not a size (e.g. 500MB, 64MiB)")
    size = int(float(match.group(1)) * UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError(f"--shard-size {text!r}: shard size must be positive")
    return size


def add_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="publish curated records as a dataset directory (Parquet shards, card, Croissant)",
        description="Validate records against the declared schema and write the Hub layout into OUT atomically.",
    )
    parser.add_argument("records", help="records Parquet file or directory (`candidates`- or `default`-shaped)")
    parser.add_argument("out", help="output directory; name it `acav1m` to load it as load_dataset('acav1m')")
    parser.add_argument("--embeddings", help="Parquet of the `embeddings` config")
    parser.add_argument("--media", help="Parquet of the `media` config (only if the licences allow it)")
    parser.add_argument("--run-summary", help="run.json written by `acav1m curate` (thresholds, retention, models)")
    parser.add_argument("--shard-size", default="500MB", help="target shard size (default 500MB)")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="share of source videos in `test`")
    parser.add_argument("--name", default="acav1m", help="dataset name used in the card and Croissant")
    parser.add_argument("--version", dest="release_version", default="0.1.0", help="release version")
    parser.add_argument("--contact", help="takedown contact written into the card")
    parser.add_argument("--date", default="", help="publication date (YYYY-MM-DD); default: the build date")
    parser.add_argument("--exclude", metavar="REMOVALS",
                        help="file of clip ids or video ids to drop from every config (one per line, # comments)")
    parser.add_argument("--previous", metavar="DIR_OR_REPO",
                        help="previous release (built folder or <org>/<name>[@rev]) to compare in RELEASE_NOTES.md")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT even if it is not an earlier acav1m build (deletes its files)")
    parser.add_argument("--availability", help="availability.parquet from `acav1m availability` or `acav1m download`: "
                        "the card reports the available share and check date")
    parser.add_argument("--unavailable", choices=("flag", "drop"), default="flag",
                        help="with --availability: flag gone clips (kept=false, reject_reason `unavailable`) or "
                        "drop them from every config (default flag)")
    parser.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from builder.build import build_dataset
    from builder.release import ReleaseInfo, RunSummary
    from builder.takedown import Removals

    shard_bytes = parse_size(args.shard_size)
    removals = Removals.load(args.exclude) if args.exclude else None
    release = ReleaseInfo(
        name=args.name, version=args.release_version, test_fraction=args.test_fraction, date_published=args.date
    )
    if args.contact:
        release.contact = args.contact
    if args.run_summary:
        release.run = RunSummary.load(args.run_summary)
    inputs = {"records": args.records, "embeddings": args.embeddings, "media": args.media}
    Path(args.out).resolve().parent.mkdir(parents=True, exist_ok=True)  # the availability work folder's home
    with tempfile.TemporaryDirectory(prefix=".acav1m-availability-", dir=Path(args.out).resolve().parent) as work:
        if args.availability:
            from builder.availability import apply_availability

            keyed = {"embeddings": args.embeddings, "media": args.media}
            inputs["records"], keyed, release.availability = apply_availability(
                args.availability, args.unavailable, args.records, Path(work), keyed)
            inputs.update(keyed)
        result = build_dataset(
            args.out, inputs["records"], embeddings=inputs["embeddings"], media=inputs["media"], release=release,
            removals=removals, previous=args.previous, shard_bytes=shard_bytes, progress=True,
            overwrite=args.overwrite,
        )
    for name, stats in result.stats.items():
        print(f"{name}: {dict(stats.rows)} rows, {stats.files_bytes / 2**20:.2f} MiB")
    if result.removals.ids:
        print(f"removed {len(result.removals.removed_clips)} clips listed in {args.exclude}")
    print(f"wrote {result.out_dir}")
    return 0


def add_validate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a built dataset: card vs schema, Parquet files, streaming load, Croissant records",
    )
    parser.add_argument("directory")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming load")
    parser.add_argument("--no-croissant", action="store_true", help="skip Croissant validation and records")
    parser.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from builder.verify import verify_dataset

    report = verify_dataset(args.directory, stream=not args.no_stream, croissant=not args.no_croissant)
    print(report.describe())
    print(f"{args.directory}: valid")
    return 0


def add_push(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a built dataset to the Hugging Face Hub, replacing the repo's published files",
        description="Makes the repo's published files exactly the build's, in one commit (stale shards deleted). "
        "Token from --token, HF_TOKEN or `hf auth login`; never printed. HF_ENDPOINT selects another server.",
    )
    parser.add_argument("directory")
    parser.add_argument("--repo-id", required=True, help="<org>/<name>")
    parser.add_argument("--private", action="store_true", help="create the repo private (if it does not exist)")
    parser.add_argument("--revision", help="branch to push to (created from main if missing)")
    parser.add_argument("--tag", help="tag the pushed commit (e.g. v1.0); croissant.json then names files at the tag")
    parser.add_argument("--commit-message", help="commit title (default: what was published and removed)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request against main instead")
    parser.add_argument("--token", help="Hugging Face token (default: HF_TOKEN or the `hf auth login` token)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded and stop")
    parser.set_defaults(run=run_push)


def run_push(args: argparse.Namespace) -> int:
    from builder.push import check_ref_name, plan_push, push

    for value, what in ((args.revision, "--revision"), (args.tag, "--tag")):
        if value is not None:
            check_ref_name(value, what)
    plan = plan_push(args.directory, args.repo_id)
    print(plan.describe())
    if args.dry_run:
        print("dry run: nothing uploaded")
        return 0
    result = push(plan, private=args.private, revision=args.revision, token=args.token, tag=args.tag,
                  commit_message=args.commit_message, create_pr=args.create_pr)
    print(result.describe())
    return 0


def add_sample_records(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-records", help="write generated candidate records (for trying `build` without curating)"
    )
    parser.add_argument("out", help="output Parquet file")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run_sample_records)


def run_sample_records(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from builder.sample import sample_table

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(sample_table(args.rows, args.seed), args.out)
    print(f"wrote {args.rows} generated records to {args.out}")
    return 0

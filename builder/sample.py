"""Generated candidate records with realistic shapes, for tests, benchmarks and `acav1m sample-records`.

They are labelled as generated in every row (`source = "generated"`) and carry no real content.
Columns are drawn with numpy a chunk at a time, so millions of rows take seconds, not minutes.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from builder.schema import CATEGORIES, CONFIGS

ID_ALPHABET = np.array(list(string.ascii_letters + string.digits + "-_"))
WORDS = np.array(
    "a person plays guitar on stage while the crowd cheers dog barks in a park car engine revs loudly on a street "
    "waves crash against rocks near the shore man speaks to the camera in a quiet room birds sing in the forest "
    "train passes by with a horn players kick a ball across the field rain falls on leaves".split()
)
CHUNK = 50_000


def _captions(rng: np.random.Generator, n: int) -> list[str]:
    """Sentences of 15-30 words, the length of ACAV-1M's condensed captions."""
    lengths = rng.integers(15, 31, n)
    words = rng.choice(WORDS, (n, 30))
    return [" ".join(row[:k]).capitalize() + "." for row, k in zip(words, lengths)]


def _chunk(rng: np.random.Generator, seed: int, first: int, n: int, clips_per_video: int) -> pa.Table:
    index = np.arange(first, first + n)
    videos = index // clips_per_video
    video_ids = ["".join(np.random.default_rng([seed, int(v)]).choice(ID_ALPHABET, 11)) for v in np.unique(videos)]
    video_id = [video_ids[v - videos[0]] for v in videos]
    start = ((index % clips_per_video) * 10).astype(np.float64)
    scores = np.clip(rng.normal(0.1, 0.25, size=(n, 4)), -1, 1).astype(np.float32)
    pass_instance, pass_temporal = scores[:, 2] >= 0.0, scores[:, 3] >= 0.0
    kept = pass_instance & pass_temporal
    reasons = np.where(~pass_instance & ~pass_temporal, "instance,temporal",
                       np.where(~pass_instance, "instance", "temporal"))
    none = pa.nulls(n, pa.bool_())
    columns: dict[str, Any] = {
        "clip_id": [f"{v}_{round(s * 1000):09d}" for v, s in zip(video_id, start)],
        "video_id": video_id,
        "url": [f"https://www.youtube.com/watch?v={v}" for v in video_id],
        "start_time": start,
        "end_time": start + 10.0,
        "caption": _captions(rng, n),
        "audio_caption": _captions(rng, n),
        "visual_caption": _captions(rng, n),
        "caption_language": ["en"] * n,
        "caption_models": ["generated"] * n,
        "caption_prompt_version": ["v1"] * n,
        "sim_text_audio": scores[:, 0],
        "sim_text_visual": scores[:, 1],
        "sim_av_instance": scores[:, 2],
        "sim_av_temporal": scores[:, 3],
        "temporal_contrast": rng.normal(0.05, 0.05, n).astype(np.float32),
        "av_offset_s": rng.normal(0.0, 0.1, n).astype(np.float32),
        "av_offset_confidence": rng.uniform(0, 1, n).astype(np.float32),
        "av_shift_s": pa.nulls(n, pa.float32()),
        "labels": pa.array([[]] * n, pa.list_(pa.string())),
        "label_ids": pa.array([[]] * n, pa.list_(pa.string())),
        "tagger_labels": pa.nulls(n, pa.list_(pa.string())),
        "tagger_scores": pa.nulls(n, pa.list_(pa.float32())),
        "category": np.asarray(CATEGORIES)[rng.integers(len(CATEGORIES), size=n)],
        "category_confidence": rng.uniform(0.2, 1.0, n).astype(np.float32),
        "speech_ratio": rng.uniform(0, 1, n).astype(np.float32),
        "music_ratio": rng.uniform(0, 1, n).astype(np.float32),
        "voiceover": np.zeros(n, dtype=bool),
        "needs_separation": np.zeros(n, dtype=bool),
        "sim_av_instance_separated": pa.nulls(n, pa.float32()),
        "sim_av_temporal_separated": pa.nulls(n, pa.float32()),
        "source": ["generated"] * n,
        "license": ["cc-by-4.0"] * n,
        "source_duration_s": pa.nulls(n, pa.float32()),
        "source_category": pa.nulls(n, pa.string()),
        "source_language": pa.nulls(n, pa.string()),
        "source_language_confidence": pa.nulls(n, pa.float32()),
        "source_license": pa.nulls(n, pa.string()),
        "upload_date": pa.nulls(n, pa.string()),
        "channel_id": pa.nulls(n, pa.string()),
        "pass_language": none,
        "pass_instance": pass_instance,
        "pass_temporal": pass_temporal,
        "pass_sync": none,
        "pass_voiceover": none,
        "kept": kept,
        "reject_reason": pa.array(np.where(kept, None, reasons), pa.string()),
    }
    schema = CONFIGS["candidates"].arrow_schema
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


def sample_batches(n: int, seed: int = 0, clips_per_video: int = 3) -> Iterator[pa.Table]:
    """Candidate rows (the `candidates` config) in chunks of up to 50k rows."""
    rng = np.random.default_rng(seed)
    for first in range(0, n, CHUNK):
        yield _chunk(rng, seed, first, min(CHUNK, n - first), clips_per_video)


def sample_table(n: int, seed: int = 0) -> pa.Table:
    return pa.concat_tables(list(sample_batches(n, seed))) if n else CONFIGS["candidates"].arrow_schema.empty_table()


def sample_records(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    for table in sample_batches(n, seed):
        yield from table.to_pylist()

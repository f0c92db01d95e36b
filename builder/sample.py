"""Generated candidate records with realistic shapes, for tests, benchmarks and `acav1m sample-records`.

They are labelled as generated in every row (`source = "generated"`) and carry no real content.
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


def sample_records(n: int, seed: int = 0, clips_per_video: int = 3) -> Iterator[dict[str, Any]]:
    """Candidate rows (the `candidates` config) with captions of ~15-30 words and scores in [-1, 1]."""
    rng = np.random.default_rng(seed)
    for index in range(n):
        video = index // clips_per_video
        video_id = "".join(np.random.default_rng([seed, video]).choice(ID_ALPHABET, 11))
        start = float((index % clips_per_video) * 10)
        scores = np.clip(rng.normal(0.1, 0.25, size=4), -1, 1).astype(np.float32)
        captions = [" ".join(rng.choice(WORDS, rng.integers(15, 31))).capitalize() + "." for _ in range(3)]
        passes = [bool(s >= 0.0) for s in scores[1:]]
        failed = [name for name, ok in zip(("instance", "temporal"), passes[1:]) if not ok]
        yield {
            "clip_id": f"{video_id}_{round(start * 1000):09d}",
            "video_id": video_id,
            "url": f"https://www.youtube.com/watch?v={video_id}",
            "start_time": start,
            "end_time": start + 10.0,
            "caption": captions[0],
            "audio_caption": captions[1],
            "visual_caption": captions[2],
            "caption_language": "en",
            "caption_models": "generated",
            "caption_prompt_version": "v1",
            "sim_text_audio": float(scores[0]),
            "sim_text_visual": float(scores[1]),
            "sim_av_instance": float(scores[2]),
            "sim_av_temporal": float(scores[3]),
            "temporal_contrast": float(rng.normal(0.05, 0.05)),
            "av_offset_s": float(rng.normal(0.0, 0.1)),
            "av_offset_confidence": float(rng.uniform(0, 1)),
            "category": str(CATEGORIES[rng.integers(len(CATEGORIES))]),
            "category_confidence": float(rng.uniform(0.2, 1.0)),
            "speech_ratio": float(rng.uniform(0, 1)),
            "music_ratio": float(rng.uniform(0, 1)),
            "voiceover": False,
            "needs_separation": False,
            "source": "generated",
            "license": "cc-by-4.0",
            "pass_language": None,
            "pass_instance": passes[1],
            "pass_temporal": passes[2],
            "pass_sync": None,
            "pass_voiceover": None,
            "kept": not failed,
            "reject_reason": ",".join(failed) or None,
        }


def sample_table(n: int, seed: int = 0) -> pa.Table:
    return pa.Table.from_pylist(list(sample_records(n, seed)), schema=CONFIGS["candidates"].arrow_schema)

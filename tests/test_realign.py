"""Re-alignment (ACAV-1M Algorithm 1): a planted 0.4 s audio delay is shifted back, re-scored, then passes sync."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.config import load_config
from curation.media.av_offset import estimate_av_offset
from curation.media.decode import DecodeConfig, decode_clip
from curation.media.synthetic import make_clip
from curation.pipeline import curate

CLIPS = {"DelayedClip": "audio_late", "SyncedClip1": "sync", "Mismatched1": "mismatched"}


def test_planted_delay_is_realigned_and_then_passes_the_sync_check(tmp_path) -> None:
    videos = tmp_path / "cache" / "videos"
    videos.mkdir(parents=True)
    for i, (video_id, variant) in enumerate(CLIPS.items()):
        make_clip(videos / f"{video_id}.mp4", variant, seed=40 + i, duration=12.0)  # room for a shifted window
    (tmp_path / "clips.csv").write_text("".join(f"{v},1,11\n" for v in CLIPS))
    config = load_config(None, [f"output={tmp_path / 'run'}", f"sources.clip_lists=[{tmp_path / 'clips.csv'}]",
                                f"fetch.cache_dir={tmp_path / 'cache'}", "embed.variant=tiny", "filter.mode=none",
                                "filter.sync_max_offset_s=0.15", "filter.realign=true", "media.enabled=true",
                                "sources.license=cc-by-4.0"])
    result = curate(config, progress=False)
    rows = {r["video_id"]: r for r in pq.read_table(result.output / "records.parquet").to_pylist()}
    late, synced, mismatched = rows["DelayedClip"], rows["SyncedClip1"], rows["Mismatched1"]
    assert late["av_shift_s"] == pytest.approx(0.4, abs=0.06)  # the estimate it was shifted by
    assert abs(late["av_offset_s"]) <= 0.06 and late["pass_sync"] and late["kept"]  # after the shift: in sync
    assert (late["start_time"], late["end_time"]) == (1.0, 11.0)  # the frames' span is unchanged
    assert synced["av_shift_s"] == 0.0 and synced["kept"]
    assert mismatched["av_shift_s"] == 0.0 and not mismatched["kept"]  # no confident offset: nothing to shift

    # independently: the audio of [1 + shift, 11 + shift) lines up with the frames of [1, 11) ...
    path = videos / "DelayedClip.mp4"
    frames = decode_clip(path, 1.0, 11.0)
    shifted = decode_clip(path, 1.0 + late["av_shift_s"], 11.0 + late["av_shift_s"], DecodeConfig(motion=False))
    assert abs(estimate_av_offset(frames.motion, 25, shifted.audio, 16_000).offset_s) <= 0.06
    assert estimate_av_offset(frames.motion, 25, frames.audio, 16_000).offset_s == pytest.approx(0.4, abs=0.06)
    # ... and that is the audio published in the media config
    import io

    import soundfile as sf

    media = {r["clip_id"]: r for r in pq.read_table(result.output / "media.parquet").to_pylist()}
    published, _ = sf.read(io.BytesIO(media[late["clip_id"]]["audio"]["bytes"]), dtype="float32")
    assert np.abs(published - shifted.audio).max() < 1e-3  # FLAC PCM_16

    run = json.loads((result.output / "run.json").read_text())
    row = next(r for r in run["retention"] if r["stage"] == "re-aligned, then sync check")
    assert (row["inputs"], row["outputs"]) == (1, 1)

"""`--filters avset`: only the audio-visual instance score is calibrated and thresholded (language stays
ACAV-1M's, temporal is off), and AVSET's Table 2 is reported per source, each stage counting only what it
removed."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.commands import FILTER_PRESETS
from curation.config import load_config
from curation.filters import FilterConfig, apply_filters, normalise
from curation.media.synthetic import make_clip, make_timecode_video
from curation.pipeline import curate


def test_fixed_avset_threshold_is_the_papers_raw_cosine() -> None:
    config = FilterConfig(mode="avset", instance_cosine=0.2564)
    assert config.calibrates is None  # a fixed threshold needs no calibration
    assert config.thresholds() == {"language": 0.6, "instance": pytest.approx((0.2564 + 1) / 2)}
    cos = np.array([0.2563, 0.2565, 0.30, -0.1], np.float32)
    table = pa.table({"sim_text_audio": pa.nulls(4, pa.float32()), "sim_text_visual": pa.nulls(4, pa.float32()),
                      "sim_av_instance": cos, "sim_av_temporal": np.full(4, -0.9, np.float32)})
    outcome = apply_filters(table, config.thresholds(), off_reasons=config.off_reasons())
    assert outcome.table.column("pass_instance").to_pylist() == [False, True, True, False]
    assert outcome.table.column("pass_temporal").to_pylist() == [None] * 4  # a -0.9 temporal score is not judged
    assert "instance score only" in outcome.skipped["temporal"]
    assert FilterConfig(mode="avset").calibrates == ("av_instance",)


def test_avset_preset_thresholds_only_the_av_score_and_table_2_adds_up(tmp_path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    for seed, variant in enumerate(("sync", "mismatched", "silent")):
        make_clip(local / f"{variant}.mp4", variant, seed=seed)
    (tmp_path / "cache" / "videos").mkdir(parents=True)
    make_timecode_video(tmp_path / "cache" / "videos" / "TimeCode_02.mp4", duration=20)
    (tmp_path / "clips.csv").write_text("TimeCode_02,0,10\nTimeCode_02,10,14\n")  # two lengths in one batch
    config = load_config(None, [*FILTER_PRESETS["avset"], f"output={tmp_path / 'run'}",
                                f"sources.directories=[{local}]", f"sources.clip_lists=[{tmp_path / 'clips.csv'}]",
                                f"fetch.cache_dir={tmp_path / 'cache'}", "embed.variant=tiny", "segment.mode=fixed",
                                "voiceover.recycle=false"])
    result = curate(config, progress=False)
    run = json.loads((result.output / "run.json").read_text())
    assert set(run["thresholds"]) == {"instance", "language"} and run["thresholds"]["language"] == 0.6
    assert list(run["extra"]["calibration"]) == ["sim_av_instance"]  # nothing else calibrated
    records = pq.read_table(result.output / "records.parquet")
    rows = records.to_pylist()
    cos = records.column("sim_av_instance").to_numpy(zero_copy_only=False).astype(np.float64)
    expected_pass = normalise(cos) >= run["thresholds"]["instance"]
    assert records.column("pass_instance").to_pylist() == expected_pass.tolist()
    assert all(r["pass_temporal"] is None and r["pass_language"] is None for r in rows)
    table = run["extra"]["avset_retention"]["table"]["sources"]
    assert set(table) == {"local", "youtube", "all"}
    for source in ("local", "youtube"):
        mine = [r for r in rows if r["source"] == source]
        s2 = [r for r in mine if r["pass_instance"]]
        s3 = [r for r in s2 if not r["voiceover"]]
        s4 = s3 + [r for r in s2 if r["voiceover"] and r["needs_separation"]]
        assert [row["clips"] for row in table[source]] == [len(mine), len(s2), len(s3), len(s4)]
    pooled = [row["clips"] for row in table["all"]]
    assert pooled == [a + b for a, b in zip(*([row["clips"] for row in table[s]] for s in ("local", "youtube")))]
    assert pooled[0] == len(rows) == 5
    kept = [r["clip_id"] for r in rows if r["kept"]]
    assert kept == [r["clip_id"] for r in rows if r["pass_instance"] and r["pass_voiceover"]]

"""Calibrated (AVSET) thresholds from the run's own vectors, in the filters' normalised unit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from builder.schema import CONFIGS
from curation.calibrate import calibrated_thresholds
from curation.filters import FilterConfig, apply_filters
from curation.pipeline import VECTOR_SCHEMA


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_thresholds_separate_planted_matches_from_mismatches(tmp_path):
    rng = np.random.default_rng(0)
    n, dim, steps = 300, 32, 10
    matched = rng.random(n) < 0.7
    visual_sec = _unit(rng.normal(size=(n, steps, dim)))
    noise = _unit(rng.normal(size=(n, steps, dim)))
    audio_sec = _unit(np.where(matched[:, None, None], visual_sec + 0.6 * noise, noise))
    audio, visual = _unit(audio_sec.mean(1)), _unit(visual_sec.mean(1))
    vectors = pa.Table.from_pylist([
        {"clip_id": f"v{i:04d}_000000000", "audio": audio[i].tolist(), "visual": visual[i].tolist(), "text": None,
         "audio_sec": audio_sec[i].ravel().tolist(), "visual_sec": visual_sec[i].ravel().tolist()}
        for i in range(n)], schema=VECTOR_SCHEMA)
    base = dict.fromkeys(CONFIGS["default"].column_names)
    scored = pa.Table.from_pylist([
        dict(base, clip_id=f"v{i:04d}_000000000", video_id=f"v{i:04d}",
             sim_av_instance=float(audio[i] @ visual[i]),
             sim_av_temporal=float(np.sum(audio_sec[i] * visual_sec[i], axis=1).mean()))
        for i in range(n)], schema=CONFIGS["default"].arrow_schema)
    video_ids = scored.column("video_id").to_pylist()
    thresholds, report = calibrated_thresholds(vectors, video_ids, scored, FilterConfig(mode="calibrated"))
    assert set(thresholds) == {"instance", "temporal"}  # no captions: no text thresholds
    fit = report["sim_av_instance"]
    assert fit["n_pairs"] >= 10_000 and fit["method"] == "mean+3sigma"
    assert abs(thresholds["instance"] - (fit["threshold"] + 1) / 2) < 1e-12
    kept = np.asarray(apply_filters(scored, FilterConfig(mode="calibrated").thresholds(thresholds)).table
                      .column("kept").to_pylist())
    assert kept[matched].mean() > 0.9 and kept[~matched].mean() < 0.05
    true_fcr = (~matched & kept).sum() / kept.sum()
    assert abs(report["sim_av_instance"]["fcr"]["fcr"] - true_fcr) < 0.05
    from builder.build import build_dataset
    from builder.release import ReleaseInfo, RunSummary
    from builder.sample import sample_records

    run = RunSummary(filter_mode="calibrated", thresholds=thresholds, extra={"calibration": report})
    card = (build_dataset(tmp_path / "acav1m", sample_records(50), release=ReleaseInfo(run=run)).out_dir
            / "README.md").read_text()
    assert "Calibrated thresholds (AVSET-10M)" in card
    assert f"| `sim_av_instance` | {fit['n_pairs']} | {fit['null_mean']:.3f} |" in card

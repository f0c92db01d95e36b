"""AVSET-10M stages in the pipeline: voice-over tagging, separation + re-scoring, Table 2 retention."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import acav1m
from builder.build import build_dataset
from builder.release import ReleaseInfo
from curation.config import load_config
from curation.media.decode import decode_clip
from curation.media.export import clip_mp4_bytes
from curation.media.synthetic import make_clip
from curation.pipeline import curate

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _speech(tmp_path, text: str) -> np.ndarray:
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
    voice, rate = sf.read(wav, dtype="float32")
    return resample_poly(voice, 16_000, rate).astype(np.float32)


THRESHOLD_COLUMNS = {"instance": ("sim_av_instance", "sim_av_instance_separated"),
                     "temporal": ("sim_av_temporal", "sim_av_temporal_separated")}


@pytest.fixture(scope="module")
def avset_run(tmp_path_factory):
    """Two clean clips and two with speech planted over their beeps, curated with the paper-tuned thresholds."""
    tmp_path = tmp_path_factory.mktemp("avset")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    voice = _speech(tmp_path, "A narrator talks over the picture for a few seconds.")[:64_000]  # <= 4 s
    for seed in range(2):
        make_clip(corpus / f"clean_{seed}.mp4", "sync", seed=seed)
        source = tmp_path / f"source_{seed}.mp4"
        make_clip(source, "sync", seed=10 + seed)
        audio = decode_clip(source, 0.0, 10.0).audio
        mixed = audio.copy()
        mixed[48_000:48_000 + len(voice)] += 0.6 * voice  # beeps alone before and after: speech over sound
        (corpus / f"voiceover_{seed}.mp4").write_bytes(clip_mp4_bytes(source, 0.0, 10.0, mixed))
    overrides = [f"output={tmp_path / 'run'}", f"sources.directories=[{corpus}]", "embed.variant=tiny",
                 "segment.mode=fixed", "filter.mode=paper-tuned", "voiceover.enabled=true"]
    return tmp_path, corpus, overrides, curate(load_config(None, overrides), progress=False)


def _rows(result) -> dict[str, dict]:
    return {r["url"].split(".")[0]: r for r in pq.read_table(result.output / "records.parquet").to_pylist()}


def _norm(cos) -> float:
    return (cos + 1.0) / 2.0


def _check_avset_rule(result, thresholds: dict[str, float]) -> list[dict]:
    """kept / needs_separation / Table 2 recomputed from the published columns and the AVSET rule."""
    rows = list(_rows(result).values())
    expected_kept, s2 = [], []
    for row in rows:
        av = all(_norm(row[column]) >= thresholds[name] for name, (column, _) in THRESHOLD_COLUMNS.items())
        separated = all(row[sep] is not None and _norm(row[sep]) >= thresholds[name]
                        for name, (_, sep) in THRESHOLD_COLUMNS.items())
        recycled = av and row["voiceover"] and separated  # through AVSET's S4 thanks to separation
        kept = av and (not row["voiceover"] or separated)  # no language or sync filter in these runs
        assert row["kept"] is kept, row
        assert row["needs_separation"] is recycled, row
        assert row["pass_voiceover"] is (not row["voiceover"] or recycled), row
        expected_kept.append(kept)
        s2.append(av)
    s3 = sum(a and not r["voiceover"] for a, r in zip(s2, rows))
    table = result.summary.extra["avset_retention"]["table"]["sources"]["all"]
    assert [row["clips"] for row in table] == [len(rows), sum(s2), s3, sum(expected_kept)]
    assert result.summary.thresholds == thresholds
    return rows


def test_voiceover_clips_are_flagged_separated_and_judged_at_paper_thresholds(avset_run):
    _, _, _, result = avset_run
    for name, row in _rows(result).items():
        planted = name.startswith("voiceover")
        assert row["voiceover"] is planted, (name, row["speech_ratio"])
        assert (row["sim_av_instance_separated"] is not None) is planted
        if planted:
            assert row["speech_ratio"] > 0.2
            stem, rate = sf.read(result.output / "stems" / f"{row['clip_id']}.flac")
            assert rate == 16_000 and stem.shape == (160_000,)
    assert [r.stage for r in result.summary.retention][-2:] == ["voice-over filter", "recycling (separated)"]
    _check_avset_rule(result, {"language": 0.6, "instance": 0.5, "temporal": 0.7})


def test_separated_scores_equal_the_stems_embedded_directly(avset_run):
    """Every AV score from the decoded clip, and the `_separated` ones from the stored stem, with the embedder
    called directly and the published definitions (README "Temporal alignment", schema descriptions)."""
    from curation.embed import EmbedderConfig, build_embedder

    _, corpus, _, result = avset_run
    embedder = build_embedder(EmbedderConfig(variant="tiny"))
    checked = 0
    for row in _rows(result).values():
        clip = decode_clip(corpus / row["url"], row["start_time"], row["end_time"])
        frames = embedder.embed_frames(clip.frames).astype(np.float64)
        visual = frames.mean(axis=0) / np.linalg.norm(frames.mean(axis=0))
        audio = embedder.embed_audio(clip.audio[None])[0]
        audio_sec = embedder.embed_audio_per_second(clip.audio[None], 2.0, 1.0)[0].astype(np.float64)
        aligned = np.mean([audio_sec[t] @ frames[t] for t in range(10)])
        shifted = [np.mean([audio_sec[t + s] @ frames[t] for t in range(10 - s)]
                           + [audio_sec[t] @ frames[t + s] for t in range(10 - s)]) for s in (1, 2, 3)]
        assert row["sim_av_instance"] == pytest.approx(float(audio @ visual), abs=2e-4)
        assert row["sim_av_temporal"] == pytest.approx(float(aligned), abs=2e-4)
        assert row["temporal_contrast"] == pytest.approx(float(aligned - np.mean(shifted)), abs=2e-4)
        if not row["voiceover"]:
            continue
        stem, _ = sf.read(result.output / "stems" / f"{row['clip_id']}.flac", dtype="float32")
        separated = embedder.embed_audio(stem[None])[0].astype(np.float64)
        per_second = embedder.embed_audio_per_second(stem[None], 2.0, 1.0)[0].astype(np.float64)
        temporal = np.mean([per_second[t] @ frames[t] for t in range(len(frames))])
        assert row["sim_av_instance_separated"] == pytest.approx(float(separated @ visual), abs=2e-4)
        assert row["sim_av_temporal_separated"] == pytest.approx(float(temporal), abs=2e-4)
        assert abs(row["sim_av_instance_separated"] - row["sim_av_instance"]) > 1e-3  # not the unseparated score
        checked += 1
    assert checked == 2


def test_recycling_with_thresholds_the_clips_reach(avset_run):
    """Re-filter a copy of the finished run (its tasks are not redone) at thresholds just under the voice-over
    clips' own scores: they pass stage 2, are flagged at stage 3 and come back through separation at stage 4."""
    tmp_path, _, overrides, first = avset_run
    rows = _rows(first)
    limits = {name: min(_norm(rows[f"voiceover_{i}"][column]) for i in range(2)) - 1e-4
              for name, (column, _) in THRESHOLD_COLUMNS.items()}
    copy = shutil.copytree(first.output, tmp_path / "refiltered")  # the first run's outputs stay as they are
    settings = overrides + [f"output={copy}"] + [f"filter.{k}={v!r}" for k, v in limits.items()]
    result = curate(load_config(None, settings), progress=False)
    rows = _check_avset_rule(result, {"language": 0.6, **limits})
    recycled = [r for r in rows if r["needs_separation"]]
    assert recycled and all(r["voiceover"] for r in recycled)
    card = (build_dataset(tmp_path / "acav1m", result.output / "records.parquet",
                          release=ReleaseInfo(run=result.summary)).out_dir / "README.md").read_text()
    counts = [row["clips"] for row in result.summary.extra["avset_retention"]["table"]["sources"]["all"]]
    assert "AVSET-10M retention (Table 2 form)" in card
    assert f"| S4 | Sample Recycling | {counts[3]:,} |" in card


def test_filters_preset_reaches_the_config(tmp_path, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr("curation.pipeline.curate", lambda config, **_: seen.setdefault("config", config) and sys.exit(0))
    with pytest.raises(SystemExit):
        acav1m.main(["curate", "--filters", "acav1m+avset", "--output", str(tmp_path)])
    assert seen["config"].filter.mode == "paper-tuned" and seen["config"].voiceover.enabled

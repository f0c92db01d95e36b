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


def test_voiceover_clips_are_flagged_separated_and_recycled(tmp_path):
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
    config = load_config(None, [f"output={tmp_path / 'run'}", f"sources.directories=[{corpus}]", "embed.variant=tiny",
                                "segment.mode=fixed", "filter.mode=none", "voiceover.enabled=true"])
    result = curate(config, progress=False)
    rows = {r["url"].split(".")[0]: r for r in pq.read_table(result.output / "records.parquet").to_pylist()}
    for name, row in rows.items():
        planted = name.startswith("voiceover")
        assert row["voiceover"] is planted, (name, row["speech_ratio"])
        assert row["needs_separation"] is planted
        assert (row["sim_av_instance_separated"] is not None) is planted
        assert row["kept"] is True
        if planted:
            assert row["speech_ratio"] > 0.2
            stem, rate = sf.read(result.output / "stems" / f"{row['clip_id']}.flac")
            assert rate == 16_000 and stem.shape == (160_000,)
    assert [r.stage for r in result.summary.retention][-2:] == ["voice-over filter", "recycling (separated)"]
    table = result.summary.extra["avset_retention"]["table"]["sources"]["all"]
    assert [row["clips"] for row in table] == [4, 4, 2, 4]
    card = (build_dataset(tmp_path / "acav1m", result.output / "records.parquet",
                          release=ReleaseInfo(run=result.summary)).out_dir / "README.md").read_text()
    assert "AVSET-10M retention (Table 2 form)" in card and "| 4 | 100.0% |" in card.replace(",", "")


def test_filters_preset_reaches_the_config(tmp_path, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr("curation.pipeline.curate", lambda config, **_: seen.setdefault("config", config) and sys.exit(0))
    with pytest.raises(SystemExit):
        acav1m.main(["curate", "--filters", "acav1m+avset", "--output", str(tmp_path)])
    assert seen["config"].filter.mode == "paper-tuned" and seen["config"].voiceover.enabled

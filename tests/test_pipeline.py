"""The curation pipeline end to end on real generated mp4 files, resume after kill -9, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.build import build_dataset
from builder.release import ReleaseInfo
from curation.config import load_config
from curation.demo import run_demo, serve_directory
from curation.media.synthetic import make_bad_inputs, make_corpus
from curation.pipeline import curate

ROOT = Path(__file__).resolve().parents[1]
TINY = ["embed.variant=tiny", "segment.mode=fixed", "filter.mode=none", "executor.clips_per_task=3"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result, dataset = run_demo(out, per_variant=1, progress=False)
    return result, dataset


def _by_file(records_path: Path) -> dict[str, dict]:
    return {Path(r["url"]).name: r for r in pq.read_table(records_path).to_pylist()}


def test_demo_keeps_synced_clips_and_rejects_shifted_or_mismatched(demo):
    result, _ = demo
    table = pq.read_table(result.output / "records.parquet").to_pylist()
    assert len(table) == 12  # 6 variants x 2 sources (folder + local HTTP through yt-dlp)
    for row in table:
        variant = Path(row["url"]).name.rsplit("_", 1)[0]
        assert row["kept"] is (variant == "sync"), (variant, row["av_offset_s"], row["av_offset_confidence"])
        if variant == "audio_late":
            assert row["av_offset_s"] == pytest.approx(0.4, abs=0.08)
        if variant == "audio_early":
            assert row["av_offset_s"] == pytest.approx(-0.25, abs=0.08)
    assert {row["source"] for row in table} == {"local", "url"}


def test_demo_records_every_score_and_label(demo):
    result, _ = demo
    for row in pq.read_table(result.output / "records.parquet").to_pylist():
        for column in ("sim_av_instance", "sim_av_temporal", "temporal_contrast", "category_confidence"):
            assert row[column] is not None and -1.0 <= row[column] <= 1.0
        assert row["sim_text_audio"] is None  # no captioner in the demo: nothing is faked
        assert row["category"] in {"music", "nature", "speech", "vehicles", "sports", "others"}
    embeddings = pq.read_table(result.output / "embeddings.parquet")
    assert embeddings.num_rows == 12


def test_demo_run_summary_is_honest(demo):
    result, dataset = demo
    assert result.summary.random_weights
    assert "language" in result.summary.skipped_filters
    stages = [row.stage for row in result.summary.retention]
    assert stages == ["read inputs", "fetch", "segment", "decode", "embed", "score", "voiceover", "categorise",
                      "sync filter", "voice-over filter", "recycling (separated)"]
    avset = result.summary.extra["avset_retention"]
    # Table 2 counts only AVSET's stages: no audio-visual threshold in the demo (random weights), so S2 keeps all;
    # the sync filter, not an AVSET stage, is reported beside it
    assert [row["clips"] for row in avset["table"]["sources"]["all"]] == [12, 12, 12, 12]
    assert [row["clips"] for row in avset["table"]["sources"]["local"]] == [6, 6, 6, 6]
    assert avset["removed_by_other_filters"] == 10 and avset["kept"] == 2
    card = (dataset / "README.md").read_text()
    assert "Random-weight models" in card
    assert "| sync filter | 12 | 2 | 0 | 16.7% | 16.7% |" in card
    assert "AVSET-10M retention (Table 2 form)" in card
    assert (result.output / "config.yaml").read_text().count("variant: tiny") == 1


def test_demo_publishes_media_that_streams_and_decodes(demo):
    import datasets

    _, dataset = demo
    media = datasets.load_dataset(str(dataset), "media", split="train", streaming=True)
    rows = list(media)
    kept = datasets.load_dataset(str(dataset), split="train", streaming=True)
    assert {r["clip_id"] for r in rows} == {r["clip_id"] for r in kept}
    samples = rows[0]["audio"].get_all_samples()
    assert samples.sample_rate == 16_000 and samples.data.shape == (1, 160_000)
    video = rows[0]["video"]
    assert video.metadata.num_frames == 250 and abs(video.metadata.duration_seconds - 10.0) < 0.1


def test_rerun_skips_finished_tasks(demo):
    result, _ = demo
    before = (result.output / "records.parquet").read_bytes()
    config = load_config(result.output / "config.yaml")
    markers = {p: p.stat().st_mtime_ns for p in (result.output / "tasks").glob("*/stats.json")}
    again = curate(config, progress=False)
    assert markers and all(p.stat().st_mtime_ns == mtime for p, mtime in markers.items()), "a finished task reran"
    assert (again.output / "records.parquet").read_bytes() == before


def _curate_cmd(out: Path, corpus: Path) -> list[str]:
    args = ["curate", "--output", str(out), "--set", f"sources.directories=[{corpus}]", *sum((["--set", o] for o in TINY), [])]
    return [sys.executable, "-c", f"import sys, acav1m; sys.exit(acav1m.main({args!r}))"]


def _finished_tasks(run: Path) -> list[str]:
    root = run / "tasks"
    return sorted(p.name for p in root.iterdir() if "." not in p.name) if root.is_dir() else []


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, 2, seed=5)  # 12 clips, ~3 a task
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    clean = tmp_path / "clean"
    subprocess.run(_curate_cmd(clean, corpus), check=True, env=env, cwd=ROOT, capture_output=True, timeout=600)

    killed = tmp_path / "killed"
    process = subprocess.Popen(_curate_cmd(killed, corpus), env=env, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not _finished_tasks(killed) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "records.parquet").exists(), "the run must have been killed before it finished"
    assert 1 <= len(_finished_tasks(killed)) < len(_finished_tasks(clean))

    subprocess.run(_curate_cmd(killed, corpus), check=True, env=env, cwd=ROOT, capture_output=True, timeout=600)
    for name in ("records.parquet", "embeddings.parquet", "errors.parquet"):
        assert (killed / name).read_bytes() == (clean / name).read_bytes(), name
    assert not list((killed / "tasks").glob("*.partial"))


def test_bad_inputs_are_recorded_and_the_run_completes(tmp_path):
    corpus = tmp_path / "corpus"
    bad = make_bad_inputs(corpus)
    for name, (path, reason) in bad.items():
        if path.suffix != ".mp4":  # e.g. audio_only.m4a: the folder scan reads video extensions only
            bad[name] = (path.rename(path.with_suffix(".mp4")), reason)
    make_corpus(corpus / "good", 1, seed=3)
    clip_list = tmp_path / "clips.csv"
    clip_list.write_text("videoID,start,end\nshort,0,10\n../../etc/passwd,0,10\nabcdefghijk,x,10\nabcdefghijk,5\n")
    served = tmp_path / "served"
    make_corpus(served, 1, seed=4)
    with serve_directory(served) as base:
        url_list = tmp_path / "urls.txt"
        url_list.write_text(f"{base}/sync_000.mp4\n{base}/sync_000.mp4\n{base}/missing.mp4\n"
                            "http://127.0.0.1:9/unreachable.mp4\n")
        config = load_config(None, [f"output={tmp_path / 'run'}", f"sources.directories=[{corpus}]",
                                    f"sources.clip_lists=[{clip_list}]", f"sources.url_lists=[{url_list}]",
                                    "fetch.retries=0", "fetch.timeout_s=30", *TINY])
        result = curate(config, progress=False)
    errors = pq.read_table(result.output / "errors.parquet").to_pylist()
    records = pq.read_table(result.output / "records.parquet").to_pylist()
    assert len(records) == 7  # every good clip is in the output: 6 from the folder, 1 over HTTP
    read_errors = [e for e in errors if e["stage"] == "read"]
    assert sorted(e["reason"] for e in read_errors) == [
        "duplicate", "invalid_video_id", "invalid_video_id", "malformed_row", "malformed_row"]
    fetch_errors = sorted(e["reason"] for e in errors if e["stage"] == "fetch")
    assert fetch_errors == ["download_failed", "http_404"], fetch_errors  # refused connection, missing file
    by_reason = {e["reason"] for e in errors if e["stage"] != "read"}
    for name, (_, reason) in bad.items():
        assert reason in by_reason, (name, reason, by_reason)
    for error in errors:
        assert error["reason"] and error["stage"]
        assert error["input"] and error["origin"], error  # a person can find the file behind every row
    by_input = {e["input"]: e for e in errors}
    assert by_input[f"{base}/missing.mp4"]["origin"] == f"{url_list}:3"
    assert by_input[f"{base}/missing.mp4"]["reason"] == "http_404"
    assert {e["origin"] for e in read_errors} >= {f"{clip_list}:3", f"{clip_list}:4"}
    for name, (path, _) in bad.items():
        assert str(path) in by_input and by_input[str(path)]["origin"] == str(corpus.resolve()), name
    examples = json.loads((result.output / "stats.json").read_text())["failure_examples"]
    assert examples["fetch:http_404"][0]["input"] == f"{base}/missing.mp4"


def test_mi_selection_keeps_the_requested_number_of_clips(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, 2, seed=8)
    config = load_config(None, [f"output={tmp_path / 'run'}", f"sources.directories=[{corpus}]", *TINY,
                                "selection.enabled=true", "selection.target_size=5", "selection.n_clusters=3"])
    result = curate(config, progress=False)
    rows = pq.read_table(result.output / "records.parquet").to_pylist()
    assert sum(r["kept"] for r in rows) == 5
    assert sum(r["reject_reason"] == "selection" for r in rows) == 7
    # selection clustered every hooked trunk block (tiny ImageBind: 2 per trunk), from features.parquet
    features = pq.read_table(result.output / "features.parquet")
    layer_columns = [f"{m}_imagebind_block{i:02d}" for m in ("audio", "visual") for i in (0, 1)]
    assert features.column_names == ["clip_id", *layer_columns] and features.num_rows == 12
    assert features.schema.field("audio_imagebind_block01").type.value_type == pa.float16()
    used = json.loads((result.output / "run.json").read_text())["extra"]["selection"]
    assert (used["clusterings"], used["pairs"], used["pairing"]) == (4, 4, "bipartite")
    histograms = used["diversity_histograms"]
    assert sorted(histograms) == sorted(layer_columns)
    for h in histograms.values():  # every clustering counts the 5 selected clips, and 5 random ones
        assert sum(h["selected"]) == 5 and sum(h["random"]) == 5 and len(h["selected"]) == len(h["random"])
    built = build_dataset(tmp_path / "acav1m", result.output / "records.parquet",
                          release=ReleaseInfo(date_published="2026-11-30", run=result.summary)).out_dir
    assert (built / "images" / "selection_diversity.png").is_file()
    assert "images/selection_diversity.png" in (built / "README.md").read_text()
    from curation.selection.cli import main as select_main

    assert select_main([str(result.output), "--size", "5", "--out", str(tmp_path / "sel.parquet")]) == 0
    assert pq.read_table(tmp_path / "sel.parquet").num_rows == 5
    assert result.summary.retention[-1].stage == "MI subset selection"

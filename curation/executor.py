"""Run stages over candidates split into tasks, locally, with atomic per-task outputs and resume.

Each task writes its outputs into `tasks/<i>.partial/`, then renames that directory to `tasks/<i>/`:
the rename is the completion marker. A rerun skips finished tasks and discards partial ones, so a run
killed at any point (even with kill -9) resumes with no lost and no duplicated records.
Like datatrove's LocalPipelineExecutor, tasks run in worker processes; each process sets up every
stage (and so loads every model) once.
"""

from __future__ import annotations

import json
import multiprocessing
from abc import ABC, abstractmethod
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from curation.record import ClipRecord, Failure
from curation.sources import Candidate
from curation.stage import Stage

ERROR_SCHEMA = pa.schema(
    [("clip_id", pa.string()), ("stage", pa.string()), ("reason", pa.string()), ("detail", pa.string())]
)


@dataclass(frozen=True)
class ExecutorConfig:
    workers: int = 1  # task processes; 1 runs in this process
    clips_per_task: int = 16
    batch_size: int = 8  # records per stage call


@dataclass
class StageCounts:
    inputs: int = 0
    outputs: int = 0
    failures: int = 0

    def add(self, other: StageCounts) -> None:
        self.inputs += other.inputs
        self.outputs += other.outputs
        self.failures += other.failures


@dataclass
class TaskResult:
    index: int
    counts: dict[str, StageCounts] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # "stage:reason" -> clips
    stage_stats: dict[str, dict] = field(default_factory=dict)  # stage -> counters spent on this task


class TaskWriter(ABC):
    """Turns finished records into the task's tables; the pipeline decides which columns it keeps."""

    @abstractmethod
    def rows(self, record: ClipRecord) -> dict[str, dict]:
        """Table name -> one row for this record."""

    @abstractmethod
    def schemas(self) -> dict[str, pa.Schema]:
        """Table name -> Arrow schema of the task's output tables."""


def task_dir(output: Path, index: int) -> Path:
    return output / "tasks" / f"{index:05d}"


def run_tasks(
    stages: Sequence[Stage],
    candidates: Sequence[Candidate],
    output: Path,
    writer: TaskWriter,
    config: ExecutorConfig = ExecutorConfig(),
    progress: bool = True,
) -> list[TaskResult]:
    """Run every unfinished task; return the per-task counts of all tasks (finished earlier or now)."""
    (output / "tasks").mkdir(parents=True, exist_ok=True)
    size = max(1, config.clips_per_task)
    tasks = [(i, list(candidates[start:start + size])) for i, start in enumerate(range(0, len(candidates), size))]
    todo = [(i, chunk) for i, chunk in tasks if not task_dir(output, i).is_dir()]
    with tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="tasks", unit="task", disable=not progress) as bar:
        jobs = [(index, chunk, output, writer, config.batch_size) for index, chunk in todo]
        if config.workers <= 1 or len(jobs) <= 1:
            if jobs:
                _setup_worker(stages)
            for job in jobs:
                _run_task(_WORKER_STAGES, *job)
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")  # fork + torch/CUDA threads is unsafe
            with context.Pool(min(config.workers, len(jobs)), initializer=_setup_worker, initargs=(stages,)) as pool:
                for _ in pool.imap_unordered(_run_in_worker, jobs):
                    bar.update()
    return [load_task_result(output, index) for index, _ in tasks]


_WORKER_STAGES: Sequence[Stage] = ()  # this process's stages, set up once (models loaded once)


def _setup_worker(stages: Sequence[Stage]) -> None:
    global _WORKER_STAGES
    for stage in stages:
        stage.setup()
    _WORKER_STAGES = stages


def _run_in_worker(job: tuple) -> None:
    _run_task(_WORKER_STAGES, *job)


def _run_task(
    stages: Sequence[Stage], index: int, chunk: list[Candidate], output: Path, writer: TaskWriter, batch_size: int
) -> None:
    final = task_dir(output, index)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = TaskResult(index, {stage.name: StageCounts() for stage in stages})
    before = {stage.name: stage.stats() for stage in stages}
    tables: dict[str, list[dict]] = {name: [] for name in writer.schemas()}
    errors: list[dict] = []
    for start in range(0, len(chunk), batch_size):
        batch = [ClipRecord(candidate) for candidate in chunk[start:start + batch_size]]
        for record in _through(stages, batch, result, errors):
            for name, row in writer.rows(record).items():
                tables[name].append(row)
    for stage in stages:
        spent = counter_delta(before[stage.name], stage.stats())
        if spent:
            result.stage_stats[stage.name] = spent
    for name, schema in writer.schemas().items():
        pq.write_table(pa.Table.from_pylist(tables[name], schema=schema), partial / f"{name}.parquet")
    pq.write_table(pa.Table.from_pylist(errors, schema=ERROR_SCHEMA), partial / "errors.parquet")
    (partial / "stats.json").write_text(json.dumps(_result_to_json(result), indent=1))
    _fsync_dir(partial)
    os.replace(partial, final)  # the completion marker


def _through(
    stages: Sequence[Stage], batch: list[ClipRecord], result: TaskResult, errors: list[dict]
) -> Iterator[ClipRecord]:
    for stage in stages:
        counts = result.counts[stage.name]
        counts.inputs += len(batch)
        survivors = []
        for item in stage.process(batch):
            if isinstance(item, Failure):
                counts.failures += 1
                result.reasons[f"{item.stage}:{item.reason}"] += 1
                errors.append({"clip_id": item.clip_id, "stage": item.stage, "reason": item.reason, "detail": item.detail})
            else:
                survivors.append(item)
        counts.outputs += len(survivors)
        batch = survivors
        if not batch:
            return
    for record in batch:
        record.release_media()
        yield record


def _result_to_json(result: TaskResult) -> dict:
    return {
        "index": result.index,
        "counts": {name: vars(c) for name, c in result.counts.items()},
        "reasons": dict(result.reasons),
        "stage_stats": result.stage_stats,
    }


def load_task_result(output: Path, index: int) -> TaskResult:
    data = json.loads((task_dir(output, index) / "stats.json").read_text())
    return TaskResult(
        data["index"], {name: StageCounts(**c) for name, c in data["counts"].items()}, Counter(data["reasons"]),
        data.get("stage_stats", {}),
    )


def counter_delta(before: dict, after: dict) -> dict:
    """Numeric leaves of `after` minus `before` (nested dicts), dropping zeros."""
    delta = {}
    for key, value in after.items():
        if isinstance(value, dict):
            inner = counter_delta(before.get(key, {}), value)
            if inner:
                delta[key] = inner
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value != before.get(key, 0):
            delta[key] = value - before.get(key, 0)
    return delta


def counter_sum(total: dict, more: dict) -> dict:
    for key, value in more.items():
        total[key] = counter_sum(total.get(key, {}), value) if isinstance(value, dict) else total.get(key, 0) + value
    return total


def read_task_tables(
    output: Path, results: Sequence[TaskResult], name: str, columns: list[str] | None = None
) -> pa.Table:
    """Concatenate one table over the given tasks, in task order (deterministic whatever the run order)."""
    tables = [pq.read_table(task_dir(output, r.index) / f"{name}.parquet", columns=columns) for r in results]
    return pa.concat_tables(tables) if tables else pa.table({})


def _fsync_dir(path: Path) -> None:
    for file in path.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())

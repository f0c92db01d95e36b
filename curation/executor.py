"""The local executor: tasks (see `curation.tasks`) in worker processes on this machine.

Like datatrove's LocalPipelineExecutor, each worker process sets every stage up once (models load once
per process) and runs whole tasks; a task's outputs appear atomically, so a run killed at any point (even
with kill -9) resumes with no lost and no duplicated records, and reuses only tasks whose fingerprint
(inputs + stage settings) matches.
"""

from __future__ import annotations

import json
import multiprocessing
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from curation import progress as progress_lines
from curation.record import ClipRecord, Failure
from curation.sources import Candidate
from curation.stage import Stage
from curation.tasks import Task, clean_partials, commit_task, plan_tasks, task_dir, tasks_to_run

ERROR_SCHEMA = pa.schema([
    ("clip_id", pa.string()), ("stage", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
    ("video_id", pa.string()),
    ("input", pa.string()),  # what was read: the URL or the local file
    ("origin", pa.string()),  # where it was listed: "list.csv:12", or the scanned folder
])


def error_row(clip_id: str | None, stage: str, reason: str, detail: str, candidate: Candidate | None) -> dict:
    """One errors-table row that names the input behind the failure, so a person can find the file."""
    return {"clip_id": clip_id, "stage": stage, "reason": reason, "detail": detail,
            "video_id": candidate.video_id if candidate else None,
            "input": (candidate.local_path or candidate.url) if candidate else None,
            "origin": candidate.origin if candidate else None}


@dataclass(frozen=True)
class ExecutorConfig:
    workers: int = 1  # task processes; 1 runs in this process
    clips_per_task: int = 16  # mean candidates per task (tasks are cut by content, see curation.tasks)
    batch_size: int = 8  # records per stage call
    redo_changed: bool = True  # False: refuse (one line) instead of redoing a task whose inputs/settings changed


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
    key: str
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


def stage_settings(stages: Sequence[Stage], config: ExecutorConfig) -> dict:
    """Everything a task's records depend on besides its inputs (part of every task's fingerprint)."""
    settings = {stage.name: stage.output_settings() for stage in stages}
    settings["executor"] = {"batch_size": config.batch_size}
    return settings


def run_tasks(
    stages: Sequence[Stage],
    candidates: Sequence[Candidate],
    output: Path,
    writer: TaskWriter,
    config: ExecutorConfig = ExecutorConfig(),
    progress: bool = True,
) -> list[TaskResult]:
    """Run every task not finished with the same fingerprint; return the results of all tasks, in plan order."""
    output = Path(output)
    (output / "tasks").mkdir(parents=True, exist_ok=True)
    clean_partials(output)
    tasks = plan_tasks(candidates, config.clips_per_task)
    todo, reused = tasks_to_run(output, tasks, stage_settings(stages, config), config.redo_changed)
    with tqdm(total=len(tasks), initial=reused, desc="tasks", unit="task", disable=not progress) as bar:
        jobs = [(task, fingerprint, output, writer, config.batch_size) for task, fingerprint in todo]
        if config.workers <= 1 or len(jobs) <= 1:
            if jobs:
                _setup_worker(stages)
            progress_lines.set_sink(lambda message: bar.set_postfix_str(message[:80]))
            try:
                for job in jobs:
                    _run_task(_WORKER_STAGES, *job)
                    bar.set_postfix_str("")
                    bar.update()
            finally:
                progress_lines.set_sink(None)
        else:
            context = multiprocessing.get_context("spawn")  # fork + torch/CUDA threads is unsafe
            with context.Pool(min(config.workers, len(jobs)), initializer=_setup_worker,
                              initargs=(stages, progress)) as pool:
                for _ in pool.imap_unordered(_run_in_worker, jobs):
                    bar.update()
    return [load_task_result(output, task.key) for task in tasks]


_WORKER_STAGES: Sequence[Stage] = ()  # this process's stages, set up once (models loaded once)


def _setup_worker(stages: Sequence[Stage], show_status: bool = False) -> None:
    global _WORKER_STAGES
    if show_status:  # a worker process has no bar of its own: its status lines are printed
        progress_lines.set_sink(lambda message: tqdm.write(message))
    for stage in stages:
        stage.setup()
    _WORKER_STAGES = stages


def _run_in_worker(job: tuple) -> None:
    _run_task(_WORKER_STAGES, *job)


def run_task(stages: Sequence[Stage], task: Task, batch_size: int) -> tuple[TaskResult, dict[str, list[dict]], list[dict]]:
    """Run set-up stages over one task in memory: (counts, rows per writer table, error rows)."""
    result = TaskResult(task.key, {stage.name: StageCounts() for stage in stages})
    before = {stage.name: stage.stats() for stage in stages}
    records: list[ClipRecord] = []
    errors: list[dict] = []
    for start in range(0, len(task.candidates), batch_size):
        batch = [ClipRecord(candidate) for candidate in task.candidates[start:start + batch_size]]
        records += _through(stages, batch, result, errors)
    for stage in stages:
        spent = counter_delta(before[stage.name], stage.stats())
        if spent:
            result.stage_stats[stage.name] = spent
    return result, records, errors


def write_task(partial: Path, writer: TaskWriter, result: TaskResult, records: list[ClipRecord], errors: list[dict]) -> None:
    """The task's files, inside its not-yet-visible directory."""
    tables: dict[str, list[dict]] = {name: [] for name in writer.schemas()}
    for record in records:
        for name, row in writer.rows(record).items():
            tables[name].append(row)
    for name, schema in writer.schemas().items():
        pq.write_table(pa.Table.from_pylist(tables[name], schema=schema), partial / f"{name}.parquet")
    pq.write_table(pa.Table.from_pylist(errors, schema=ERROR_SCHEMA), partial / "errors.parquet")
    (partial / "stats.json").write_text(json.dumps(_result_to_json(result), indent=1, sort_keys=True))


def _run_task(stages: Sequence[Stage], task: Task, fingerprint: dict, output: Path, writer: TaskWriter,
              batch_size: int) -> None:
    result, records, errors = run_task(stages, task, batch_size)
    commit_task(output, fingerprint, lambda partial: write_task(partial, writer, result, records, errors))


def _through(
    stages: Sequence[Stage], batch: list[ClipRecord], result: TaskResult, errors: list[dict]
) -> Iterator[ClipRecord]:
    for stage in stages:
        counts = result.counts[stage.name]
        counts.inputs += len(batch)
        survivors = []
        by_clip = {record.clip_id: record.candidate for record in batch}
        by_video = {record.candidate.video_id: record.candidate for record in batch}
        for item in stage.process(batch):
            if isinstance(item, Failure):
                counts.failures += 1
                result.reasons[f"{item.stage}:{item.reason}"] += 1
                candidate = by_clip.get(item.clip_id) or by_video.get(item.clip_id.rsplit("_", 1)[0])
                errors.append(error_row(item.clip_id, item.stage, item.reason, item.detail, candidate))
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
        "key": result.key,
        "counts": {name: vars(c) for name, c in result.counts.items()},
        "reasons": dict(result.reasons),
        "stage_stats": result.stage_stats,
    }


def load_task_result(output: Path, key: str) -> TaskResult:
    data = json.loads((task_dir(output, key) / "stats.json").read_text())
    return TaskResult(
        data["key"], {name: StageCounts(**c) for name, c in data["counts"].items()}, Counter(data["reasons"]),
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
    tables = [pq.read_table(task_dir(output, r.key) / f"{name}.parquet", columns=columns) for r in results]
    return pa.concat_tables(tables) if tables else pa.table({})

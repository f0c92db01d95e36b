"""Executors: run the tasks (see `curation.tasks`) locally in worker processes, or on Ray.

Like datatrove's LocalPipelineExecutor, each local worker process sets every stage up once (models load
once per process) and runs whole tasks; a task's outputs appear atomically, so a run killed at any point
(even with kill -9) resumes with no lost and no duplicated records, and reuses only tasks whose
fingerprint (inputs + stage settings) matches. `executor.backend=ray` runs the same tasks through the same
`TaskState` steps on a Ray cluster (`curation.ray_executor`), so both give the same bytes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from curation import progress as progress_lines
from curation.errors import ClipError, ContractError
from curation.record import ClipRecord, Failure
from curation.sources import Candidate
from curation.stage import Resources, Stage
from curation.tasks import Task, clean_partials, commit_task, plan_tasks, task_dir, tasks_to_run

log = logging.getLogger("acav1m.executor")
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


BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class ExecutorConfig:
    backend: str = "local"  # "local": processes on this machine; "ray": a Ray cluster (pip install acav1m[ray])
    workers: int = 1  # local: task processes (1 runs in this process); ray: most actors per model pool
    clips_per_task: int = 16  # mean candidates per task (tasks are cut by content, see curation.tasks)
    batch_size: int = 8  # records per stage call
    redo_changed: bool = True  # False: refuse (one line) instead of redoing a task whose inputs/settings changed
    # ray only: None starts a private local Ray (unless RAY_ADDRESS is set); "auto" or "ray://host:10001" joins
    ray_address: str | None = None
    ray_temp_dir: str | None = None  # the private Ray's session files; default <output>/ray (or /tmp if too long)
    no_progress_timeout_s: float = 900.0  # ray: fail with a clear error when no task finished for this long

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"config executor.backend: {self.backend!r} is not one of {', '.join(BACKENDS)}")
        if self.workers < 1 or self.clips_per_task < 1 or self.batch_size < 1:
            raise ValueError("config executor: workers, clips_per_task and batch_size must be at least 1")


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


def worker_resources(stages: Sequence[Stage]) -> Resources:
    """What one worker running these stages one after another needs: the most CPUs and GPUs any of them
    declares, and the memory of each distinct model once (embed, voiceover and categorise share one
    embedder per process)."""
    if not stages:
        return Resources(cpus=0.0, memory_gb=0.0)
    by_model: dict[str | None, float] = {}
    for stage in stages:
        key = stage.resources.model or f"stage:{stage.name}"
        by_model[key] = max(by_model.get(key, 0.0), stage.resources.memory_gb)
    models = sorted({s.resources.model for s in stages if s.resources.model})
    return Resources(cpus=max(s.resources.cpus for s in stages), gpus=max(s.resources.gpus for s in stages),
                     memory_gb=round(sum(by_model.values()), 3), model=",".join(models) or None)


def local_workers(stages: Sequence[Stage], wanted: int, tasks: int) -> int:
    """Worker processes that fit this machine: each needs `worker_resources` (its GPUs, its memory)."""
    need = worker_resources(stages)
    workers = max(1, min(wanted, tasks))
    gpus = 0
    if need.gpus > 0:
        import torch

        gpus = torch.cuda.device_count()
        workers = min(workers, int(gpus // need.gpus))
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    fits = max(1, min(workers, int(total_gb // max(need.memory_gb, 0.1))))
    if fits < min(wanted, tasks):
        log.warning("executor.workers=%d: running %d, as each needs %g GPUs and %.1f GB (this machine: %d GPUs, "
                    "%.0f GB)", wanted, fits, need.gpus, need.memory_gb, gpus, total_gb)
    return fits


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
        if config.backend == "ray" and todo:
            from curation.ray_executor import run_on_ray  # Ray is an extra, imported only when chosen

            run_on_ray(stages, todo, output, writer, config, on_done=lambda key: bar.update())
            return [load_task_result(output, task.key) for task in tasks]
        jobs = [(task, fingerprint, output, writer, config.batch_size) for task, fingerprint in todo]
        workers = local_workers(stages, config.workers, len(jobs))
        if workers <= 1:
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
            with context.Pool(workers, initializer=_setup_worker,
                              initargs=(stages, progress)) as pool:
                for _ in pool.imap_unordered(_run_in_worker, jobs):
                    bar.update()
    return [load_task_result(output, task.key) for task in tasks]


_WORKER_STAGES: Sequence[Stage] = ()  # this process's stages, set up once (models loaded once)


def _setup_worker(stages: Sequence[Stage], show_status: bool = False) -> None:
    global _WORKER_STAGES
    if show_status:  # a worker process has no bar of its own: its status lines are printed
        progress_lines.set_sink(lambda message: tqdm.write(message))
    set_up(stages)
    _WORKER_STAGES = stages


def set_up(stages: Sequence[Stage]) -> None:
    """Set the stages up in this worker, with as many torch threads as they declare CPUs: float sums
    depend on how work is split over threads, so a fixed count gives the same bytes on any machine and
    under any executor."""
    try:
        import torch
    except ImportError:  # torch is an extra: stages without models do not need it
        pass
    else:
        torch.set_num_threads(max(1, round(worker_resources(stages).cpus)))
    for stage in stages:
        stage.setup()


def _run_in_worker(job: tuple) -> None:
    _run_task(_WORKER_STAGES, *job)


@dataclass
class TaskState:
    """A task part-way through the stages: its records batch by batch, so that running the stages in groups
    (on Ray: CPU stages as tasks, model stages in actors) feeds every stage exactly the batches that running
    them all in one process would, and the output bytes are the same."""

    result: TaskResult
    batches: list[list[ClipRecord]]
    errors: list[list[dict]]  # error rows per batch, in the order the stages produced them


def start_task(task: Task, stage_names: Sequence[str], batch_size: int) -> TaskState:
    result = TaskResult(task.key, {name: StageCounts() for name in stage_names})
    batches = [[ClipRecord(candidate) for candidate in task.candidates[start:start + batch_size]]
               for start in range(0, len(task.candidates), batch_size)]
    return TaskState(result, batches, [[] for _ in batches])


def advance(stages: Sequence[Stage], state: TaskState, last: bool = True) -> TaskState:
    """Run set-up stages over every batch of the task and record what each stage spent (its stats delta).

    `last`: these stages end the chain, so a batch's decoded media is freed as soon as it is through
    (memory stays at one batch of media per task)."""
    before = {stage.name: stage.stats() for stage in stages}
    for i, batch in enumerate(state.batches):
        state.batches[i] = _through(stages, batch, state.result, state.errors[i])
        for record in state.batches[i] if last else ():
            record.release_media()
    for stage in stages:
        spent = counter_delta(before[stage.name], stage.stats())
        if spent:
            state.result.stage_stats[stage.name] = spent
    return state


def finish_task(state: TaskState) -> tuple[TaskResult, list[ClipRecord], list[dict]]:
    records = [record for batch in state.batches for record in batch]
    return state.result, records, [row for rows in state.errors for row in rows]


def run_task(stages: Sequence[Stage], task: Task, batch_size: int) -> tuple[TaskResult, list[ClipRecord], list[dict]]:
    """Run set-up stages over one task in memory: (counts, finished records, error rows)."""
    return finish_task(advance(stages, start_task(task, [stage.name for stage in stages], batch_size)))


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


def commit_state(output: Path, fingerprint: dict, writer: TaskWriter, state: TaskState) -> None:
    """Write a finished task's files and make them appear at once (safe to repeat: a retried worker
    rewrites the same bytes)."""
    result, records, errors = finish_task(state)
    commit_task(output, fingerprint, lambda partial: write_task(partial, writer, result, records, errors))


def _run_task(stages: Sequence[Stage], task: Task, fingerprint: dict, output: Path, writer: TaskWriter,
              batch_size: int) -> None:
    state = start_task(task, [stage.name for stage in stages], batch_size)
    commit_state(output, fingerprint, writer, advance(stages, state))


def _through(stages: Sequence[Stage], batch: list[ClipRecord], result: TaskResult, errors: list[dict]) -> list[ClipRecord]:
    for stage in stages:
        if not batch:
            break
        counts = result.counts[stage.name]
        counts.inputs += len(batch)
        survivors = []
        by_clip = {record.clip_id: record.candidate for record in batch}
        by_video = {record.candidate.video_id: record.candidate for record in batch}
        for item in _process(stage, batch):
            if isinstance(item, Failure):
                counts.failures += 1
                result.reasons[f"{item.stage}:{item.reason}"] += 1
                candidate = by_clip.get(item.clip_id) or by_video.get(item.clip_id.rsplit("_", 1)[0])
                errors.append(error_row(item.clip_id, item.stage, item.reason, item.detail, candidate))
            else:
                survivors.append(item)
        counts.outputs += len(survivors)
        batch = survivors
    return batch


def _process(stage: Stage, batch: list[ClipRecord]) -> list[ClipRecord | Failure]:
    """The stage over the batch; if it raises, over each record alone, so one bad clip becomes one error
    row (reason `stage_error`, or the ClipError's reason) instead of a failed batch or a failed run."""
    try:
        return list(stage.process(batch))
    except ContractError:
        raise
    except Exception as error:  # noqa: BLE001 - any stage bug on one clip must not end the run
        if len(batch) > 1:
            return [item for record in batch for item in _process(stage, [record])]
        if isinstance(error, ClipError):
            return [Failure(batch[0].clip_id, stage.name, error.reason, error.detail)]
        return [Failure(batch[0].clip_id, stage.name, "stage_error", f"{type(error).__name__}: {error}")]


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

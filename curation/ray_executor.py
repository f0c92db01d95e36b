"""The Ray executor: the local executor's tasks, fingerprints and task files, run on a Ray cluster.

Tasks flow through Ray Data as rows (one row, one block per task). The stages are placed by their
declared `Resources` (`placement`): the stages before the first model stage (fetch, segment, decode) run
as Ray tasks with their CPUs; the first model stage and everything after it (caption, embed, score,
voice-over, categorise) run in one actor pool whose actors set those stages up once, with the declared
CPUs, GPUs and memory. One pool, not one per model stage, because embed, voice-over recycling and
categorise share one embedder per process (ImageBind huge is ~5 GB). Each group runs
`curation.executor.advance` over the task's batches, so every stage sees exactly the batches the local
executor feeds it, and the last group writes the task with `commit_state`: the same files, the same bytes.

The driver holds task descriptors and keys only; records and decoded media travel in the object store a
task at a time under Ray Data's streaming back-pressure. A killed task worker or actor is retried by Ray
and the retry commits the same bytes again (a partial directory, then a rename); a killed driver resumes
from the finished task directories on the next run.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.executor import (
    ExecutorConfig,
    TaskState,
    TaskWriter,
    advance,
    commit_state,
    set_up,
    start_task,
    worker_resources,
)
from curation.stage import Resources, Stage
from curation.tasks import Task

log = logging.getLogger("acav1m.ray")
UNIX_SOCKET_MAX = 107  # Ray puts its sockets under the temp dir; AF_UNIX paths are at most 107 bytes
SESSION_SOCKET_SUFFIX = len("/session_2026-11-30_15-42-03_123456_1234567/sockets/plasma_store")


class StageSetupFailed(RuntimeError):
    """A worker could not set its stages up (a missing checkpoint, a bad setting): the run stops with it."""


@dataclass(frozen=True)
class StageGroup:
    """Consecutive stages that run in one place: Ray tasks, or one actor pool."""

    stages: tuple[Stage, ...]
    in_actors: bool
    resources: Resources

    @property
    def name(self) -> str:
        return "+".join(stage.name for stage in self.stages)


def placement(stages: Sequence[Stage]) -> list[StageGroup]:
    """CPU stages before the first model stage as tasks, the model stages (and the light stages between and
    after them, which read their outputs) in one actor pool."""
    with_model = [i for i, stage in enumerate(stages) if stage.resources.model]
    spans = [(0, len(stages), False)] if not with_model else [(0, with_model[0], False), (with_model[0], len(stages), True)]
    return [StageGroup(tuple(stages[a:b]), actors, worker_resources(stages[a:b])) for a, b, actors in spans if b > a]


def _ray():
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")  # its INFO lines would break the progress bar
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise ImportError("executor.backend=ray needs Ray Data: pip install 'acav1m[ray]' "
                          f"(or pip install 'ray[data]'); import failed: {error}") from error
    return ray


def run_on_ray(stages: Sequence[Stage], todo: Sequence[tuple[Task, dict]], output: Path, writer: TaskWriter,
               config: ExecutorConfig, on_done: Callable[[str], None] = lambda key: None) -> None:
    """Run and commit every (task, fingerprint) in `todo`; `on_done(key)` as each task's files appear."""
    ray = _ray()
    output = Path(output).resolve()  # workers on other nodes write the same (shared) path
    groups = placement(stages)
    started = _connect(ray, config, output, groups)
    try:
        _check_cluster(ray, groups)
        context = ray.data.DataContext.get_current()
        context.execution_no_progress_timeout_s = config.no_progress_timeout_s
        context.enable_progress_bars = False  # the caller shows one bar of tasks
        names = [stage.name for stage in stages]
        rows = [{"key": task.key, "job": pickle.dumps((fingerprint, start_task(task, names, config.batch_size)))}
                for task, fingerprint in todo]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))  # one task per block: spread out
        for i, group in enumerate(groups):
            step = dict(stages=group.stages, last=i == len(groups) - 1, output=output, writer=writer)
            remote = {"num_cpus": group.resources.cpus, "num_gpus": group.resources.gpus,
                      "memory": int(group.resources.memory_gb * 2**30)}
            if group.in_actors:
                dataset = dataset.map_batches(
                    _GroupActor, fn_constructor_kwargs=step, batch_size=1, zero_copy_batch=False,
                    compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, min(config.workers, len(rows)))),
                    **remote)
            else:
                dataset = dataset.map_batches(_run_tasks_group, fn_kwargs=step, batch_size=1, **remote)
        try:
            for batch in dataset.iter_batches(batch_size=1, batch_format="numpy"):
                for key, error in zip(batch["key"], batch["error"]):
                    if error:
                        raise StageSetupFailed(f"a Ray worker could not run the stages: {error}")
                    on_done(str(key))
        except StageSetupFailed:
            raise
        except Exception as error:  # noqa: BLE001 - one readable line instead of Ray's nested tracebacks
            raise RuntimeError(f"the Ray run failed: {_root_cause(error)}") from error
    finally:
        if started:
            ray.shutdown()


def _run_group(batch: dict[str, np.ndarray], stages: Sequence[Stage], last: bool, output: Path,
               writer: TaskWriter, setup_error: str | None = None) -> dict[str, np.ndarray]:
    """One task through one group of stages: its state for the next group, or its committed files."""
    keys, jobs, errors = [], [], []
    earlier = batch.get("error", [""] * len(batch["key"]))
    for key, job, error in zip(batch["key"], batch["job"], earlier):
        keys.append(str(key))
        if error or setup_error is not None:  # reported to the driver, which stops the run with it
            jobs.append(b"")
            errors.append(error or setup_error)
            continue
        fingerprint, state = pickle.loads(job)
        state: TaskState = advance(stages, state, last=last)
        if last:
            commit_state(output, fingerprint, writer, state)
        jobs.append(b"" if last else pickle.dumps((fingerprint, state)))
        errors.append("")
    return {"key": np.array(keys, dtype=object), "job": np.array(jobs, dtype=object),
            "error": np.array(errors, dtype=object)}


def _set_up_or_say_why(stages: Sequence[Stage]) -> str | None:
    """Set the stages up here; a failure (a missing checkpoint, a bad setting) is returned as one line
    instead of raised, so the driver stops with it at once instead of Ray restarting the actor in vain."""
    try:
        set_up(stages)
    except Exception as error:  # noqa: BLE001 - reported to the driver, which raises it
        return f"setting up {'+'.join(s.name for s in stages)} failed: {type(error).__name__}: {error}"
    return None


def _run_tasks_group(batch: dict[str, np.ndarray], stages: Sequence[Stage], **step) -> dict[str, np.ndarray]:
    """A Ray task: CPU stages only (no models), so they are set up for each call."""
    return _run_group(batch, stages, setup_error=_set_up_or_say_why(stages), **step)


class _GroupActor:
    """An actor of the model pool: sets its stages up once (models load in the actor, never in the driver)."""

    def __init__(self, stages: Sequence[Stage], last: bool, output: Path, writer: TaskWriter) -> None:
        self.step = dict(stages=stages, last=last, output=output, writer=writer,
                         setup_error=_set_up_or_say_why(stages))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _run_group(batch, **self.step)


def _connect(ray, config: ExecutorConfig, output: Path, groups: list[StageGroup]) -> bool:
    """Join the configured cluster, or start a private local Ray; True when this call started it."""
    if ray.is_initialized():  # e.g. the caller (a notebook, a test) already connected
        return False
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    address = config.ray_address or os.environ.get("RAY_ADDRESS")
    if address and address != "local":
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        return True
    # a private local Ray: at least one worker of every group at once (2-core machines would otherwise
    # deadlock with the model actor holding the only CPU the CPU tasks need)
    cpus = max(os.cpu_count() or 1, math.ceil(sum(g.resources.cpus for g in groups)) + 1)
    ray.init(num_cpus=cpus, _temp_dir=str(_temp_dir(config, output)), **quiet)
    return True


def _temp_dir(config: ExecutorConfig, output: Path) -> Path:
    """Ray's session files under the output (or `executor.ray_temp_dir`), unless its sockets would not fit."""
    wanted = Path(config.ray_temp_dir or output / "ray").resolve()
    if len(str(wanted)) + SESSION_SOCKET_SUFFIX <= UNIX_SOCKET_MAX:
        return wanted
    short = Path(tempfile.gettempdir()) / f"acav1m-ray-{hashlib.sha256(str(output).encode()).hexdigest()[:8]}"
    log.warning("Ray's socket paths under %s would be too long; using %s", wanted, short)
    return short


def _check_cluster(ray, groups: list[StageGroup]) -> None:
    """Fail now, naming the stage, when no node can ever run a group (Ray would otherwise wait forever)."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    for group in groups:
        need = group.resources
        if not any(n.get("CPU", 0) >= need.cpus and n.get("GPU", 0) >= need.gpus for n in nodes):
            raise ValueError(
                f"no Ray node has {need.cpus:g} CPUs and {need.gpus:g} GPUs for the stages {group.name}; "
                "add such a node, or set the device to cpu (e.g. --set embed.device=cpu)")


def _root_cause(error: BaseException) -> str:
    seen = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = getattr(error, "cause", None) or error.__cause__
        if not isinstance(inner, BaseException):
            break
        error = inner
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__  # Ray ends a remote traceback with "Error: message"

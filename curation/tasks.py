"""Tasks: how candidates are grouped, what a finished task is, and when a rerun may reuse it.

Every executor (local processes, Ray) works through this one contract:

- `plan_tasks` groups candidates by content, not by list position (content-defined chunking over a
  hash order, ~`clips_per_task` candidates a task), so adding or removing inputs changes only the tasks
  they fall into, and the order of the input lists does not matter.
- A task's directory is named by the digest of its clip ids (`tasks/<key>/`). It is written as
  `<key>.partial/` and renamed into place when complete: the rename is the completion marker.
- Its `task.json` carries the fingerprint of what produced it: the candidates (with the size and mtime of
  local files) and the effective settings of every stage that ran (model identity included). A rerun
  reuses a finished task only when the fingerprint matches; otherwise it redoes it, or refuses with one
  line naming what changed. Settings that only the global finalisation reads (filters, selection) are not
  stage settings, so changing them recomputes no task.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.sources import Candidate

MAX_TASK_FACTOR = 4  # a task never holds more than 4x clips_per_task candidates (bounded memory)
TASK_RECORD = "task.json"


@dataclass(frozen=True)
class Task:
    key: str  # digest of the clip ids, in order: the task's directory name
    candidates: tuple[Candidate, ...]


class TaskChanged(ValueError):
    """A finished task was produced from other inputs or settings and redoing was not allowed."""


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def plan_tasks(candidates: Sequence[Candidate], clips_per_task: int) -> list[Task]:
    """Content-defined tasks: stable under insertions, removals and reordering of the inputs.

    Candidates are ordered by (hash of video id, start), so a video's clips sit together, and a task ends
    after a candidate whose own hash falls below 1/clips_per_task: the cut points belong to the candidates,
    so an added or removed candidate changes only the task it falls into.
    """
    size = max(1, clips_per_task)
    order = sorted(candidates, key=lambda c: (_hash64(c.video_id), c.video_id, c.start_time, c.clip_id))
    tasks, current = [], []
    for candidate in order:
        current.append(candidate)
        if _hash64("cut:" + candidate.clip_id) < 2**64 / size or len(current) >= MAX_TASK_FACTOR * size:
            tasks.append(_task(current))
            current = []
    if current:
        tasks.append(_task(current))
    return tasks


def _task(candidates: list[Candidate]) -> Task:
    digest = hashlib.sha256("\n".join(c.clip_id for c in candidates).encode()).hexdigest()
    return Task(digest[:20], tuple(candidates))


def input_identity(candidate: Candidate) -> dict[str, Any]:
    """The candidate as data, plus the size and mtime of a local file (an edited file is a new input)."""
    identity = asdict(candidate)
    identity.pop("origin", None)  # where a row was read (a line number) is not what it is
    if candidate.local_path:
        try:
            stat = os.stat(candidate.local_path)
            identity["file"] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            identity["file"] = None
    return identity


def plain(value: Any) -> Any:
    """JSON-able form of a setting: dataclasses as dicts (or their `identity()`), paths as strings."""
    if hasattr(value, "identity") and callable(value.identity):
        return plain(value.identity())
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} is not a setting")


def task_fingerprint(task: Task, settings: Mapping[str, Any]) -> dict[str, Any]:
    """What produced a task: digests of its inputs and of the settings, and the settings themselves."""
    inputs = hashlib.sha256(json.dumps([input_identity(c) for c in task.candidates], sort_keys=True).encode())
    settings_json = json.dumps(settings, sort_keys=True)
    combined = hashlib.sha256((inputs.hexdigest() + settings_json).encode()).hexdigest()
    return {"key": task.key, "fingerprint": combined, "inputs": inputs.hexdigest(),
            "candidates": len(task.candidates), "settings": json.loads(settings_json)}


def task_dir(output: Path, key: str) -> Path:
    return Path(output) / "tasks" / key


def finished_record(output: Path, key: str) -> dict[str, Any] | None:
    """The completion record of a finished task, or None (never finished, or left half-written)."""
    path = task_dir(output, key) / TASK_RECORD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def describe_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """`segment.max_clips: 3 -> 1; inputs changed` for the refusal message."""
    changes = []
    if old.get("inputs") != new.get("inputs"):
        changes.append("inputs changed (a local file was edited, or a candidate's url or span)")
    changes += [f"{key}: {a!r} -> {b!r}" for key, a, b in _diff(old.get("settings", {}), new["settings"])]
    return "; ".join(changes[:4]) + (f" (and {len(changes) - 4} more)" if len(changes) > 4 else "")


def _diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _diff(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return out
    return [] if old == new else [(prefix, old, new)]


def tasks_to_run(
    output: Path, tasks: Sequence[Task], settings: Mapping[str, Any], redo_changed: bool = True
) -> tuple[list[tuple[Task, dict]], int]:
    """(task, fingerprint) pairs still to run, and how many finished tasks are reused.

    A finished task with another fingerprint is redone, or with `redo_changed=False` refused (TaskChanged).
    """
    todo, reused = [], 0
    for task in tasks:
        fingerprint = task_fingerprint(task, settings)
        record = finished_record(output, task.key)
        if record is not None and record.get("fingerprint") == fingerprint["fingerprint"]:
            reused += 1
            continue
        if record is not None and not redo_changed:
            raise TaskChanged(
                f"{task_dir(output, task.key)} was produced differently: {describe_change(record, fingerprint)}; "
                "rerun without --no-redo to recompute the affected tasks, or write to a new output")
        todo.append((task, fingerprint))
    return todo, reused


def clean_partials(output: Path) -> None:
    """Drop half-written task directories left by a killed run (this run's own scratch, nothing else)."""
    root = Path(output) / "tasks"
    if root.is_dir():
        for path in root.iterdir():
            if path.name.endswith((".partial", ".stale")):
                shutil.rmtree(path, ignore_errors=True)


def commit_task(output: Path, fingerprint: Mapping[str, Any], write: Callable[[Path], None]) -> Path:
    """Run `write(partial_dir)`, then make the task appear at once (replacing an outdated result)."""
    final = task_dir(output, fingerprint["key"])
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write(partial)
    (partial / TASK_RECORD).write_text(json.dumps(fingerprint, indent=1, sort_keys=True))
    _fsync_dir(partial)
    if final.exists():  # an outdated result: move it aside first; a crash here only leaves the task unfinished
        stale = final.with_name(final.name + ".stale")
        shutil.rmtree(stale, ignore_errors=True)
        os.replace(final, stale)
        os.replace(partial, final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(partial, final)  # the completion marker
    return final


def _fsync_dir(path: Path) -> None:
    for file in path.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The stage contract: a small unit over batches of clip records that declares what it needs.

Like datatrove's PipelineStep, a stage is a plain object; unlike it, it works on batches so model
stages can batch their forward passes. `setup()` runs once per worker process (model loading), so a
stage object is cheap to build and to pickle into workers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from curation.errors import ClipError
from curation.record import ClipRecord, Failure


@dataclass(frozen=True)
class Resources:
    """What one worker running the stage needs; both executors place and size workers by it.

    `cpus`: Ray's num_cpus, and the torch threads of a worker (so results do not depend on the machine);
    `gpus`: Ray's num_gpus, and locally at most one worker per GPU; `memory_gb`: Ray's memory, and locally
    no more workers than RAM holds; `model`: a stage with one runs in Ray's model actor pool, and stages
    naming the same model share it (its memory counts once).
    """

    cpus: float = 1.0
    gpus: float = 0.0  # one when the stage's model runs on CUDA (see curation.embed.base.device_gpus)
    memory_gb: float = 0.5
    model: str | None = None  # the model the stage loads once per process


class Stage(ABC):
    name: str = "stage"
    resources: Resources = Resources()
    # attributes that do not change what the stage outputs (so are not part of task fingerprints)
    runtime_attributes: frozenset[str] = frozenset()

    def setup(self) -> None:  # noqa: B027 - optional hook, most stages load nothing
        """Load models or open clients; called once per worker process before the first batch."""

    @abstractmethod
    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        """Yield the records that go on (possibly more than came in) and a Failure for each that does not."""

    def output_settings(self) -> dict[str, Any]:
        """What this stage's output depends on: part of every task's fingerprint (see curation.tasks).

        By default the stage's constructor settings: its public attributes that are settings (dataclass
        configs through their `identity()` when they have one, which names model weights); objects set up
        later (models, clients) are not settings.
        """
        from curation.tasks import plain

        settings = {}
        for key, value in sorted(vars(self).items()):
            if key.startswith("_") or key in self.runtime_attributes or key == "resources" or value is None:
                continue  # None: a model or client not set up yet
            try:
                settings[key] = plain(value)
            except TypeError:
                continue
        return settings

    def describe(self) -> dict[str, str]:
        """Provenance for the run summary: role -> model or method."""
        return {}

    def stats(self) -> dict[str, Any]:
        """Cumulative counters of this process (e.g. cache hits, API tokens); the executor keeps per-task deltas."""
        return {}


class PerClipStage(Stage):
    """A stage whose work is independent per clip; a ClipError becomes that clip's Failure."""

    def process(self, batch: list[ClipRecord]) -> Iterable[ClipRecord | Failure]:
        for record in batch:
            try:
                yield from self.process_one(record)
            except ClipError as error:
                yield Failure(record.clip_id, self.name, error.reason, error.detail)

    @abstractmethod
    def process_one(self, record: ClipRecord) -> Iterable[ClipRecord]:
        """Yield the record (or the clips cut from it); raise ClipError to drop it with a reason."""

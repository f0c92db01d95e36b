"""The unit that flows through the pipeline: one clip, its transient media and its output columns."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curation.errors import UndeclaredColumn
from curation.sources import Candidate


class DeclaredColumns(dict):
    """A record's published values: writing a column the schema does not declare is an error, not a silent drop."""

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in _declared():
            raise UndeclaredColumn(f"column {name!r} is not declared in builder/schema.py (declare it there to publish it)")
        super().__setitem__(name, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value


@functools.cache
def _declared() -> frozenset[str]:
    from builder.schema import CONFIGS

    return frozenset(CONFIGS["candidates"].column_names)


@dataclass
class ClipRecord:
    """A candidate clip on its way through the stages.

    `columns` holds values of the published schema (captions, scores, labels); `media` and `embeddings`
    hold transient arrays that are dropped when the record is written.
    """

    candidate: Candidate
    media_path: str | None = None  # the fetched (or local) file to decode
    media_offset: float = 0.0  # where the fetched file starts in the source video (section downloads)
    frames: np.ndarray | None = None  # uint8 (seconds, 224, 224, 3): one frame per second of the clip
    audio: np.ndarray | None = None  # float32 (seconds * 16000,) 16 kHz mono
    motion: np.ndarray | None = None  # float32 visual-change envelope
    motion_fps: float = 0.0
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    columns: DeclaredColumns = field(default_factory=DeclaredColumns)

    @property
    def clip_id(self) -> str:
        return self.candidate.clip_id

    def release_media(self) -> None:
        """Free decoded arrays once no later stage needs them (memory stays flat per task)."""
        self.frames = self.audio = self.motion = None


def same_length_groups(batch: list[ClipRecord]) -> list[list[ClipRecord]]:
    """The batch split into runs of clips with equal audio and frame counts, in first-seen order.

    Clips vary in length (2-60 s), and a model batch needs one array shape: stages that stack audio
    or frames call the model once per group instead of stacking the whole batch.
    """
    groups: dict[tuple[int, int], list[ClipRecord]] = {}
    for record in batch:
        groups.setdefault((len(record.audio), len(record.frames)), []).append(record)
    return list(groups.values())


@dataclass(frozen=True)
class Failure:
    """A clip that left the pipeline: recorded in the errors table with the stage and the reason."""

    clip_id: str
    stage: str
    reason: str
    detail: str = ""

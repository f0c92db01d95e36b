"""Takedowns: the removals file a curator keeps, and the rows of a build it removes.

One id per line (a clip id `<video_id>_<start ms>` or a source video id, which removes every clip of that
video); `#` starts a comment. The file is an input of every later build, so a removed clip never comes back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass
class Removals:
    """Ids to drop from every config, and what was actually dropped (for the card and release notes)."""

    ids: frozenset[str] = frozenset()
    source: str = ""  # the file the ids came from, as given
    removed: dict[str, set[str]] = field(default_factory=dict)  # config -> clip ids dropped

    @classmethod
    def load(cls, path: str | os.PathLike) -> Removals:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"removals file {path} does not exist (one clip or video id per line)")
        ids = set()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            if not ID.match(text):
                raise ValueError(f"{path}, line {number}: {text!r} is not a clip id or video id")
            ids.add(text)
        return cls(frozenset(ids), os.fspath(path))

    def keep_mask(self, clip_ids: pa.Array, video_ids: pa.Array) -> pa.Array | None:
        """True for rows to keep; None when nothing in the batch is removed (the common case)."""
        if not self.ids:
            return None
        listed = pa.array(sorted(self.ids), pa.string())
        hit = pc.or_(pc.is_in(clip_ids, value_set=listed), pc.is_in(video_ids, value_set=listed))
        if not pc.any(hit).as_py():
            return None
        return pc.invert(hit)

    def split(self, batch: pa.RecordBatch, video_ids: pa.Array) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        """(rows kept, rows removed or None)."""
        mask = self.keep_mask(batch.column("clip_id"), video_ids)
        if mask is None:
            return batch, None
        return batch.filter(mask), batch.filter(pc.invert(mask))

    def record(self, config: str, removed: pa.RecordBatch) -> None:
        self.removed.setdefault(config, set()).update(removed.column("clip_id").to_pylist())

    def count(self, config: str) -> int:
        return len(self.removed.get(config, ()))

    @property
    def removed_clips(self) -> list[str]:
        return sorted(set().union(*self.removed.values())) if self.removed else []

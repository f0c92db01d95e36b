"""What a build produced: the type that the builder, the card and the Croissant writer all read.

A leaf module, so the card and Croissant writers depend on it instead of on `builder.build` (no cycles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.changes import ReleaseChanges
from builder.stats import ConfigStats
from builder.takedown import Removals
from builder.writer import ShardInfo


@dataclass
class BuildResult:
    out_dir: Path
    stats: dict[str, ConfigStats]
    shards: dict[str, dict[str, list[ShardInfo]]] = field(default_factory=dict)  # config -> split -> shards
    removals: Removals = field(default_factory=Removals)
    changes: ReleaseChanges | None = None

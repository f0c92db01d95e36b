"""The AVSET-10M Table 2 funnel: clips left after each curation stage, per data source.

Stages S1-S4 as in the paper: candidates, AV-correspondence filtering, voice-over filtering, sample
recycling. Counts are cumulative survivors; S4 adds the recycled clips (flagged at S3, separated, and
passed again at S2) back to the S3 survivors, so S3 <= S4 <= S2. Proportions are of S1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

STAGES: tuple[tuple[str, str], ...] = (
    ("S1", "Candidate Videos"),
    ("S2", "AV-C Filtering"),
    ("S3", "Voiceover Filtering"),
    ("S4", "Sample Recycling"),
)


@dataclass(frozen=True)
class StageCounts:
    """Survivors of one source after each stage."""

    candidates: int
    after_av_correspondence: int
    after_voiceover: int
    after_recycling: int

    def __post_init__(self) -> None:
        c = self.counts
        if min(c) < 0:
            raise ValueError(f"negative count in {c}")
        if not (c[0] >= c[1] >= c[2] and c[2] <= c[3] <= c[1]):
            raise ValueError(f"counts {c} break candidates >= S2 >= S3 <= S4 <= S2")

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return (self.candidates, self.after_av_correspondence, self.after_voiceover, self.after_recycling)

    @property
    def proportions(self) -> tuple[float, ...]:
        return tuple(n / self.candidates if self.candidates else 0.0 for n in self.counts)

    @classmethod
    def from_flags(
        cls, av_pass: Sequence[bool], voiceover: Sequence[bool], recycled_pass: Sequence[bool]
    ) -> StageCounts:
        """Counts from per-candidate flags: passed S2, flagged at S3, and (flagged clips only) passed S2
        again after separation."""
        av, vo, rec = (np.asarray(x, dtype=bool) for x in (av_pass, voiceover, recycled_pass))
        if not len(av) == len(vo) == len(rec):
            raise ValueError("flag arrays differ in length")
        if np.any(rec & ~(av & vo)):
            raise ValueError("a recycled clip must have passed S2 and been flagged at S3")
        kept = av & ~vo
        return cls(len(av), int(av.sum()), int(kept.sum()), int((kept | rec).sum()))


@dataclass(frozen=True)
class RetentionTable:
    """Table 2 for one or more sources (column groups), in insertion order."""

    sources: dict[str, StageCounts] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: {"stages": [...], "sources": {name: [{"stage", "goal", "clips", "proportion"}, ...]}}."""
        return {
            "stages": [{"stage": s, "goal": g} for s, g in STAGES],
            "sources": {
                name: [
                    {"stage": s, "goal": g, "clips": n, "proportion": p}
                    for (s, g), n, p in zip(STAGES, counts.counts, counts.proportions)
                ]
                for name, counts in self.sources.items()
            },
        }

    def to_markdown(self) -> str:
        header = ["Stage", "Goal"]
        for name in self.sources:
            header += [f"{name} #Num of Clips", f"{name} Proportion"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (2 * len(self.sources))]
        for row, (stage, goal) in enumerate(STAGES):
            cells = [stage, goal]
            for counts in self.sources.values():
                cells += [f"{counts.counts[row]:,}", f"{100 * counts.proportions[row]:.1f}%"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


__all__ = ["STAGES", "RetentionTable", "StageCounts"]

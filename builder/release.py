"""What a release says about itself beyond its rows: identity, licences, contact, and how it was curated."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class RetentionRow:
    """One stage of the curation funnel: how many clips came in and how many went on."""

    stage: str
    inputs: int
    outputs: int
    failures: int = 0

    @property
    def retained(self) -> float:
        return self.outputs / self.inputs if self.inputs else 0.0


@dataclass
class RunSummary:
    """Facts the curation run reports to the card and Croissant (written by the pipeline as run.json)."""

    filter_mode: str = "none"
    normalization: str = "(cos + 1) / 2"
    thresholds: dict[str, float] = field(default_factory=dict)  # filter name -> normalised threshold
    skipped_filters: dict[str, str] = field(default_factory=dict)  # filter name -> why it was off
    retention: list[RetentionRow] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)  # role -> model id
    random_weights: bool = False  # scores from untrained models: plumbing only, never quality
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. calibration or AVSET tables

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"run summary has unknown keys {unknown}")
        values = dict(data)
        values["retention"] = [RetentionRow(**row) for row in values.get("retention", [])]
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> RunSummary:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AvailabilityFigures:
    """How much of `default` could still be fetched when the release was checked (`build --availability`)."""

    checked_on: str  # ISO date of the latest check
    clips: int  # rows of `default` (before flagging or dropping)
    checked: int
    available: int
    unavailable: int  # gone for everyone: private, removed, unavailable, shorter than the clip
    by_status: dict[str, int] = field(default_factory=dict)
    action: str = "flag"  # what the build did with unavailable rows: flag | drop
    affected: int = 0  # input rows flagged or dropped


@dataclass
class ReleaseInfo:
    """Identity and licence chain of a published dataset."""

    name: str = "acav1m"
    pretty_name: str = "ACAV-1M curated audio-visual clips"
    version: str = "0.1.0"
    annotation_license: str = "cc-by-4.0"
    media_license: str = (
        "Media are not redistributed unless the `media` config is present. Source videos keep their own "
        "licences (YouTube Terms of Service / the uploader's licence for YouTube ids; the `license` column "
        "for local or URL sources)."
    )
    sources: str = (
        "Clip candidates from ACAV-100M clip lists (YouTube video id, start, end) and any user-supplied "
        "video collection."
    )
    contact: str = "Open an issue on the dataset repository, or email the maintainers listed in the repository."
    homepage: str = ""
    date_published: str = ""  # ISO date; an input, not the clock, so builds stay byte-identical
    test_fraction: float = 0.1
    run: RunSummary = field(default_factory=RunSummary)
    availability: AvailabilityFigures | None = None

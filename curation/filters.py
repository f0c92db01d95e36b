"""Threshold filters over scored candidates: per-filter flags, a reason, and retention per filter.

The papers' "normalized cosine similarity" is not defined in the seeds; we use (cos + 1) / 2, so 0.5
means a raw cosine of 0 and thresholds are stated in that normalised unit everywhere (config, card).
Filters run on the whole scored table after the per-clip stages, because calibrated thresholds need
the score distribution of the whole candidate pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from builder.release import RetentionRow

NORMALIZATION = "(cos + 1) / 2"
PAPER_MODES: dict[str, dict[str, float]] = {
    "paper-uniform": {"language": 0.5, "instance": 0.5, "temporal": 0.5},  # ACAV-1M Algorithm 1
    "paper-tuned": {"language": 0.6, "instance": 0.5, "temporal": 0.7},  # ACAV-1M Table 22
}
# AVSET-10M stage 2 thresholds the audio-visual (instance) score alone; the language filter stays ACAV-1M's.
AVSET_LANGUAGE = PAPER_MODES["paper-tuned"]["language"]
MODES = (*PAPER_MODES, "calibrated", "avset", "none")
# filter name -> the score columns it thresholds (all must pass)
FILTER_SCORES: dict[str, tuple[str, ...]] = {
    "language": ("sim_text_audio", "sim_text_visual"),
    "instance": ("sim_av_instance",),
    "temporal": ("sim_av_temporal",),
}


def normalise(cosine: np.ndarray | float) -> np.ndarray | float:
    return (np.asarray(cosine) + 1.0) / 2.0


@dataclass(frozen=True)
class FilterConfig:
    """`mode` picks thresholds; explicit per-filter values (normalised) override them.

    `avset`: the instance score is thresholded at mean + k sigma of mismatched pairs (calibrated on the
    run), or at `instance_cosine` (a raw cosine, e.g. AVSET's 0.2564 for ImageBind huge) when given; the
    language filter keeps ACAV-1M's 0.6 and the temporal filter is off.
    """

    mode: str = "paper-tuned"
    language: float | None = None
    instance: float | None = None
    temporal: float | None = None
    instance_cosine: float | None = None  # a fixed raw-cosine instance threshold; overrides mode and calibration
    sync_max_offset_s: float | None = None  # model-free sync filter, off unless set (e.g. 0.2)
    sync_min_confidence: float = 0.3
    realign: bool = False  # ACAV-1M Algorithm 1: shift the audio of clips with a confident offset, re-score
    realign_min_s: float = 0.08  # shifts below this are left alone (two frames of the 25 fps motion envelope)
    realign_max_s: float = 1.0  # and above this (the offset search range) are not trusted
    calibration_k: float = 3.0  # AVSET: mean + 3 sigma of the mismatched-pair scores
    calibration_pairs: int = 10_000
    calibration_clips: int = 20_000  # about this many clips (whole tasks) are sampled for the mismatched pairs
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"filter mode must be one of {MODES}, got {self.mode!r}")

    @property
    def calibrates(self) -> tuple[str, ...] | None:
        """Score kinds to calibrate on mismatched pairs: None for none, () for every kind available."""
        if self.mode == "calibrated":
            return ()
        if self.mode == "avset" and self.instance_cosine is None:
            return ("av_instance",)
        return None

    def thresholds(self, calibrated: dict[str, float] | None = None) -> dict[str, float]:
        """Normalised thresholds keyed by filter name (or by score column, for per-score calibration)."""
        base = dict(PAPER_MODES.get(self.mode, {}))
        if self.calibrates is not None:
            if calibrated is None:
                raise ValueError(f"filter mode {self.mode!r} needs thresholds fitted on the candidate pool")
            base = dict(calibrated)
        if self.mode == "avset":
            base["language"] = AVSET_LANGUAGE
        if self.instance_cosine is not None:
            base["instance"] = float(normalise(self.instance_cosine))
        for name in FILTER_SCORES:
            override = getattr(self, name)
            if override is not None:
                base[name] = override
        return base

    def off_reasons(self) -> dict[str, str]:
        """Why a filter without a threshold is off, for the run summary and the card."""
        why = f"no threshold configured (filter mode '{self.mode}')"
        if self.mode == "avset":
            why = "AVSET-10M thresholds the audio-visual instance score only (filter mode 'avset')"
        return dict.fromkeys(FILTER_SCORES, why)


def sync_flags(table: pa.Table, config: FilterConfig) -> dict[str, np.ndarray]:
    """The model-free sync filter: catches shifted or dubbed audio that similarity scores miss."""
    if config.sync_max_offset_s is None:
        return {}
    offset = table.column("av_offset_s").to_numpy(zero_copy_only=False).astype(np.float64)
    confidence = table.column("av_offset_confidence").to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(invalid="ignore"):
        passed = (np.abs(offset) <= config.sync_max_offset_s) & (confidence >= config.sync_min_confidence)
    return {"sync": passed}


def realign_row(table: pa.Table) -> RetentionRow:
    """Re-aligned clips (audio shifted) and how many of them now pass the sync check (or all, if it is off)."""
    shifted = np.asarray(table.column("av_shift_s").fill_null(0.0).to_numpy(zero_copy_only=False)) != 0
    passed = np.asarray(table.column("pass_sync").fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)
    return RetentionRow("re-aligned, then sync check", int(shifted.sum()), int((shifted & passed).sum()))


@dataclass
class FilterOutcome:
    table: pa.Table  # the input with pass_* flags, kept and reject_reason
    thresholds: dict[str, float]
    skipped: dict[str, str] = field(default_factory=dict)
    retention: list[RetentionRow] = field(default_factory=list)
    report: dict = field(default_factory=dict)  # e.g. calibration null fits, for the run summary


def apply_filters(table: pa.Table, thresholds: dict[str, float], extra_flags: dict[str, np.ndarray] | None = None,
                  off_reasons: dict[str, str] | None = None) -> FilterOutcome:
    """Flag every candidate; filters apply in order (language, instance, temporal, extra) for retention."""
    n = table.num_rows
    outcome = FilterOutcome(table, thresholds)
    flags: dict[str, np.ndarray | None] = {}
    for name, columns in FILTER_SCORES.items():
        limits = [thresholds.get(column, thresholds.get(name)) for column in columns]  # per column, else per filter
        if any(limit is None for limit in limits):
            flags[name] = None
            outcome.skipped[name] = (off_reasons or {}).get(name, "no threshold configured (filter mode 'none')")
            continue
        values = [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in columns]
        if all(np.isnan(v).all() for v in values):
            flags[name] = None
            outcome.skipped[name] = f"no clip has {' / '.join(columns)} (no captioner configured)"
            continue
        passed = np.ones(n, dtype=bool)
        for v, limit in zip(values, limits):
            passed &= ~np.isnan(v) & (normalise(v) >= limit)
        flags[name] = passed
    for name, passed in (extra_flags or {}).items():
        flags[name] = passed
    alive = np.ones(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for name, passed in flags.items():
        if passed is None:
            continue
        outcome.retention.append(RetentionRow(f"{name} filter", int(alive.sum()), int((alive & passed).sum())))
        for i in np.flatnonzero(~passed):
            reasons[i].append(name)
        alive &= passed
    columns = {
        f"pass_{name}": pa.array(passed if passed is not None else [None] * n, pa.bool_())
        for name, passed in flags.items()
    }
    for name in ("sync", "voiceover"):
        columns.setdefault(f"pass_{name}", pa.array([None] * n, pa.bool_()))
    columns["kept"] = pa.array(alive, pa.bool_())
    columns["reject_reason"] = pa.array([",".join(r) or None for r in reasons], pa.string())
    outcome.table = with_columns(table, columns)
    return outcome


def with_columns(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    """Replace (or append) columns by name."""
    for name, array in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, array) if index >= 0 else table.append_column(name, array)
    return table



def _flag(table: pa.Table, name: str) -> np.ndarray:
    """A bool column with nulls (filter skipped) read as passing."""
    return np.asarray(table.column(name).fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)


def apply_voiceover(outcome: FilterOutcome, thresholds: dict[str, float]) -> dict:
    """AVSET stages 3-4 on top of the filters: drop voice-over clips unless their separated audio passes.

    Recycling only reconsiders clips that passed audio-visual correspondence (stage 2) and were flagged at
    stage 3, as in AVSET. Returns Table 2 per `source` and pooled ("all"): each stage counts only what that
    stage removed (S2 = the audio-visual filters alone), so the language and sync filters, which are not
    AVSET stages, are reported beside the table.
    """
    from curation.avset.retention import RetentionTable, StageCounts

    table = outcome.table
    n = table.num_rows
    voiceover = np.asarray(table.column("voiceover").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    av_pass = _flag(table, "pass_instance") & _flag(table, "pass_temporal")
    other_pass = _flag(table, "pass_language") & _flag(table, "pass_sync")
    separated_ok = np.ones(n, dtype=bool)
    for name, column in (("instance", "sim_av_instance_separated"), ("temporal", "sim_av_temporal_separated")):
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        limit = thresholds.get(name)
        with np.errstate(invalid="ignore"):
            separated_ok &= ~np.isnan(values) & (True if limit is None else normalise(values) >= limit)
    recycled = av_pass & voiceover & separated_ok
    survives = av_pass & (~voiceover | recycled)  # through AVSET's S4
    kept = other_pass & survives
    before = int((other_pass & av_pass).sum())
    outcome.retention.append(RetentionRow("voice-over filter", before, int((other_pass & av_pass & ~voiceover).sum())))
    outcome.retention.append(RetentionRow("recycling (separated)", int((other_pass & av_pass & ~voiceover).sum()),
                                          int(kept.sum())))
    old_reasons = table.column("reject_reason").to_pylist()
    reasons = [
        ",".join(filter(None, [old, "voiceover" if voiceover[i] and not recycled[i] else None])) or None
        for i, old in enumerate(old_reasons)
    ]
    updates = {"pass_voiceover": pa.array(~voiceover | recycled), "needs_separation": pa.array(recycled),
               "kept": pa.array(kept), "reject_reason": pa.array(reasons, pa.string())}
    outcome.table = with_columns(table, updates)
    source = np.asarray(table.column("source").to_pylist(), dtype=object)
    groups = {name: source == name for name in sorted(set(source))} | {"all": np.ones(n, dtype=bool)}
    retention = RetentionTable({name: StageCounts.from_flags(av_pass[m], voiceover[m], recycled[m])
                                for name, m in groups.items()})
    removed = int((survives & ~other_pass).sum())
    note = (f"\nNot AVSET stages, so not in the table: the language and sync filters removed {removed} of the "
            f"{int(survives.sum())} S4 clips (all sources); {int(kept.sum())} clips are kept.\n")
    return {"table": retention.to_dict(), "markdown": retention.to_markdown() + note,
            "removed_by_other_filters": removed, "kept": int(kept.sum())}

"""Streaming summaries of a build (rows per split, score distributions, categories) for the card.

Fixed-bin histograms keep memory constant; quantiles read from them are exact to one bin (0.01).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.curation_report import audio_category_counts
from builder.schema import ConfigSchema

SCORE_BINS = np.linspace(-1.0, 1.0, 201)


@dataclass
class ScoreSummary:
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(len(SCORE_BINS) - 1, dtype=np.int64))
    count: int = 0
    nulls: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def update(self, values: pa.Array) -> None:
        self.nulls += values.null_count
        array = values.drop_null().to_numpy(zero_copy_only=False).astype(np.float64)
        self.histogram += np.histogram(np.clip(array, -1.0, 1.0), bins=SCORE_BINS)[0]
        self.count += array.size
        self.total += float(array.sum())
        self.total_sq += float(np.square(array).sum())

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def std(self) -> float | None:
        if not self.count:
            return None
        return float(np.sqrt(max(self.total_sq / self.count - self.mean**2, 0.0)))

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        cumulative = np.cumsum(self.histogram)
        index = int(np.searchsorted(cumulative, q * self.count))
        return float(SCORE_BINS[min(index + 1, len(SCORE_BINS) - 1)])


@dataclass
class ConfigStats:
    """What the card says about one config: sizes per split and distributions over all splits."""

    schema: ConfigSchema
    rows: Counter = field(default_factory=Counter)
    bytes: Counter = field(default_factory=Counter)
    files_bytes: int = 0
    scores: dict[str, ScoreSummary] = field(default_factory=dict)
    values: dict[str, Counter] = field(default_factory=dict)  # small categorical columns: source, licence
    audio_categories: Counter = field(default_factory=Counter)  # (AudioSet top-level category, label kind) -> clips

    def update(self, split: str, batch: pa.RecordBatch) -> None:
        self.rows[split] += batch.num_rows
        self.bytes[split] += batch.nbytes
        names = batch.schema.names
        for column in self.schema.columns:
            if column.is_score:
                self.scores.setdefault(column.name, ScoreSummary()).update(batch.column(column.name))
        self.audio_categories.update(audio_category_counts(batch))
        for name in ("category", "source", "license", "reject_reason", "caption_language"):
            if name in names:
                counts = pc.value_counts(batch.column(name).fill_null("(none)"))
                counter = self.values.setdefault(name, Counter())
                for item in counts.to_pylist():
                    counter[item["values"]] += item["counts"]

    @property
    def num_rows(self) -> int:
        return sum(self.rows.values())

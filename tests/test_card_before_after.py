"""The card's before/after statistics and audio-category counts, checked against numpy and a plain loop."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from builder.build import build_dataset
from builder.curation_report import audio_category_counts
from builder.release import ReleaseInfo, RunSummary
from builder.sample import sample_table
from curation.ontology import load_ontology


def _row(card: str, column: str) -> list[str]:
    line = next(l for l in card.splitlines() if l.startswith(f"| `{column}` |") and "+-" in l)
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_card_shows_before_and_after_statistics(tmp_path) -> None:
    table = sample_table(400, seed=3)
    run = RunSummary(filter_mode="paper-uniform", thresholds={"instance": 0.5, "temporal": 0.5})
    out = build_dataset(tmp_path / "acav1m", table, release=ReleaseInfo(run=run)).out_dir
    card = (out / "README.md").read_text()
    kept = table.column("kept").to_numpy(zero_copy_only=False)
    for column in ("sim_av_instance", "sim_av_temporal"):
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        cells = _row(card, column)
        assert int(cells[1]) == len(values) and int(cells[3]) == int(kept.sum())
        assert cells[2] == f"{values.mean():.3f} +- {values.std():.3f}"
        assert cells[4] == f"{values[kept].mean():.3f} +- {values[kept].std():.3f}"
        assert cells[5] == "0.500 / 0.000"
        change = values[kept].mean() - values.mean()
        assert float(cells[6]) == pytest.approx(change, abs=1e-3)
        normalised_before, normalised_after = (values.mean() + 1) / 2, (values[kept].mean() + 1) / 2
        assert float(cells[7]) == pytest.approx(100 * (normalised_after / normalised_before - 1), abs=0.01)
    assert "ACAV-1M Tables 28/29" in card


def test_audio_categories_count_each_clip_once_per_top_level_category() -> None:
    rows = [
        {"labels": ["Speech", "Male speech, man speaking"], "tagger_labels": ["Dog"]},  # manual wins: Human x1
        {"labels": ["Dog", "Cowbell"], "tagger_labels": None},  # Animal, Music, Sounds of things (Cowbell)
        {"labels": [], "tagger_labels": ["Music", "Speech"]},  # tagger top-1 only: Music
        {"labels": [], "tagger_labels": None},  # nothing
        {"labels": ["not an AudioSet name"], "tagger_labels": None},
    ]
    table = pa.Table.from_pylist(rows, pa.schema([("labels", pa.list_(pa.string())),
                                                   ("tagger_labels", pa.list_(pa.string()))]))
    ontology = load_ontology()
    expected: dict = {}
    for row in rows:  # the definition, row by row
        manual = bool(row["labels"])
        names = row["labels"] if manual else (row["tagger_labels"] or [])[:1]
        for root in set().union(*(ontology.roots[ontology.mid_of(n)] for n in names if ontology.mid_of(n))):
            key = (root, "manual" if manual else "tagger")
            expected[key] = expected.get(key, 0) + 1
    assert dict(audio_category_counts(table)) == expected
    assert expected[("Human sounds", "manual")] == 1 and expected[("Music", "tagger")] == 1

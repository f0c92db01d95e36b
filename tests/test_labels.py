"""AudioSet labels on clip-list rows: MIDs named from the shipped ontology or a user-given ontology.json."""

from __future__ import annotations

import json

import pytest

from curation.ontology import load_ontology
from curation.sources import Candidate, InvalidRow, read_clip_list

A = "abcdefghijk"


def test_shipped_ontology_names_and_top_level_categories() -> None:
    ontology = load_ontology()
    assert len(ontology.names) == 632 and ontology.names["/m/09x0r"] == "Speech"
    assert {name for roots in ontology.roots.values() for name in roots} == {
        "Human sounds", "Animal", "Music", "Natural sounds", "Sounds of things", "Source-ambiguous sounds",
        "Channel, environment and background"}
    # Cowbell sits under Livestock, Music > Percussion and Sounds of things > Bell
    assert ontology.roots[ontology.mid_of("cowbell")] == {"Animal", "Music", "Sounds of things"}


def test_user_ontology_names_labels_and_bad_rows_say_why(tmp_path) -> None:
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps([{"id": "/t/root1", "name": "Machines", "child_ids": ["/m/0abc"]},
                                {"id": "/m/0abc", "name": "Drill", "child_ids": []}]))
    ontology = load_ontology(path)
    assert ontology.roots["/m/0abc"] == {"Machines"}
    rows = tmp_path / "clips.csv"
    rows.write_text(f'{A},0,10,"/m/0abc, /t/root1"\n{A},10,20,/m/09x0r\n{A},20,30,Speech\n{A},30,40\n')
    items = list(read_clip_list(rows, label_names=ontology.names))
    assert isinstance(items[0], Candidate)
    assert items[0].labels == ("Drill", "Machines") and items[0].label_ids == ("/m/0abc", "/t/root1")
    assert isinstance(items[1], InvalidRow) and items[1].reason == "unknown_label" and "/m/09x0r" in items[1].detail
    assert isinstance(items[2], InvalidRow) and items[2].reason == "malformed_row" and "'Speech'" in items[2].detail
    assert isinstance(items[3], Candidate) and items[3].labels == ()
    path.write_text('{"classes": [{"name": "no id"}]}')
    with pytest.raises(ValueError, match="ontology.json: not an AudioSet ontology"):
        load_ontology(path)

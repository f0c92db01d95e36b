"""Row selection for `acav1m download`: builds with and without a card, records Parquet, clip lists, filters."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.build import split_of
from builder.schema import CONFIGS
from curation.download.select import Selection, selected_tables


def selected(selection: Selection) -> list[dict]:
    tables = list(selected_tables(selection))
    return pa.concat_tables(tables).to_pylist() if tables else []


def build_rows(out, config: str) -> list[dict]:
    rows = []
    for split in ("train", "test"):
        for file in sorted((out / CONFIGS[config].data_dir).glob(f"{split}-*.parquet")):
            rows += [{**r, "split": split} for r in pq.read_table(file).to_pylist()]
    return rows


def test_a_build_is_read_through_its_card_or_the_declared_layout(built_dataset, tmp_path):
    out = built_dataset.out_dir
    everything = build_rows(out, "candidates")
    assert selected(Selection(str(out), "candidates")) == everything
    copy = tmp_path / "no-card"
    shutil.copytree(out, copy)
    (copy / "README.md").unlink()
    assert selected(Selection(str(copy), "candidates")) == everything  # falls back to builder/schema.py


def test_filters_splits_and_limit(built_dataset):
    out = built_dataset.out_dir
    rows = build_rows(out, "candidates")
    want = [r for r in rows if r["split"] == "train" and r["sim_av_instance"] is not None
            and r["sim_av_instance"] >= 0.3 and r["kept"]]
    got = selected(Selection(str(out), "candidates", ("train",), ("sim_av_instance>=0.3", "kept==true")))
    assert got == want and 0 < len(got) < len(rows)
    assert selected(Selection(str(out), "candidates", ("train",), ("sim_av_instance>=0.3",), limit=5)) == [
        r for r in rows if r["split"] == "train" and r["sim_av_instance"] is not None
        and r["sim_av_instance"] >= 0.3][:5]
    with pytest.raises(ValueError, match="sim_av_instance is a number, 'high' is not"):
        selected(Selection(str(out), filters=("sim_av_instance>=high",)))


def test_records_and_clip_lists_get_the_split_a_build_would_give(tmp_path):
    clip_list = tmp_path / "clips.csv"
    clip_list.write_text("# videoID,start,end\nabcdefghijk,30,40\nabcdefghijk,30,40\nZYXWVUTSRQP,0.5,10.5\n")
    rows = selected(Selection(str(clip_list), test_fraction=0.5))
    assert [(r["clip_id"], r["split"]) for r in rows] == [
        ("abcdefghijk_000030000", split_of("abcdefghijk", 0.5)), ("ZYXWVUTSRQP_000000500", split_of("ZYXWVUTSRQP", 0.5))]
    assert rows[0]["url"] == "https://www.youtube.com/watch?v=abcdefghijk"
    records = tmp_path / "records.parquet"
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "split"} for r in rows]), records)
    assert selected(Selection(str(records), test_fraction=0.5)) == rows
    clip_list.write_text("abcdefghijk,30\n")
    with pytest.raises(ValueError, match=r"clips.csv:1: malformed_row"):
        selected(Selection(str(clip_list)))
    with pytest.raises(FileNotFoundError, match="not a Hub repo id"):
        selected(Selection(str(tmp_path / "nowhere")))

"""`acav1m build --availability`: gone clips are flagged or dropped, and the card reports the dated share."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import acav1m
from builder.availability import AVAILABILITY_SCHEMA
from builder.sample import sample_table
from builder.schema import CONFIGS

STATUSES = ["ok", "private", "removed", "rate_limited", "geo_blocked", "unavailable", "ok", "too_short"]


@pytest.fixture
def inputs(tmp_path):
    records = sample_table(60, seed=5)
    pq.write_table(records, tmp_path / "records.parquet")
    ids = records.column("clip_id").to_pylist()
    checked = [datetime(2026, 11, 28, tzinfo=timezone.utc), datetime(2026, 11, 29, 8, tzinfo=timezone.utc)]
    rows = [{"clip_id": c, "video_id": c.rsplit("_", 1)[0], "split": "train", "status": STATUSES[i % len(STATUSES)],
             "detail": None, "checked_at": checked[i % 2]} for i, c in enumerate(ids[:50])]  # 10 rows unchecked
    pq.write_table(pa.Table.from_pylist(rows, schema=AVAILABILITY_SCHEMA), tmp_path / "availability.parquet")
    return records, {r["clip_id"]: r["status"] for r in rows}


def test_flag_keeps_gone_clips_in_candidates_only(inputs, tmp_path):
    records, status = inputs
    out = tmp_path / "flag"
    assert acav1m.main(["build", str(tmp_path / "records.parquet"), str(out),
                        "--availability", str(tmp_path / "availability.parquet")]) == 0
    gone = {c for c, s in status.items() if s in ("private", "removed", "unavailable", "too_short")}
    candidates = pq.read_table(out / CONFIGS["candidates"].data_dir).to_pylist()
    assert len(candidates) == records.num_rows
    for row in candidates:
        if row["clip_id"] in gone:
            assert row["kept"] is False and row["reject_reason"].split(",")[-1] == "unavailable"
    kept_before = {r["clip_id"] for r in records.to_pylist() if r["kept"]}
    default = {r["clip_id"] for f in sorted((out / CONFIGS["default"].data_dir).glob("*.parquet")) for r in pq.read_table(f).to_pylist()}
    assert default == kept_before - gone
    checked = [status[c] for c in kept_before if c in status]
    card = (out / "README.md").read_text()
    ok = checked.count("ok")
    assert "Availability checked on 2026-11-29" in card
    assert f"of {len(kept_before)} clips in `default`, {len(checked)} were checked; {ok} ({ok / len(checked):.1%})" in card
    assert f"{len(gone)} rows whose media are gone were flagged" in card


def test_drop_removes_gone_clips_everywhere(inputs, tmp_path):
    records, status = inputs
    out = tmp_path / "drop"
    assert acav1m.main(["build", str(tmp_path / "records.parquet"), str(out), "--unavailable", "drop",
                        "--availability", str(tmp_path / "availability.parquet")]) == 0
    gone = {c for c, s in status.items() if s in ("private", "removed", "unavailable", "too_short")}
    candidates = {r["clip_id"] for r in pq.read_table(out / CONFIGS["candidates"].data_dir).to_pylist()}
    assert candidates == set(records.column("clip_id").to_pylist()) - gone
    assert "dropped from every config" in (out / "README.md").read_text()
    assert not list(tmp_path.glob(".acav1m-availability-*"))  # the scratch folder is gone


def test_a_table_that_is_not_an_availability_table_is_refused(inputs, tmp_path, capsys):
    assert acav1m.main(["build", str(tmp_path / "records.parquet"), str(tmp_path / "x"),
                        "--availability", str(tmp_path / "records.parquet")]) == 2
    assert "not an availability table" in capsys.readouterr().err

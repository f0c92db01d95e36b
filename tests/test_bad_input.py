"""Bad input: a clear error naming the row and the field, and nothing half-written on disk."""

from __future__ import annotations

import pyarrow as pa
import pytest

from builder.build import build_dataset
from builder.sample import sample_records, sample_table
from builder.validate import SchemaError


def _rows(n: int = 40) -> list[dict]:
    return list(sample_records(n, seed=9))


def _assert_rejected(tmp_path, records, pattern: str) -> None:
    with pytest.raises(SchemaError, match=pattern):
        build_dataset(tmp_path / "acav1m", records)
    assert list(tmp_path.iterdir()) == [], "a rejected build must leave nothing on disk"


def test_missing_column(tmp_path):
    rows = _rows()
    del rows[7]["caption"]
    _assert_rejected(tmp_path, rows, r"row 7: columns do not match config 'candidates': missing \['caption'\]")


def test_extra_column(tmp_path):
    rows = _rows()
    rows[3]["mood"] = "happy"
    _assert_rejected(tmp_path, rows, r"row 3: .*unexpected \['mood'\]")


def test_extra_column_in_a_table(tmp_path):
    table = sample_table(20).append_column("mood", pa.array(["x"] * 20))
    _assert_rejected(tmp_path, table, r"unexpected \['mood'\]")


def test_wrong_type(tmp_path):
    rows = _rows()
    rows[11]["start_time"] = "ten"
    _assert_rejected(tmp_path, rows, r"row 11, field 'start_time': cannot store str 'ten'")


def test_wrong_type_in_a_table(tmp_path):
    table = sample_table(20)
    index = table.schema.get_field_index("end_time")
    values = [str(v) for v in table["end_time"].to_pylist()]
    values[5] = "soon"
    table = table.set_column(index, "end_time", pa.array(values))
    _assert_rejected(tmp_path, table, r"row 5, field 'end_time': cannot cast string to double")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_score(tmp_path, value):
    rows = _rows()
    rows[20]["sim_text_audio"] = value
    _assert_rejected(tmp_path, rows, r"row 20, field 'sim_text_audio': is NaN or infinite")


def test_score_outside_cosine_range(tmp_path):
    rows = _rows()
    rows[2]["sim_av_temporal"] = 1.7
    _assert_rejected(tmp_path, rows, r"row 2, field 'sim_av_temporal': is a cosine outside")


def test_duplicate_clip_id_across_batches(tmp_path):
    rows = list(sample_records(60_000, seed=1))  # more than one 50k-row batch
    rows[55_000] = dict(rows[10])
    _assert_rejected(tmp_path, rows, r"row 55000, field 'clip_id': duplicate clip_id \(also at row 10\)")


def test_end_not_after_start(tmp_path):
    rows = _rows()
    rows[4]["end_time"] = rows[4]["start_time"]
    _assert_rejected(tmp_path, rows, r"row 4, field 'end_time': is not after start_time")


def test_clip_id_must_be_derived_from_video_and_start(tmp_path):
    rows = _rows()
    rows[9]["clip_id"] = "whatever"
    _assert_rejected(tmp_path, rows, r"row 9, field 'clip_id': is not `<video_id>_<start_time in ms")


@pytest.mark.parametrize("video_id", ["short", "../../etc/pw", "abcdefghijk!"])
def test_invalid_youtube_id(tmp_path, video_id):
    rows = _rows()
    rows[6]["video_id"] = video_id
    rows[6]["source"] = "youtube"
    rows[6]["clip_id"] = f"{video_id}_{round(rows[6]['start_time'] * 1000):09d}"
    _assert_rejected(tmp_path, rows, r"row 6, field 'video_id'")


def test_non_utf8_text(tmp_path):
    rows = _rows()
    rows[13]["caption"] = b"caf\xe9 au lait"
    _assert_rejected(tmp_path, rows, r"row 13, field 'caption': not valid UTF-8")


def test_unknown_category(tmp_path):
    rows = _rows()
    rows[8]["category"] = "cats"
    _assert_rejected(tmp_path, rows, r"row 8, field 'category': must be one of")


def test_empty_input(tmp_path):
    _assert_rejected(tmp_path, [], r"no records")


def test_no_kept_rows(tmp_path):
    rows = _rows()
    for row in rows:
        row["kept"] = False
    _assert_rejected(tmp_path, rows, r"no candidate has kept=True")

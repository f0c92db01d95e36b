"""Croissant: validates with mlcroissant, and its records are exactly the Parquet rows."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest

from builder.schema import CONFIGS


def _parquet_rows(directory: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted(directory.glob("*.parquet")):
        split = path.name.split("-")[0]
        for row in pq.read_table(path).to_pylist():
            rows[row["clip_id"]] = dict(row, split=split)
    return rows


def _same(expected, actual) -> bool:
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(actual, bytes):
        actual = actual.decode("utf-8")
    if isinstance(expected, float):
        return math.isclose(float(actual), expected, rel_tol=1e-6, abs_tol=1e-7)
    return actual == expected


@pytest.mark.parametrize("config", ["default", "candidates"])
def test_records_equal_the_parquet_rows(built_dataset, config):
    out = built_dataset.out_dir
    dataset = mlc.Dataset(jsonld=str(out / "croissant.json"))
    expected = _parquet_rows(out / CONFIGS[config].data_dir)
    records = list(dataset.records(config))
    assert len(records) == len(expected)
    for record in records:
        clip_id = record[f"{config}/clip_id"].decode()
        row = expected.pop(clip_id)
        for column, value in row.items():
            assert _same(value, record[f"{config}/{column}"]), (clip_id, column, value, record[f"{config}/{column}"])
    assert not expected


def test_shape_follows_the_hub_generator(built_dataset):
    metadata = json.loads((built_dataset.out_dir / "croissant.json").read_text())
    assert metadata["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    record_sets = {rs["@id"]: rs for rs in metadata["recordSet"]}
    assert set(record_sets) == {"default", "default_splits", "candidates", "candidates_splits"}
    assert record_sets["default_splits"]["dataType"] == "cr:Split"
    fields = {f["@id"]: f for f in record_sets["candidates"]["field"]}
    assert fields["candidates/sim_av_instance"]["dataType"] == "cr:Float32"
    assert fields["candidates/start_time"]["dataType"] == "cr:Float64"
    assert fields["candidates/kept"]["dataType"] == "sc:Boolean"
    assert fields["candidates/caption"]["dataType"] == "sc:Text"
    assert set(fields) == {"candidates/split"} | {f"candidates/{c}" for c in CONFIGS["candidates"].column_names}
    for key in ("rai:dataCollection", "rai:dataBiases", "rai:dataLimitations", "rai:personalSensitiveInformation"):
        assert metadata[key]


def test_cli_validator_accepts_it(built_dataset):
    result = subprocess.run(
        [sys.executable, "-m", "mlcroissant", "validate", "--jsonld", str(built_dataset.out_dir / "croissant.json")],
        capture_output=True, text=True, timeout=300,
    )
    if "No module named mlcroissant.__main__" in result.stderr:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("mlcroissant")), "validate", "--jsonld",
             str(built_dataset.out_dir / "croissant.json")],
            capture_output=True, text=True, timeout=300,
        )
    assert result.returncode == 0, result.stderr[-2000:]


def test_embedding_lists_are_arrays():
    from croissant.metadata import field_type

    assert field_type(CONFIGS["embeddings"].features["audio_embedding"]) == ("cr:Float16", True, None)
    assert field_type(CONFIGS["media"].features["audio"]) == ("sc:AudioObject", False, "bytes")
    assert field_type(CONFIGS["media"].features["video"]) == ("sc:VideoObject", False, "bytes")

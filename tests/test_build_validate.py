"""`acav1m validate` catches what breaks a release on the Hub: stale files, fields table, figures, Croissant."""

from __future__ import annotations

import shutil

import pytest

import acav1m
from builder.validate import SchemaError
from builder.verify import verify_dataset


@pytest.fixture
def copy(built_dataset, tmp_path):
    target = tmp_path / "acav1m"
    shutil.copytree(built_dataset.out_dir, target)
    return target


def test_a_fresh_build_validates_in_both_croissant_forms(built_dataset, capsys):
    assert acav1m.main(["validate", str(built_dataset.out_dir), "--no-stream"]) == 0
    assert "croissant default:" in capsys.readouterr().out


def test_stale_shard_of_the_old_layout_is_reported(copy, capsys):
    shutil.copy(copy / "data/default/train-00000-of-00001.parquet", copy / "data/train-00000-of-00001.parquet")
    assert acav1m.main(["validate", str(copy), "--no-stream", "--no-croissant"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data/train-00000-of-00001.parquet: stale file" in err


def test_a_stale_shard_inside_a_config_folder_is_reported(copy):
    shutil.copy(copy / "data/default/train-00000-of-00001.parquet", copy / "data/default/train-00001-of-00002.parquet")
    with pytest.raises(SchemaError, match="files the build did not write"):
        verify_dataset(copy, stream=False, croissant=False)


def test_fields_table_must_cover_the_schema(copy):
    card = copy / "README.md"
    card.write_text("\n".join(line for line in card.read_text().splitlines() if not line.startswith("| `kept` |")))
    with pytest.raises(SchemaError, match=r"data-fields table lacks \['kept'\] of config 'candidates'"):
        verify_dataset(copy, stream=False, croissant=False)


def test_a_referenced_figure_must_exist(copy):
    (copy / "images/scores.png").unlink()
    with pytest.raises(SchemaError, match="shows figure images/scores.png"):
        verify_dataset(copy, stream=False, croissant=False)

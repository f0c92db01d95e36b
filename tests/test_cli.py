"""The command line: --help reads well, and build + validate on a generated 10k-row input pass."""

from __future__ import annotations

import acav1m


def test_help_lists_every_command(capsys):
    try:
        acav1m.main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    for command in ("build", "validate", "push", "curate", "demo", "select", "sample-records"):
        assert command in out


def test_build_and_validate_10k_generated_rows(tmp_path, capsys):
    records = tmp_path / "records.parquet"
    assert acav1m.main(["sample-records", str(records), "--rows", "10000"]) == 0
    out = tmp_path / "acav1m"
    assert acav1m.main(["build", str(records), str(out), "--shard-size", "2MB", "--date", "2026-11-22"]) == 0
    assert len(list((out / "data" / "candidates").glob("train-*.parquet"))) >= 2
    assert acav1m.main(["validate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "croissant candidates: 10000 records" in printed and f"{out}: valid" in printed


def test_validate_names_what_is_wrong(tmp_path, capsys, built_dataset):
    import shutil

    copy = tmp_path / "acav1m"
    shutil.copytree(built_dataset.out_dir, copy)
    (copy / "data" / "default" / "test-00000-of-00001.parquet").unlink()
    assert acav1m.main(["validate", str(copy), "--no-croissant"]) == 2
    assert "config 'default' split 'test': no files match data/default/test-*.parquet" in capsys.readouterr().err


def test_select_runs_on_a_runs_embeddings(tmp_path, capsys):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from builder.schema import CONFIGS

    rng = np.random.default_rng(0)
    rows = [{"clip_id": f"video{i:06d}_000000000", "text_embedding": None,
             "audio_embedding": rng.normal(size=8).tolist(), "visual_embedding": rng.normal(size=8).tolist(),
             "embedding_model": "test"} for i in range(40)]
    source = tmp_path / "embeddings.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=CONFIGS["embeddings"].arrow_schema), source)
    out = tmp_path / "selected.parquet"
    assert acav1m.main(["select", str(source), "--size", "10", "--clusters", "4", "--out", str(out)]) == 0
    selected = pq.read_table(out).to_pylist()
    assert [r["rank"] for r in selected] == list(range(10))
    assert len({r["clip_id"] for r in selected}) == 10

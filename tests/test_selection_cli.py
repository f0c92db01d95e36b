from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.selection.cli import build_parser, main
from curation.selection.feature_table import FeatureTable, write_feature_table
from curation.selection.stage import SelectionConfig, select_records


def correspondence_features(n: int, seed: int) -> tuple[list[str], dict[str, np.ndarray], np.ndarray]:
    """Two audio and two visual 'layers' showing one of 8 concepts; the first half of the clips show the
    same concept in both modalities (a random pair of concepts in the other half)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(4, 8, 8))  # (layer, concept, dim)
    concept_a = rng.integers(0, 8, n)
    concept_v = concept_a.copy()
    concept_v[n // 2 :] = rng.integers(0, 8, n - n // 2)
    features = {}
    for layer, (modality, concept) in enumerate(
        [("audio", concept_a), ("audio", concept_a), ("visual", concept_v), ("visual", concept_v)]
    ):
        features[f"{modality}_toy_l{layer}"] = centres[layer, concept] + rng.normal(0, 0.5, (n, 8))
    ids = [f"clip{i:04d}" for i in range(n)]
    return ids, features, np.arange(n) < n // 2


def test_cli_writes_selected_ids_and_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids, features, positive = correspondence_features(400, seed=0)
    source = tmp_path / "features.parquet"
    write_feature_table(source, ids, features)
    out, labels_out = tmp_path / "selected.parquet", tmp_path / "labels.parquet"
    code = main(
        [
            str(source),
            "--size",
            "100",
            "--out",
            str(out),
            "--clusters",
            "8",
            "--batch-size",
            "100",
            "--selection-size",
            "25",
            "--seed",
            "3",
            "--kmeans-epochs",
            "5",
            "--labels-out",
            str(labels_out),
        ]
    )
    assert code == 0
    assert "selected 100 clips" in capsys.readouterr().out
    selected = pq.read_table(out)
    assert selected.column_names == ["clip_id", "rank"]
    assert selected.column("rank").to_pylist() == list(range(100))
    chosen = selected.column("clip_id").to_pylist()
    assert len(set(chosen)) == 100 and set(chosen) <= set(ids)
    assert np.mean([positive[ids.index(c)] for c in chosen]) > 0.65  # chance 0.5

    labels = pq.read_table(labels_out)
    assert labels.column_names == ["clip_id", *(f"cluster_{name}" for name in features)]
    assert labels.schema.field("cluster_audio_toy_l0").type == pa.int16()
    # the labels file is itself a valid input (precomputed cluster ids), and gives the same selection
    again = tmp_path / "again.parquet"
    assert (
        main(
            [
                str(labels_out),
                "--size",
                "100",
                "--out",
                str(again),
                "--batch-size",
                "100",
                "--selection-size",
                "25",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    assert pq.read_table(again).equals(selected)

    # the diversity check: per clustering, the selected clips' cluster histogram vs a random subset's
    diversity = pq.read_table(tmp_path / "selected.diversity.parquet").to_pandas()
    label_rows = labels.to_pandas().set_index("clip_id").loc[chosen]
    for name in features:
        rows = diversity[diversity.clustering == name]
        assert rows.cluster.tolist() == list(range(8))
        expected = np.bincount(label_rows[f"cluster_{name}"].to_numpy(), minlength=8)
        np.testing.assert_array_equal(rows.selected.to_numpy(), expected)
        assert rows.random.sum() == 100


def test_cli_reports_bad_input_naming_both_table_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import acav1m

    source = tmp_path / "nothing.parquet"
    pq.write_table(pa.table({"clip_id": ["a", "b"], "other": [1.0, 2.0]}), source)
    assert acav1m.main(["select", str(source), "--size", "1", "--out", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("acav1m select: error: no feature or label columns") and "\n" not in err
    assert "audio_*/visual_* (lists of floats" in err and "cluster_audio_*/cluster_visual_* (integers" in err
    # integer audio_/visual_ columns: the message says to add the cluster_ prefix
    ints = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"clip_id": ["a", "b"], "audio_l0": [1, 2], "visual_l0": [0, 1]}), ints)
    assert acav1m.main(["select", str(ints), "--size", "1", "--out", str(tmp_path / "o.parquet")]) == 2
    assert "name them cluster_<name> (e.g. cluster_audio_l0)" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()
    help_text = " ".join(build_parser().format_help().split())
    assert "audio_*/visual_*" in help_text and "cluster_audio_*/cluster_visual_*" in help_text


def test_select_records_returns_the_subset_rows(tmp_path: Path) -> None:
    ids, features, positive = correspondence_features(300, seed=1)
    write_feature_table(tmp_path / "f.parquet", ids, features)
    records = pq.read_table(tmp_path / "f.parquet").append_column("positive", pa.array(positive))
    # ordinary record columns with modality prefixes are neither features nor cluster ids
    records = records.append_column("audio_sample_rate", pa.array([16000] * 300))
    records = records.append_column("visual_tags", pa.array([["a", "b"]] * 300))
    config = SelectionConfig(target_size=90, n_clusters=8, batch_size=100, selection_size=25, kmeans_epochs=5)
    subset, used = select_records(records, config)
    assert used["clusterings"] == 4 and used["pairs"] == 4 and used["clusters"] == 8
    assert subset.num_rows == 90
    assert subset.column("rank").to_pylist() == list(range(90))
    assert subset.schema.names == [*records.schema.names, "rank"]
    assert np.mean(subset.column("positive").to_numpy()) > 0.65


def test_feature_table_streams_columns(tmp_path: Path) -> None:
    ids, features, _ = correspondence_features(50, seed=2)
    features["visual_half"] = features.pop("visual_toy_l3").astype(np.float16)
    write_feature_table(tmp_path / "f.parquet", ids, features)
    table = FeatureTable(tmp_path / "f.parquet", batch_rows=16)
    blocks = list(table.column("visual_half"))
    assert [len(b) for b in blocks] == [16, 16, 16, 2] and blocks[0].dtype == np.float16
    np.testing.assert_array_equal(np.concatenate(blocks), features["visual_half"])
    assert table.clip_ids().tolist() == ids


def test_select_records_on_an_empty_table(tmp_path: Path) -> None:
    ids, features, _ = correspondence_features(10, seed=3)
    write_feature_table(tmp_path / "f.parquet", ids, features)
    empty = pq.read_table(tmp_path / "f.parquet").slice(0, 0)
    subset, _ = select_records(empty, SelectionConfig(target_size=5))
    assert subset.num_rows == 0 and subset.schema.names[-1] == "rank"


def test_features_command_writes_resumable_shards_that_select_reads(tmp_path: Path, capsys) -> None:
    import acav1m
    from curation.media.synthetic import make_clip

    clips = tmp_path / "clips"
    clips.mkdir()
    for i, variant in enumerate(("sync", "audio_late", "silent")):
        make_clip(clips / f"{variant}.mp4", variant, seed=i, width=96, height=64)
    (clips / "broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "features"
    argv = ["features", str(clips), "--out", str(out), "--variant", "tiny", "--shard-size", "2"]
    assert acav1m.main(argv) == 0
    assert "4 clips: 2 shards written, 0 already there" in capsys.readouterr().out
    shards = sorted(p.name for p in out.glob("part-*.parquet"))
    assert shards == ["part-00000.parquet", "part-00001.parquet"]
    errors = pq.read_table(out / "_errors-00000.parquet").to_pylist()  # broken.mp4 sorts first
    assert [e["clip_id"] for e in errors] == ["broken"] and errors[0]["reason"]
    table = pq.read_table(out)  # the folder reads as one table (the _errors files are skipped)
    assert sorted(table.column("clip_id").to_pylist()) == ["audio_late", "silent", "sync"]
    assert table.schema.field("audio_imagebind_block00").type.value_type == pa.float16()
    assert acav1m.main(argv) == 0 and "0 shards written, 2 already there" in capsys.readouterr().out
    assert acav1m.main(["select", str(out), "--size", "2", "--out", str(tmp_path / "s.parquet")]) == 0
    assert "clusterings: 4 (2 audio, 2 visual)" in capsys.readouterr().out


def test_a_size_larger_than_the_table_warns_and_says_the_size_used(tmp_path: Path, caplog) -> None:
    ids, features, _ = correspondence_features(60, seed=1)
    source = tmp_path / "features.parquet"
    write_feature_table(source, ids, features)
    out = tmp_path / "selected.parquet"
    with caplog.at_level("WARNING", logger="acav1m.select"):
        assert main([str(source), "--size", "500", "--out", str(out), "--clusters", "3"]) == 0
    assert "asked to select 500 clips from a table of 60: selecting all 60" in caplog.text
    assert pq.read_table(out).num_rows == 60

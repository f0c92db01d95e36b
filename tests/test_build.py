"""The builder: layout, sharding, row groups, determinism, atomicity, streaming loads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.build import build_dataset, split_of
from builder.sample import sample_records, sample_table
from builder.schema import CONFIGS, SPLITS
from builder.validate import SchemaError


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_layout_matches_the_hub_repo(built_dataset):
    out = built_dataset.out_dir
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "README.md",
        "croissant.json",
        "data/candidates/test-00000-of-00001.parquet",
        "data/candidates/train-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
    ]
    assert not list(out.parent.glob(".acav1m.*")), "staging directories must not be left behind"


def test_parquet_carries_the_declared_schema_and_options(built_dataset):
    path = built_dataset.out_dir / "data/train-00000-of-00001.parquet"
    schema = pq.read_schema(path)
    assert schema.equals(CONFIGS["default"].arrow_schema, check_metadata=False)
    assert b"huggingface" in schema.metadata  # datasets restores the features from it
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert metadata.row_group(0).column(0).has_offset_index  # page index written


def test_default_is_exactly_the_kept_candidates(built_dataset):
    out = built_dataset.out_dir
    candidates = pq.read_table(out / "data/candidates").to_pylist()
    default_rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    kept = {r["clip_id"] for r in candidates if r["kept"]}
    assert {r["clip_id"] for r in default_rows} == kept
    assert 0 < len(kept) < len(candidates)
    assert set(default_rows[0]) == set(CONFIGS["default"].column_names)


def test_splits_never_share_a_source_video(built_dataset):
    out = built_dataset.out_dir
    videos = {
        split: set(pq.read_table(out / f"data/candidates/{split}-00000-of-00001.parquet")["video_id"].to_pylist())
        for split in SPLITS
    }
    assert videos["train"] and videos["test"]
    assert not videos["train"] & videos["test"]
    assert all(split_of(v, 0.1) == "test" for v in videos["test"])


def test_same_records_give_byte_identical_files(tmp_path):
    first = build_dataset(tmp_path / "a" / "acav1m", sample_records(300, seed=3)).out_dir
    second = build_dataset(tmp_path / "b" / "acav1m", sample_table(300, seed=3)).out_dir
    assert _digests(first) == _digests(second)


def test_shards_and_row_groups_follow_the_size_targets(tmp_path):
    out = build_dataset(tmp_path / "acav1m", sample_records(3000, seed=2), shard_bytes=400_000).out_dir
    shards = sorted((out / "data/candidates").glob("train-*.parquet"))
    assert len(shards) >= 3
    assert [s.name for s in shards] == [f"train-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))]
    for shard in shards:
        meta = pq.ParquetFile(shard).metadata
        assert meta.num_row_groups >= 1
    total = sum(pq.ParquetFile(s).metadata.num_rows for s in (out / "data/candidates").glob("*.parquet"))
    assert total == 3000


def test_failed_build_leaves_the_previous_release_intact(tmp_path):
    out = tmp_path / "acav1m"
    build_dataset(out, sample_records(200, seed=4))
    before = _digests(out)
    rows = list(sample_records(200, seed=5))
    rows[150]["sim_av_instance"] = float("nan")
    with pytest.raises(SchemaError, match="row 150"):
        build_dataset(out, rows)
    assert _digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acav1m"]


def test_load_dataset_by_name_streams_with_columns_filters_and_shuffle(built_dataset, monkeypatch):
    monkeypatch.chdir(built_dataset.out_dir.parent)
    import acav1m

    streamed = datasets.load_dataset("acav1m", streaming=True)
    assert set(streamed) == {"train", "test"}
    train = list(streamed["train"])
    assert len(train) == built_dataset.stats["default"].rows["train"]
    narrow = acav1m.load("acav1m", split="train", columns=["clip_id", "sim_av_instance"])
    assert set(next(iter(narrow))) == {"clip_id", "sim_av_instance"}
    strong = list(acav1m.load("acav1m", split="train", filters=[("sim_av_instance", ">=", 0.3)]))
    expected = [r for r in train if r["sim_av_instance"] >= 0.3]
    assert [r["clip_id"] for r in strong] == [r["clip_id"] for r in expected]
    shuffled = [r["clip_id"] for r in acav1m.load("acav1m", split="train").shuffle(seed=0, buffer_size=64)]
    assert sorted(shuffled) == sorted(r["clip_id"] for r in train) and shuffled != [r["clip_id"] for r in train]
    candidates = acav1m.load("acav1m", "candidates", split="test")
    assert sum(1 for _ in candidates) == built_dataset.stats["candidates"].rows["test"]


def test_builder_class_prepares_and_streams_a_local_build(built_dataset, tmp_path):
    import acav1m

    builder = acav1m.ACAV1M(config_name="candidates", source=os.fspath(built_dataset.out_dir), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    table = builder.as_dataset(split="train")
    assert table.num_rows == built_dataset.stats["candidates"].rows["train"]
    assert table.features == CONFIGS["candidates"].features
    streamed = builder.as_streaming_dataset(split="test")
    assert sum(1 for _ in streamed) == built_dataset.stats["candidates"].rows["test"]


def test_builder_class_reports_a_missing_source(tmp_path):
    import acav1m

    builder = acav1m.ACAV1M(config_name="default", source=os.fspath(tmp_path), cache_dir=str(tmp_path / "c"))
    with pytest.raises(FileNotFoundError, match="no Parquet shards for config 'default'"):
        builder.download_and_prepare()


def test_load_refuses_trust_remote_code():
    import acav1m

    with pytest.raises(ValueError, match="script-free"):
        acav1m.load("acav1m", trust_remote_code=True)


def test_embeddings_follow_their_clip_split(tmp_path):
    rows = list(sample_records(120, seed=6))
    embeddings = [
        {"clip_id": r["clip_id"], "text_embedding": [0.5] * 8, "audio_embedding": [0.25] * 8,
         "visual_embedding": [0.125] * 8, "embedding_model": "test"}
        for r in rows
    ]
    result = build_dataset(tmp_path / "acav1m", rows, embeddings=embeddings)
    assert result.stats["embeddings"].rows == result.stats["candidates"].rows
    table = pa.concat_tables(pq.read_table(p) for p in sorted((result.out_dir / "data/embeddings").glob("*.parquet")))
    assert table.schema.field("audio_embedding").type == pa.list_(pa.float16())
    embeddings.append(dict(embeddings[0], clip_id="unknownvid0_000000000"))
    with pytest.raises(SchemaError, match="row 120, field 'clip_id'.*not among the records"):
        build_dataset(tmp_path / "other", rows, embeddings=embeddings)

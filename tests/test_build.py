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


def _embeddings(rows: list[dict], dim: int) -> list[dict]:
    return [
        {"clip_id": r["clip_id"], "text_embedding": [0.5] * dim, "audio_embedding": [0.25] * dim,
         "visual_embedding": [0.125] * dim, "embedding_model": "test"}
        for r in rows
    ]


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_layout_matches_the_hub_repo(built_dataset):
    out = built_dataset.out_dir
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert [n for n in names if not n.startswith("images/")] == [
        ".acav1m-build.json",
        "README.md",
        "RELEASE_NOTES.md",
        "croissant.json",
        "data/candidates/test-00000-of-00001.parquet",
        "data/candidates/train-00000-of-00001.parquet",
        "data/default/test-00000-of-00001.parquet",
        "data/default/train-00000-of-00001.parquet",
    ]
    assert not list(out.parent.glob(".acav1m.*")), "staging directories must not be left behind"


def test_parquet_carries_the_declared_schema_and_options(built_dataset):
    path = built_dataset.out_dir / "data/default/train-00000-of-00001.parquet"
    schema = pq.read_schema(path)
    assert schema.equals(CONFIGS["default"].arrow_schema, check_metadata=False)
    assert b"huggingface" in schema.metadata  # datasets restores the features from it
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert metadata.row_group(0).column(0).has_offset_index  # page index written


def test_default_is_exactly_the_kept_candidates(built_dataset):
    out = built_dataset.out_dir
    candidates = pq.read_table(out / "data/candidates").to_pylist()
    default_rows = pq.read_table(out / "data/default").to_pylist()
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


def test_refuses_a_folder_it_did_not_write_and_keeps_its_files(tmp_path, capsys):
    import acav1m

    records = tmp_path / "records.parquet"
    pq.write_table(sample_table(50, seed=7), records)
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    assert acav1m.main(["build", str(records), str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "is not an acav1m build" in err and "--overwrite" in err
    assert (out / "chapter1.tex").read_text() == "years of work"
    # an earlier build is replaced, but not a file a user dropped into it since
    build = tmp_path / "acav1m"
    assert acav1m.main(["build", str(records), str(build)]) == 0
    assert acav1m.main(["build", str(records), str(build)]) == 0
    (build / "notes.txt").write_text("mine")
    assert acav1m.main(["build", str(records), str(build)]) == 2
    assert "notes.txt" in capsys.readouterr().err and (build / "notes.txt").exists()
    (build / "notes.txt").unlink()
    (build / ".acav1m-build.json").unlink()  # a build from before markers existed is still recognised
    for extra in ("RELEASE_NOTES.md", *(f"images/{p.name}" for p in (build / "images").iterdir())):
        (build / extra).unlink()
    assert acav1m.main(["build", str(records), str(build)]) == 0
    assert acav1m.main(["build", str(records), str(out), "--overwrite"]) == 0
    assert not (out / "chapter1.tex").exists() and (out / "README.md").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--shard-size", "0"], "shard size must be positive"),
        (["--shard-size=-5MB"], "not a size"),
        (["--shard-size", "0.2B"], "shard size must be positive"),
        (["--test-fraction", "1"], "test fraction must be in [0, 1)"),
        (["--test-fraction", "-0.1"], "test fraction must be in [0, 1)"),
        (["--date", "2026-02-30"], "not a valid calendar date"),
        (["--exclude", "missing.txt"], "removals file"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path, capsys, extra, message):
    import acav1m

    records = tmp_path / "records.parquet"
    pq.write_table(sample_table(20, seed=7), records)
    assert acav1m.main(["build", str(records), str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_build_on_a_file_that_is_not_parquet_names_it(tmp_path, capsys):
    import acav1m

    bad = tmp_path / "records.csv"
    bad.write_text("clip_id,video_id\n")
    assert acav1m.main(["build", str(bad), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad} is not a Parquet file" in err


def test_exclude_removes_clips_and_videos_from_every_config(tmp_path):
    from builder.takedown import Removals

    rows = list(sample_records(300, seed=8))
    embeddings = _embeddings(rows, 4)
    kept = [r for r in rows if r["kept"]]
    clip, video = kept[0]["clip_id"], kept[-1]["video_id"]
    listing = tmp_path / "removals.txt"
    listing.write_text(f"# takedown 2026-11-30, ticket 12\n{clip}  # asked by the uploader\n\n{video}\n")
    expected = {r["clip_id"] for r in rows if r["clip_id"] == clip or r["video_id"] == video}
    result = build_dataset(tmp_path / "acav1m", rows, embeddings=embeddings, removals=Removals.load(listing))
    for config in ("default", "candidates", "embeddings"):
        ids = set(pq.read_table(result.out_dir / f"data/{config}", columns=["clip_id"])["clip_id"].to_pylist())
        assert not ids & expected, config
    assert result.stats["candidates"].num_rows == 300 - len(expected)
    assert result.removals.removed["candidates"] == expected == result.removals.removed["embeddings"]
    assert result.removals.removed["default"] == {c for c in expected if c in {r["clip_id"] for r in kept}}
    notes = (result.out_dir / "RELEASE_NOTES.md").read_text()
    assert f"removed {len(expected)} clips from every config" in notes and f"`{clip}`" in notes
    card = (result.out_dir / "README.md").read_text()
    assert f"{len(expected)} clips" in card and "removals" in card
    bad = tmp_path / "bad.txt"
    bad.write_text("ok_id\nnot an id\n")
    with pytest.raises(ValueError, match="bad.txt, line 2"):
        Removals.load(bad)


def test_release_notes_compare_with_the_previous_release(tmp_path):
    from builder.takedown import Removals

    rows = list(sample_records(200, seed=9))
    first = build_dataset(tmp_path / "v1", rows).out_dir
    for shard in (first / "data/default").iterdir():  # releases of the older layout kept `default` in data/
        shard.rename(first / "data" / shard.name)
    card = first / "README.md"
    card.write_text(card.read_text().replace("path: data/default/", "path: data/"))
    kept = [r for r in rows if r["kept"]]
    listing = tmp_path / "removals.txt"
    listing.write_text(kept[0]["clip_id"] + "\n")
    rows[[i for i, r in enumerate(rows) if r["kept"]][1]]["caption"] = "A new caption."
    dropped = [i for i, r in enumerate(rows) if r["kept"]][2]
    rows[dropped].update(kept=False, reject_reason="instance")
    new_rows = list(sample_records(20, seed=99))
    second = build_dataset(tmp_path / "v2", rows + new_rows, removals=Removals.load(listing), previous=str(first))
    changes = second.changes
    assert changes.removed["takedown request (removals file)"] == [kept[0]["clip_id"]]
    assert changes.removed["filtered out: instance"] == [rows[dropped]["clip_id"]]
    assert changes.changed == {"captions": [kept[1]["clip_id"]]}
    assert changes.added == sorted(r["clip_id"] for r in new_rows if r["kept"])
    notes = (second.out_dir / "RELEASE_NOTES.md").read_text()
    assert "| removed | takedown request (removals file) | 1 |" in notes and "| changed | captions | 1 |" in notes


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
    embeddings = _embeddings(rows, 8)
    result = build_dataset(tmp_path / "acav1m", rows, embeddings=embeddings)
    assert result.stats["embeddings"].rows == result.stats["candidates"].rows
    table = pa.concat_tables(pq.read_table(p) for p in sorted((result.out_dir / "data/embeddings").glob("*.parquet")))
    assert table.schema.field("audio_embedding").type == pa.list_(pa.float16())
    embeddings.append(dict(embeddings[0], clip_id="unknownvid0_000000000"))
    with pytest.raises(SchemaError, match="row 120, field 'clip_id'.*not among the records"):
        build_dataset(tmp_path / "other", rows, embeddings=embeddings)


@pytest.mark.parametrize("files", [
    ["README.md", "croissant.json", "data/candidates/train-00000.parquet", "thesis.pdf"],  # a user file beside
    ["README.md", "croissant.json", "data/notes.txt"],  # not Parquet, though under data/
    ["croissant.json", "thesis.pdf"],  # a Croissant file alone does not make a build
    ["data/mine.parquet"],  # the user's own Parquet, no card
])
def test_a_folder_that_only_looks_like_an_old_build_is_not_replaced(tmp_path, files):
    """Builds from before the marker are recognised by card + Croissant + data/**.parquet and nothing else;
    anything short of that is someone else's folder, and building over it would delete their files."""
    out = tmp_path / "out"
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("someone's work")
    with pytest.raises(FileExistsError, match="is not an acav1m build"):
        build_dataset(out, sample_records(20, seed=1))
    assert all((out / name).read_text() == "someone's work" for name in files)

"""The published files as someone else reads them: the card through huggingface_hub and datasets, the
Parquet through pyarrow's metadata, Croissant against the Parquet schema, splits against their definition.

Expected values come from the files themselves read by third-party code, or from the documented rules
("splits are assigned by a hash of the source video id, so no video is in both"; `--test-fraction` is the
share of source videos in `test`), never from the builder's own objects.
"""

from __future__ import annotations

import glob
import json
import math
from collections import defaultdict
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

import acav1m
from builder.sample import sample_records
from builder.schema import CONFIGS, SPLITS


@pytest.fixture
def release(tmp_path_factory) -> Path:
    """A build with every metadata config: candidates (+ default) and 8-dimensional embeddings.

    Built per test (about a second) so that mutation testing, which runs only the tests that call a mutated
    function, runs each of these tests for every mutant of the builder."""
    from builder.build import build_dataset
    from builder.release import ReleaseInfo

    rows = list(sample_records(900, seed=4))
    rng = np.random.default_rng(4)
    embeddings = [{"clip_id": r["clip_id"], "text_embedding": rng.normal(size=8).tolist(),
                   "audio_embedding": rng.normal(size=8).tolist(), "visual_embedding": rng.normal(size=8).tolist(),
                   "embedding_model": "generated"} for r in rows]
    out = tmp_path_factory.mktemp("published") / "acav1m"
    build_dataset(out, rows, embeddings=embeddings, release=ReleaseInfo(date_published="2026-11-22"))
    return out


def _card_configs(out: Path) -> dict[str, dict]:
    data = DatasetCard.load(out / "README.md").data.to_dict()
    return {c["config_name"]: c for c in data["configs"]}


def _files(out: Path, pattern: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(out / pattern)))


def test_card_data_files_cover_exactly_the_parquet_shards(release):
    configs = _card_configs(release)
    assert set(configs) == {"default", "candidates", "embeddings"}
    listed = set()
    for name, config in configs.items():
        for entry in config["data_files"]:
            files = _files(release, entry["path"])
            assert files, (name, entry)
            assert all(f.parent == release / CONFIGS[name].data_dir for f in files)
            assert all(f.name.startswith(f"{entry['split']}-") for f in files)
            listed.update(files)
    assert listed == set(release.rglob("*.parquet"))  # no shard outside a config, none in two


@pytest.mark.parametrize("config", ["default", "candidates", "embeddings"])
def test_card_features_and_split_sizes_match_what_datasets_reads_from_the_parquet(release, config):
    card = {c["config_name"]: c for c in DatasetCard.load(release / "README.md").data.to_dict()["dataset_info"]}[config]
    entries = _card_configs(release)[config]["data_files"]
    files = {e["split"]: [str(f) for f in _files(release, e["path"])] for e in entries}
    # what `datasets` infers from the files alone (the parquet builder reading their schemas) ...
    builder = datasets.load_dataset_builder("parquet", data_files=files)
    inferred = builder.info.features
    if inferred is None:
        inferred = datasets.Features.from_arrow_schema(pq.read_schema(files["train"][0]))
    # ... and from the Arrow types without the embedded `huggingface` metadata the builder wrote
    bare = datasets.Features.from_arrow_schema(pq.read_schema(files["train"][0]).remove_metadata())
    # what `datasets` reads from the card's YAML for this config
    declared = datasets.load_dataset_builder(str(release), config).info
    assert declared.features == inferred == bare
    assert datasets.Features._from_yaml_list(card["features"]) == inferred
    for split in SPLITS:
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files[split])
        assert declared.splits[split].num_examples == rows
        assert {s["name"]: s["num_examples"] for s in card["splits"]}[split] == rows
    stream = datasets.load_dataset(str(release), config, split="test", streaming=True)
    assert sum(len(batch["clip_id"]) for batch in stream.iter(batch_size=1000)) == declared.splits["test"].num_examples


# Croissant data types for Arrow types (Croissant 1.1 vocabulary; NOTES.md section 3).
CROISSANT_TYPES = {pa.string(): "sc:Text", pa.bool_(): "sc:Boolean", pa.float16(): "cr:Float16",
                   pa.float32(): "cr:Float32", pa.float64(): "cr:Float64", pa.int64(): "cr:Int64",
                   pa.int32(): "cr:Int32"}


def test_croissant_fields_match_the_parquet_schema_as_pyarrow_reads_it(release):
    document = json.loads((release / "croissant.json").read_text())
    filesets = {d["@id"]: d for d in document["distribution"] if d["@type"] == "cr:FileSet"}
    record_sets = {r["@id"]: r for r in document["recordSet"]}
    for config, card_config in _card_configs(release).items():
        files = sorted({f for e in card_config["data_files"] for f in _files(release, e["path"])})
        schema = pq.read_schema(files[0])
        assert all(pq.read_schema(f).equals(schema) for f in files)
        fields = {f["@id"]: f for f in record_sets[config]["field"]}
        columns = {fid.split("/", 1)[1]: f for fid, f in fields.items() if "column" in f["source"].get("extract", {})}
        assert list(columns) == schema.names  # every Parquet column, in order, and nothing else
        for name, field in columns.items():
            assert field["source"]["extract"]["column"] == name
            arrow = schema.field(name).type
            is_list = pa.types.is_list(arrow) or pa.types.is_large_list(arrow)
            assert field["dataType"] == CROISSANT_TYPES[arrow.value_type if is_list else arrow], name
            assert bool(field.get("isArray")) == is_list, name
            fileset = filesets[field["source"]["fileSet"]["@id"]]
            covered = sorted({f for pattern in fileset["includes"] for f in _files(release, pattern)})
            assert covered == files, (config, name)


def _video_splits(out: Path) -> dict[str, set[str]]:
    """video_id -> the splits its rows are in, over every config (embeddings carry the video in clip_id)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for path in out.rglob("*.parquet"):
        split = path.name.split("-", 1)[0]
        names = pq.read_schema(path).names
        if "video_id" in names:
            videos = pq.read_table(path, columns=["video_id"]).column("video_id").to_pylist()
        else:
            clips = pq.read_table(path, columns=["clip_id"]).column("clip_id").to_pylist()
            videos = [c.rsplit("_", 1)[0] for c in clips]
        for video in videos:
            seen[video].add(split)
    return seen


def test_no_video_is_in_two_splits_in_any_config(release):
    seen = _video_splits(release)
    assert len(seen) == 300 and all(len(splits) == 1 for splits in seen.values())


@pytest.fixture(scope="module")
def records_100k(tmp_path_factory) -> Path:
    """100,000 candidate rows of about 33,000 videos with 1-5 clips each; optional columns left null."""
    rng = np.random.default_rng(12)
    counts = rng.integers(1, 6, 40_000)
    counts = counts[: np.searchsorted(np.cumsum(counts), 100_000) + 1]
    counts[-1] -= counts.sum() - 100_000
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    ids = ["".join(row) for row in rng.choice(alphabet, (len(counts), 11))]
    assert len(set(ids)) == len(ids)
    video = np.repeat(np.array(ids), counts)
    start = np.concatenate([np.arange(c) * 10.0 for c in counts])
    n = len(video)
    columns = {name: pa.nulls(n, field.type) for name, field in zip(CONFIGS["candidates"].column_names,
                                                                    CONFIGS["candidates"].arrow_schema)}
    columns.update(clip_id=[f"{v}_{int(s * 1000):09d}" for v, s in zip(video, start)], video_id=video.tolist(),
                   url=[f"https://www.youtube.com/watch?v={v}" for v in video], start_time=start,
                   end_time=start + 10.0, source=["youtube"] * n, license=["cc-by-4.0"] * n,
                   kept=rng.random(n) < 0.5)
    for column in CONFIGS["candidates"].columns:  # other required columns: an empty list
        value = columns[column.name]
        if not column.nullable and isinstance(value, pa.Array) and value.null_count == n:
            columns[column.name] = pa.array([[]] * n, CONFIGS["candidates"].arrow_schema.field(column.name).type)
    path = tmp_path_factory.mktemp("records") / "records.parquet"
    pq.write_table(pa.table(columns, schema=CONFIGS["candidates"].arrow_schema), path)
    return path


@pytest.mark.parametrize("fraction", [None])
def test_test_fraction_holds_on_a_100k_row_build(records_100k, tmp_path, fraction):
    """Each video is in `test` with probability f (a hash is a fair coin): over V videos the test share of
    videos has sd sqrt(f(1-f)/V) and the share of rows sd sqrt(f(1-f) * sum(c_v^2)) / N for c_v clips of
    video v. Both must land within 4 sd of the configured fraction (the CLI default is 0.1)."""
    out = tmp_path / "acav1m"
    args = ["build", str(records_100k), str(out)] + ([] if fraction is None else ["--test-fraction", str(fraction)])
    assert acav1m.main(args) == 0
    f = 0.1 if fraction is None else fraction
    data_dir = out / CONFIGS["candidates"].data_dir
    clips = defaultdict(lambda: defaultdict(int))  # split -> video -> clips
    for path in data_dir.glob("*.parquet"):
        split = path.name.split("-", 1)[0]
        assert split in SPLITS and path.parent == data_dir
        for video in pq.read_table(path, columns=["video_id"]).column("video_id").to_pylist():
            clips[split][video] += 1
    assert not set(clips["train"]) & set(clips["test"])
    per_video = np.array([c for split in SPLITS for c in clips[split].values()], dtype=np.float64)
    n_videos, n_rows = len(per_video), per_video.sum()
    assert n_rows == 100_000 and n_videos > 30_000
    video_share = len(clips["test"]) / n_videos
    row_share = sum(clips["test"].values()) / n_rows
    assert abs(video_share - f) <= 4 * math.sqrt(f * (1 - f) / n_videos), video_share
    assert abs(row_share - f) <= 4 * math.sqrt(f * (1 - f) * np.sum(per_video**2)) / n_rows, row_share
    metadata_rows = {s: sum(pq.ParquetFile(p).metadata.num_rows for p in data_dir.glob(f"{s}-*.parquet"))
                     for s in SPLITS}
    assert metadata_rows["test"] == sum(clips["test"].values())


def test_rebuilding_over_a_release_and_single_row_inputs(tmp_path):
    from builder.build import build_dataset

    row = next(iter(sample_records(3, seed=9)))
    row["kept"] = True
    out = tmp_path / "acav1m"
    build_dataset(out, [row])
    build_dataset(out, [row, *list(sample_records(6, seed=10))[1:]])  # replaces the earlier release
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in (out / CONFIGS["candidates"].data_dir).glob("*.parquet"))
    assert rows == 6
    assert not [p for p in tmp_path.iterdir() if p.name != "acav1m"]  # no staging or retired copy left behind


@pytest.mark.parametrize("start, message", [(-10.0, "is negative"), (float("nan"), "is NaN or infinite")])
def test_a_bad_start_time_is_refused_naming_the_row(tmp_path, start, message):
    from builder.build import build_dataset
    from builder.validate import SchemaError

    rows = list(sample_records(6, seed=11))
    rows[4]["start_time"] = start
    with pytest.raises(SchemaError, match=f"row 4, field 'start_time': {message}"):
        build_dataset(tmp_path / "acav1m", rows)


def test_a_clip_id_hashing_above_every_seen_id_is_reported_missing():
    """Embedding rows must belong to built clips: an unseen id is found wherever its digest sorts."""
    import pyarrow as pa

    from builder.sample import sample_records
    from builder.schema import CONFIGS
    from builder.validate import BatchChecker, _hash64, rows_to_batch

    rows = list(sample_records(20, seed=2))
    seen = [row["clip_id"] for row in rows]
    checker = BatchChecker(CONFIGS["candidates"])
    checker.check(rows_to_batch(rows, CONFIGS["candidates"], 0))
    checker.finish()
    top, bottom = max(_hash64(pa.array(seen))), min(_hash64(pa.array(seen)))
    unseen = [f"new{k:04d}_000000" for k in range(2000)]
    digests = _hash64(pa.array(unseen))
    above = unseen[int(np.flatnonzero(digests > top)[0])]  # sorts after every seen id
    below = unseen[int(np.flatnonzero(digests < bottom)[0])]
    assert checker.missing(pa.array(seen)) is None
    assert checker.missing(pa.array([seen[3], above])) == 1
    assert checker.missing(pa.array([below, seen[0]])) == 0


def test_split_is_blake2b_of_the_video_id_read_little_endian():
    """README "Splits": a video is in test when BLAKE2b-64(video_id), read as a little-endian integer and
    divided by 2**64, is below the test fraction; recomputed with hashlib for 2,000 ids."""
    import hashlib

    from builder.build import split_of

    ids = [f"v{k:05d}-{k * 7919 % 1000:03d}" for k in range(2000)]
    for video_id in ids:
        value = int.from_bytes(hashlib.blake2b(video_id.encode("utf-8"), digest_size=8).digest(), "little") / 2**64
        assert split_of(video_id, 0.1) == ("test" if value < 0.1 else "train"), video_id
    assert 150 < sum(split_of(v, 0.1) == "test" for v in ids) < 250


def test_a_table_without_a_declared_column_is_refused_by_name():
    from builder.sample import sample_table
    from builder.schema import CONFIGS
    from builder.validate import SchemaError, table_to_batches

    table = sample_table(10, seed=1).drop_columns(["caption"])
    with pytest.raises(SchemaError, match=r"missing \['caption'\]"):
        list(table_to_batches(table, CONFIGS["candidates"], 4))


def test_builds_from_a_folder_of_parquet_and_from_default_shaped_records(tmp_path):
    """A folder of Parquet files is read whole (every file under it, in name order); records without filter
    flags (`default`-shaped) build the `default` config only."""
    import pyarrow.parquet as pq

    from builder.build import build_dataset
    from builder.sample import sample_table
    from builder.schema import CONFIGS

    table = sample_table(300, seed=4)
    folder = tmp_path / "records"
    (folder / "part").mkdir(parents=True)
    pq.write_table(table.slice(0, 120), folder / "a.parquet")
    pq.write_table(table.slice(120), folder / "part" / "b.parquet")
    from_folder = build_dataset(tmp_path / "from_folder", folder)
    assert from_folder.stats["candidates"].num_rows == 300
    built = pq.read_table(tmp_path / "from_folder" / "data" / "candidates").column("clip_id").to_pylist()
    assert sorted(built) == sorted(table.column("clip_id").to_pylist())

    kept = table.filter(table.column("kept")).select(CONFIGS["default"].column_names)
    default_only = build_dataset(tmp_path / "default_only", kept)
    assert set(default_only.stats) == {"default"} and default_only.stats["default"].num_rows == kept.num_rows


def test_a_similarity_outside_minus_one_to_one_is_refused():
    from builder.sample import sample_table
    from builder.schema import CONFIGS
    from builder.validate import BatchChecker, SchemaError, table_to_batches

    table = sample_table(5, seed=1)
    for bad in (-1.5, 1.5):
        column = table.column("sim_av_instance").to_pylist()
        column[2] = bad
        broken = table.set_column(table.schema.get_field_index("sim_av_instance"), "sim_av_instance",
                                  pa.array(column, pa.float32()))
        with pytest.raises(SchemaError, match="sim_av_instance.*outside"):
            checker = BatchChecker(CONFIGS["candidates"])
            for batch in table_to_batches(broken, CONFIGS["candidates"], 10):
                checker.check(batch)


def test_release_notes_count_the_default_rows_and_build_arguments_are_checked(tmp_path):
    """RELEASE_NOTES.md states how many clips `default` holds: read back against the Parquet metadata. The
    shard size must be positive (1 byte is allowed: a shard per row group), a test fraction of 0 means no test
    split, the output may be nested in folders that do not exist yet, and the result names the final files."""
    import pyarrow.parquet as pq

    from builder.build import build_dataset
    from builder.release import ReleaseInfo
    from builder.sample import sample_records

    out = tmp_path / "a" / "b" / "release"
    result = build_dataset(out, sample_records(200, seed=6), release=ReleaseInfo(date_published="2026-11-22",
                                                                                test_fraction=0.0))
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "data" / "default").glob("*.parquet"))
    assert 0 < rows < 200
    assert f"`default` holds {rows} clips." in (out / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert not list((out / "data").rglob("test-*.parquet"))
    paths = [shard.path for shards in result.shards["default"].values() for shard in shards]
    assert paths and all(p.is_file() and p.is_relative_to(out) for p in paths)
    with pytest.raises(ValueError, match="shard size must be positive"):
        build_dataset(tmp_path / "zero", sample_records(20, seed=6), shard_bytes=0)
    build_dataset(tmp_path / "one", sample_records(20, seed=6), shard_bytes=1)

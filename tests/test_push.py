"""`acav1m push`: plan, refusals, and a real push through huggingface_hub to a local Hub server.

The server (tests/fake_hub.py) speaks the Hub's classic (non-Xet) protocol; this proves the client code
path and the repo layout, not Xet storage, the Hub's card validation or its viewer.
"""

from __future__ import annotations

import hashlib
import json
import math
import textwrap

import pyarrow.parquet as pq
import pytest
from fake_hub import fake_hub, run_client  # noqa: F401, F811  (a fixture: used by name)

import acav1m
from builder.push import plan_push

MARK = "@@RESULT@@"


def test_dry_run_lists_the_published_files_only(built_dataset, capsys):
    (built_dataset.out_dir / "notes.txt").write_text("local scratch")
    try:
        assert acav1m.main(["push", str(built_dataset.out_dir), "--repo-id", "org/acav1m", "--dry-run"]) == 0
    finally:
        (built_dataset.out_dir / "notes.txt").unlink()
    out = capsys.readouterr().out
    assert "README.md" in out and "croissant.json" in out and "data/candidates/train-00000-of-00001.parquet" in out
    assert "RELEASE_NOTES.md" in out and "images/scores.png" in out and ".acav1m-build.json" not in out
    assert "notes.txt" not in out
    assert "dry run: nothing uploaded" in out


def test_refuses_a_loading_script_at_the_root(built_dataset):
    script = built_dataset.out_dir / "acav1m.py"
    script.write_text("print('hi')")
    try:
        with pytest.raises(ValueError, match="refusing to upload loading scripts"):
            plan_push(built_dataset.out_dir, "org/acav1m")
    finally:
        script.unlink()


@pytest.mark.parametrize("repo_id", ["acav1m", "org/../x", "org/a b", "../../etc/passwd", "org/"])
def test_rejects_invalid_repo_ids(built_dataset, repo_id):
    with pytest.raises(ValueError, match="invalid repo id"):
        plan_push(built_dataset.out_dir, repo_id)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert acav1m.main(["push", str(tmp_path), "--repo-id", "org/acav1m"]) == 2
    assert "README.md is missing" in capsys.readouterr().err


def test_push_then_stream_from_the_hub(built_dataset, fake_hub):  # noqa: F811
    code = textwrap.dedent(f"""
        import json, acav1m, datasets
        assert acav1m.main(["push", {str(built_dataset.out_dir)!r}, "--repo-id", "org/acav1m", "--private"]) == 0
        train = list(datasets.load_dataset("org/acav1m", streaming=True, split="train"))
        test = list(acav1m.load("org/acav1m", "candidates", split="test", columns=["clip_id", "kept"]))
        builder = acav1m.ACAV1M(config_name="default", source="hf://datasets/org/acav1m")
        via_builder = [row["clip_id"] for row in builder.as_streaming_dataset(split="train")]
        assert acav1m.main(["push", {str(built_dataset.out_dir)!r}, "--repo-id", "org/acav1m", "--revision", "v0.1"]) == 0
        from huggingface_hub import HfApi
        commits = len(HfApi().list_repo_commits("org/acav1m", repo_type="dataset"))
        assert acav1m.main(["push", {str(built_dataset.out_dir)!r}, "--repo-id", "org/acav1m"]) == 0  # a rerun
        rerun_commits = len(HfApi().list_repo_commits("org/acav1m", repo_type="dataset")) - commits
        assert acav1m.main(["push", {str(built_dataset.out_dir)!r}, "--repo-id", "org/proposed", "--create-pr",
                            "--commit-message", "Proposed release"]) == 0
        on_branch = sum(1 for _ in acav1m.load("org/acav1m", split="test", revision="v0.1"))
        import os, mlcroissant as mlc
        from huggingface_hub import hf_hub_download
        os.environ["CROISSANT_CACHE"] = os.path.abspath("croissant-cache")
        # mlcroissant downloads anonymously: the Croissant of a private repo cannot be read without a token
        assert acav1m.main(["push", {str(built_dataset.out_dir)!r}, "--repo-id", "org/open"]) == 0
        path = hf_hub_download("org/open", "croissant.json", repo_type="dataset", local_dir="alone")
        dataset = mlc.Dataset(jsonld=path)
        records = {{rs.id: [{{k: v.decode() if isinstance(v, bytes) else v for k, v in r.items()}}
                            for r in dataset.records(rs.id)] for rs in dataset.metadata.record_sets}}
        print({MARK!r} + json.dumps({{"train": train, "test": test, "via_builder": via_builder, "on_branch": on_branch,
                                     "records": records, "rerun_commits": rerun_commits}}, default=float))
    """)
    result = run_client(code, fake_hub)
    assert result.returncode == 0, result.stderr[-3000:]
    assert fake_hub.token not in result.stdout + result.stderr, "the token must never be printed"
    payload = json.loads(result.stdout.split(MARK, 1)[1])
    local_train = pq.read_table(built_dataset.out_dir / "data/default/train-00000-of-00001.parquet").to_pylist()
    assert payload["train"] == local_train
    assert payload["via_builder"] == [row["clip_id"] for row in local_train]  # the builder class over hf://
    assert payload["on_branch"] == built_dataset.stats["default"].rows["test"]  # --revision pushes to a branch
    local_test = pq.read_table(built_dataset.out_dir / "data/candidates/test-00000-of-00001.parquet")
    assert payload["test"] == local_test.select(["clip_id", "kept"]).to_pylist()
    assert payload["rerun_commits"] == 0  # pushing the same build again commits nothing
    proposed = fake_hub.repo("org/proposed")
    assert fake_hub.list_files("org/proposed") == [".gitattributes"]  # main untouched by --create-pr
    assert set(fake_hub.list_files("org/proposed", "refs/pr/1")) >= set(fake_hub.list_files("org/acav1m"))
    assert proposed.commits[proposed.refs["refs/pr/1"]].title == "Proposed release"
    for config in ("default", "candidates"):  # croissant.json fetched alone from the Hub yields every row
        records = [r for rs, rows in payload["records"].items() if rs.startswith(f"{config}/") for r in rows]
        _assert_records_equal(records, pq.read_table(built_dataset.out_dir / f"data/{config}").to_pylist())
    published = [name for name, _ in plan_push(built_dataset.out_dir, "org/acav1m").files]
    assert set(published) <= set(fake_hub.list_files("org/acav1m"))
    assert not any(name.endswith(".py") for name in fake_hub.list_files("org/acav1m"))


def _assert_records_equal(records: list[dict], rows: list[dict]) -> None:
    """mlcroissant records (text as bytes, nulls as None/NaN) against Parquet rows, column by column."""
    assert len(records) == len(rows)
    by_id = {row["clip_id"]: row for row in rows}
    for record in records:
        record = {k.split("/")[-1]: v.decode() if isinstance(v, bytes) else v for k, v in record.items()}
        row = by_id.pop(record["clip_id"])
        for column, value in row.items():
            got = record[column]
            if value is None:
                assert got is None or got == "None" or (isinstance(got, float) and math.isnan(got)), column
            elif isinstance(value, float):
                assert math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-7), column
            else:
                assert got == value, column
    assert not by_id


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_push_without_a_token_says_how_to_log_in(built_dataset, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert acav1m.main(["push", str(built_dataset.out_dir), "--repo-id", "org/acav1m"]) == 2
    assert "run `hf auth login` or set HF_TOKEN" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("option, value", [("--revision", "bad name"), ("--revision", "-x"), ("--revision", "a..b"),
                                           ("--revision", "v1.lock"), ("--tag", "v1~2")])
def test_invalid_revision_and_tag_names_are_refused_before_any_request(built_dataset, capsys, option, value):
    assert acav1m.main(["push", str(built_dataset.out_dir), "--repo-id", "org/acav1m", f"{option}={value}"]) == 2
    assert f"{option} {value!r} is not a valid branch or tag name" in _one_line(capsys.readouterr().err)


def test_hub_failures_are_one_line_without_the_token(built_dataset, fake_hub):  # noqa: F811
    fake_hub.forbidden_namespaces.add("someone-else")
    code = textwrap.dedent(f"""
        import contextlib, io, json, acav1m
        from huggingface_hub import constants
        out = {str(built_dataset.out_dir)!r}
        cases = {{
            "bad token": ["push", out, "--repo-id", "org/acav1m", "--token", "hf_not_the_right_one"],
            "forbidden": ["push", out, "--repo-id", "someone-else/acav1m"],
            "not found": ["build", out + "/data/candidates", out + "-next", "--previous", "org/missing"],
        }}
        results = {{}}
        def run(name, argv):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                results[name] = [acav1m.main(argv), err.getvalue()]
        for name, argv in cases.items():
            run(name, argv)
        constants.ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port
        run("unreachable", ["push", out, "--repo-id", "org/acav1m"])
        print({MARK!r} + json.dumps(results))
    """)
    result = run_client(code, fake_hub)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.split(MARK, 1)[1])
    expected = {
        "bad token": "rejected the token (401 Unauthorized): run `hf auth login` or set HF_TOKEN",
        "forbidden": "may not write to datasets/someone-else/acav1m (403 Forbidden)",
        "not found": "previous release org/missing was not found",
        "unreachable": "cannot reach the Hub at http://127.0.0.1:9",
    }
    for name, needle in expected.items():
        status, err = results[name]
        assert status == 2, (name, err)
        assert needle in _one_line(err), (name, err)
        assert fake_hub.token not in err and "hf_not_the_right_one" not in err


def test_repush_replaces_tags_and_croissant_reads_from_the_hub(tmp_path, fake_hub):  # noqa: F811
    """Done-when: a many-shard 20k-row release, then a rebuild with fewer shards and takedowns, pushed over it."""
    from builder.build import build_dataset
    from builder.sample import sample_table

    table = sample_table(20_000, seed=11)
    first = build_dataset(tmp_path / "v1" / "acav1m", table, shard_bytes=150_000)
    assert sum(len(s) for s in first.shards["candidates"].values()) >= 8
    kept = table.filter(table.column("kept"))
    takedown = [kept["clip_id"][0].as_py(), kept["clip_id"][1].as_py()]
    video = kept["video_id"][kept.num_rows - 1].as_py()
    removals = tmp_path / "removals.txt"
    removals.write_text(f"# requests of 2026-11-30\n{takedown[0]}\n{takedown[1]}  # ticket 2\n{video}\n")
    code = textwrap.dedent(f"""
        import json, os, acav1m, datasets
        from huggingface_hub import hf_hub_download
        first = {str(first.out_dir)!r}
        assert acav1m.main(["push", first, "--repo-id", "org/acav1m", "--tag", "v1.0"]) == 0
        second = {str(tmp_path / "v2" / "acav1m")!r}
        assert acav1m.main(["build", {str(tmp_path / "v1" / "acav1m" / "data" / "candidates")!r}, second,
                            "--shard-size", "1MB", "--exclude", {str(removals)!r}, "--previous", "org/acav1m@v1.0",
                            "--version", "0.2.0"]) == 0
        assert acav1m.main(["push", second, "--repo-id", "org/acav1m", "--tag", "v2.0",
                            "--commit-message", "Release 0.2.0"]) == 0
        import contextlib, io
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            retag = [acav1m.main(["push", second, "--repo-id", "org/acav1m", "--tag", "v2.0"]), err.getvalue()]
        streamed = {{config: {{split: [r["clip_id"] for r in acav1m.load("org/acav1m", config, split=split,
                                                                      columns=["clip_id"])]
                              for split in ("train", "test")}} for config in ("default", "candidates")}}
        os.environ["CROISSANT_CACHE"] = os.path.abspath("croissant-cache")
        os.makedirs("alone", exist_ok=True)
        path = hf_hub_download("org/acav1m", "croissant.json", repo_type="dataset", local_dir="alone")
        assert os.listdir("alone") == ["croissant.json"] or set(os.listdir("alone")) == {{"croissant.json", ".cache"}}
        import mlcroissant as mlc
        dataset = mlc.Dataset(jsonld=path)
        records = {{}}
        for record_set in [rs for rs in dataset.metadata.record_sets if rs.id.startswith("default/")][:1]:
            records[record_set.id] = [
                {{k: v.decode() if isinstance(v, bytes) else v for k, v in r.items()}}
                for r in dataset.records(record_set.id)]
        print({MARK!r} + json.dumps({{"streamed": streamed, "records": records, "retag": retag}},
                                     default=float))
    """)
    result = run_client(code, fake_hub, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    payload = json.loads(result.stdout.split(MARK, 1)[1])
    second = tmp_path / "v2" / "acav1m"
    removed = set(takedown) | {c for c, v in zip(table["clip_id"].to_pylist(), table["video_id"].to_pylist())
                               if v == video}
    for config in ("default", "candidates"):
        for split in ("train", "test"):
            files = sorted((second / f"data/{config}").glob(f"{split}-*.parquet"))
            expected = [c for f in files for c in pq.read_table(f, columns=["clip_id"])["clip_id"].to_pylist()]
            assert payload["streamed"][config][split] == expected, (config, split)  # each row exactly once
            assert not removed & set(expected)
    repo_files = fake_hub.list_files("org/acav1m")
    local_files = {p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file()} - {".acav1m-build.json"}
    assert set(repo_files) - {".gitattributes"} == local_files, "stale shards of v1 must be gone"
    assert fake_hub.commits("org/acav1m")[0].title == "Release 0.2.0"
    assert payload["retag"][0] == 2 and "tag v2.0 already exists" in _one_line(payload["retag"][1])
    v1_files = {p.relative_to(first.out_dir).as_posix() for p in first.out_dir.rglob("*") if p.is_file()}
    assert set(fake_hub.list_files("org/acav1m", "v1.0")) - {".gitattributes"} == v1_files - {".acav1m-build.json"}
    # croissant.json fetched alone: every shard named at the tag with its sha256; records read for one shard
    # (mlcroissant reads ~300 records/s; test_push_then_stream_from_the_hub reads every record of a smaller build)
    croissant = json.loads(fake_hub.read_file("org/acav1m", "croissant.json"))
    shards = {f["@id"]: f for f in croissant["distribution"]}
    assert set(shards) == {name for name in local_files if name.startswith("data/")}
    for name, entry in shards.items():
        assert entry["contentUrl"] == f"{fake_hub.endpoint}/datasets/org/acav1m/resolve/v2.0/{name}"
        assert entry["sha256"] == hashlib.sha256((second / name).read_bytes()).hexdigest()
    assert len(payload["records"]) == 1
    for record_set, records in payload["records"].items():
        config, split, index = record_set.split("/")
        shard = sorted((second / f"data/{config}").glob(f"{split}-*.parquet"))[int(index)]
        _assert_records_equal(records, pq.read_table(shard).to_pylist())
    # takedowns and release notes, as published
    notes = fake_hub.read_file("org/acav1m", "RELEASE_NOTES.md").decode()
    card = fake_hub.read_file("org/acav1m", "README.md").decode()
    assert f"removed {len(removed)} clips from every config" in notes
    assert "Compared with `org/acav1m@v1.0`" in notes and "takedown request (removals file)" in notes
    assert f"This release removed {len(removed)} clips listed in the removals file" in card

"""`acav1m push`: plan, refusals, and a real push through huggingface_hub to a local Hub server.

The server (tests/fake_hub.py) speaks the Hub's classic (non-Xet) protocol; this proves the client code
path and the repo layout, not Xet storage, the Hub's card validation or its viewer.
"""

from __future__ import annotations

import json
import textwrap

import pyarrow.parquet as pq
import pytest

import acav1m
from builder.push import plan_push
from fake_hub import fake_hub, run_client  # noqa: F401, F811  (a fixture: used by name)

MARK = "@@RESULT@@"


def test_dry_run_lists_the_published_files_only(built_dataset, capsys):
    (built_dataset.out_dir / "notes.txt").write_text("local scratch")
    try:
        assert acav1m.main(["push", str(built_dataset.out_dir), "--repo-id", "org/acav1m", "--dry-run"]) == 0
    finally:
        (built_dataset.out_dir / "notes.txt").unlink()
    out = capsys.readouterr().out
    assert "README.md" in out and "croissant.json" in out and "data/candidates/train-00000-of-00001.parquet" in out
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
        on_branch = sum(1 for _ in acav1m.load("org/acav1m", split="test", revision="v0.1"))
        print({MARK!r} + json.dumps({{"train": train, "test": test, "via_builder": via_builder, "on_branch": on_branch}}))
    """)
    result = run_client(code, fake_hub)
    assert result.returncode == 0, result.stderr[-3000:]
    assert fake_hub.token not in result.stdout + result.stderr, "the token must never be printed"
    payload = json.loads(result.stdout.split(MARK, 1)[1])
    local_train = pq.read_table(built_dataset.out_dir / "data/train-00000-of-00001.parquet").to_pylist()
    assert payload["train"] == local_train
    assert payload["via_builder"] == [row["clip_id"] for row in local_train]  # the builder class over hf://
    assert payload["on_branch"] == built_dataset.stats["default"].rows["test"]  # --revision pushes to a branch
    local_test = pq.read_table(built_dataset.out_dir / "data/candidates/test-00000-of-00001.parquet")
    assert payload["test"] == local_test.select(["clip_id", "kept"]).to_pylist()
    published = [name for name, _ in plan_push(built_dataset.out_dir, "org/acav1m").files]
    assert set(published) <= set(fake_hub.list_files("org/acav1m"))
    assert not any(name.endswith(".py") for name in fake_hub.list_files("org/acav1m"))

"""The dataset card: valid Hub YAML derived from the schema and a datasheet filled from the data."""

from __future__ import annotations

from huggingface_hub import DatasetCard

from builder.build import build_dataset
from builder.card import size_category
from builder.release import ReleaseInfo, RetentionRow, RunSummary
from builder.sample import sample_records
from builder.schema import CONFIGS


def test_yaml_is_derived_from_the_schema(built_dataset):
    card = DatasetCard.load(built_dataset.out_dir / "README.md")
    data = card.data
    assert data.license == "cc-by-4.0"
    assert data.size_categories == ["n<1K"]
    infos = {info["config_name"]: info for info in data.dataset_info}
    assert infos["candidates"]["features"] == CONFIGS["candidates"].features._to_yaml_list()
    splits = {s["name"]: s["num_examples"] for s in infos["default"]["splits"]}
    assert splits == dict(built_dataset.stats["default"].rows)
    configs = {c["config_name"]: c for c in data.configs}
    assert configs["default"]["default"] is True
    assert {f["path"] for f in configs["candidates"]["data_files"]} == {
        "data/candidates/train-*.parquet", "data/candidates/test-*.parquet"}


def test_body_reports_the_data(built_dataset):
    text = (built_dataset.out_dir / "README.md").read_text()
    stats = built_dataset.stats["default"]
    assert f"train: {stats.rows['train']}" in text
    for category, count in stats.values["category"].items():
        assert f"| {category} | {count} |" in text
    summary = stats.scores["sim_av_instance"]
    assert f"| `sim_av_instance` | {summary.count} | {summary.mean:.3f} |" in text
    for section in ("## Motivation", "## Composition", "## Collection process", "## Uses",
                    "## Distribution and licence", "## Maintenance and takedown"):
        assert section in text
    assert "{" not in text.split("```")[-1], "no unfilled template fields"


def test_run_summary_reaches_the_card(tmp_path):
    run = RunSummary(
        filter_mode="paper-tuned",
        thresholds={"language": 0.6, "instance": 0.5, "temporal": 0.7},
        skipped_filters={"language": "no captioner was configured"},
        retention=[RetentionRow("decode", 100, 90, 10), RetentionRow("filter", 90, 45)],
        models={"embedder": "imagebind-tiny"},
        random_weights=True,
    )
    release = ReleaseInfo(run=run, contact="takedown@example.org")
    result = build_dataset(tmp_path / "acav1m", sample_records(100), release=release)
    text = (result.out_dir / "README.md").read_text()
    assert "| decode | 100 | 90 | 10 | 90.0% | 90.0% |" in text
    assert "| filter | 90 | 45 | 0 | 50.0% | 45.0% |" in text
    assert "| temporal | 0.700 |" in text
    assert "The **language** filter was skipped: no captioner was configured" in text
    assert "Random-weight models" in text
    assert "takedown@example.org" in text


def test_size_categories_follow_the_hub_vocabulary():
    assert size_category(999) == "n<1K"
    assert size_category(1000) == "1K<n<10K"
    assert size_category(2_500_000) == "1M<n<10M"

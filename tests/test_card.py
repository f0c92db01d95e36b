"""The dataset card: valid Hub YAML derived from the schema and a datasheet filled from the data."""

from __future__ import annotations

import numpy as np
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
    summary = built_dataset.stats["candidates"].scores["sim_av_instance"]  # distributions before filtering
    assert f"| `sim_av_instance` | {summary.count} | {summary.mean:.3f} |" in text
    for section in ("## Motivation", "## Composition", "## Data fields", "## Collection process",
                    "## Limitations and biases", "## Uses", "## Getting the media", "## Distribution and licence",
                    "## Maintenance and takedown", "## Citation"):
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


def test_fields_table_covers_every_published_column(built_dataset):
    from builder.verify import card_field_rows

    text = (built_dataset.out_dir / "README.md").read_text()
    listed = card_field_rows(text)
    for name in built_dataset.stats:
        for column in CONFIGS[name].columns:
            assert column.name in listed, column.name
    assert "| `start_time` | float64, required | Clip start in seconds" in text and "| seconds |" in text
    assert "| `sim_av_instance` | float32 |" in text and "raw cosine, [-1, 1]" in text


def test_the_card_claims_only_what_ran(tmp_path):
    bare = build_dataset(tmp_path / "bare", sample_records(100)).out_dir / "README.md"
    text = bare.read_text()
    assert "without the run summary" in text and "no similarity filter" in text
    assert "caption agrees" not in text and "CC BY-NC-SA" not in text
    run = RunSummary(filter_mode="paper-tuned", thresholds={"instance": 0.5, "temporal": 0.7},
                     models={"embedder": "imagebind_huge"}, skipped_filters={"language": "no captioner ran"})
    text = (build_dataset(tmp_path / "run", sample_records(100), release=ReleaseInfo(run=run)).out_dir
            / "README.md").read_text()
    assert "the audio agrees with the frames as a whole; the audio agrees with the frames second by second" in text
    assert "caption agrees" not in text and "No captioner ran" in text
    assert "CC BY-NC-SA 4.0" in text  # ImageBind scores are published
    for key in ("acav1m_paper", "avset10m", "acav100m", "imagebind"):
        assert f"{{{key}," in text


def test_figures_are_referenced_deterministic_and_drawn_only_with_data(tmp_path):
    import numpy as np
    from PIL import Image

    run = RunSummary(
        filter_mode="calibrated", thresholds={"instance": 0.6},
        retention=[RetentionRow("decode", 100, 90, 10), RetentionRow("filter", 90, 45)],
        extra={"calibration": {"sim_av_instance": {"null_mean": 0.0, "null_std": 0.1, "n_pairs": 500,
                                                   "threshold": 0.3, "threshold_normalised": 0.65,
                                                   "fcr": {"n_kept": 40, "n_candidates": 100, "fcr": 0.01}}}},
    )
    first = build_dataset(tmp_path / "a", sample_records(200), release=ReleaseInfo(run=run)).out_dir
    second = build_dataset(tmp_path / "b", sample_records(200), release=ReleaseInfo(run=run)).out_dir
    names = sorted(p.name for p in (first / "images").iterdir())
    assert names == ["categories.png", "null_vs_corresponding.png", "retention.png", "scores.png"]
    for name in names:
        assert (first / "images" / name).read_bytes() == (second / "images" / name).read_bytes()
        assert f"](images/{name})" in (first / "README.md").read_text()
        pixels = np.asarray(Image.open(first / "images" / name).convert("L"))
        assert pixels.std() > 10, f"{name} is blank"
    bare = build_dataset(tmp_path / "bare", sample_records(100)).out_dir
    assert sorted(p.name for p in (bare / "images").iterdir()) == ["categories.png", "scores.png"]
    assert "retention.png" not in (bare / "README.md").read_text()


def test_the_embedder_named_is_the_one_that_ran(tmp_path):
    """A build scored by another backend never claims ImageBind (card licence note, Croissant text)."""
    import json

    from builder.build import build_dataset
    from builder.release import ReleaseInfo, RunSummary
    from builder.sample import sample_records

    run = RunSummary(models={"embedder": "pe_audio_video_tiny-random (random weights)"}, random_weights=True)
    out = build_dataset(tmp_path / "acav1m", sample_records(50, seed=2),
                        release=ReleaseInfo(date_published="2026-11-22", run=run)).out_dir
    croissant = json.loads((out / "croissant.json").read_text())
    text = json.dumps({k: croissant[k] for k in ("description", "keywords", "rai:dataBiases")})
    assert "ImageBind" not in text and "Perception Encoder audio-video" in text
    card = (out / "README.md").read_text()
    assert "computed with ImageBind" not in card
    assert "(the model in `embedding_model`)" in card or "embedding_model" in card


def test_selection_diversity_figure_only_when_a_selection_ran(tmp_path):
    from builder.build import build_dataset
    from builder.release import ReleaseInfo, RunSummary
    from builder.sample import sample_records

    histograms = {"audio_l0": {"selected": [30, 25, 25, 20], "random": [40, 30, 20, 10]},
                  "visual_l0": {"selected": [50, 50, 0, 0], "random": [25, 25, 25, 25]}}
    with_selection = RunSummary(extra={"selection": {"diversity_histograms": histograms}})
    out = build_dataset(tmp_path / "a" / "acav1m", sample_records(40, seed=3),
                        release=ReleaseInfo(date_published="2026-11-30", run=with_selection)).out_dir
    figure = out / "images" / "selection_diversity.png"
    assert figure.is_file() and "images/selection_diversity.png" in (out / "README.md").read_text()
    from PIL import Image

    pixels = np.asarray(Image.open(figure).convert("L"))
    assert pixels.std() > 10, "the figure is not blank"
    plain = build_dataset(tmp_path / "b" / "acav1m", sample_records(40, seed=3),
                          release=ReleaseInfo(date_published="2026-11-30", run=RunSummary())).out_dir
    assert not (plain / "images" / "selection_diversity.png").exists()
    assert "selection_diversity" not in (plain / "README.md").read_text()

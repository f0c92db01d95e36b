"""The automatic cluster count, its warnings, and the defaults shared by `acav1m select` and the pipeline."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from curation.config import SelectionSettings
from curation.selection.feature_table import FeatureTable
from curation.selection.planted import PlantedSpec, class_frequencies, planted_table
from curation.selection.stage import (
    CLIPS_PER_CELL,
    MAX_CLUSTERS,
    SelectionConfig,
    auto_clusters,
    cluster_count,
    cluster_labels,
    describe,
    run_selection,
)


@pytest.mark.parametrize("subset", [0, 1, 9, 10, 11, 2_500, 10_000, 50_000, 163_839, 163_840, 5_000_000])
def test_auto_clusters_keeps_the_clips_per_cell_floor(subset: int) -> None:
    k = auto_clusters(subset)
    assert 2 <= k <= MAX_CLUSTERS
    if 2 < k < MAX_CLUSTERS:  # the largest k whose k x k table still has CLIPS_PER_CELL clips per cell
        assert subset / k**2 >= CLIPS_PER_CELL > subset / (k + 1) ** 2
    if k == MAX_CLUSTERS:
        assert subset / MAX_CLUSTERS**2 >= CLIPS_PER_CELL
    if k == 2:
        assert subset / 9 < CLIPS_PER_CELL


def test_cluster_count_follows_the_target_size_and_warns_on_a_sparse_explicit_k(caplog) -> None:
    caplog.set_level(logging.INFO, logger="acav1m.select")
    assert cluster_count(SelectionConfig(target_size=2_500), 5_000) == auto_clusters(2_500) == 31
    assert cluster_count(SelectionConfig(target_size=10**7), 5_000) == auto_clusters(5_000)  # M capped at N
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert cluster_count(SelectionConfig(target_size=2_500, n_clusters=256), 5_000) == 256
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "0.04 selected clips per contingency cell" in warning[0] and "k = 31" in warning[0]
    assert cluster_count(SelectionConfig(target_size=5, n_clusters=256), 3) == 3  # never more clusters than clips
    with pytest.raises(ValueError, match="--clusters"):
        cluster_count(SelectionConfig(target_size=5, n_clusters=0), 10)


def test_pipeline_settings_are_the_select_config_itself() -> None:
    settings, config = SelectionSettings(), SelectionConfig(target_size=0)
    assert isinstance(settings, SelectionConfig)
    for field in dataclasses.fields(SelectionConfig):
        assert getattr(settings, field.name) == getattr(config, field.name), field.name
    assert settings.n_clusters is None


def test_planted_table_has_the_declared_structure() -> None:
    table = planted_table(PlantedSpec(20_000, 16, zipf=1.0, seed=3))
    assert sorted(table.features) == [f"{m}_planted_l{i}" for m in ("audio", "visual") for i in range(3)]
    assert all(v.shape == (20_000, 16) and v.dtype == np.float32 for v in table.features.values())
    np.testing.assert_array_equal(table.positive, table.audio_class == table.visual_class)
    assert abs(table.positive.mean() - 0.5) < 0.02
    observed = np.bincount(table.visual_class, minlength=16) / 20_000
    np.testing.assert_allclose(observed, class_frequencies(16, 1.0), atol=0.01)
    np.testing.assert_allclose(class_frequencies(4, 1.0), np.array([12, 6, 4, 3]) / 25)


def test_defaults_find_the_planted_correspondence_where_k256_does_not() -> None:
    """The bug this default fixes: on a few thousand clips k = 256 is near chance (the README's sweep)."""
    table = planted_table(PlantedSpec(2_000, 16, seed=5))
    features = FeatureTable(table.to_arrow())
    config = SelectionConfig(target_size=1_000, kmeans_epochs=3)
    auto = cluster_labels(features, config)
    used = describe(auto, config)
    assert used["clusterings"] == 6 and used["audio_clusterings"] == 3 and used["clusters"] == auto_clusters(1_000)
    assert used["pairs"] == 9 and used["pairing"] == "bipartite" and used["clusters_rule"].startswith("auto")
    fixed = dataclasses.replace(config, n_clusters=256)
    precision_auto = table.positive[run_selection(auto, config).order].mean()
    precision_256 = table.positive[run_selection(cluster_labels(features, fixed), fixed).order].mean()
    assert precision_auto > 0.62 and precision_256 < 0.56, (precision_auto, precision_256)  # measured 0.67, 0.51


def test_large_preset_has_the_papers_values_and_flags_override_it(tmp_path, capsys) -> None:
    from curation.selection.cli import main
    from curation.selection.stage import preset_config

    config = preset_config("acav100m-large", 1_000, batch_size=50)
    assert (config.kmeans_batch_size, config.kmeans_epochs, config.kmeans_learning_rate) == (100_000, 100, 1e-2)
    assert (config.batch_size, config.selection_size, config.n_clusters) == (50, 500, None)
    with pytest.raises(ValueError, match="acav100m-large"):
        preset_config("acav100m", 10)
    table = planted_table(PlantedSpec(1_200, 8, seed=2))
    source = tmp_path / "features.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table.to_arrow(np.float16), source)
    out = tmp_path / "selected.parquet"
    assert main([str(source), "--size", "600", "--out", str(out), "--preset", "acav100m-large",
                 "--kmeans-epochs", "3"]) == 0
    printed = capsys.readouterr().out
    assert "k = 15 [auto" in printed and "9 pairs (bipartite), k-means epochs 3" in printed
    chosen = pq.read_table(out).column("clip_id").to_pylist()
    assert len(chosen) == 600 and table.positive[[int(c[4:]) for c in chosen]].mean() > 0.6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multi_layer_beats_single_layer_when_only_some_layers_carry_the_correspondence(seed: int) -> None:
    """ACAV100M Table 2's point on planted data: the last layer of each modality carries little class signal,
    an earlier one carries it; clustering every layer finds it without knowing which."""
    from curation.selection.planted import Layer

    audio = (Layer(0.0, 1.5, 1.0), Layer(3.0, 0.5, 1.0), Layer(0.3, 1.0, 1.0))
    visual = (Layer(3.0, 0.5, 1.0), Layer(0.0, 1.5, 1.0), Layer(0.3, 1.0, 1.0))
    table = planted_table(PlantedSpec(2_000, 16, audio_layers=audio, visual_layers=visual, seed=seed))
    arrow = table.to_arrow()
    config = SelectionConfig(target_size=1_000, kmeans_epochs=3, seed=seed)
    multi = FeatureTable(arrow)
    single = FeatureTable(arrow.select(["clip_id", "audio_planted_l2", "visual_planted_l2"]))
    multi_labels, single_labels = cluster_labels(multi, config), cluster_labels(single, config)
    assert describe(multi_labels, config)["pairs"] == 9 and describe(single_labels, config)["pairs"] == 1
    precision_multi = table.positive[run_selection(multi_labels, config).order].mean()
    precision_single = table.positive[run_selection(single_labels, config).order].mean()
    assert precision_multi > precision_single + 0.05, (precision_multi, precision_single)

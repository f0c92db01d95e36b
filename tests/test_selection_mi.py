from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from curation.selection.mutual_info import (
    PAIRINGS,
    IncrementalMI,
    clustering_pairs,
    default_modalities,
    mutual_information,
    set_mutual_information,
)

MODALITIES = ["audio"] * 3 + ["visual"] * 3


def random_labels(n: int, ks: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in ks], axis=1).astype(np.int16)


def test_pairing_schemes_follow_the_paper() -> None:
    assert len(clustering_pairs(MODALITIES, "combination")) == 15  # 2L choose 2 with L = 3
    assert clustering_pairs(MODALITIES, "diagonal") == [(0, 3), (1, 4), (2, 5)]
    assert len(clustering_pairs(MODALITIES, "bipartite")) == 9
    assert all(a < 3 <= b for a, b in clustering_pairs(MODALITIES, "bipartite"))
    with pytest.raises(ValueError):
        clustering_pairs(["audio", "audio", "visual"], "diagonal")
    with pytest.raises(ValueError):
        clustering_pairs(MODALITIES, "nope")
    assert default_modalities(4) == ["audio", "audio", "visual", "visual"]


def test_mutual_information_matches_sklearn() -> None:
    labels = random_labels(500, [7, 5, 9, 4, 6, 8], seed=0)
    labels[:200, 3] = labels[:200, 0] % 4  # some real dependence
    for a, b in clustering_pairs(MODALITIES, "combination"):
        assert mutual_information(labels[:, a], labels[:, b]) == pytest.approx(
            mutual_info_score(labels[:, a], labels[:, b]), abs=1e-12
        )


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_full_set_value_matches_sklearn(pairing: str) -> None:
    labels = random_labels(400, [6, 6, 6, 6, 6, 6], seed=1)
    pairs = clustering_pairs(MODALITIES, pairing)
    state = IncrementalMI(labels, pairs)
    for i in range(len(labels)):
        state.add(i)
    expected = np.array([mutual_info_score(labels[:, a], labels[:, b]) for a, b in pairs])
    np.testing.assert_allclose(state.pair_values(), expected, atol=1e-10)
    assert state.value() == pytest.approx(expected.mean(), abs=1e-10)


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_incremental_gain_equals_recompute(pairing: str) -> None:
    labels = random_labels(300, [4, 7, 5, 6, 3, 8], seed=2)
    pairs = clustering_pairs(MODALITIES, pairing)
    rng = np.random.default_rng(3)
    chosen = list(rng.choice(len(labels), size=60, replace=False))
    state = IncrementalMI(labels, pairs)
    for i in chosen:
        state.add(int(i))
    assert state.value() == pytest.approx(set_mutual_information(labels[chosen], pairs), abs=1e-10)
    candidates = np.setdiff1d(np.arange(len(labels)), chosen)[:80]
    predicted = state.value_with(state.gains(candidates))
    recomputed = [set_mutual_information(labels[chosen + [int(c)]], pairs) for c in candidates]
    np.testing.assert_allclose(predicted, recomputed, atol=1e-10)


def test_empty_and_singleton_sets() -> None:
    labels = random_labels(10, [3, 3], seed=4)
    state = IncrementalMI(labels, [(0, 1)])
    assert state.value() == 0.0
    assert state.value_with(state.gains(np.array([0])))[0] == pytest.approx(0.0)
    state.add(0)
    assert state.value() == pytest.approx(0.0)


def test_counts_outgrow_the_increment_table() -> None:
    labels = np.zeros((3000, 2), dtype=np.int16)  # every clip in the same cell: counts pass 1024
    labels[::2, 1] = 1
    state = IncrementalMI(labels, [(0, 1)])
    for i in range(len(labels)):
        state.add(i)
    assert state.value() == pytest.approx(mutual_info_score(labels[:, 0], labels[:, 1]), abs=1e-10)


def test_an_unpaired_clustering_and_an_empty_subset() -> None:
    """A clustering no pair uses is carried without effect; an empty label matrix has zero MI for every pair."""
    labels = random_labels(300, [5, 4, 6], seed=3)
    state = IncrementalMI(labels, [(0, 1)])  # clustering 2 is in no pair
    assert state.pair_values().tolist() == [0.0]
    for i in range(len(labels)):
        state.add(i)
    assert state.pair_values()[0] == pytest.approx(mutual_info_score(labels[:, 0], labels[:, 1]), abs=1e-12)
    empty = IncrementalMI(np.zeros((0, 3), dtype=np.int64), [(0, 1), (1, 2)])
    assert empty.pair_values().tolist() == [0.0, 0.0] and empty.value() == 0.0


def test_mutual_information_of_int16_labels_with_256_clusters_matches_sklearn() -> None:
    """k-means labels are stored as int16; with 256 clusters the joint cell index exceeds int16's range."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, 20_000).astype(np.int16)
    y = ((x.astype(np.int64) * 7 + rng.integers(0, 40, 20_000)) % 256).astype(np.int16)
    assert mutual_information(x, y) == pytest.approx(mutual_info_score(x, y), abs=1e-10)

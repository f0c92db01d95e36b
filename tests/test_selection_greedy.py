"""Greedy selection.

"Non-decreasing-ish", made precise: F (mean pair MI) is not monotone in the subset size (it is
bounded by log|X| and by log k, so it rises over the first picks and then has to fall as less
corresponding clips are added). What greedy guarantees, and what is tested here, is that (1) every
step adds a clip whose F is the maximum over the candidates it looked at, and (2) its trajectory
lies above that of a random selection of the same size.
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection.greedy import batch_greedy, greedy, select
from curation.selection.mutual_info import clustering_pairs, set_mutual_information


def planted(n: int, k: int, clusterings: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half the clips share one concept across all clusterings (up to label noise), half are random."""
    rng = np.random.default_rng(seed)
    half = n // 2
    concept = rng.integers(0, k, half)
    perms = np.stack([rng.permutation(k) for _ in range(clusterings)])
    pos = perms[:, concept].T.copy()
    flip = rng.random(pos.shape) < noise
    pos[flip] = rng.integers(0, k, flip.sum())
    neg = rng.integers(0, k, (n - half, clusterings))
    labels = np.concatenate([pos, neg]).astype(np.int16)
    truth = np.r_[np.ones(half, bool), np.zeros(n - half, bool)]
    shuffle = rng.permutation(n)
    return labels[shuffle], truth[shuffle]


PAIRS = clustering_pairs(["audio"] * 3 + ["visual"] * 3, "combination")


def assert_each_step_is_best(labels: np.ndarray, order: np.ndarray, trajectory: np.ndarray) -> None:
    for step in range(len(order)):
        chosen = list(order[:step])
        rest = np.setdiff1d(np.arange(len(labels)), chosen)
        best = max(set_mutual_information(labels[chosen + [int(c)]], PAIRS) for c in rest)
        assert trajectory[step] == pytest.approx(best, abs=1e-10)
        assert trajectory[step] == pytest.approx(set_mutual_information(labels[order[: step + 1]], PAIRS), abs=1e-10)


def test_exact_greedy_takes_the_best_clip_each_step() -> None:
    labels, _ = planted(50, 4, 6, 0.3, seed=0)
    order, trajectory = greedy(labels, 15, PAIRS)
    assert len(set(order.tolist())) == 15
    assert_each_step_is_best(labels, order, trajectory)


def test_batch_greedy_with_whole_pool_batches_is_greedy() -> None:
    labels, _ = planted(50, 4, 6, 0.3, seed=1)
    order, trajectory = batch_greedy(labels, 15, PAIRS, batch_size=50, selection_size=50, seed=0)
    assert_each_step_is_best(labels, order, trajectory)


def test_batch_greedy_is_deterministic_for_a_seed() -> None:
    labels, _ = planted(1000, 8, 6, 0.3, seed=2)
    a = select(labels, np.arange(1000), 300, batch_size=100, selection_size=25, seed=7)
    b = select(labels, np.arange(1000), 300, batch_size=100, selection_size=25, seed=7)
    c = select(labels, np.arange(1000), 300, batch_size=100, selection_size=25, seed=8)
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.mi_trajectory, b.mi_trajectory)
    assert not np.array_equal(a.order, c.order)
    assert len(np.unique(a.order)) == 300


def test_trajectory_is_the_mi_of_each_prefix_and_beats_random() -> None:
    labels, _ = planted(1000, 8, 6, 0.4, seed=3)
    result = select(labels, np.arange(1000), 500, batch_size=100, selection_size=25, seed=0)
    for size in (1, 10, 100, 500):
        assert result.mi_trajectory[size - 1] == pytest.approx(
            set_mutual_information(labels[result.order[:size]], PAIRS), abs=1e-9
        )
    random_order = np.random.default_rng(0).permutation(1000)
    for size in (25, 50, 100, 250, 500):
        assert result.mi_trajectory[size - 1] > set_mutual_information(labels[random_order[:size]], PAIRS)


@pytest.mark.parametrize("pairing", ["combination", "diagonal", "bipartite"])
def test_planted_correspondence_is_found(pairing: str) -> None:
    labels, truth = planted(2000, 10, 6, 0.2, seed=4)
    result = select(labels, np.arange(2000), 1000, pairing=pairing, batch_size=100, selection_size=25, seed=0)
    precision = truth[result.order].mean()
    assert precision > 0.75, precision  # chance is 0.5; measured ~0.86 for combination


def test_select_returns_clip_ids_in_order_and_validates() -> None:
    labels, _ = planted(200, 4, 6, 0.2, seed=5)
    ids = np.array([f"clip{i:03d}" for i in range(200)])
    result = select(labels, ids, 40, batch_size=None)
    np.testing.assert_array_equal(result.clip_ids, ids[result.order])
    with pytest.raises(ValueError):
        select(labels, ids, 201)
    with pytest.raises(ValueError):
        select(labels, ids[:10], 5)
    with pytest.raises(ValueError):
        select(labels, ids, 5, batch_size=10, selection_size=11)


def test_selecting_everything_and_nothing() -> None:
    labels, _ = planted(130, 4, 6, 0.2, seed=6)
    everything = select(labels, np.arange(130), 130, batch_size=100, selection_size=25, seed=0)
    assert sorted(everything.order.tolist()) == list(range(130))
    assert everything.mi_trajectory[-1] == pytest.approx(set_mutual_information(labels, PAIRS), abs=1e-10)
    assert len(select(labels, np.arange(130), 0).order) == 0

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from curation.selection.kmeans import KMeansConfig, SGDKMeans, label_dtype, rebatch


def blobs(n: int = 3000, k: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(n, n_features=12, centers=k, cluster_std=0.4, center_box=(-10, 10), random_state=seed)
    return x.astype(np.float32), y


def test_recovers_well_separated_blobs() -> None:
    x, y = blobs()
    km = SGDKMeans(KMeansConfig(6, batch_size=256, epochs=2, learning_rate=0.05, seed=0)).fit([x])
    labels = km.assign([x])
    assert labels.dtype == np.int16 and labels.shape == (3000,)
    assert adjusted_rand_score(y, labels) > 0.99


def test_float16_features_and_predict_match_assign() -> None:
    x, y = blobs(seed=1)
    half = x.astype(np.float16)
    km = SGDKMeans(KMeansConfig(6, batch_size=500, epochs=2, learning_rate=0.05, seed=0)).fit([half])
    labels = km.assign([half[:1000], half[1000:]])
    np.testing.assert_array_equal(labels, km.predict(half))
    assert adjusted_rand_score(y, labels) > 0.99


def test_dead_centre_is_reinitialised() -> None:
    x, y = blobs(k=4, seed=2)
    init = np.stack([x[y == 0][0], x[y == 1][0], x[y == 2][0], np.full(12, 1e4, np.float32)])  # blob 3 uncovered
    km = SGDKMeans(KMeansConfig(4, batch_size=200, epochs=2, learning_rate=0.05, seed=0), init_centers=init)
    km.fit([x])
    assert km.n_reinitialised >= 1
    assert np.abs(km.centers).max() < 100  # the far centre was moved back to the data
    assert adjusted_rand_score(y, km.assign([x])) > 0.99
    assert (km.utilisation > 1 / 16).all()  # every centre is in use at the end


def test_streaming_fit_does_not_depend_on_shard_boundaries() -> None:
    """Rows are re-cut into fixed mini-batches, so any sharding of the same row order gives the same model."""
    x, _ = blobs(n=2000, k=5, seed=3)
    config = KMeansConfig(5, batch_size=300, epochs=3, learning_rate=0.05, seed=11)
    whole = SGDKMeans(config).fit([x])
    cuts = [0, 7, 450, 451, 1300, 2000]
    sharded = SGDKMeans(config).fit([x[a:b] for a, b in itertools.pairwise(cuts)])
    np.testing.assert_array_equal(whole.centers, sharded.centers)
    np.testing.assert_array_equal(whole.assign([x]), sharded.assign([x[:999], x[999:]]))


def test_rebatch_and_config_checks() -> None:
    blocks = [np.ones((3, 2)), np.ones((0, 2)), np.ones((8, 2))]
    assert [len(b) for b in rebatch(blocks, 4)] == [4, 4, 3]
    with pytest.raises(ValueError):
        SGDKMeans(KMeansConfig(3, epochs=2)).fit(iter([np.ones((10, 2))]))
    with pytest.raises(ValueError):
        SGDKMeans(KMeansConfig(5)).fit([np.ones((3, 2))])  # first batch smaller than k
    assert label_dtype(256) == np.int16 and label_dtype(40000) == np.int32

"""k-means segments with k chosen by scikit-learn's silhouette."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from traveltide_assets.lib.segmentation import K_RANGE, SILHOUETTE_SAMPLE, segment


def blobs(per_blob: int, centres: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(centres), per_blob)
    x = rng.normal(0, 0.5, (len(truth), 5)) + 6.0 * np.eye(centres, 5)[truth] * np.arange(1, centres + 1)[truth, None]
    return x, truth


def test_k_is_the_number_of_separated_groups() -> None:
    x, truth = blobs(200, 4)
    result = segment(x, seed=42)
    assert result.k == 4
    assert adjusted_rand_score(truth, result.labels) == pytest.approx(1.0)
    assert set(result.silhouette_by_k) == set(K_RANGE)
    assert result.silhouette_by_k[4] == max(result.silhouette_by_k.values())


def test_silhouettes_are_sklearns_on_the_points_themselves() -> None:
    # Below the sample size every user is in the sample, and a silhouette does not depend on the order.
    x, _ = blobs(150, 3, seed=3)
    x = x + np.random.default_rng(1).normal(0, 2.0, x.shape)  # overlapping groups: scores well inside (-1, 1)
    assert len(x) < SILHOUETTE_SAMPLE
    result = segment(x, seed=5)
    for k, score in result.silhouette_by_k.items():
        labels = KMeans(n_clusters=k, n_init=4, random_state=5).fit(x).labels_
        assert score == pytest.approx(silhouette_score(x, labels), abs=1e-12), k
    assert result.k == max(result.silhouette_by_k, key=lambda k: (result.silhouette_by_k[k], -k))


def test_more_users_than_the_sample() -> None:
    x, truth = blobs(SILHOUETTE_SAMPLE // 3 + 200, 3, seed=11)
    result = segment(x, seed=42)
    assert len(result.labels) == len(x) > SILHOUETTE_SAMPLE
    assert result.k == 3 and adjusted_rand_score(truth, result.labels) == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_identical_users_and_too_few_users() -> None:
    same = segment(np.ones((30, 4)), seed=0)
    assert all(score == -1.0 for score in same.silhouette_by_k.values())  # one cluster: no silhouette
    assert same.k == min(K_RANGE) and len(set(same.labels)) == 1
    two = segment(np.array([[0.0, 1.0], [1.0, 0.0]]), seed=0)
    assert two.k == 1 and two.silhouette_by_k == {} and list(two.labels) == [0, 0]

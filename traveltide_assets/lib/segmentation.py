"""Customer segments: k-means on standardised driver features, k chosen by silhouette."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances
from threadpoolctl import threadpool_limits

from traveltide_assets.lib.scoring import DRIVER_FEATURES, robust_z

K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 4_000


@dataclass(frozen=True)
class Segmentation:
    labels: np.ndarray
    k: int
    silhouette_by_k: dict[int, float]
    centres: np.ndarray


def one_thread() -> threadpool_limits:
    """scikit-learn's k-means on one OpenMP thread (threadpoolctl, as scikit-learn documents). Its Lloyd iterations
    hand chunks of 256 customers to its threads and wait for all of them every iteration: on the 2-core machine,
    the seven fits of `segment` at 8x the real cohort took 3x the CPU time on two threads than on one, and 2-5x
    the wall time (docs/performance.md). One thread also adds the threads' partial sums of the centres in one
    fixed order, where several add them in the order they finish (the same labels either way on every cohort
    compared)."""
    return threadpool_limits(limits=1, user_api="openmp")


def standardised_drivers(features: pd.DataFrame) -> np.ndarray:
    return np.column_stack([robust_z(features[f]).to_numpy() for f in DRIVER_FEATURES])


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """sklearn's mean silhouette; -1 (the worst) when the sample falls in one cluster, where it is undefined."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return -1.0
    return float(silhouette_score(distances, labels, metric="precomputed"))


def segment(x: np.ndarray, seed: int) -> Segmentation:
    """Fit k-means for each k in K_RANGE; keep the k with the best silhouette (on a fixed sample)."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(x.shape[0], size=min(SILHOUETTE_SAMPLE, x.shape[0]), replace=False)
    with one_thread():
        models = {k: KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x) for k in K_RANGE if k < x.shape[0]}
    if not models:
        return Segmentation(np.zeros(x.shape[0], dtype=int), 1, {}, x.mean(axis=0, keepdims=True))
    # One distance matrix for every k: sklearn would otherwise compute the sample's distances once per k.
    distances = pairwise_distances(x[sample])
    scores = {k: _silhouette(distances, m.labels_[sample]) for k, m in models.items()}
    k = max(scores, key=lambda key: (scores[key], -key))  # the best score; the smaller k on a tie
    model = models[k]
    return Segmentation(model.labels_.astype(int), k, scores, model.cluster_centers_)

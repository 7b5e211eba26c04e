"""Customer segments: k-means on standardised driver features, k chosen by silhouette."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances

from traveltide_assets.lib.scoring import DRIVER_FEATURES, robust_z

K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 4_000


@dataclass(frozen=True)
class Segmentation:
    labels: np.ndarray
    k: int
    silhouette_by_k: dict[int, float]
    centres: np.ndarray


def standardised_drivers(features: pd.DataFrame) -> np.ndarray:
    return np.column_stack([robust_z(features[f]).to_numpy() for f in DRIVER_FEATURES])


def silhouettes(distances: np.ndarray, labelings: dict[int, np.ndarray]) -> dict[int, float]:
    """Mean silhouette of each labelling of the same points, from their pairwise distances computed once.

    The definition of sklearn.metrics.silhouette_score: a = mean distance to the other members of one's own
    cluster, b = the smallest mean distance to another cluster, s = (b - a) / max(a, b), 0 for a point alone in
    its cluster. Per labelling the work is one matrix product, instead of the distances all over again.
    """
    scores = {}
    for k, labels in labelings.items():
        clusters, index = np.unique(labels, return_inverse=True)
        if len(clusters) < 2:
            scores[k] = -1.0
            continue
        members = np.eye(len(clusters))[index]  # one-hot, points x clusters
        sums = distances @ members
        sizes = members.sum(axis=0)
        own = sizes[index]
        a = sums[np.arange(len(index)), index] / np.maximum(own - 1, 1)
        other = sums / sizes
        other[np.arange(len(index)), index] = np.inf
        b = other.min(axis=1)
        s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), np.finfo(float).tiny), 0.0)
        scores[k] = float(s.mean())
    return scores


def segment(x: np.ndarray, seed: int) -> Segmentation:
    """Fit k-means for each k in K_RANGE; keep the k with the best silhouette (on a fixed sample)."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(x.shape[0], size=min(SILHOUETTE_SAMPLE, x.shape[0]), replace=False)
    models = {k: KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x) for k in K_RANGE if k < x.shape[0]}
    if not models:
        return Segmentation(np.zeros(x.shape[0], dtype=int), 1, {}, x.mean(axis=0, keepdims=True))
    scores = silhouettes(pairwise_distances(x[sample]), {k: m.labels_[sample] for k, m in models.items()})
    k = max(scores, key=lambda key: (scores[key], -key))  # the best score; the smaller k on a tie
    model = models[k]
    return Segmentation(model.labels_.astype(int), k, scores, model.cluster_centers_)

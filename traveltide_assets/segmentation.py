"""Customer segments: k-means on standardised driver features, k chosen by silhouette."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from traveltide_assets.scoring import DRIVER_FEATURES, robust_z

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


def segment(x: np.ndarray, seed: int) -> Segmentation:
    """Fit k-means for each k in K_RANGE; keep the k with the best silhouette (on a fixed sample)."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(x.shape[0], size=min(SILHOUETTE_SAMPLE, x.shape[0]), replace=False)
    best: tuple[float, int, KMeans] | None = None
    scores: dict[int, float] = {}
    for k in K_RANGE:
        if k >= x.shape[0]:
            break
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
        labels = model.labels_[sample]
        score = float(silhouette_score(x[sample], labels)) if len(set(labels)) > 1 else -1.0
        scores[k] = score
        if best is None or score > best[0]:
            best = (score, k, model)
    if best is None:
        return Segmentation(np.zeros(x.shape[0], dtype=int), 1, {}, x.mean(axis=0, keepdims=True))
    _, k, model = best
    return Segmentation(model.labels_.astype(int), k, scores, model.cluster_centers_)

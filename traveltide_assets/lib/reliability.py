"""Split-half reliability of the favourite perk: how often two independent halves of each customer's sessions
name the same favourite, against chance, and against what the probabilities themselves imply.

`predicted_agreement` assumes the halves are independent given the true favourite j. From half A the implied
joint M_A[k, j] = mean over customers of [favourite_A = k] * p_A(j) gives the implied confusion
P_A(k | j) = M_A[k, j] / sum_k M_A[k, j], likewise for B, and the prediction sum_j pi_j sum_k P_A(k|j) P_B(k|j)
with pi_j the mean probability of j (derivation: docs/perk_model.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide_assets.lib.catalog import PERKS

RELIABILITY_COLUMNS = ("perk", "customers", "observed_agreement", "chance_agreement", "kappa", "predicted_agreement")


def implied_confusion(favourite: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """P(k | j): the chance that a customer whose true favourite is j is assigned k, as the probabilities of
    one half imply it (columns sum to 1; a perk nobody could be a fan of gets a uniform column)."""
    k = probabilities.shape[1]
    joint = np.zeros((k, k))
    np.add.at(joint, favourite, probabilities)
    joint /= max(len(favourite), 1)
    totals = joint.sum(axis=0, keepdims=True)
    return np.divide(joint, totals, out=np.full_like(joint, 1.0 / k), where=totals > 0)


def _kappa(observed: float, chance: float) -> float:
    return (observed - chance) / (1 - chance) if chance < 1 else 0.0


def split_half_agreement(
    favourite_a: np.ndarray, probabilities_a: np.ndarray, favourite_b: np.ndarray, probabilities_b: np.ndarray
) -> pd.DataFrame:
    """One row per perk (agreement on "is this perk the favourite") and one for `all` (the favourite itself)."""
    prior = (probabilities_a.mean(axis=0) + probabilities_b.mean(axis=0)) / 2
    conf_a = implied_confusion(favourite_a, probabilities_a)
    conf_b = implied_confusion(favourite_b, probabilities_b)
    n = len(favourite_a)
    share_a = np.bincount(favourite_a, minlength=len(PERKS)) / max(n, 1)
    share_b = np.bincount(favourite_b, minlength=len(PERKS)) / max(n, 1)
    rows = []
    for k, perk in enumerate(PERKS):
        a, b = favourite_a == k, favourite_b == k
        chance = share_a[k] * share_b[k] + (1 - share_a[k]) * (1 - share_b[k])
        both = conf_a[k] * conf_b[k] + (1 - conf_a[k]) * (1 - conf_b[k])
        observed = float(np.mean(a == b)) if n else 0.0
        rows.append((perk, int(np.sum(a | b)), observed, float(chance), _kappa(observed, chance), float(prior @ both)))
    observed = float(np.mean(favourite_a == favourite_b)) if n else 0.0
    chance = float(share_a @ share_b)
    predicted = float(prior @ (conf_a * conf_b).sum(axis=0))
    rows.append(("all", n, observed, chance, _kappa(observed, chance), predicted))
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))

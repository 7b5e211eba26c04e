"""How far the favourite's probability can be trusted: calibration against a planted truth (pure functions).

`probability` is the model's probability of the favourite it names, `correct` whether that favourite is the
planted one. A calibrated model is right in 70% of the customers it gives 0.7: the expected calibration error
(ECE) is the bin-share-weighted gap between mean probability and accuracy over ten equal-width bins of [0, 1]
(the bins of sklearn.calibration.calibration_curve, strategy "uniform": right-closed, the first one [0, 0.1]).
The multi-class Brier score is the mean over customers of sum_k (p_k - [truth = k])^2: 0 for certain and right,
2 for certain and wrong, 0.8 for uniform probabilities over five perks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, NO_PERK, PERKS

BINS = 10
DECILES = 10
CALIBRATION_COLUMNS = ("kind", "bin", "users", "share", "mean_probability", "accuracy")


def _arrays(probability: object, correct: object) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probability, dtype=float).ravel()
    y = np.asarray(correct, dtype=bool).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{p.size} probabilities but {y.size} outcomes")
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise ValueError("probabilities must lie in [0, 1]")
    return p, y


def _groups(p: np.ndarray, y: np.ndarray, keys: object) -> pd.DataFrame:
    """users, mean_probability and accuracy per key (observed keys only, in key order)."""
    frame = pd.DataFrame({"key": keys, "p": p, "y": y.astype(float)})
    grouped = frame.groupby("key", observed=True, sort=True)
    return pd.DataFrame(
        {"users": grouped.size(), "mean_probability": grouped["p"].mean(), "accuracy": grouped["y"].mean()}
    )


def reliability_bins(probability: object, correct: object, bins: int = BINS) -> pd.DataFrame:
    """The non-empty equal-width bins of [0, 1]: lower, upper, users, mean_probability, accuracy."""
    p, y = _arrays(probability, correct)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Right-closed bins with the first one closed on both sides, as calibration_curve bins them.
    ids = pd.cut(p, edges, labels=False, include_lowest=True, right=True)
    table = _groups(p, y, ids)
    table.insert(0, "upper", edges[table.index.to_numpy(dtype=int) + 1])
    table.insert(0, "lower", edges[table.index.to_numpy(dtype=int)])
    return table.reset_index(drop=True)


def ece(probability_of_favourite: object, correct: object, bins: int = BINS) -> float:
    """Expected calibration error: sum over equal-width bins of share * |mean probability - accuracy|."""
    table = reliability_bins(probability_of_favourite, correct, bins)
    if table.empty:
        return float("nan")
    gap = (table["mean_probability"] - table["accuracy"]).abs()
    return float((gap * table["users"]).sum() / table["users"].sum())


def brier(probabilities: object, truth_index: object) -> float:
    """Multi-class Brier score: mean over customers of sum_k (p_k - [truth = k])^2 (range [0, 2])."""
    from sklearn.metrics import brier_score_loss

    p = np.asarray(probabilities, dtype=float)
    truth = np.asarray(truth_index, dtype=int).ravel()
    if p.ndim != 2 or p.shape[0] != truth.size:
        raise ValueError(f"expected probabilities of shape ({truth.size}, k), got {p.shape}")
    if truth.size == 0:
        return float("nan")
    if truth.min() < 0 or truth.max() >= p.shape[1]:
        raise ValueError(f"truth indices must lie in 0..{p.shape[1] - 1}")
    return float(brier_score_loss(truth, p, labels=np.arange(p.shape[1]), scale_by_half=False))


def top_quintile_accuracy(probability: object, correct: object) -> float:
    """Accuracy among the fifth of customers with the most probable favourites (at least one customer; ties
    broken by order, so exactly n // 5 customers)."""
    p, y = _arrays(probability, correct)
    if p.size == 0:
        return float("nan")
    top = np.argsort(-p, kind="stable")[: max(p.size // 5, 1)]
    return float(y[top].mean())


def calibration_by_decile(probability: object, correct: object, deciles: int = DECILES) -> pd.DataFrame:
    """Customers in `deciles` equal-sized groups by rising probability of the favourite (ties split by order):
    decile (1 = least sure), users, mean_probability, accuracy. Fewer groups when there are fewer customers."""
    p, y = _arrays(probability, correct)
    groups = min(deciles, p.size)
    if groups == 0:
        return pd.DataFrame(columns=["decile", "users", "mean_probability", "accuracy"])
    rank = pd.Series(p).rank(method="first").to_numpy()
    ids = pd.qcut(rank, groups, labels=False)
    table = _groups(p, y, ids)
    table.insert(0, "decile", table.index.to_numpy(dtype=int) + 1)
    return table.reset_index(drop=True)


def accuracy_by_band(confidence: object, probability: object, correct: object) -> pd.DataFrame:
    """Per confidence band (high, medium, low, every band listed): users, share, mean_probability, accuracy
    (NaN for an empty band)."""
    p, y = _arrays(probability, correct)
    bands = np.asarray(confidence, dtype=object).ravel()
    if bands.shape != p.shape:
        raise ValueError(f"{bands.size} confidence bands but {p.size} probabilities")
    table = _groups(p, y, bands).reindex(list(CONFIDENCE_BANDS))
    table["users"] = table["users"].fillna(0).astype(int)
    table.insert(1, "share", table["users"] / max(p.size, 1))
    return table.rename_axis("band").reset_index()


def calibration_table(confidence: object, probability: object, correct: object) -> pd.DataFrame:
    """One table: the deciles (kind 'decile', bin '1'..'10'), the bands (kind 'band', bin the band) and all
    customers (kind 'all'), each with users, share, mean_probability and accuracy."""
    p, y = _arrays(probability, correct)
    deciles = calibration_by_decile(p, y)
    deciles = deciles.assign(kind="decile", bin=deciles["decile"].astype(str), share=deciles["users"] / max(p.size, 1))
    bands = accuracy_by_band(confidence, p, y).assign(kind="band")
    bands = bands.rename(columns={"band": "bin"})
    overall = pd.DataFrame(
        [
            {
                "kind": "all",
                "bin": "all",
                "users": int(p.size),
                "share": 1.0,
                "mean_probability": float(p.mean()) if p.size else float("nan"),
                "accuracy": float(y.mean()) if p.size else float("nan"),
            }
        ]
    )
    table = pd.concat([deciles, bands, overall], ignore_index=True)[list(CALIBRATION_COLUMNS)]
    return table.astype({"users": "int64", "share": float, "mean_probability": float, "accuracy": float})


HEADLINE_COLUMNS = ("ece", "brier", "top_quintile_accuracy")  # on the 'all' row of calibration_report's table


def empty_calibration_table() -> pd.DataFrame:
    """calibration_report's table with no rows: what a source without a planted truth gives."""
    text = ("kind", "bin")
    return pd.DataFrame(
        {c: pd.Series(dtype="string" if c in text else "int64" if c == "users" else float) for c in
         (*CALIBRATION_COLUMNS, *HEADLINE_COLUMNS)}
    )  # fmt: skip


def calibration_report(
    assigned: pd.DataFrame, probabilities: pd.DataFrame, truth: pd.DataFrame
) -> dict[str, object] | None:
    """Calibration of the favourite perks against a planted truth, or None when no customer has a planted
    favourite (a 'none' truth is left out, as in accuracy_report).

    `assigned` holds user_id, favourite_perk, probability, confidence (perk_assignments); `probabilities`
    user_id and p_<perk> (perk_probabilities); `truth` user_id, favourite_perk. The table is
    calibration_table's, with the headline figures (ece, brier, top_quintile_accuracy) on its 'all' row."""
    columns = [f"p_{perk}" for perk in PERKS]
    truth = truth[["user_id", "favourite_perk"]].rename(columns={"favourite_perk": "planted"})
    joined = (
        assigned[["user_id", "favourite_perk", "probability", "confidence"]]
        .merge(probabilities[["user_id", *columns]], on="user_id")
        .merge(truth, on="user_id")
    )
    joined = joined[joined["planted"] != NO_PERK]
    if joined.empty:
        return None
    unknown = sorted(set(joined["planted"]) - set(PERKS))
    if unknown:
        raise ValueError(f"planted favourites {unknown} are not perks of the catalogue")
    planted = joined["planted"].map({perk: k for k, perk in enumerate(PERKS)}).to_numpy(dtype=int)
    correct = (joined["favourite_perk"] == joined["planted"]).to_numpy()
    probability = joined["probability"].to_numpy(dtype=float)
    figures = {
        "ece": ece(probability, correct),
        "brier": brier(joined[columns].to_numpy(dtype=float), planted),
        "top_quintile_accuracy": top_quintile_accuracy(probability, correct),
    }
    table = calibration_table(joined["confidence"].to_numpy(dtype=object), probability, correct)
    for name, value in figures.items():
        table[name] = np.where(table["kind"] == "all", value, np.nan)
    bands = table[table["kind"] == "band"].set_index("bin")
    return {
        "users": len(joined),
        "accuracy": float(correct.mean()),
        "mean_probability": float(probability.mean()),
        **figures,
        "band_accuracy": {b: (None if np.isnan(a) else float(a)) for b, a in bands["accuracy"].items()},
        "band_share": {b: float(s) for b, s in bands["share"].items()},
        "table": table,
    }

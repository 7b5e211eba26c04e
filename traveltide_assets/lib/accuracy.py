"""How often the favourite perk is right, against the planted truth, and what the same features allow at best."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

from traveltide_assets.lib.catalog import NO_PERK, PERKS

NOT_FEATURES = ("user_id",)


def accuracy_report(assigned: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any] | None:
    """Accuracy, balanced accuracy, per-perk precision/recall and the confusion matrix (rows = truth).

    Users without a planted favourite (truth 'none') are left out; None when no user has one.
    """
    joined = assigned[["user_id", "favourite_perk"]].merge(
        truth[["user_id", "favourite_perk"]], on="user_id", suffixes=("_assigned", "_true")
    )
    joined = joined[joined["favourite_perk_true"] != NO_PERK]
    if joined.empty:
        return None
    y_true, y_pred, codes = _label_codes(joined["favourite_perk_true"], joined["favourite_perk_assigned"])
    labels = list(PERKS)
    perk_codes = [codes[perk] for perk in labels]
    precision, recall, _, support = precision_recall_fscore_support(y_true, y_pred, labels=perk_codes, zero_division=0)
    return {
        "users": len(joined),
        "accuracy": float((y_true == y_pred).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "per_perk": {
            perk: {"precision": float(p), "recall": float(r), "support": int(s)}
            for perk, p, r, s in zip(labels, precision, recall, support, strict=True)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=perk_codes).tolist(),
        "labels": labels,
    }


def _label_codes(y_true: pd.Series, y_pred: pd.Series) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Both label columns as integer codes numbered in the names' sorted order, and the code of each name.

    scikit-learn's metrics find and sort the labels several times each; on text that is most of their cost (0.5 s
    at 8x the real cohort), on integers almost nothing. Numbered in sorted order, the classes keep the order
    sklearn gives the names, so every figure (balanced accuracy's mean over classes included) is the same."""
    names = sorted(set(PERKS) | set(y_true.unique()) | set(y_pred.unique()))
    true_codes = pd.Categorical(y_true, categories=names).codes.astype(np.int64)
    pred_codes = pd.Categorical(y_pred, categories=names).codes.astype(np.int64)
    return true_codes, pred_codes, {name: code for code, name in enumerate(names)}


ACCURACY_COLUMNS = ("perk", "precision", "recall", "support", *(f"assigned_{perk}" for perk in PERKS))


def accuracy_table(report: dict[str, Any] | None) -> pd.DataFrame:
    """The report as the perk_accuracy table: a row per planted perk (precision, recall, customers, and its row of
    the confusion matrix as assigned_<perk> counts), then 'all' (precision = accuracy, recall = balanced
    accuracy, support = customers). No rows without a report (a source with no planted truth)."""
    if report is None:
        return pd.DataFrame({c: pd.Series(dtype="string" if c == "perk" else float) for c in ACCURACY_COLUMNS})
    rows = [
        {"perk": perk, **report["per_perk"][perk], **dict(zip(ACCURACY_COLUMNS[4:], counts, strict=True))}
        for perk, counts in zip(report["labels"], report["confusion"], strict=True)
    ]
    rows.append(
        {
            "perk": "all",
            "precision": report["accuracy"],
            "recall": report["balanced_accuracy"],
            "support": report["users"],
        }
    )
    return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS)).astype({c: float for c in ACCURACY_COLUMNS[1:]})


def accuracy_from_table(table: pd.DataFrame) -> dict[str, Any] | None:
    """accuracy_report's dict back from the perk_accuracy table; None when it has no rows (no planted truth)."""
    if table.empty:
        return None
    rows = table.set_index("perk")
    labels = [perk for perk in PERKS if perk in rows.index]
    overall = rows.loc["all"]
    return {
        "users": int(overall["support"]),
        "accuracy": float(overall["precision"]),
        "balanced_accuracy": float(overall["recall"]),
        "per_perk": {
            perk: {
                "precision": float(rows.loc[perk, "precision"]),
                "recall": float(rows.loc[perk, "recall"]),
                "support": int(rows.loc[perk, "support"]),
            }
            for perk in labels
        },
        "confusion": [[int(rows.loc[perk, f"assigned_{other}"]) for other in labels] for perk in labels],
        "labels": labels,
    }


def feature_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """The product's user features as a model input: numbers as floats, text columns as categories."""
    x = features.drop(columns=list(NOT_FEATURES)).copy()
    for column in x.columns:
        if x[column].dtype == object or str(x[column].dtype).startswith(("string", "str")):
            x[column] = x[column].astype("category")
        else:
            x[column] = x[column].astype(float)
    return x


EVIDENCE_PREFIX = "evidence_"


def ceiling_features(features: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """What the ceiling learns from: the product's user features and the perk model's count columns
    (perk_evidence, as floats, prefixed `evidence_` since some names are also features), one row per user."""
    counts = evidence.set_index("user_id").astype(float).add_prefix(EVIDENCE_PREFIX).reset_index()
    joined = features.merge(counts, on="user_id", how="left", validate="one_to_one")
    if len(joined) != len(features):
        raise ValueError("perk_evidence does not hold one row per user of user_features")
    return joined


def ceiling_accuracy(train: list[tuple[pd.DataFrame, pd.DataFrame]], test: tuple[pd.DataFrame, pd.DataFrame]) -> float:
    """Accuracy of a supervised classifier trained on other seeds' truth, scored on this seed: the best these
    features allow (as far as gradient boosting can tell). Each pair is (features, ground_truth): the user
    features, in `traveltide evaluate` with the perk model's counts beside them (ceiling_features)."""

    def labelled(pair: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
        features, truth = pair
        joined = features.merge(truth[["user_id", "favourite_perk"]], on="user_id")
        return joined[joined["favourite_perk"] != NO_PERK]

    train_rows = pd.concat([labelled(p) for p in train], ignore_index=True)
    test_rows = labelled(test)
    if train_rows.empty or test_rows.empty:
        return float("nan")
    x_train = feature_matrix(train_rows.drop(columns="favourite_perk"))
    x_test = feature_matrix(test_rows.drop(columns="favourite_perk"))
    for column in x_train.columns:
        if isinstance(x_train[column].dtype, pd.CategoricalDtype):
            categories = sorted(set(x_train[column].dropna()) | set(x_test[column].dropna()))
            x_train[column] = pd.Categorical(x_train[column], categories=categories)
            x_test[column] = pd.Categorical(x_test[column], categories=categories)
    # Imported here: only `traveltide evaluate` fits it, and the import costs every run half a second.
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(x_train, train_rows["favourite_perk"])
    return float(np.mean(model.predict(x_test) == test_rows["favourite_perk"].to_numpy()))

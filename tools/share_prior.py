"""Refit a warehouse's perk evidence under several share priors and compare with a planted truth.

    uv run python -m tools.share_prior DATA_FOLDER 0.1 0.01 0.001 0

DATA_FOLDER is a `traveltide run` data folder on the embedded synthetic store (its warehouse.duckdb and
source/ground_truth.parquet). Prints, per `share_prior_fraction`, the estimated class shares, accuracy, balanced
accuracy and ECE against the planted favourites: the trade-off behind the model's default prior
(docs/perk_model_figures.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from traveltide_assets.lib.calibration import ece
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.perk_model import ModelOptions, fit_perk_model
from traveltide_assets.sources.contract import GROUND_TRUTH_FILE


def main(folder: Path, priors: list[float]) -> None:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        evidence = con.sql("SELECT * FROM perk_evidence ORDER BY user_id").df()
    truth = pd.read_parquet(folder / "source" / GROUND_TRUTH_FILE)
    planted = evidence[["user_id"]].merge(truth, on="user_id", how="left")["favourite_perk"].to_numpy()
    shares = pd.Series(planted).value_counts(normalize=True).reindex(list(PERKS), fill_value=0.0)
    print("planted shares      " + ", ".join(f"{perk} {share:.3f}" for perk, share in shares.items()))
    for prior in priors:
        model = fit_perk_model(evidence, ModelOptions(share_prior_fraction=prior))
        favourite = np.asarray(PERKS)[model.probabilities.argmax(axis=1)]
        correct = favourite == planted
        print(
            f"prior {prior:<6g} shares "
            + ", ".join(f"{share:.3f}" for share in model.class_shares)
            + f"; accuracy {correct.mean():.3f}, balanced {balanced_accuracy_score(planted, favourite):.3f}, "
            f"ECE {ece(model.probabilities.max(axis=1), correct):.3f}"
        )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [float(value) for value in sys.argv[2:]])

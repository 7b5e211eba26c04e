"""The evidence each customer shows, the probability that each perk is their favourite, and how repeatable the
favourite is between two halves of a customer's sessions."""

import time

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.perk_model import ModelOptions, PerkModel, fit_perk_model
from traveltide_assets.lib.reliability import split_half_agreement
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.publish import publish_arrow, publish_query
from traveltide_assets.storage.warehouse import Warehouse

PROBABILITY_COLUMNS = tuple(f"p_{perk}" for perk in PERKS)
ALL_SESSIONS, HALVES = -1, (0, 1)


def read_evidence(warehouse: Warehouse, half: int = ALL_SESSIONS) -> pd.DataFrame:
    """Per-customer counts of all sessions (the perk_evidence table) or of one half of them."""
    with warehouse.connect() as con:
        if half == ALL_SESSIONS:
            return con.sql("SELECT * FROM perk_evidence ORDER BY user_id").df()
        return con.execute(read_sql("perks/perk_evidence.sql"), {"half": half}).df()


def _options(settings: PerkModelSettings) -> ModelOptions:
    return ModelOptions(max_iterations=settings.max_iterations, tolerance=settings.tolerance)


def probability_table(user_ids: pd.Series, model: PerkModel) -> pd.DataFrame:
    table = pd.DataFrame(model.probabilities, columns=list(PROBABILITY_COLUMNS))
    table.insert(0, "user_id", user_ids.to_numpy())
    return table


@asset(
    group_name="perks",
    deps=[session_cohort],
    kinds={"duckdb", "parquet"},
    description="Per cohort customer, the counts and exposures the perk model weighs: bookings by type, "
    "cancelled and discounted bookings, bags over seats flown, extra rooms over stays, and log-scale sums of "
    "lead days, room prices, bundle nights and browsing minutes (sql/perks/perk_evidence.sql).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_evidence(warehouse: Warehouse) -> MaterializeResult:
    with warehouse.connect() as con:
        metadata = publish_query(con, warehouse, "perk_evidence", read_sql("perks/perk_evidence.sql"), {"half": -1})
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="perks",
    deps=[perk_evidence],
    kinds={"duckdb", "parquet", "scipy"},
    description="Per cohort customer, the probability that each perk is their favourite (p_<perk>, rows sum to "
    "1): a five-class latent-class model with overdispersed likelihoods, fitted by maximum likelihood on the "
    "customers' counts (traveltide_assets/lib/perk_model.py, docs/perk_model.md).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_probabilities(
    context: AssetExecutionContext, warehouse: Warehouse, perk_model: PerkModelSettings
) -> MaterializeResult:
    evidence = read_evidence(warehouse)
    started = time.perf_counter()
    model = fit_perk_model(evidence, _options(perk_model))
    seconds = time.perf_counter() - started
    if not model.converged:
        context.log.warning(f"the perk model stopped after {model.iterations} iterations without converging")
    table = probability_table(evidence["user_id"], model)
    with warehouse.connect() as con:
        metadata = publish_arrow(
            con, warehouse, "perk_probabilities", pa.Table.from_pandas(table, preserve_index=False)
        )
    favourite = model.probabilities.max(axis=1)
    metadata.update(
        {
            "class_shares": MetadataValue.json(
                {p: round(float(s), 4) for p, s in zip(PERKS, model.class_shares, strict=True)}
            ),
            "mean_probability_of_favourite": MetadataValue.float(float(favourite.mean())),
            "log_likelihood": MetadataValue.float(model.log_likelihood),
            "bic_five_classes": MetadataValue.float(model.bic()),
            "bic_no_classes": MetadataValue.float(model.one_class_bic()),
            "iterations": MetadataValue.int(model.iterations),
            "converged": MetadataValue.bool(model.converged),
            "fit_seconds": MetadataValue.float(round(seconds, 3)),
            "parameters": MetadataValue.json(model.parameters),
        }
    )
    return MaterializeResult(metadata=metadata)


def _half_favourites(warehouse: Warehouse, options: ModelOptions, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    favourites, probabilities = [], []
    for half in HALVES:
        evidence = read_evidence(warehouse, half)
        if not np.array_equal(evidence["user_id"].to_numpy(), users):
            raise RuntimeError(f"half {half} of the sessions does not hold the same customers as perk_evidence")
        model = fit_perk_model(evidence, options)
        probabilities.append(model.probabilities)
        favourites.append(model.probabilities.argmax(axis=1))
    return np.stack(favourites), np.stack(probabilities)


@asset(
    group_name="perks",
    deps=[perk_evidence],
    kinds={"duckdb", "parquet", "scipy"},
    description="Split-half reliability of the favourite perk: each customer's sessions dealt alternately into "
    "two halves, the model fitted on each; per perk and for all, observed and chance agreement, Cohen's kappa, "
    "and the agreement the probabilities predict (traveltide_assets/lib/reliability.py).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def assignment_reliability(
    context: AssetExecutionContext, warehouse: Warehouse, perk_model: PerkModelSettings
) -> MaterializeResult:
    with warehouse.connect() as con:
        users = con.sql("SELECT user_id FROM perk_evidence ORDER BY user_id").df()["user_id"].to_numpy()
    started = time.perf_counter()
    favourites, probabilities = _half_favourites(warehouse, _options(perk_model), users)
    seconds = time.perf_counter() - started
    table = split_half_agreement(favourites[0], probabilities[0], favourites[1], probabilities[1])
    with warehouse.connect() as con:
        metadata = publish_arrow(
            con, warehouse, "assignment_reliability", pa.Table.from_pandas(table, preserve_index=False)
        )
    overall = table.set_index("perk").loc["all"]
    context.log.info(
        f"split-half agreement {overall['observed_agreement']:.3f} (chance {overall['chance_agreement']:.3f}, "
        f"kappa {overall['kappa']:.3f}, predicted {overall['predicted_agreement']:.3f})"
    )
    metadata.update(
        {
            "kappa": MetadataValue.float(float(overall["kappa"])),
            "observed_agreement": MetadataValue.float(float(overall["observed_agreement"])),
            "chance_agreement": MetadataValue.float(float(overall["chance_agreement"])),
            "predicted_agreement": MetadataValue.float(float(overall["predicted_agreement"])),
            "fit_seconds_both_halves": MetadataValue.float(round(seconds, 3)),
            "table": MetadataValue.md(table.round(4).to_markdown(index=False)),
        }
    )
    return MaterializeResult(metadata=metadata)

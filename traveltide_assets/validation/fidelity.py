"""Fidelity of a TravelTide source to the real customers: per-user feature distributions against a reference.

Why: the synthetic source is only a fair test bed for the segmentation if its customers behave like the real
ones *per user* (the segmentation clusters per-user features), not only in whole-base totals. The reference
(shared/real-cohort/reference.json) holds, for 20 per-user features of the real study cohort, the share of
users with a value <= each of a set of edges; a source is compared with it by the Kolmogorov-Smirnov distance
evaluated at those edges, exactly as the reference's README defines it, so that the figure is comparable with
its own noise floor (two random halves of the real cohort differ by at most KS 0.027).

The per-user features come from `sql/validation/fidelity/per_user_features.sql`, the README's query made
portable, so the same check runs on the embedded Parquet store (DuckDB) and on a PostgreSQL source.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.sql_files import read_sql

# The features of the reference, in its order (and the SQL's column order after user_id).
FEATURES: tuple[str, ...] = (
    "n_sessions",
    "avg_clicks",
    "avg_minutes",
    "flight_book_rate",
    "hotel_book_rate",
    "cancel_rate",
    "flight_discount_rate",
    "hotel_discount_rate",
    "avg_flight_discount",
    "avg_hotel_discount",
    "avg_bags",
    "avg_seats",
    "avg_fare",
    "return_rate",
    "avg_nights",
    "avg_rooms",
    "avg_hotel_price",
    "age",
    "married",
    "has_children",
)
FEATURES_SQL = "validation/fidelity/per_user_features.sql"
DEFAULT_BOUND = 0.05
# A value counts as <= an edge up to this tolerance (the reference's definition): averages such as 8.333333
# are stored rounded to 6 decimals.
EDGE_TOLERANCE = 1e-6
# The reference holds a random half of the real cohort; the whole real cohort (shared/traveltide-schema.md) has
# 5,998 customers and 49,211 sessions, which is what a synthetic source at the real volume should reproduce.
REAL_COHORT_USERS = 5_998
REAL_COHORT_SESSIONS = 49_211
COHORT_TOLERANCE = 0.03


class ReferenceError(ValueError):
    """The reference file is missing or not a valid reference; the message names the file and the fault."""


@dataclass(frozen=True)
class FeatureReference:
    """One feature of the reference: how many users have it, their mean, and the binned CDF."""

    n: int
    mean: float
    edges: tuple[float, ...]
    cdf: tuple[float, ...]


@dataclass(frozen=True)
class Reference:
    cohort_users: int
    cohort_sessions: int
    features: Mapping[str, FeatureReference]


@dataclass(frozen=True)
class FeatureFit:
    name: str
    ks: float
    real_mean: float
    synthetic_mean: float
    synthetic_n: int


@dataclass(frozen=True)
class FidelityReport:
    fits: tuple[FeatureFit, ...]
    cohort_users: int
    cohort_sessions: int
    reference: Reference
    bound: float

    @property
    def above(self) -> tuple[FeatureFit, ...]:
        """Features whose KS distance exceeds the bound (NaN counts as above: nothing to compare)."""
        return tuple(f for f in self.fits if not f.ks <= self.bound)

    @property
    def cohort_ratio(self) -> float:
        """Synthetic cohort size over the whole real cohort's."""
        return self.cohort_users / REAL_COHORT_USERS


def _number(value: object, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReferenceError(f"reference {path}: {where} is not a finite number ({value!r})")
    return float(value)


def load_reference(path: Path) -> Reference:
    """Read and validate a reference.json; every fault is one ReferenceError naming the file and what is wrong."""
    if not path.is_file():
        raise ReferenceError(f"reference {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReferenceError(f"reference {path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReferenceError(f"reference {path}: expected a JSON object at the top")
    for key in ("cohort_users", "cohort_sessions", "features"):
        if key not in data:
            raise ReferenceError(f"reference {path}: the key {key!r} is missing")
    features = data["features"]
    if not isinstance(features, dict):
        raise ReferenceError(f"reference {path}: 'features' is not an object")
    missing = [name for name in FEATURES if name not in features]
    if missing:
        raise ReferenceError(f"reference {path}: features missing: {', '.join(missing)}")
    parsed: dict[str, FeatureReference] = {}
    for name in FEATURES:
        entry = features[name]
        if not isinstance(entry, dict) or not {"n", "mean", "edges", "cdf"} <= set(entry):
            raise ReferenceError(f"reference {path}: feature {name!r} needs n, mean, edges and cdf")
        edges, cdf = entry["edges"], entry["cdf"]
        if not isinstance(edges, list) or not isinstance(cdf, list) or not edges or len(edges) != len(cdf):
            raise ReferenceError(f"reference {path}: feature {name!r} needs non-empty edges and cdf of equal length")
        edge_values = tuple(_number(v, f"{name}.edges", path) for v in edges)
        cdf_values = tuple(_number(v, f"{name}.cdf", path) for v in cdf)
        if any(b < a for a, b in itertools.pairwise(edge_values)):
            raise ReferenceError(f"reference {path}: feature {name!r} has edges that are not ascending")
        if any(not 0.0 <= v <= 1.0 for v in cdf_values):
            raise ReferenceError(f"reference {path}: feature {name!r} has a cdf value outside 0..1")
        parsed[name] = FeatureReference(
            n=int(_number(entry["n"], f"{name}.n", path)),
            mean=_number(entry["mean"], f"{name}.mean", path),
            edges=edge_values,
            cdf=cdf_values,
        )
    return Reference(
        cohort_users=int(_number(data["cohort_users"], "cohort_users", path)),
        cohort_sessions=int(_number(data["cohort_sessions"], "cohort_sessions", path)),
        features=parsed,
    )


def ks_distance(values: np.ndarray, edges: Sequence[float], cdf: Sequence[float]) -> float:
    """The reference's KS distance: max over edges of |share of non-NULL values <= edge + 1e-6 - cdf|.

    Evaluated at the reference's edges only (not at every sample point), because the reference is binned; NaN
    values (NULL features, e.g. the bags of a customer without a flight) are left out. With no value at all
    there is no distribution to compare: NaN.
    """
    present = np.sort(values[~np.isnan(values)])
    if present.size == 0:
        return math.nan
    at = np.asarray(edges, dtype=np.float64) + EDGE_TOLERANCE
    synthetic_cdf = np.searchsorted(present, at, side="right") / present.size
    return float(np.max(np.abs(synthetic_cdf - np.asarray(cdf, dtype=np.float64))))


def feature_values(table: pa.Table, name: str) -> np.ndarray:
    """A feature column as float64 with NULL as NaN."""
    column = table.column(name).cast(pa.float64())
    return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def compare(table: pa.Table, reference: Reference, bound: float = DEFAULT_BOUND) -> FidelityReport:
    """Per-user rows (the SQL's result) against the reference."""
    fits = []
    for name in FEATURES:
        values = feature_values(table, name)
        present = values[~np.isnan(values)]
        ref = reference.features[name]
        fits.append(
            FeatureFit(
                name=name,
                ks=ks_distance(values, ref.edges, ref.cdf),
                real_mean=ref.mean,
                synthetic_mean=float(present.mean()) if present.size else math.nan,
                synthetic_n=int(present.size),
            )
        )
    sessions = int(np.nansum(feature_values(table, "n_sessions"))) if table.num_rows else 0
    return FidelityReport(tuple(fits), table.num_rows, sessions, reference, bound)


def fetch_per_user(source: TravelTideSource) -> pa.Table:
    """The cohort's per-user features from the source, one row per cohort customer (a few thousand)."""
    with source.open() as connection:
        return connection.fetch(read_sql(FEATURES_SQL))


def check(reference_path: Path, source: TravelTideSource, bound: float = DEFAULT_BOUND) -> FidelityReport:
    """Load the reference (failing early on a bad file, before reading any source) and compare the source."""
    reference = load_reference(reference_path)
    return compare(fetch_per_user(source), reference, bound)


SPREAD_SQL = "validation/fidelity/spread_components.sql"
REAL_TABLES = ("users", "sessions", "flights", "hotels")


@dataclass(frozen=True)
class Spread:
    """How much customers differ on one measure beyond their own trip-to-trip spread
    (sql/validation/fidelity/spread_components.sql)."""

    measure: str
    customers: int
    within_sd: float
    between_sd: float


def fetch_spreads(source: TravelTideSource) -> dict[str, Spread]:
    with source.open() as connection:
        rows = connection.fetch(read_sql(SPREAD_SQL)).to_pylist()
    return {
        r["measure"]: Spread(r["measure"], int(r["customers"]), r["within_customer_sd"], r["between_customer_sd"])
        for r in rows
    }


def real_rows_beside(reference_path: Path) -> TravelTideSource | None:
    """The real cohort's own tables when they lie beside its reference (as in shared/real-cohort/), else None:
    the spreads need rows, which reference.json does not hold."""
    folder = reference_path.parent
    if all((folder / f"{table}.parquet").is_file() for table in REAL_TABLES):
        return TravelTideSource(embedded_dir=str(folder))
    return None


def format_spreads(real: Mapping[str, Spread], synthetic: Mapping[str, Spread]) -> str:
    """Between- and within-customer sd per measure, real beside synthetic (informational: no bound)."""
    lines = [
        "how much customers differ beyond their own trip-to-trip spread "
        "(sd; sql/validation/fidelity/spread_components.sql):",
        f"{'measure':<24}{'between real':>14}{'synthetic':>11}{'within real':>13}{'synthetic':>11}",
    ]
    for name, r in real.items():
        y = synthetic.get(name)
        between, within = (f"{y.between_sd:>11.3f}", f"{y.within_sd:>11.3f}") if y else ("-".rjust(11),) * 2
        lines.append(f"{name:<24}{r.between_sd:>14.3f}{between}{r.within_sd:>13.3f}{within}")
    return "\n".join(lines)


def format_report(report: FidelityReport) -> str:
    """The table: one line per feature (KS, means, '*' above the bound), then the cohort and a summary."""
    lines = [f"{'feature':<22}{'KS':>8}  {'real mean':>11}{'synthetic mean':>16}"]
    for fit in report.fits:
        mark = "  *" if not fit.ks <= report.bound else ""
        lines.append(f"{fit.name:<22}{fit.ks:>8.3f}  {fit.real_mean:>11.4g}{fit.synthetic_mean:>16.4g}{mark}")
    ref = report.reference
    lines.append(
        f"cohort users: {report.cohort_users:,} synthetic vs {REAL_COHORT_USERS:,} real "
        f"({report.cohort_ratio - 1:+.1%}; the reference holds a half: {ref.cohort_users:,} x 2 = "
        f"{2 * ref.cohort_users:,}); within +-{COHORT_TOLERANCE:.0%}: "
        f"{'yes' if abs(report.cohort_ratio - 1) <= COHORT_TOLERANCE else 'no'}"
    )
    per_user = report.cohort_sessions / report.cohort_users if report.cohort_users else math.nan
    lines.append(
        f"cohort sessions: {report.cohort_sessions:,} synthetic vs {REAL_COHORT_SESSIONS:,} real "
        f"({per_user:.2f} vs {REAL_COHORT_SESSIONS / REAL_COHORT_USERS:.2f} per customer)"
    )
    above = report.above
    worst = max(report.fits, key=lambda f: f.ks if not math.isnan(f.ks) else math.inf)
    verdict = f"{len(above)} of {len(report.fits)} features above KS {report.bound:g}"
    lines.append(f"summary: {verdict} (largest: {worst.name} {worst.ks:.3f})")
    return "\n".join(lines)

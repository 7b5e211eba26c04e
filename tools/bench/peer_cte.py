"""The strongest way public TravelTide projects write this analysis: one PostgreSQL query (a CTE chain,
peer_cte.sql) computes the cohort and its per-user features on the server; the ~6,000 rows come to pandas,
are standardised and clustered with scikit-learn k-means, and each user gets the perk whose index (a weighted sum
of standardised features) is highest. The result (user_id, segment, perk) is written to Parquet so that the
contender's work ends where ours does, in a file.

The approach has no incremental path: refreshing a month means running all of it again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

# The product's cohort defaults (StudySettings); a test holds them equal. Not imported from the product: this
# contender must not pay for importing Dagster, and a peer's script carries its own constants.
COHORT_START = "2023-01-04"
MIN_SESSIONS = 7
SEGMENTS = 5
SQL_PATH = Path(__file__).with_name("peer_cte.sql")
OUTPUT_NAME = "peer_cte_assignments.parquet"

# One index per perk: features (standardised) and their weights, as peers derive them from the perk's story.
PERK_INDICES: dict[str, dict[str, float]] = {
    "free_hotel_meal": {"avg_hotel_price_usd": 0.5, "hotel_only_rate": 0.3, "avg_rooms": 0.2},
    "free_checked_bag": {"avg_bags": 0.6, "avg_distance_km": 0.2, "has_children": 0.2},
    "no_cancellation_fees": {"cancellation_rate": 0.7, "has_children": 0.15, "booking_rate": 0.15},
    "exclusive_discounts": {"discount_used_rate": 0.4, "ads_per_km": 0.3, "avg_flight_discount": 0.3},
    "free_hotel_night_with_flight": {"bundle_rate": 0.5, "avg_nights": 0.3, "married": 0.2},
}


def fetch_features(url: str, cohort_start: str = COHORT_START, min_sessions: int = MIN_SESSIONS) -> pd.DataFrame:
    """The per-user feature table, one row per cohort user, computed by the server in one query."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(SQL_PATH.read_text(), {"cohort_start": cohort_start, "min_sessions": min_sessions})
        columns = [column.name for column in cur.description or ()]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def segment_and_assign(features: pd.DataFrame) -> pd.DataFrame:
    """k-means segments and the argmax perk of every user: (user_id, segment, perk)."""
    x = features.drop(columns="user_id")
    # An average over nothing (no flight, no hotel) is NULL; the cohort's median keeps such a user unremarkable
    # on that feature instead of pulling them to an extreme.
    x = x.fillna(x.median()).fillna(0.0)
    z = pd.DataFrame(StandardScaler().fit_transform(x), columns=x.columns, index=x.index)
    segment = KMeans(n_clusters=min(SEGMENTS, len(z)), n_init=10, random_state=0).fit_predict(z)
    indices = pd.DataFrame(
        {
            perk: sum(weight * z[feature] for feature, weight in weights.items())
            for perk, weights in PERK_INDICES.items()
        }
    )
    perk = np.asarray(list(PERK_INDICES))[indices.to_numpy().argmax(axis=1)]
    return pd.DataFrame({"user_id": features["user_id"].astype("int64"), "segment": segment, "perk": perk})


def run(url: str, workdir: Path) -> Path:
    """The whole contender: query, segments, perks, Parquet; the Parquet's path."""
    assigned = segment_and_assign(fetch_features(url))
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / OUTPUT_NAME
    assigned.to_parquet(out, index=False)
    return out

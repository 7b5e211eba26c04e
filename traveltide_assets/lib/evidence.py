"""Do distinct perk-affinity segments exist? A test that can answer "no".

If customers fall into segments that each favour one perk, a customer strong on one perk's behaviour is, on
average, weaker on the others: the perks' affinity signals are mutually *exclusive*. Without segments, the
signals vary independently from customer to customer. The test therefore measures exclusivity:

* one affinity signal per perk, built only from behaviour no other perk's signal shares (so that mechanical
  couplings, like booking-type shares that must sum to one or long cancellation sessions, cannot fake it),
  rank-transformed to normal scores, then residualised on what drives several behaviours at once without any
  perk preference (family, age, activity, trip length): shared causes would otherwise tie the signals together;
* statistic: minus the mean pairwise correlation of the five signals;
* null reference: each signal permuted independently across customers (same marginals, no dependence), over
  `n_permutations` resamples: effect size (z against the null), one-sided permutation p-value. The resamples are
  drawn in blocks (`permutation_null`): one `Generator.permuted` call shuffles every column of a block, which
  draws exactly what one `Generator.permutation` per column and resample would, in the same order, and one
  batched matrix product gives the block's correlations; memory stays under NULL_BLOCK_BYTES at any cohort size;
* verdict: `segments_exist` when p < alpha; and what the test could see (traveltide_assets/lib/power.py,
  docs/segment_power.md): the shift of each perk's fans on their own perk's signal it detects with 80% power at
  this cohort size, the shift the observed statistic estimates and its upper 95% bound, and in words
  "segments exist", "evidence of none" (upper bound below a meaningful shift) or "no evidence at this size".

Beside it, as description: k-means cluster quality (silhouette, on a fixed sample of SILHOUETTE_SAMPLE customers)
of the same signals against the permuted reference, and cluster stability: mean adjusted Rand index between k-means
fits on bootstrap resamples. The k-means fits run on one OpenMP thread (segmentation.one_thread).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.power import assess_power
from traveltide_assets.lib.scoring import robust_z
from traveltide_assets.lib.segmentation import one_thread

# Behaviour that speaks for one perk only: (feature, weight, log-transform).
EXCLUSIVE_SIGNALS: dict[str, tuple[tuple[str, float, bool], ...]] = {
    "free_checked_bag": (("bags_per_seat", 1.0, False),),
    "no_cancellation_fees": (("cancellation_rate", 1.0, False), ("avg_lead_days", 0.5, True)),
    "exclusive_discounts": (("discount_used_rate", 1.0, False), ("discount_offered_rate", 0.5, False)),
    "free_hotel_meal": (("avg_hotel_per_night_usd", 1.0, True), ("avg_rooms", 0.5, False)),
    "free_hotel_night_with_flight": (("avg_bundle_nights", 1.0, False),),
}
# The night perk's own behaviour is trip length, so it is not adjusted for trip length.
_TRIP_LENGTH_EXEMPT = "free_hotel_night_with_flight"
ALPHA = 0.01
# The silhouettes score a fixed sample of at most this many customers: a silhouette needs the distance of every
# pair of the customers it scores, which over the whole cohort would grow with the cohort's square.
SILHOUETTE_SAMPLE = 2_500
# The permuted signals of one block of the permutation null: 64 MiB, 34 resamples of 48,000 customers (8x the
# real volume) at a time.
NULL_BLOCK_BYTES = 64 * 2**20

METHOD = (
    "Exclusivity test: minus the mean pairwise correlation of five per-perk affinity signals (normal scores of "
    "behaviour unique to each perk, residualised on family, age, activity and trip length), against independent "
    f"per-column permutations; one-sided permutation p-value, segments_exist when p < {ALPHA}. "
    "Power: the shift (in SD) of each perk's fans on their own perk's signal, with five segments of equal size, "
    "detected with 80% power (normal approximation); the observed statistic's estimated shift and its "
    "upper 95% bound: 'evidence of none' when that bound is below 0.5 SD (docs/segment_power.md). "
    "Descriptive: k-means silhouette vs the permuted reference; stability = mean ARI between bootstrap refits."
)


@dataclass(frozen=True)
class Evidence:
    segments_exist: bool
    p_value: float
    effect_size: float  # z of the statistic against the permutation null
    statistic: float
    null_mean: float
    null_sd: float
    silhouette: float
    silhouette_null_mean: float
    stability_ari: float
    users: int
    alpha: float
    n_permutations: int
    n_bootstrap: int
    k: int
    detectable_shift_sd: float  # fans' shift on their own perk's signal detected with `power` (power.py)
    estimated_shift_sd: float
    shift_upper_95_sd: float
    meaningful_shift_sd: float
    users_for_meaningful_shift: int
    power: float
    verdict: str  # "segments exist", "evidence of none" or "no evidence at this size"

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return asdict(self)


def normal_scores(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ranks mapped to standard normal quantiles; ties broken at random so that lumps (e.g. many zeros) spread."""
    jitter = rng.random(values.size)
    order = np.lexsort((jitter, values))
    ranks = np.empty(values.size)
    ranks[order] = np.arange(1, values.size + 1)
    return norm.ppf(ranks / (values.size + 1))


def shared_causes(features: pd.DataFrame) -> np.ndarray:
    """Design matrix of drivers common to many behaviours: family, age, how much the user browses and books."""
    return np.column_stack(
        [
            np.ones(len(features)),
            features["married"].astype(float),
            features["has_children"].astype(float),
            features["age"].astype(float),
            np.log(features["sessions"].astype(float)),
            np.log1p(features["bookings"].astype(float)),
        ]
    )


def _residual(y: np.ndarray, design: np.ndarray) -> np.ndarray:
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ beta


def affinity_signals(features: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """(users x perks) each perk's exclusive behaviour as normal scores, net of shared causes."""
    design = shared_causes(features)
    nights = features["avg_nights"].astype(float)
    with_trip_length = np.column_stack([design, np.log1p(nights.fillna(nights.median()).to_numpy())])
    columns = []
    for perk in PERKS:
        signal = sum(w * robust_z(features[f], log) for f, w, log in EXCLUSIVE_SIGNALS[perk])
        scores = normal_scores(np.asarray(signal, dtype=float), rng)
        columns.append(_residual(scores, design if perk == _TRIP_LENGTH_EXEMPT else with_trip_length))
    return np.column_stack(columns)


def exclusivity(signals: np.ndarray) -> float:
    corr = np.corrcoef(signals, rowvar=False)
    upper = np.triu_indices(corr.shape[0], 1)
    return float(-corr[upper].mean())


def _permuted(signals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One resample of the null: every column permuted on its own (one rng.permutation per column, in order)."""
    return np.column_stack([rng.permutation(signals[:, j]) for j in range(signals.shape[1])])


def permutation_null(signals: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    """exclusivity(_permuted(signals, rng)) for `n_permutations` resamples in turn, computed block by block.

    The columns are centred and scaled to unit length once: a permutation changes neither a column's mean nor its
    length, so each resample's correlation matrix is the Gram matrix of its permuted columns. `rng.permuted` on
    a block of (resample, column) rows shuffles them row after row with the draws `rng.permutation` makes per
    column, so the generator ends in the same state and the values equal the loop's up to rounding (1e-15)."""
    users, perks = signals.shape
    centred = signals - signals.mean(axis=0)
    columns = np.ascontiguousarray((centred / np.sqrt((centred**2).sum(axis=0))).T)  # (perks, users)
    upper = np.triu_indices(perks, 1)
    block = max(1, min(n_permutations, NULL_BLOCK_BYTES // max(columns.nbytes, 1)))
    buffer = np.empty((block, perks, users))  # one block's resamples, reused block after block
    null = np.empty(n_permutations)
    for start in range(0, n_permutations, block):
        size = min(block, n_permutations - start)
        stacked = buffer[:size]
        stacked[...] = columns
        rows = stacked.reshape(size * perks, users)  # row r: column r % perks of resample start + r // perks
        rng.permuted(rows, axis=1, out=rows)
        gram = np.matmul(stacked, stacked.transpose(0, 2, 1))  # (size, perks, perks) correlation matrices
        null[start : start + size] = -gram[:, upper[0], upper[1]].mean(axis=1)
    return null


def _silhouette(x: np.ndarray, k: int, seed: int, sample: int = SILHOUETTE_SAMPLE) -> float:
    with one_thread():
        labels = KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(x)
    idx = np.random.default_rng(seed).choice(x.shape[0], size=min(sample, x.shape[0]), replace=False)
    return float(silhouette_score(x[idx], labels[idx])) if len(set(labels[idx])) > 1 else 0.0


def stability_ari(x: np.ndarray, k: int, n_bootstrap: int, seed: int) -> float:
    """Mean adjusted Rand index between k-means fits on bootstrap resamples, compared on all users."""
    rng = np.random.default_rng(seed)
    labelings = []
    with one_thread():
        for b in range(n_bootstrap):
            rows = rng.choice(x.shape[0], size=x.shape[0], replace=True)
            model = KMeans(n_clusters=k, n_init=2, random_state=seed + b).fit(x[rows])
            labelings.append(model.predict(x))
    scores = [adjusted_rand_score(a, b) for i, a in enumerate(labelings) for b in labelings[i + 1 :]]
    return float(np.mean(scores)) if scores else float("nan")


def assess_segments(
    signals: np.ndarray,
    n_permutations: int = 999,
    n_bootstrap: int = 8,
    alpha: float = ALPHA,
    seed: int = 0,
    k: int = len(PERKS),
    shares: np.ndarray | None = None,
) -> Evidence:
    """The verdict and its figures for a (users x perks) signal matrix; `shares`: the segments' shares assumed
    by the power figures (default equal)."""
    rng = np.random.default_rng(seed)
    observed = exclusivity(signals)
    null = permutation_null(signals, n_permutations, rng)
    p_value = (1 + np.sum(null >= observed)) / (1 + n_permutations)
    sd = float(null.std(ddof=1)) or float("nan")
    effect = (observed - float(null.mean())) / sd
    silhouettes = [_silhouette(_permuted(signals, rng), k, seed + i) for i in range(4)]
    power = assess_power(observed - float(null.mean()), sd, float(p_value), alpha, shares, signals.shape[1])
    return Evidence(
        segments_exist=bool(p_value < alpha),
        p_value=float(p_value),
        effect_size=float(effect),
        statistic=observed,
        null_mean=float(null.mean()),
        null_sd=sd,
        silhouette=_silhouette(signals, k, seed),
        silhouette_null_mean=float(np.mean(silhouettes)),
        stability_ari=stability_ari(signals, k, n_bootstrap, seed),
        users=int(signals.shape[0]),
        alpha=alpha,
        n_permutations=n_permutations,
        n_bootstrap=n_bootstrap,
        k=k,
        **asdict(power),
    )

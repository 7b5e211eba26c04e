"""Generate a synthetic TravelTide source: users, sessions, flights, hotels and the hidden ground truth.

Everything is vectorised numpy on one seeded generator, drawn in a fixed order, so the same seed and
parameters give the same tables. The volumes, rates and quirks follow shared/traveltide-schema.md; the
comments give the real figure each parameter was tuned to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from traveltide_assets.lib.catalog import NO_PERK, PERKS
from traveltide_assets.sources import contract as schema
from traveltide_assets.synthetic.behaviour import draw_behaviour
from traveltide_assets.synthetic.bookings import draw_bookings
from traveltide_assets.synthetic.columns import US_PER_MINUTE, expit, to_decimal
from traveltide_assets.synthetic.mixes import resolve_mix
from traveltide_assets.synthetic.reference import Reference, load_reference

REAL_USERS = 1_020_926
FIRST_SIGN_UP = np.datetime64("2021-04-01", "D")
LAST_SIGN_UP = np.datetime64("2023-07-20", "D")
LAST_SESSION_DAY = np.datetime64("2023-07-28", "D")
SIGN_UPS_PER_YEAR = {2021: 76_000, 2022: 427_000, 2023: 518_000}
MAX_SESSIONS = 17


Progress = Callable[[str], None]


@dataclass(frozen=True)
class GeneratorConfig:
    users: int
    seed: int = 7
    mix: str = "default"
    signal: float = 1.0  # scale of every planted perk effect; 0 = no preference signal at all

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be a positive number, got {self.users}")
        if self.signal < 0:
            raise ValueError(f"signal must be >= 0, got {self.signal}")
        resolve_mix(self.mix)  # fail early on an unknown mix


@dataclass(frozen=True)
class SyntheticSource:
    users: pa.Table
    sessions: pa.Table
    flights: pa.Table
    hotels: pa.Table
    ground_truth: pa.Table
    config: GeneratorConfig  # what made it: recorded beside the embedded store (load.write_parquet_store)

    def source_tables(self) -> dict[str, pa.Table]:
        return {
            "users": self.users,
            "sessions": self.sessions,
            "flights": self.flights,
            "hotels": self.hotels,
        }


@dataclass(frozen=True)
class _Users:
    sign_up: np.ndarray  # datetime64[D]
    birthdate: np.ndarray
    gender: np.ndarray
    married: np.ndarray
    has_children: np.ndarray
    home: np.ndarray  # index into reference.home


def generate_source(config: GeneratorConfig, progress: Progress | None = None) -> SyntheticSource:
    """The synthetic source of `config`, every draw from one generator seeded with config.seed."""
    return generate_with(config, np.random.default_rng(config.seed), progress)


def generate_with(
    config: GeneratorConfig, rng: np.random.Generator, progress: Progress | None = None
) -> SyntheticSource:
    """The synthetic source of `config` drawn from `rng` (slices.py gives each slice of a large source its own)."""
    say = progress or (lambda _msg: None)
    ref = load_reference()
    n = config.users

    say(f"users ({n:,})")
    users = _draw_users(rng, n, ref)
    perk_index = _draw_perks(rng, n, resolve_mix(config.mix))
    behaviour = draw_behaviour(rng, perk_index, users.married, users.has_children, config.signal)

    say("sessions")
    session_user, session_start = _draw_session_times(rng, users)
    say(f"bookings ({session_user.size:,} sessions)")
    data_end = int((LAST_SESSION_DAY + 1).astype("datetime64[us]").astype(np.int64))
    bookings = draw_bookings(rng, ref, session_user, session_start, users.home, behaviour, data_end)

    say("assembling tables")
    return SyntheticSource(
        users=_users_table(users, ref),
        sessions=bookings.sessions,
        flights=bookings.flights,
        hotels=bookings.hotels,
        ground_truth=_ground_truth_table(perk_index),
        config=config,
    )


def _draw_sign_up_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sign-ups grow month over month; each calendar year gets its real share."""
    months = np.arange("2021-04", "2023-08", dtype="datetime64[M]")
    starts = months.astype("datetime64[D]")
    ends = np.minimum((months + 1).astype("datetime64[D]"), LAST_SIGN_UP + 1)
    days = (ends - starts).astype(np.int64)
    weight = np.exp(0.07 * np.arange(months.size)) * days
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    for y, count in SIGN_UPS_PER_YEAR.items():
        weight[year == y] *= count / weight[year == y].sum()
    month = rng.choice(months.size, size=n, p=weight / weight.sum())
    day = starts[month] + (rng.random(n) * days[month]).astype(np.int64)
    return np.sort(day)  # user_id follows sign-up order


# Age: a mixture of two normals (mean, sd in years), fitted to the real cohort's ages (see _draw_users).
_AGE_PEAK = (43.0, 8.0)
_AGE_WIDE = (40.0, 16.0)
_AGE_WIDE_SHARE = 0.5


def _draw_users(rng: np.random.Generator, n: int, ref: Reference) -> _Users:
    sign_up = _draw_sign_up_days(rng, n)
    gender = np.array(["M", "F", "O"], dtype=object)[rng.choice(3, size=n, p=[0.55, 0.44, 0.01])]
    # Ages: half from a narrow peak around 43 and half from a wide spread around 40 (real cohort: median 42,
    # quartiles 35 and 49, 5% and 95% at 20 and 63); anyone born after 2006 is clamped into 2006 (the real data's
    # ~4% spike of minors; 3.6% in the cohort).
    wide = rng.random(n) < _AGE_WIDE_SHARE
    age_years = np.where(wide, rng.normal(*_AGE_WIDE, n), rng.normal(*_AGE_PEAK, n))
    birth = np.datetime64("2023-07-01", "D") - (age_years * 365.25).astype(np.int64)
    clamped = birth > np.datetime64("2006-12-31", "D")
    birth[clamped] = np.datetime64("2006-01-01", "D") + rng.integers(0, 365, clamped.sum())
    birth = np.maximum(birth, np.datetime64("1931-01-01", "D"))
    married = rng.random(n) < expit(-1.12 + 0.05 * (age_years - 25.0))  # real cohort: 43% married
    has_children = rng.random(n) < np.where(married, 0.5, 0.16)
    home = rng.choice(ref.home.iata.size, size=n, p=ref.home.weight)
    return _Users(sign_up, birth, gender, married, has_children, home)


def _draw_perks(rng: np.random.Generator, n: int, mix: dict[str, float]) -> np.ndarray:
    labels = list(mix)
    drawn = rng.choice(len(labels), size=n, p=np.array([mix[k] for k in labels]))
    lookup = np.array([PERKS.index(k) if k != NO_PERK else -1 for k in labels])
    return lookup[drawn]


# Activity. Users visit fairly regularly at a personal rate (sessions per month), most often soon after
# signing up. Tuned so that, as in the real data, users average 5.3 sessions (1-17), and the study cohort
# (more than 7 sessions after 2023-01-04) is 0.59% of users, 88% of them women although the base is 44%:
# women are the heavy users. Regular visits (not Poisson) keep that cohort at 8-12 sessions in the window.
# Nobody visits more often than _MAX_RATE a month: the real cohort's window counts fall steeply past the
# threshold (82% of its customers have 8 sessions, 16% 9, 2% 10, 0.2% more), which an unbounded log-normal rate
# does not give (it gave 62% / 23% / 9% / 5%). The real volume gives 5,987 cohort customers at seed 7.
_SESSION_RATE = {"F": 0.70, "M": 0.52, "O": 0.52}  # the cohort's 'O' are 0.2% (5 of 3,016): as rare as men
_RATE_SPREAD = 0.32  # log-normal sd of the personal rate
_COUNT_JITTER = 0.6  # normal sd around rate * tenure
_EARLY_BIAS = 1.3  # > 1 crowds sessions towards the sign-up date
_MONTH_DAYS = 30.4
_MAX_RATE = 1.3  # sessions a month: at most ~8.8 in the cohort's 6.7-month window, before the jitter


def _draw_session_times(rng: np.random.Generator, users: _Users) -> tuple[np.ndarray, np.ndarray]:
    """Per session: user index and start (µs since epoch), sorted by user then start."""
    n = users.sign_up.size
    tenure_months = ((LAST_SESSION_DAY - users.sign_up).astype(np.int64) + 1) / _MONTH_DAYS
    rate = np.vectorize(_SESSION_RATE.get, otypes=[np.float64])(users.gender)
    rate = np.minimum(rate * np.exp(_RATE_SPREAD * rng.standard_normal(n)), _MAX_RATE)
    expected = rate * tenure_months + _COUNT_JITTER * rng.standard_normal(n)
    count = np.clip(np.round(expected), 1, MAX_SESSIONS).astype(np.int64)
    user = np.repeat(np.arange(n, dtype=np.int64), count)
    # Session k of n falls in the k-th slice of the user's tenure, jittered, then warped towards sign-up.
    rank = np.arange(user.size) - np.repeat(np.cumsum(count) - count, count)
    position = ((rank + rng.random(user.size)) / count[user]) ** _EARLY_BIAS
    offset_days = position * tenure_months[user] * _MONTH_DAYS
    day = users.sign_up[user] + offset_days.astype(np.int64)
    # Time of day: mostly waking hours, peaking in the evening.
    minute = np.mod(rng.normal(15.5 * 60, 4.5 * 60, user.size), 24 * 60)
    start = day.astype("datetime64[us]").astype(np.int64) + (minute * US_PER_MINUTE).astype(np.int64)
    order = np.lexsort((start, user))
    return user[order], start[order]


def _users_table(users: _Users, ref: Reference) -> pa.Table:
    home = users.home
    return pa.table(
        {
            "user_id": pa.array(np.arange(home.size, dtype=np.int32)),
            "birthdate": pa.array(users.birthdate),
            "gender": pa.array(users.gender, pa.string()),
            "married": pa.array(users.married),
            "has_children": pa.array(users.has_children),
            "home_country": pa.array(ref.home.country[home], pa.string()),
            "home_city": pa.array(ref.home.city[home], pa.string()),
            "home_airport": pa.array(ref.home.iata[home], pa.string()),
            "home_airport_lat": to_decimal(ref.home.lat[home], schema.USERS, "home_airport_lat"),
            "home_airport_lon": to_decimal(ref.home.lon[home], schema.USERS, "home_airport_lon"),
            "sign_up_date": pa.array(users.sign_up),
        },
        schema=schema.USERS.arrow_schema,
    )


def _ground_truth_table(perk_index: np.ndarray) -> pa.Table:
    names = np.array([*PERKS, NO_PERK], dtype=object)
    return pa.table(
        {
            "user_id": pa.array(np.arange(perk_index.size, dtype=np.int32)),
            "favourite_perk": pa.array(names[perk_index], pa.string()),  # -1 indexes NO_PERK
        },
        schema=schema.GROUND_TRUTH.arrow_schema,
    )

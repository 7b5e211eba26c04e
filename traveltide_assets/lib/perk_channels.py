"""The perk model's evidence channels: one likelihood per kind of evidence, each with a customer-level random
effect, and which perk's fans each one shifts (docs/perk_model.md).

Each customer belongs to one of five classes, "fan of perk k". A class differs from the others only in the
behaviour its perk is about: fans of the free checked bag check a bag on more of their flights, and so on. Every
channel's likelihood lets customers differ in more than their perk (beta-binomial, Dirichlet-multinomial,
gamma-Poisson, and a normal with a per-customer random effect), so a customer's posterior grows sure only as fast
as their own evidence outweighs ordinary person-to-person variation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import csr_array
from scipy.special import digamma, gammaln

from traveltide_assets.lib.catalog import PERKS

K = len(PERKS)


MAX_SHIFT = 4.0  # log / logit units: far beyond any plausible preference; keeps the optimiser finite


INITIAL_SHIFT = 0.3


Bound = tuple[float, float]


def _perk(name: str) -> int:
    return PERKS.index(name)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Channel:
    """One kind of evidence about some perks, with its parameters.

    The data are rows (distinct count patterns, or customers) with `inverse[user]` the row of each customer;
    `profile[k]` says which parameter profile class k uses (0 = everyone else, j = fans of owners[j-1]).
    """

    name: str
    owners: tuple[int, ...]
    start: np.ndarray
    bounds: list[Bound]
    shifts: list[int]  # positions of the fans' shifts in the parameters (>= 0: fans do more, never less)
    labels: tuple[str, ...]  # a name per parameter, for the metadata

    def _index(self, owners: tuple[int, ...], rows: np.ndarray, n_rows: int) -> None:
        self.owners = owners
        self.profile = np.zeros(K, dtype=np.int64)
        for j, perk in enumerate(owners, start=1):
            self.profile[perk] = j
        self.inverse = rows
        # Where each (customer, class) finds its value in the raveled (rows, profiles) log-likelihood.
        self.profiles = len(owners) + 1
        self.flat = rows[:, None] * self.profiles + self.profile[None, :]
        self.profile_matrix = np.eye(self.profiles)[self.profile]  # (K, profiles): class k uses profile[k]
        # (rows, users): sums the customers who share a row, one sparse product for every class at once.
        self.gather = csr_array((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_rows, rows.size))
        self.rows = n_rows

    def loglik(self, params: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(rows, profiles) log-likelihood and, if asked, its gradient (rows, profiles, parameters)."""
        raise NotImplementedError

    def user_loglik(self, ll: np.ndarray) -> np.ndarray:
        """(users, K) from (rows, profiles)."""
        return ll.ravel().take(self.flat)

    def row_weights(self, resp: np.ndarray) -> np.ndarray:
        """(rows, profiles): posterior weight of each row and profile, summed over the customers sharing it."""
        return (self.gather @ resp) @ self.profile_matrix

    def describe(self, params: np.ndarray) -> dict[str, float]:
        return {label: round(float(value), 4) for label, value in zip(self.labels, self.natural(params), strict=True)}

    def natural(self, params: np.ndarray) -> np.ndarray:
        """Parameters on the scale the metadata shows (rates, concentrations) instead of logits and logs."""
        return params


class _CountChannel(Channel):
    """Customers with the same counts share a likelihood: the rows are the distinct patterns (a few hundred at
    most), so the work per step does not grow with the cohort."""

    def _patterns(self, owners: tuple[int, ...], data: np.ndarray) -> None:
        self.patterns, rows = np.unique(data.astype(np.int64), axis=0, return_inverse=True)
        self._index(owners, rows.reshape(-1), len(self.patterns))


class BetaBinomial(_CountChannel):
    """x successes in n trials; each customer's own rate is beta-distributed around their class's mean."""

    labels = ("base_rate", "fan_logit_shift", "concentration")

    def __init__(self, name: str, owner: int, successes: np.ndarray, trials: np.ndarray) -> None:
        self.name = name
        self._patterns((owner,), np.column_stack([successes, trials]))
        rate = float(np.clip(successes.sum() / max(trials.sum(), 1), 1e-4, 1 - 1e-4))
        self.start = np.array([np.log(rate / (1 - rate)), INITIAL_SHIFT, np.log(20.0)])
        self.bounds = [(-12.0, 12.0), (0.0, MAX_SHIFT), (-3.0, 9.0)]
        self.shifts = [1]

    def loglik(self, params: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x, n = self.patterns[:, :1].astype(float), self.patterns[:, 1:].astype(float)
        fan = np.arange(2.0)
        mean = _expit(params[0] + params[1] * fan)
        phi = np.exp(params[2])
        a, b = mean * phi, (1 - mean) * phi
        ll = gammaln(x + a) + gammaln(n - x + b) - gammaln(n + phi) - gammaln(a) - gammaln(b) + gammaln(phi)
        if not grad:
            return ll, None
        common = digamma(phi) - digamma(n + phi)
        da = digamma(x + a) - digamma(a) + common
        db = digamma(n - x + b) - digamma(b) + common
        d_eta = (da - db) * phi * mean * (1 - mean)
        return ll, np.stack([d_eta, d_eta * fan, da * a + db * b], axis=2)

    def natural(self, params: np.ndarray) -> np.ndarray:
        return np.array([_expit(params[0]), params[1], np.exp(params[2])])


class GammaPoisson(_CountChannel):
    """x events over an exposure (rooms beyond the first over stays); each customer's own rate is gamma-distributed."""

    labels = ("base_rate", "fan_log_shift", "shape")

    def __init__(self, name: str, owner: int, events: np.ndarray, exposure: np.ndarray) -> None:
        self.name = name
        self._patterns((owner,), np.column_stack([events, exposure]))
        rate = max(float(events.sum()) / max(float(exposure.sum()), 1.0), 1e-3)
        self.start = np.array([np.log(rate), INITIAL_SHIFT, np.log(2.0)])
        self.bounds = [(-10.0, 5.0), (0.0, MAX_SHIFT), (-4.0, 9.0)]
        self.shifts = [1]

    def loglik(self, params: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x, exposure = self.patterns[:, :1].astype(float), self.patterns[:, 1:].astype(float)
        seen = exposure > 0  # with no exposure the count is 0 and says nothing (log 1 = 0)
        fan = np.arange(2.0)
        mean = np.where(seen, exposure, 1.0) * np.exp(params[0] + params[1] * fan)
        r = np.exp(params[2])
        ll = gammaln(x + r) - gammaln(r) + r * np.log(r / (r + mean)) + x * np.log(mean / (r + mean))
        ll = np.where(seen, ll, 0.0)
        if not grad:
            return ll, None
        d_eta = np.where(seen, x - (r + x) * mean / (r + mean), 0.0)
        d_log_r = r * (digamma(x + r) - digamma(r) + np.log(r / (r + mean)) + 1 - (r + x) / (r + mean))
        return ll, np.stack([d_eta, d_eta * fan, np.where(seen, d_log_r, 0.0)], axis=2)

    def natural(self, params: np.ndarray) -> np.ndarray:
        return np.array([np.exp(params[0]), params[1], np.exp(params[2])])


class DirichletMultinomial(_CountChannel):
    """How bookings split into flight + hotel, flight only and hotel only; each customer's own split is
    Dirichlet-distributed around their class's. Each of three perks owns one booking type."""

    labels = ("flight_only_logit", "hotel_only_logit", "bundle_shift", "flight_only_shift", "hotel_only_shift",
              "concentration")  # fmt: skip

    def __init__(self, name: str, counts: np.ndarray, owners: tuple[int, int, int]) -> None:
        self.name = name
        self._patterns(owners, counts)
        shares = (counts.sum(axis=0) + 1.0) / (counts.sum() + 3.0)
        self.start = np.array([*np.log(shares[1:] / shares[0]), *[INITIAL_SHIFT] * 3, np.log(10.0)])
        self.bounds = [(-10.0, 10.0), (-10.0, 10.0), *[(0.0, MAX_SHIFT)] * 3, (-3.0, 9.0)]
        self.shifts = [2, 3, 4]

    def loglik(self, params: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        # Profiles: everyone else, then fans of the owner of booking type j (their type's logit + shift j).
        logits = np.tile(np.array([0.0, params[0], params[1]]), (4, 1)) + np.vstack([np.zeros(3), np.diag(params[2:5])])
        share = np.exp(logits - logits.max(axis=1, keepdims=True))
        share /= share.sum(axis=1, keepdims=True)
        phi = np.exp(params[5])
        alpha = phi * share  # (profiles, types)
        x = self.patterns[:, None, :].astype(float)  # (rows, 1, types)
        total = x.sum(axis=2)
        ll = gammaln(phi) - gammaln(total + phi) + (gammaln(x + alpha) - gammaln(alpha)).sum(axis=2)
        if not grad:
            return ll, None
        g = digamma(x + alpha) - digamma(alpha) + (digamma(phi) - digamma(total + phi))[:, :, None]
        ga = g * alpha  # d ll / d log alpha_c
        # d log alpha_c / d logit_j = [c == j] - share_j, so d ll / d logit_j = ga_j - share_j * sum_c ga_c.
        d_logit = ga - share[None, :, :] * ga.sum(axis=2, keepdims=True)
        out = np.zeros((*ll.shape, 6))
        out[:, :, 0], out[:, :, 1] = d_logit[:, :, 1], d_logit[:, :, 2]
        for j in range(3):
            out[:, j + 1, 2 + j] = d_logit[:, j + 1, j]
        out[:, :, 5] = ga.sum(axis=2)
        return ll, out

    def natural(self, params: np.ndarray) -> np.ndarray:
        return np.array([*params[:5], np.exp(params[5])])


class RandomEffectNormal(Channel):
    """A customer's mean value (a mean of n log-values, or a precision-weighted mean): normal around their
    class's mean with variance tau^2 + noise (tau: how much customers differ, estimated; noise: the sampling
    variance of the customer's own mean). A customer with no values has no row and says nothing.

    The values are standardised by their spread across customers: a fare per km varies by a few percent, a
    room price by half its size, and on one scale the optimiser steps alike in every channel."""

    labels = ("base_mean_log", "fan_shift_log", "between_customer_sd")

    def __init__(self, name: str, owner: int, has: np.ndarray, mean: np.ndarray, noise: np.ndarray) -> None:
        self.name = name
        count = int(has.sum())
        self.scale = float(np.sqrt(max(mean.var(), 1e-12))) if count > 1 else 1.0
        self.mean, self.noise = mean / self.scale, noise / self.scale**2
        rows = np.full(has.size, count, dtype=np.int64)  # customers without values point at a row of zeros
        rows[has] = np.arange(count)
        self._index((owner,), rows, count + 1)
        centre = float(self.mean.mean()) if count else 0.0
        spread = float(self.mean.var() - self.noise.mean()) if count > 1 else 1.0
        self.start = np.array([centre, INITIAL_SHIFT, np.log(max(spread, 1e-4))])
        self.bounds = [(-1e4, 1e4), (0.0, MAX_SHIFT), (-14.0, 5.0)]
        self.shifts = [1]
        self.within_sd: float | None = None
        self._ll = np.zeros((count + 1, 2))
        self._grad = np.zeros((count + 1, 2, 3))

    @classmethod
    def of_sums(
        cls, name: str, owner: int, n: np.ndarray, total: np.ndarray, sumsq: np.ndarray, sign: float = 1.0
    ) -> RandomEffectNormal:
        """From each customer's count, sum and sum of squares; the within-customer variance is pooled over the
        cohort. `sign` -1 turns "fans do less" (pay less) into the model's "fans do more"."""
        has = n > 0
        count = n[has].astype(float)
        within = np.clip(sumsq[has] - total[has] ** 2 / count, 0.0, None)
        dof = float((count - 1).sum())
        sigma2 = float(within.sum() / dof) if dof > 0 else 1.0
        channel = cls(name, owner, has, sign * total[has] / count, sigma2 / count)
        channel.within_sd = float(np.sqrt(sigma2))
        return channel

    @classmethod
    def of_weighted(cls, name: str, owner: int, weight: np.ndarray, weighted_sum: np.ndarray) -> RandomEffectNormal:
        """From each customer's sum of weights (1 / variance of each value) and weighted sum: the weighted
        mean has variance 1 / weight."""
        has = weight > 0
        return cls(name, owner, has, weighted_sum[has] / weight[has], 1.0 / weight[has])

    def loglik(self, params: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        m = self.mean.size
        tau2 = np.exp(params[2])
        var = tau2 + self.noise
        resid = self.mean[:, None] - (params[0] + params[1] * np.arange(2.0))
        z2 = resid**2 / var[:, None]
        # The last row stays 0: customers without values. The constant log(scale) per customer is left out:
        # it is the same for every class and every parameter.
        np.multiply(-0.5, np.log(2 * np.pi * var)[:, None] + z2, out=self._ll[:m])
        if not grad:
            return self._ll, None
        d_mu = resid / var[:, None]
        self._grad[:m, :, 0] = d_mu
        self._grad[:m, 1, 1] = d_mu[:, 1]
        self._grad[:m, :, 2] = 0.5 * tau2 * (z2 - 1) / var[:, None]
        return self._ll, self._grad

    def natural(self, params: np.ndarray) -> np.ndarray:
        return np.array([params[0], params[1], np.sqrt(np.exp(params[2]))]) * self.scale

    def describe(self, params: np.ndarray) -> dict[str, float]:
        extra = {} if self.within_sd is None else {"within_customer_sd": round(self.within_sd, 4)}
        return {**super().describe(params), **extra}


def build_channels(evidence: pd.DataFrame) -> list[Channel]:
    """The model's evidence channels from a perk_evidence frame (sql/perks/perk_evidence.sql)."""
    e = {c: evidence[c].to_numpy() for c in evidence.columns}
    bag, cancel, discount = _perk("free_checked_bag"), _perk("no_cancellation_fees"), _perk("exclusive_discounts")
    meal, night = _perk("free_hotel_meal"), _perk("free_hotel_night_with_flight")
    types = np.column_stack([e["bundle_bookings"], e["flight_only_bookings"], e["hotel_only_bookings"]])
    return [
        DirichletMultinomial("booking_types", types, (night, bag, meal)),
        BetaBinomial("flights_with_checked_bags", bag, e["flights_with_bags"], e["flights"]),
        BetaBinomial("cancelled_bookings", cancel, e["cancelled_bookings"], e["bookings"]),
        BetaBinomial("trips_booked_well_ahead", cancel, e["trips_booked_well_ahead"], e["dated_trips"]),
        BetaBinomial("discount_when_booking", discount, e["discounted_bookings"], e["bookings"]),
        BetaBinomial("discount_when_browsing", discount, e["discounted_browsing_sessions"], e["browsing_sessions"]),
        RandomEffectNormal.of_weighted("log_session_minutes", discount, e["pace_weight"], e["pace_weighted_sum"]),
        # Fans of discounts pay less: the sign turns it into "more", the direction every shift takes.
        RandomEffectNormal.of_sums(
            "log_fare_per_km_paid_less", discount, e["fare_n"], e["fare_sum"], e["fare_sumsq"], sign=-1.0
        ),
        RandomEffectNormal.of_sums("log_room_price", meal, e["price_n"], e["price_sum"], e["price_sumsq"]),
        GammaPoisson("extra_rooms_per_stay", meal, e["extra_rooms"], e["room_stays"]),
        RandomEffectNormal.of_sums("log_bundle_nights", night, e["nights_n"], e["nights_sum"], e["nights_sumsq"]),
    ]

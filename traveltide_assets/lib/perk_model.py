"""Favourite-perk probabilities: a latent-class model fitted by maximum likelihood on each customer's counts.

Each customer belongs to one of five classes, "fan of perk k". A class differs from the others only in the
behaviour its perk is about (the channels in `build_channels`): fans of the free checked bag check a bag on
more of their flights, and so on. Every channel's likelihood lets customers differ in more than their perk
(beta-binomial, Dirichlet-multinomial, gamma-Poisson, and a normal with a per-customer random effect), so a
customer's posterior grows sure only as fast as their own evidence outweighs ordinary person-to-person
variation: one flight with a bag is weak evidence, six flights with bags stronger.

The model learns only from the rows it is given (never a planted truth): the direction of each effect is the
hypothesis (fans do more of their perk's behaviour, never less), its size is estimated. The marginal
likelihood is maximised by L-BFGS-B with the exact gradient, which by Fisher's identity is the gradient of
EM's expected complete-data likelihood at the current posteriors: EM's fixed point, reached in tens of steps
instead of hundreds. Reasons and derivations: docs/perk_model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.sparse import csr_array
from scipy.special import digamma, gammaln
from threadpoolctl import threadpool_limits

from traveltide_assets.lib.catalog import PERKS

K = len(PERKS)
MAX_SHIFT = 4.0  # log / logit units: far beyond any plausible preference; keeps the optimiser finite
INITIAL_SHIFT = 0.3
Bound = tuple[float, float]


def _perk(name: str) -> int:
    return PERKS.index(name)


def _log_shares(logits: np.ndarray) -> np.ndarray:
    """log softmax of the five share logits (SciPy's general logsumexp costs more than the rest of this)."""
    top = logits.max()
    return logits - (top + np.log(np.exp(logits - top).sum()))


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
    """The model's evidence channels from a perk_evidence frame (sql/perk_evidence.sql)."""
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


@dataclass(frozen=True)
class ModelOptions:
    max_iterations: int = 500  # L-BFGS-B iterations
    tolerance: float = 1e-9  # relative change of the log-likelihood at which the fit stops
    # Weak priors that keep a weakly separated mixture away from its degenerate solutions (docs/perk_model.md):
    # pseudo-customers spread evenly over the classes, as a share of the cohort, and a half-normal on each shift.
    share_prior_fraction: float = 0.1
    shift_prior_sd: float = 1.0


@dataclass
class PerkModel:
    probabilities: np.ndarray  # (users, K): the posterior probability that each perk is the favourite
    class_shares: np.ndarray  # (K,): the estimated share of fans of each perk
    log_likelihood: float
    one_class_log_likelihood: float  # the same channels with every fan shift held at 0
    iterations: int
    converged: bool
    parameters: dict[str, dict[str, float]]
    n_parameters: int
    n_shifts: int  # of n_parameters, the fans' shifts (held at 0 without classes)
    users: int

    def bic(self) -> float:
        return float(-2 * self.log_likelihood + self.n_parameters * np.log(max(self.users, 1)))

    def one_class_bic(self) -> float:
        free = self.n_parameters - (K - 1) - self.n_shifts
        return float(-2 * self.one_class_log_likelihood + free * np.log(max(self.users, 1)))


class _Objective:
    """Minus the log marginal likelihood (plus the shares' Dirichlet prior) of all channels, and its gradient."""

    def __init__(self, channels: list[Channel], users: int, options: ModelOptions) -> None:
        self.channels, self.users = channels, users
        self.prior = options.share_prior_fraction * users / K  # Dirichlet pseudo-customers per class
        self.shift_precision = 1.0 / options.shift_prior_sd**2
        self.slices, start = [], 0
        for c in channels:
            self.slices.append(slice(start, start + len(c.start)))
            start += len(c.start)
        self.share_slice = slice(start, start + K)
        self.shift_positions = np.array(
            [s.start + i for c, s in zip(channels, self.slices, strict=True) for i in c.shifts]
        )

    def pack(self) -> tuple[np.ndarray, list[Bound]]:
        theta = np.concatenate([*(c.start for c in self.channels), np.zeros(K)])
        bounds = [b for c in self.channels for b in c.bounds] + [(0.0, 0.0)] + [(-20.0, 20.0)] * (K - 1)
        return theta, bounds

    def posterior(self, theta: np.ndarray, grad: bool) -> tuple[float, np.ndarray, list]:
        """(log posterior up to constants, responsibilities, each channel's gradient rows or None)."""
        logits = theta[self.share_slice]
        joint = np.tile(_log_shares(logits), (self.users, 1))
        parts = []
        for c, s in zip(self.channels, self.slices, strict=True):
            ll, g = c.loglik(theta[s], grad)
            joint += c.user_loglik(ll)
            parts.append(g)
        top = joint.max(axis=1, keepdims=True)
        resp = np.exp(joint - top)
        norm = resp.sum(axis=1, keepdims=True)
        resp /= norm
        total = np.log(norm[:, 0]) + top[:, 0]
        return float(total.sum()) + self.log_prior(theta), resp, parts

    def log_prior(self, theta: np.ndarray) -> float:
        """The shares' Dirichlet prior and the shifts' half-normal prior, up to constants."""
        logits = theta[self.share_slice]
        shifts = theta[self.shift_positions]
        return self.prior * float(_log_shares(logits).sum()) - 0.5 * self.shift_precision * float(shifts @ shifts)

    def log_likelihood(self, theta: np.ndarray) -> float:
        """The marginal log-likelihood alone, without the priors."""
        value, _, _ = self.posterior(theta, grad=False)
        return value - self.log_prior(theta)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, resp, parts = self.posterior(theta, grad=True)
        gradient = np.zeros_like(theta)
        for c, s, g in zip(self.channels, self.slices, parts, strict=True):
            gradient[s] = np.einsum("rp,rpk->k", c.row_weights(resp), g)  # Fisher's identity
        shares = np.exp(_log_shares(theta[self.share_slice]))
        gradient[self.share_slice] = resp.sum(axis=0) - self.users * shares + self.prior * (1 - K * shares)
        gradient[self.shift_positions] -= self.shift_precision * theta[self.shift_positions]
        return -value, -gradient


def fit_perk_model(evidence: pd.DataFrame, options: ModelOptions | None = None) -> PerkModel:
    """Fit the five-class model and return every customer's posterior probability of each favourite perk."""
    opts = options or ModelOptions()
    if evidence.empty:  # an empty cohort: nothing to fit, nothing to assign
        return PerkModel(np.zeros((0, K)), np.full(K, 1.0 / K), 0.0, 0.0, 0, True, {}, 0, 0, 0)
    channels = build_channels(evidence)
    objective = _Objective(channels, len(evidence), opts)
    theta, bounds = objective.pack()
    # The quasi-Newton's own linear algebra is on a few dozen parameters: BLAS threads only contend for the
    # cores (on a busy 2-core machine they made L-BFGS-B's steps, in the one-class fits too, half of the time).
    with threadpool_limits(limits=1, user_api="blas"):
        one_class, one_class_log_likelihood = _fit_one_class(objective, theta, bounds, opts)
        theta = one_class.copy()
        for c, s in zip(channels, objective.slices, strict=True):
            theta[s][c.shifts] = INITIAL_SHIFT  # the mixture starts from the one-class fit with small shifts
        result = minimize(
            objective, theta, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": opts.max_iterations, "ftol": opts.tolerance, "gtol": 1e-6},
        )  # fmt: skip
    _, resp, _ = objective.posterior(result.x, grad=False)
    shares = np.exp(_log_shares(result.x[objective.share_slice]))
    return PerkModel(
        probabilities=resp,
        class_shares=shares,
        log_likelihood=objective.log_likelihood(result.x),
        one_class_log_likelihood=one_class_log_likelihood,
        iterations=int(result.nit),
        converged=bool(result.success),
        parameters={c.name: c.describe(result.x[s]) for c, s in zip(channels, objective.slices, strict=True)},
        n_parameters=len(theta) - 1,
        n_shifts=len(objective.shift_positions),
        users=len(evidence),
    )


def _fit_one_class(objective: _Objective, theta: np.ndarray, bounds: list[Bound], opts: ModelOptions) -> tuple:
    """The same channels with every fan shift held at 0: no classes at all. Each channel then fits on its own
    (its rows weighted by how many customers share them). Its fit is the mixture's starting point, and its
    likelihood the segment question's likelihood-based second opinion. Returns (parameters, log-likelihood)."""
    start, total = theta.copy(), 0.0
    for c, s in zip(objective.channels, objective.slices, strict=True):
        customers = np.bincount(c.inverse, minlength=c.rows).astype(float)
        fixed = list(bounds[s])
        for i in c.shifts:
            fixed[i] = (0.0, 0.0)
        params = start[s].copy()
        params[c.shifts] = 0.0

        def alone(p: np.ndarray, c: Channel = c, customers: np.ndarray = customers) -> tuple[float, np.ndarray]:
            ll, grad = c.loglik(p, grad=True)
            return -float(customers @ ll[:, 0]), -(customers @ grad[:, 0, :])

        fit = minimize(alone, params, jac=True, method="L-BFGS-B", bounds=fixed,
                       options={"maxiter": opts.max_iterations, "ftol": opts.tolerance})  # fmt: skip
        start[s] = fit.x
        total -= float(fit.fun)
    return start, total

"""Favourite-perk probabilities: a latent-class model fitted by maximum likelihood on each customer's counts.

Each customer belongs to one of five classes, "fan of perk k"; the evidence and its likelihoods are the channels
of perk_channels.py. One flight with a bag is weak evidence, six flights with bags stronger.

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
from threadpoolctl import threadpool_limits

from traveltide_assets.lib.perk_channels import INITIAL_SHIFT, Bound, Channel, K, build_channels


def _log_shares(logits: np.ndarray) -> np.ndarray:
    """log softmax of the five share logits (SciPy's general logsumexp costs more than the rest of this)."""
    top = logits.max()
    return logits - (top + np.log(np.exp(logits - top).sum()))


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

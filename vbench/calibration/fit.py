"""The fits: linear least squares for energy coefficients, bounded nonlinear least squares for
integer timing parameters, and leave-one-out cross-validation of both.

All residuals are relative, (predicted - measured) / measured, so rows of different size (a
2 ms and a 1 s inference, an energy and a power) weigh the same and errors read as percentages.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vbench.calibration.params import FreeParam
from vbench.errors import VbenchError

RANK_RTOL = 1e-9  # a singular value below this fraction of the largest is a linear dependence


class CalibrationRefused(VbenchError):
    """The data cannot determine the parameters asked for, or wants them outside their bounds."""

    exit_code = 1


# ====================================================================== linear (energy)


@dataclass
class LinearFit:
    values: np.ndarray            # fitted parameter values
    stderr: np.ndarray            # standard errors (nan without spare rows)
    rank: int
    condition: float              # of the column-scaled, weighted design matrix
    predicted: np.ndarray         # per row
    cv_predicted: np.ndarray      # leave-one-out prediction per row (nan where a fold cannot be fitted)
    cv_note: str = ""


def _scaled(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = A / y[:, None]
    norms = np.linalg.norm(W, axis=0)
    norms[norms == 0] = 1.0
    return W / norms, norms


def rank_of(A: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    Ws, _ = _scaled(A, y)
    s = np.linalg.svd(Ws, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0, math.inf
    rank = int(np.sum(s > RANK_RTOL * s[0]))
    return rank, float(s[0] / s[-1]) if s[-1] > 0 else math.inf


def _solve(A: np.ndarray, offset: np.ndarray, y: np.ndarray) -> np.ndarray:
    Ws, norms = _scaled(A, y)
    b = (y - offset) / y
    x, *_ = np.linalg.lstsq(Ws, b, rcond=None)
    return x / norms


def linear_fit(A: np.ndarray, offset: np.ndarray, y: np.ndarray, params: list[FreeParam]) -> LinearFit:
    """Minimise sum(((offset + A x - y) / y)^2); refuse when the rows cannot determine x."""
    n, k = A.shape
    zero = [p.name for p, col in zip(params, A.T) if not np.any(col)]
    if zero:
        raise CalibrationRefused(f"{', '.join(zero)}: no row exercises it (its feature is zero in every row used), "
                                 f"so the data cannot determine it")
    rank, cond = rank_of(A, y)
    if rank < k:
        raise CalibrationRefused(
            f"{n} row(s) with an energy or power measurement give {rank} independent equation(s) for {k} "
            f"energy parameter(s) ({', '.join(p.name for p in params)}): add rows that exercise the parameters "
            f"differently (other firmware, clocks or flash settings) or fit fewer parameters")
    x = _solve(A, offset, y)
    pred = offset + A @ x
    stderr = np.full(k, np.nan)
    if n > k:
        r = (pred - y) / y
        s2 = float(r @ r) / (n - k)
        Wy = A / y[:, None]
        try:
            cov = s2 * np.linalg.inv(Wy.T @ Wy)
            stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            pass
    cv = np.full(n, np.nan)
    notes = []
    for i in range(n):
        keep = np.arange(n) != i
        if n - 1 < k or rank_of(A[keep], y[keep])[0] < k:
            notes.append(i)
            continue
        xi = _solve(A[keep], offset[keep], y[keep])
        cv[i] = offset[i] + A[i] @ xi
    note = ""
    if len(notes) == n:
        note = f"leave-one-out needs more than {k} independent rows; none of the {n} folds can be fitted"
    elif notes:
        note = f"{len(notes)} of {n} folds cannot be fitted (too few independent rows without the held-out one)"
    return LinearFit(x, stderr, rank, cond, pred, cv, note)


# ====================================================================== nonlinear (timing)


@dataclass
class TimingFit:
    values: tuple[int, ...]            # fitted integer values
    continuous: tuple[float, ...]      # the bounded least-squares optimum before rounding to the grid
    predicted: np.ndarray              # latency per timing row at the fitted values
    cv_predicted: np.ndarray
    cost: float
    nfev: int
    simulations: int
    cv_note: str = ""
    notes: list[str] = field(default_factory=list)


class _Grid:
    """Latencies of the timing rows at integer parameter values, simulated on demand and kept."""

    def __init__(self, params: list[FreeParam], evaluate: Callable[[tuple[int, ...], int], float], n_rows: int):
        self.params, self.evaluate, self.n = params, evaluate, n_rows
        self.known: dict[tuple[int, ...], np.ndarray] = {}

    def at(self, values: tuple[int, ...]) -> np.ndarray:
        if values not in self.known:
            self.known[values] = np.array([self.evaluate(values, i) for i in range(self.n)], dtype=float)
        return self.known[values]

    def value_of(self, k: int, u: float) -> float:
        dom = self.params[k].domain
        i = min(int(math.floor(u)), len(dom) - 2) if len(dom) > 1 else 0
        if len(dom) == 1:
            return float(dom[0])
        f = u - i
        return dom[i] * (1 - f) + dom[i + 1] * f

    def interp(self, u: np.ndarray) -> np.ndarray:
        """Multilinear interpolation between the grid's integer nodes (u in index space)."""
        corners = []
        for k, uk in enumerate(u):
            dom = self.params[k].domain
            i0 = min(max(int(math.floor(uk)), 0), len(dom) - 1)
            i1 = min(i0 + 1, len(dom) - 1)
            f = uk - i0 if i1 != i0 else 0.0
            corners.append(((i0, 1.0 - f), (i1, f)) if f > 0 else ((i0, 1.0),))
        out = np.zeros(self.n)
        for combo in itertools.product(*corners):
            w = math.prod(c[1] for c in combo)
            if w == 0:
                continue
            out += w * self.at(tuple(self.params[k].domain[c[0]] for k, c in enumerate(combo)))
        return out


def _fit_subset(grid: _Grid, y: np.ndarray, idx: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], int]:
    from scipy.optimize import least_squares

    params = grid.params
    hi = np.array([len(p.domain) - 1 for p in params], dtype=float)
    if np.all(hi == 0):
        node = tuple(p.domain[0] for p in params)
        return np.zeros(len(params)), node, 0

    def resid(u):
        return (grid.interp(u)[idx] - y[idx]) / y[idx]

    lo = np.zeros(len(params))
    res = least_squares(resid, np.clip(x0, lo, hi), bounds=(lo, hi + 1e-12), method="trf", diff_step=1e-3,
                        x_scale=1.0, max_nfev=200)
    u = np.clip(res.x, lo, hi)

    # Integer polish: the grid's nodes are the only values the simulator takes.
    def cost(ix):
        r = (grid.at(tuple(params[k].domain[i] for k, i in enumerate(ix)))[idx] - y[idx]) / y[idx]
        return float(r @ r)

    best = tuple(int(round(v)) for v in u)
    cands = itertools.product(*[sorted({int(math.floor(v)), int(math.ceil(v))}) for v in u])
    best = min([best, *cands], key=cost)
    improved = True
    while improved:
        improved = False
        for k in range(len(params)):
            for step in (-1, 1):
                nb = list(best)
                nb[k] += step
                if 0 <= nb[k] <= hi[k] and cost(tuple(nb)) < cost(best) - 1e-15:
                    best, improved = tuple(nb), True
    return u, tuple(params[k].domain[i] for k, i in enumerate(best)), res.nfev


def timing_fit(params: list[FreeParam], y: np.ndarray, evaluate: Callable[[tuple[int, ...], int], float],
               current: tuple[float, ...]) -> TimingFit:
    """Bounded nonlinear least squares (scipy trf) on the multilinear interpolation of the simulated
    latencies between integer nodes, then the best integer node around the optimum; leave-one-out
    refits on the same simulations."""
    n, k = len(y), len(params)
    if n < k:
        raise CalibrationRefused(f"{n} row(s) with a measured latency for {k} timing parameter(s) "
                                 f"({', '.join(p.name for p in params)}): a fit needs at least as many rows as "
                                 f"parameters")
    grid = _Grid(params, evaluate, n)
    x0 = np.array([float(np.argmin([abs(d - c) for d in p.domain])) for p, c in zip(params, current)])
    idx = np.arange(n)
    u, node, nfev = _fit_subset(grid, y, idx, x0)
    pred = grid.at(node)
    notes = []
    # Identifiable at all? A parameter that moves no latency cannot be fitted.
    for j, p in enumerate(params):
        pos = p.domain.index(node[j])
        neighbours = [p.domain[i] for i in (pos - 1, pos + 1) if 0 <= i < len(p.domain)]
        moved = False
        for v in neighbours:
            alt = list(node)
            alt[j] = v
            moved |= bool(np.any(np.abs(grid.at(tuple(alt)) - pred) > 1e-12 * np.abs(pred)))
        if neighbours and not moved:
            raise CalibrationRefused(f"{p.name} does not change the simulated latency of any row with a measured "
                                     f"latency, so the data cannot determine it")
    # Does the data pull a parameter past the end of its published range? Then refuse, not clip.
    cost_best = float(np.sum(((pred - y) / y) ** 2))
    for j, p in enumerate(params):
        if not p.domain_is_range:
            continue
        for end, beyond in ((p.domain[0], p.domain[0] - 1), (p.domain[-1], p.domain[-1] + 1)):
            if node[j] != end or beyond < 0:
                continue
            alt = list(node)
            alt[j] = beyond
            r = (grid.at(tuple(alt)) - y) / y
            c = float(r @ r)
            if c < cost_best * (1 - 1e-6) - 1e-18:
                raise CalibrationRefused(
                    f"{p.name}: the data fit better at {beyond} than at {end}, outside its bounds {p.bounds_text} "
                    f"({p.bounds_source}); rejected rather than clipped (residual sum of squares {c:.3g} vs "
                    f"{cost_best:.3g})")
    cv = np.full(n, np.nan)
    cv_note = ""
    if n - 1 < k:
        cv_note = f"leave-one-out needs more than {k} rows with a measured latency"
    else:
        for i in range(n):
            keep = idx[idx != i]
            _, node_i, _ = _fit_subset(grid, y, keep, np.array(u))
            cv[i] = grid.at(node_i)[i]
    continuous = tuple(grid.value_of(j, u[j]) for j in range(k))
    return TimingFit(node, continuous, pred, cv, cost_best, nfev, len(grid.known) * n, cv_note, notes)

"""Parametric learning-curve families, fitted to many curves at once.

After Domhan, Springenberg & Hutter (IJCAI 2015): each family is a small parametric
model of accuracy against epoch; a curve's extrapolation is a weighted combination of
the families' extrapolations. MCMC is replaced by a deterministic fit: every family is
written so that, for fixed *shape* parameters ``theta``, it is linear in its remaining
parameters (variable projection). The shape parameters are searched on a fixed grid;
for each grid point the linear parameters of every curve come from one batched
weighted least-squares solve. So fitting is a handful of ``einsum`` calls over
``(curves, grid, epochs)`` -- thousands of curves fit in well under a second -- and is
deterministic (no random restarts, no failed optimiser runs).

Time is rescaled to ``s = epoch / target_epoch`` so that ``s = 1`` is the epoch being
predicted and the same grids serve any epoch range. Families are combined with weights
``exp(-BIC / 2)`` (a Laplace-style approximation of Domhan's posterior weights).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from surrogates.errors import SurrogateInputError

#: basis(s, t, theta) -> (G, E, p): the linear-parameter design for every grid point.
Basis = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CurveFamily:
    """One parametric family ``y(s) = sum_j beta_j * basis_j(s; theta)``.

    Attributes:
        name: registry name.
        basis: ``(s (E,), t (E,), theta (G, q)) -> (G, E, p)``; ``s`` is epoch over the
            target epoch, ``t`` the raw epoch.
        grid: float ``(G, q)`` shape-parameter values searched (``q`` may be 0).
        log_space: fit ``log(y)`` instead of ``y`` (vapour pressure); needs ``y > 0``.
        formula: human-readable formula.
    """

    name: str
    basis: Basis = field(repr=False)
    grid: np.ndarray = field(repr=False)
    n_linear: int = 2
    log_space: bool = False
    formula: str = ""

    @property
    def n_params(self) -> int:
        """Linear plus shape parameters (used for eligibility and BIC)."""
        return self.n_linear + self.grid.shape[1]


def _grid(*axes: np.ndarray) -> np.ndarray:
    if not axes:
        return np.zeros((1, 0))
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def _pow3(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    a = th[:, 0:1]
    return np.stack([np.ones((len(th), len(s))), -(s[None, :] ** -a)], axis=-1)


def _pow4(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    d, a = th[:, 0:1], th[:, 1:2]
    return np.stack([np.ones((len(th), len(s))), -((s[None, :] + d) ** -a)], axis=-1)


def _log_power(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    m, c = th[:, 0:1], th[:, 1:2]
    return (1.0 / (1.0 + (s[None, :] / m) ** c))[..., None]


def _mmf(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    k, d = th[:, 0:1], th[:, 1:2]
    g = 1.0 / (1.0 + (k * s[None, :]) ** d)
    return np.stack([1.0 - g, g], axis=-1)


def _janoschek(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    k, d = th[:, 0:1], th[:, 1:2]
    e = np.exp(-k * s[None, :] ** d)
    return np.stack([1.0 - e, e], axis=-1)


def _weibull(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    k, d = th[:, 0:1], th[:, 1:2]
    e = np.exp(-((k * s[None, :]) ** d))
    return np.stack([1.0 - e, e], axis=-1)


def _exp3(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    a = th[:, 0:1]
    return np.stack([np.ones((len(th), len(s))), -np.exp(-a * s[None, :])], axis=-1)


def _hill3(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    eta, k = th[:, 0:1], th[:, 1:2]
    se = s[None, :] ** eta
    return (se / (k**eta + se))[..., None]


def _vapour_pressure(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    one = np.ones((len(th), len(s)))
    return np.stack([one, one / s[None, :], one * np.log(s)[None, :]], axis=-1)


def _ilog2(s: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    one = np.ones((len(th), len(s)))
    return np.stack([one, -one / np.log(t[None, :] + 1.0)], axis=-1)


def _log(lo: float, hi: float, n: int) -> np.ndarray:
    return np.logspace(lo, hi, n)


#: The families, by name (Domhan et al. 2015, Table 1, in variable-projection form).
# A table, one family per entry.
# fmt: off
FAMILIES: dict[str, CurveFamily] = {
    f.name: f
    for f in (
        CurveFamily("pow3", _pow3, _grid(_log(-2, 0.7, 24)), 2, formula="c - a * s**-alpha"),
        CurveFamily("pow4", _pow4, _grid(_log(-2, -0.3, 6), _log(-1.5, 0.7, 12)), 2,
                    formula="c - a * (s + d)**-alpha"),
        CurveFamily("log_power", _log_power, _grid(_log(-3, 1, 14), -_log(-1.5, 0.7, 12)), 1,
                    formula="a / (1 + (s / exp(b))**c)"),
        CurveFamily("mmf", _mmf, _grid(_log(-1, 3, 14), _log(-1, 1, 10)), 2,
                    formula="alpha - (alpha - beta) / (1 + (kappa * s)**delta)"),
        CurveFamily("janoschek", _janoschek, _grid(_log(-1.5, 2, 14), _log(-1, 0.7, 10)), 2,
                    formula="alpha - (alpha - beta) * exp(-kappa * s**delta)"),
        CurveFamily("weibull", _weibull, _grid(_log(-1, 3, 14), _log(-1, 0.7, 10)), 2,
                    formula="alpha - (alpha - beta) * exp(-(kappa * s)**delta)"),
        CurveFamily("exp3", _exp3, _grid(_log(-1, 2.3, 24)), 2, formula="c - b * exp(-a * s)"),
        CurveFamily("hill3", _hill3, _grid(_log(-1, 1, 10), _log(-2, 1, 12)), 1,
                    formula="ymax * s**eta / (kappa**eta + s**eta)"),
        CurveFamily("vapour_pressure", _vapour_pressure, _grid(), 3, log_space=True,
                    formula="exp(a + b / s + c * log(s))"),
        CurveFamily("ilog2", _ilog2, _grid(), 2, formula="c - a / log(epoch + 1)"),
    )
}

# fmt: on

# fmt: on

DEFAULT_FAMILIES: tuple[str, ...] = tuple(FAMILIES)


@dataclass(frozen=True)
class CurveFit:
    """Result of :func:`fit_curves` for ``N`` curves and ``F`` families.

    Attributes:
        families: family names, length ``F``.
        finals: float ``(N, F)`` each family's value at the target epoch (NaN: not fitted).
        sse: float ``(N, F)`` residual sum of squares on the observed points.
        weights: float ``(N, F)`` combination weights (rows sum to 1, or 0 if none fit).
        mean: float ``(N,)`` weighted extrapolation; the last observed value where no
            family could be fitted; NaN for empty curves.
        std: float ``(N,)`` spread of the families around ``mean`` plus the residual
            noise of the best fit (uncalibrated).
        n_observed: int ``(N,)`` observed points per curve.
        params: name -> float ``(N, n_params)`` best linear then shape parameters.
    """

    families: tuple[str, ...]
    finals: np.ndarray
    sse: np.ndarray
    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    n_observed: np.ndarray
    params: dict[str, np.ndarray]

    @property
    def n_fits(self) -> int:
        """Number of (curve, family) fits attempted."""
        return int(np.isfinite(self.finals).sum())


@functools.lru_cache(maxsize=256)
def _design(name: str, t_key: tuple[float, ...], target: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fam = FAMILIES[name]
    t = np.asarray(t_key, dtype=np.float64)
    s = t / target
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        phi = fam.basis(s, t, fam.grid)  # (G, E, p)
        phi_t = fam.basis(np.array([1.0]), np.array([target]), fam.grid)[:, 0, :]  # (G, p)
    ok = np.all(np.isfinite(phi), axis=(1, 2)) & np.all(np.isfinite(phi_t), axis=1)
    phi, phi_t = phi[ok], phi_t[ok]
    phi.setflags(write=False)
    phi_t.setflags(write=False)
    return phi, phi_t, fam.grid[ok]


@functools.cache
def _log_steps(name: str) -> np.ndarray:
    """float ``(q,)``: the multiplicative grid step of each shape parameter."""
    grid = FAMILIES[name].grid
    steps = []
    for d in range(grid.shape[1]):
        v = np.unique(np.abs(grid[:, d]))
        steps.append(float(np.exp(np.mean(np.diff(np.log(v))))) if len(v) > 1 else 1.0)
    return np.asarray(steps)


def _solve(
    phi: np.ndarray, phi_t: np.ndarray, w: np.ndarray, y: np.ndarray, log_space: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched weighted least squares for every (curve, shape) pair.

    Args:
        phi: ``(n, G, E, p)`` designs; phi_t: ``(n, G, p)`` at the target.
        w: ``(n, E)`` 0/1 weights; y: ``(n, E)`` values (0 where unobserved).

    Returns:
        ``(err (n, G), beta (n, G, p), final (n, G))``; ``err`` is inf where undefined.
    """
    p = phi.shape[-1]
    yf = np.log(np.where(w > 0, y, 1.0)) * w if log_space else y * w
    with np.errstate(all="ignore"):
        A = np.einsum("ne,ngep,ngeq->ngpq", w, phi, phi)
        b = np.einsum("ne,ngep->ngp", yf, phi)
        scale = np.trace(A, axis1=2, axis2=3)[..., None, None] / p
        ok = np.all(np.isfinite(A), axis=(2, 3)) & np.all(np.isfinite(b), axis=2)
        A = np.where(ok[..., None, None], A, np.eye(p))
        b = np.where(ok[..., None], b, 0.0)
        beta = np.linalg.solve(
            A + (1e-9 * np.where(ok[..., None, None], scale, 1.0) + 1e-12) * np.eye(p), b[..., None]
        )[..., 0]
        fit = np.einsum("ngep,ngp->nge", phi, beta)
        final = np.einsum("ngp,ngp->ng", phi_t, beta)
        if log_space:
            fit = np.exp(np.minimum(fit, 50.0))
            final = np.exp(np.minimum(final, 50.0))
        err = (((fit - y[:, None, :]) * w[:, None, :]) ** 2).sum(-1)
    err = np.where(ok & np.isfinite(err) & np.isfinite(final), err, np.inf)
    return err, beta, final


#: Local refinement after the grid search: two rounds of 5 points per shape parameter,
#: spanning one grid step, then a quarter step, around the current best (multiplicative).
_REFINE_SPANS: tuple[float, ...] = (1.0, 0.25)
_REFINE_POINTS = 5


def fit_family(
    name: str, epochs: np.ndarray, Y: np.ndarray, target_epoch: float, *, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one family to many curves (masked; NaN = unobserved).

    The shape parameters are searched on the family's grid, then refined locally per
    curve; the linear parameters come from a weighted least-squares solve at each point.

    Args:
        name: family name in :data:`FAMILIES`.
        epochs: float ``(E,)`` epochs of the columns of ``Y`` (positive).
        Y: float ``(N, E)`` curves, NaN where not observed.
        target_epoch: the epoch to extrapolate to.
        chunk: curves per batched solve (bounds memory at ``chunk x G x E``).

    Returns:
        ``(final (N,), sse (N,), params (N, n_params))``; NaN rows where the curve has
        no more observed points than the family has parameters.
    """
    fam = FAMILIES[name]
    t = np.asarray(epochs, dtype=np.float64)
    phi, phi_t, grid = _design(name, tuple(float(e) for e in t), float(target_epoch))
    n, p, q = len(Y), fam.n_linear, fam.grid.shape[1]
    W = np.isfinite(Y)
    if fam.log_space:
        W &= Y > 0
    k = W.sum(1)
    # One residual degree of freedom at least: an exact fit says nothing about the family.
    eligible = (k > fam.n_params) & (k == np.isfinite(Y).sum(1))
    final = np.full(n, np.nan)
    sse = np.full(n, np.nan)
    params = np.full((n, fam.n_params), np.nan)
    rows = np.flatnonzero(eligible)
    s = t / float(target_epoch)
    one, target = np.array([1.0]), np.array([float(target_epoch)])
    if q:
        steps = np.log(_log_steps(name))
        mesh = np.stack(np.meshgrid(*[np.linspace(-1, 1, _REFINE_POINTS)] * q, indexing="ij"), -1).reshape(
            -1, q
        )
    for start in range(0, len(rows), chunk):
        r = rows[start : start + chunk]
        m = len(r)
        w = W[r].astype(np.float64)
        y = np.where(W[r], Y[r], 0.0).astype(np.float64)
        err, beta, fin = _solve(
            np.broadcast_to(phi, (m, *phi.shape)),
            np.broadcast_to(phi_t, (m, *phi_t.shape)),
            w,
            y,
            fam.log_space,
        )
        best = np.argmin(err, axis=1)
        at = np.arange(m)
        b_err, b_beta, b_fin = err[at, best], beta[at, best], fin[at, best]
        theta = grid[best] if q else np.zeros((m, 0))
        for span in _REFINE_SPANS if q else ():
            cand = theta[:, None, :] * np.exp(span * mesh[None, :, :] * steps[None, None, :])  # (m, L, q)
            flat = cand.reshape(-1, q)
            with np.errstate(all="ignore"):
                ph = fam.basis(s, t, flat).reshape(m, len(mesh), len(t), p)
                ph_t = fam.basis(one, target, flat).reshape(m, len(mesh), p)
            e2, be2, f2 = _solve(ph, ph_t, w, y, fam.log_space)
            j = np.argmin(e2, axis=1)
            better = e2[at, j] < b_err
            b_err = np.where(better, e2[at, j], b_err)
            b_beta = np.where(better[:, None], be2[at, j], b_beta)
            b_fin = np.where(better, f2[at, j], b_fin)
            theta = np.where(better[:, None], cand[at, j], theta)
        final[r] = b_fin
        sse[r] = b_err
        params[r, :p] = b_beta
        params[r, p:] = theta
    bad = ~np.isfinite(sse)
    final[bad] = np.nan
    sse[bad] = np.nan
    return final, sse, params


def fit_curves(
    epochs: Sequence[float] | np.ndarray,
    Y: np.ndarray,
    target_epoch: float | None = None,
    *,
    families: Sequence[str] = DEFAULT_FAMILIES,
    bounds: tuple[float, float] | None = (0.0, 100.0),
) -> CurveFit:
    """Fit every family to every curve and combine them by BIC weight.

    Args:
        epochs: ``(E,)`` strictly increasing positive epochs of the columns of ``Y``.
        Y: float ``(N, E)`` observed curves; NaN where not observed (any pattern).
        target_epoch: epoch to extrapolate to (default: the last of ``epochs``).
        families: names from :data:`FAMILIES`.
        bounds: extrapolations are clipped to this range (accuracy in percent by
            default); ``None`` leaves them unclipped.

    Returns:
        A :class:`CurveFit`.

    Raises:
        SurrogateInputError: bad epochs, shapes, unknown family or infinite values.
    """
    t = np.asarray(epochs, dtype=np.float64).reshape(-1)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] != len(t):
        raise SurrogateInputError(f"curves must have shape (n, {len(t)}), got {Y.shape}")
    if len(t) == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise SurrogateInputError("curve epochs must be positive and strictly increasing")
    if np.isinf(Y).any():
        raise SurrogateInputError("curves contain infinite values; mark diverged epochs with NaN")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise SurrogateInputError(f"unknown curve family {unknown[0]!r}; available: {', '.join(FAMILIES)}")
    target = float(t[-1] if target_epoch is None else target_epoch)
    if target <= 0:
        raise SurrogateInputError(f"target epoch must be positive, got {target}")
    n, nf = len(Y), len(families)
    finals = np.full((n, nf), np.nan)
    sse = np.full((n, nf), np.nan)
    params: dict[str, np.ndarray] = {}
    for j, name in enumerate(families):
        finals[:, j], sse[:, j], params[name] = fit_family(name, t, Y, target)
    if bounds is not None:
        finals = np.clip(finals, bounds[0], bounds[1])
    obs = np.isfinite(Y)
    k = obs.sum(1)
    n_par = np.array([FAMILIES[f].n_params for f in families], dtype=np.float64)
    # BIC with a noise floor, so an exact fit of a flexible family does not take all weight.
    scale = np.nanmax(np.abs(np.where(obs, Y, np.nan)), axis=1, initial=0.0) if n else np.zeros(0)
    floor = (1e-3 * np.maximum(scale, 1e-6)) ** 2
    kk = np.maximum(k, 1)[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bic = kk * np.log(np.maximum(sse / kk, floor[:, None])) + n_par[None, :] * np.log(kk)
    ok = np.isfinite(bic) & np.isfinite(finals)
    bic = np.where(ok, bic, np.inf)
    best = np.min(bic, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.where(ok, np.exp(-0.5 * (bic - np.where(np.isfinite(best), best, 0.0))), 0.0)
    tot = w.sum(1, keepdims=True)
    w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
    last = last_observed(Y)
    fitted = tot[:, 0] > 0
    mean = np.where(fitted, np.nansum(w * np.nan_to_num(finals), axis=1), last)
    if bounds is not None:  # rounding of the weighted sum must not leave the range
        mean = np.where(fitted, np.clip(mean, bounds[0], bounds[1]), mean)
    spread = np.sqrt(np.nansum(w * (np.nan_to_num(finals) - mean[:, None]) ** 2, axis=1))
    best_j = np.argmin(bic, axis=1)
    resid = np.sqrt(
        np.take_along_axis(np.nan_to_num(sse, nan=0.0), best_j[:, None], 1)[:, 0] / np.maximum(k, 1)
    )
    std = np.where(fitted, np.sqrt(spread**2 + resid**2), np.nan)
    return CurveFit(tuple(families), finals, sse, w, mean, std, k, params)


def last_observed(Y: np.ndarray) -> np.ndarray:
    """float ``(N,)``: the last finite value of each row (NaN for empty rows)."""
    obs = np.isfinite(Y)
    if Y.shape[1] == 0:
        return np.full(len(Y), np.nan)
    pos = Y.shape[1] - 1 - np.argmax(obs[:, ::-1], axis=1)
    out = Y[np.arange(len(Y)), pos].astype(np.float64)
    out[~obs.any(1)] = np.nan
    return out


def extrapolate(
    family: str,
    epochs: Sequence[float] | np.ndarray,
    Y: np.ndarray,
    target_epoch: float | None = None,
    bounds: tuple[float, float] | None = (0.0, 100.0),
) -> np.ndarray:
    """One family's extrapolation of each curve ``(N,)``; the last observed value where
    the curve is too short for the family (NaN for empty curves)."""
    t = np.asarray(epochs, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    final, _, _ = fit_family(family, t, Y, float(t[-1] if target_epoch is None else target_epoch))
    if bounds is not None:
        final = np.clip(final, *bounds)
    return np.where(np.isfinite(final), final, last_observed(Y))

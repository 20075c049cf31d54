"""Learning-curve early stopping for any strategy (the ``+es`` modifier: ``re+es``).

After Domhan et al., "Speeding up Automatic Hyperparameter Optimization of Deep Neural
Networks by Extrapolation of Learning Curves" (IJCAI 2015) and Baker et al.,
"Accelerating Neural Architecture Search using Performance Prediction" (ICLR-W 2018).

The wrapper turns each full evaluation the inner strategy asks for into a run that
stops at checkpoints (stored epochs up to ``max_fraction`` of the max epoch by default).
At each checkpoint a learning-curve surrogate predicts the final accuracy from the
architecture and the curve observed so far. When it is confident -- the probability
that the final accuracy beats the incumbent is below ``1 - confidence`` -- the run stops
and the inner strategy is told the prediction (``Result.estimate``); otherwise the run
continues to the next checkpoint and finally to the max epoch, charged only the extra
epochs. The surrogate learns online from the full curves of this search: each full run
gives one training row per checkpoint (the curve cut there, the final accuracy as the
target), and so does each full curve of the context's prior (a start table's runs).
Nothing is stopped before ``min_full`` full curves are known.

A surrogate fitted on a few dozen curves can be overconfident, and a wrongly stopped run
is never seen again. So the wrapper checks the surrogate online: every run that goes on
to the max epoch after a prediction gives a standardised error ``(final - mean) / std``,
and the stopping rule widens the predicted std by the root mean square of those errors
when it exceeds 1. To keep these checks honest, a small share (``audit``) of the runs the
rule would stop are continued anyway.

Pausing (``lookahead``, after Swersky et al., "Freeze-Thaw Bayesian Optimization", 2014):
a run the rule cannot stop yet is paused at its checkpoint instead of being continued at
once, and the wrapper asks the inner strategy for further candidates until ``lookahead``
runs are paused (or the inner strategy has nothing more to propose before it hears
back). Then it continues the paused run most likely to beat the incumbent and re-applies
the stopping rule to the others whenever the incumbent or the surrogate changes. Without
pausing, a run is continued as soon as the rule fails to stop it, so the runs that are
continued are whichever the inner strategy happened to propose first; with it, the
cheap checkpoint results decide which runs get the expensive epochs. ``lookahead=0``
continues at once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.acquisition import z_of
from strategies.base import Proposal, Result, SearchContext, Strategy, check
from strategies.errors import FidelityError
from surrogates.inputs import design, fit_or_skip, limit_cuts, predict_mean_std


def confidently_below(mean: Any, std: Any, scale: Any, incumbent: Any, z: float) -> Any:
    """The stopping rule: the final accuracy ~ N(mean, (std * scale)^2) stays below ``incumbent``
    with the confidence whose standard-normal quantile is ``z``. Scalars or arrays."""
    return mean + z * std * scale < incumbent


class EarlyStopping(Strategy):
    """Wrap a strategy so its full evaluations stop early when they cannot win.

    Args:
        inner: the strategy whose full evaluations are screened.
        context, rng, config, surrogate: as for any strategy; ``surrogate`` is the
            learning-curve model (default: the surrogates package's default).

    Attributes:
        n_stopped: runs stopped early so far.
        n_continued: checkpoint decisions that continued a run.
    """

    uses_surrogate = True
    default_surrogate: str | None = None

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        checkpoints: epochs at which to decide (default: stored epochs below the max
            epoch and at most ``max_fraction`` of it).
        max_fraction: default checkpoints lie at or below this fraction of the max epoch.
        confidence: stop when P(final > incumbent) < 1 - confidence.
        min_full: full curves needed before anything is stopped.
        refit_every: refit after at least this many new full curves ...
        refit_growth: ... and once the full curves grew by this factor since the last fit
            (refits get rarer as data accumulates: the surrogate's fit is the cost).
        surrogate: registry name of the learning-curve surrogate.
        audit: share of would-be-stopped runs continued to check the surrogate's calibration.
        lookahead: at most this many runs wait, paused at a checkpoint, to be continued
            best-first (0: continue a run as soon as the rule does not stop it).
        """

        checkpoints: tuple[int, ...] | None = None
        max_fraction: float = 0.5
        confidence: float = 0.95
        min_full: int = 5
        refit_every: int = 5
        refit_growth: float = 1.25
        surrogate: str | None = None
        audit: float = 0.1
        lookahead: int = 10

        def __post_init__(self) -> None:
            check(0 < self.max_fraction < 1, f"max_fraction must be in (0, 1), got {self.max_fraction}")
            check(0.5 <= self.confidence < 1, f"confidence must be in [0.5, 1), got {self.confidence}")
            check(self.min_full >= 2, f"min_full must be >= 2, got {self.min_full}")
            check(self.refit_every >= 1, f"refit_every must be >= 1, got {self.refit_every}")
            check(self.refit_growth >= 1, f"refit_growth must be >= 1, got {self.refit_growth}")
            check(0 <= self.audit < 1, f"audit must be in [0, 1), got {self.audit}")
            check(self.lookahead >= 0, f"lookahead must be >= 0, got {self.lookahead}")

    def __init__(
        self,
        inner: Strategy,
        context: SearchContext,
        rng: np.random.Generator,
        config: Any = None,
        *,
        surrogate: Any = None,
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self.inner = inner
        self.mutates = inner.mutates  # type: ignore[misc]  # a child of the inner strategy's
        cfg = self.config
        self.checkpoints = self.check_points(context, cfg)
        if surrogate is not None:  # predictions happen only at the checkpoints
            limit_cuts(surrogate, [context.epochs.index(e) + 1 for e in self.checkpoints])
        self._max = context.max_epoch
        self._n_epochs = len(context.epochs)
        self._z = z_of(cfg.confidence)
        self._queue: deque[Proposal] = deque()
        self._route: dict[tuple[int, int], deque[bool]] = {}  # new (arch, epoch) -> managed here?
        self._managed: dict[int, bool] = {}
        self.incumbent = -math.inf
        self._full_archs: list[int] = []
        self._full_curves: list[np.ndarray] = []
        if context.prior is not None:  # full curves known before the search (a start table's)
            ok = np.isfinite(context.prior.curves).all(axis=1)
            self._full_archs = context.prior.archs[ok].tolist()
            self._full_curves = list(context.prior.curves[ok])
        self._fitted_on = 0
        self._fitted = False
        self.n_stopped = 0
        self.n_continued = 0
        self.n_audited = 0
        self._predicted: dict[int, tuple[float, float]] = {}  # trial -> last (mean, std) of a continued run
        self._errors: deque[float] = deque(maxlen=100)  # standardised errors of those predictions
        self._fit_version = 0
        # trial -> (result at its checkpoint, predicted mean, std, fit version of the prediction)
        self._paused: dict[int, tuple[Result, float, float, int]] = {}
        self.n_paused = 0

    @staticmethod
    def check_points(context: SearchContext, config: Any) -> tuple[int, ...]:
        """The checkpoint epochs.

        Raises:
            FidelityError: no stored epoch can serve as a checkpoint.
        """
        if config.checkpoints is not None:
            bad = [e for e in config.checkpoints if e not in context.epochs[:-1]]
            if bad or not config.checkpoints:
                raise FidelityError(
                    f"early-stopping checkpoints {list(config.checkpoints)} must be stored epochs below the max "
                    f"epoch; the table stores {list(context.epochs)}"
                )
            return tuple(sorted(set(config.checkpoints)))
        return context.require_fidelities("early stopping", config.max_fraction)

    @classmethod
    def check_context(cls, context: SearchContext, config: Any) -> None:
        cls.check_points(context, config)

    @property
    def overhead_s(self) -> float:  # type: ignore[override]
        return self._own_overhead + self.inner.overhead_s

    @overhead_s.setter
    def overhead_s(self, value: float) -> None:
        self._own_overhead = value - (self.inner.overhead_s if hasattr(self, "inner") else 0.0)

    # ---- ask/tell ----------------------------------------------------------------------
    def ask(self) -> Proposal | None:
        while True:
            if self._queue:
                return self._queue.popleft()
            if len(self._paused) < max(1, self.config.lookahead):
                p = self.inner.ask()
                if p is not None:
                    manage = p.resume is None and p.epoch == self._max
                    if manage:
                        p = Proposal(p.arch, self.checkpoints[0])
                    self._route.setdefault((p.arch, p.epoch), deque()).append(manage)
                    return p
            if not self._paused:
                return None
            # the window is full, or the inner strategy waits for results
            self._resolve_paused()

    def _resolve_paused(self) -> None:
        """Stop the paused runs the rule now rejects; continue the most promising other one.

        Runs are ranked by ``(mean - incumbent) / std``, i.e. by the probability of
        beating the incumbent; ties keep the order the runs were paused in. A run the
        rule would stop but the audit keeps is continued instead.
        """
        self._ready()  # refit first if due, so every waiting run is ranked by the newest fit
        stale = [t for t, (*_, version) in self._paused.items() if version != self._fit_version]
        if stale and self._fitted:
            mean, std = self._predict([self._paused[t][0] for t in stale])
            for t, m, sd in zip(stale, mean, std, strict=True):
                self._paused[t] = (self._paused[t][0], float(m), float(sd), self._fit_version)
        best, best_z = None, -math.inf
        for t in list(self._paused):
            r, m, sd, _ = self._paused[t]
            verdict = self._verdict(m, sd)
            if verdict == "stop":
                del self._paused[t]
                self._stop(r, m)
            elif verdict == "audit":
                del self._paused[t]
                self._continue(r, m, sd)
                return
            else:
                z = (m - self.incumbent) / max(sd * self.std_scale, 1e-9) if math.isfinite(m) else -math.inf
                if best is None or z > best_z:
                    best, best_z = t, z
        if best is not None:
            r, m, sd, _ = self._paused.pop(best)
            self._continue(r, m, sd)

    def tell(self, result: Result) -> None:
        managed = self._managed.get(result.trial)
        if managed is None:
            q = self._route[(result.arch, result.epoch)]
            managed = q.popleft()
            if not q:
                del self._route[(result.arch, result.epoch)]
            self._managed[result.trial] = managed
        if result.epoch == self._max:
            pred = self._predicted.pop(result.trial, None)
            if pred is not None and pred[1] > 0 and math.isfinite(result.valid_acc):
                self._errors.append((result.valid_acc - pred[0]) / pred[1])
            self._learn(result)
            self.inner.tell(result)
            return
        if not managed:
            self.inner.tell(result)
            return
        if not math.isfinite(result.valid_acc) and self._ready():
            self._stop(result, -math.inf)  # diverged: nothing to continue
            return
        pred = self._prediction(result)
        if pred is None:
            self._continue(result, math.nan, math.nan)
            return
        m, sd = pred
        verdict = self._verdict(m, sd)
        if verdict == "stop":
            self._stop(result, m)
        elif verdict == "audit" or self.config.lookahead == 0:
            self._continue(result, m, sd)
        else:
            self._paused[result.trial] = (result, m, sd, self._fit_version)
            self.n_paused += 1

    def _continue(self, result: Result, mean: float, std: float) -> None:
        nxt = next((e for e in self.checkpoints if e > result.epoch), self._max)
        self.n_continued += 1
        if math.isfinite(mean):
            self._predicted[result.trial] = (mean, std)
        self._queue.append(Proposal(result.arch, nxt, resume=result.trial))

    def _stop(self, result: Result, estimate: float) -> None:
        self.n_stopped += 1
        self._predicted.pop(result.trial, None)
        self.inner.tell(
            Result(
                result.trial,
                result.arch,
                result.epoch,
                result.valid_acc,
                result.curve,
                result.cost_s,
                result.finish_time,
                estimate,
            )
        )

    # ---- the learning-curve model --------------------------------------------------------
    def _learn(self, result: Result) -> None:
        if len(result.curve) == self._n_epochs and math.isfinite(result.valid_acc):
            self._full_archs.append(result.arch)
            self._full_curves.append(np.asarray(result.curve, dtype=np.float64))
            self.incumbent = max(self.incumbent, result.valid_acc)

    def _refit(self) -> None:
        archs, curves, y = [], [], []
        cut = [self.context.epochs.index(e) + 1 for e in self.checkpoints]
        for a, c in zip(self._full_archs, self._full_curves, strict=True):
            for k in cut:
                archs.append(a)
                curves.append(c[:k])
                y.append(c[-1])
        with self.timed():
            ok = fit_or_skip(self.surrogate, design(archs, self._n_epochs, curves), np.asarray(y))
        self._fitted_on = len(self._full_archs)
        self._fit_version += 1
        self._fitted = self._fitted or ok

    def stats(self) -> dict[str, Any]:
        """The inner strategy's counters and this wrapper's under ``early_stopping``."""
        return {
            **self.inner.stats(),
            "early_stopping": {
                "stopped": self.n_stopped,
                "continued": self.n_continued,
                "audited": self.n_audited,
                "paused": self.n_paused,
                "waiting": len(self._paused),
                "full_curves": len(self._full_archs),
                "std_scale": self.std_scale,
            },
        }

    @property
    def std_scale(self) -> float:
        """How much the stopping rule widens the surrogate's std (>= 1, from checked predictions)."""
        if len(self._errors) < 5:
            return 1.0
        e = np.asarray(self._errors)
        return max(1.0, float(np.sqrt(np.mean(e * e))))

    def _ready(self) -> bool:
        """Refit when due; whether the rule may stop runs (enough full curves, a fitted model)."""
        n = len(self._full_archs)
        if n < self.config.min_full or not math.isfinite(self.incumbent):
            return False
        due = n >= max(self._fitted_on + self.config.refit_every, self.config.refit_growth * self._fitted_on)
        if not self._fitted or due:
            self._refit()
        return self._fitted

    def _predict(self, results: list[Result]) -> tuple[np.ndarray, np.ndarray]:
        """The fitted surrogate's ``(mean, std)`` of the final accuracy of runs seen at a checkpoint."""
        with self.timed():
            return predict_mean_std(
                self.surrogate,
                design([r.arch for r in results], self._n_epochs, [r.curve for r in results]),
            )

    def _prediction(self, result: Result) -> tuple[float, float] | None:
        """``(mean, std)`` for one run, or ``None`` when the rule is not ready or the mean is not finite."""
        if not self._ready():
            return None
        mean, std = self._predict([result])
        m, sd = float(mean[0]), float(std[0])
        return (m, sd) if math.isfinite(m) else None

    def _verdict(self, mean: float, std: float) -> str:
        """``stop``, ``audit`` (would stop, continued to check calibration) or ``keep``."""
        if mean == -math.inf:
            return "stop"
        if math.isfinite(mean) and confidently_below(mean, std, self.std_scale, self.incumbent, self._z):
            if self.rng.random() >= self.config.audit:
                return "stop"
            self.n_audited += 1
            return "audit"
        return "keep"

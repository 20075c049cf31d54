"""A nasbench benchmark as an OptunaHub problem: any table, surrogate or live evaluator
inside an Optuna study.

:class:`NasbenchProblem` follows OptunaHub's benchmark form
(:class:`optunahub.benchmarks.BaseProblem`): :attr:`~NasbenchProblem.search_space` (the
space's parameters as Optuna distributions, :mod:`strategies.optuna_bridge`),
:attr:`~NasbenchProblem.directions` and :meth:`~NasbenchProblem.evaluate`; the problem is
callable as an Optuna objective, so ``study.optimize(problem, n_trials=...)`` runs it::

    import optuna
    from nasbench.experiments.optuna_problem import NasbenchProblem

    problem = NasbenchProblem("data/digits.parquet")
    study = optuna.create_study(directions=problem.directions)
    study.optimize(problem, n_trials=20)

Each evaluation goes through the evaluator contract (:mod:`nasbench.evaluation`) of the
backend :class:`~nasbench.experiments.evaluators.EvaluatorSpec` names (``table``,
``surrogate`` or ``train``), trains to the last stored epoch and returns the objective in
its own units (accuracy in %, a loss), plus the secondary objectives of
``spec.objectives`` (per-architecture columns, in their own units and directions).

* **Runtime.** :meth:`~NasbenchProblem.runtime` gives the seconds an evaluation costs by
  the table's clock (the cost of the run that answered it, else the evaluator's estimate),
  and :meth:`~NasbenchProblem.simulator_objective` returns ``{"value": ..., "runtime":
  ...}`` for asynchronous simulators that order results by their runtime
  (mfhpo-simulator's ``ObjectiveFuncWrapper`` form: ``obj_keys=["value"]``,
  ``runtime_key="runtime"``).
* **Noise.** ``noise="mean"`` (the default) answers seed means, so a study's values are
  the table's; ``noise="seed"`` draws one stored seed per evaluation from ``seed``'s
  generator, as ``nasbench compare`` does.
* **Constraints and coverage.** Parameters that are no answerable architecture (a
  forbidden combination, an architecture the table lacks, one outside ``--max`` /
  ``--min``) are infeasible: :meth:`~NasbenchProblem.evaluate_constraints` gives
  ``{"answerable": 1.0}`` (``0.0`` when answerable), which OptunaHub sets on the trial,
  and :meth:`~NasbenchProblem.evaluate` returns the worst value of each objective over the
  answerable architectures, without evaluating.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.pareto import parse_objectives
from nasbench.evaluation import Budget, RunConfig
from nasbench.evaluation.contract import Evaluator, Job
from nasbench.evaluation.trajectory import seeded_generators
from nasbench.experiments.evaluators import EvaluatorSpec, open_evaluator
from nasbench.tables.table import ResultTable
from strategies.bridge import answerable_targets
from strategies.optuna_bridge import search_space, space_values
from strategies.space_mapping import SpaceMapping

try:  # the problem is an OptunaHub benchmark where optunahub is installed
    from optunahub.benchmarks import BaseProblem as _Base
except ImportError:  # pragma: no cover - the optuna extra is not installed
    _Base = object  # type: ignore[assignment,misc]


class NasbenchProblem(_Base):  # type: ignore[misc,valid-type]
    """A nasbench evaluator as an OptunaHub problem (see the module docstring).

    Args:
        table: the table file (or table) of the ``table`` and ``surrogate`` backends; the
            ``train`` backend takes its settings from ``spec``.
        spec: the backend, its objectives and constraints (default: the table itself).
        noise: ``mean`` (seed means) or ``seed`` (one stored seed per evaluation).
        seed: seeds the evaluator's seed draws (``noise="seed"``, live training).
        evaluator: an evaluator already opened (instead of ``table`` and ``spec``).

    Raises:
        ConfigError: optunahub is not installed, or the space has no Optuna form.
    """

    def __init__(
        self,
        table: str | os.PathLike[str] | ResultTable | None = None,
        *,
        spec: EvaluatorSpec | None = None,
        noise: str = "mean",
        seed: int = 0,
        evaluator: Evaluator | None = None,
    ) -> None:
        if _Base is object:
            raise ConfigError("NasbenchProblem needs optunahub: pip install 'nasbench[optuna]'")
        spec = spec or EvaluatorSpec()
        self.evaluator = evaluator if evaluator is not None else open_evaluator(spec, table)
        ctx = self.evaluator.context
        self.mapping = SpaceMapping(ctx.space, "the Optuna problem")
        self._space = search_space(self.mapping)
        self.objective = self.evaluator.truth.objective
        crit = parse_objectives(spec.objectives) if spec.objectives else ()
        by_name = {c.name: c.maximize for c in crit}
        self._maximize = [by_name.get(n, True) for n in ctx.objective_names]
        self._epoch = ctx.max_epoch
        self._target = answerable_targets(ctx)
        _, loop_rng = seeded_generators(seed)
        self.evaluator.begin(RunConfig(Budget("evals", 1e12), noise=noise), loop_rng, _Study())  # type: ignore[arg-type]
        self._trials = 0
        self._cost: dict[int, float] = {}
        self._worst = self._worst_values()

    # ---- OptunaHub's form -------------------------------------------------------------------
    @property
    def search_space(self) -> dict[str, Any]:
        """Parameter name -> Optuna distribution (every parameter, conditional ones too)."""
        return dict(self._space)

    @property
    def directions(self) -> list[Any]:
        """The objective's direction, then each secondary objective's."""
        from optuna.study import StudyDirection

        def d(maximize: bool) -> StudyDirection:
            return StudyDirection.MAXIMIZE if maximize else StudyDirection.MINIMIZE

        return [d(self.objective.direction == "max"), *(d(m) for m in self._maximize)]

    def arch(self, params: Mapping[str, Any]) -> int | None:
        """The answerable architecture ``params`` name (its stored representative), or None."""
        index = self.mapping.decode(space_values(self.mapping, dict(params)))
        if index is None or self._target[index] < 0:
            return None
        return int(self._target[index])

    def evaluate(self, params: dict[str, Any]) -> float | Sequence[float]:
        """The objective(s) of the architecture ``params`` name, in their own units, trained
        to the last stored epoch (infeasible parameters: the worst values, not evaluated)."""
        arch = self.arch(params)
        if arch is None:
            values = list(self._worst)
        else:
            out = self.evaluator.evaluate([Job(self._trials, arch, arch, -1, 0, self._epoch)])[0]
            self._trials += 1
            self._cost[arch] = float(out.cost_s)
            values = [self.objective.sign * float(out.value), *self._secondary(arch)]
        return values[0] if len(values) == 1 else values

    def evaluate_constraints(self, params: dict[str, Any]) -> dict[str, float]:
        """``{"answerable": 1.0}`` for parameters that are no answerable architecture, else
        ``0.0``; empty when every architecture of the space is answerable."""
        if bool((self._target >= 0).all()):
            return {}
        return {"answerable": 0.0 if self.arch(params) is not None else 1.0}

    # ---- the clock ----------------------------------------------------------------------------
    def runtime(self, params: Mapping[str, Any]) -> float:
        """Seconds of the last evaluation of ``params`` by the table's clock (not yet
        evaluated: the evaluator's estimate; infeasible: 0)."""
        arch = self.arch(params)
        if arch is None:
            return 0.0
        if arch in self._cost:
            return self._cost[arch]
        return float(self.evaluator.estimate_cost(Job(-1, arch, arch, -1, 0, self._epoch)))

    def simulator_objective(
        self, eval_config: dict[str, Any], fidels: Any = None, seed: Any = None, **kwargs: Any
    ) -> dict[str, float]:
        """``{"value": objective, "runtime": seconds}`` for an asynchronous simulator (one
        objective)."""
        value = self.evaluate(eval_config)
        if not isinstance(value, float):
            raise ConfigError("simulator_objective reports one objective; use evaluate for several")
        return {"value": value, "runtime": self.runtime(eval_config)}

    # ---- helpers ------------------------------------------------------------------------------
    def _secondary(self, arch: int) -> list[float]:
        obj = self.evaluator.context.objectives
        if obj is None:
            return []
        return [float(v) if m else -float(v) for v, m in zip(obj[arch], self._maximize, strict=True)]

    def _worst_values(self) -> list[float]:
        """The worst seed-mean final value of each objective over the answerable architectures."""
        archs = np.unique(self._target[self._target >= 0])
        mean, _ = self.evaluator.truth.final_values(archs)
        mean = mean[np.isfinite(mean)]
        sign = self.objective.sign
        worst = [float(sign * np.min(sign * mean)) if len(mean) else float("nan")]
        obj = self.evaluator.context.objectives
        if obj is not None:
            signed = obj[archs]
            worst += [float(np.nanmin(signed[:, j])) * (1 if m else -1) for j, m in enumerate(self._maximize)]
        return worst


class _Study:
    """The evaluator contract's view of the Optuna study that asks (no strategy of nasbench's)."""

    name = "optuna-study"
    config = None
    overhead_s = 0.0
    mutates = False

    def ask(self) -> None:
        return None

    def tell(self, result: Any) -> None:
        return None

    def stats(self) -> dict[str, Any]:
        return {}


__all__ = ["NasbenchProblem"]

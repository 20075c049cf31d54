"""Run a registered strategy on any evaluator.

The search loop, the budget, the run configuration and the trajectory live in
:mod:`nasbench.evaluation` (below every backend); the table backend is
:class:`nasbench.tables.simulator.TableEvaluator` (``Simulator``). This module builds a
strategy from the registry and hands it to the one loop, and keeps the names that have
always been imported from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench.evaluation.contract import Evaluator
from nasbench.evaluation.loop import ProgressFn, run_loop
from nasbench.evaluation.run import Budget, Noise, RunConfig
from nasbench.evaluation.trajectory import (
    COLUMNS,
    TARGETS,
    Trajectory,
    run_info,
    seeded_generators,
    trajectory_columns,
)
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.simulator import Simulator, TableEvaluator


def run_search(
    evaluator: Evaluator | Benchmark,
    strategy: str,
    *,
    seed: int,
    config: RunConfig,
    params: Mapping[str, Any] | None = None,
    surrogate: Any = None,
    oracle: TestOracle | None = None,
    meta: Mapping[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> Trajectory:
    """Run one registered strategy on an evaluator (or a table's search view).

    Args:
        evaluator: any backend, or a :class:`Benchmark` (answered by a table evaluator).
        strategy: registered name, with modifiers (``"re+es"``).
        seed: run seed; the strategy and the loop's seed draws get independent streams.
        config: budget, workers, noise.
        params: strategy parameters.
        surrogate: surrogate name or unfitted estimator for strategies that use one.
        oracle: test metrics for reporting (only with a :class:`Benchmark`).
        meta: more metadata for the trajectory.
        progress: progress callback of the loop.

    Raises:
        UnknownStrategyError: an unregistered strategy name.
        StrategyConfigError: bad parameters or run settings (BudgetError: a budget smaller
            than one evaluation).
        FidelityError: a multi-fidelity strategy on an evaluator without lower fidelities.
    """
    from strategies.registry import make_strategy

    ev = evaluator if isinstance(evaluator, Evaluator) else TableEvaluator(evaluator, oracle)
    ev.check_budget(config.budget)
    s_rng, r_rng = seeded_generators(seed)
    strat = make_strategy(strategy, ev.context, s_rng, params=params, surrogate=surrogate)
    info = {
        "strategy": strategy,
        "seed": int(seed),
        "surrogate": surrogate if isinstance(surrogate, str) else None,
        **(meta or {}),
    }
    return run_loop(ev, strat, config, r_rng, meta=info, progress=progress)


__all__ = [
    "COLUMNS",
    "TARGETS",
    "Budget",
    "Noise",
    "RunConfig",
    "Simulator",
    "TableEvaluator",
    "Trajectory",
    "run_info",
    "run_search",
    "seeded_generators",
    "trajectory_columns",
]

"""nasbench: fast, honest benchmarks for neural architecture search.

Data flows one way: search space -> trainer -> table -> surrogate -> strategy -> report.

The front door, imported lazily (``import nasbench`` stays light; JAX is imported only by
the trainer)::

    import nasbench

    table = nasbench.load_table()                      # the shipped digits table
    ev = nasbench.open_evaluator(table)                # table | surrogate | train backend
    traj = nasbench.search(ev, "re", seed=0, budget="100")
    print(traj.final_regret)
    nasbench.compare("data/digits.parquet", ["rs", "re"], out="cmp", seeds=5, budget="50")

Functions: :func:`load_table`, :func:`open_evaluator`, :func:`search`, :func:`compare`,
:func:`fit_surrogate` (:mod:`nasbench.experiments.api`). Types: :class:`ResultTable`,
:class:`Benchmark`, :class:`Budget`, :class:`RunConfig`, :class:`Trajectory`,
:class:`Evaluator` (the contract every backend implements), :class:`EvaluatorSpec`,
:class:`SearchContext`, :class:`Proposal`, :class:`Result` and :class:`Strategy` (write
your own strategy: ``ask`` and ``tell``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use)
_LAZY = {
    "load_table": "nasbench.experiments.api",
    "open_evaluator": "nasbench.experiments.api",
    "search": "nasbench.experiments.api",
    "compare": "nasbench.experiments.api",
    "fit_surrogate": "nasbench.experiments.api",
    "EvaluatorSpec": "nasbench.experiments.evaluators",
    "ResultTable": "nasbench.tables.table",
    "Benchmark": "nasbench.tables.benchmark",
    "Budget": "nasbench.evaluation.run",
    "RunConfig": "nasbench.evaluation.run",
    "Trajectory": "nasbench.evaluation.trajectory",
    "Evaluator": "nasbench.evaluation.contract",
    "SearchContext": "nasbench.evaluation.context",
    "Proposal": "nasbench.evaluation.context",
    "Result": "nasbench.evaluation.context",
    "Strategy": "strategies.base",
}

__all__ = [  # the front door: functions, then types
    "__version__",
    "load_table",
    "open_evaluator",
    "search",
    "compare",
    "fit_surrogate",
    "EvaluatorSpec",
    "ResultTable",
    "Benchmark",
    "Budget",
    "RunConfig",
    "Trajectory",
    "Evaluator",
    "SearchContext",
    "Proposal",
    "Result",
    "Strategy",
]

if TYPE_CHECKING:  # what the lazy names are, for type checkers and the API reference
    from nasbench.evaluation.context import Proposal, Result, SearchContext
    from nasbench.evaluation.contract import Evaluator
    from nasbench.evaluation.run import Budget, RunConfig
    from nasbench.evaluation.trajectory import Trajectory
    from nasbench.experiments.api import compare, fit_surrogate, load_table, open_evaluator, search
    from nasbench.experiments.evaluators import EvaluatorSpec
    from nasbench.tables.benchmark import Benchmark
    from nasbench.tables.table import ResultTable
    from strategies.base import Strategy


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

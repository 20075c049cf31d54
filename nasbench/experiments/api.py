"""The Python front door (``import nasbench``): load a table, open an evaluator, run a search,
run a comparison, fit a surrogate. Each is a thin, documented call into the layers below;
``nasbench/__init__.py`` imports this module only when one of its names is first used.

Example:
    >>> import nasbench
    >>> table = nasbench.load_table()                 # the shipped digits table
    >>> ev = nasbench.open_evaluator(table)           # the table backend
    >>> traj = nasbench.search(ev, "re", seed=0, budget="50")
    >>> round(traj.final_regret, 3) >= 0
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nasbench.evaluation.contract import Evaluator
from nasbench.evaluation.run import Budget, RunConfig
from nasbench.evaluation.trajectory import Trajectory
from nasbench.experiments.compare import CompareConfig
from nasbench.experiments.compare import compare as _compare
from nasbench.experiments.evaluators import EvaluatorSpec
from nasbench.experiments.evaluators import open_evaluator as _open
from nasbench.tables.default import default_table_path
from nasbench.tables.table import ResultTable
from strategies.runner import run_search

PathLike = str | os.PathLike[str]


def load_table(path: PathLike | None = None) -> ResultTable:
    """A result table from a parquet file; the shipped digits table by default.

    Raises:
        TableFormatError: a missing or malformed file.
    """
    return ResultTable.load(default_table_path() if path is None else path)


def _table_file(table: PathLike | None) -> str:
    return str(default_table_path() if table is None else table)


def open_evaluator(
    table: PathLike | ResultTable | None = None,
    *,
    kind: str = "table",
    model: str = "rf",
    scores: Sequence[PathLike] = (),
    objectives: str = "",
    maxima: Sequence[str] = (),
    minima: Sequence[str] = (),
    dataset: str = "digits",
    space: str = "nb201",
    recipe: str | None = None,
    out: PathLike | None = None,
    reference: PathLike | None = None,
    resume: bool = False,
    **live: Any,
) -> Evaluator:
    """An evaluator: a table (``kind="table"``), a surrogate's predictions fitted on it
    (``"surrogate"``, with ``model``), or live training (``"train"``).

    Args:
        table: the table, a file or a :class:`ResultTable` (default: the shipped digits
            table). With ``kind="train"``: an optional start table file whose results are
            reused.
        kind: ``table``, ``surrogate`` or ``train``.
        model: the surrogate backend's model.
        scores: score files (``nasbench estimate``) the strategies see.
        objectives: ``"valid_acc,params"``: several objectives (the first is the table's).
        maxima: constraints ``"NAME=VALUE"``: per-architecture columns at most this.
        minima: constraints ``"NAME=VALUE"``: per-architecture columns at least this.
        dataset: the train backend's dataset (``digits``, ``npz:PATH``).
        space: the train backend's search space (``nb201``, ``mlp``).
        recipe: the train backend's recipe (default: the dataset's and space's).
        out: the train backend's run directory (required there).
        reference: the train backend's reference table (regret, constraints, objectives).
        resume: continue the train run in ``out``.
        **live: more train settings (:class:`nasbench.train.live.LiveConfig`: ``workers``,
            ``inherit``, ...).

    Raises:
        NasbenchError: bad input, as a one-line message.
    """
    shape = {"scores": tuple(str(s) for s in scores), "objectives": objectives}
    shape.update(maxima=tuple(maxima), minima=tuple(minima))
    if kind != "train":
        return _open(
            EvaluatorSpec(kind, model=model, **shape),
            table if isinstance(table, ResultTable) else _table_file(table),
        )
    from nasbench.core.errors import ConfigError
    from nasbench.train.live import make_live_config

    if out is None:
        raise ConfigError("the train evaluator needs out=DIR (its run directory)")
    cfg = make_live_config(
        dataset,
        recipe,
        out,
        space=space,
        table=None if table is None else Path(table),
        reference=None if reference is None else Path(reference),
        **live,
    )
    return _open(EvaluatorSpec("train", live=cfg, **shape), resume=resume)


def search(
    evaluator: Evaluator | PathLike | ResultTable | None,
    strategy: str = "re",
    *,
    seed: int = 0,
    budget: str | float = "100",
    workers: int = 1,
    noise: str = "seed",
    params: Mapping[str, Any] | None = None,
    surrogate: str | None = None,
) -> Trajectory:
    """Run one strategy on an evaluator (or on a table file, through the table backend).

    Args:
        evaluator: an :class:`Evaluator` from :func:`open_evaluator`, or a table.
        strategy: a registered name (``rs``, ``re``, ``re+es``, ``bananas``, ...).
        seed: the run seed: the same seed gives the same trajectory.
        budget: full evaluations (``"100"``) or simulated time (``"5e5s"``, ``"20h"``).
        workers: simulated asynchronous workers (the trainer: evaluations per population).
        noise: ``seed`` (one stored seed per trial) or ``mean`` (seed means).
        params: strategy parameters.
        surrogate: the surrogate of a model-based strategy.

    Returns:
        The :class:`Trajectory`: one row per finished evaluation, with the incumbent and
        the regret in the objective's own units.
    """
    ev = evaluator if isinstance(evaluator, Evaluator) else open_evaluator(evaluator)
    config = RunConfig(Budget.parse(budget), workers=workers, noise=noise)  # type: ignore[arg-type]
    return run_search(ev, strategy, seed=seed, config=config, params=params, surrogate=surrogate)


def compare(
    table: PathLike | None = None,
    strategies: Sequence[str] = ("rs", "re", "ls"),
    *,
    out: PathLike,
    seeds: int = 10,
    budget: str | float = "100",
    workers: int = 1,
    noise: str = "seed",
    processes: int = 2,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    evaluator: EvaluatorSpec | None = None,
) -> dict[str, Any]:
    """Compare strategies over many seeds on one evaluator; write the reports into ``out``
    (``regret.png``, ``summary.md``, ``summary.json``, ``trajectories.parquet``) and return
    the summary. An interrupted comparison resumes from what ``out`` holds.

    Args:
        table: the table file (default: the shipped digits table).
        strategies: registered names, in report order.
        out: the output folder.
        seeds: runs per strategy.
        budget: each run's budget (``"100"`` evaluations, ``"5e5s"``).
        workers: each run's simulated workers.
        noise: ``seed`` or ``mean``.
        processes: worker processes.
        params: per strategy, its parameters.
        evaluator: the backend (default: the table itself).
    """
    config = CompareConfig(
        tuple(strategies),
        seeds,
        RunConfig(Budget.parse(budget), workers=workers, noise=noise),  # type: ignore[arg-type]
        params=dict(params or {}),
        processes=processes,
        evaluator=evaluator or EvaluatorSpec(),
    )
    return _compare(_table_file(table), out, config)


def fit_surrogate(
    table: PathLike | ResultTable | None = None, model: str = "rf", *, random_state: int = 0
) -> Any:
    """A registered surrogate (scikit-learn estimator) fitted on a table's full curves of its
    objective; ``predict(X, return_std=True)`` gives scores with uncertainty."""
    from surrogates.api import fit_table

    t = table if isinstance(table, ResultTable) else load_table(table)
    est, _ = fit_table(t, model, random_state=random_state)
    return est


__all__ = ["compare", "fit_surrogate", "load_table", "open_evaluator", "search"]

"""The one place that turns a user's spec into an evaluator.

A spec (:class:`EvaluatorSpec`: ``--evaluator``, ``--model``, the train backend's
settings, ``--scores``, ``--objectives``, ``--max``, ``--min``) and a table file become
one :class:`~nasbench.evaluation.contract.Evaluator`, whichever backend it names:

* ``table`` -- the table itself (:class:`nasbench.tables.simulator.TableEvaluator`);
* ``surrogate`` -- a table of a surrogate's predictions fitted on the table
  (:func:`surrogates.predicted.predicted_table`), answered the same way;
* ``train`` -- live training (:class:`nasbench.train.live.TrainEvaluator`), whose truth
  is its reference table with the same objectives and constraints.

Every backend gets the same scores, objectives and constraints here, so ``search``,
``compare``, ``ablate`` and ``explore`` never ask which backend they run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasbench.core.errors import ConfigError
from nasbench.evaluation.contract import Evaluator
from nasbench.experiments import multiobjective as mo
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.scores import read_scores, score_features
from nasbench.tables.simulator import TableEvaluator
from nasbench.tables.table import ResultTable

if TYPE_CHECKING:
    from nasbench.train.live import LiveConfig

#: the backends a spec may name
EVALUATORS = ("table", "surrogate", "train")


@dataclass(frozen=True)
class EvaluatorSpec:
    """Which backend a search, comparison or ablation runs on, and what it sees.

    Attributes:
        kind: ``table``, ``surrogate`` or ``train`` (see the module docstring).
        model: the ``surrogate`` backend's predicting model.
        live: the ``train`` backend's dataset, recipe and live settings.
        scores: score files (``nasbench estimate proxies|oneshot``) every run's strategies
            see: model-based ones add them to their surrogate's features, ``ranked``
            evaluates in their order.
        objectives: ``--objectives`` (e.g. ``valid_acc,params``; empty: one objective):
            multi-objective strategies see the secondary ones, and the reports add the
            hypervolume (:mod:`nasbench.experiments.multiobjective`).
        maxima, minima: constraints ``NAME=VALUE`` (``--max``, ``--min``): only feasible
            architectures are proposed, and the optimum is the best feasible one.
    """

    kind: str = "table"
    model: str = "rf"
    live: LiveConfig | None = None
    scores: tuple[str, ...] = ()
    objectives: str = ""
    maxima: tuple[str, ...] = ()
    minima: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in EVALUATORS:
            raise ConfigError(f"--evaluator must be one of {', '.join(EVALUATORS)}, got {self.kind!r}")
        object.__setattr__(self, "scores", tuple(str(Path(f).resolve()) for f in self.scores))
        if self.kind == "train" and self.live is None:
            raise ConfigError("the train evaluator needs a dataset and a recipe")
        if self.kind == "train" and self.shapes_truth and self.reference is None:
            raise ConfigError(
                "--objectives, --max and --min with --evaluator train need --reference TABLE: the "
                "per-architecture columns they read (params, latency_ms, ...) and the optimum come from it"
            )

    @property
    def shapes_truth(self) -> bool:
        """Whether objectives or constraints change what is searched and the optimum."""
        return bool(self.objectives or self.maxima or self.minima)

    @property
    def reference(self) -> str | None:
        """The train backend's reference table (its truth), resolved; None without one."""
        ref = self.live.reference if self.live is not None else None
        return None if ref is None else str(Path(ref).resolve())

    @property
    def simulated_model(self) -> str | None:
        """The predicting model of the simulated backends (None: the table itself)."""
        return self.model if self.kind == "surrogate" else None

    @property
    def own_truth(self) -> bool:
        """A ``train`` backend without a reference table: a comparison measures regret
        against the best of its own runs (:func:`nasbench.experiments.compare.compare`)."""
        return self.kind == "train" and self.reference is None

    def truth(self, table: str | os.PathLike[str] | None) -> str:
        """The table whose evaluator gives the optimum and the targets.

        Raises:
            ConfigError: no table, or a train backend without a reference table.
        """
        if self.kind == "train":
            if self.reference is None:
                raise ConfigError(
                    "--evaluator train needs --reference TABLE: regret and the targets are measured against it"
                )
            return self.reference
        if table is None:
            raise ConfigError(f"--evaluator {self.kind} needs a table file")
        return str(Path(table).resolve())

    def describe(self) -> dict[str, Any]:
        """The backend and its settings, as summaries report them."""
        out: dict[str, Any] = {"evaluator": self.kind}
        if self.kind == "surrogate":
            out["model"] = self.model
        if self.scores:
            out["scores"] = list(self.scores)
        if self.objectives:
            out["objectives"] = self.objectives
        if self.maxima or self.minima:
            out["constraints"] = {"max": list(self.maxima), "min": list(self.minima)}
        if self.live is not None and self.kind == "train":
            lv = self.live
            out["live"] = {
                "dataset": lv.dataset,
                "recipe_hash": lv.recipe.content_hash(),
                "space": lv.space,
                "workers": lv.workers,
                "train_seeds": list(lv.train_seeds),
                "inherit": lv.inherit,
                "inherit_epochs": lv.inherit_epochs,
                "keep_checkpoints": lv.keep_checkpoints,
                "table": None if lv.table is None else str(Path(lv.table).resolve()),
            }
        return out

    def manifest_key(self) -> dict[str, Any]:
        """What must match for a rerun into the same folder to resume (nothing extra for the
        table backend, so folders written before there were backends still resume)."""
        plain = not (self.scores or self.shapes_truth)
        return {} if self.kind == "table" and plain else self.describe()


# ---- the table and surrogate backends: one evaluator per table file, cached per process ----------

_SIMS: dict[tuple[Any, ...], TableEvaluator] = {}


def _file_key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """A table file by path, modification time and size: a table rebuilt at the same path is
    another table."""
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        return (str(p), -1, -1)  # ResultTable.load gives the one-line error
    return (str(p), st.st_mtime_ns, st.st_size)


def load_simulator(
    table: str | os.PathLike[str] | ResultTable,
    *,
    model: str | None = None,
    scores: Sequence[str | os.PathLike[str]] = (),
    objectives: str = "",
    maxima: Sequence[str] = (),
    minima: Sequence[str] = (),
) -> TableEvaluator:
    """The table evaluator of a table (a file, or a table in memory), or of ``model``'s
    predictions fitted on it. Files are cached per process by path, modification time and
    size and model (inherited by forked workers), so a table rebuilt at the same path is
    read again. ``scores``: score files whose columns the strategies see in their context
    (:func:`context_scores`); ``objectives``, ``maxima``, ``minima``: several objectives and
    constraints (:mod:`nasbench.experiments.multiobjective`)."""
    sim = _base_evaluator(table, model)
    if scores:
        sim = sim.with_scores(*context_scores(sim.context.space, scores))
    if objectives or maxima or minima:
        sim = mo.with_objectives(mo.constrain(sim, maxima, minima), objectives)
    return sim


def _base_evaluator(table: str | os.PathLike[str] | ResultTable, model: str | None) -> TableEvaluator:
    if isinstance(table, ResultTable):
        return _evaluator_of(table, model)
    key = (*_file_key(table), model)
    sim = _SIMS.get(key)
    if sim is None:
        sim = _evaluator_of(ResultTable.load(key[0]), model)
        for old in [k for k in _SIMS if k[0] == key[0] and k[3] == model]:
            del _SIMS[old]  # the same file, since rebuilt
        _SIMS[key] = sim
    return sim


def _evaluator_of(t: ResultTable, model: str | None) -> TableEvaluator:
    if model is None:
        return TableEvaluator(Benchmark(t), TestOracle(t))
    from surrogates.predicted import predicted_table  # scikit-learn: only when asked

    return TableEvaluator(Benchmark(predicted_table(t, model)))


def context_scores(space: Any, files: Sequence[str | os.PathLike[str]]) -> tuple[Any, list[str]]:
    """Score files as a search context's ``(scores (space.size, m), names)`` (rank percentiles)."""
    return score_features(space, [read_scores(f) for f in files])


def table_evaluator(table: str | os.PathLike[str] | ResultTable, spec: EvaluatorSpec) -> TableEvaluator:
    """The evaluator of a simulated backend (or the truth of the train backend), with the
    spec's scores, objectives and constraints."""
    return load_simulator(
        table,
        model=spec.simulated_model,
        scores=spec.scores,
        objectives=spec.objectives,
        maxima=spec.maxima,
        minima=spec.minima,
    )


def truth_evaluator(spec: EvaluatorSpec, table: str | os.PathLike[str] | None) -> TableEvaluator:
    """The table evaluator that gives a run's optimum, targets and hypervolume reference: the
    backend's own table (or predictions), or the ``train`` backend's reference table, with
    the spec's objectives and constraints.

    Raises:
        ConfigError: no table (or no reference table for ``train``).
    """
    if spec.kind == "train":
        return table_evaluator(spec.truth(table), replace(spec, kind="table", scores=()))
    return table_evaluator(spec.truth(table), spec)


def open_evaluator(
    spec: EvaluatorSpec,
    table: str | os.PathLike[str] | ResultTable | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    key: Mapping[str, Any] | None = None,
    resume: bool = False,
    live: Mapping[str, Any] | None = None,
) -> Evaluator:
    """The evaluator ``spec`` names, on ``table``.

    Args:
        spec: the backend and what its strategies see.
        table: the table file (``table`` and ``surrogate``; the ``train`` backend takes its
            start table from its settings).
        out: the ``train`` backend's run directory (default: its settings').
        key: what a rerun of a ``train`` run must match (strategy, seed, budget, ...).
        resume: continue the ``train`` run in ``out``.
        live: settings of the ``train`` backend to change for this run (e.g. ``inherit``).

    Raises:
        NasbenchError: bad input, as a one-line message.
    """
    if spec.kind != "train":
        if table is None:
            raise ConfigError(f"--evaluator {spec.kind} needs a table file")
        return table_evaluator(table, spec)
    from nasbench.train.live import TrainEvaluator  # the trainer: only when asked

    assert spec.live is not None
    cfg = replace(spec.live, **({} if out is None else {"out": Path(out)}), **dict(live or {}))
    truth = None if spec.reference is None else truth_evaluator(spec, None)
    ev = TrainEvaluator(cfg, key=key, resume=resume, objective=None if truth is None else truth.objective)
    if truth is not None:
        ev.with_truth(truth)
    return ev


__all__ = [
    "EVALUATORS",
    "EvaluatorSpec",
    "context_scores",
    "load_simulator",
    "open_evaluator",
    "table_evaluator",
    "truth_evaluator",
]

"""``nasbench leaderboard``: rank the whole search space by a surrogate's predicted final objective.

The surrogate is a saved model file (``surrogates.load_model``) or a registry name that
is fitted here on the table (every stored architecture, target = the seed-mean objective
at the max epoch, signed by its direction, no curve observed). Every architecture of the
space is scored -- one entry per isomorphism class (its smallest index) unless
``unique=False`` -- ranked best first by predicted mean (ties: smaller index first) and
the top ``K`` written with the prediction's uncertainty and, where the table has them,
the measured values and cost.

The objective is the table's (or, without a table, the one the model file records):
``valid_acc``, higher is better, unless the table says otherwise. The fields name it:
``predicted_valid_acc`` / ``measured_valid_acc`` / ``measured_test_acc`` on an accuracy
table, ``predicted_valid_loss`` / ``measured_valid_loss`` / ``measured_test_loss`` on a
table that minimises ``valid_loss`` (ranked lowest first), all in the metric's own units.

Several objectives (``objectives="valid_acc,params"``) add each entry's values and Pareto
rank and order by it, and write ``OUT.pareto.csv`` (every rank) and ``OUT.pareto.png`` (the
front); constraints (``maxima``, ``minima``) drop the entries that violate them.

Output is deterministic (same inputs, same bytes): it carries a provenance header
(model, table and its content hash, space, package versions) and no timestamp.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

import surrogates as surrogates_pkg
from nasbench.core.io import atomic_write_text, check_output_file
from nasbench.core.metrics import Objective
from nasbench.experiments.certificates import certificate_note
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.table import ResultTable, package_versions
from strategies.errors import StrategyConfigError
from surrogates.inputs import design, limit_cuts, predict_mean_std, set_score_bounds

Format = Literal["csv", "json", "md", "html"]
FORMATS: tuple[str, ...] = ("csv", "json", "md", "html")

FIELDS: tuple[str, ...] = (
    "rank",
    "index",
    "arch",
    "predicted_valid_acc",
    "predicted_std",
    "in_table",
    "measured_valid_acc",
    "measured_seeds",
    "measured_test_acc",
    "cost_s",
)


def fields_for(objective: Objective) -> tuple[str, ...]:
    """The leaderboard fields of a table's objective (:data:`FIELDS` for ``valid_acc``)."""
    test = objective.test_metric or "test"
    return tuple(
        {
            "predicted_valid_acc": f"predicted_{objective.metric}",
            "measured_valid_acc": f"measured_{objective.metric}",
            "measured_test_acc": f"measured_{test}",
        }.get(f, f)
        for f in FIELDS
    )


@dataclass(frozen=True)
class LeaderboardConfig:
    """Attributes:
    surrogate: saved model file, or a surrogate registry name to fit on the table.
    top: entries to write.
    fmt: ``csv``, ``json``, ``md`` or ``html``.
    unique: one entry per isomorphism class (else every index of the space).
    random_state: seed of a surrogate fitted here.
    scores: score files (``nasbench estimate proxies|oneshot``) whose columns are shown
        beside the prediction (raw values; larger predicted better).
    objectives: several objectives, ``NAME[:max|:min],...`` (e.g. ``valid_acc,params``;
        empty: one): every entry gets its Pareto rank, entries are ordered by it, and the
        front is drawn in ``OUT.pareto.png`` beside every rank in ``OUT.pareto.csv``.
    maxima, minima: constraints ``NAME=VALUE`` (``--max``, ``--min``): entries that
        violate one (or whose value is unknown) are not ranked.
    """

    surrogate: str
    top: int = 100
    fmt: Format = "csv"
    unique: bool = True
    random_state: int = 0
    scores: tuple[str, ...] = ()
    objectives: str = ""
    maxima: tuple[str, ...] = ()
    minima: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.top, int) and self.top >= 1):
            raise StrategyConfigError(f"--top must be a positive integer, got {self.top!r}")
        if self.fmt not in FORMATS:
            raise StrategyConfigError(f"--format must be one of {', '.join(FORMATS)}, got {self.fmt!r}")
        if not self.surrogate:
            raise StrategyConfigError("--surrogate needs a model file or a surrogate name")


def fit_on_table(name: str, bench: Benchmark, random_state: int = 0) -> Any:
    """Fit a registered surrogate on every stored architecture of a table (timed by the caller).

    The target is the objective's score (signed by its direction: larger is better)."""
    sur = surrogates_pkg
    est = sur.make_surrogate(
        name, bench.space, epochs=[int(e) for e in bench.epochs], random_state=random_state
    )
    limit_cuts(est, [0])  # the leaderboard predicts with no curve observed
    set_score_bounds(est, bench.objective.score_bounds)
    y = bench.scores_at(bench.max_epoch).astype(np.float64)
    ok = ~np.isnan(y)
    X = design(bench.archs()[ok], len(bench.epochs))
    return est.fit(X, y[ok])


def load_or_fit(spec: str, bench: Benchmark | None, random_state: int = 0) -> tuple[Any, dict[str, Any]]:
    """The model and its provenance: a saved file (loaded) or a registry name (fitted on ``bench``).

    Raises:
        StrategyConfigError: a name without a table, or an unknown name or unreadable file.
    """
    path = Path(spec)
    if path.is_file():
        sur = surrogates_pkg
        # checks the file (skops allow-list) and that its space is the table's
        model, meta = sur.load_model(path, table=None if bench is None else bench.table, return_meta=True)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        prov = {
            "model": path.name,
            "model_sha256": digest,
            "model_kind": "saved model",
            "model_class": meta.get("model_class"),
            "model_trained_on": meta.get("table_hash"),
            "model_created": meta.get("created"),
            "objective": Objective(meta.get("metric", "valid_acc"), meta.get("direction", "max")),
        }
        if bench is not None and meta.get("direction", "max") != bench.direction:
            raise StrategyConfigError(
                f"the model was fitted on a table whose objective {meta.get('metric', 'valid_acc')!r} is "
                f"{'minimised' if meta.get('direction') == 'min' else 'maximised'}; this table's "
                f"{bench.objective.describe()}"
            )
        return model, {k: v for k, v in prov.items() if v is not None}
    if any(sep in spec for sep in ("/", os.sep)) or spec.endswith((".skops", ".json", ".pkl", ".joblib")):
        raise StrategyConfigError(f"surrogate model file not found: {spec}")
    if bench is None:
        raise StrategyConfigError(
            f"--surrogate {spec!r} is a model name: pass --table to fit it on, or a saved model file"
        )
    model = fit_on_table(spec, bench, random_state)
    return model, {
        "model": spec,
        "model_kind": f"surrogate {spec!r} fitted on the table",
        "random_state": random_state,
    }


def rank_space(
    model: Any,
    space: Any,
    epochs: int,
    bench: Benchmark | None,
    oracle: TestOracle | None,
    *,
    unique: bool = True,
    objective: Objective | None = None,
) -> list[dict[str, Any]]:
    """Every architecture (or isomorphism class) ranked best first by the predicted final
    objective (the table's, else ``objective``; default ``valid_acc``, maximised). The
    model predicts scores (the objective signed by its direction); entries hold values."""
    objective = bench.objective if bench is not None else (objective or Objective())
    f_pred, f_meas, f_test = (fields_for(objective)[i] for i in (3, 6, 8))
    # accuracies keep 6 decimals; other metrics (losses from 1e-5 up) 7 significant digits
    num = _num if objective.metric.endswith("_acc") else _num_sig
    if unique:
        idx = np.unique(space.iso_representatives()).astype(np.int64)
    else:
        idx = np.arange(space.size, dtype=np.int64)
    mean, std = predict_mean_std(model, design(idx, epochs))
    order = np.lexsort((idx, -np.nan_to_num(mean, nan=-np.inf)))  # best score first
    idx, mean, std = idx[order], objective.sign * mean[order], std[order]
    measured = np.full(len(idx), np.nan)
    seeds = np.zeros(len(idx), dtype=np.int64)
    test = np.full(len(idx), np.nan)
    cost = np.full(len(idx), np.nan)
    in_table = np.zeros(len(idx), dtype=bool)
    if bench is not None:
        covered = bench.covered()[idx]
        rows = bench.rows(idx[covered])
        in_table[covered] = True
        me = bench.max_epoch
        measured[covered] = bench.values_at(objective.metric, me)[rows]
        cost[covered] = bench.values_at("time_s", me)[rows] if "time_s" in bench.metrics else np.nan
        vpos = bench.table.metric_position(objective.metric)
        last = len(bench.epochs) - 1
        seeds[covered] = (~np.isnan(bench.table.values[rows, :, last, vpos])).sum(axis=1)
        test_metric = objective.test_metric
        if oracle is not None and test_metric in oracle.metrics:
            test[covered] = oracle.values_at(test_metric, me)[rows]
    return [
        {
            "rank": i + 1,
            "index": int(a),
            "arch": space.to_str(int(a)),
            f_pred: num(mean[i]),
            "predicted_std": num(std[i]),
            "in_table": bool(in_table[i]),
            f_meas: num(measured[i]),
            "measured_seeds": int(seeds[i]),
            f_test: num(test[i]),
            "cost_s": _num(cost[i]),
        }
        for i, a in enumerate(idx)
    ]


def _num(x: float) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def _num_sig(x: float) -> float | None:
    x = float(x)
    return float(f"{x:.7g}") if math.isfinite(x) else None


def leaderboard(
    config: LeaderboardConfig,
    out: str | os.PathLike[str],
    *,
    table: str | os.PathLike[str] | None = None,
    model: Any = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the leaderboard; return ``{"provenance", "entries", "out", "ranked"}``.

    Args:
        config: surrogate, top K, format.
        out: output file.
        table: result table for fitting a named surrogate and for measured values.
        model: an already fitted model (``explore`` passes its own); then
            ``config.surrogate`` is only its name in the provenance.
        provenance: extra provenance entries.

    Raises:
        StrategyConfigError, TableFormatError: bad input, before anything is written.
    """
    bench = oracle = None
    table_meta: dict[str, Any] = {}
    if table is not None:
        t = ResultTable.load(table)
        bench, oracle = Benchmark(t), TestOracle(t)
        table_meta = {
            "table": Path(table).name,
            "table_hash": getattr(t, "_stored_hash", None) or t.content_hash(),
            "dataset": t.metadata.get("dataset"),
            "max_epoch": bench.max_epoch,
        }
    out = check_output_file(out)  # before the fit, not after it
    if bench is not None and (config.objectives or config.maxima or config.minima):
        _check_columns(config, bench)  # before the fit too
    objective = None if bench is None else bench.objective
    if model is None:
        model, model_meta = load_or_fit(config.surrogate, bench, config.random_state)
        if objective is None:
            objective = model_meta.pop("objective", None)
    else:
        model_meta = {"model": config.surrogate}
    model_meta.pop("objective", None)
    objective = objective or Objective()
    space = bench.space if bench is not None else _model_space(model)
    n_epochs = len(bench.epochs) if bench is not None else _model_epochs(model)
    entries = rank_space(model, space, n_epochs, bench, oracle, unique=config.unique, objective=objective)
    if config.scores:
        _add_scores(entries, space, config.scores)
        table_meta["scores"] = ", ".join(Path(f).name for f in config.scores)
    mo_meta: dict[str, Any] = {}
    pareto: dict[str, Any] = {}
    if config.objectives or config.maxima or config.minima:
        entries, mo_meta, pareto = _several_objectives(entries, config, bench, objective, out)
    versions = package_versions("scikit-learn", "scipy")
    prov = {
        **model_meta,
        **table_meta,
        "space": space.name,
        "ranked": len(entries),
        "unit": "one entry per isomorphism class" if config.unique else "every index of the space",
        **({} if objective.is_default else {"objective": objective.describe()}),
        "order": ("pareto_rank ascending, then " if config.objectives else "")
        + f"predicted_{objective.metric} {'descending' if objective.maximize else 'ascending'}, "
        "then index ascending",
        **mo_meta,
        "versions": versions,
        **(provenance or {}),
    }
    top = entries[: config.top]
    if pareto:
        _write_pareto(pareto, prov, entries)
    atomic_write_text(out, render(top, prov, config.fmt))
    result = {"provenance": prov, "entries": top, "out": str(out), "ranked": len(entries)}
    result["certificate"] = certificate_note(config.surrogate, table)
    if pareto:
        result["pareto"] = {k: pareto[k] for k in ("objectives", "front", "files")}
    return result


def _check_columns(config: LeaderboardConfig, bench: Benchmark) -> None:
    """Raise ConfigError for a malformed objective or constraint, or one that names no column."""
    from nasbench.core.pareto import parse_constraints, parse_objectives
    from nasbench.tables.columns import column_values

    names = [c.name for c in parse_constraints(config.maxima, config.minima)]
    names += [c.name for c in (parse_objectives(config.objectives) if config.objectives else ())]
    for name in names:
        if name.removeprefix("arch:") != bench.objective.metric:
            column_values(bench, name)


def _objective_values(
    entries: list[dict[str, Any]], name: str, bench: Benchmark | None, objective: Objective
) -> tuple[np.ndarray, list[str]]:
    """Each entry's value of a column, and where it came from (``measured`` or ``predicted``).

    The table's objective is measured where the table holds the architecture, else the
    surrogate's prediction; every other column is measured only (NaN elsewhere).

    Raises:
        ConfigError: ``name`` is no column of the table (or, without a table, not the objective).
    """
    from nasbench.core.errors import ConfigError

    n = len(entries)
    key = name.removeprefix("arch:")
    if key == objective.metric:
        meas = np.array([np.nan if e[f"measured_{key}"] is None else e[f"measured_{key}"] for e in entries])
        pred = np.array([np.nan if e[f"predicted_{key}"] is None else e[f"predicted_{key}"] for e in entries])
        known = ~np.isnan(meas)
        return np.where(known, meas, pred), ["measured" if k else "predicted" for k in known]
    if bench is None:
        raise ConfigError(f"{name!r}: without --table the leaderboard knows only {objective.metric!r}")
    from nasbench.tables.columns import column_values

    col = column_values(bench, key)
    idx = np.array([e["index"] for e in entries], dtype=np.int64)
    inside = np.array([e["in_table"] for e in entries], dtype=bool)
    out = np.full(n, np.nan)
    if inside.any():
        out[inside] = col[bench.rows(idx[inside])]
    return out, ["measured" if k else "unknown" for k in inside]


def _several_objectives(
    entries: list[dict[str, Any]],
    config: LeaderboardConfig,
    bench: Benchmark | None,
    objective: Objective,
    out: Path,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Drop the entries that violate a constraint; with objectives, add each entry's values and
    Pareto rank and order by it. Returns the entries, provenance entries and the front."""
    from nasbench.core.pareto import pareto_ranks, parse_constraints, parse_objectives

    cons = parse_constraints(config.maxima, config.minima)
    crit = parse_objectives(config.objectives) if config.objectives else ()
    meta: dict[str, Any] = {}
    if cons:
        ok = np.ones(len(entries), dtype=bool)
        for c in cons:
            ok &= c.holds(_objective_values(entries, c.name, bench, objective)[0])
        entries = [e for e, k in zip(entries, ok) if k]
        for i, e in enumerate(entries):
            e["rank"] = i + 1
        meta["constraints"] = ", ".join(str(c) for c in cons)
        meta["constraints_rule"] = "an architecture whose value is unknown does not satisfy a constraint"
    if not crit:
        return entries, meta, {}
    vals, sources = [], []
    for c in crit:
        v, src = _objective_values(entries, c.name, bench, objective)
        vals.append(v)
        sources.append(src)
    pts = np.column_stack(vals) if entries else np.zeros((0, len(crit)))
    ranks = pareto_ranks(pts, [c.maximize for c in crit])
    names = [c.name.removeprefix("arch:") for c in crit]
    for i, e in enumerate(entries):
        for j, name in enumerate(names):
            e[name] = (_num if name.endswith("_acc") else _num_sig)(pts[i, j])
        e["values"] = "+".join(sorted({sources[j][i] for j in range(len(crit))}))
        e["pareto_rank"] = int(ranks[i]) if ranks[i] > 0 else None
    entries.sort(key=lambda e: (e["pareto_rank"] or 10**9, e["rank"]))
    n_pred = sum(s == "predicted" for src in sources for s in src)
    meta["objectives"] = ", ".join(str(c) for c in crit)
    meta["values"] = (
        f"measured where the table has them, else the surrogate's predicted {objective.metric} "
        f"({n_pred} predicted value(s)); an unknown value leaves the entry unranked (empty pareto_rank)"
    )
    front = [e for e in entries if e["pareto_rank"] == 1]
    meta["pareto_front"] = f"{len(front)} architecture(s) of {sum(r > 0 for r in ranks)} ranked"
    stem = out.with_suffix("")
    files = {"ranks": str(stem) + ".pareto.csv", "plot": str(stem) + ".pareto.png"}
    meta["pareto_files"] = f"{Path(files['ranks']).name}, {Path(files['plot']).name}"
    pareto = {
        "objectives": [str(c) for c in crit],
        "names": names,
        "maximize": [c.maximize for c in crit],
        "points": pts,
        "ranks": ranks,
        "front": [{"index": e["index"], "arch": e["arch"], **{n: e[n] for n in names}} for e in front],
        "files": files,
    }
    return entries, meta, pareto


def _write_pareto(pareto: dict[str, Any], prov: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """``OUT.pareto.csv`` (every ranked entry: index, arch, objectives, Pareto rank) and
    ``OUT.pareto.png`` (a scatter of the first two objectives with the front drawn)."""
    names = pareto["names"]
    fields = ("index", "arch", *names, "values", "pareto_rank")
    buf = io.StringIO()
    for k, v in _flat(prov):
        buf.write(f"# {k}: {v}\n")
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for e in entries:
        w.writerow({k: ("" if e.get(k) is None else e[k]) for k in fields})
    atomic_write_text(pareto["files"]["ranks"], buf.getvalue())
    _plot_front(pareto)


def _plot_front(pareto: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench.core.io import atomic_path

    pts, ranks = pareto["points"], pareto["ranks"]
    names, mx = pareto["names"], pareto["maximize"]
    fig, ax = plt.subplots(figsize=(6.5, 4.8), constrained_layout=True)
    ok = ranks > 0
    ax.scatter(pts[ok, 1], pts[ok, 0], s=6, c="0.7", label="architectures", rasterized=True)
    front = pts[ranks == 1]
    front = front[np.argsort(front[:, 1], kind="stable")]
    ax.plot(front[:, 1], front[:, 0], "o-", color="C3", ms=4, lw=1.2, drawstyle="steps-post" if mx[0] != mx[1] else "default",
            label=f"Pareto front ({len(front)})")  # fmt: skip
    if len(names) > 2:
        ax.set_title(f"front over {', '.join(names)} (first two drawn)", fontsize=9)
    ax.set_xlabel(f"{names[1]} ({'higher' if mx[1] else 'lower'} is better)")
    ax.set_ylabel(f"{names[0]} ({'higher' if mx[0] else 'lower'} is better)")
    if np.nanmin(pts[ok, 1], initial=np.inf) > 0 and np.nanmax(pts[ok, 1], initial=0) > 100 * np.nanmin(
        pts[ok, 1], initial=np.inf
    ):
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    with atomic_path(pareto["files"]["plot"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _add_scores(entries: list[dict[str, Any]], space: Any, files: tuple[str, ...]) -> None:
    """Each entry gets the score files' columns (its isomorphism class's score), in place.

    Raises:
        TableFormatError: an unreadable score file, or a column named like a leaderboard field.
    """
    from nasbench.core.errors import TableFormatError
    from nasbench.tables.scores import read_scores, score_columns

    cols = score_columns(space, [read_scores(f) for f in files])
    clash = [c for c in cols if c in (entries[0] if entries else FIELDS)]
    if clash:
        raise TableFormatError(f"score column {clash[0]!r} has the name of a leaderboard field")
    for e in entries:
        for name, col in cols.items():
            e[name] = _num(col[e["index"]])  # unscored or undefined (-inf): empty


def _fields(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    """The leaderboard fields (named after the objective), then any score columns the entries carry."""
    return tuple(entries[0]) if entries else FIELDS


def _model_space(model: Any) -> Any:
    space = getattr(model, "space", None)
    if space is None and hasattr(model, "get_params"):
        space = model.get_params().get("space")
    if space is None:
        raise StrategyConfigError("the saved model does not record its search space: pass --table")
    return space


def _model_epochs(model: Any) -> int:
    epochs = getattr(model, "epochs", None)
    if epochs is None and hasattr(model, "get_params"):
        epochs = model.get_params().get("epochs")
    return len(epochs) if epochs is not None else 1


# ---- rendering ---------------------------------------------------------------------------------


def _flat(prov: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, v in prov.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        out.append((k, "" if v is None else str(v)))
    return out


def render(entries: list[dict[str, Any]], prov: dict[str, Any], fmt: str) -> str:
    """The leaderboard text in one of :data:`FORMATS`."""
    fields = _fields(entries)
    if fmt == "json":
        return json.dumps({"provenance": prov, "entries": entries}, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        for k, v in _flat(prov):
            buf.write(f"# {k}: {v}\n")
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for e in entries:
            w.writerow({k: ("" if e[k] is None else e[k]) for k in fields})
        return buf.getvalue()
    # an accuracy keeps 4 decimals; other objectives (losses of 1e-5) 4 significant digits
    spec = ".4f" if "objective" not in prov else ".4g"
    cells = [[_cell(e[k], spec) for k in fields] for e in entries]
    if fmt == "md":
        lines = ["# Architecture leaderboard", ""]
        lines += [f"- **{k}**: {v}" for k, v in _flat(prov)]
        lines += ["", "| " + " | ".join(fields) + " |", "|" + " --- |" * len(fields)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    head = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in _flat(prov))
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in cells)
    ths = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Architecture leaderboard</title>\n'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:13px}td:nth-child(3){font-family:monospace}</style></head><body>\n"
        f"<h1>Architecture leaderboard</h1>\n<ul>{head}</ul>\n<table>\n<tr>{ths}</tr>\n{rows}</table>\n</body></html>\n"
    )


def _cell(v: Any, spec: str = ".4f") -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:{spec}}"
    return str(v)

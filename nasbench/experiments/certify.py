"""``nasbench surrogate certify``: how far a surrogate benchmark can be trusted.

A certificate answers four questions about a registered surrogate fitted on one table,
and writes them into ``OUT/certificate.md``, ``OUT/certificate.json`` and PNGs:

* **Held-out fit** -- Kendall tau, Spearman, R^2, top-k precision and 90% interval
  coverage at several training sizes, on architectures the model never saw: the
  harness of :func:`surrogates.evaluate.evaluate`, unchanged (architecture only).
* **The noise ceiling** -- the same figures (:func:`surrogates.evaluate.score`) for one
  seed's final value as a prediction of the mean of the table's other seeds, averaged
  over the seeds. A surrogate that beats it predicts the seed mean better than a rerun
  does (the NAS-Bench-301 argument). A single run has no interval: its coverage is
  not defined.
* **Optimisers on the surrogate and on the table** -- the same strategies, seeds and
  budget through :func:`nasbench.experiments.compare.compare` twice, into ``OUT/table``
  (the table backend) and ``OUT/surrogate`` (the surrogate backend, whose regret is
  measured against the surrogate-predicted table's own optimum: what a user of the
  surrogate benchmark sees). Each strategy's final regret on both, the Kendall tau of
  the strategies' order, and the surrogate runs' incumbents measured on the table.
* **Sanity checks** -- predictions inside the metric's range (accuracies 0..100, other
  metrics >= 0); cost (``time_s``) non-decreasing in epochs on the predicted and the
  measured table; on declared spaces with conditional dimensions, the same prediction
  whatever value an inactive dimension holds (checked on a seeded sample); at the
  training points, the share of predictions within the table's seed spread.

**Where a certificate is found** (:func:`certificate_path`): for a saved model file
``MODEL.skops``, ``MODEL.certificate.json`` beside it; for a registry name fitted on a
table ``DIR/T.parquet`` (``--evaluator surrogate --model NAME``, ``leaderboard
--surrogate NAME --table``), ``DIR/T.NAME.certificate.json`` beside the table, which
``certify --attach`` writes. :func:`certificate_note` reads it back as one line.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.io import atomic_path, atomic_write_text, make_dirs, write_json
from nasbench.experiments import report
from nasbench.experiments.certificates import KIND, certificate_note, certificate_path
from nasbench.experiments.compare import CompareConfig, EvaluatorSpec, compare, prepare
from nasbench.experiments.evaluators import load_simulator
from nasbench.tables.table import ResultTable
from strategies.registry import parse_name
from strategies.runner import Budget, RunConfig
from surrogates.evaluate import METRIC_NAMES, EvalConfig, evaluate, score
from surrogates.registry import DEFAULT_SURROGATE

log = logging.getLogger(__name__)

#: the strategies every certificate runs (the user's are added after them)
DEFAULT_STRATEGIES: tuple[str, ...] = ("rs", "re", "ls", "bananas")
#: sample size of the inactive-dimension check
INACTIVE_SAMPLE = 200


class CertifyError(ConfigError):
    """Bad input to ``certify`` (one line, exit code 2)."""


@dataclass(frozen=True)
class CertifyConfig:
    """What a certificate measures.

    Attributes:
        model: registry name of the surrogate.
        strategies: strategies run on both backends (:data:`DEFAULT_STRATEGIES` first,
            then the user's, each once).
        seeds: runs per strategy and backend.
        budget: budget of every run (``50`` evaluations, or simulated time ``5e5s``).
        train_sizes: held-out fit training sizes (those that leave nothing to test are an error).
        repeats: random splits per training size.
        seed: base seed of the splits, the surrogate and the inactive-dimension sample.
        processes: worker processes of the optimiser runs.
        noise: the table backend's answers: ``seed`` (one stored seed per evaluation, the
            default of ``compare``) or ``mean`` (seed means, noise-free like the surrogate).
    """

    model: str = DEFAULT_SURROGATE
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    seeds: int = 5
    budget: str = "50"
    train_sizes: tuple[int, ...] = (100, 200, 1000)
    repeats: int = 3
    seed: int = 0
    processes: int = 2
    noise: str = "seed"
    run: RunConfig = field(init=False)

    def __post_init__(self) -> None:
        from surrogates.errors import UnknownSurrogateError
        from surrogates.registry import SURROGATES

        if self.model not in SURROGATES:
            raise UnknownSurrogateError(
                f"unknown surrogate {self.model!r}; available: {', '.join(sorted(SURROGATES))}"
            )
        names = tuple(dict.fromkeys(self.strategies))
        for name in names:
            parse_name(name)  # an unknown strategy: one line
        object.__setattr__(self, "strategies", names)
        if not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise CertifyError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if not (isinstance(self.repeats, int) and self.repeats >= 1):
            raise CertifyError(f"--repeats must be a positive integer, got {self.repeats!r}")
        if self.noise not in ("seed", "mean"):
            raise CertifyError(f"--noise must be 'seed' or 'mean', got {self.noise!r}")
        budget = Budget.parse(str(self.budget))  # zero: BudgetError, one line
        object.__setattr__(self, "run", RunConfig(budget, noise=self.noise))  # type: ignore[arg-type]

    def compare_config(self, kind: str) -> CompareConfig:
        """The comparison of one backend (``table`` or ``surrogate``)."""
        return CompareConfig(
            self.strategies,
            self.seeds,
            self.run,
            processes=self.processes,
            first_seed=self.seed,
            evaluator=EvaluatorSpec(kind, self.model),
        )


def strategy_list(extra: Sequence[str] = ()) -> tuple[str, ...]:
    """:data:`DEFAULT_STRATEGIES`, then ``extra`` (each once, in order)."""
    return tuple(dict.fromkeys([*DEFAULT_STRATEGIES, *(s.strip() for s in extra if s.strip())]))


# ---- the parts ---------------------------------------------------------------------------------


def _table_seeds(table: ResultTable) -> np.ndarray:
    """float ``(archs, seeds)``: each seed's final objective (NaN where missing)."""
    m = table.metric_position(table.objective.metric)
    return table.values[:, :, -1, m].astype(np.float64)


def noise_ceiling(table: ResultTable) -> dict[str, Any]:
    """One seed's final objective as a prediction of the mean of the other seeds.

    For every seed ``s``, over the architectures with a value in ``s`` and in at least one
    other seed: the harness scores (:func:`surrogates.evaluate.score`, on scores signed by
    the objective's direction) of ``value[s]`` against ``mean(values[other seeds])``; then
    mean and std over the seeds.

    Raises:
        CertifyError: fewer than two seeds with values.
    """
    v = table.objective.sign * _table_seeds(table)
    per_seed = []
    n_used = []
    for s in range(v.shape[1]):
        others = np.delete(v, s, axis=1)
        ok = np.isfinite(v[:, s]) & np.isfinite(others).any(axis=1)
        if ok.sum() < 3:
            continue
        with np.errstate(all="ignore"):
            target = np.nanmean(others[ok], axis=1)
        per_seed.append(score(target, v[ok, s], None))
        n_used.append(int(ok.sum()))
    if not per_seed:
        raise CertifyError(
            f"the noise ceiling needs a table with at least 2 seeds per architecture; this one has "
            f"{v.shape[1]} seed(s) ({', '.join(str(int(s)) for s in table.seeds)})"
        )
    out: dict[str, Any] = {}
    for name in METRIC_NAMES:
        a = np.asarray([r[name] for r in per_seed], dtype=np.float64)
        out[name] = (
            {"mean": None, "std": None}
            if np.isnan(a).all()
            else {"mean": float(np.nanmean(a)), "std": float(np.nanstd(a, ddof=1)) if len(a) > 1 else 0.0}
        )
    return {
        "seeds": len(per_seed),
        "architectures": n_used,
        "scores": out,
        "note": "one seed's value predicting the mean of the other seeds, averaged over the seeds; "
        "a single run has no interval, so its coverage is not defined",
    }


def _held_out(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "train_size": e["train_size"],
            "n_test": e["n_test"],
            "fit_s": e["fit_s"]["mean"],
            "scores": {k: {"mean": v["mean"], "std": v["std"]} for k, v in e["model"].items()},
        }
        for e in result["results"]
    ]


def _beats(held: list[dict[str, Any]], ceiling: dict[str, Any]) -> dict[str, Any]:
    """Whether the surrogate at its largest training size beats the noise ceiling."""
    last = held[-1]
    verdict: dict[str, Any] = {"train_size": last["train_size"]}
    for k in ("kendall_tau", "r2"):
        s, c = last["scores"][k]["mean"], ceiling["scores"][k]["mean"]
        verdict[k] = {"surrogate": s, "ceiling": c, "beats": bool(s is not None and c is not None and s > c)}
    both = verdict["kendall_tau"]["beats"] and verdict["r2"]["beats"]
    either = verdict["kendall_tau"]["beats"] or verdict["r2"]["beats"]
    t, r = verdict["kendall_tau"], verdict["r2"]
    figures = (
        f"(n = {last['train_size']}: tau {t['surrogate']:.3f} vs {t['ceiling']:.3f}, "
        f"R2 {r['surrogate']:.3f} vs {r['ceiling']:.3f})"
    )
    if both:
        line = f"The surrogate beats the noise ceiling {figures}: it predicts the seed mean better than a rerun does."
    elif either:
        won, lost = ("tau", "R2") if t["beats"] else ("R2", "tau")
        line = (
            f"The surrogate beats the noise ceiling on {won} but not on {lost} {figures}: it is not clearly "
            "closer to the seed mean than a rerun."
        )
    else:
        line = f"The surrogate does not reach the noise ceiling {figures}: a rerun predicts the seed mean better than it does."
    verdict.update(beats=both, line=line)
    return verdict


def _optimisers(table_res: dict[str, Any], sur_res: dict[str, Any], table: str, out: Path) -> dict[str, Any]:
    from scipy.stats import kendalltau

    from nasbench.experiments.storage import read_trajectory

    truth = load_simulator(table)
    reps = np.asarray(truth.context.space.iso_representatives(), np.int64)
    rows: dict[str, Any] = {}
    for name in table_res["strategies"]:
        t = table_res["strategies"][name]["final_regret"]
        s = sur_res["strategies"][name]["final_regret"]
        # the surrogate runs' final incumbents, measured on the table against its optimum
        finals = []
        for f in sorted(
            (out / "surrogate" / "runs" / _label_dir(out / "surrogate", name)).glob("seed-*.parquet")
        ):
            tr = read_trajectory(f)
            inc = int(tr["incumbent"][-1]) if len(tr) else -1
            if inc >= 0:
                mean, _ = truth.final_values(np.array([inc, reps[inc]]))
                value = mean[0] if np.isfinite(mean[0]) else mean[1]
                finals.append(float(truth.objective.sign * (truth.optimum - value)))
        rows[name] = {
            "table_final_regret": t,
            "surrogate_final_regret": s,
            "surrogate_incumbent_on_table": report.mean_ci(finals),
        }
    names = list(rows)
    a = [rows[n]["table_final_regret"]["mean"] for n in names]
    b = [rows[n]["surrogate_final_regret"]["mean"] for n in names]
    tau = float(kendalltau(a, b).statistic) if len(names) >= 2 else math.nan
    order = lambda v: [n for _, n in sorted(zip(v, names, strict=True))]  # noqa: E731
    # how stable the table's own order is at this many seeds: the first half of the seeds
    # against the second half (None with fewer than 2 seeds or 2 strategies)
    per_seed = [
        [
            read_trajectory(f).final_regret
            for f in sorted((out / "table" / "runs" / _label_dir(out / "table", n)).glob("seed-*.parquet"))
        ]
        for n in names
    ]
    k = min(len(v) for v in per_seed) // 2 if per_seed else 0
    split = None
    if k >= 1 and len(names) >= 2:
        h1 = [float(np.mean(v[:k])) for v in per_seed]
        h2 = [float(np.mean(v[k:])) for v in per_seed]
        st = float(kendalltau(h1, h2).statistic)
        split = None if math.isnan(st) else st
    return {
        "order_split_half_tau": split,
        "strategies": rows,
        "order_table": order(a),
        "order_surrogate": order(b),
        "order_kendall_tau": None if math.isnan(tau) else tau,
        "table_optimum": table_res["optimum"],
        "surrogate_optimum": sur_res["optimum"],
        "regret_note": "regret on the surrogate backend is measured against the surrogate-predicted table's "
        "own optimum (what a user of the surrogate benchmark sees); 'surrogate_incumbent_on_table' is the "
        "surrogate runs' final incumbents measured on the table, against the table's optimum",
    }


def _label_dir(out: Path, label: str) -> str:
    from nasbench.experiments.storage import run_file

    return run_file(out, label, 0).parent.name


def sanity(table: ResultTable, table_path: str, model: str, *, seed: int = 0) -> dict[str, Any]:
    """The sanity checks of the surrogate backend (see the module docstring)."""
    sim = load_simulator(table_path, model=model)
    pred_table = sim.bench.table
    objective = table.objective
    space = table.space
    reps = np.asarray(space.iso_representatives(), np.int64)
    pred, _ = sim.final_values(reps)  # every index of the space, through its representative
    finite = np.isfinite(pred)
    lo, hi = (0.0, 100.0) if objective.metric.endswith("_acc") else (0.0, math.inf)
    inside = finite & (pred >= lo) & (pred <= hi)
    checks: dict[str, Any] = {
        "range": {
            "range": [lo, None if math.isinf(hi) else hi],
            "predicted": int(len(pred)),
            "outside": int((~inside).sum()),
            "min": float(np.nanmin(pred)),
            "max": float(np.nanmax(pred)),
            "ok": bool(inside.all()),
        },
        "cost_monotone": {
            "predicted_table": _monotone(pred_table),
            "measured_table": _monotone(table),
        },
    }
    checks["cost_monotone"]["ok"] = bool(checks["cost_monotone"]["predicted_table"]["share"] == 1.0)
    checks["inactive_dimensions"] = _inactive(space, sim, reps, seed)
    # training points: the predicted table is fitted on every architecture of the table
    vals = _table_seeds(table)
    multi = np.isfinite(vals).sum(axis=1) >= 2
    archs = table.arch_index[multi].astype(np.int64)
    p, _ = sim.final_values(reps[archs])
    with np.errstate(all="ignore"):
        vmin, vmax = np.nanmin(vals[multi], axis=1), np.nanmax(vals[multi], axis=1)
        vmean = np.nanmean(vals[multi], axis=1)
    within = (p >= vmin - 1e-9) & (p <= vmax + 1e-9)
    checks["training_points"] = {
        "architectures": int(len(archs)),
        "within_seed_spread": float(within.mean()) if len(archs) else None,
        "median_abs_error": float(np.nanmedian(np.abs(p - vmean))) if len(archs) else None,
        "median_seed_half_range": float(np.nanmedian((vmax - vmin) / 2)) if len(archs) else None,
        "note": "share of the table's architectures (with >= 2 seeds) whose prediction lies within "
        "[min, max] of their seeds' final values",
    }
    return checks


def _monotone(table: ResultTable) -> dict[str, Any]:
    """Share of (architecture, seed) cost curves (``time_s``) that never decrease in epochs."""
    if "time_s" not in table.metrics:
        return {"share": None, "curves": 0, "epochs": int(len(table.epochs)), "note": "no time_s"}
    c = table.values[:, :, :, table.metric_position("time_s")].astype(np.float64)
    has = np.isfinite(c).any(axis=2)
    with np.errstate(invalid="ignore"):
        d = np.diff(c, axis=2)
    ok = ~(d < -1e-9).any(axis=2)
    n = int(has.sum())
    out = {"share": float(ok[has].mean()) if n else None, "curves": n, "epochs": int(len(table.epochs))}
    if len(table.epochs) == 1:
        out["note"] = "one epoch: nothing can decrease"
    return out


def _inactive(space: Any, sim: Any, reps: np.ndarray, seed: int) -> dict[str, Any]:
    """Configurations that differ only in inactive dimensions get one index, one encoding
    and one prediction (a seeded sample, two variants each)."""
    from surrogates.encoders import default_kinds, encode

    digits_of = getattr(space, "digits", None)
    if digits_of is None or not hasattr(space, "from_values"):
        return {"applies": False, "note": f"the {space.name} space has no inactive dimensions"}
    rng = np.random.default_rng([seed, 30])
    digits = digits_of(np.arange(space.size))
    cand = np.flatnonzero((digits < 0).any(axis=1))
    if len(cand) == 0:
        return {"applies": False, "note": "no configuration of this declared space has an inactive dimension"}
    sample = np.sort(rng.choice(cand, min(INACTIVE_SAMPLE, len(cand)), replace=False))
    kinds = default_kinds(space)
    base_pred, _ = sim.final_values(reps[sample])
    mismatched: list[str] = []
    checked = 0
    for i, idx in enumerate(sample.tolist()):
        values = dict(space.arch(idx).as_dict())
        inactive = [d for d, k in zip(space.dims, digits[idx].tolist(), strict=True) if k < 0]
        for _ in range(2):
            variant = {**values, **{d.name: d.grid[int(rng.integers(len(d.grid)))] for d in inactive}}
            j = space.from_values(variant).index
            enc_same = all(np.array_equal(encode(space, [idx], k), encode(space, [j], k)) for k in kinds)
            p, _ = sim.final_values(reps[[j]])
            checked += 1
            same = (
                j == idx
                and enc_same
                and (p[0] == base_pred[i] or (np.isnan(p[0]) and np.isnan(base_pred[i])))
            )
            if not same:
                mismatched.append(space.to_str(idx))
    return {
        "applies": True,
        "sampled": int(len(sample)),
        "variants": checked,
        "differ": len(mismatched),
        "examples": mismatched[:5],
        "ok": not mismatched,
        "note": "each sampled configuration with an inactive dimension, given two random values there: "
        "the same index, encodings and prediction (true by construction: inactive values are dropped "
        "before the index, and encoded as absent)",
    }


# ---- the certificate ---------------------------------------------------------------------------


def certify(
    table: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: CertifyConfig,
    *,
    attach: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure and write a certificate (see the module docstring).

    Args:
        table: the result table file.
        out: output folder (its ``table/`` and ``surrogate/`` comparisons resume).
        config: model, strategies, seeds, budget, training sizes.
        attach: also copy ``certificate.json`` to :func:`certificate_path` beside the table.
        progress: called with a short line as each part ends (the CLI prints it).

    Returns:
        The certificate (also ``OUT/certificate.json``).

    Raises:
        NasbenchError: bad input, as a one-line message, before anything is measured.
    """
    say = progress or (lambda _line: None)
    t0 = time.perf_counter()
    table_s = str(Path(table).resolve())
    tbl = ResultTable.load(table_s)
    ceiling = noise_ceiling(tbl)  # fewer than two seeds: refused before anything runs
    n_target = int(np.isfinite(_table_seeds(tbl)).any(axis=1).sum())
    too_big = [s for s in config.train_sizes if s >= n_target]
    if too_big:
        raise CertifyError(
            f"--train-sizes {too_big[0]} leaves nothing to test: the table has {n_target} architectures with a value"
        )
    out = Path(out)
    prepare(table_s, out / "table", config.compare_config("table"))  # budget, strategies, folder
    say(f"fitting {config.model} on the whole table (the surrogate backend)")
    prepare(table_s, out / "surrogate", config.compare_config("surrogate"))
    make_dirs(out)

    say("held-out fit")
    ev = evaluate(
        tbl,
        EvalConfig(
            model=config.model, train_sizes=config.train_sizes, repeats=config.repeats, seed=config.seed
        ),
        progress=progress,
    )
    held = _held_out(ev)
    beats = _beats(held, ceiling)
    say(beats["line"])

    tick = (lambda kind: lambda d, n: say(f"{kind}: {d}/{n} runs")) if progress else (lambda kind: None)
    table_res = compare(table_s, out / "table", config.compare_config("table"), progress=tick("table"))
    sur_res = compare(
        table_s, out / "surrogate", config.compare_config("surrogate"), progress=tick("surrogate")
    )
    opt = _optimisers(table_res, sur_res, table_s, out)
    say("sanity checks")
    checks = sanity(tbl, table_s, config.model, seed=config.seed)

    objective = tbl.objective
    cert: dict[str, Any] = {
        "kind": KIND,
        "version": 1,
        "model": config.model,
        "table": {
            "path": table_s,
            "content_hash": getattr(tbl, "_stored_hash", None) or tbl.content_hash(),
            "dataset": tbl.metadata.get("dataset"),
            "space": tbl.space.name,
            "architectures": int(len(tbl.arch_index)),
            "seeds": [int(s) for s in tbl.seeds],
            "epochs": [int(e) for e in tbl.epochs],
            "objective": objective.to_dict(),
        },
        "config": {
            "strategies": list(config.strategies),
            "seeds": config.seeds,
            "budget": str(config.run.budget),
            "noise": config.run.noise,
            "train_sizes": list(config.train_sizes),
            "repeats": config.repeats,
            "seed": config.seed,
        },
        "held_out": {"protocol": ev["protocol"], "results": held},
        "noise_ceiling": ceiling,
        "beats_noise_ceiling": beats,
        "optimisers": opt,
        "sanity": checks,
    }
    cert["weak"] = weaknesses(cert)
    cert["headline"] = headline(cert)
    plot_fit(cert, out / "fit.png")
    plot_trajectories(
        out, config.strategies, out / "trajectories.png", title=f"{Path(table_s).name}: {config.model}"
    )
    cert["files"] = {
        k: str(out / k) for k in ("certificate.md", "certificate.json", "fit.png", "trajectories.png")
    }
    cert["files"].update(
        table=str(out / "table" / "summary.md"), surrogate=str(out / "surrogate" / "summary.md")
    )
    cert["wall_s"] = round(time.perf_counter() - t0, 1)
    atomic_write_text(out / "certificate.md", markdown(cert))
    write_json(out / "certificate.json", cert)
    if attach:
        dest = certificate_path(config.model, table_s)
        assert dest is not None
        with atomic_path(dest) as tmp:
            shutil.copyfile(out / "certificate.json", tmp)
        cert["attached"] = str(dest)
    return cert


def weaknesses(cert: dict[str, Any]) -> list[str]:
    """Plain sentences, one per way the certificate comes out weak."""
    weak = []
    b = cert["beats_noise_ceiling"]
    if not b["beats"]:
        weak.append(b["line"])
    last = cert["held_out"]["results"][-1]["scores"]
    cov = last["coverage90"]["mean"]
    if cov is not None and abs(cov - 0.9) > 0.1:
        weak.append(f"The 90% intervals cover {cov:.0%} of held-out values (n = {cert['held_out']['results'][-1]['train_size']}): "
                    f"the stated uncertainty is {'too narrow' if cov < 0.9 else 'too wide'}.")  # fmt: skip
    o = cert["optimisers"]
    tau, split = o["order_kendall_tau"], o.get("order_split_half_tau")
    if tau is None or tau < 0.6:
        orders = (
            f"table {' < '.join(o['order_table'])}, surrogate {' < '.join(o['order_surrogate'])} "
            "(by mean final regret)"
        )
        shown = "undefined" if tau is None else f"{tau:.2f}"
        if split is not None and split < 0.6:
            weak.append(
                f"Optimiser fidelity is not shown: the strategies rank differently on the surrogate than on "
                f"the table (Kendall tau {shown}; {orders}), but the table's own order is not stable at "
                f"{cert['config']['seeds']} seeds either (first half of the seeds against the second: tau "
                f"{split:.2f}); more seeds or a larger budget are needed to tell."
            )
        else:
            weak.append(
                f"The strategies rank differently on the surrogate than on the table (Kendall tau {shown}): "
                f"{orders}{_split_note(o)}."
            )
    s = cert["sanity"]
    if not s["range"]["ok"]:
        weak.append(f"{s['range']['outside']} predictions lie outside the metric's range.")
    if not s["cost_monotone"]["ok"]:
        weak.append("Predicted costs decrease with epochs.")
    if s["inactive_dimensions"].get("applies") and not s["inactive_dimensions"]["ok"]:
        weak.append("Predictions change with the value of an inactive dimension.")
    share = s["training_points"]["within_seed_spread"]
    if share is not None and share < 0.5:
        weak.append(f"At the training points only {share:.0%} of predictions lie within the seeds' spread.")
    return weak


def _split_note(opt: dict[str, Any]) -> str:
    split = opt.get("order_split_half_tau")
    if split is None:
        return ""
    return f"; the table's own order, first half of the seeds against the second, agrees to tau {split:.2f}"


def headline(cert: dict[str, Any]) -> str:
    """One line: held-out tau at the largest size, the noise ceiling, the optimiser order."""
    last = cert["held_out"]["results"][-1]
    tau = cert["optimisers"]["order_kendall_tau"]
    return (
        f"{cert['model']}: held-out tau {last['scores']['kendall_tau']['mean']:.3f} at n = {last['train_size']}, "
        f"noise ceiling tau {cert['noise_ceiling']['scores']['kendall_tau']['mean']:.3f}, "
        f"optimiser order tau {'n/a' if tau is None else f'{tau:.2f}'}; "
        + (f"{len(cert['weak'])} weak point(s)" if cert["weak"] else "no weak point")
    )


def _f(x: Any, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _g(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def markdown(cert: dict[str, Any]) -> str:
    """The certificate as Markdown."""
    t = cert["table"]
    metric = t["objective"]["metric"]
    lines = [
        f"# Fidelity certificate: {cert['model']} on {Path(t['path']).name}",
        "",
        f"- table: `{t['path']}` (content hash `{t['content_hash'][:16]}`), {t['dataset']}, {t['space']} space, "
        f"{t['architectures']} architectures, {len(t['seeds'])} seeds, objective {metric} "
        f"({'maximised' if t['objective'].get('direction', 'max') == 'max' else 'minimised'})",
        f"- {cert['headline']}",
        "",
        "## Verdict",
        "",
    ]
    lines += [f"- **Weak:** {w}" for w in cert["weak"]] or ["- No weak point found by these checks."]
    lines += ["", f"{cert['beats_noise_ceiling']['line']}", "", "## Held-out fit and the noise ceiling", ""]
    lines.append(
        f"Architecture only, {cert['config']['repeats']} random splits per size (mean ± std), scored on every "
        "architecture the model never saw; scores on the signed objective (larger is better). "
        f"Noise ceiling: {cert['noise_ceiling']['note']}."
    )
    lines += ["", "| predictor | n train | tau | Spearman | R2 | top-1% | top-5% | coverage 90% | fit s |"]
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for e in cert["held_out"]["results"]:
        sc = e["scores"]
        lines.append(
            f"| {cert['model']} | {e['train_size']} | {_f(sc['kendall_tau']['mean'])} ± {_f(sc['kendall_tau']['std'])} | "
            f"{_f(sc['spearman']['mean'])} | {_f(sc['r2']['mean'])} | {_f(sc['top1_precision']['mean'])} | "
            f"{_f(sc['top5_precision']['mean'])} | {_f(sc['coverage90']['mean'])} | {_f(e['fit_s'], 1)} |"
        )
    nc = cert["noise_ceiling"]["scores"]
    lines.append(
        f"| one seed vs the others' mean | - | {_f(nc['kendall_tau']['mean'])} ± {_f(nc['kendall_tau']['std'])} | "
        f"{_f(nc['spearman']['mean'])} | {_f(nc['r2']['mean'])} | {_f(nc['top1_precision']['mean'])} | "
        f"{_f(nc['top5_precision']['mean'])} | - | - |"
    )
    o = cert["optimisers"]
    cfg = cert["config"]
    lines += [
        "",
        "## Optimisers on the table and on the surrogate",
        "",
        f"{', '.join(cfg['strategies'])}; {cfg['seeds']} seeds (from {cfg['seed']}), budget {cfg['budget']}, "
        f"noise {cfg['noise']}. Final regret, mean (95% CI), in {metric}. Regret on the surrogate backend is "
        "measured against the surrogate-predicted table's own optimum (what a user of the surrogate benchmark "
        "sees); the last column measures the surrogate runs' final incumbents on the table.",
        "",
        "| strategy | regret on the table | regret on the surrogate | surrogate's incumbent on the table |",
        "| --- | --- | --- | --- |",
    ]
    for name, r in o["strategies"].items():
        lines.append(
            f"| {name} | {_ci(r['table_final_regret'])} | {_ci(r['surrogate_final_regret'])} | "
            f"{_ci(r['surrogate_incumbent_on_table'])} |"
        )
    tau = o["order_kendall_tau"]
    lines += [
        "",
        f"Order by mean final regret (best first): table {', '.join(o['order_table'])}; surrogate "
        f"{', '.join(o['order_surrogate'])}. Kendall tau of the two orders: {_f(tau, 2)}"
        f"{_split_note(o)}.",
        f"Optimum: table {_g(o['table_optimum'])}, surrogate-predicted table {_g(o['surrogate_optimum'])}.",
        "",
        "![trajectories](trajectories.png)",
        "",
        "## Sanity checks",
        "",
    ]
    s = cert["sanity"]
    rg = s["range"]
    lines.append(
        f"- Range: {rg['outside']} of {rg['predicted']} predictions outside [{_g(rg['range'][0])}, "
        f"{_g(rg['range'][1]) if rg['range'][1] is not None else 'inf'}] (min {_g(rg['min'])}, max {_g(rg['max'])})."
    )
    cm = s["cost_monotone"]
    pt, mt = cm["predicted_table"], cm["measured_table"]
    lines.append(
        f"- Cost non-decreasing in epochs: predicted table {_share(pt['share'])} of {pt['curves']} curves "
        f"({pt['epochs']} epoch(s){'; ' + pt['note'] if pt.get('note') else ''}); measured table "
        f"{_share(mt['share'])} of {mt['curves']} curves ({mt['epochs']} epoch(s))."
    )
    ia = s["inactive_dimensions"]
    if ia.get("applies"):
        lines.append(
            f"- Inactive dimensions: {ia['differ']} of {ia['variants']} variants ({ia['sampled']} sampled "
            f"configurations) changed the prediction ({ia['note']})."
        )
    else:
        lines.append(f"- Inactive dimensions: not applicable ({ia['note']}).")
    tp = s["training_points"]
    lines.append(
        f"- Training points: {_share(tp['within_seed_spread'])} of {tp['architectures']} predictions lie within "
        f"their seeds' [min, max]; median |prediction - seed mean| {_g(tp['median_abs_error'])}, median seed "
        f"half-range {_g(tp['median_seed_half_range'])}."
    )
    lines += ["", "![fit](fit.png)", "", f"Wall time {cert['wall_s']} s.", ""]
    return "\n".join(lines)


def _ci(d: dict[str, Any]) -> str:
    m, lo, hi = d.get("mean"), d.get("lo"), d.get("hi")
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "-"
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return _g(m)
    return f"{_g(m)} ({_g(lo)} to {_g(hi)})"


def _share(x: Any) -> str:
    return "-" if x is None else f"{x:.1%}"


# ---- plots -------------------------------------------------------------------------------------


def plot_fit(cert: dict[str, Any], path: Path) -> None:
    """PNG: held-out tau and R^2 against the training size, the noise ceiling as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = cert["held_out"]["results"]
    sizes = [e["train_size"] for e in res]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in ((axes[0], "kendall_tau", "Kendall tau"), (axes[1], "r2", "R²")):
        m = np.array([e["scores"][key]["mean"] for e in res], dtype=float)
        sd = np.array([e["scores"][key]["std"] or 0.0 for e in res], dtype=float)
        ax.errorbar(sizes, m, yerr=sd, marker="o", label=f"{cert['model']} (held out)")
        c = cert["noise_ceiling"]["scores"][key]["mean"]
        if c is not None:
            ax.axhline(c, color="k", ls=":", label="noise ceiling (one seed vs the others)")
        ax.set_xscale("log")
        ax.set_xlabel("training architectures")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{cert['model']} on {Path(cert['table']['path']).name}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def plot_trajectories(out: Path, strategies: Sequence[str], path: Path, *, title: str = "") -> None:
    """PNG: per strategy, mean regret against evaluations on the table (solid) and on the
    surrogate (dashed, against the surrogate's own optimum), with 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench.experiments.storage import read_trajectory

    n = len(strategies)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False, constrained_layout=True
    )
    label = "regret"
    for ax, name in zip(axes.flat, strategies, strict=False):
        for kind, ls in (("table", "-"), ("surrogate", "--")):
            files = sorted((out / kind / "runs" / _label_dir(out / kind, name)).glob("seed-*.parquet"))
            runs = [read_trajectory(f) for f in files]
            runs = [r for r in runs if len(r)]
            if not runs:
                continue
            label = f"regret ({report.regret_label(report.run_objective(runs))})"
            hi_x = max(float(r["evals"][-1]) for r in runs)
            grid = np.linspace(1.0, max(hi_x, 1.0), 100)
            mean, lo, hi = report.band(report.anytime(runs, grid, "evals"))
            (line,) = ax.plot(grid, mean, ls=ls, color="C0" if kind == "table" else "C1", label=kind)
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.15)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("evaluations")
        ax.grid(True, alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(label, fontsize=8)
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(f"{title}: table (solid) and surrogate (dashed, against its own optimum)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


__all__ = [
    "DEFAULT_STRATEGIES",
    "CertifyConfig",
    "CertifyError",
    "certificate_note",
    "certificate_path",
    "certify",
    "noise_ceiling",
    "sanity",
    "strategy_list",
]

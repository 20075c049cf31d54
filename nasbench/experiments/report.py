"""Statistics, tables and plots over many runs (used by compare, ablate and explore).

Confidence intervals are 95%: a Student-t interval for means, and the distribution-free
order-statistic interval for medians (which also handles runs that never reached a
target, counted as infinite).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.metrics import Objective
from strategies.runner import Trajectory

LEVEL = 0.95


def mean_ci(x: Sequence[float] | np.ndarray, level: float = LEVEL) -> dict[str, float]:
    """``{"mean", "lo", "hi", "n"}`` with a Student-t interval (NaNs dropped)."""
    from scipy import stats

    a = np.asarray(x, dtype=np.float64)
    a = a[~np.isnan(a)]
    n = len(a)
    if n == 0:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0}
    m = float(a.mean())
    if n == 1 or not np.all(np.isfinite(a)):
        return {"mean": m, "lo": math.nan, "hi": math.nan, "n": n}
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * a.std(ddof=1) / math.sqrt(n))
    return {"mean": m, "lo": m - half, "hi": m + half, "n": n}


def median_ci(x: Sequence[float] | np.ndarray, level: float = LEVEL) -> dict[str, float]:
    """``{"median", "lo", "hi", "n", "reached"}``: order-statistic interval; ``inf`` = never reached."""
    from scipy import stats

    a = np.sort(np.asarray(x, dtype=np.float64))
    n = len(a)
    if n == 0:
        return {"median": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "reached": math.nan}
    med = float(np.median(a)) if not np.isinf(a[(n - 1) // 2 : n // 2 + 1]).any() else math.inf
    reached = float(np.mean(np.isfinite(a)))
    if n < 6:
        return {"median": med, "lo": math.nan, "hi": math.nan, "n": n, "reached": reached}
    lo_rank = max(int(stats.binom.ppf((1 - level) / 2, n, 0.5)), 1)
    hi_rank = n - lo_rank + 1
    return {
        "median": med,
        "lo": float(a[lo_rank - 1]),
        "hi": float(a[hi_rank - 1]),
        "n": n,
        "reached": reached,
    }


def group(trajectories: Sequence[Trajectory]) -> dict[str, list[Trajectory]]:
    """Runs by strategy, in first-seen order, each sorted by seed."""
    out: dict[str, list[Trajectory]] = {}
    for tr in trajectories:
        out.setdefault(str(tr.meta["strategy"]), []).append(tr)
    return {k: sorted(v, key=lambda t: int(t.meta.get("seed", 0))) for k, v in out.items()}


def mean_ranks(finals: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean rank (1 = best final regret, ties averaged) per strategy over the seeds all share."""
    from scipy.stats import rankdata

    names = list(finals)
    n = min(len(v) for v in finals.values()) if finals else 0
    if n == 0:
        return {k: mean_ci([]) for k in names}
    mat = np.column_stack(
        [np.nan_to_num(np.asarray(finals[k][:n], dtype=np.float64), nan=np.inf) for k in names]
    )
    ranks = np.vstack([rankdata(row) for row in mat])
    return {k: mean_ci(ranks[:, i]) for i, k in enumerate(names)}


def summarize(trajectories: Sequence[Trajectory], targets: Mapping[str, float]) -> dict[str, Any]:
    """Per strategy: final regret, evaluations and simulated time to each target, mean rank.

    Args:
        trajectories: runs of one or more strategies (the same seeds for each).
        targets: name -> threshold of the incumbent's seed-mean objective (reached at or
            above it; at or below it when the runs' objective is minimised).
    """
    groups = group(trajectories)
    finals = {k: np.array([t.final_regret for t in v]) for k, v in groups.items()}
    ranks = mean_ranks(finals)
    out: dict[str, Any] = {}
    for name, runs in groups.items():
        entry: dict[str, Any] = {
            "runs": len(runs),
            "final_regret": mean_ci(finals[name]),
            "final_test_acc": mean_ci([float(t["incumbent_test"][-1]) if len(t) else math.nan for t in runs]),
            "evaluations": mean_ci([float(t["evals"][-1]) if len(t) else 0.0 for t in runs]),
            "sim_time_s": mean_ci([float(t["finish_s"][-1]) if len(t) else 0.0 for t in runs]),
            "overhead_s": mean_ci([float(t.meta.get("overhead_s", 0.0)) for t in runs]),
            "mean_rank": ranks[name],
            "targets": {},
        }
        es = [t.meta.get("strategy_stats", {}).get("early_stopping") for t in runs]
        if any(es):  # +es strategies: runs stopped early per search, and per started run
            started = [len(np.unique(t["trial"])) for t in runs]
            stopped = [e["stopped"] if e else math.nan for e in es]
            entry["early_stopping"] = {
                "stopped": mean_ci(stopped),
                "stopped_share": mean_ci(
                    [s / n if n else math.nan for s, n in zip(stopped, started, strict=True)]
                ),
            }
        for tname, thr in targets.items():
            hits = [t.hitting(thr) for t in runs]
            entry["targets"][tname] = {
                "evals": median_ci([h[0] for h in hits]),
                "time_s": median_ci([h[1] for h in hits]),
            }
        out[name] = entry
    return out


def anytime(runs: Sequence[Trajectory], grid: np.ndarray, axis: str = "time") -> np.ndarray:
    """float ``(runs, T)``: each run's regret at each grid point (NaN before its first incumbent)."""
    return np.vstack([t.regret_at(grid, axis=axis) for t in runs]) if runs else np.zeros((0, len(grid)))


def band(mat: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and t-interval per column, NaN where any run has no incumbent yet."""
    from scipy import stats

    n = mat.shape[0]
    full = ~np.isnan(mat).any(axis=0)
    mean = np.full(mat.shape[1], np.nan)
    lo, hi = mean.copy(), mean.copy()
    if n == 0 or not full.any():
        return mean, lo, hi
    m = mat[:, full].mean(axis=0)
    half = (
        stats.t.ppf(0.5 + level / 2, n - 1) * mat[:, full].std(axis=0, ddof=1) / math.sqrt(n)
        if n > 1
        else 0.0
    )
    mean[full], lo[full], hi[full] = m, m - half, m + half
    return mean, lo, hi


def regret_label(objective: Objective | None = None) -> str:
    """What regret measures, for axis labels: ``valid acc %, optimum - incumbent`` by default."""
    objective = objective or Objective()
    if objective.is_default:
        return "valid acc %, optimum - incumbent"
    if objective.maximize:
        return f"{objective.metric}, optimum - incumbent"
    return f"{objective.metric}, incumbent - optimum"


def run_objective(trajectories: Sequence[Trajectory]) -> Objective:
    """The objective the runs record (``valid_acc``, maximised, when they record none)."""
    for tr in trajectories:
        if tr.meta.get("objective"):
            return Objective(**tr.meta["objective"])
    return Objective()


def plot_regret(trajectories: Sequence[Trajectory], path: str | Path, *, title: str = "") -> None:
    """PNG: mean anytime regret with a 95% band against simulated time and evaluations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench.core.io import atomic_path

    groups = group(trajectories)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for ax, axis, label in ((axes[0], "time", "simulated time (s)"), (axes[1], "evals", "full evaluations")):
        col = "finish_s" if axis == "time" else "evals"
        xs = [t[col] for runs in groups.values() for t in runs if len(t)]
        if not xs:
            continue
        lo_x = max(min(float(x[0]) for x in xs), 1e-9)
        hi_x = max(float(x[-1]) for x in xs)
        grid = np.geomspace(lo_x, max(hi_x, lo_x * 1.001), 200)
        known = False  # any regret at all (a reference table may not cover the incumbents)
        for name, runs in groups.items():
            mean, lo, hi = band(anytime(runs, grid, axis))
            known |= bool(np.isfinite(mean).any())
            floor = 1e-3  # regret 0 (the optimum) is drawn at the floor of the log axis
            (line,) = ax.plot(grid, np.maximum(mean, floor), label=f"{name} (n={len(runs)})")
            ax.fill_between(
                grid, np.maximum(lo, floor), np.maximum(hi, floor), color=line.get_color(), alpha=0.2
            )
        if known:
            ax.set_xscale("log")
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no regret known: the reference holds no incumbent", ha="center",
                    transform=ax.transAxes)  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel(f"regret ({regret_label(run_objective(trajectories))})")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


# ---- text ---------------------------------------------------------------------------------


def fmt_ci(d: Mapping[str, float], key: str = "mean", digits: int = 3, scale: float = 1.0) -> str:
    v = d.get(key, math.nan)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if math.isinf(v):
        return "not reached"
    lo, hi = d.get("lo", math.nan), d.get("hi", math.nan)

    def f(x: float) -> str:
        if x is None or math.isnan(x):
            return "?"
        if math.isinf(x):
            return "inf"
        return f"{x / scale:.{digits}g}"

    if lo is None or hi is None or (math.isnan(lo) and math.isnan(hi)):
        return f(v)
    return f"{f(v)} [{f(lo)}, {f(hi)}]"


def summary_markdown(
    summary: Mapping[str, Any], header: Mapping[str, Any], *, objective: Objective | None = None
) -> str:
    """The comparison summary as a Markdown document (``objective``: what regret measures;
    default ``valid_acc``, maximised)."""
    objective = objective or Objective()
    lines = ["# Strategy comparison", ""]
    for k, v in header.items():
        lines.append(f"- **{k}**: {v}")
    if objective.is_default:
        what = ["Regret = optimum - seed-mean validation accuracy (%) of the incumbent (the best observed"]
    else:
        diff = "optimum - incumbent" if objective.maximize else "incumbent - optimum"
        what = [
            f"Regret = {diff}, in seed-mean {objective.metric} ({objective.describe()}, so regret >= 0;",
            "the incumbent is the best observed",
        ]
    lines += [
        "",
        *what,
        "full evaluation). Means with 95% t-intervals; medians with 95% order-statistic intervals",
        "('reached' = share of runs that got there within the budget; an unreached median reads",
        "'not reached').",
        "",
        "| strategy | runs | final regret | evals to top 1% | evals to top 0.1% | evals to optimum "
        "| time to top 0.1% (s) | mean rank |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, e in summary.items():
        t = e["targets"]

        def hit(key: str, what: str = "evals", t: Mapping[str, Any] = t) -> str:
            d = t.get(key, {}).get(what, {})
            return f"{fmt_ci(d, 'median', 4)} ({d.get('reached', math.nan):.0%})" if d else "n/a"

        lines.append(
            f"| {name} | {e['runs']} | {fmt_ci(e['final_regret'])} | {hit('top1')} | {hit('top0.1')} "
            f"| {hit('optimum')} | {hit('top0.1', 'time_s')} | {fmt_ci(e['mean_rank'])} |"
        )
    stopping = {name: e["early_stopping"] for name, e in summary.items() if "early_stopping" in e}
    if stopping:
        lines += [
            "",
            "Learning-curve early stopping (runs stopped early per search, and their share of the runs started):",
            "",
            "| strategy | stopped per search | share of started runs |",
            "| --- | --- | --- |",
        ]
        for name, es in stopping.items():
            lines.append(f"| {name} | {fmt_ci(es['stopped'])} | {fmt_ci(es['stopped_share'])} |")
    return "\n".join(lines) + "\n"

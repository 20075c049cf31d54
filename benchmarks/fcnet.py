"""FCNet (HPOLib) on a declared space: surrogate Kendall tau and evaluations to the top 1%.

For each FCNet data set in ``../shared/data/fcnet/`` this script infers the declared
space from the CSV's nine hyperparameter columns (``nasbench space infer``'s rules),
imports the table as ``nasbench import configs`` does (validation MSE, minimised; 4 seeds;
training seconds as the cost) and prints, as JSON:

* the default surrogate's Kendall tau (and Spearman, top-1% precision) at 100 and 1,000
  training configurations, scored on every other configuration (``nasbench surrogate
  eval``'s harness, the target being minus the seed-mean MSE);
* evaluations to the top 1% (and simulated seconds) for rs, re, ls and bananas over a
  few seeds (``nasbench compare``'s runner and summary: noisy seeds, one worker).

Hyperband is not run: this copy of FCNet holds final values only (no per-epoch curves),
so there is no lower fidelity (``nasbench compare ... --strategies hb`` refuses it).

    python benchmarks/fcnet.py                                   # both data sets
    python benchmarks/fcnet.py --datasets naval_propulsion --seeds 5 --budget 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fcnet"
COLUMNS = (
    "activation_fn_1",
    "activation_fn_2",
    "batch_size",
    "dropout_1",
    "dropout_2",
    "init_lr",
    "lr_schedule",
    "n_units_1",
    "n_units_2",
)


def load(csv: Path) -> Any:
    """The FCNet table of one CSV (the space inferred from its columns)."""
    from nasbench.spaces.declared import DeclaredSpace
    from nasbench.spaces.infer import infer_declaration, read_columns
    from nasbench.tables.importers import import_configs

    space = DeclaredSpace(infer_declaration(read_columns(csv, COLUMNS)))
    return import_configs(
        csv,
        space,
        "val_loss_seed{seed}",
        direction="min",
        cost="train_time_s_seed{seed}",
        arch_columns=["model_size"],
    )


def surrogate_figures(table: Any, model: str, sizes: tuple[int, ...], repeats: int) -> dict[str, Any]:
    from surrogates.evaluate import EvalConfig, evaluate

    t0 = time.perf_counter()
    res = evaluate(table, EvalConfig(model=model, train_sizes=sizes, repeats=repeats, seed=0))
    out: dict[str, Any] = {"model": model, "repeats": repeats, "wall_s": round(time.perf_counter() - t0, 1)}
    for e in res["results"]:
        m = e["model"]
        out[str(e["train_size"])] = {
            k: {"mean": round(m[k]["mean"], 3), "std": round(m[k]["std"], 3)}
            for k in ("kendall_tau", "spearman", "top1_precision", "coverage90")
        }
        out[str(e["train_size"])]["kendall_tau"]["values"] = [round(v, 3) for v in m["kendall_tau"]["values"]]
        out[str(e["train_size"])]["fit_s"] = round(e["fit_s"]["mean"], 1)
    return out


def log_forest_figures(table: Any, sizes: tuple[int, ...], repeats: int, seed: int = 0) -> dict[str, Any]:
    """The reference of issue 30: a plain random forest on the space's encodings, fitted on
    log(loss), on exactly the splits of ``surrogate_figures`` (``evaluate``'s
    ``default_rng([seed, size, repeat])`` over the architectures with a target).

    Two forests: scikit-learn's defaults (100 trees, every feature per split) and the
    package's ``rf`` member settings (200 trees, a third of the features per split).
    """
    import numpy as np
    from scipy.stats import kendalltau
    from sklearn.ensemble import RandomForestRegressor

    from nasbench.tables.benchmark import Benchmark
    from surrogates.encoders import default_kinds, encode

    objective = table.objective
    loss = Benchmark(table).values_at(objective.metric, int(table.epochs[-1])).astype(np.float64)
    keep = np.flatnonzero(np.isfinite(loss))
    archs = table.arch_index[keep].astype(np.int64)
    y = loss[keep]
    if objective.maximize or not np.all(y > 0):
        return {"skipped": "not a positive loss"}
    F = np.hstack([encode(table.space, archs, k) for k in default_kinds(table.space)])
    forests = {
        "rf_default": lambda rs: RandomForestRegressor(n_estimators=100, random_state=rs, n_jobs=1),
        "rf_member": lambda rs: RandomForestRegressor(
            n_estimators=200, max_features=1 / 3, random_state=rs, n_jobs=1
        ),
    }
    out: dict[str, Any] = {}
    for name, make in forests.items():
        per_size: dict[str, Any] = {}
        for size in sizes:
            taus = []
            for r in range(repeats):
                perm = np.random.default_rng([seed, size, r]).permutation(len(archs))
                tr, te = perm[:size], perm[size:]
                pred = make(seed * 1000 + r).fit(F[tr], np.log(y[tr])).predict(F[te])
                taus.append(float(kendalltau(-pred, -y[te]).statistic))
            per_size[str(size)] = {
                "kendall_tau": {
                    "mean": round(float(np.mean(taus)), 3),
                    "std": round(float(np.std(taus, ddof=1)) if repeats > 1 else 0.0, 3),
                    "values": [round(t, 3) for t in taus],
                }
            }
        out[name] = per_size
    return out


def strategy_figures(table: Any, strategies: list[str], seeds: int, budget: str) -> dict[str, Any]:
    from nasbench.experiments import report
    from nasbench.tables.benchmark import Benchmark
    from strategies.runner import Budget, RunConfig, Simulator, run_search

    sim = Simulator(Benchmark(table))
    run = RunConfig(Budget.parse(budget))
    out: dict[str, Any] = {
        "budget": budget,
        "seeds": seeds,
        "optimum": sim.optimum,
        "top1_threshold": sim.targets["top1"],
    }
    for name in strategies:
        t0 = time.perf_counter()
        runs = [run_search(sim, name, seed=s, config=run) for s in range(seeds)]
        e = report.summarize(runs, sim.targets)[name]
        ev, ts = e["targets"]["top1"]["evals"], e["targets"]["top1"]["time_s"]
        out[name] = {
            "evals_to_top1_median": ev["median"],
            "evals_to_top1_ci": [ev["lo"], ev["hi"]],
            "reached_top1": ev["reached"],
            "sim_s_to_top1_median": ts["median"],
            "final_regret_mean": e["final_regret"]["mean"],
            "wall_s": round(time.perf_counter() - t0, 1),
        }
    return out


def main() -> None:
    from nasbench.core.io import dumps_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Folder of the FCNet CSVs.")
    ap.add_argument("--datasets", default="naval_propulsion,protein_structure")
    ap.add_argument("--model", default="combined", help="Surrogate for the Kendall tau figures.")
    ap.add_argument("--train-sizes", default="100,1000")
    ap.add_argument("--repeats", type=int, default=3, help="Random splits per training size.")
    ap.add_argument("--strategies", default="rs,re,ls,bananas", help="'' skips the strategies.")
    ap.add_argument(
        "--log-forest", action="store_true", help="Also the random forest on log(loss), same splits."
    )
    ap.add_argument("--seeds", type=int, default=10, help="Runs per strategy.")
    ap.add_argument("--budget", default="200", help="Full evaluations per run.")
    ap.add_argument("--out", type=Path, help="Also write the JSON here.")
    args = ap.parse_args()

    t0 = time.perf_counter()
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        table = load(args.data / f"{name}.csv")
        sizes = tuple(int(s) for s in args.train_sizes.split(","))
        strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
        result[name] = {
            "configurations": table.n_archs,
            "seeds": len(table.seeds),
            "objective": table.objective.describe(),
            "surrogate": surrogate_figures(table, args.model, sizes, args.repeats),
        }
        if args.log_forest:
            result[name]["log_forest"] = log_forest_figures(table, sizes, args.repeats)
        if strategies:
            result[name]["strategies"] = strategy_figures(table, strategies, args.seeds, args.budget)
            result[name]["hb"] = "not run: final values only, no lower fidelity"
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    text = dumps_json(result)  # never reached (inf) and undefined intervals (NaN) as null
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

"""The optimiser bridges' cost per evaluation against native strategies'.

Each strategy runs ``--seeds`` searches of ``--budget`` evaluations on the NAS-Bench-201
CIFAR-10 table (imported from ``../shared/data/nb201/nb201.csv`` as ``nasbench import
nb201`` does). The strategy's ``ask`` and ``tell`` are timed (wall seconds, the only
thing a strategy adds to a table search) and the mean per evaluation is printed with a
95% t-interval over seeds, as a Markdown table for ``benchmarks/BRIDGES.md``:

    python benchmarks/bridges.py --seeds 3 --budget 100 re rs ls optuna:tpe optuna:random optuna:nsga2 synetune:rs synetune:rea synetune:kde

The regret comparison itself is ``nasbench compare`` (the command is in BRIDGES.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.evaluation import Budget, RunConfig, run_loop  # noqa: E402
from nasbench.evaluation.trajectory import seeded_generators  # noqa: E402
from nasbench.experiments.evaluators import load_simulator  # noqa: E402
from nasbench.tables.importers import import_nb201  # noqa: E402
from strategies.registry import make_strategy  # noqa: E402

CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201.csv"


def timed_run(sim: object, name: str, seed: int, budget: int) -> tuple[float, int]:
    """Wall seconds in the strategy's ask and tell over one run, and its evaluations."""
    s_rng, r_rng = seeded_generators(seed)
    strat = make_strategy(name, sim.context, s_rng)  # type: ignore[attr-defined]
    spent = [0.0]
    ask, tell = strat.ask, strat.tell

    def timed_ask():  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return ask()
        finally:
            spent[0] += time.perf_counter() - t0

    def timed_tell(result):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return tell(result)
        finally:
            spent[0] += time.perf_counter() - t0

    strat.ask, strat.tell = timed_ask, timed_tell  # type: ignore[method-assign]
    tr = run_loop(sim, strat, RunConfig(Budget("evals", budget)), r_rng)  # type: ignore[arg-type]
    return spent[0], len(tr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("strategies", nargs="+")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=100)
    args = ap.parse_args()
    if not CSV.is_file():
        sys.exit(f"NAS-Bench-201 data not found at {CSV}")
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "nb201-cifar10.parquet"
        import_nb201(CSV, "cifar10").save(table)
        sim = load_simulator(table)
        print(
            f"strategy overhead per evaluation (ask + tell), {args.seeds} seeds x {args.budget} evaluations\n"
        )
        print("| strategy | ms per evaluation (95% CI) | ratio to re |")
        print("| --- | --- | --- |")
        rows = {}
        for name in args.strategies:
            per_eval = []
            for seed in range(args.seeds):
                spent, n = timed_run(sim, name, seed, args.budget)
                per_eval.append(1000 * spent / n)
            x = np.asarray(per_eval)
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
            rows[name] = (x.mean(), half)
        base = rows.get("re", (np.nan, np.nan))[0]
        for name, (mean, half) in rows.items():
            print(f"| {name} | {mean:.3g} [{mean - half:.3g}, {mean + half:.3g}] | {mean / base:.3g} |")


if __name__ == "__main__":
    main()

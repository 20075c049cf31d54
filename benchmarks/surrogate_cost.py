"""Surrogate cost of the surrogate-guided strategies on NAS-Bench-201 CIFAR-10.

1. Surrogate wall seconds per evaluation (the trajectory's ``overhead_s`` over its full
   evaluations) of ``screened`` and ``bananas`` over 300-evaluation runs, one run at a
   time (noisy single-seed queries), with the number of surrogate fits.
2. Wall time of ``nasbench compare TABLE --strategies re,bananas --seeds 20 --budget 300``
   on 2 processes (issue 17: at most 5 minutes on 2 cores).

    python benchmarks/surrogate_cost.py [--seeds 2] [--evals 300] [--skip-compare] [--json]
    python benchmarks/surrogate_cost.py "bananas:fit_growth=1,warm_start=false" --skip-compare

A spec is ``NAME[:param=value,...]`` as in ``strategies_real.py``; the defaults are
``screened`` and ``bananas`` with their registered defaults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.experiments.compare import load_simulator  # noqa: E402
from nasbench.tables.importers import import_nb201  # noqa: E402
from strategies import Budget, RunConfig, run_search  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from strategies_real import CSV, parse_spec  # noqa: E402  (one spec parser for the benchmarks)


def strategy_cost(sim, spec: str, seeds: int, evals: int) -> dict:  # type: ignore[no-untyped-def]
    """Per-run surrogate seconds per evaluation and fits of one strategy spec."""
    name, params = parse_spec(spec)
    cfg = RunConfig(Budget.parse(str(evals)))
    runs = []
    for seed in range(seeds):
        t = time.perf_counter()
        tr = run_search(sim, name, seed=seed, config=cfg, params=params)
        wall = time.perf_counter() - t
        n = int(tr.meta["n_evaluations"])
        over = float(tr.meta["overhead_s"])
        runs.append(
            {
                "seed": seed,
                "evaluations": n,
                "overhead_s": over,
                "overhead_s_per_eval": over / max(n, 1),
                "fits": tr.meta.get("strategy_stats", {}).get("fits"),
                "wall_s": wall,
            }
        )
    per_eval = [r["overhead_s_per_eval"] for r in runs]
    return {"spec": spec, "median_overhead_s_per_eval": statistics.median(per_eval), "runs": runs}


def compare_wall(table_file: Path, out: Path, strategies: str, seeds: int, budget: int) -> float:
    """Wall seconds of one ``nasbench compare`` subprocess (2 processes)."""
    cmd = [sys.executable, "-m", "nasbench", "compare", str(table_file), "--strategies", strategies]
    cmd += ["--seeds", str(seeds), "--budget", str(budget), "--processes", "2", "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(proc.stderr)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", default=["screened", "bananas"])
    ap.add_argument("--seeds", type=int, default=2, help="runs per strategy for the cost (seeds 0..N-1)")
    ap.add_argument("--evals", type=int, default=300)
    ap.add_argument("--compare-strategies", default="re,bananas")
    ap.add_argument("--compare-seeds", type=int, default=20)
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = ap.parse_args()
    if not CSV.is_file():
        sys.exit(f"NAS-Bench-201 data not found at {CSV}")
    with tempfile.TemporaryDirectory() as tmp:
        table_file = Path(tmp) / "nb201.parquet"
        import_nb201(CSV, "cifar10").save(table_file)
        sim = load_simulator(table_file)
        costs = [strategy_cost(sim, spec, args.seeds, args.evals) for spec in args.specs]
        cmp = None
        if not args.skip_compare:
            wall = compare_wall(
                table_file, Path(tmp) / "cmp", args.compare_strategies, args.compare_seeds, args.evals
            )
            cmp = {
                "strategies": args.compare_strategies,
                "seeds": args.compare_seeds,
                "budget": args.evals,
                "processes": 2,
                "wall_s": wall,
            }
    result = {"evals": args.evals, "seeds": args.seeds, "strategies": costs, "compare": cmp}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"surrogate wall seconds per evaluation, NB201 CIFAR-10, {args.seeds} run(s) x {args.evals} evaluations"
    )
    print("| strategy | surrogate s/eval (median) | per run | fits per run |")
    print("| --- | --- | --- | --- |")
    for c in costs:
        per_run = ", ".join(f"{r['overhead_s_per_eval']:.3f}" for r in c["runs"])
        fits = ", ".join(str(r["fits"]) for r in c["runs"])
        print(f"| {c['spec']} | {c['median_overhead_s_per_eval']:.3f} | {per_run} | {fits} |")
    if cmp:
        print()
        print(
            f"nasbench compare --strategies {cmp['strategies']} --seeds {cmp['seeds']} --budget {cmp['budget']} "
            f"--processes 2: {cmp['wall_s']:.1f} s wall"
        )


if __name__ == "__main__":
    main()

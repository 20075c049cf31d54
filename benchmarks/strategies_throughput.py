"""Runner throughput on NAS-Bench-201 CIFAR-10 (noisy single-seed queries).

1. Time per evaluation of the full runner loop (strategy ask/tell + seed draw + cost +
   trajectory) for each non-surrogate strategy, against a bare numpy loop that samples an
   index, draws a seed, reads the value and keeps the best (the floor for any runner).
2. Wall time of ``nasbench compare`` with six non-BO strategies x 50 seeds x 300
   evaluations on 2 processes (the issue's target: under 30 s on 2 cores).

    python benchmarks/strategies_throughput.py [--repeats 3] [--skip-compare]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.tables.benchmark import Benchmark, TestOracle  # noqa: E402
from nasbench.tables.importers import import_nb201  # noqa: E402
from strategies import Budget, RunConfig, Simulator, run_search  # noqa: E402

CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201.csv"
NON_BO = ("rs", "re", "ls", "reinforce", "sh", "hb")


def bare_loop(table, n: int, seed: int = 0) -> float:  # type: ignore[no-untyped-def]
    """Seconds per evaluation of the simplest possible random-search loop."""
    rng = np.random.default_rng(seed)
    v = table.values[:, :, -1, table.metric_position("valid_acc")]
    avail = ~np.isnan(v)
    count = avail.sum(1)
    n_arch = v.shape[0]
    best = -np.inf
    t = time.perf_counter()
    for _ in range(n):
        a = int(rng.integers(n_arch))
        s = int(rng.random() * count[a])
        x = float(v[a, s])
        if x > best:
            best = x
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--evals", type=int, default=3000)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--skip-compare", action="store_true")
    args = ap.parse_args()
    if not CSV.is_file():
        sys.exit(f"NAS-Bench-201 data not found at {CSV}")
    table = import_nb201(CSV, "cifar10")
    sim = Simulator(Benchmark(table), TestOracle(table))
    cfg = RunConfig(Budget.parse(str(args.evals)))

    print(
        f"runner time per evaluation, NB201 CIFAR-10, noise=seed, {args.seeds} seeds x {args.evals} evaluations, "
        f"median of {args.repeats} repeats"
    )
    print("| loop | us per evaluation |")
    print("| --- | --- |")
    bare = statistics.median(bare_loop(table, args.evals * args.seeds, r) for r in range(args.repeats))
    print(f"| bare numpy loop (sample, draw seed, read, keep best) | {bare * 1e6:.1f} |")
    for name in NON_BO:
        times = []
        for r in range(args.repeats):
            n = 0
            t = time.perf_counter()
            for s in range(args.seeds):
                n += len(run_search(sim, name, seed=1000 * r + s, config=cfg))
            times.append((time.perf_counter() - t) / n)
        print(f"| runner + {name} | {statistics.median(times) * 1e6:.1f} |")

    if args.skip_compare:
        return
    with tempfile.TemporaryDirectory() as tmp:
        tf = Path(tmp) / "nb201.parquet"
        table.save(tf)
        walls = []
        for r in range(args.repeats):
            out = Path(tmp) / f"cmp{r}"
            t = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nasbench",
                    "compare",
                    str(tf),
                    "--strategies",
                    ",".join(NON_BO),
                    "--seeds",
                    "50",
                    "--budget",
                    "300",
                    "--processes",
                    "2",
                    "--out",
                    str(out),
                ],
                capture_output=True,
                text=True,
                cwd=REPO,
            )
            walls.append(time.perf_counter() - t)
            if proc.returncode:
                sys.exit(proc.stderr)
    print()
    print(
        f"nasbench compare, {len(NON_BO)} strategies x 50 seeds x 300 evaluations, 2 processes: "
        f"median {statistics.median(walls):.1f} s wall (runs: {', '.join(f'{w:.1f}' for w in walls)})"
    )


if __name__ == "__main__":
    main()

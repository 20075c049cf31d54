"""Strategies on real data: NAS-Bench-201 CIFAR-10, 200-epoch validation accuracy.

Runs each strategy spec over the same seeds (noisy single-seed queries by default) and
prints, per strategy, the median full evaluations and simulated time to the top 1%, the
top 0.1% and the optimum (95% order-statistic intervals, share of runs that got there),
the final regret and the ratios against regularized evolution. Figures go to
``benchmarks/STRATEGIES.md`` together with the command.

    python benchmarks/strategies_real.py --seeds 100 --budget 3000 rs re ls
    python benchmarks/strategies_real.py --seeds 100 --budget 300 re "hb:sampler=evolution,eta=10"

A spec is ``NAME[:param=value,...]``; values are read as JSON when they parse.
The data is read from ``../shared/data/nb201/nb201.csv`` (next to the repository).
``--dataset cifar100|imagenet16`` runs on NB201's other datasets: develop a strategy
there, then report it on CIFAR-10, so the reported figures are not tuned on themselves.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.experiments import report  # noqa: E402
from nasbench.experiments.compare import Variant, run_variants  # noqa: E402
from nasbench.tables.importers import import_nb201  # noqa: E402
from strategies.runner import Budget, RunConfig  # noqa: E402

CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201.csv"


def parse_spec(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    params = {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v
    return name, params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--budget", default="300")
    ap.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet16"])
    ap.add_argument("--noise", default="seed", choices=["seed", "mean"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--surrogate", default=None)
    ap.add_argument("--out", default=None, help="keep run files here (default: a temporary folder)")
    ap.add_argument("--json", default=None, help="write the summary here")
    ap.add_argument(
        "--breakdown",
        action="store_true",
        help="also print where each strategy's evaluations went before the top 0.1%%",
    )
    args = ap.parse_args()
    if not CSV.is_file():
        sys.exit(f"NAS-Bench-201 data not found at {CSV}")

    tmp = tempfile.TemporaryDirectory() if args.out is None else None
    out = Path(args.out or tmp.name)  # type: ignore[union-attr]
    out.mkdir(parents=True, exist_ok=True)
    table_file = out / f"nb201-{args.dataset}.parquet"
    if not table_file.exists():
        import_nb201(CSV, args.dataset).save(table_file)
    from nasbench.experiments.compare import load_simulator

    sim = load_simulator(table_file)
    run = RunConfig(Budget.parse(args.budget), workers=args.workers, noise=args.noise)
    variants = []
    for spec in args.specs:
        name, params = parse_spec(spec)
        variants.append(Variant(spec, name, params, args.surrogate, run))
    t0 = time.perf_counter()
    runs, _ = run_variants(str(table_file), out, variants, list(range(args.seeds)), processes=args.processes)
    wall = time.perf_counter() - t0
    summary = report.summarize(runs, sim.targets)

    print(
        f"NAS-Bench-201 {args.dataset} valid@200: {args.seeds} seeds, budget {run.budget}, noise={args.noise}, "
        f"workers={args.workers}; optimum {sim.optimum:.3f}, top 0.1% >= {sim.targets['top0.1']:.3f}, "
        f"top 1% >= {sim.targets['top1']:.3f}; wall {wall:.0f} s"
    )
    print()
    print(
        "| strategy | evals to top 1% | evals to top 0.1% | evals to optimum | time to top 0.1% (s) "
        "| final regret | surrogate s/run |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, e in summary.items():
        t = e["targets"]

        def cell(key: str, what: str = "evals", t: dict = t) -> str:
            d = t[key][what]
            return f"{report.fmt_ci(d, 'median', 4)} ({d['reached']:.0%})"

        print(
            f"| {name} | {cell('top1')} | {cell('top0.1')} | {cell('optimum')} | {cell('top0.1', 'time_s')} "
            f"| {report.fmt_ci(e['final_regret'])} | {e['overhead_s']['mean']:.2f} |"
        )
    ref = next((k for k in summary if k == "re" or k.startswith("re:")), None)
    if ref:
        r_ev = summary[ref]["targets"]["top0.1"]["evals"]["median"]
        r_t = summary[ref]["targets"]["top0.1"]["time_s"]["median"]
        print()
        print(f"ratios to {ref} (median to top 0.1%): evaluations / simulated time")
        for name, e in summary.items():
            ev = e["targets"]["top0.1"]["evals"]["median"]
            ts = e["targets"]["top0.1"]["time_s"]["median"]
            print(
                f"  {name:<40} {ev / r_ev if math.isfinite(ev) else math.inf:.3f} / "
                f"{ts / r_t if math.isfinite(ts) else math.inf:.3f}"
            )
    if args.breakdown:
        print_breakdown(runs, sim.targets["top0.1"], sim.context.max_epoch)
    if args.json:
        from nasbench.core.io import write_json

        write_json(
            Path(args.json),
            {"args": vars(args), "targets": sim.targets, "wall_s": wall, "strategies": summary},
        )


def print_breakdown(runs: list, threshold: float, max_epoch: int) -> None:
    """Per strategy, medians over the runs that reach ``threshold``, counted up to and
    including the evaluation that reaches it: runs started, runs taken to the max epoch
    (from scratch or continued from a lower fidelity), full runs that raised the
    incumbent, and evaluation units spent (one unit = one full evaluation)."""
    print()
    print("before the top 0.1% (medians over the runs that reach it):")
    print("| strategy | runs | started | to the max epoch (continued) | raised the incumbent | units |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, group in report.group(runs).items():
        rows = []
        for tr in group:
            hit = np.flatnonzero(tr["incumbent_mean"] >= threshold - 1e-9)
            if len(hit) == 0:
                continue
            n = int(hit[0]) + 1
            epoch, start = tr["epoch"][:n], tr["from_epoch"][:n]
            full = epoch == max_epoch
            inc = tr["incumbent"][:n][full]
            raised = int(np.sum(inc != np.r_[-1, inc[:-1]]))
            rows.append(
                (
                    int(np.sum(start == 0)),
                    int(full.sum()),
                    int(np.sum(full & (start > 0))),
                    raised,
                    float(tr["evals"][n - 1]),
                )
            )
        if not rows:
            print(f"| {name} | 0 | - | - | - | - |")
            continue
        m = np.median(np.asarray(rows, dtype=float), axis=0)
        print(f"| {name} | {len(rows)} | {m[0]:g} | {m[1]:g} ({m[2]:g}) | {m[3]:g} | {m[4]:.4g} |")


if __name__ == "__main__":
    main()

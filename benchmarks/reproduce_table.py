"""Retrain populations of the shipped digits table and compare them with it, bit for bit.

Run it after any change to the trainer, the model or the recipe: it tells whether the
current code still reproduces ``data/digits.parquet`` (the README's build command made
it). Each population of the build's partition (K=50, the unique cells x seeds 0 and 1)
is retrained with the current code and every member's curves (train/valid/test loss and
accuracy, all epochs) are compared exactly with the table; ``time_s`` is wall-clock and
never compared.

    python benchmarks/reproduce_table.py                    # populations 0 and 7
    python benchmarks/reproduce_table.py --populations 0,100,264 --json

Exact equality holds on one machine type; XLA:CPU may round differently on another CPU
(another vector ISA), so a mismatch there is not by itself a bug. Exit codes: 0 every
curve identical, 1 some differ, 2 bad arguments or missing table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=str(Path(__file__).resolve().parents[1] / "data" / "digits.parquet"))
    ap.add_argument("--populations", default="0,7", help="comma-separated population numbers of the partition")
    ap.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = ap.parse_args()

    import pandas as pd

    from nasbench.train.build import BuildConfig, plan_build, resolve_space
    from nasbench.train.data import load_dataset
    from nasbench.train.population import PopulationTrainer
    from nasbench.train.recipe import PRESETS

    try:
        wanted = [int(p) for p in args.populations.split(",") if p.strip()]
    except ValueError:
        print(f"error: --populations must be comma-separated integers, got {args.populations!r}", file=sys.stderr)
        return 2
    try:
        table = pd.read_parquet(args.table)
    except (ValueError, OSError) as exc:
        print(f"error: cannot read table {args.table}: {type(exc).__name__}", file=sys.stderr)
        return 2
    recipe = PRESETS["digits"]
    ds = load_dataset("digits", recipe)
    # the build's own plan for the README's command (unique cells, seeds 0 and 1, K=50)
    plan = plan_build(BuildConfig("digits", recipe, Path(args.table), seeds=(0, 1), population=50),
                      resolve_space("nb201"), ds)
    arch, seed, ops, groups, caps = plan.arch, plan.seed, plan.ops, plan.groups, plan.capacities
    bad = [p for p in wanted if not 0 <= p < len(groups)]
    if bad:
        print(f"error: population {bad[0]} out of range 0..{len(groups) - 1}", file=sys.stderr)
        return 2
    stored = table.set_index(["arch_index", "seed", "epoch"]).sort_index()
    trainer = PopulationTrainer(recipe, ds, caps, 50)
    report = []
    for p in wanted:
        g = groups[p]
        t0 = time.perf_counter()
        res = trainer.train(arch[g], seed[g], ops[g])
        same = total = 0
        worst = 0.0
        for i, (a, s) in enumerate(zip(arch[g], seed[g], strict=True)):
            rows = stored.loc[(int(a), int(s))]
            for m in METRICS:
                want = rows[m].to_numpy(np.float32)
                got = res.metrics[m][i]
                total += 1
                if np.array_equal(want, got, equal_nan=True):
                    same += 1
                else:
                    worst = max(worst, float(np.nanmax(np.abs(want.astype(np.float64) - got))))
        report.append({"population": p, "members": len(g), "curves": total, "identical": same,
                       "max_abs_difference": worst, "seconds": round(time.perf_counter() - t0, 1)})
        if not args.json:
            print(f"population {p}: {same}/{total} member-metric curves identical"
                  + (f" (largest difference {worst:.3g})" if same < total else "")
                  + f", {report[-1]['seconds']} s", flush=True)
    ok = all(r["identical"] == r["curves"] for r in report)
    if args.json:
        print(json.dumps({"table": args.table, "compile_s": round(trainer.compile_s, 1),
                          "reproduced": ok, "populations": report}, indent=2))
    else:
        print("reproduced: every curve identical" if ok else "NOT reproduced: some curves differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

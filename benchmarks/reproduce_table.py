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
(another vector ISA), so a mismatch there is not by itself a bug. The script prints the
platform it runs on and the ones the table's shards were trained on (``build.platforms``,
recorded by builds since 2026-11-29), and where curves differ, how many members' final
validation accuracy moved and by how much, next to the seed-to-seed difference of the same
cells in the table. Exit codes: 0 every curve identical, 1 some differ, 2 bad arguments or
missing table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=str(Path(__file__).resolve().parents[1] / "data" / "digits.parquet"))
    ap.add_argument(
        "--populations", default="0,7", help="comma-separated population numbers of the partition"
    )
    ap.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = ap.parse_args()

    import pandas as pd

    from nasbench.core.errors import NasbenchError
    from nasbench.core.metrics import METRICS
    from nasbench.tables.table import read_metadata
    from nasbench.train.build import BuildConfig, plan_build, resolve_space
    from nasbench.train.data import load_dataset
    from nasbench.train.population import PopulationTrainer
    from nasbench.train.recipe import PRESETS

    try:
        wanted = [int(p) for p in args.populations.split(",") if p.strip()]
    except ValueError:
        print(
            f"error: --populations must be comma-separated integers, got {args.populations!r}",
            file=sys.stderr,
        )
        return 2
    try:
        table = pd.read_parquet(args.table)
    except (ValueError, OSError) as exc:
        print(f"error: cannot read table {args.table}: {type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        table_meta = read_metadata(args.table)
    except NasbenchError as exc:  # parquet that pandas reads but that is no nasbench table
        print(f"error: {exc}", file=sys.stderr)
        return 2
    recipe = PRESETS["digits"]
    ds = load_dataset("digits", recipe)
    # the build's own plan for the README's command (unique cells, seeds 0 and 1, K=50)
    plan = plan_build(
        BuildConfig("digits", recipe, Path(args.table), seeds=(0, 1), population=50),
        resolve_space("nb201"),
        ds,
    )
    arch, seed, ops, groups, caps = plan.arch, plan.seed, plan.ops, plan.groups, plan.capacities
    bad = [p for p in wanted if not 0 <= p < len(groups)]
    if bad:
        print(f"error: population {bad[0]} out of range 0..{len(groups) - 1}", file=sys.stderr)
        return 2
    stored = table.set_index(["arch_index", "seed", "epoch"]).sort_index()
    plan_seeds = sorted({int(x) for x in seed})
    trainer = PopulationTrainer(recipe, ds, caps, 50)
    here = trainer.platform
    built_on = table_meta.get("build", {}).get("platforms", ["not recorded (built before platforms were)"])
    if not args.json:
        print(f"platform: {here}; the table's shards were trained on: {'; '.join(built_on)}", flush=True)
    report = []
    for p in wanted:
        g = groups[p]
        t0 = time.perf_counter()
        res = trainer.train(arch[g], seed[g], ops[g])
        same = total = 0
        worst = 0.0
        final_diff, seed_diff = [], []  # |reproduced - stored| and |other seed - stored|, last valid_acc
        for i, (a, s) in enumerate(zip(arch[g], seed[g], strict=True)):
            rows = stored.loc[(int(a), int(s))]
            final_diff.append(abs(float(res.metrics["valid_acc"][i][-1]) - float(rows["valid_acc"].iloc[-1])))
            other = [o for o in plan_seeds if o != int(s)]
            if other and (int(a), other[0]) in stored.index:
                seed_diff.append(
                    abs(
                        float(stored.loc[(int(a), other[0])]["valid_acc"].iloc[-1])
                        - float(rows["valid_acc"].iloc[-1])
                    )
                )
            for m in METRICS[:-1]:  # every metric but time_s
                want = rows[m].to_numpy(np.float32)
                got = res.metrics[m][i]
                total += 1
                if np.array_equal(want, got, equal_nan=True):
                    same += 1
                else:
                    worst = max(worst, float(np.nanmax(np.abs(want.astype(np.float64) - got))))
        report.append(
            {
                "population": p,
                "members": len(g),
                "curves": total,
                "identical": same,
                "max_abs_difference": worst,
                "seconds": round(time.perf_counter() - t0, 1),
                "final_valid_acc_differs": int(np.sum(np.asarray(final_diff) > 0)),
                "final_valid_acc_mean_abs_difference": float(np.nanmean(final_diff)),
                "seed_to_seed_mean_abs_difference": (float(np.nanmean(seed_diff)) if seed_diff else None),
            }
        )
        if not args.json:
            print(
                f"population {p}: {same}/{total} member-metric curves identical"
                + (f" (largest difference {worst:.3g})" if same < total else "")
                + f", {report[-1]['seconds']} s",
                flush=True,
            )
            if same < total and seed_diff:
                r = report[-1]
                print(
                    f"  final valid accuracy differs for {r['final_valid_acc_differs']} of {len(g)}"
                    " members,"
                    f" mean |reproduced - table| {r['final_valid_acc_mean_abs_difference']:.3g} points;"
                    f" mean |seed 0 - seed 1| of the same cells in the table"
                    f" {r['seed_to_seed_mean_abs_difference']:.3g}",
                    flush=True,
                )
    ok = all(r["identical"] == r["curves"] for r in report)
    if args.json:
        print(
            json.dumps(
                {
                    "table": args.table,
                    "platform": here,
                    "table_platforms": built_on,
                    "compile_s": round(trainer.compile_s, 1),
                    "reproduced": ok,
                    "populations": report,
                },
                indent=2,
            )
        )
    else:
        print("reproduced: every curve identical" if ok else "NOT reproduced: some curves differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

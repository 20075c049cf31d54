"""MLP-space population training against one network at a time, same recipe, same process.

Runs come from the build's own plan for ``nasbench build --space mlp --archs all --seeds
0,1 --population K`` (whole architectures in a seeded random order). The population
trainer compiles once (on the first population, untimed) and then trains
``--populations`` populations; the per-network trainer (``mode="single"``, each network
unpadded, one compiled program per shape) trains ``--single-runs`` of the same runs.
Prints JSON: medians of seconds per run on both sides, their ratio with compilation
excluded and with the per-shape compiles counted, and the machine's load.

    python benchmarks/train_mlp_population.py                          # mlp-digits recipe, K=50
    python benchmarks/train_mlp_population.py --populations 2 --single-runs 8 --epochs 2

Check ``uptime`` first: another job on the machine skews both sides (the load average
is recorded in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--populations", type=int, default=3, help="populations timed (after one compile)")
    ap.add_argument("--single-runs", type=int, default=12, help="runs trained one network at a time")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    args = ap.parse_args()
    load_before = os.getloadavg()

    import jax

    from nasbench.train.build import BuildConfig, plan_build, resolve_build_space
    from nasbench.train.data import load_dataset
    from nasbench.train.mlp import MLPTrainer
    from nasbench.train.recipe import PRESETS

    base = PRESETS["mlp-digits"]
    recipe = base if args.epochs is None else base.replace(epochs=args.epochs)
    ds = load_dataset("digits", recipe)
    config = BuildConfig(
        "digits",
        recipe,
        Path("unused.parquet"),
        space="mlp",
        seeds=(0, 1),
        population=args.population,
        archs="all",
    )
    plan = plan_build(config, resolve_build_space("mlp"), ds)
    arch, seed, groups = plan.arch, plan.seed, plan.groups

    pop = MLPTrainer(recipe, ds, args.population)
    t0 = time.perf_counter()
    pop.train(arch[groups[0]], seed[groups[0]])  # compiles (and trains) once
    pop_first = time.perf_counter() - t0
    pop_compile = pop.compile_s
    per_run = []
    diverged = 0
    for g in groups[1 : 1 + args.populations]:
        t = time.perf_counter()
        res = pop.train(arch[g], seed[g])
        per_run.append((time.perf_counter() - t) / len(g))
        diverged += int(res.diverged.sum())

    single = MLPTrainer(recipe, ds, 1, mode="single")
    timed = np.concatenate(groups[1 : 1 + args.populations])
    pick = np.random.default_rng(0).choice(timed, min(args.single_runs, len(timed)), replace=False)
    s_run, s_with_compile = [], []
    for i in pick:
        c0, t = single.compile_s, time.perf_counter()
        single.train(arch[i : i + 1], seed[i : i + 1])
        wall = time.perf_counter() - t
        s_with_compile.append(wall)
        s_run.append(wall - (single.compile_s - c0))

    pop_med, s_med, s_med_c = (float(np.median(v)) for v in (per_run, s_run, s_with_compile))
    out = {
        "device": str(jax.devices()[0]),
        "platform": pop.platform,
        "space": "mlp (5,100 configurations)",
        "recipe": "mlp-digits",
        "epochs": recipe.epochs,
        "population": args.population,
        "population_runs_timed": int(sum(len(g) for g in groups[1 : 1 + args.populations])),
        "population_median_s_per_run": pop_med,
        "population_compile_s": round(pop_compile, 2),
        "population_first_call_s": round(pop_first, 2),
        "population_diverged_runs": diverged,
        "single_runs_timed": len(pick),
        "single_median_s_per_run": s_med,
        "single_median_s_per_run_with_compile": s_med_c,
        "single_compile_s_total": round(single.compile_s, 2),
        "ratio": s_med / pop_med,
        "ratio_with_single_compiles": s_med_c / pop_med,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""MLP population training against one network at a time, same recipe, same process.

Runs come from the build's own plan for ``nasbench build --space SPACE --dataset DATA
--archs all --seeds 0,1 --population K``: bucketed populations (members of one depth,
activation per layer, batch norm, batch size and width classes; see
``nasbench/train/mlp.py``). The population side trains ``--populations`` populations of
that plan, each compiled on first use; the per-network side (``mode="single"``, each
network at its exact widths, one compiled program per network) trains ``--single-runs``
runs of the same populations. Prints JSON with:

* seconds per run on both sides, compilation excluded, and their ratio (the speed once
  compiled);
* the projected cost per run of the whole build, compilation included on *both* sides:
  the population side compiles one program per (bucket, population size) of the plan, the
  per-network side one per distinct network (widths, activations, batch norm, batch size),
  each at the median compile time measured here;
* ``ratio_old_style``: one network at a time with its compilation counted against the
  compiled population (the figure this benchmark reported before buckets, 13.5x);
* the machine's load before and after.

    python benchmarks/train_mlp_population.py                       # mlp on digits, K=50
    python benchmarks/train_mlp_population.py --space benchmarks/spaces/tabular_mlp.toml \\
        --dataset sklearn:breast_cancer
    python benchmarks/train_mlp_population.py --populations 2 --single-runs 8 --epochs 2

Check ``uptime`` first: another job on the machine skews both sides.
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
    ap.add_argument("--space", default="mlp", help="mlp or a declaration file")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--recipe", default=None, help="default: the family's for the dataset")
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--populations", type=int, default=6, help="populations of the plan timed")
    ap.add_argument("--single-runs", type=int, default=12, help="runs trained one network at a time")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    args = ap.parse_args()
    load_before = os.getloadavg()

    import jax

    from nasbench.train.build import BuildConfig, default_recipe_name, plan_build, resolve_build_space
    from nasbench.train.data import load_dataset
    from nasbench.train.families import family_of
    from nasbench.train.recipe import resolve_recipe

    space = resolve_build_space(args.space)
    family = family_of(space)
    recipe = resolve_recipe(args.recipe or default_recipe_name(args.dataset, args.space))
    if args.epochs is not None:
        recipe = recipe.replace(epochs=args.epochs)
    ds = load_dataset(args.dataset, recipe)
    config = BuildConfig(
        args.dataset, recipe, Path("unused.parquet"), space=args.space, seeds=(0, 1),
        population=args.population, archs="all",
    )  # fmt: skip
    plan = plan_build(config, space, ds)
    arch, seed, ops, groups = plan.arch, plan.seed, plan.ops, plan.groups

    pop = family.trainer(recipe, ds, args.population)
    programs = {(pop._layout(arch[g], ops[g]), pop._population_size(arch[g], ops[g])) for g in groups}
    per_run, compiles, sizes = [], [], []
    diverged = 0
    timed = groups[: args.populations]
    for g in timed:
        c0, t = pop.compile_s, time.perf_counter()
        res = pop.train(arch[g], seed[g])
        wall = time.perf_counter() - t
        c = pop.compile_s - c0
        if c > 0:
            compiles.append(c)
        per_run.append((wall - c) / len(g))
        sizes.append(len(g))
        diverged += int(res.diverged.sum())

    single = family.trainer(recipe, ds, 1, mode="single")
    pool = np.concatenate(timed)
    pick = np.random.default_rng(0).choice(pool, min(args.single_runs, len(pool)), replace=False)
    s_run, s_compile = [], []
    for i in pick:
        c0, t = single.compile_s, time.perf_counter()
        single.train(arch[i : i + 1], seed[i : i + 1])
        wall = time.perf_counter() - t
        s_compile.append(single.compile_s - c0)
        s_run.append(wall - s_compile[-1])
    networks = {single._single(arch[i : i + 1], ops[i : i + 1]) for i in range(len(arch))}

    runs = len(arch)
    pop_med, s_med = float(np.median(per_run)), float(np.median(s_run))
    pop_c = float(np.median(compiles)) if compiles else 0.0
    s_c = float(np.median([c for c in s_compile if c > 0] or [0.0]))
    pop_build = (len(programs) * pop_c + runs * pop_med) / runs
    single_build = (len(networks) * s_c + runs * s_med) / runs
    out = {
        "device": str(jax.devices()[0]),
        "platform": pop.platform,
        "space": f"{args.space} ({space.size:,} configurations)",
        "dataset": args.dataset,
        "recipe": args.recipe or default_recipe_name(args.dataset, args.space),
        "epochs": recipe.epochs,
        "population": args.population,
        "plan_runs": runs,
        "plan_populations": len(groups),
        "plan_programs": len(programs),
        "plan_networks": len(networks),
        "population_runs_timed": int(sum(sizes)),
        "population_sizes_timed": sizes,
        "population_median_s_per_run": pop_med,
        "population_median_compile_s": round(pop_c, 3),
        "population_diverged_runs": diverged,
        "single_runs_timed": len(pick),
        "single_median_s_per_run": s_med,
        "single_median_compile_s": round(s_c, 3),
        "ratio": s_med / pop_med,
        "projected_build_s_per_run_population": pop_build,
        "projected_build_s_per_run_single": single_build,
        "ratio_with_compiles": single_build / pop_build,
        "ratio_old_style": (s_med + s_c) / pop_med,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

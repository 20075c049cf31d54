"""Population training against per-architecture training, same recipe, same process.

Prints runs (architecture x seed) per second of both modes and their ratio, with
compilation excluded (reported apart), and the achieved GFLOP/s as a fraction of a plain
float32 matmul on the same machine.

    python benchmarks/train_population.py                 # digits recipe, K=50
    python benchmarks/train_population.py --populations 3 --single-runs 12 --json

FLOPs are the analytic count of ``nasbench.train.model.arch_cost`` (convolutions and the
classifier; backward = 2x forward), for training and evaluation together.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def measure(recipe, ds, population: int, populations: int, single_runs: int, label: str) -> dict:  # type: ignore[no-untyped-def]
    """Population against one network at a time on ``ds``: runs per second with and without
    compiles, and the achieved GFLOP/s against a float32 matmul on the same device."""
    from pathlib import Path

    import jax

    from nasbench.train.build import BuildConfig, plan_build, resolve_space
    from nasbench.train.population import PopulationTrainer, train_flops

    # the build's own plan for `nasbench build --archs unique --seeds 0,1 --population K`
    plan = plan_build(
        BuildConfig("digits", recipe, Path("unused.parquet"), seeds=(0, 1), population=population),
        resolve_space("nb201"),
        ds,
    )
    arch, seed, ops, groups, caps = plan.arch, plan.seed, plan.ops, plan.groups, plan.capacities
    n_tr, n_va, n_te = len(ds.y_train), len(ds.y_valid), len(ds.y_test)

    def flops(idx: np.ndarray) -> float:
        from nasbench.train.model import arch_cost

        per = np.array([arch_cost(recipe, o, ds.image_shape, ds.n_classes)["flops"] for o in ops[idx]])
        return train_flops(recipe, per, n_tr, n_va, n_te)

    pop = PopulationTrainer(recipe, ds, caps, population)
    t0 = time.perf_counter()
    pop.train(arch[groups[0]], seed[groups[0]], ops[groups[0]])  # compiles (and trains) once
    pop_compile = pop.compile_s
    first = time.perf_counter() - t0
    pop_runs = pop_time = pop_flops = 0.0
    for g in groups[1 : 1 + populations]:
        t = time.perf_counter()
        res = pop.train(arch[g], seed[g], ops[g])
        pop_time += time.perf_counter() - t
        pop_runs += len(g)
        pop_flops += flops(g)
        assert not res.diverged.any()

    single = PopulationTrainer(recipe, ds, None, 1, mode="single")
    pick = np.concatenate(groups[1 : 1 + populations])
    pick = np.random.default_rng(0).choice(pick, min(single_runs, len(pick)), replace=False)
    s_wall = 0.0
    for i in pick:
        t = time.perf_counter()
        single.train(arch[i : i + 1], seed[i : i + 1], ops[i : i + 1])
        s_wall += time.perf_counter() - t
    s_compile = single.compile_s
    s_time = s_wall - s_compile
    s_flops = flops(pick)

    peak = matmul_gflops()
    out = {
        "device": str(jax.devices()[0]),
        "data": label,
        "epochs": recipe.epochs,
        "population": population,
        "population_runs_timed": int(pop_runs),
        "population_runs_per_s": pop_runs / pop_time,
        "population_s_per_run": pop_time / pop_runs,
        "population_gflops": pop_flops / pop_time / 1e9,
        "population_compile_s": pop_compile,
        "population_first_call_s": first,
        "population_runs_per_s_with_compile": (pop_runs + len(groups[0])) / (pop_time + first),
        "single_runs_timed": len(pick),
        "single_runs_per_s": len(pick) / s_time,
        "single_s_per_run": s_time / len(pick),
        "single_gflops": s_flops / s_time / 1e9,
        "single_compile_s_per_arch": s_compile / len(pick),
        "single_runs_per_s_with_compile": len(pick) / s_wall,
        "ratio": (pop_runs / pop_time) / (len(pick) / s_time),
        "ratio_vs_single_with_compile": (pop_runs / pop_time) / (len(pick) / s_wall),
        "matmul_gflops": peak,
    }
    out["population_fraction_of_matmul"] = out["population_gflops"] / peak
    out["single_fraction_of_matmul"] = out["single_gflops"] / peak
    return out


def print_table(out: dict) -> None:
    """The figures of :func:`measure` as a small table."""
    population = out["population"]
    print(f"device {out['device']}, {out['data']}, {out['epochs']} epochs, population {population}")
    print(f"{'mode':<28}{'runs/s':>10}{'s/run':>10}{'GFLOP/s':>10}{'of matmul':>11}")
    print(
        f"{f'population (K={population})':<28}{out['population_runs_per_s']:>10.3f}"
        f"{out['population_s_per_run']:>10.3f}{out['population_gflops']:>10.1f}{out['population_fraction_of_matmul']:>10.0%}"
    )
    print(
        f"{'per architecture (jit each)':<28}{out['single_runs_per_s']:>10.3f}"
        f"{out['single_s_per_run']:>10.3f}{out['single_gflops']:>10.1f}{out['single_fraction_of_matmul']:>10.0%}"
    )
    print(
        f"ratio population / per-architecture: {out['ratio']:.2f}x  "
        f"({out['ratio_vs_single_with_compile']:.1f}x counting the per-architecture compiles, "
        f"{out['single_compile_s_per_arch']:.1f} s each; population compile {out['population_compile_s']:.1f} s once)"
    )
    print(f"float32 matmul peak: {out['matmul_gflops']:.1f} GFLOP/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument(
        "--populations", type=int, default=2, help="populations to time (after one warm-up compile)"
    )
    ap.add_argument("--single-runs", type=int, default=8, help="architectures trained one at a time")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from nasbench.train.data import load_dataset
    from nasbench.train.recipe import PRESETS

    recipe = PRESETS["digits"] if args.epochs is None else PRESETS["digits"].replace(epochs=args.epochs)
    out = measure(
        recipe,
        load_dataset("digits", recipe),
        args.population,
        args.populations,
        args.single_runs,
        "digits recipe",
    )
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print_table(out)


if __name__ == "__main__":
    main()

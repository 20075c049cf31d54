"""Zero-cost proxies as performance estimators: rank quality and cost (benchmarks/ESTIMATORS.md).

Two measurements, each printing one JSON object:

    # (a) every unique cell of the shipped digits table, the digits recipe, all proxies;
    #     Kendall tau / Spearman / top-1% overlap against the seed-mean final valid accuracy
    #     over the table's connected unique cells, and the wall time
    python benchmarks/estimators.py digits --seed 0
    python benchmarks/estimators.py digits --scores proxies.parquet   # score a CLI output instead

    # (b) NAS-Bench-201's own CIFAR-10 network (32x32x3, 16/32/64 channels, 5 cells per stage,
    #     no training): data-free synflow / params / flops for all 15,625 cells against
    #     e200_c10valid_validacc_mean of ../shared/data/nb201/nb201.csv (read in place).
    #     In chunks (each one command under the CPU lock), then the report:
    python benchmarks/estimators.py nb201 --chunk 0 --chunks 4
    ...
    python benchmarks/estimators.py nb201 --report

Chunks are written to ``--work`` (default ``/tmp/nasbench-estimators``), never into the
repository. Set ``JAX_COMPILATION_CACHE_DIR`` to reuse one chunk's compile in the next.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NB201_CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201.csv"
PUBLISHED_SYNFLOW_SPEARMAN = 0.74  # Abdelfattah et al. 2021, NAS-Bench-201 CIFAR-10
#: Abdelfattah et al.'s vote: synflow, jacob_cov and snip (fixed by the paper, not tuned here)
VOTE = ("synflow", "jacob_cov", "snip")


def rank_quality(score: np.ndarray, truth: np.ndarray, top: float = 0.01) -> dict[str, float]:
    """Kendall tau-b, Spearman and top-``top`` overlap of ``score`` against ``truth`` (larger = better).

    Non-finite scores rank lowest.
    """
    from scipy.stats import kendalltau, spearmanr

    s = np.where(np.isfinite(score), score, -np.inf)
    s = np.where(np.isneginf(s), np.nanmin(np.where(np.isfinite(s), s, np.nan)) - 1.0, s)
    k = max(1, int(np.ceil(top * len(s))))
    best_true = set(np.argsort(-truth, kind="stable")[:k].tolist())
    best_est = np.argsort(-s, kind="stable")[:k]
    return {
        "kendall_tau": round(float(kendalltau(s, truth).statistic), 4),
        "spearman": round(float(spearmanr(s, truth).statistic), 4),
        f"top{top:.0%}_overlap": round(len(best_true.intersection(best_est.tolist())) / k, 4),
    }


def mean_rank(df, names) -> np.ndarray:  # noqa: ANN001
    from scipy.stats import rankdata

    cols = []
    for n in names:
        v = df[n].to_numpy(np.float64)
        cols.append(rankdata(np.where(np.isfinite(v), v, -np.inf)))
    return np.mean(cols, axis=0)


def digits(args: argparse.Namespace) -> dict:
    import pandas as pd

    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.default import default_table_path
    from nasbench.train.data import load_dataset
    from nasbench.train.proxies import proxy_scores
    from nasbench.train.recipe import PRESETS

    space = NB201Space()
    archs, truth = _digits_truth()
    if args.scores:
        df = pd.read_parquet(args.scores)
        wall = compile_s = None
    else:
        recipe = PRESETS["digits"]
        data = load_dataset("digits", recipe)
        t0 = time.perf_counter()
        df = proxy_scores(
            space, space.unique_indices(), recipe, data, seed=args.seed, batch=args.batch,
            population=args.population,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        compile_s = df.attrs["timing"]["compile_s"]
    rows = df.set_index("arch_index").reindex(archs)
    names = [c for c in df.columns if c not in ("arch", "arch_index")]
    out = {
        "measurement": "digits",
        "table": str(default_table_path()),
        "ground_truth": "seed-mean final valid_acc, connected unique cells",
        "n_cells": len(truth),
        "seed": args.seed,
        "batch": args.batch,
        "population": args.population,
        "wall_s_all_unique_cells": None if wall is None else round(wall, 1),
        "compile_s": None if compile_s is None else round(compile_s, 1),
        "proxies": {n: rank_quality(rows[n].to_numpy(np.float64), truth) for n in names},
    }
    if all(n in names for n in VOTE):
        out["proxies"]["vote(synflow,jacob_cov,snip)"] = rank_quality(mean_rank(rows, VOTE), truth)
    return out


def _digits_truth() -> tuple[np.ndarray, np.ndarray]:
    """The shipped table's connected unique cells and their seed-mean final valid accuracy."""
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.benchmark import Benchmark
    from nasbench.tables.default import default_table_path

    bench = Benchmark.load(default_table_path())
    archs = np.asarray(bench.table.arch_index)
    truth = bench.values_at("valid_acc", None).astype(np.float64)
    keep = NB201Space().is_connected(archs) & np.isfinite(truth)
    return archs[keep], truth[keep]


def oneshot(args: argparse.Namespace) -> dict:
    """One-shot / few-shot supernets on digits, one score file per seed in ``--work`` (resumable)."""
    import pandas as pd
    from scipy.stats import rankdata

    from nasbench.spaces.nb201 import NB201Space
    from nasbench.train.data import load_dataset
    from nasbench.train.model import arch_cost
    from nasbench.train.oneshot import SupernetConfig, oneshot_scores
    from nasbench.train.recipe import PRESETS

    space = NB201Space()
    archs, truth = _digits_truth()
    params = np.array(
        [arch_cost(PRESETS["digits"], o, (8, 8, 1), 10)["params"] for o in space.op_matrix(archs)]
    )
    top1 = set(archs[np.argsort(-truth, kind="stable")[: int(np.ceil(0.01 * len(truth)))]].tolist())
    recipe = PRESETS["digits"]
    data = load_dataset("digits", recipe)
    cfg = SupernetConfig(
        mode=args.mode, epochs=args.epochs, bn=args.bn, score_images=args.score_images,
        population=args.population, split_edge=args.split_edge,
    )  # fmt: skip
    tag = f"{args.mode}-e{args.epochs}-{args.bn}-s{args.score_images or 'all'}" + (
        f"-edge{args.split_edge}" if args.mode == "fewshot" else ""
    )
    args.work.mkdir(parents=True, exist_ok=True)
    per_seed = []
    for seed in args.seeds:
        path = args.work / f"{tag}-seed{seed}.parquet"
        if path.is_file():
            df = pd.read_parquet(path)
            timing = (
                json.loads(df.attrs.get("timing", "{}")) if isinstance(df.attrs.get("timing"), str) else {}
            )
        else:
            df = oneshot_scores(
                space, space.unique_indices(), recipe, data, cfg, seed=seed,
                checkpoint=args.work / f"{tag}-seed{seed}.supernet.npz", resume=True,
            )  # fmt: skip
            timing = {k: round(float(v), 2) for k, v in df.attrs["timing"].items() if v is not None}
            out = df.copy()
            out.attrs = {"timing": json.dumps(timing)}
            out.to_parquet(path)
        rows = df.set_index("arch_index").reindex(archs)
        score = rows["oneshot"].to_numpy(np.float64)
        q = rank_quality(score, truth)
        # the estimator's top 20 (ties broken by index): is the best of them in the table's top 1%?
        best20 = archs[np.lexsort((archs, -score))[:20]]
        q["top20_best_in_top1%"] = bool(any(int(a) in top1 for a in best20))
        q["top20_best_valid_acc"] = round(float(truth[np.isin(archs, best20)].max()), 3)
        # the label-free vote of the score and #params (equal weights, fixed before measuring)
        q["vote_with_params"] = rank_quality((rankdata(score) + rankdata(params)) / 2, truth)
        per_seed.append({"seed": seed, **q, "timing": timing})
    taus = [p["kendall_tau"] for p in per_seed]
    return {
        "measurement": f"digits {args.mode}",
        "settings": {**cfg.training_key(), "bn": cfg.bn, "score_images": cfg.score_images},
        "n_cells": len(truth),
        "table_top1%_threshold": round(float(np.sort(truth)[::-1][len(top1) - 1]), 3),
        "kendall_tau_median": round(float(np.median(taus)), 4),
        "kendall_tau_mean": round(float(np.mean(taus)), 4),
        "spearman_median": round(float(np.median([p["spearman"] for p in per_seed])), 4),
        "seeds_top20_best_in_top1%": f"{sum(p['top20_best_in_top1%'] for p in per_seed)} of {len(per_seed)}",
        "vote_with_params_tau_median": round(
            float(np.median([p["vote_with_params"]["kendall_tau"] for p in per_seed])), 4
        ),
        "params_tau": rank_quality(params, truth)["kendall_tau"],
        "per_seed": per_seed,
    }


def _chunk_path(work: Path, i: int, n: int) -> Path:
    return work / f"nb201-c10-datafree-seed{0}-chunk{i}of{n}.parquet"


def nb201_chunk(args: argparse.Namespace) -> dict:
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.train.proxies import InputSpec, proxy_scores
    from nasbench.train.recipe import PRESETS

    space = NB201Space()
    # strided, so that every chunk (and any finished subset of chunks) is a sample of the space
    part = np.arange(args.chunk, space.size, args.chunks)
    t0 = time.perf_counter()
    df = proxy_scores(
        space, part, PRESETS["nb201"], InputSpec((32, 32, 3), 10), proxies="data-free", seed=args.seed,
        population=args.population,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    args.work.mkdir(parents=True, exist_ok=True)
    path = _chunk_path(args.work, args.chunk, args.chunks)
    df.to_parquet(path)
    return {
        "measurement": "nb201 chunk",
        "chunk": f"{args.chunk}/{args.chunks}",
        "cells": len(df),
        "out": str(path),
        "wall_s": round(wall, 1),
        "compile_s": round(df.attrs["timing"]["compile_s"], 1),
    }


def nb201_report(args: argparse.Namespace) -> dict:
    import pandas as pd

    from nasbench.spaces.nb201 import NB201Space

    paths = [_chunk_path(args.work, i, args.chunks) for i in range(args.chunks)]
    missing = [str(p) for p in paths if not p.is_file()]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise SystemExit(f"no chunks in {args.work}")
    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    space = NB201Space()
    csv = pd.read_csv(
        args.csv, usecols=["arch_str", "e200_c10valid_validacc_mean", "e200_c10valid_params_mb"]
    )
    csv["arch_index"] = [space.index(s) for s in csv["arch_str"]]
    m = csv.merge(df, on="arch_index", how="inner", validate="one_to_one")
    truth = m["e200_c10valid_validacc_mean"].to_numpy(np.float64)
    params_diff = np.abs(m["params"].to_numpy() / 1e6 - m["e200_c10valid_params_mb"].to_numpy())
    quality = {n: rank_quality(m[n].to_numpy(np.float64), truth) for n in ("synflow", "params", "flops")}
    return {
        "measurement": "nb201 cifar10 data-free",
        "csv": str(args.csv),
        "n_cells": len(m),
        "missing_chunks": missing,
        "ground_truth": "e200_c10valid_validacc_mean",
        "proxies": quality,
        "synflow_published_spearman": PUBLISHED_SYNFLOW_SPEARMAN,
        "synflow_spearman_gap": round(quality["synflow"]["spearman"] - PUBLISHED_SYNFLOW_SPEARMAN, 4),
        "synflow_non_finite": int((~np.isfinite(m["synflow"].to_numpy())).sum()),
        "params_vs_e200_c10valid_params_mb": {
            "max_abs_diff_mb": float(params_diff.max()),
            "n_differ_over_1e-5_mb": int((params_diff > 1e-5).sum()),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["digits", "nb201", "oneshot"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--seeds", type=lambda t: [int(x) for x in t.split(",")], default=[0], help="oneshot: 0,1,2"
    )
    ap.add_argument("--mode", choices=["oneshot", "fewshot"], default="oneshot")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--bn", choices=["batch", "recal"], default="batch")
    ap.add_argument("--score-images", type=int, default=256)
    ap.add_argument("--split-edge", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--scores", type=Path, help="digits: evaluate this score file instead of computing")
    ap.add_argument("--chunk", type=int)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--work", type=Path, default=Path("/tmp/nasbench-estimators"))
    ap.add_argument("--csv", type=Path, default=NB201_CSV)
    args = ap.parse_args(argv)
    if args.what == "digits":
        out = digits(args)
    elif args.what == "oneshot":
        out = oneshot(args)
    elif args.report:
        out = nb201_report(args)
    elif args.chunk is not None:
        out = nb201_chunk(args)
    else:
        ap.error("nb201 needs --chunk I (0..chunks-1) or --report")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

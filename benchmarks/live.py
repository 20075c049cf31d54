"""Live search on digits with the shipped table's recipe, so the shipped table is the truth.

Parts (``--parts``, default all):

- ``same``: 50 random unique cells x 2 seeds trained by the ``train`` backend; their final
  valid and test accuracies against the shipped table's (bit-equal count, largest gap, and
  the gap as a share of the table's seed-to-seed difference).
- ``overhead``: live RE, 200 evaluations at 6 epochs; wall seconds (compile included)
  against the training seconds the trainer reports (and training plus evaluation).
- ``inherit``: 50 trained parents and one one-edge mutation of each; each child trains 2
  epochs from its parent's weights and 2 epochs from scratch; Spearman of each ranking
  against the children's 6-epoch seed-mean valid accuracy in the table.
- ``resume``: kill -9 a live RE search in the middle, resume it, and compare with an
  uninterrupted run of the same seed: same evaluations, and trained evaluations against
  new rows.
- ``same-mlp``: ``same`` on the MLP space against ``data/mlp-digits.parquet`` (its recipe
  ``mlp-digits``).
- ``mlp-search``: ``nasbench search --evaluator train --space mlp --dataset digits
  --strategy re --budget 50`` (``--mlp-evals``); the grown table's final valid accuracy
  against the shipped MLP table's, for every run both hold.

Usage: ``python benchmarks/live.py [--parts same,overhead,inherit,resume,same-mlp,mlp-search] [--json]``.
Check ``uptime`` first; one heavy job at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.evaluation.contract import Job  # noqa: E402
from nasbench.experiments.live import search_live  # noqa: E402
from nasbench.tables.default import shipped_table_path  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402
from nasbench.train.live import VALID, LiveConfig, TrainEvaluator  # noqa: E402
from nasbench.train.recipe import resolve_recipe  # noqa: E402
from strategies.runner import Budget, RunConfig  # noqa: E402

#: the recipe each space's shipped table was built with
RECIPES = {"nb201": "digits", "mlp": "mlp-digits"}


def _table(space: str = "nb201") -> ResultTable:
    return ResultTable.load(shipped_table_path(space))


def _job(i: int, arch: int, seed: int, to: int, parent: int | None = None) -> Job:
    """A new trial of ``arch`` with a given training seed (no draw), trained to epoch ``to``."""
    return Job(i, arch, arch, seed, 0, to, parent)


def part_same(tmp: Path, space: str = "nb201") -> dict:
    t = _table(space)
    rng = np.random.default_rng(0)
    rows = rng.choice(t.n_archs, 50, replace=False)
    recipe = resolve_recipe(RECIPES[space])
    ev = TrainEvaluator(LiveConfig("digits", recipe, tmp / f"same-{space}", space=space, workers=50))
    last = recipe.epochs
    jobs = [
        _job(i, int(t.arch_index[r]), int(s), last)
        for i, (r, s) in enumerate((r, s) for r in rows for s in (0, 1))
    ]
    t0 = time.perf_counter()
    ev.evaluate(jobs)
    wall = time.perf_counter() - t0
    vi, ti = t.metric_position("valid_acc"), t.metric_position("test_acc")
    got = np.array([[ev.runs[(j.rep, j.seed)].values[-1, k] for k in (vi, ti)] for j in jobs])
    want = np.array([[t.values[r, s, -1, k] for k in (vi, ti)] for r in rows for s in (0, 1)])
    seed_gap = np.abs(t.values[rows, 0, -1, vi] - t.values[rows, 1, -1, vi])
    gap = np.abs(got - want)
    return {
        "space": space,
        "members": len(jobs),
        "bit_equal_valid": int((gap[:, 0] == 0).sum()),
        "bit_equal_test": int((gap[:, 1] == 0).sum()),
        "max_abs_gap_valid": float(gap[:, 0].max()),
        "max_abs_gap_test": float(gap[:, 1].max()),
        "mean_seed_to_seed_gap_valid": float(seed_gap.mean()),
        "gap_over_seed_gap": float(gap[:, 0].mean() / seed_gap.mean()),
        "wall_s": round(wall, 1),
        "train_s": round(ev.stats.train_s, 1),
        "eval_s": round(ev.stats.eval_s, 1),
        "compile_s": round(ev.stats.compile_s, 1),
    }


def part_overhead(tmp: Path, workers: int) -> dict:
    cfg = LiveConfig("digits", resolve_recipe("digits"), tmp / "overhead", workers=workers)
    t0 = time.perf_counter()
    traj, s = search_live(cfg, "re", seed=0, run=RunConfig(Budget("evals", 200)), leaderboard_surrogate="rf")
    wall = time.perf_counter() - t0
    return {
        "workers": workers,
        "evaluations": s["evaluations"],
        "trained": s["trained_evaluations"],
        "wall_s": round(wall, 1),
        "search_wall_s": s["wall_s"],
        "train_s": s["training_s"],
        "eval_s": s["eval_s"],
        "compile_s": s["compile_s"],
        "wall_over_train": round(wall / s["training_s"], 3),
        "wall_over_train_plus_eval": round(wall / (s["training_s"] + s["eval_s"]), 3),
        "incumbent_table_mean": s["incumbent"]["mean_valid_acc"] if s["incumbent"] else None,
    }


def part_mlp_search(tmp: Path, evals: int, workers: int) -> dict:
    """``nasbench search --evaluator train --space mlp --dataset digits --strategy re --budget
    N``: the grown table's final values against the shipped MLP table, where both hold a run."""
    cfg = LiveConfig("digits", resolve_recipe("mlp-digits"), tmp / "mlp-search", space="mlp", workers=workers)
    t0 = time.perf_counter()
    _, s = search_live(cfg, "re", seed=0, run=RunConfig(Budget("evals", evals)), leaderboard_surrogate="rf")
    wall = time.perf_counter() - t0
    grown, ref = ResultTable.load(tmp / "mlp-search" / "table.parquet"), _table("mlp")
    vi = ref.metric_position("valid_acc")
    row_of = {int(a): r for r, a in enumerate(ref.arch_index)}
    seed_of = {int(x): j for j, x in enumerate(ref.seeds)}
    g_vi = grown.metric_position("valid_acc")
    pairs = [
        (float(grown.values[r, j, -1, g_vi]), float(ref.values[row_of[int(a)], seed_of[int(sd)], -1, vi]))
        for r, a in enumerate(grown.arch_index)
        for j, sd in enumerate(grown.seeds)
        if int(a) in row_of and int(sd) in seed_of and np.isfinite(grown.values[r, j, -1, g_vi])
    ]
    got, want = np.array(pairs).T
    gap = np.abs(got - want)
    return {
        "evaluations": s["evaluations"],
        "trained": s["trained_evaluations"],
        "table_rows": s["table_rows"],
        "runs_compared": len(pairs),
        "bit_equal_valid": int((gap == 0).sum()),
        "max_abs_gap_valid": float(gap.max()),
        "incumbent": s["incumbent"]["arch"] if s["incumbent"] else None,
        "incumbent_observed_valid": s["incumbent"]["observed_valid_acc"] if s["incumbent"] else None,
        "wall_s": round(wall, 1),
        "train_s": s["training_s"],
        "compile_s": s["compile_s"],
    }


def part_inherit(tmp: Path) -> dict:
    from scipy.stats import spearmanr

    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.benchmark import Benchmark

    t = _table()
    bench = Benchmark(t)
    space = NB201Space()
    reps = space.iso_representatives()
    rng = np.random.default_rng(1)
    parents = [int(a) for a in t.arch_index[rng.choice(t.n_archs, 50, replace=False)]]
    children = []
    for p in parents:
        nb = [
            int(reps[n])
            for n in space.neighbours(p)
            if int(reps[n]) != p and bench.rows([int(reps[n])])[0] >= 0
        ]
        children.append(nb[int(rng.integers(len(nb)))])
    recipe = resolve_recipe("digits")
    inh = TrainEvaluator(
        LiveConfig("digits", recipe, tmp / "inh", workers=50, inherit=True, inherit_epochs=2)
    )
    inh.evaluate([_job(i, p, 0, 6) for i, p in enumerate(parents)])  # the parents, with checkpoints
    inh.evaluate([_job(i, c, 0, 6, p) for i, (c, p) in enumerate(zip(children, parents, strict=True))])
    inherited = np.array(
        [inh.inherited[(c, 0, p)].values[1, VALID] for c, p in zip(children, parents, strict=True)]
    )
    scratch_ev = TrainEvaluator(LiveConfig("digits", recipe, tmp / "scr", workers=50))
    scratch_ev.evaluate([_job(i, c, 0, 2) for i, c in enumerate(children)])
    scratch = np.array([scratch_ev.runs[(c, 0)].values[1, VALID] for c in children])
    truth = bench.values_at("valid_acc", 6)[bench.rows(children)]
    rho_inh = float(spearmanr(inherited, truth).statistic)
    rho_scr = float(spearmanr(scratch, truth).statistic)
    return {
        "pairs": len(children),
        "spearman_inherited_2ep": round(rho_inh, 3),
        "spearman_scratch_2ep": round(rho_scr, 3),
        "difference": round(rho_inh - rho_scr, 3),
        "mean_valid_inherited_2ep": round(float(np.mean(inherited)), 2),
        "mean_valid_scratch_2ep": round(float(np.mean(scratch)), 2),
    }


def part_resume(tmp: Path, evals: int, kill_after: float) -> dict:
    import pyarrow.parquet as pq

    from nasbench.experiments.storage import read_trajectory

    base = [sys.executable, "-m", "nasbench", "search", "--evaluator", "train", "--strategy", "re"]
    base += ["--budget", str(evals), "--seed", "5", "--quiet", "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    full_dir, cut_dir = tmp / "uninterrupted", tmp / "killed"
    subprocess.run([*base, "--out", str(full_dir)], check=True, capture_output=True, env=env)
    proc = subprocess.Popen(
        [*base, "--out", str(cut_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = sum(len(pq.read_table(p)) for p in (cut_dir / "shards").glob("*.parquet"))
    r = subprocess.run(
        [*base, "--out", str(cut_dir), "--resume"], check=True, capture_output=True, text=True, env=env
    )
    s = json.loads(r.stdout)
    after = sum(len(pq.read_table(p)) for p in (cut_dir / "shards").glob("*.parquet"))
    a, b = read_trajectory(full_dir / "trajectory.parquet"), read_trajectory(cut_dir / "trajectory.parquet")
    return {
        "evaluations": evals,
        "killed_after_s": kill_after,
        "rows_before_resume": before,
        "rows_after_resume": after,
        "member_epochs_trained_on_resume": s["live"]["trained_member_epochs"],
        "new_rows": after - before,
        "same_evaluations_as_uninterrupted": bool(a.same_evaluations(b, costs=False)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="same,overhead,inherit,resume")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--resume-evals", type=int, default=48)
    ap.add_argument("--mlp-evals", type=int, default=50)
    ap.add_argument("--kill-after", type=float, default=45.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {"uptime": os.getloadavg()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for part in args.parts.split(","):
            t0 = time.perf_counter()
            if part == "same":
                out[part] = part_same(tmp)
            elif part == "same-mlp":
                out[part] = part_same(tmp, "mlp")
            elif part == "mlp-search":
                out[part] = part_mlp_search(tmp, args.mlp_evals, args.workers)
            elif part == "overhead":
                out[part] = part_overhead(tmp, args.workers)
            elif part == "inherit":
                out[part] = part_inherit(tmp)
            elif part == "resume":
                out[part] = part_resume(tmp, args.resume_evals, args.kill_after)
            else:
                raise SystemExit(f"unknown part {part!r}")
            out[part]["part_wall_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps({part: out[part]}), flush=True)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

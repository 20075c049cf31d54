"""Live search over many seeds on digits (issue 17, goals 3-6): resumable comparisons with
the ``train`` backend, judged against the shipped table (same dataset and recipe).

Each part is one ``nasbench compare --evaluator train`` (the library call) into its own
folder under ``--out``, over seeds ``0..N-1``, with the shipped table as the reference.
Rerunning the same command resumes: finished runs are kept, and a run cut off resumes
from its shards. Runs of one part answer what earlier runs of that part trained.

- ``re``: live RE, 200 evaluations (``--workers 8``), and simulated RE on the shipped
  table with the same seeds and budget (goal 3: the incumbents' seed-mean final valid
  accuracy agree within the seed-to-seed spread).
- ``es``: live ``re+es`` with 70% of RE's budget, 140 full-evaluation equivalents (goal 5:
  the same incumbent quality as RE with at least 30% fewer training seconds).
- ``inherit``: live RE with ``--inherit --inherit-epochs 2`` (goal 6b: seconds to the
  table's top 1% against scratch RE).
- ``screened``: live screened search, 200 evaluations (goal 4: seconds to the top 1%,
  surrogate time included, against live RE).

"Seconds" are the live clock: the training seconds each evaluation cost when it was
trained (a result answered from an earlier run is charged what it cost then), plus the
strategy's surrogate wall seconds. Each run's own wall time is in its summary
(``OUT/<part>/live/<strategy>/seed-NNNN/summary.json``) and is reported too.

Usage: ``python benchmarks/live_goals.py --seeds 3 [--parts re,es,inherit,screened]
[--out DIR] [--json]``. Check ``uptime`` first; one heavy job at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nasbench.experiments.compare import CompareConfig, Evaluator, compare  # noqa: E402
from nasbench.experiments.live import make_live_config  # noqa: E402
from nasbench.experiments.storage import read_trajectory, run_file  # noqa: E402
from nasbench.tables.default import default_table_path  # noqa: E402
from strategies.runner import Budget, RunConfig  # noqa: E402

PARTS = {
    # part -> (strategy, budget in full evaluations, live settings)
    "re": ("re", 200, {}),
    "es": ("re+es", 140, {}),
    "inherit": ("re", 200, {"inherit": True, "inherit_epochs": 2}),
    "screened": ("screened", 200, {}),
}


def _evaluator(out: Path, workers: int, **settings: object) -> Evaluator:
    live = make_live_config(
        "digits", None, out, workers=workers, reference=Path(default_table_path()), **settings
    )
    return Evaluator("train", live=live)


def run_part(part: str, out: Path, seeds: int, workers: int) -> list:
    strategy, budget, settings = PARTS[part]
    cfg = CompareConfig(
        (strategy,),
        seeds,
        RunConfig(Budget("evals", budget)),
        processes=1,
        evaluator=_evaluator(out / part, workers, **settings),
    )
    t0 = time.perf_counter()
    res = compare(
        None, out / part, cfg, progress=lambda d, n: print(f"{part}: {d}/{n} runs", file=sys.stderr)
    )
    print(f"{part}: {res['runs']} runs ({res['resumed_runs']} resumed) in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)  # fmt: skip
    return [read_trajectory(run_file(out / part, strategy, s)) for s in range(seeds)]


def simulated_re(out: Path, seeds: int) -> list:
    cfg = CompareConfig(("re",), seeds, RunConfig(Budget("evals", 200)), processes=2)
    compare(default_table_path(), out / "sim", cfg)
    return [read_trajectory(run_file(out / "sim", "re", s)) for s in range(seeds)]


def _wall(out: Path, part: str, seeds: int) -> list[float]:
    strategy = PARTS[part][0]
    walls = []
    for s in range(seeds):
        folder = run_file(out / part, strategy, s).parent.name
        p = out / part / "live" / folder / f"seed-{s:04d}" / "summary.json"
        walls.append(json.loads(p.read_text())["wall_s"] if p.is_file() else math.nan)
    return walls


def _final(trs: list) -> dict:
    v = np.array([float(t["incumbent_mean"][-1]) for t in trs])
    return {"mean": round(float(v.mean()), 3), "sd": round(float(v.std(ddof=1)) if len(v) > 1 else math.nan, 3),
            "per_seed": [round(float(x), 3) for x in v]}  # fmt: skip


def _to_target(trs: list, threshold: float) -> dict:
    t = np.array([trj.hitting(threshold)[1] for trj in trs])
    return {"median_s": float(np.median(t)), "reached": int(np.isfinite(t).sum()), "per_seed": t.tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--parts", default="re,es,inherit,screened")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("/tmp/nasbench-live-goals"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    runs = {p: run_part(p, args.out, args.seeds, args.workers) for p in parts}
    sim = simulated_re(args.out, args.seeds)
    top1 = float(sim[0].meta["targets"]["top1"])
    fig: dict = {"seeds": args.seeds, "top1_threshold": top1, "simulated_re": _final(sim)}
    for p, trs in runs.items():
        fig[p] = {
            "final_incumbent_mean_valid": _final(trs),
            "clock_s_to_top1": _to_target(trs, top1),
            "clock_s_total": [round(float(t["finish_s"][-1]), 1) for t in trs],
            "training_s_charged": [round(float(np.sum(t["cost_s"])), 1) for t in trs],
            "surrogate_s": [round(float(t.meta.get("overhead_s", 0.0)), 2) for t in trs],
            "run_wall_s": _wall(args.out, p, args.seeds),
        }
    if "re" in runs:
        live, s = fig["re"]["final_incumbent_mean_valid"], fig["simulated_re"]
        fig["goal3_live_minus_simulated"] = round(live["mean"] - s["mean"], 3)
        fig["goal3_seed_sd"] = s["sd"]
        for p, key in (
            ("screened", "goal4_screened_over_re_s_to_top1"),
            ("inherit", "goal6b_inherit_over_re"),
        ):
            if p in runs:
                a, b = fig[p]["clock_s_to_top1"]["median_s"], fig["re"]["clock_s_to_top1"]["median_s"]
                fig[key] = a / b if math.isfinite(b) and b > 0 else None
        if "es" in runs:
            fig["goal5_es_minus_re_final"] = round(
                fig["es"]["final_incumbent_mean_valid"]["mean"] - live["mean"], 3
            )
            fig["goal5_es_over_re_training_s"] = round(
                float(np.mean(fig["es"]["training_s_charged"]) / np.mean(fig["re"]["training_s_charged"])), 3
            )
    (args.out / "goals.json").write_text(json.dumps(fig, indent=1))
    print(json.dumps(fig) if args.json else json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()

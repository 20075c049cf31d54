"""How well calibrated is early stopping's surrogate during a search? (NAS-Bench-201)

Runs an early-stopping strategy (default ``ls+es``) over seeds and records every
prediction the wrapper makes at a checkpoint: how many full curves the surrogate had
learned from, the predicted mean and std of the final accuracy, and the incumbent. Each
is then scored against the architecture's true final accuracy (seed mean at the max
epoch), binned by the number of full curves:

* ``median std`` / ``median |error|``: the predicted std against the actual error;
* ``median |z|``: for a calibrated Gaussian std, 0.674;
* ``q95 z (kept)``: the 95% quantile of ``z = (true - mean) / std`` over the runs the rule
  could not stop (mean + 1.645 std >= incumbent at the default confidence 0.95); the
  rule assumes it is 1.645;
* ``would win``: share of predicted runs whose true final beats the incumbent;

and how far below the incumbent the would-be winners were predicted while the search
climbs (11-40 full curves), in units of the predicted std.

    python benchmarks/es_calibration.py --dataset cifar100 --seeds 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from strategies_real import CSV  # noqa: E402  (this folder: the same data as the strategy figures)

from nasbench.core.errors import NasbenchError  # noqa: E402
from nasbench.experiments.compare import load_simulator  # noqa: E402
from nasbench.tables.importers import import_nb201  # noqa: E402
from strategies import early_stopping  # noqa: E402
from strategies.acquisition import z_of  # noqa: E402
from strategies.registry import make_strategy  # noqa: E402
from strategies.runner import Budget, RunConfig, run_search  # noqa: E402

BINS = [0, 10, 20, 40, 80, 10_000]


def record_predictions(log: list[dict]) -> None:
    """Make every :class:`EarlyStopping` append its checkpoint predictions to ``log``."""
    predict = early_stopping.EarlyStopping._predict

    def recording(self, results):  # noqa: ANN001, ANN202
        mean, std = predict(self, results)
        for r, m, s in zip(results, mean, std, strict=True):
            log.append(
                {
                    "n_full": len(self._full_archs),
                    "arch": int(r.arch),
                    "mean": float(m),
                    "std": float(s),
                    "scale": self.std_scale,
                    "incumbent": self.incumbent,
                }
            )
        return mean, std

    early_stopping.EarlyStopping._predict = recording


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="cifar100", choices=["cifar10", "cifar100", "imagenet16"])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", default="100")
    ap.add_argument("--strategy", default="ls+es")
    args = ap.parse_args()
    if not CSV.is_file():
        sys.exit(f"NAS-Bench-201 data not found at {CSV}")
    with tempfile.TemporaryDirectory() as tmp:
        import_nb201(CSV, args.dataset).save(Path(tmp) / "t.parquet")
        sim = load_simulator(Path(tmp) / "t.parquet")

    try:  # a bad strategy name or budget: one line, before any work
        budget = Budget.parse(args.budget)
        sim.check_budget(budget)
        probe = make_strategy(args.strategy, sim.context, np.random.default_rng(0))
    except NasbenchError as exc:
        sys.exit(f"error: {exc}")
    if not isinstance(probe, early_stopping.EarlyStopping):
        sys.exit(f"error: {args.strategy!r} does not stop runs early; use an '+es' strategy such as ls+es")

    log: list[dict] = []
    record_predictions(log)
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        start = len(log)
        run_search(sim, args.strategy, seed=seed, config=RunConfig(budget, noise="seed"))
        for row in log[start:]:
            row["seed"] = seed
    # a waiting run is predicted again by the same fit: count it once
    d = pd.DataFrame(log).drop_duplicates(["seed", "arch", "n_full"])
    d["true"] = sim.final_mean[sim.bench.rows(d.arch.to_numpy())]  # seed mean at the max epoch
    d = d[np.isfinite(d["mean"]) & (d["std"] > 0)]
    d["z"] = (d.true - d["mean"]) / d["std"]
    d["kept"] = ~early_stopping.confidently_below(
        d["mean"], d["std"], d.scale, d.incumbent, z_of(probe.config.confidence)
    )

    print(
        f"{args.strategy} on NB201 {args.dataset}, {args.seeds} seeds, budget {args.budget}: "
        f"{len(d)} checkpoint predictions, wall {time.perf_counter() - t0:.0f} s"
    )
    print()
    print(
        "| full curves learned | predictions | median std | median abs error | median abs z "
        "| q95 z (kept) | would win |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        b = d[(d.n_full > lo) & (d.n_full <= hi)]
        if b.empty:
            continue
        kept = b.z[b.kept]
        q95 = f"{kept.quantile(0.95):.2f}" if len(kept) else "-"
        print(
            f"| {lo + 1}-{hi if hi < 10_000 else 'more'} | {len(b)} | {b['std'].median():.2f} "
            f"| {(b.true - b['mean']).abs().median():.2f} | {b.z.abs().median():.2f} | {q95} "
            f"| {(b.true > b.incumbent).mean():.3f} |"
        )
    climb = d[(d.n_full > 10) & (d.n_full <= 40) & (d.true > d.incumbent)]
    if len(climb):
        margin = (climb.incumbent - climb["mean"]) / climb["std"]
        print()
        print(
            f"would-be winners at 11-40 full curves: {len(climb)} predictions, (incumbent - mean) / std "
            f"median {margin.median():.2f}, 75th percentile {margin.quantile(0.75):.2f}, "
            f"max {margin.max():.2f}"
        )


if __name__ == "__main__":
    main()

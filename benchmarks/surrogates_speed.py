"""Speed of the surrogates (benchmarks/SURROGATES.md, "Speed").

* NB201 CIFAR-10: fit the default (combined) surrogate on 1,000 random architectures with
  their curves (epochs 12 and 200), then predict all 15,625 architectures with the
  12-epoch value observed.
* MetaQNN: fit it on all 1,000 curves (20 epochs; cuts "auto"), predict 1,000 at 25%.
* Curve fitting: every parametric family on 10,000 MetaQNN-derived curves, 5 and 10
  epochs observed: curve-fits per second.

    python benchmarks/surrogates_speed.py --repeats 3 [--n-jobs 2]

Medians over repeats; other jobs may share the machine, so read ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))  # run from a checkout without installing


def _median(fn, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description="surrogate speed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=None, help="Processes for the per-cut fits (default one).")
    ap.add_argument("--only", default="nb201,metaqnn,curves")
    args = ap.parse_args()
    if not (DATA / "nb201" / "nb201.csv").is_file():
        print(f"shared data not found under {DATA}", file=sys.stderr)
        return 2
    from nasbench.tables.benchmark import Benchmark
    from nasbench.tables.importers import import_curves, import_nb201
    from surrogates import DEFAULT_SURROGATE, make_surrogate
    from surrogates.curves import FAMILIES, fit_curves
    from surrogates.inputs import design

    only = set(args.only.split(","))
    report: dict[str, object] = {"n_jobs": args.n_jobs, "repeats": args.repeats}
    if "nb201" in only:
        table = import_nb201(DATA / "nb201" / "nb201.csv", "cifar10")
        bench = Benchmark(table)
        archs = table.arch_index
        curves = bench.curves(archs, seed="mean").astype(float)
        y = bench.values_at("valid_acc", 200).astype(float)
        tr = np.random.default_rng(0).choice(len(archs), 1000, replace=False)
        Xtr = design(archs[tr], 2, curves[tr])
        Xall = design(archs, 2, curves, observed=1)
        model = make_surrogate(
            DEFAULT_SURROGATE, table.space, epochs=[12, 200], random_state=0, n_jobs=args.n_jobs
        )
        fit_s, _ = _median(lambda: model.fit(Xtr, y[tr]), args.repeats)
        pred_s, _ = _median(lambda: model.predict(Xall, return_std=True), args.repeats)
        pred0_s, _ = _median(lambda: model.predict(design(archs, 2), return_std=True), args.repeats)
        report["nb201"] = {
            "fit_1000_s": fit_s,
            "predict_15625_12ep_s": pred_s,
            "predict_15625_t0_s": pred0_s,
            "cuts": model.cuts_.tolist(),
        }
        print(
            f"nb201: fit 1,000 archs {fit_s:.1f} s; predict 15,625 (12-epoch observed) {pred_s:.1f} s, "
            f"(t=0) {pred0_s:.1f} s",
            flush=True,
        )
    if "metaqnn" in only or "curves" in only:
        mq = import_curves(
            DATA / "curves" / "metaqnn_cifar10.csv",
            "net",
            "acc_",
            feature_columns=["num_params", "depth", "lr"],
        )
        mb = Benchmark(mq)
        C = mb.curves(mq.arch_index, seed="mean").astype(float)
    if "metaqnn" in only:
        y = C[:, -1]
        model = make_surrogate(
            DEFAULT_SURROGATE, mq.space, epochs=mq.epochs.tolist(), random_state=0, n_jobs=args.n_jobs
        )
        X = design(mq.arch_index, 20, C)
        fit_s, _ = _median(lambda: model.fit(X, y), args.repeats)
        pred_s, _ = _median(
            lambda: model.predict(design(mq.arch_index, 20, C, observed=5), return_std=True), args.repeats
        )
        report["metaqnn"] = {
            "fit_1000_s": fit_s,
            "predict_1000_25pct_s": pred_s,
            "cuts": model.cuts_.tolist(),
        }
        print(
            f"metaqnn: fit 1,000 curves ({len(model.cuts_)} cuts) {fit_s:.1f} s; predict 1,000 at 25% {pred_s:.2f} s",
            flush=True,
        )
    if "curves" in only:
        big = np.tile(C, (10, 1)) + np.random.default_rng(0).normal(0, 0.1, (10 * len(C), 20))
        for k in (5, 10):
            Y = big.copy()
            Y[:, k:] = np.nan
            secs, fit = _median(lambda Y=Y: fit_curves(mq.epochs, Y), args.repeats)
            n_fits = fit.n_fits  # type: ignore[attr-defined]
            report[f"curve_fits_{k}"] = {
                "curves": len(Y),
                "families": len(FAMILIES),
                "fits": n_fits,
                "s": secs,
                "fits_per_s": n_fits / secs,
            }
            print(
                f"curve fits: {len(Y)} curves x {len(FAMILIES)} families, {k} epochs observed: {secs:.1f} s, "
                f"{n_fits / secs:,.0f} fits/s",
                flush=True,
            )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

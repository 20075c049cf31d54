"""Fit time of the default surrogate against learning-curve length (issue 30, part 1).

Data: 684 ResNet learning curves of 140 epochs on TinyImageNet, ``data/deep_resnets_tinyimagenet.csv``
of MITAutoML/accelerating_nas (Baker et al. 2018; MIT licence), read from the git mirror
that the session's ``fetch`` tool made (``--mirror``); never copied into this repository.
Without the mirror the script says so and exits 0.

For each curve length ``L`` (default 20, 35, 70, 140) the curves are cut to their first
``L`` epochs (the target is the accuracy at epoch ``L``), imported as ``nasbench import
curves`` does (``--skip-epoch-zero``, the row number plus the five configuration columns as
the id, ``num_blocks,num_filters,filter_size,lr,ss`` as features) into a temporary
directory, and run through ``nasbench surrogate eval``'s harness: the default surrogate,
100 training curves, held-out curves observed to 25% of ``L``. Printed as JSON: fit
seconds (mean over repeats), Kendall tau and R^2.

    python benchmarks/long_curves.py                                   # 20, 35, 70, 140 epochs
    python benchmarks/long_curves.py --lengths 140 --repeats 3 --params '{"cuts": "all"}'
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_MIRROR = Path("/work/.mirror/MITAutoML+accelerating_nas/repo")
CSV_PATH = "data/deep_resnets_tinyimagenet.csv"
FEATURES = ("num_blocks", "num_filters", "filter_size", "lr", "ss")


def read_csv(mirror: Path) -> Any:
    """The ResNet/TinyImageNet curves as a DataFrame, or ``None`` when the mirror is absent."""
    import io

    import pandas as pd

    if not mirror.exists():
        return None
    proc = subprocess.run(
        ["git", f"--git-dir={mirror}", "show", f"HEAD:{CSV_PATH}"], capture_output=True, check=False
    )
    if proc.returncode:
        return None
    return pd.read_csv(io.BytesIO(proc.stdout))


def table_of(df: Any, length: int, tmp: Path) -> Any:
    """The curves cut to ``length`` epochs, imported as a catalog table (file in ``tmp``)."""
    from nasbench.tables.importers import import_curves

    cut = df[[*FEATURES, *(f"acc_{e}" for e in range(length + 1))]].copy()
    cut.insert(
        0, "id", [f"{i}:" + ",".join(str(v) for v in r) for i, r in enumerate(df[list(FEATURES)].values)]
    )
    path = tmp / f"resnets_tinyimagenet_{length}.csv"
    cut.to_csv(path, index=False)
    return import_curves(path, "id", "acc_", feature_columns=FEATURES, skip_epoch_zero=True)


def main() -> int:
    from surrogates.evaluate import EvalConfig, evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="git dir of the fetched repository")
    ap.add_argument("--lengths", default="20,35,70,140")
    ap.add_argument("--train-size", type=int, default=100)
    ap.add_argument("--observed-fraction", type=float, default=0.25)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--model", default="combined")
    ap.add_argument("--params", default="{}", help="surrogate constructor parameters (JSON)")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the last length's evaluation here")
    args = ap.parse_args()
    df = read_csv(args.mirror)
    if df is None:
        print(
            f"skipped: {CSV_PATH} not found in {args.mirror} (fetch github:MITAutoML/accelerating_nas first)",
            file=sys.stderr,
        )
        return 0
    params = json.loads(args.params)
    out: dict[str, Any] = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "curves": len(df),
        "lengths": {},
    }
    lengths = [int(x) for x in args.lengths.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for length in lengths:
            table = table_of(df, length, Path(tmp))
            cfg = EvalConfig(
                model=args.model,
                train_sizes=(args.train_size,),
                observed_fraction=args.observed_fraction,
                repeats=args.repeats,
                seed=0,
                params=params,
            )
            t0 = time.perf_counter()
            if args.profile and length == lengths[-1]:
                import cProfile

                prof = cProfile.Profile()
                res = prof.runcall(evaluate, table, cfg)
                prof.dump_stats(args.profile)
            else:
                res = evaluate(table, cfg)
            e = res["results"][0]
            out["lengths"][str(length)] = {
                "observed_epochs": len(res["protocol"]["observed_epochs"]),
                "fit_s": round(e["fit_s"]["mean"], 1),
                "predict_s": round(e["predict_s"]["mean"], 2),
                "kendall_tau": round(e["model"]["kendall_tau"]["mean"], 3),
                "tau_values": [round(v, 3) for v in e["model"]["kendall_tau"]["values"]],
                "r2": round(e["model"]["r2"]["mean"], 3),
                "coverage90": round(e["model"]["coverage90"]["mean"], 3),
                "last_value_tau": round(e["baselines"]["last_value"]["kendall_tau"]["mean"], 3),
                "wall_s": round(time.perf_counter() - t0, 1),
            }
            print(json.dumps({length: out["lengths"][str(length)]}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

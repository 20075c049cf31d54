"""Informativeness of a digits build, from the shards finished so far (or a finished table).

The shards of a build are a random sample of whole architectures (the partition
shuffles architectures), so the first few hundred runs of the real build are the study.

    python benchmarks/recipe_study.py data/digits.parquet.shards
    python benchmarks/recipe_study.py data/digits.parquet --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="a shard directory (build in progress) or a table")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from nasbench.tables.table import ResultTable
    from nasbench.train.build import partial_table
    from nasbench.train.informativeness import informativeness

    table = partial_table(args.source) if args.source.is_dir() else ResultTable.load(args.source)
    info = informativeness(table)
    va = table.values[..., table.metric_position("valid_acc")]
    ta = table.values[..., table.metric_position("test_acc")]
    conn = table.space.is_connected(table.arch_index)
    info["mean_valid_curve_connected"] = [round(float(x), 2) for x in np.nanmean(va[conn], axis=(0, 1))]
    info["disconnected_test_acc_mean"] = float(np.nanmean(ta[~conn][:, :, -1])) if (~conn).any() else None
    t = table.values[..., table.metric_position("time_s")][:, :, -1]
    info["time_s_per_run_mean"] = float(np.nanmean(t))
    info["archs_in_sample"] = int(table.n_archs)
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(
        f"{table.n_archs} architectures ({info['n_archs']} connected) x {info['n_seeds']} seeds, epoch {info['epoch']}"
    )
    for k in ("seed_spearman", "valid_test_spearman", "spread_p90_p10", "late_gain"):
        mark = "ok" if info["passes"][k] else "FAIL"
        print(f"  {k:<22}{info[k]:>8}   target >= {info['targets'][k]:<5} {mark}")
    print(f"  test acc percentiles  {info['test_acc_percentiles']}")
    print(f"  mean valid curve      {info['mean_valid_curve_connected']}")
    print(f"  disconnected test acc {info['disconnected_test_acc_mean']}")
    print(f"  time_s per run        {info['time_s_per_run_mean']:.3f} s (training only)")


if __name__ == "__main__":
    main()

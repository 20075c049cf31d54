"""Load time and query throughput on a synthetic 15,625 x 3 x 200 table.

Run: ``python benchmarks/table_io.py [--repeats 5] [--json]``

Prints medians over repeats (machines here are noisy): table load time, single-query
latency (seeded, seed-mean and random-seed), and vectorised throughput for a batch of
one million queries.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from nasbench.spaces.nb201 import NB201Space
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.table import ResultTable


def synth_table(n_seeds: int = 3, n_epochs: int = 200, seed: int = 0) -> ResultTable:
    space = NB201Space()
    rng = np.random.default_rng(seed)
    a = space.size
    final = rng.uniform(10, 95, size=(a, 1, 1)).astype(np.float32)
    t = np.arange(1, n_epochs + 1, dtype=np.float32)[None, None, :]
    valid = final * (1 - np.exp(-t / 30)) + rng.normal(0, 0.5, (a, n_seeds, n_epochs)).astype(np.float32)
    values = np.stack(
        [
            np.exp(-t / 50) + rng.random((a, n_seeds, n_epochs), dtype=np.float32) * 0.01,  # train_loss
            valid,
            valid - 1.0,  # test_acc
            np.broadcast_to(t * rng.uniform(5, 15, (a, 1, 1)).astype(np.float32), (a, n_seeds, n_epochs)),
        ],
        axis=-1,
    )
    return ResultTable(
        space,
        np.arange(a),
        np.arange(n_seeds),
        np.arange(1, n_epochs + 1),
        ("train_loss", "valid_acc", "test_acc", "time_s"),
        values,
        np.zeros((a, n_seeds), bool),
        {"params": rng.uniform(0.1, 1.5, a)},
        {"dataset": "synthetic-benchmark"},
    )


def median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    table = synth_table()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "synthetic.parquet"
        t0 = time.perf_counter()
        table.save(path)
        save_s = time.perf_counter() - t0
        load_s = median_time(lambda: ResultTable.load(path), args.repeats)
        size_mb = path.stat().st_size / 1e6
        bench = Benchmark.load(path)

    rng = np.random.default_rng(0)
    n_single = 20_000
    archs = rng.integers(0, bench.space.size, n_single).tolist()
    epochs = rng.integers(1, 201, n_single).tolist()

    def singles(seed):  # type: ignore[no-untyped-def]
        for a, e in zip(archs, epochs, strict=True):
            bench.query(a, "valid_acc", e, seed)

    bench.query(0, "valid_acc", 1, "mean")  # build the seed-mean cache once
    single_us = {
        name: median_time(lambda s=s: singles(s), args.repeats) / n_single * 1e6
        for name, s in (("seed", 0), ("mean", "mean"), ("random_seed", np.random.default_rng(1)))
    }
    n_batch = 1_000_000
    b_archs = rng.integers(0, bench.space.size, n_batch)
    b_epochs = rng.integers(1, 201, n_batch)
    batch_s = {
        name: median_time(lambda s=s: bench.query_many(b_archs, "valid_acc", b_epochs, s), args.repeats)
        for name, s in (("seed", 0), ("mean", "mean"), ("random_seed", np.random.default_rng(2)))
    }
    out = {
        "table": {
            "archs": table.n_archs,
            "seeds": 3,
            "epochs": 200,
            "metrics": 4,
            "file_mb": round(size_mb, 1),
        },
        "save_s": round(save_s, 3),
        "load_s_median": round(load_s, 3),
        "single_query_us_median": {k: round(v, 2) for k, v in single_us.items()},
        "batch_1M_s_median": {k: round(v, 3) for k, v in batch_s.items()},
        "repeats": args.repeats,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"synthetic table: 15,625 archs x 3 seeds x 200 epochs x 4 metrics ({size_mb:.0f} MB parquet)")
    print(f"save:  {save_s:.2f} s (once)")
    print(f"load:  {load_s:.3f} s (median of {args.repeats})")
    for k, v in single_us.items():
        print(f"single query ({k:<11}): {v:6.2f} us")
    for k, v in batch_s.items():
        print(f"1M-query batch ({k:<11}): {v:.3f} s  ({n_batch / v / 1e6:.1f} M queries/s)")


if __name__ == "__main__":
    main()

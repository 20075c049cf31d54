"""The accelerator check behind ``benchmarks/device_check.sh``: what the trainer does on this device.

1. NB201 populations on CIFAR-shaped synthetic data (32x32x3, 10 classes) and on digits:
   runs per second, the achieved fraction of the device's float32 matmul throughput, and
   the population against one network at a time, each with and without compiles
   (:func:`train_population.measure`).
2. The bit-identity of a resumed build: a small table built straight through, and the same
   build cut off (shards deleted, as an interrupted run leaves them) and resumed; every
   trained metric is compared (``time_s`` is measured wall time).

    python benchmarks/device_check.py [--cpu] [--json OUT.json]

``--cpu`` shrinks every size so the whole check runs end to end on a CPU in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_population import measure, print_table  # noqa: E402


def cifar_like(path: Path, n_train: int, n_eval: int, seed: int = 0) -> Path:
    """Synthetic CIFAR-shaped images (32x32x3, 10 classes) with a learnable class signal."""
    rng = np.random.default_rng(seed)
    n = n_train + 2 * n_eval
    y = rng.integers(0, 10, n)
    protos = rng.normal(0, 1, (10, 32, 32, 3)).astype(np.float32)
    x = (0.5 * protos[y] + rng.normal(0, 1, (n, 32, 32, 3))).astype(np.float32)
    a, b = n_train, n_train + n_eval
    np.savez(path, x_train=x[:a], y_train=y[:a], x_valid=x[a:b], y_valid=y[a:b], x_test=x[b:], y_test=y[b:])
    return path


def resumed_build_is_identical(dataset: str, recipe, tmp: Path, archs: int, population: int) -> dict:  # type: ignore[no-untyped-def]
    """Build ``archs`` cells straight through, then again with its last shards deleted and
    resumed; whether both tables hold the same bits."""
    from nasbench.tables.table import ResultTable
    from nasbench.train.build import BuildConfig, build_table

    straight = tmp / "straight.parquet"
    t0 = time.perf_counter()
    build_table(BuildConfig(dataset, recipe, straight, archs=str(archs), seeds=(0,), population=population))
    build_s = time.perf_counter() - t0
    cut = tmp / "cut.parquet"
    build_table(BuildConfig(dataset, recipe, cut, archs=str(archs), seeds=(0,), population=population))
    shards = sorted(cut.with_name(cut.name + ".shards").glob("*.parquet"))
    for p in shards[len(shards) // 2 :]:  # what an interrupted build has not written yet
        p.unlink()
    cut.unlink()
    build_table(
        BuildConfig(dataset, recipe, cut, archs=str(archs), seeds=(0,), population=population, resume=True)
    )
    a, b = ResultTable.load(straight), ResultTable.load(cut)
    # every trained metric; time_s is measured wall time, which no rerun repeats
    trained = [i for i, m in enumerate(a.metrics) if m != "time_s"]
    same = bool(
        np.array_equal(a.arch_index, b.arch_index)
        and a.metrics == b.metrics
        and np.array_equal(
            np.asarray(a.values)[..., trained], np.asarray(b.values)[..., trained], equal_nan=True
        )
    )
    return {
        "archs": archs,
        "shards": len(shards),
        "shards_retrained": len(shards) - len(shards) // 2,
        "bit_identical": same,
        "build_s": build_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="small sizes, for a CPU")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    import jax

    from nasbench.train.data import load_dataset
    from nasbench.train.recipe import PRESETS

    dev = jax.devices()[0]
    print(f"device: {dev.device_kind} ({dev.platform}), jax {jax.__version__}")
    small = args.cpu
    # sizes: a GPU gets CIFAR-sized populations; --cpu only shows that every step runs
    pop = 8 if small else 50
    report: dict = {"device": dev.device_kind, "platform": dev.platform, "jax": jax.__version__}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        npz = cifar_like(tmp / "cifar.npz", 256 if small else 5000, 128 if small else 1000)
        cifar = PRESETS["digits"].replace(
            epochs=1 if small else 3,
            channels=(8, 16, 32) if small else (16, 32, 64),
            n_train=None,
            n_valid=None,
            n_test=None,
            augmentation="none",
        )
        for label, ds_name, recipe in (
            ("CIFAR-shaped synthetic (32x32x3, 10 classes)", f"npz:{npz}", cifar),
            ("digits", "digits", PRESETS["digits"].replace(epochs=2) if small else PRESETS["digits"]),
        ):
            out = measure(
                recipe,
                load_dataset(ds_name, recipe),
                pop,
                1 if small else 2,
                2 if small else 8,
                label,
            )
            print_table(out)
            print()
            report[label] = out
        rb = resumed_build_is_identical(f"npz:{npz}", cifar, tmp, 8 if small else 64, 4 if small else 16)
        print(
            f"resumed build: {rb['archs']} cells in {rb['shards']} shards, {rb['shards_retrained']} retrained "
            f"after the cut; bit-identical to the straight build: {rb['bit_identical']}"
        )
        report["resumed_build"] = rb
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()

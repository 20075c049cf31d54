"""syne-tune's simulator backend on an exported nasbench table against `nasbench search`.

Runs nasbench's random search (``rs``, one random stored seed per trial, as `compare`
does) on a table, exports the table with ``nasbench export syne-tune``, and replays the
same configurations through syne-tune: its own ``deserialize``, ``UserBlackboxBackend``
(seed fixed to the trial's seed) and ``RandomSearch`` fed the configurations as
``points_to_evaluate`` (the two samplers draw differently, so both are driven by one list
of configurations). Prints how many final values and training costs agree.

    python benchmarks/synetune_sim.py data/digits.parquet --evals 100 --seed 0
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def nasbench_rs(table: Path, evals: int, seed: int, work: Path) -> Any:
    """nasbench's ``rs`` trajectory (one row per trial) from `nasbench search`."""
    import pandas as pd

    out = work / "rs.parquet"
    subprocess.run(
        [sys.executable, "-m", "nasbench", "search", str(table), "-s", "rs", "-b", str(evals),
         "--seed", str(seed), "--noise", "seed", "--out", str(out), "--json"],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    return pd.read_parquet(out)


def synetune_replay(folder: Path, configs: list[dict[str, Any]], seed_pos: int, work: Path) -> Any:
    """syne-tune's simulator on ``configs`` (in order) at one seed position: its results frame."""
    os.environ["SYNETUNE_FOLDER"] = str(work / "synetune")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.experiments import load_experiment
    from syne_tune.optimizer.baselines import RandomSearch

    bb = next(iter(deserialize(str(folder)).values()))
    backend = UserBlackboxBackend(blackbox=bb, elapsed_time_attr="time_s", seed=seed_pos)
    scheduler = RandomSearch(
        bb.configuration_space,
        metrics=["valid_acc"],
        do_minimize=False,
        random_seed=0,
        points_to_evaluate=configs,
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_trials_started=len(configs)),
        n_workers=1,
        sleep_time=0,
        callbacks=[SimulatorCallback()],
        save_tuner=False,
        print_update_interval=1e9,
        results_update_interval=1e9,
    )
    tuner.run()
    return load_experiment(tuner.name).results


def compare(table_path: Path, evals: int, seed: int, work: Path) -> dict[str, Any]:
    """Run both and compare trial by trial."""
    from nasbench.tables.synetune import configuration, export_synetune
    from nasbench.tables.table import ResultTable

    table = ResultTable.load(table_path)
    t0 = time.perf_counter()
    traj = nasbench_rs(table_path, evals, seed, work)
    t_nas = time.perf_counter() - t0
    folder = work / "blackbox"
    export_synetune(table, folder)
    _, hp, _ = configuration(table)
    row_of = {int(a): r for r, a in enumerate(table.arch_index)}
    last = int(table.epochs[-1])
    ours, theirs, cost_ours, cost_theirs = [], [], [], []
    t0 = time.perf_counter()
    for s_pos, s_id in enumerate(table.seeds.tolist()):
        trials = traj[traj["seed"] == s_id]
        if trials.empty:
            continue
        configs = [hp.iloc[row_of[int(a)]].to_dict() for a in trials["arch"]]
        res = synetune_replay(folder, configs, s_pos, work)
        final = res[res["epoch"] == last].sort_values("trial_id")
        ours += trials["valid_acc"].tolist()
        theirs += final["valid_acc"].tolist()
        cost_ours += trials["cost_s"].tolist()
        cost_theirs += final["time_s"].tolist()
    t_st = time.perf_counter() - t0
    ours_a, theirs_a = np.asarray(ours, np.float32), np.asarray(theirs, np.float32)
    return {
        "trials": len(ours),
        "seeds_used": sorted(set(traj["seed"].tolist())),
        "valid_acc_equal": int(np.sum(ours_a == theirs_a)),
        "time_s_max_abs_diff": float(np.max(np.abs(np.subtract(cost_ours, cost_theirs)))) if ours else None,
        "nasbench_search_s": round(t_nas, 2),
        "synetune_replay_s": round(t_st, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", type=Path, nargs="?", default=REPO / "data" / "digits.parquet")
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = compare(args.table, args.evals, args.seed, Path(work))
    for k, v in out.items():
        print(f"{k:22s} {v}")


if __name__ == "__main__":
    main()

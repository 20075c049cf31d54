"""``nasbench build``: resume after a real ``kill -9``, the Ray executor, divergence, bad input.

Every build here uses one tiny recipe on 3x3 images. A persistent JAX compilation cache
(in a temporary directory) lets the killed subprocess and the Ray workers reuse what
the in-process reference build compiled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from nasbench.cli import main  # noqa: E402
from nasbench.spaces.nb201 import NB201Space  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402

SETS = [
    "--set", "channels=4,4,4", "--set", "cells_per_stage=1", "--set", "batch_size=8",
    "--set", "eval_batch_size=16", "--set", "augmentation=crop_flip",
]  # fmt: skip
N_ARCHS = 40


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("build")
    rng = np.random.default_rng(0)
    y = np.arange(96) % 3
    x = (rng.normal(size=(96, 3, 3, 1)) + y[:, None, None, None]).astype(np.float32)
    np.savez(
        d / "tiny.npz",
        x_train=x[:64],
        y_train=y[:64],
        x_valid=x[64:80],
        y_valid=y[64:80],
        x_test=x[80:],
        y_test=y[80:],
    )
    archs = np.random.default_rng(1).choice(NB201Space().unique_indices(), N_ARCHS, replace=False)
    (d / "archs.txt").write_text("# a sample\n" + "\n".join(str(a) for a in archs) + "\n")
    return d


@pytest.fixture(scope="module")
def compile_cache(workdir: Path):  # type: ignore[no-untyped-def]
    from jax._src import compilation_cache as cc

    cache = workdir / "jax-cache"
    old = (jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs)
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    cc.reset_cache()
    yield cache
    jax.config.update("jax_compilation_cache_dir", old[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", old[1])
    cc.reset_cache()


def _args(workdir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "build", "--dataset", f"npz:{workdir / 'tiny.npz'}", "--recipe", "nb201", *SETS,
        "--epochs", "2", "--seeds", "1", "--population", "4", "--archs", str(workdir / "archs.txt"),
        "--out", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference(workdir: Path, compile_cache: Path) -> ResultTable:
    out = workdir / "ref.parquet"
    assert main(_args(workdir, out, "--quiet")) == 0
    return ResultTable.load(out)


def _assert_same_results(a: ResultTable, b: ResultTable) -> None:
    np.testing.assert_array_equal(a.arch_index, b.arch_index)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    np.testing.assert_array_equal(a.epochs, b.epochs)
    np.testing.assert_array_equal(a.diverged, b.diverged)
    assert a.metrics == b.metrics
    for k, m in enumerate(a.metrics):
        if m == "time_s":  # measured wall time: present and positive, never identical
            assert np.all(a.values[..., k] > 0) and np.all(b.values[..., k] > 0)
            continue
        np.testing.assert_array_equal(a.values[..., k], b.values[..., k], err_msg=m)
    for c in a.arch_columns:
        np.testing.assert_array_equal(a.arch_columns[c], b.arch_columns[c])


@pytest.mark.slow
def test_reference_table(reference: ResultTable) -> None:
    assert reference.n_archs == N_ARCHS and reference.shape[1:3] == (1, 2)
    assert np.isnan(reference.values[:, :, 0, reference.metric_position("test_acc")]).all()
    assert np.isfinite(reference.values[:, :, 1, reference.metric_position("test_acc")]).all()
    assert reference.metadata["build_command"].startswith("nasbench build --space nb201")
    assert reference.metadata["recipe"]["channels"] == [4, 4, 4]
    assert "seed_spearman" in reference.metadata["informativeness"] or reference.metadata["informativeness"]
    # the machine type that trained the shards (bit-exact results hold on one type only)
    from nasbench.train.population import platform_name

    here = platform_name(jax.local_devices()[0])
    assert reference.metadata["build"]["platforms"] == [here]
    assert here.startswith(("cpu: ", "gpu: ", "tpu: "))


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_build(
    workdir: Path, reference: ResultTable, compile_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "killed.parquet"
    shards = workdir / "killed.parquet.shards"
    env = dict(
        os.environ,
        JAX_COMPILATION_CACHE_DIR=str(compile_cache),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasbench", *_args(workdir, out, "--quiet")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not list(shards.glob("pop-*.parquet")):
            assert proc.poll() is None, f"build exited early: {proc.stderr.read().decode()[-500:]}"
            assert time.monotonic() < deadline, "no shard within 10 minutes"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    total = json.loads((shards / "manifest.json").read_text())["n_shards"]
    done_before = len(list(shards.glob("pop-*.parquet")))
    assert 1 <= done_before < total, (done_before, total)
    assert not out.exists()
    leftovers = [p for p in shards.iterdir() if p.name.endswith(".tmp")]
    # an interrupted atomic write leaves at most a hidden temporary file, never a partial shard
    assert all(p.name.startswith(".") for p in leftovers)

    assert main(_args(workdir, out, "--resume", "--quiet")) == 0
    resumed = ResultTable.load(out)
    _assert_same_results(reference, resumed)

    # resuming a finished build trains nothing and writes the same rows again
    capsys.readouterr()
    assert main(_args(workdir, out, "--resume", "--quiet", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained_runs"] == 0 and summary["platforms"] == reference.metadata["build"]["platforms"]
    _assert_same_results(reference, ResultTable.load(out))


@pytest.mark.slow
def test_resume_on_another_machine_type_warns(
    workdir: Path, reference: ResultTable, compile_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    import pyarrow.parquet as pq

    out = workdir / "moved.parquet"
    shards = workdir / "moved.parquet.shards"
    shutil.copytree(workdir / "ref.parquet.shards", shards)
    first, *rest = sorted(shards.glob("pop-*.parquet"))
    tbl = pq.read_table(first)
    meta = json.loads(tbl.schema.metadata[b"nasbench-shard"])
    meta["platform"] = "cpu: Some Other CPU (x86_64)"
    pq.write_table(tbl.replace_schema_metadata({b"nasbench-shard": json.dumps(meta).encode()}), first)
    rest[-1].unlink()  # one population left to train here
    with caplog.at_level("WARNING", logger="nasbench.train.build"):
        assert main(_args(workdir, out, "--resume", "--quiet")) == 0
    warned = [r.getMessage() for r in caplog.records if "--resume" in r.getMessage()]
    assert len(warned) == 1 and "Some Other CPU" in warned[0] and "\n" not in warned[0]
    table = ResultTable.load(out)
    assert table.metadata["build"]["platforms"] == sorted(
        ["cpu: Some Other CPU (x86_64)", *reference.metadata["build"]["platforms"]]
    )
    _assert_same_results(reference, table)  # same host in truth, so the rows still match


@pytest.mark.slow
def test_resume_refuses_other_settings(
    workdir: Path, reference: ResultTable, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "ref.parquet"
    assert main(_args(workdir, out, "--resume", "--set", "lr=0.2", "--quiet")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "different settings" in err and "lr: 0.1 -> 0.2" in err
    assert main(_args(workdir, out, "--quiet")) == 2
    assert "pass --resume" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_executor_on_local_instance(
    workdir: Path, reference: ResultTable, compile_cache: Path, ray_lock: None
) -> None:
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False,
        runtime_env={"env_vars": {"JAX_COMPILATION_CACHE_DIR": str(compile_cache),
                                  "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                                  "JAX_PLATFORMS": "cpu"}},
    )  # fmt: skip
    try:
        out = workdir / "ray.parquet"
        assert main(_args(workdir, out, "--executor", "ray", "--quiet")) == 0
    finally:
        ray.shutdown()
    table = ResultTable.load(out)
    _assert_same_results(reference, table)
    assert table.metadata["build"]["executor"] == "ray"
    assert table.metadata["build"]["platforms"] == reference.metadata["build"]["platforms"]  # same host here


def test_divergence_is_recorded_not_fatal(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nasbench.train.build as build

    real = build.train_group

    def nan_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        res = real(*args, **kwargs)
        # as the trainer reports a member whose loss went NaN at epoch 1
        res.diverged[0] = True
        for m, v in res.metrics.items():
            if m != "time_s":
                v[0, :] = np.nan
        return res

    monkeypatch.setattr(build, "train_group", nan_first)
    out = workdir / "diverged.parquet"
    assert main(_args(workdir, out, "--quiet")) == 0
    table = ResultTable.load(out)
    n_shards = table.metadata["build"]["n_shards"]
    assert table.diverged.sum() == n_shards  # the first member of every population
    va = table.values[..., table.metric_position("valid_acc")]
    assert np.isnan(va[table.diverged]).all() and np.isfinite(va[~table.diverged]).all()


@pytest.mark.parametrize(
    "change, message",
    [
        (["--space", "nope"], "unknown space"),
        (["--dataset", "mnist"], "unknown dataset"),
        (["--population", "100000000"], "try --population"),
        (["--executor", "slurm"], "unknown executor"),
        (["--archs", "lots"], "--archs must be"),
        (["--seeds", "two"], "--seeds must be"),
        (["--set", "bogus=1"], "recipe has no field(s) bogus"),
        (["--set", "reduction=maxpool"], "reduction must be one of"),
    ],
)
def test_bad_input_one_line(
    workdir: Path, change: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(workdir, workdir / "bad.parquet", "--quiet")
    for flag, value in zip(change[::2], change[1::2]):
        i = args.index(flag) if flag in args else None
        if i is None:
            args += [flag, value]
        else:
            args[i + 1] = value
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (workdir / "bad.parquet.shards").exists() or message == "try --population"


def test_bad_files(workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    args = _args(workdir, tmp_path / "x.parquet", "--quiet")
    args[args.index("--dataset") + 1] = f"npz:{tmp_path / 'broken.npz'}"
    assert main(args) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(_args(workdir, tmp_path / "missing-dir" / "x.parquet", "--quiet")) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "archs-bad.txt").write_text("0\n|nor_conv_3x3~0|+|oops|\n")
    args = _args(workdir, tmp_path / "y.parquet", "--quiet")
    args[args.index("--archs") + 1] = str(tmp_path / "archs-bad.txt")
    assert main(args) == 2
    assert "archs-bad.txt:2" in capsys.readouterr().err

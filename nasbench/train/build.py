"""Build a result table: partition the runs into populations, train, write shards, merge.

Crash safety: every finished population is written as its own small parquet shard
(atomic rename) in ``OUT.shards/``, next to a ``manifest.json`` that records everything
the results depend on (space, dataset fingerprint, recipe, architectures, seeds,
population size, slot capacities). ``resume=True`` checks the manifest, skips the
populations whose shard exists and trains the rest; the partition is a pure function of
the arguments, so a resumed build trains exactly the same populations as an
uninterrupted one and the merged table has the same rows. Only ``time_s`` (measured wall
time) differs between two builds.

Executors: ``local`` trains in this process (one population at a time per local JAX
device); ``ray`` sends each population to a Ray task on an existing cluster
(``address``, or ``RAY_ADDRESS``) or a fresh local instance, requesting one GPU per task
where the cluster has GPUs. Results come back to the driver, which writes the shards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError, TableFormatError
from nasbench.core.io import atomic_path, check_output_file
from nasbench.core.manifest import check_manifest, key_hash, read_manifest, write_manifest
from nasbench.core.metrics import METRICS, TASK_METRICS
from nasbench.tables.table import ResultTable, package_versions
from nasbench.train.families import family_of, resolve_archs, resolve_trainable_space
from nasbench.train.members import Member, cached_trainer, train_group, train_members
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

SHARD_FORMAT = "nasbench-build-shards"
SHARD_VERSION = 1
EXECUTORS = ("local", "ray")
#: In per-architecture mode (population 1) this many runs share one shard file.
SINGLE_SHARD_RUNS = 32
#: Bump when a change to the trainer changes the numbers it produces: a resumed build
#: then refuses shards written by the old trainer.
TRAINER_VERSION = 1


@dataclass(frozen=True)
class BuildConfig:
    """Everything ``nasbench build`` needs.

    Attributes:
        dataset: ``digits`` or ``npz:PATH``.
        recipe: the training recipe (``--epochs`` already applied).
        out: output table path (parquet).
        space: search-space name, one of :data:`BUILD_SPACES` (``nb201``, ``mlp``).
        seeds: seed ids; every architecture trains once per seed.
        population: K runs per compiled program; 1 trains one architecture at a time.
        archs: ``unique``, ``all``, an integer N (N unique cells sampled with seed 0) or a
            file with one architecture (index or string) per line. In a space without
            isomorphisms (``mlp``) every architecture is unique.
        resume: continue the build from ``OUT.shards``.
        executor: ``local`` or ``ray``.
        ray_address: Ray cluster address (``None``: ``RAY_ADDRESS`` or a local instance).
        shard_dir: shard directory (default ``OUT.shards``).
        command: the command line recorded in the table's metadata.
        latency: after training, time every architecture's forward pass on this machine
            (:mod:`nasbench.train.latency`) and store ``latency_ms_b1`` and
            ``latency_ms_b256`` arch columns, the platform in the metadata.
    """

    dataset: str
    recipe: Recipe
    out: Path
    space: str = "nb201"
    seeds: tuple[int, ...] = (0,)
    population: int = 50
    archs: str = "unique"
    resume: bool = False
    executor: str = "local"
    ray_address: str | None = None
    shard_dir: Path | None = None
    command: str | None = None
    latency: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.shard_dir is not None:
            object.__setattr__(self, "shard_dir", Path(self.shard_dir))
        if not self.seeds:
            raise ConfigError("give at least one seed")
        if len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"seeds must be distinct non-negative integers, got {list(self.seeds)}")
        if self.population < 1:
            raise ConfigError(f"--population must be >= 1, got {self.population}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.executor!r}; use one of {', '.join(EXECUTORS)}")

    @property
    def shards(self) -> Path:
        return self.shard_dir or self.out.with_name(self.out.name + ".shards")


# ---- planning ------------------------------------------------------------------------------
def resolve_space(name: str) -> Any:
    """The trainable space ``--space NAME`` names (:func:`nasbench.train.families.resolve_trainable_space`).

    Raises:
        UnknownSpaceError: no space of that name is registered.
        ConfigError: the space has no trainable network family.
    """
    return resolve_trainable_space(name)


#: The space ``nasbench build --space NAME`` trains (the same as :func:`resolve_space`).
resolve_build_space = resolve_space


@dataclass
class BuildPlan:
    """The runs and their deterministic partition into populations (shards)."""

    arch: np.ndarray  # (n,) space index per run
    seed: np.ndarray  # (n,)
    ops: np.ndarray  # (n, 6)
    groups: list[np.ndarray]  # run positions per shard
    capacities: dict[str, int]
    mode: str
    key: dict[str, Any] = field(default_factory=dict)
    population: int = 1
    space: Any = None

    @property
    def build_hash(self) -> str:
        return key_hash(self.key)

    def group_args(self, i: int) -> tuple[Any, ...]:
        """What :func:`train_group` takes after the recipe and dataset, for shard ``i``
        (the space goes as the keyword ``space``: :meth:`group_kwargs`)."""
        g = self.groups[i]
        return self.capacities, self.population, self.mode, self.arch[g], self.seed[g], self.ops[g]

    def group_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of every shard's :func:`train_group` call."""
        return {} if self.space is None else {"space": self.space}


def plan_build(config: BuildConfig, space: Any, dataset: Any) -> BuildPlan:
    """The runs of ``config`` and their split into populations, by the space's family."""
    family = family_of(space)
    family.check_dataset(dataset)
    archs = resolve_archs(space, config.archs)
    arch = np.repeat(archs, len(config.seeds))
    seed = np.tile(np.asarray(config.seeds, np.int64), len(archs))
    ops = space.op_matrix(arch).astype(np.int32)
    population = min(config.population, len(arch))  # never pad beyond the runs there are
    caps: dict[str, int] = {}
    if config.population == 1:
        mode = family.mode_prefix + "single"
        groups = [
            np.arange(i, min(i + SINGLE_SHARD_RUNS, len(arch)))
            for i in range(0, len(arch), SINGLE_SHARD_RUNS)
        ]
    else:
        mode = family.mode_prefix + "population"
        groups, caps = family.split(arch, population)
    key = {
        "trainer_version": TRAINER_VERSION,
        "space": {"name": space.name, "config": space.config()},
        "dataset": {"name": config.dataset, "fingerprint": dataset.fingerprint},
        "recipe": config.recipe.to_dict(),
        "recipe_hash": config.recipe.content_hash(),
        "archs_sha256": hashlib.sha256(archs.tobytes()).hexdigest(),
        "n_archs": len(archs),
        "seeds": list(config.seeds),
        "population": population,
        "mode": mode,
        "capacities": caps,
    }
    return BuildPlan(arch, seed, ops, groups, caps, mode, key, population, space)


# ---- shards --------------------------------------------------------------------------------
def _shard_path(shards: Path, i: int) -> Path:
    return shards / f"pop-{i:05d}.parquet"


def _prepare_shards(config: BuildConfig, plan: BuildPlan) -> set[int]:
    """Create or check ``OUT.shards``; return the shard ids already complete."""
    shards = config.shards
    manifest = shards / "manifest.json"
    check_output_file(config.out)
    body = {
        "format": SHARD_FORMAT,
        "version": SHARD_VERSION,
        "build_hash": plan.build_hash,
        "n_shards": len(plan.groups),
        "n_runs": len(plan.arch),
        "key": plan.key,
    }
    if manifest.exists() and not config.resume:
        raise ConfigError(
            f"{shards} holds a previous build; pass --resume to continue it, or remove the directory"
        )
    if not check_manifest(
        manifest,
        body,
        what="a build",
        hint="use the same arguments with --resume, or remove the directory",
        quiet=("build_hash", "key.recipe_hash", "key.capacities", "n_shards", "n_runs"),
    ):
        try:
            shards.mkdir(parents=False, exist_ok=True)
        except OSError as exc:
            raise NasbenchError(f"cannot create {shards}: {exc.strerror}") from None
        write_manifest(manifest, body)
    done = set()
    for i in range(len(plan.groups)):
        if _shard_path(shards, i).exists():
            done.add(i)
    return done


def write_shard(
    path: Path, results: Any, build_hash: str, *, extra: dict[str, np.ndarray] | None = None
) -> Any:
    """Write trained members' rows (one per member and epoch trained) atomically.

    Each member's rows are its own epochs (``start_epochs[i] + 1`` onwards, for
    ``trained_epochs[i]`` epochs). ``extra`` adds per-member columns (e.g. an inheriting
    child's parent). Returns the ``pyarrow.Table`` written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(results.arch_index)
    width = int(np.asarray(results.metrics["valid_acc"]).shape[1])
    first = np.asarray(results.start_epochs, np.int64)
    count = np.asarray(
        results.trained_epochs if results.trained_epochs is not None else np.full(n, width), np.int64
    )
    member = np.repeat(np.arange(n), count)
    col = np.concatenate([np.arange(c) for c in count]) if n else np.zeros(0, np.int64)
    cols: dict[str, Any] = {
        "arch_index": pa.array(np.asarray(results.arch_index)[member].astype(np.int32)),
        "seed": pa.array(np.asarray(results.seed)[member].astype(np.int32)),
        "epoch": pa.array((first[member] + col + 1).astype(np.int32)),
    }
    for name, values in (extra or {}).items():
        cols[name] = pa.array(np.asarray(values)[member])
    for m in METRICS:
        cols[m] = pa.array(np.asarray(results.metrics[m], np.float32)[member, col])
    cols["diverged"] = pa.array(np.asarray(results.diverged)[member])
    cols["params"] = pa.array(np.asarray(results.params)[member].astype(np.float64))
    cols["flops"] = pa.array(np.asarray(results.flops)[member].astype(np.float64))
    meta = {"build_hash": build_hash, "timing": results.timing, "platform": results.platform}
    tbl = pa.table(cols).replace_schema_metadata({b"nasbench-shard": json.dumps(meta).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(tbl, tmp, compression="zstd")
    return tbl


def _read_shards(shards: Path, n: int, build_hash: str) -> tuple[Any, dict[str, float], list[str]]:
    """The shards' rows, their summed timing, and the platforms that trained them (sorted)."""
    import pandas as pd
    import pyarrow.parquet as pq

    frames, timing = [], {"train_s": 0.0, "eval_s": 0.0, "members": 0, "padded": 0}
    platforms: set[str] = set()
    for i in range(n):
        p = _shard_path(shards, i)
        try:
            tbl = pq.read_table(p)
        except Exception as exc:
            raise TableFormatError(f"cannot read shard {p}: {str(exc).splitlines()[0]}") from None
        meta = _shard_meta(tbl.schema)
        if meta.get("build_hash") != build_hash:
            raise TableFormatError(f"shard {p} belongs to a different build")
        for k in timing:
            timing[k] += float(meta.get("timing", {}).get(k, 0.0))
        platforms.add(str(meta.get("platform") or "unknown (shard from before platforms were recorded)"))
        frames.append(tbl.to_pandas())
    return pd.concat(frames, ignore_index=True), timing, sorted(platforms)


def _shard_meta(schema: Any) -> dict[str, Any]:
    """A shard's own metadata (build hash, timing, platform) from its parquet schema."""
    return json.loads((schema.metadata or {}).get(b"nasbench-shard", b"{}"))


def _warn_other_platform(shards: Path, done: list[int]) -> None:
    """Warn before a resume trains on another machine type than the finished shards."""
    import jax
    import pyarrow.parquet as pq

    from nasbench.train.engine import platform_name

    def platform_of(i: int) -> str:
        try:
            return str(_shard_meta(pq.read_schema(_shard_path(shards, i))).get("platform") or "")
        except (OSError, ValueError):  # an unreadable shard is reported when the shards are read back
            return ""

    here = platform_name(jax.local_devices()[0])
    others = sorted({platform_of(i) for i in done} - {here, ""})
    if others:
        log.warning(
            "--resume: finished shards were trained on %s, this machine is %s; machine types round "
            "differently, so the table will not be bit-identical to a one-machine build (both are "
            "listed under build.platforms)",
            "; ".join(others),
            here,
        )


# ---- executors -------------------------------------------------------------------------------
ProgressFn = Callable[[dict[str, Any]], None]


def _run_local(
    config: BuildConfig, plan: BuildPlan, dataset: Any, todo: list[int], on_done: Callable[[int, Any], None]
) -> dict[str, Any]:
    import jax

    devices = jax.local_devices()

    def train(i: int, device: Any) -> Any:
        return train_group(config.recipe, dataset, *plan.group_args(i), device, **plan.group_kwargs())

    if len(devices) == 1 or len(todo) == 1:
        for i in todo:
            on_done(i, train(i, devices[0]))
        return {"devices": [str(devices[0])]}
    # several local devices: one worker thread per device, populations shared out
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    queue = list(todo)

    def worker(dev: Any) -> None:
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop(0)
            res = train(i, dev)
            with lock:
                on_done(i, res)

    with ThreadPoolExecutor(len(devices)) as pool:
        for f in [pool.submit(worker, d) for d in devices]:
            f.result()
    return {"devices": [str(d) for d in devices]}


def _ray_task(recipe_dict: dict[str, Any], *args: Any, **train_kwargs: Any) -> Any:
    """:func:`train_group` on a Ray worker; the recipe travels as its dict."""
    return train_group(Recipe.from_dict(recipe_dict), *args, **train_kwargs)


def _ray_members_task(recipe_dict: dict[str, Any], dataset: Any, space: Any, members: Any, **kw: Any) -> Any:
    """:func:`nasbench.train.members.train_members` on a Ray worker (a live search's batch)."""
    return train_members(space, Recipe.from_dict(recipe_dict), dataset, members, **kw)


class RayPopulations:
    """Populations as Ray tasks: on the cluster at ``address`` (or ``RAY_ADDRESS``), else a
    local instance that :meth:`close` shuts down again. One task per population, one GPU
    per task where the cluster has GPUs; each worker keeps its compiled trainers.

    Raises:
        ConfigError: ray is not installed, or the cluster cannot be reached.
    """

    def __init__(self, address: str | None, recipe: Recipe, dataset: Any) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--executor ray needs the 'ray' package (pip install 'nasbench-explorer[ray]')"
            ) from None
        self.ray = ray
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.started = False
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            except ConnectionError as exc:
                raise ConfigError(f"cannot connect to the Ray cluster at {self.address}: {exc}") from None
            self.started = True
        res = ray.cluster_resources()
        self.gpus = float(res.get("GPU", 0))
        self.options: dict[str, Any] = (
            {"num_gpus": 1, "num_cpus": 1}
            if self.gpus >= 1
            else {"num_cpus": max(1, int(res.get("CPU", 1)) // max(1, len(ray.nodes())))}
        )
        self.slots = max(1, int(self.gpus) if self.gpus >= 1 else len(ray.nodes()))
        self._task = ray.remote(max_retries=2)(_ray_task).options(**self.options)
        self._data = ray.put(dataset)
        self._recipe = recipe.to_dict()
        self._members_task: Any = None

    def submit(self, *group_args: Any, **train_kwargs: Any) -> Any:
        """Start one population (:func:`train_group`'s arguments after recipe and dataset)."""
        return self._task.remote(self._recipe, self._data, *group_args, **train_kwargs)

    def submit_members(self, space: Any, members: Any, **kw: Any) -> Any:
        """Start :func:`~nasbench.train.members.train_members` on a worker (its arguments
        after recipe and dataset)."""
        if self._members_task is None:
            self._members_task = self.ray.remote(max_retries=2)(_ray_members_task).options(**self.options)
        return self._members_task.remote(self._recipe, self._data, space, members, **kw)

    def result(self, ref: Any) -> Any:
        """The population's results; a task's :class:`NasbenchError` is raised as itself."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else exc
            if isinstance(cause, NasbenchError):
                raise cause from None
            raise

    def describe(self) -> dict[str, Any]:
        return {"ray": {"address": self.address or "local", "gpus": self.gpus, "task_options": self.options}}

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False


def _run_ray(
    config: BuildConfig, plan: BuildPlan, dataset: Any, todo: list[int], on_done: Callable[[int, Any], None]
) -> dict[str, Any]:
    pool = RayPopulations(config.ray_address, config.recipe, dataset)
    try:
        pending: dict[Any, int] = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < 2 * pool.slots:
                i = queue.pop(0)
                pending[pool.submit(*plan.group_args(i), **plan.group_kwargs())] = i
            ready, _ = pool.ray.wait(list(pending), num_returns=1)
            for ref in ready:
                on_done(pending.pop(ref), pool.result(ref))
        return pool.describe()
    finally:
        pool.close()


# ---- the build -------------------------------------------------------------------------------
def build_table(config: BuildConfig, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train every run of ``config`` (skipping finished shards on resume) and write the table.

    Args:
        config: the build.
        progress: called after each finished shard with ``runs_done``, ``runs_total``,
            ``shards_done``, ``shards_total``, ``elapsed_s`` (and once at the start).

    Returns:
        a JSON-ready summary (counts, timing, informativeness, output path).

    Raises:
        NasbenchError: bad input, resume mismatch, unwritable output, memory too small.
    """
    from nasbench.train.data import load_dataset
    from nasbench.train.informativeness import informativeness

    t_start = time.perf_counter()
    space = resolve_build_space(config.space)
    dataset = load_dataset(config.dataset, config.recipe)
    plan = plan_build(config, space, dataset)
    if config.executor == "local":
        _check_memory(config, space, dataset)
    done = _prepare_shards(config, plan)
    todo = [i for i in range(len(plan.groups)) if i not in done]
    if done and todo and config.executor == "local":
        _warn_other_platform(config.shards, sorted(done))
    runs_total = len(plan.arch)
    state = {
        "runs_done": sum(len(plan.groups[i]) for i in done),
        "shards_done": len(done),
        "trained_runs": 0,
        "train_s": 0.0,
        "eval_s": 0.0,
        "compile_s": 0.0,
    }
    resumed = {"shards": len(done), "runs": state["runs_done"]}

    def report() -> None:
        if progress:
            progress(
                {
                    "runs_done": state["runs_done"],
                    "runs_total": runs_total,
                    "shards_done": state["shards_done"],
                    "shards_total": len(plan.groups),
                    "elapsed_s": time.perf_counter() - t_start,
                    "resumed_runs": resumed["runs"],
                }
            )

    def on_done(i: int, res: Any) -> None:
        write_shard(_shard_path(config.shards, i), res, plan.build_hash)
        state["runs_done"] += len(res.arch_index)
        state["trained_runs"] += len(res.arch_index)
        state["shards_done"] += 1
        for k in ("train_s", "eval_s", "compile_s"):
            state[k] += float(res.timing.get(k, 0.0))
        log.info("shard %d done (%d runs)", i, len(res.arch_index))
        report()

    report()
    if todo:
        runner = _run_local if config.executor == "local" else _run_ray
        exec_info = runner(config, plan, dataset, todo, on_done)
    else:
        exec_info = {}
    frame, timing, platforms = _read_shards(config.shards, len(plan.groups), plan.build_hash)
    if len(frame) != runs_total * config.recipe.epochs:
        raise TableFormatError(f"shards hold {len(frame)} rows; expected {runs_total * config.recipe.epochs}")
    task = getattr(dataset, "task", "classification")
    meta = {
        "dataset": config.dataset,
        "dataset_info": dataset.summary(),
        # regression tables minimise the validation loss (MSE on the standardised target)
        **({"objective": {"metric": "valid_loss", "direction": "min"}} if task == "regression" else {}),
        "recipe": config.recipe.to_dict(),
        "recipe_hash": config.recipe.content_hash(),
        "build_command": config.command,
        "build": {
            "population": config.population,
            "mode": plan.mode,
            "archs": config.archs,
            "n_shards": len(plan.groups),
            "capacities": plan.capacities,
            "build_hash": plan.build_hash,
            "train_s": round(timing["train_s"], 2),
            "eval_s": round(timing["eval_s"], 2),
            "executor": config.executor,
            # exact equality of two builds holds on one machine type (XLA rounds per CPU/GPU type)
            "platforms": platforms,
        },
        "source": "nasbench build",
        "notes": [
            "time_s: cumulative training seconds (evaluation and compilation excluded); each run's "
            "FLOP-weighted share of its population's measured wall time, so it differs between builds",
            "test metrics are stored at the final epoch"
            + (" and every epoch" if config.recipe.test_every_epoch else " only"),
        ],
        "versions": package_versions("jax", "jaxlib", "flax", "optax"),
    }
    table = ResultTable.from_records(
        space, frame, metrics=TASK_METRICS[task], arch_columns=("params", "flops"), metadata=meta
    )
    try:
        info = informativeness(table)
    except Exception as exc:  # figures are advisory; never lose a finished build over them
        log.warning("informativeness failed: %s", exc)
        info = {}
    table = dataclasses.replace(table, metadata={**meta, "informativeness": info})
    if config.latency:
        table = _with_latency(table, config, dataset, progress)
    saved = table.save(config.out)
    wall = time.perf_counter() - t_start
    return {
        "out": str(config.out),
        "shards": str(config.shards),
        "archs": int(table.n_archs),
        "seeds": list(config.seeds),
        "epochs": config.recipe.epochs,
        "runs": runs_total,
        "trained_runs": state["trained_runs"],
        "resumed_runs": resumed["runs"],
        "diverged_runs": int(table.diverged.sum()),
        "populations": len(plan.groups),
        "mode": plan.mode,
        "wall_s": round(wall, 2),
        "train_s": round(state["train_s"], 2),
        "eval_s": round(state["eval_s"], 2),
        "compile_s": round(state["compile_s"], 2),
        "runs_per_s": round(state["trained_runs"] / wall, 4) if state["trained_runs"] else None,
        "content_hash": saved["content_hash"],
        "platforms": platforms,
        "informativeness": info,
        "latency": table.metadata.get("latency"),
        **exec_info,
    }


def _with_latency(
    table: ResultTable, config: BuildConfig, dataset: Any, progress: ProgressFn | None
) -> ResultTable:
    """``table`` with measured latency columns (``--latency``)."""
    from nasbench.tables.scores import attach_scores
    from nasbench.train.latency import measure_latency  # imports JAX: only when timing

    def report(done: int, total: int) -> None:
        if progress:
            progress({"phase": "latency", "done": done, "total": total})

    lat = measure_latency(
        table.space,
        table.arch_index,
        dataset.image_shape,
        dataset.n_classes,
        recipe=config.recipe,
        progress=report,
    )
    return attach_scores(table, [lat.frame(table.space)], [{"latency": lat.metadata()}])


def _check_memory(config: BuildConfig, space: Any, dataset: Any) -> None:
    import jax

    family_of(space).check_memory(
        config.recipe, dataset.image_shape, config.population, jax.local_devices()[0]
    )


def partial_table(shards: str | os.PathLike[str]) -> ResultTable:
    """A table of the finished shards of a build in progress (architectures with every seed).

    Raises:
        TableFormatError: no manifest or no complete architecture yet.
    """
    shards = Path(shards)
    manifest = read_manifest(shards / "manifest.json")
    if manifest is None:
        raise TableFormatError(f"{shards} holds no build (no manifest.json)")
    ids = [i for i in range(manifest["n_shards"]) if _shard_path(shards, i).exists()]
    if not ids:
        raise TableFormatError(f"{shards} holds no finished shard yet")
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pd.concat([pq.read_table(_shard_path(shards, i)).to_pandas() for i in ids], ignore_index=True)
    n_seeds = len(manifest["key"]["seeds"])
    runs = frame.groupby("arch_index")["seed"].nunique()
    frame = frame[frame["arch_index"].isin(runs.index[runs == n_seeds])]
    if frame.empty:
        raise TableFormatError(f"{shards}: no architecture has finished all its seeds yet")
    key = manifest["key"]
    from nasbench.spaces import space_class

    space = space_class(key["space"]["name"]).from_table(key["space"]["config"], [], {})
    meta = {
        "dataset": key["dataset"]["name"],
        "recipe": key["recipe"],
        "partial": {"shards": len(ids), "of": manifest["n_shards"]},
    }
    recorded = tuple(m for m in METRICS if m in frame and frame[m].notna().any())
    return ResultTable.from_records(
        space, frame, metrics=recorded, arch_columns=("params", "flops"), metadata=meta
    )


def default_recipe_name(dataset: str, space: str = "nb201") -> str:
    """The recipe a space trains with by default (its network family's
    :meth:`~nasbench.train.families.NetworkFamily.default_recipe`): on the embedded
    dataset ``digits``, ``digits`` (NB201 cells) or ``mlp-digits`` (MLPs); ``nb201`` on
    user datasets.

    Raises:
        UnknownSpaceError, ConfigError: ``space`` is not a trainable space.
    """
    return family_of(resolve_trainable_space(space)).default_recipe(dataset)


def parse_seeds(text: str) -> tuple[int, ...]:
    """``3`` -> (0, 1, 2); ``0,5,7`` -> (0, 5, 7)."""
    text = str(text).strip()
    try:
        if "," in text:
            return tuple(int(s) for s in text.split(",") if s.strip())
        n = int(text)
    except ValueError:
        raise ConfigError(f"--seeds must be a count or a comma-separated list, got {text!r}") from None
    if n < 1:
        raise ConfigError(f"--seeds must be >= 1, got {n}")
    return tuple(range(n))


# Member, cached_trainer, train_group, train_members (nasbench.train.members) and
# resolve_archs (nasbench.train.families) keep their old import path here.
__all__ = [
    "EXECUTORS",
    "TRAINER_VERSION",
    "BuildConfig",
    "BuildPlan",
    "Member",
    "RayPopulations",
    "build_table",
    "cached_trainer",
    "default_recipe_name",
    "parse_seeds",
    "partial_table",
    "plan_build",
    "resolve_archs",
    "resolve_build_space",
    "resolve_space",
    "train_group",
    "train_members",
    "write_shard",
]

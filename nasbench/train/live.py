"""The ``train`` backend of the evaluator contract: evaluations trained for real.

:class:`TrainEvaluator` implements :class:`nasbench.evaluation.contract.Evaluator` beside
the trainer, for every space with a trainable network family. The one search loop
(:func:`nasbench.evaluation.loop.run_loop`) drives it exactly as it drives the table
backend: the same strategies, the same :class:`~nasbench.evaluation.run.RunConfig`, the
same :class:`~nasbench.evaluation.trajectory.Trajectory`.

- **Batching.** Its batch size is ``workers``: up to that many asks are trained as one
  population in one compiled program, with one program per population shape. With
  ``overlap``, the loop asks for the next batch while a population trains in a background
  thread. Results are told in ask order once it finishes, so the same seed gives the same
  search.
- **Objective.** What the search optimises is the reference table's objective (or the
  start table's; by default ``valid_acc``, maximised): the trainer records every metric,
  and strategies are told the objective signed by its direction. The truth of regret and
  targets is the reference table (with the run's constraints and objectives), else the
  seed means of this search's own full runs.
- **The cache is a result table.** Every trained population lands atomically as a shard
  (``DIR/shards/pop-NNNNN.parquet``, the build's format) beside ``DIR/manifest.json``.
  A rerun, or ``--resume`` after a kill, replays the strategy from its seed. Every
  stored (architecture, seed, epoch) is answered from the shards and never trained again.
  ``DIR/table.parquet`` is the grown table. A start table (``table=``) answers what it
  holds too.
- **Fidelity and continuation.** Evaluating at epoch ``e`` trains to ``e`` and returns
  the curve so far. Continuing a trial resumes from its checkpoint (``DIR/checkpoints``,
  ``.npz``): parameters, batch-norm statistics and optimiser state. Data order and
  augmentation derive from the member's key and the epoch, so a continuation is
  bit-identical to training straight through, and it pays only for the extra epochs.
  The best ``keep_checkpoints`` checkpoints (by validation accuracy) are kept and the
  rest are deleted.
- **Weight inheritance** (``inherit=True``). A child proposed with
  :attr:`Proposal.parent` starts from the parent's weights on the shared parts and the
  unchanged edges (:mod:`nasbench.train.checkpoint`). It trains ``inherit_epochs`` with
  its own schedule and a fresh optimiser. Its result is told to the strategy as that
  child's evaluation. It is stored apart (``DIR/inherited/``), with its parent and the
  epochs trained, and it never enters ``table.parquet``.

The clock: each evaluation is charged the training seconds that the trainer measured
for it (a cache hit is charged the seconds it cost when it was trained), plus the
strategy's surrogate seconds, as on the simulated clock. A seconds budget counts that
clock. The summary also reports the wall time.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.io import make_dirs
from nasbench.core.manifest import check_manifest, key_hash, write_manifest
from nasbench.core.metrics import METRICS, TASK_METRICS, Objective
from nasbench.evaluation.context import AskTell, Prior, SearchContext
from nasbench.evaluation.contract import Evaluator, Job, Outcome, Truth
from nasbench.evaluation.errors import BudgetError, StrategyConfigError
from nasbench.evaluation.run import Budget, RunConfig
from nasbench.tables.scores import read_scores, score_features
from nasbench.tables.table import ResultTable
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

LIVE_FORMAT = "nasbench-live"
LIVE_VERSION = 1
VALID = METRICS.index("valid_acc")
#: the metric every run records at every epoch it reached (classification and regression)
REACHED = METRICS.index("valid_loss")
#: full curves of a start table that the strategy's surrogates may fit on (a fixed random subset)
PRIOR_LIMIT = 2000
TIME = METRICS.index("time_s")


@dataclass(frozen=True)
class LiveConfig:
    """What the ``train`` backend trains on, and where it keeps what it trained.

    Attributes:
        dataset: ``digits`` or ``npz:PATH``.
        recipe: the training recipe (its epochs are the fidelities).
        out: the run directory (shards, checkpoints, grown table).
        space: the search space (the trainer builds NB201 cells).
        workers: evaluations trained together as one population (and kept pending).
        train_seeds: training seeds a new trial draws from (as the table's seeds).
        inherit: warm-start mutated children from their parents' weights.
        inherit_epochs: epochs an inheriting child trains (its own schedule).
        keep_checkpoints: checkpoints kept on disk (the best by validation accuracy).
        table: an existing table of the same dataset and recipe that answers what it
            holds (e.g. the shipped digits table).
        shared: more such tables, e.g. the grown tables of earlier runs of one comparison.
        reference: a table used only to report each incumbent's true seed mean and regret.
        overlap: ask for the next batch while a population trains.
        executor: ``local`` (this process) or ``ray`` (each population a Ray task).
        ray_address: the Ray cluster (``None``: ``RAY_ADDRESS`` or a local instance).
        scores: score files (``nasbench estimate proxies|oneshot``) in the strategies'
            context: ``ranked`` trains the best-scored cells first, model-based
            strategies add them to their surrogate's features.
    """

    dataset: str
    recipe: Recipe
    out: Path
    space: str = "nb201"
    workers: int = 8
    train_seeds: tuple[int, ...] = (0, 1)
    inherit: bool = False
    inherit_epochs: int = 2
    keep_checkpoints: int = 64
    table: Path | None = None
    shared: tuple[Path, ...] = ()
    reference: Path | None = None
    overlap: bool = True
    executor: str = "local"
    ray_address: str | None = None
    scores: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        from nasbench.train.build import EXECUTORS

        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "scores", tuple(Path(f).resolve() for f in self.scores))
        if self.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.executor!r}; use one of {', '.join(EXECUTORS)}")
        if not (isinstance(self.workers, int) and 1 <= self.workers <= 4096):
            raise ConfigError(f"--workers must be an integer in 1..4096, got {self.workers!r}")
        if (
            not self.train_seeds
            or min(self.train_seeds) < 0
            or len(set(self.train_seeds)) != len(self.train_seeds)
        ):
            raise ConfigError(
                f"training seeds must be distinct non-negative integers, got {self.train_seeds}"
            )
        if not 1 <= self.inherit_epochs <= self.recipe.epochs:
            raise ConfigError(
                f"--inherit-epochs must be in 1..{self.recipe.epochs}, got {self.inherit_epochs}"
            )
        if self.keep_checkpoints < 0:
            raise ConfigError(f"--keep-checkpoints must be >= 0, got {self.keep_checkpoints}")


@dataclass
class _Run:
    """What is stored for one (architecture, seed): its curves so far and its checkpoint."""

    values: np.ndarray  # float64 (E, len(METRICS)); NaN beyond ``reached``
    reached: int = 0
    diverged: bool = False
    params: float = math.nan
    flops: float = math.nan
    ckpt: Path | None = None  # checkpoint at ``reached`` (None: none on disk)
    parent: tuple[int, int] | None = None  # inherited runs: the parent's (arch, seed)


@dataclass
class LiveStats:
    """Counters of a live run (JSON-ready through :meth:`as_dict`)."""

    trained_evaluations: int = 0  # evaluations that trained something
    cached_evaluations: int = 0  # answered from the shards or the start table
    trained_member_epochs: int = 0
    populations: int = 0
    train_s: float = 0.0  # what the trainer reports (epochs, evaluation excluded)
    eval_s: float = 0.0
    compile_s: float = 0.0
    continued_from_checkpoint: int = 0
    restarted_without_checkpoint: int = 0
    inherited: int = 0
    inherit_fallbacks: int = 0  # a parent without weights on disk: the child trained from scratch
    checkpoints_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self).items()}


def make_live_config(dataset: str, recipe: str | None, out: str | Path, **settings: Any) -> LiveConfig:
    """A :class:`LiveConfig` with the recipe resolved by name or file (default: the dataset's).

    Raises:
        ConfigError: an unknown recipe or a malformed recipe file; bad settings.
    """
    from nasbench.train.build import default_recipe_name
    from nasbench.train.recipe import resolve_recipe

    return LiveConfig(
        dataset=dataset,
        recipe=resolve_recipe(recipe or default_recipe_name(dataset, settings.get("space", "nb201"))),
        out=Path(out),
        **settings,
    )


def live_context(config: LiveConfig) -> SearchContext:
    """The search context of a live search: the space and the recipe's epochs (no training)."""
    from nasbench.train.build import resolve_space

    return _space_context(resolve_space(config.space), config.recipe.epochs)


def _space_context(space: Any, epochs: int, prior: Prior | None = None) -> SearchContext:
    """Every architecture of the space, one trained representative per isomorphism class."""
    reps = np.asarray(space.iso_representatives(), np.int64)
    valid = reps == np.arange(space.size)
    return SearchContext(space, tuple(range(1, epochs + 1)), valid, None if valid.all() else reps, prior)


class TrainEvaluator(Evaluator):
    """The ``train`` backend: evaluations trained for real, cached as a growing result table.

    Args:
        config: dataset, recipe, run directory and live settings.
        key: what a rerun or ``--resume`` must match (strategy, seed, budget, ...); stored
            in the manifest beside the cache key.
        resume: continue the run in ``config.out`` (else it must not hold one).
        objective: what the search optimises (default: the reference table's, else the
            start table's, else ``valid_acc``, maximised); a metric the trainer records.

    Raises:
        NasbenchError: unknown dataset, malformed npz, unwritable directory, or a resume
            with different settings.
    """

    def __init__(
        self,
        config: LiveConfig,
        *,
        key: Mapping[str, Any] | None = None,
        resume: bool = False,
        objective: Objective | None = None,
    ) -> None:
        from nasbench.train.build import TRAINER_VERSION, resolve_space
        from nasbench.train.data import load_dataset
        from nasbench.train.families import family_of

        self.config = config
        self.space = resolve_space(config.space)
        self.family = family_of(self.space)
        #: one population layout for the whole search, so its program compiles once
        self._layout = self.family.fixed_layout(config.workers)
        self.dataset = load_dataset(config.dataset, config.recipe)
        self.family.check_dataset(self.dataset)
        self.recipe = config.recipe
        self.max_epoch = config.recipe.epochs
        self.stats = LiveStats()
        self.out = config.out
        self.overlap = config.overlap
        self._t_wall = time.perf_counter()  # reset by each run's begin (run_meta's wall_s)
        self.reference = None if config.reference is None else ResultTable.load(config.reference)
        start = None if config.table is None else ResultTable.load(config.table)  # read once
        # the reference table's objective, else the start table's, else the task's: valid_acc
        # maximised, or for regression valid_loss (MSE on the standardised target) minimised
        task_default = (
            Objective("valid_loss", "min")
            if getattr(self.dataset, "task", "") == "regression"
            else Objective()
        )
        self.objective = objective or next(
            (t.objective for t in (self.reference, start) if t is not None), task_default
        )
        if self.objective.metric not in METRICS:
            raise ConfigError(
                f"the trainer records {', '.join(METRICS)}; it cannot optimise {self.objective.metric!r}"
            )
        self._metric = METRICS.index(self.objective.metric)
        self._sign = self.objective.sign
        cache_key = {
            "trainer_version": TRAINER_VERSION,
            "space": {"name": self.space.name, "config": self.space.config()},
            "dataset": {"name": config.dataset, "fingerprint": self.dataset.fingerprint},
            "recipe": config.recipe.to_dict(),
            "recipe_hash": config.recipe.content_hash(),
        }
        self.cache_hash = key_hash(cache_key)
        self._prepare_dir(cache_key, dict(key or {}), resume)
        self.runs: dict[tuple[int, int], _Run] = {}
        self.inherited: dict[tuple[int, int, int], _Run] = {}  # (arch, seed, parent arch)
        self._weights: dict[
            int, tuple[int, Path]
        ] = {}  # arch -> (seed, checkpoint) of its latest trained weights
        self._shard_count = self._inh_count = 0
        prior = self._load_table(Path(config.table), start) if start is not None else None
        for path in config.shared:
            self._load_table(Path(path))
        self.context = _space_context(self.space, self.max_epoch, prior)
        self.context = dataclasses.replace(self.context, score_bounds=self.objective.score_bounds)
        if config.scores:
            feats, names = score_features(self.space, [read_scores(f) for f in config.scores])
            self.context = dataclasses.replace(self.context, scores=feats, score_names=tuple(names))
        self._load_shards()
        self.truth: Truth = _RunsTruth(self)
        self._est_epoch_s: float | None = self._estimate_epoch_seconds()
        self._ray: Any = None  # last: nothing after it can fail and leave a Ray instance running
        if config.executor == "ray":
            from nasbench.train.build import RayPopulations

            self._ray = RayPopulations(config.ray_address, self.recipe, self.dataset)

    # ---- the run directory -------------------------------------------------------------
    def _prepare_dir(self, cache_key: dict[str, Any], key: dict[str, Any], resume: bool) -> None:
        out = self.out
        manifest = out / "manifest.json"
        body = {"format": LIVE_FORMAT, "version": LIVE_VERSION, "cache": cache_key, "run": key}
        if manifest.exists() and not resume:
            raise ConfigError(
                f"{out} holds a previous search; pass --resume to continue it, or use another --out"
            )
        if resume and not manifest.exists():
            raise ConfigError(f"--resume: {out} holds no search to continue (no manifest.json)")
        if not check_manifest(manifest, body, what="a search", hint="use the same arguments with --resume"):
            make_dirs(out)
            write_manifest(manifest, body)
        for sub in ("shards", "inherited", "checkpoints"):
            make_dirs(out / sub)

    def _load_table(self, path: Path, table: ResultTable | None = None) -> Prior | None:
        """Answer what an existing table of the same dataset and recipe holds; return its full
        curves (at most :data:`PRIOR_LIMIT`, a fixed random subset) for the strategy's surrogates.
        ``table``: the file's table when it is loaded already."""
        t = ResultTable.load(path) if table is None else table
        if t.metadata.get("recipe_hash") not in (None, self.recipe.content_hash()) or t.metadata.get(
            "dataset"
        ) not in (None, self.config.dataset):
            raise ConfigError(
                f"{path} was trained on {t.metadata.get('dataset')!r} with another recipe; a start table must "
                "match the search's dataset and recipe"
            )
        if tuple(int(e) for e in t.epochs) != tuple(range(1, self.max_epoch + 1)):
            raise ConfigError(f"{path} stores epochs {list(t.epochs)}; the recipe trains 1..{self.max_epoch}")
        idx = {m: i for i, m in enumerate(t.metrics)}
        cols = [idx.get(m) for m in METRICS]
        vals = np.asarray(t.values, np.float64)
        for r, arch in enumerate(np.asarray(t.arch_index, np.int64)):
            for s_pos, seed in enumerate(np.asarray(t.seeds, np.int64)):
                v = np.full((self.max_epoch, len(METRICS)), np.nan)
                for j, c in enumerate(cols):
                    if c is not None:
                        v[:, j] = vals[r, s_pos, :, c]
                ok = np.flatnonzero((~np.isnan(v[:, [VALID, REACHED, self._metric]])).any(axis=1))
                have = self.runs.get((int(arch), int(seed)))
                if len(ok) == 0 or (have is not None and have.reached >= int(ok[-1]) + 1):
                    continue  # nothing stored, or another table holds more of this run
                self.runs[(int(arch), int(seed))] = _Run(v, reached=int(ok[-1]) + 1)
        seen = next(idx[m] for m in (self.objective.metric, "valid_loss", "valid_acc") if m in idx)
        full = np.isfinite(vals[:, :, :, seen]).all(axis=2)
        rows, seeds = np.nonzero(full)
        if len(rows) == 0:
            return None
        if len(rows) > PRIOR_LIMIT:
            keep = np.sort(np.random.default_rng(0).choice(len(rows), PRIOR_LIMIT, replace=False))
            rows, seeds = rows[keep], seeds[keep]
        obj = idx.get(self.objective.metric)
        if obj is None:
            return None
        return Prior(np.asarray(t.arch_index, np.int64)[rows], self._sign * vals[rows, seeds, :, obj])

    def _load_shards(self) -> None:
        import pyarrow.parquet as pq

        for kind in ("shards", "inherited"):
            files = sorted((self.out / kind).glob("pop-*.parquet"))
            for p in files:
                try:
                    frame = pq.read_table(p).to_pandas()
                except Exception as exc:
                    raise NasbenchError(f"cannot read shard {p}: {str(exc).splitlines()[0]}") from None
                self._absorb(frame, inherited=kind == "inherited")
            if kind == "shards":
                self._shard_count = len(files)
            else:
                self._inh_count = len(files)
        for p in sorted((self.out / "checkpoints").glob("*.npz")):
            self._attach_checkpoint(p)

    def _absorb(self, frame: Any, *, inherited: bool) -> None:
        """Merge one shard's rows (a member's epochs) into the store."""
        # one child may be inherited from two parents in one population: a parent is part of its key
        keys = ["arch_index", "seed", "parent_arch"] if inherited else ["arch_index", "seed"]
        for (arch, seed, *_), g in frame.groupby(keys, sort=False):
            parent = None
            if inherited:
                parent = (int(g["parent_arch"].iloc[0]), int(g["parent_seed"].iloc[0]))
                run = self.inherited.setdefault(
                    (int(arch), int(seed), parent[0]),
                    _Run(np.full((self.max_epoch, len(METRICS)), np.nan), parent=parent),
                )
            else:
                run = self.runs.setdefault(
                    (int(arch), int(seed)), _Run(np.full((self.max_epoch, len(METRICS)), np.nan))
                )
            ep = g["epoch"].to_numpy(np.int64)
            for j, m in enumerate(METRICS):
                run.values[ep - 1, j] = g[m].to_numpy(np.float64)
            run.reached = max(run.reached, int(ep.max()))
            run.diverged = bool(g["diverged"].any())
            run.params, run.flops = float(g["params"].iloc[0]), float(g["flops"].iloc[0])

    def _attach_checkpoint(self, path: Path) -> None:
        # names: a{arch}-s{seed}-e{epoch}.npz (scratch) or i{arch}-s{seed}-p{parent}.npz (inherited)
        stem = path.stem
        try:
            kind, a, s, last = stem[0], *stem[1:].split("-")
            arch, seed = int(a), int(s[1:])
        except ValueError:
            return
        if kind == "a":
            run = self.runs.get((arch, seed))
            if run is not None and int(last[1:]) == run.reached:
                run.ckpt = path
                if run.reached == self.max_epoch:
                    self._weights[arch] = (seed, path)
            else:
                path.unlink(missing_ok=True)  # superseded by a later epoch
        elif kind == "i":
            run = self.inherited.get((arch, seed, int(last[1:])))
            if run is not None:
                run.ckpt = path
                self._weights[arch] = (seed, path)

    def _estimate_epoch_seconds(self) -> float | None:
        """Training seconds per member-epoch, from what is stored (None when nothing is)."""
        costs = [r.values[r.reached - 1, TIME] / r.reached for r in self.runs.values() if r.reached]
        costs = [c for c in costs if c == c and c > 0]
        return float(np.median(costs)) if costs else None

    # ---- checks --------------------------------------------------------------------------
    def check_budget(self, budget: Budget) -> None:
        """Raise :class:`BudgetError` when the budget cannot pay for one full evaluation."""
        super().check_budget(budget)
        if budget.kind == "seconds" and self._est_epoch_s is not None:
            one = self._est_epoch_s * self.max_epoch
            if budget.amount < one:
                raise BudgetError(
                    f"budget of {budget.amount:g} s is smaller than one evaluation (about {one:.3g} training "
                    "seconds on what this run has stored)"
                )

    # ---- training ------------------------------------------------------------------------
    def _train(self, members: list[tuple[int, int, int, int, Any, int]]) -> Any:
        """Train ``members`` ``(arch, seed, start epoch, epochs, start state, schedule)`` of
        the space's network family in as few populations as they fit
        (:func:`nasbench.train.members.train_members`: new runs and continuations together);
        on a Ray task with the ``ray`` executor."""
        from nasbench.train.members import train_members

        kw = {"population": self.config.workers, "keep_state": True, "layout": self._layout}
        if self._ray is not None:
            res = self._ray.result(self._ray.submit_members(self.space, members, **kw))
        else:
            res = train_members(self.space, self.recipe, self.dataset, members, **kw)
        self.stats.populations += int(res.timing["populations"])
        self.stats.trained_member_epochs += int(np.sum(res.trained_epochs))
        self.stats.train_s += float(res.timing["train_s"])
        self.stats.eval_s += float(res.timing["eval_s"])
        self.stats.compile_s += float(res.timing["compile_s"])
        return res

    def _execute(self, jobs: list[_Work]) -> list[Outcome]:
        """Answer a batch: look up what is stored, train the rest, store it (atomically).

        Each outcome says whether it trained something: the first job of a batch that
        needed a given run trained it, and every other job was answered from the store.
        """
        from nasbench.train.checkpoint import load_state
        from nasbench.train.families import UnsupportedError

        scratch: list[Any] = []  # new runs and continuations: one call, whatever epoch each starts at
        inherit: list[Any] = []
        parents: list[tuple[int, int]] = []
        trains: dict[int, tuple[Any, ...]] = {}  # job position -> the run it trains
        planned: set[tuple[Any, ...]] = set()
        for pos, job in enumerate(jobs):
            if job.parent is not None and (job.arch, job.seed, job.parent) in self.inherited:
                continue
            parent = self._weights.get(job.parent) if job.parent is not None else None
            if parent is not None:
                key: tuple[Any, ...] = ("i", job.arch, job.seed, job.parent)
                if key not in planned:
                    p_seed, p_path = parent
                    try:
                        state = self.family.inherit(load_state(p_path), job.parent, job.arch)
                    except UnsupportedError:
                        state = None
                    if state is not None:
                        planned.add(key)
                        trains[pos] = key
                        n = self.config.inherit_epochs
                        inherit.append((job.arch, job.seed, 0, n, state, n))
                        parents.append((job.parent, p_seed))
                        continue
                else:
                    continue
            if job.parent is not None:
                self.stats.inherit_fallbacks += 1
            run = self.runs.get((job.arch, job.seed))
            key = ("s", job.arch, job.seed)
            if (run is not None and run.reached >= job.to_epoch) or key in planned:
                continue
            planned.add(key)
            trains[pos] = key
            start, state = 0, None
            if run is not None and run.reached and run.ckpt is not None and run.ckpt.exists():
                start, state = run.reached, load_state(run.ckpt)
                self.stats.continued_from_checkpoint += 1
            elif run is not None and run.reached:
                self.stats.restarted_without_checkpoint += 1
            to = max(j.to_epoch for j in jobs if (j.arch, j.seed) == (job.arch, job.seed))
            scratch.append((job.arch, job.seed, start, to - start, state, self.max_epoch))
        if scratch:
            self._store(self._train(scratch), None)
        if inherit:
            self._store(self._train(inherit), parents)
        self._evict()
        self.stats.trained_evaluations += len(trains)
        self.stats.cached_evaluations += len(jobs) - len(trains)
        if self.stats.train_s and self.stats.trained_member_epochs:
            self._est_epoch_s = self.stats.train_s / self.stats.trained_member_epochs
        return [self._answer(job, pos in trains) for pos, job in enumerate(jobs)]

    def _store(self, res: Any, parents: list[tuple[int, int]] | None) -> None:
        """Write trained members as a shard (``parents``: the inherited children's, stored
        apart), their checkpoints first: a shard on disk always has its checkpoints."""
        from nasbench.train.build import write_shard
        from nasbench.train.checkpoint import save_arrays

        inherited = parents is not None
        arch = res.arch_index.tolist()
        seed = res.seed.tolist()
        start = res.start_epochs.tolist()
        # cumulative seconds from the run's start: add what the continued epochs cost
        prior = np.array(
            [self.runs[(a, s)].values[e - 1, TIME] if e else 0.0 for a, s, e in zip(arch, seed, start)]
        )
        res.metrics["time_s"] = (res.metrics["time_s"] + prior[:, None]).astype(np.float32)
        if inherited:
            extra = {
                "parent_arch": np.array([p[0] for p in parents], np.int32),
                "parent_seed": np.array([p[1] for p in parents], np.int32),
            }
            path = self.out / "inherited" / f"pop-{self._inh_count:05d}.parquet"
            self._inh_count += 1
        else:
            extra = None
            path = self.out / "shards" / f"pop-{self._shard_count:05d}.parquet"
            self._shard_count += 1
        ckpts = []
        for i, (a, s) in enumerate(zip(arch, seed)):
            end = start[i] + int(res.trained_epochs[i])
            name = f"i{a}-s{s}-p{parents[i][0]}.npz" if inherited else f"a{a}-s{s}-e{end}.npz"
            ckpt = self.out / "checkpoints" / name
            if self.config.keep_checkpoints and not res.diverged[i]:
                save_arrays(ckpt, self.family.checkpoint_leaves(res.states[i], a))
                ckpts.append(ckpt)
            else:
                ckpts.append(None)
        res.states = None
        # the store reads back exactly what was written, as a resumed run will
        self._absorb(write_shard(path, res, self.cache_hash, extra=extra).to_pandas(), inherited=inherited)
        for i, (a, s) in enumerate(zip(arch, seed)):
            ckpt = ckpts[i]
            run = self.inherited[(a, s, parents[i][0])] if inherited else self.runs[(a, s)]
            if not inherited and run.ckpt is not None and run.ckpt != ckpt:
                run.ckpt.unlink(missing_ok=True)  # the earlier epoch's checkpoint is superseded
            run.ckpt = ckpt
            if ckpt is not None and (inherited or run.reached == self.max_epoch):
                self._weights[a] = (s, ckpt)

    def _evict(self) -> None:
        """Keep the best ``keep_checkpoints`` checkpoints (by validation accuracy at their epoch)."""
        held = [r for r in (*self.runs.values(), *self.inherited.values()) if r.ckpt is not None]
        k = self.config.keep_checkpoints
        if len(held) <= k:
            return
        m, sign = self._metric, self._sign
        score = [(-np.nan_to_num(sign * r.values[r.reached - 1, m], nan=-np.inf), str(r.ckpt)) for r in held]
        order = sorted(range(len(held)), key=lambda i: score[i])
        for i in order[k:]:
            r = held[i]
            r.ckpt.unlink(missing_ok=True)
            self._weights = {a: w for a, w in self._weights.items() if w[1] != r.ckpt}
            r.ckpt = None
            self.stats.checkpoints_deleted += 1

    def _answer(self, job: _Work, trained: bool) -> Outcome:
        m, sign = self._metric, self._sign
        if job.parent is not None and (job.arch, job.seed, job.parent) in self.inherited:
            run = self.inherited[(job.arch, job.seed, job.parent)]
            e = run.reached
            curve = sign * run.values[:e, m]
            curve.setflags(write=False)
            self.stats.inherited += 1
            extra = {"trained": trained, "parent": run.parent[0], "inherited_epochs": e}
            return Outcome(float(curve[-1]), curve, float(run.values[e - 1, TIME]), job.seed, extra)
        run = self.runs[(job.arch, job.seed)]
        e = job.to_epoch
        curve = sign * run.values[:e, m]
        curve.setflags(write=False)
        cost = float(
            run.values[e - 1, TIME] - (run.values[job.from_epoch - 1, TIME] if job.from_epoch else 0.0)
        )
        extra = {"trained": trained, "parent": -1, "inherited_epochs": 0}
        return Outcome(float(curve[-1]), curve, max(cost, 0.0), job.seed, extra)

    def close(self) -> None:
        """Release the executor (a Ray instance this evaluator started)."""
        if self._ray is not None:
            self._ray.close()

    # ---- the grown table -------------------------------------------------------------------
    def grown_table(self) -> ResultTable | None:
        """The scratch-trained runs (and the start table's) as a result table; None if empty."""
        import pandas as pd

        rows = []
        for (arch, seed), run in sorted(self.runs.items()):
            if not run.reached:
                continue
            e = np.arange(1, self.max_epoch + 1)
            d = {"arch_index": arch, "seed": seed, "epoch": e, "diverged": run.diverged}
            d.update({m: run.values[:, j] for j, m in enumerate(METRICS)})
            d.update(params=run.params, flops=run.flops)
            rows.append(pd.DataFrame(d))
        if not rows:
            return None
        frame = pd.concat(rows, ignore_index=True)
        has_costs = frame[["params", "flops"]].notna().all(axis=None)
        meta = {
            "dataset": self.config.dataset,
            "dataset_info": self.dataset.summary(),
            "recipe": self.recipe.to_dict(),
            "recipe_hash": self.recipe.content_hash(),
            "source": "nasbench search --evaluator train",
            **({} if self.objective.is_default else {"objective": self.objective.to_dict()}),
            "notes": [
                "grown by a live search: NaN beyond the epochs a run was trained to",
                "results of weight-inheriting children are not here (see inherited/)",
            ],
        }
        return ResultTable.from_records(
            self.space,
            frame,
            metrics=TASK_METRICS[getattr(self.dataset, "task", "classification")],
            arch_columns=("params", "flops") if has_costs else (),
            metadata=meta,
        )

    # ---- the evaluator contract ---------------------------------------------------------------
    def batch_size(self, config: RunConfig) -> int:
        return self.config.workers

    def begin(self, config: RunConfig, rng: np.random.Generator, strategy: AskTell) -> None:
        if config.noise != "seed":
            raise StrategyConfigError("a live search trains one seed per trial; noise='mean' needs a table")
        if self.config.inherit and not getattr(strategy, "mutates", False):
            raise StrategyConfigError(
                f"--inherit needs a strategy that mutates (re, ls, bananas, screened); "
                f"{strategy.name or type(strategy).__name__} never proposes a child of a parent"
            )
        self._rng = rng
        self._t_wall = time.perf_counter()  # this run's wall clock (run_meta)

    def estimate_cost(self, job: Job) -> float:
        return (self._est_epoch_s or 0.0) * (job.to_epoch - job.from_epoch)

    def evaluate(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Train what ``jobs`` need (one population per shape), answer the rest from the store."""
        seeds = self.config.train_seeds
        work = []
        for job in jobs:
            seed = job.seed
            if seed < 0:  # a new trial draws one of the training seeds
                seed = int(seeds[int(self._rng.random() * len(seeds))])
            inherit = self.config.inherit and job.from_epoch == 0 and job.to_epoch == self.max_epoch
            work.append(_Work(job.rep, seed, job.from_epoch, job.to_epoch, job.parent if inherit else None))
        return self._execute(work)

    def run_meta(self) -> dict[str, Any]:
        return {
            "evaluator": "train",
            "truth": "reference table" if self.reference is not None else "runs of this search (seed mean)",
            "wall_s": time.perf_counter() - self._t_wall,
            "live": self.stats.as_dict(),
        }

    def progress(self) -> dict[str, Any]:
        return {"train_s": self.stats.train_s, "trained": self.stats.trained_evaluations}

    def with_truth(self, truth: Truth) -> TrainEvaluator:
        """Measure regret against ``truth`` (a reference table's evaluator, with the run's
        constraints and objectives), and search only what it counts as feasible: its
        context's valid architectures and secondary objectives become this one's.

        Raises:
            ConfigError: ``truth`` optimises another objective than this search.
        """
        if truth.objective != self.objective:
            raise ConfigError(
                f"the reference table's {truth.objective.describe()}, but this search's {self.objective.describe()}"
            )
        ctx = getattr(truth, "context", None)
        self.truth = truth
        if ctx is None:
            return self
        feasible = np.zeros(self.space.size, dtype=bool)
        feasible[ctx.valid] = True
        if ctx.canonical is not None:  # an architecture counts as its stored representative
            ok = ctx.canonical >= 0
            feasible[ok] = ctx.valid[ctx.canonical[ok]]
        valid = self.context.valid & feasible
        if not valid.any():
            raise StrategyConfigError("no architecture of the space satisfies the constraints")
        self.context = dataclasses.replace(
            self.context,
            valid=valid,
            objectives=ctx.objectives,
            objective_names=ctx.objective_names,
        )
        return self


@dataclass(frozen=True)
class _Work:
    """One evaluation resolved to what must be trained or looked up."""

    arch: int  # the stored representative
    seed: int
    from_epoch: int  # epochs the trial had reached (0 for a new trial)
    to_epoch: int
    parent: int | None  # inherit from this architecture (None: train from scratch)


class _RunsTruth:
    """The truth of a live search without a reference table: the seed means of its own full
    runs (no optimum, no targets)."""

    def __init__(self, ev: TrainEvaluator) -> None:
        self._ev = ev
        self.objective = ev.objective
        self.optimum = math.nan
        self.targets: dict[str, float] = {}
        self.constraints: tuple[str, ...] = ()

    def final_values(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ev = self._ev
        finals: dict[int, list[np.ndarray]] = {}  # arch -> final-epoch rows of its full runs
        for (a, _), r in ev.runs.items():
            if r.reached == ev.max_epoch:
                finals.setdefault(a, []).append(r.values[-1])
        nan = np.full(len(METRICS), np.nan)
        last = np.array([np.mean(finals[a], axis=0) if a in finals else nan for a in archs.tolist()])
        last = last.reshape(len(archs), len(METRICS))
        test = self.objective.test_metric
        return last[:, ev._metric], last[:, METRICS.index(test)] if test in METRICS else np.full(
            len(archs), np.nan
        )


#: the name the train backend had before the evaluation layer
LiveEvaluator = TrainEvaluator

__all__ = [
    "LiveConfig",
    "LiveEvaluator",
    "LiveStats",
    "TrainEvaluator",
    "live_context",
    "make_live_config",
]

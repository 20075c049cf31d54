"""``nasbench suite SUITE.toml``: many strategies on many tables, ranked together.

A suite file (TOML; paths are relative to the file)::

    strategies = ["rs", "re", "ls", "bananas"]   # registered names, modifiers too (re+es)
    seeds = 10                 # runs per strategy and table (seeds first_seed .. first_seed + seeds - 1)
    first_seed = 0             # optional
    workers = 1                # optional: simulated asynchronous workers per run
    noise = "seed"             # optional: "seed" or "mean"
    processes = 2              # optional: worker processes of each table's comparison
    surrogate = "rf"           # optional: the surrogate of the strategies that use one
    blocks = "table-seed"      # optional: what the ranking's blocks are ("table-seed" or "table")
    alpha = 0.05               # optional: level of the Friedman and Nemenyi tests
    bootstrap = 2000           # optional: bootstrap resamples of the confidence intervals
    bootstrap_seed = 0         # optional: their seed

    [params.re]                # optional: a strategy's parameters, as compare's -p re.NAME=VALUE
    population_size = 20

    [[tables]]
    path = "../digits.parquet"
    budget = "100"             # full evaluations, or simulated time ("5e5s", "20h")
    name = "digits"            # optional: default the file's stem; the folder of its comparison

    [[tables]]
    path = "/data/fcnet-protein.parquet"
    budget = "200"
    objective = { metric = "valid_loss", direction = "min" }   # optional: default the table's own

Every table's strategies run through :func:`nasbench.experiments.compare.compare` into
``DIR/tables/<name>/`` (its own regret plot, summaries and resumable run files). Random
search (``rs``) runs on every table, added when the file leaves it out: it is the yardstick
of the normalised regret. Across tables the suite writes:

* **normalised regret** of each run: its final regret divided by the median final regret
  of random search on the same table at the same budget (0 = the table's optimum, 1 = the
  median random search); undefined on a table where random search's median is 0;
* **mean ranks**: in each block (by default one block per table and seed: the runs of all
  strategies with that seed on that table) the strategies are ranked by final regret
  (1 = best, ties averaged), and the ranks are averaged over blocks, with a percentile
  bootstrap interval over blocks;
* the **Friedman test** over the blocks and, for the post-hoc comparison, **Nemenyi's
  critical difference** ``q_alpha * sqrt(k (k + 1) / (6 N))`` for ``k`` strategies and
  ``N`` blocks, with ``q_alpha`` from the studentized range distribution, as Demsar (2006,
  JMLR 7) recommends; two strategies whose mean ranks differ by more than the critical
  difference differ at level ``alpha``;
* ``suite.md``, ``suite.json``, ``cd.png`` (the critical-difference diagram) and
  ``normalised_regret.png`` (a box plot over tables and seeds).

``DIR/manifest.json`` records what the runs depend on; ``resume=True`` continues a folder
whose manifest matches and refuses one that does not. With ``executor="ray"`` each table's
comparison is a Ray task (one CPU, in one process); the tasks write into ``DIR``, so on a
cluster of several machines ``DIR`` and the tables must be on a filesystem they share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nasbench.core.config import build_config, read_config_file
from nasbench.core.io import atomic_write_text, make_dirs, write_json
from nasbench.core.manifest import check_manifest, read_manifest, write_manifest
from nasbench.core.metrics import Objective
from nasbench.experiments.compare import CompareConfig, compare, prepare
from nasbench.experiments.report import fmt_ci
from nasbench.experiments.storage import read_trajectory, run_file
from strategies.errors import StrategyConfigError
from strategies.registry import parse_name
from strategies.runner import Budget, RunConfig

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: the yardstick of the normalised regret, run on every table
BASELINE = "rs"
EXECUTORS = ("local", "ray")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# ---- the suite file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableEntry:
    """The keys of one ``[[tables]]`` entry."""

    path: str
    budget: str | int | float
    name: str | None = None
    objective: dict[str, Any] | None = None


@dataclass(frozen=True)
class SuiteFile:
    """The keys of a suite file (see the module docstring)."""

    tables: list[dict[str, Any]]
    strategies: list[str]
    seeds: int
    first_seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    surrogate: str | None = None
    workers: int = 1
    noise: Literal["seed", "mean"] = "seed"
    processes: int = 2
    blocks: Literal["table-seed", "table"] = "table-seed"
    alpha: float = 0.05
    bootstrap: int = 2000
    bootstrap_seed: int = 0


@dataclass(frozen=True)
class SuiteTable:
    """One table of a suite.

    Attributes:
        name: its name in reports and the folder of its comparison.
        path: the table file, resolved.
        budget: every run's budget on it.
        objective: what its runs optimise (None: the table's own objective).
    """

    name: str
    path: str
    budget: Budget
    objective: Objective | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "budget": str(self.budget),
            "objective": None if self.objective is None else self.objective.to_dict(),
        }


@dataclass(frozen=True)
class SuiteConfig:
    """A parsed, checked suite (see the module docstring).

    Attributes:
        tables: the tables, in report order.
        strategies: registered names in report order, random search among them.
        seeds: runs per strategy and table.
        added_baseline: whether ``rs`` was added because the file left it out.
    """

    tables: tuple[SuiteTable, ...]
    strategies: tuple[str, ...]
    seeds: int
    first_seed: int = 0
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    surrogate: str | None = None
    workers: int = 1
    noise: Literal["seed", "mean"] = "seed"
    processes: int = 2
    blocks: Literal["table-seed", "table"] = "table-seed"
    alpha: float = 0.05
    bootstrap: int = 2000
    bootstrap_seed: int = 0
    added_baseline: bool = False

    def compare_config(self, table: SuiteTable, processes: int | None = None) -> CompareConfig:
        """The comparison that runs on ``table``."""
        return CompareConfig(
            self.strategies,
            self.seeds,
            RunConfig(table.budget, workers=self.workers, noise=self.noise),
            self.params,
            self.surrogate,
            self.processes if processes is None else processes,
            first_seed=self.first_seed,
        )

    def manifest(self) -> dict[str, Any]:
        """What must match for a rerun into the same folder to resume (the runs' settings;
        not the statistics, which are recomputed on every run)."""
        return {
            "kind": "nasbench-suite",
            "tables": [t.describe() for t in self.tables],
            "strategies": list(self.strategies),
            "seeds": self.seeds,
            "first_seed": self.first_seed,
            "params": {k: dict(v) for k, v in sorted(self.params.items())},
            "surrogate": self.surrogate,
            "workers": self.workers,
            "noise": self.noise,
        }


def load_suite(path: str | os.PathLike[str]) -> SuiteConfig:
    """Read and check a suite file; table paths inside are relative to the file.

    Raises:
        StrategyConfigError: unreadable TOML, unknown keys, wrong types, a missing table,
            an unknown strategy, a non-positive budget.
    """
    p = Path(path)
    raw = read_config_file(p, what="suite file", error=StrategyConfigError, default="toml")
    return parse_suite(raw, base=p.resolve().parent, source=str(p))


def parse_suite(raw: Mapping[str, Any], *, base: Path, source: str = "suite file") -> SuiteConfig:
    """Check a suite mapping (parsed TOML); relative table paths are resolved against ``base``.

    Raises:
        StrategyConfigError: see :func:`load_suite`.
    """
    f = build_config(SuiteFile, raw, who="suite file", noun="key", error=StrategyConfigError)
    names = [s.strip() for s in f.strategies]
    if not names or any(not s for s in names):
        raise StrategyConfigError(f"{source}: strategies must list at least one registered name")
    for s in names:
        parse_name(s)  # an unknown strategy: one line naming the known ones
    added = BASELINE not in names
    strategies = ((BASELINE,) if added else ()) + tuple(names)
    if len(set(strategies)) != len(strategies):
        raise StrategyConfigError(f"{source}: strategies are listed twice: {', '.join(names)}")
    params: dict[str, dict[str, Any]] = {}
    for k, v in f.params.items():
        if k not in strategies:
            raise StrategyConfigError(f"{source}: [params.{k}] names a strategy the suite does not run")
        if not isinstance(v, dict):
            raise StrategyConfigError(f"{source}: [params.{k}] must be a table of NAME = VALUE")
        params[k] = dict(v)
    for key, low in (("seeds", 1), ("workers", 1), ("processes", 1), ("bootstrap", 100), ("first_seed", 0)):
        if getattr(f, key) < low:
            raise StrategyConfigError(f"{source}: {key} must be at least {low}, got {getattr(f, key)}")
    if not 0.0 < f.alpha < 1.0:
        raise StrategyConfigError(f"{source}: alpha must be between 0 and 1, got {f.alpha}")
    if not f.tables:
        raise StrategyConfigError(f"{source}: name at least one table under [[tables]]")
    tables = tuple(_table(i, entry, base, source) for i, entry in enumerate(f.tables))
    seen: set[str] = set()
    for t in tables:
        if t.name in seen:
            raise StrategyConfigError(f"{source}: two tables are named {t.name!r}; give one a name = ...")
        seen.add(t.name)
    return SuiteConfig(
        tables=tables,
        strategies=strategies,
        seeds=f.seeds,
        first_seed=f.first_seed,
        params=params,
        surrogate=f.surrogate,
        workers=f.workers,
        noise=f.noise,
        processes=f.processes,
        blocks=f.blocks,
        alpha=f.alpha,
        bootstrap=f.bootstrap,
        bootstrap_seed=f.bootstrap_seed,
        added_baseline=added,
    )


def _table(i: int, entry: Any, base: Path, source: str) -> SuiteTable:
    who = f"{source}: table {i + 1}"
    e = build_config(TableEntry, entry, who=who, noun="key", error=StrategyConfigError)
    path = Path(e.path).expanduser()
    path = path if path.is_absolute() else (base / path)
    path = path.resolve()
    if not path.exists():
        raise StrategyConfigError(f"{who}: table not found: {path}")
    name = e.name or path.name.split(".")[0]
    if not _NAME.fullmatch(name):
        raise StrategyConfigError(f"{who}: name {name!r} must be letters, digits, '.', '_' or '-'")
    try:
        budget = Budget.parse(e.budget)
    except StrategyConfigError as exc:
        raise StrategyConfigError(f"{who} ({name}): {exc}") from None
    objective = None
    if e.objective is not None:
        objective = build_config(
            Objective, e.objective, who=f"{who} objective", noun="key", error=StrategyConfigError
        )
    return SuiteTable(name, str(path), budget, objective)


# ---- running ---------------------------------------------------------------------------------


def _table_file(t: SuiteTable, folder: Path) -> str:
    """The table file a comparison runs on: the table itself, or, where the suite sets
    another objective, a copy whose metadata names it (``folder/table.parquet``, written
    again on every run so that it follows its source; the comparison's manifest holds its
    hash)."""
    if t.objective is None:
        return t.path
    from nasbench.tables.table import ResultTable

    table = ResultTable.load(t.path)
    if table.objective == t.objective:
        return t.path
    meta = {**table.metadata, "objective": t.objective.to_dict()}
    meta["source"] = f"{t.path} with the objective {t.objective.describe()} (nasbench suite)"
    derived = dataclasses.replace(table, metadata=meta)  # checks the metric is one of the table's
    make_dirs(folder)
    out = folder / "table.parquet"
    derived.save(out)
    return str(out)


def _compare_task(table: str, out: str, config: CompareConfig) -> dict[str, Any]:
    """One table's comparison (on a Ray worker)."""
    logging.getLogger("nasbench").setLevel(logging.WARNING)
    return compare(table, out, config)


def _run_local(
    jobs: Sequence[tuple[str, Path, CompareConfig]],
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    per_table = [len(c.strategies) * c.seeds for _, _, c in jobs]
    total, offset, results = sum(per_table), 0, []
    for (table, out, config), n in zip(jobs, per_table, strict=True):
        base = offset

        def update(done: int, _n: int, base: int = base) -> None:
            if progress:
                progress(base + done, total)

        results.append(compare(table, out, config, progress=update))
        offset += n
    return results


def _run_ray(
    jobs: Sequence[tuple[str, Path, CompareConfig]],
    address: str | None,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """One Ray task per table (one CPU, one process each), on the cluster at ``address``
    (or ``RAY_ADDRESS``), else a local instance that is shut down again afterwards."""
    try:
        import ray
    except ImportError:
        raise StrategyConfigError(
            "--executor ray needs the 'ray' package (pip install 'nasbench-explorer[ray]')"
        ) from None
    address = address or os.environ.get("RAY_ADDRESS")
    started = False
    if not ray.is_initialized():
        try:
            ray.init(
                address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
            )
        except ConnectionError as exc:
            raise StrategyConfigError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
        started = True
    try:
        task = ray.remote(max_retries=2)(_compare_task).options(num_cpus=1)
        refs = [
            task.remote(table, str(out), dataclasses.replace(config, processes=1))
            for table, out, config in jobs
        ]
        total = sum(len(c.strategies) * c.seeds for _, _, c in jobs)
        results: dict[int, dict[str, Any]] = {}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            i = refs.index(ready[0])
            try:
                results[i] = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else exc
                raise cause from None
            if progress:
                progress(sum(r["runs"] for r in results.values()), total)
        return [results[i] for i in range(len(refs))]
    finally:
        if started:
            ray.shutdown()


def suite(
    config: SuiteConfig,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a suite and write its reports.

    Args:
        config: the suite.
        out: output folder (created).
        resume: continue a folder whose manifest matches (without it, a folder that holds a
            suite is refused).
        executor: ``local`` (tables one after another, each over ``processes``) or ``ray``.
        ray_address: the Ray cluster (``None``: ``RAY_ADDRESS`` or a local instance).
        processes: worker processes per comparison (default: the suite's).
        progress: called with ``(runs done, runs total)``.

    Returns:
        The JSON summary (also written to ``suite.json``).

    Raises:
        NasbenchError: bad input, as a one-line message, before any run starts.
    """
    t0 = time.perf_counter()
    if executor not in EXECUTORS:
        raise StrategyConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if processes is not None and processes < 1:
        raise StrategyConfigError(f"--processes must be at least 1, got {processes}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StrategyConfigError(f"--out {out} exists and is not a folder")
    if read_manifest(out / MANIFEST) is not None:
        if not resume:
            raise StrategyConfigError(
                f"{out} holds a suite already; pass --resume to continue it, or use another --out"
            )
        check_manifest(
            out / MANIFEST,
            config.manifest(),
            what="a suite",
            hint="use another --out folder or remove it",
            error=StrategyConfigError,
        )
    # everything checked on every table before any run starts
    jobs: list[tuple[str, Path, CompareConfig]] = []
    for t in config.tables:
        folder = out / "tables" / t.name
        cfg = config.compare_config(t, processes)
        table_file = _table_file(t, folder)
        prepare(table_file, folder, cfg)
        jobs.append((table_file, folder, cfg))
    make_dirs(out)
    write_manifest(out / MANIFEST, config.manifest())
    if executor == "ray":
        results = _run_ray(jobs, ray_address, progress)
    else:
        results = _run_local(jobs, progress)
    return _report(config, out, jobs, results, executor, time.perf_counter() - t0)


# ---- statistics ------------------------------------------------------------------------------


def final_regrets(config: SuiteConfig, out: Path) -> np.ndarray:
    """float64 ``(T, S, K)``: each run's final regret, by table, strategy and seed (from the
    comparisons' run files)."""
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    return np.array(
        [
            [
                [read_trajectory(run_file(out / "tables" / t.name, s, k)).final_regret for k in seeds]
                for s in config.strategies
            ]
            for t in config.tables
        ],
        dtype=np.float64,
    )


def normalised_regret(regret: np.ndarray, baseline: int) -> tuple[np.ndarray, np.ndarray]:
    """Final regrets over random search's median on each table.

    Args:
        regret: float ``(T, S, K)`` final regrets.
        baseline: position of random search on the strategy axis.

    Returns:
        float ``(T, S, K)`` normalised regrets (NaN on a table where random search's median
        is 0) and float ``(T,)`` random search's median final regret per table.
    """
    med = np.nanmedian(regret[:, baseline, :], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = regret / med[:, None, None]
    norm[med <= 0] = np.nan
    return norm, med


def block_matrix(regret: np.ndarray, blocks: str) -> np.ndarray:
    """float ``(N, S)``: the values ranked in each block -- one row per table and seed
    (``table-seed``), or per table, its seeds' mean (``table``). A run without a regret
    ranks last."""
    r = np.nan_to_num(regret, nan=np.inf)
    if blocks == "table":
        return r.mean(axis=2)
    return r.transpose(0, 2, 1).reshape(-1, r.shape[1])


def ranks_of(blocks: np.ndarray) -> np.ndarray:
    """float ``(N, S)``: ranks within each block (1 = the lowest regret, ties averaged)."""
    from scipy.stats import rankdata

    return rankdata(blocks, axis=1)


def bootstrap_ci(
    values: np.ndarray, *, n: int, seed: int, level: float = 0.95, reduce: Callable[..., Any] = np.nanmean
) -> dict[str, np.ndarray]:
    """Percentile bootstrap over the rows of ``values`` (float ``(N, S)``).

    Returns:
        ``{"estimate", "lo", "hi"}``, each float ``(S,)``.
    """
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n, len(values)))
    with np.errstate(all="ignore"), _quiet_nan():
        boot = reduce(values[idx], axis=1)  # (n, S)
        lo, hi = np.nanpercentile(boot, [100 * (1 - level) / 2, 100 * (1 + level) / 2], axis=0)
        est = reduce(values, axis=0)
    return {"estimate": est, "lo": lo, "hi": hi}


@contextlib.contextmanager
def _quiet_nan() -> Iterator[None]:
    """Silence numpy's warnings about all-NaN slices (a table without a normalised regret)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def friedman_nemenyi(ranked: np.ndarray, mean_ranks: np.ndarray, alpha: float) -> dict[str, Any]:
    """The Friedman test over blocks and Nemenyi's critical difference (Demsar 2006).

    Args:
        ranked: float ``(N, S)`` the values ranked in each block (lower is better).
        mean_ranks: float ``(S,)`` mean ranks.
        alpha: the tests' level.

    Returns:
        ``friedman`` (chi-square statistic and p-value, Iman and Davenport's F and its
        p-value; None where undefined) and ``nemenyi`` (q_alpha, the critical difference).
    """
    from scipy import stats

    n, k = ranked.shape
    fr: dict[str, Any] = {"blocks": n, "strategies": k, "statistic": None, "p_value": None}
    if k >= 3 and n >= 2 and not np.all(ranked == ranked[:, :1]):
        finite = np.where(np.isfinite(ranked), ranked, np.nanmax(ranked[np.isfinite(ranked)]) + 1.0)
        with _quiet_nan():
            chi2, p = stats.friedmanchisquare(*finite.T)
        if np.isfinite(chi2):
            fr["statistic"], fr["p_value"] = float(chi2), float(p)
            if n * (k - 1) - chi2 > 0:  # Iman and Davenport's F, which Demsar prefers to chi-square
                ff = (n - 1) * chi2 / (n * (k - 1) - chi2)
                fr["iman_davenport_F"] = float(ff)
                fr["iman_davenport_p"] = float(stats.f.sf(ff, k - 1, (k - 1) * (n - 1)))
    elif k < 3:
        fr["note"] = "the Friedman test needs at least three strategies"
    else:
        fr["note"] = "every block ranks the strategies the same (all tied): nothing to test"
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)) if k >= 2 else math.nan
    cd = q * math.sqrt(k * (k + 1) / (6.0 * n)) if k >= 2 else math.nan
    significant = fr["p_value"] is not None and fr["p_value"] < alpha
    return {
        "friedman": {**fr, "alpha": alpha, "significant": significant},
        "nemenyi": {"alpha": alpha, "q_alpha": q, "critical_difference": cd},
    }


def cliques(mean_ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """Maximal groups of strategies (sorted by mean rank) whose mean ranks lie within ``cd``
    of each other: the bars of a critical-difference diagram."""
    order = sorted(mean_ranks, key=lambda s: mean_ranks[s])
    r = [mean_ranks[s] for s in order]
    groups: list[tuple[int, int]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and r[j + 1] - r[i] <= cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    return [order[a : b + 1] for a, b in groups]


# ---- reports ---------------------------------------------------------------------------------


def _report(
    config: SuiteConfig,
    out: Path,
    jobs: Sequence[tuple[str, Path, CompareConfig]],
    results: Sequence[Mapping[str, Any]],
    executor: str,
    wall_s: float,
) -> dict[str, Any]:
    names = list(config.strategies)
    regret = final_regrets(config, out)  # (T, S, K)
    norm, rs_median = normalised_regret(regret, names.index(BASELINE))
    ranked = block_matrix(regret, config.blocks)
    ranks = ranks_of(ranked)
    seed = config.bootstrap_seed
    rank_ci = bootstrap_ci(ranks, n=config.bootstrap, seed=seed)
    norm_blocks = norm.transpose(0, 2, 1).reshape(-1, len(names))  # (T*K, S)
    if config.blocks == "table":
        with _quiet_nan():
            norm_blocks = np.nanmean(norm, axis=2)
    norm_mean = bootstrap_ci(norm_blocks, n=config.bootstrap, seed=seed)
    norm_median = bootstrap_ci(norm_blocks, n=config.bootstrap, seed=seed, reduce=np.nanmedian)
    tests = friedman_nemenyi(ranked, rank_ci["estimate"], config.alpha)
    cd = tests["nemenyi"]["critical_difference"]
    mean_ranks = {s: float(rank_ci["estimate"][i]) for i, s in enumerate(names)}
    groups = cliques(mean_ranks, cd) if math.isfinite(cd) else []
    different = [
        [a, b]
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if tests["friedman"]["significant"] and abs(mean_ranks[a] - mean_ranks[b]) > cd
    ]
    order = sorted(range(len(names)), key=lambda i: (rank_ci["estimate"][i], names[i]))
    ranking = []
    for place, i in enumerate(order, start=1):
        s = names[i]
        ranking.append(
            {
                "place": place,
                "strategy": s,
                "mean_rank": {
                    "mean": mean_ranks[s],
                    "lo": float(rank_ci["lo"][i]),
                    "hi": float(rank_ci["hi"][i]),
                },
                "normalised_regret": {
                    "mean": _num(norm_mean["estimate"][i]),
                    "lo": _num(norm_mean["lo"][i]),
                    "hi": _num(norm_mean["hi"][i]),
                    "median": _num(norm_median["estimate"][i]),
                    "median_lo": _num(norm_median["lo"][i]),
                    "median_hi": _num(norm_median["hi"][i]),
                },
                "per_table_median_normalised_regret": {
                    t.name: _num(np.nanmedian(norm[ti, i])) if np.isfinite(norm[ti, i]).any() else None
                    for ti, t in enumerate(config.tables)
                },
                "per_table_mean_final_regret": {
                    t.name: _num(np.nanmean(regret[ti, i])) for ti, t in enumerate(config.tables)
                },
            }
        )
    notes = []
    if config.added_baseline:
        notes.append("rs was added: the normalised regret needs random search's median on every table")
    for ti, t in enumerate(config.tables):
        if not rs_median[ti] > 0:
            notes.append(
                f"{t.name}: random search reaches the optimum in at least half its runs at {t.budget}, so its "
                "normalised regret is undefined and left out (a smaller budget separates the strategies)"
            )
    tables = []
    for t, (table_file, folder, _), res in zip(config.tables, jobs, results, strict=True):
        tables.append(
            {
                **t.describe(),
                "table_file": table_file,
                "objective": res.get("objective") or {"metric": "valid_acc", "direction": "max"},
                "optimum": res["optimum"],
                "rs_median_final_regret": _num(rs_median[config.tables.index(t)]),
                "runs": res["runs"],
                "resumed_runs": res["resumed_runs"],
                "wall_s": res["wall_s"],
                "summary": str(folder / "summary.md"),
                "regret_plot": str(folder / "regret.png"),
            }
        )
    files = {k: str(out / k) for k in ("suite.md", "suite.json", "cd.png", "normalised_regret.png")}
    result: dict[str, Any] = {
        "config": {
            "strategies": names,
            "seeds": config.seeds,
            "first_seed": config.first_seed,
            "params": {k: dict(v) for k, v in config.params.items()},
            "surrogate": config.surrogate,
            "workers": config.workers,
            "noise": config.noise,
            "blocks": config.blocks,
            "alpha": config.alpha,
            "bootstrap": config.bootstrap,
            "bootstrap_seed": config.bootstrap_seed,
            "executor": executor,
            "processes": jobs[0][2].processes if executor == "local" else 1,
        },
        "added_baseline": config.added_baseline,
        "tables": tables,
        "blocks": {
            "kind": config.blocks,
            "n": int(ranked.shape[0]),
            "rule": "one block per table and seed: the strategies' runs with that seed ranked by final regret"
            if config.blocks == "table-seed"
            else "one block per table: the strategies' mean final regrets ranked",
        },
        "ranking": ranking,
        "mean_ranks": mean_ranks,
        **tests,
        "nemenyi": {**tests["nemenyi"], "cliques": groups, "different": different},
        "normalised_regret_rule": "final regret / random search's median final regret on the same table "
        "(0 = the optimum, 1 = the median random search)",
        "runs": int(sum(r["runs"] for r in results)),
        "resumed_runs": int(sum(r["resumed_runs"] for r in results)),
        "wall_s": wall_s,
        "notes": notes,
        "files": files,
    }
    plot_cd(mean_ranks, cd, groups, out / "cd.png", title=_cd_title(result))
    plot_normalised(names, order, norm, config.tables, out / "normalised_regret.png")
    atomic_write_text(out / "suite.md", suite_markdown(result, out))
    write_json(out / "suite.json", result)
    return result


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _cd_title(result: Mapping[str, Any]) -> str:
    fr, nm = result["friedman"], result["nemenyi"]
    p = "n/a" if fr["p_value"] is None else f"{fr['p_value']:.2g}"
    return f"Friedman p = {p}; Nemenyi CD = {nm['critical_difference']:.2f} (alpha {nm['alpha']}, N = {fr['blocks']})"


def plot_cd(
    mean_ranks: Mapping[str, float], cd: float, groups: Sequence[Sequence[str]], path: Path, *, title: str
) -> None:
    """A critical-difference diagram (Demsar 2006, fig. 1): mean ranks on an axis, the
    critical difference as a bar, and a thick line joining strategies that do not differ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(mean_ranks, key=lambda s: mean_ranks[s])
    k = len(order)
    lo, hi = 1, max(k, 2)
    half = (k + 1) // 2
    height = 1.6 + 0.28 * max(half, k - half) + 0.12 * len(groups)
    fig, ax = plt.subplots(figsize=(7.5, height))
    ax.set_xlim(lo - 0.4, hi + 0.4)
    ax.set_ylim(-(0.5 + 0.3 * max(half, k - half) + 0.15 * len(groups)), 1.1)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, 0, 0.08, color="black", lw=1)
        ax.text(r, 0.14, str(r), ha="center", va="bottom", fontsize=9)
    if math.isfinite(cd):
        ax.hlines(0.75, lo, lo + cd, color="black", lw=1.5)
        ax.vlines([lo, lo + cd], 0.7, 0.8, color="black", lw=1.5)
        ax.text(lo + cd / 2, 0.84, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    base = -0.15 * (len(groups) + 1)
    for i, s in enumerate(order):
        r = mean_ranks[s]
        left = i < half
        y = base - 0.3 * (i if left else k - 1 - i)
        x_text = lo - 0.35 if left else hi + 0.35
        ax.plot([r, r, x_text + (0.05 if left else -0.05)], [0, y, y], color="0.3", lw=0.8)
        ax.text(x_text, y, f"{s} ({r:.2f})", ha="right" if left else "left", va="center", fontsize=9)
    for g, members in enumerate(groups):
        a, b = mean_ranks[members[0]], mean_ranks[members[-1]]
        y = -0.1 - 0.15 * g
        ax.hlines(y, a - 0.03, b + 0.03, color="black", lw=3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_normalised(
    names: Sequence[str], order: Sequence[int], norm: np.ndarray, tables: Sequence[SuiteTable], path: Path
) -> None:
    """Box plot of every run's normalised regret per strategy (tables and seeds pooled), each
    table's median as a marker; strategies in ranking order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 2), 4.2))
    data = [norm[:, i, :].ravel() for i in order]
    data = [d[np.isfinite(d)] for d in data]
    ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=True, widths=0.6)
    markers = "osD^v<>P*X"
    for ti, t in enumerate(tables):
        meds = [np.nanmedian(norm[ti, i]) if np.isfinite(norm[ti, i]).any() else np.nan for i in order]
        ax.plot(
            np.arange(1, len(order) + 1) + 0.22,
            meds,
            markers[ti % len(markers)],
            ms=5,
            alpha=0.8,
            label=f"{t.name} (median)",
        )
    ax.axhline(1.0, color="0.5", ls="--", lw=1)
    ax.axhline(0.0, color="0.5", ls=":", lw=1)
    ax.set_xticks(range(1, len(order) + 1), [names[i] for i in order], rotation=30, ha="right")
    ax.set_ylabel("normalised final regret\n(0 = optimum, 1 = rs median)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def suite_markdown(result: Mapping[str, Any], out: Path) -> str:
    """``suite.md``: tables, the ranking, the tests and the figures."""
    cfg = result["config"]
    lines = [
        "# Suite",
        "",
        f"{len(cfg['strategies'])} strategies x {len(result['tables'])} tables x {cfg['seeds']} seeds "
        f"(from {cfg['first_seed']}) = {result['runs']} runs ({result['resumed_runs']} resumed), "
        f"{result['wall_s']:.1f} s wall, executor {cfg['executor']}.",
        "",
        "| table | budget | objective | optimum | rs median final regret | comparison |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in result["tables"]:
        o = t["objective"]
        rs = t["rs_median_final_regret"]
        rel = os.path.relpath(t["summary"], out)
        lines.append(
            f"| {t['name']} | {t['budget']} | {o['metric']} ({o['direction']}) | {t['optimum']:.6g} | "
            f"{'0 (undefined)' if rs is None else format(rs, '.4g')} | [{rel}]({rel}) |"
        )
    b = result["blocks"]
    lines += [
        "",
        f"## Ranking ({b['n']} blocks: {b['rule']})",
        "",
        "Mean rank: 1 = best; 95% percentile bootstrap over blocks "
        f"({cfg['bootstrap']} resamples, seed {cfg['bootstrap_seed']}). Normalised regret: "
        f"{result['normalised_regret_rule']}; mean and median over tables and seeds with the same bootstrap.",
        "",
        "| place | strategy | mean rank (95% CI) | normalised regret, mean (95% CI) | median (95% CI) | "
        + " | ".join(f"{t['name']} median" for t in result["tables"])
        + " |",
        "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in result["tables"]) + " |",
    ]
    for e in result["ranking"]:
        nr = e["normalised_regret"]
        med = {"mean": nr["median"], "lo": nr["median_lo"], "hi": nr["median_hi"]}
        per = " | ".join(
            "n/a" if v is None else f"{v:.3f}" for v in e["per_table_median_normalised_regret"].values()
        )
        lines.append(
            f"| {e['place']} | {e['strategy']} | {fmt_ci(_nan(e['mean_rank']), digits=3)} | "
            f"{fmt_ci(_nan(nr), digits=3)} | {fmt_ci(_nan(med), digits=3)} | {per} |"
        )
    fr, nm = result["friedman"], result["nemenyi"]
    lines += ["", "## Tests (Demsar 2006)", ""]
    if fr["p_value"] is None:
        lines.append(f"Friedman test: not defined here ({fr.get('note', '')}).")
    else:
        idf = (
            f"; Iman-Davenport F = {fr['iman_davenport_F']:.3f}, p = {fr['iman_davenport_p']:.3g}"
            if "iman_davenport_F" in fr
            else ""
        )
        verdict = (
            "the strategies' ranks differ"
            if fr["significant"]
            else "no difference between the strategies' ranks is shown"
        )
        lines.append(
            f"Friedman chi-square = {fr['statistic']:.3f}, p = {fr['p_value']:.3g} over {fr['blocks']} blocks and "
            f"{fr['strategies']} strategies{idf}: at alpha = {fr['alpha']}, {verdict}."
        )
    lines.append(
        f"Nemenyi critical difference = {nm['critical_difference']:.3f} (q_alpha = {nm['q_alpha']:.3f}, "
        f"alpha = {nm['alpha']}): mean ranks further apart than this differ."
    )
    if nm["different"]:
        lines.append("Pairs that differ: " + ", ".join(f"{a} vs {b}" for a, b in nm["different"]) + ".")
    elif fr["significant"]:
        lines.append("No pair's mean ranks differ by more than the critical difference.")
    if nm["cliques"]:
        lines.append(
            "Groups not told apart (the diagram's bars): "
            + "; ".join("{" + ", ".join(g) + "}" for g in nm["cliques"])
            + "."
        )
    if result["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result["notes"]]
    lines += [
        "",
        "## Figures",
        "",
        "![critical-difference diagram](cd.png)",
        "",
        "![normalised regret](normalised_regret.png)",
        "",
        "Per table: "
        + ", ".join(f"[{t['name']}]({os.path.relpath(t['regret_plot'], out)})" for t in result["tables"]),
        "",
    ]
    return "\n".join(lines)


def _nan(d: Mapping[str, Any]) -> dict[str, float]:
    return {k: (math.nan if v is None else v) for k, v in d.items()}

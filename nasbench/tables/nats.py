"""Import NATS-Bench's official "simple" archives (``NATS-tss-v1_0-3ffb9-simple/``,
``NATS-sss-v1_0-50262-simple/``) into result tables.

An archive is a folder of bz2-compressed pickles: ``meta.pickle.pbz2`` (every
architecture string, in NATS order) and one ``NNNNNN.pickle.pbz2`` per architecture. Each
cell file is a dict keyed by the training schedule (``'12'``, ``'200'`` epochs for the
topology space; ``'01'``, ``'12'``, ``'90'`` for the size space), then
``all_results[(dataset, seed)]`` with per-epoch ``train_acc1es``, ``train_losses``,
``train_times`` and ``eval_acc1es`` / ``eval_losses`` keyed ``'x-valid@199'``, plus
``params``, ``flop`` and ``latency``.

**Safety.** The files are read only through :class:`ArchiveUnpickler`, whose
``find_class`` allows ``collections.OrderedDict`` and numpy's scalar and dtype
reconstruction and refuses every other class with one line. ``pickle.load`` is never
called on them.

**One table per (dataset, schedule).** The schedules are separate training runs (the
learning-rate schedule spans 12 or 200 epochs), so epoch 12 of the 200-epoch run is not
the end of the 12-epoch run; a table holds one schedule's epochs ``1..E`` (NATS's epoch
index ``i`` is table epoch ``i + 1``) for every seed the archive has.

**Metrics.** ``train_acc`` / ``train_loss`` per epoch; ``valid_*`` is NATS's ``x-valid``
split (absent for ``cifar10``, which trains on the full training set and has no
validation split: no metric is aliased); ``test_*`` is ``ori-test`` (the dataset's
original test set: the only evaluation the archive keeps at every epoch of every
schedule) or, with ``test_split="x-test"``, the ``x-test`` half (``cifar100`` and
``ImageNet16-120`` only). ``ori-test`` is the mean of ``x-valid`` and ``x-test`` (two equal
halves), so ``x-test = 2 * ori-test - x-valid``. ``time_s`` is the cumulative training
seconds (``train_times``; evaluation excluded).

**Costs** (per architecture, the dataset's values, median over the file's runs):
``params_m`` (millions of parameters, NATS's ``params`` in "MB"), ``flops_mac_m`` (NATS's
``flop``: millions of multiply-adds, not 2x; for NB201 cells it is nasbench's
``arch_cost`` FLOPs / 2 plus one per class for the classifier's bias), ``latency_s``
(NATS's measured forward latency, seconds) and ``nats_index`` (the archive's own index).

**Resume.** With ``parts``, each chunk of cells is parsed into ``parts/part-NNNNN.npz``
(atomic, ``allow_pickle=False``) next to a ``manifest.json``; a rerun with ``resume=True``
skips the chunks already there, as ``nasbench build`` does with its shards.
"""

from __future__ import annotations

import bz2
import collections
import os
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, ImportDataError, NasbenchError
from nasbench.core.io import atomic_path
from nasbench.core.manifest import check_manifest, key_hash, write_manifest
from nasbench.core.metrics import TASK_METRICS
from nasbench.tables.table import ResultTable, package_versions

DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
TEST_SPLITS: tuple[str, ...] = ("ori-test", "x-test")
#: the size space: 5 layers, each 8..64 channels in steps of 8 (NATS index order: last layer fastest)
SSS_CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
SSS_LAYERS = 5
PARTS_FORMAT = "nasbench-nats-parts"
PARTS_VERSION = 1
#: what a NATS table records: a classifier's metrics (nasbench.core.metrics)
METRICS_ALL: tuple[str, ...] = TASK_METRICS["classification"]
COST_COLUMNS: tuple[str, ...] = ("params_m", "flops_mac_m", "latency_s")

_CELL_FILE = re.compile(r"^(\d{6})\.pickle\.pbz2$")
_META_FILE = "meta.pickle.pbz2"

#: ``update(done, total, info)``: files read so far.
Progress = Callable[[float, "float | None", str], None]


# ---- the restricted unpickler --------------------------------------------------------------
def _numpy_scalar() -> Any:
    core = getattr(np, "_core", None)  # numpy >= 2
    mod = getattr(core, "multiarray", None) if core is not None else None
    if mod is None:  # pragma: no cover - numpy 1.x
        mod = np.core.multiarray  # type: ignore[attr-defined]
    return mod.scalar


#: The only classes a NATS archive file may ask for.
ALLOWED_CLASSES: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar(),
    ("numpy._core.multiarray", "scalar"): _numpy_scalar(),
    ("numpy", "dtype"): np.dtype,
}


class UnsafePickleError(ImportDataError):
    """A pickle asked for a class outside :data:`ALLOWED_CLASSES`."""


class ArchiveUnpickler(pickle.Unpickler):
    """An unpickler for plain data: dicts, lists, numbers, strings, ``OrderedDict`` and
    numpy scalars. Any other class (``os.system``, ``builtins.eval``, ...) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        obj = ALLOWED_CLASSES.get((module, name))
        if obj is None:
            raise UnsafePickleError(
                f"refused to unpickle {module}.{name}: NATS archive files may only hold "
                "plain data (OrderedDict and numpy scalars)"
            )
        return obj


def read_archive_file(path: str | os.PathLike[str]) -> Any:
    """The plain data in one bz2-compressed pickle of a NATS archive.

    Raises:
        UnsafePickleError: the pickle asks for a class outside :data:`ALLOWED_CLASSES`.
        ImportDataError: not bz2, truncated, or not a pickle.
    """
    p = Path(path)
    try:
        with bz2.open(p, "rb") as fh:
            return ArchiveUnpickler(fh).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{p}: {exc}") from None
    except FileNotFoundError:
        raise ImportDataError(f"NATS archive file not found: {p}") from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, RecursionError, MemoryError) as exc:  # fmt: skip
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportDataError(f"{p} is not a readable NATS archive file (bz2 pickle): {what}") from None


# ---- the archive -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Archive:
    """A NATS "simple" archive folder.

    Attributes:
        path: the folder.
        kind: ``tss`` (topology, NAS-Bench-201's cells) or ``sss`` (size: channel counts).
        arch_strings: every architecture of the space, in NATS index order (from the meta file).
        files: ``(nats_index, path)`` of each cell file present, sorted by index.
    """

    path: Path
    kind: str
    arch_strings: tuple[str, ...]
    files: tuple[tuple[int, Path], ...]


def open_archive(directory: str | os.PathLike[str]) -> Archive:
    """List a NATS archive folder and read its meta file.

    Raises:
        ImportDataError: not a folder, no meta file, an unknown space, or no cell files.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ImportDataError(f"NATS archive folder not found: {d}")
    meta_path = d / _META_FILE
    if not meta_path.is_file():
        raise ImportDataError(f"{d} has no {_META_FILE}: not a NATS-Bench 'simple' archive folder")
    meta = read_archive_file(meta_path)
    archs = meta.get("meta_archs") if isinstance(meta, Mapping) else None
    if not isinstance(archs, list | tuple) or not archs or not all(isinstance(a, str) for a in archs):
        raise ImportDataError(
            f"{meta_path}: expected a dict with a 'meta_archs' list of architecture strings"
        )
    if len(archs) == 15625 and archs[0].startswith("|"):
        kind = "tss"
    elif len(archs) == len(SSS_CHANNELS) ** SSS_LAYERS and ":" in archs[0]:
        kind = "sss"
    else:
        raise ImportDataError(
            f"{meta_path}: {len(archs)} architectures like {archs[0]!r}: neither the topology space "
            f"(15625 cells) nor the size space ({len(SSS_CHANNELS) ** SSS_LAYERS} channel configurations)"
        )
    files = []
    for p in d.iterdir():
        m = _CELL_FILE.match(p.name)
        if m:
            files.append((int(m.group(1)), p))
    if not files:
        raise ImportDataError(f"{d} holds no cell files (NNNNNN.pickle.pbz2)")
    files.sort()
    bad = next((i for i, _ in files if i >= len(archs)), None)
    if bad is not None:
        raise ImportDataError(
            f"{d}: cell file {bad:06d} is beyond the meta file's {len(archs)} architectures"
        )
    return Archive(d, kind, tuple(archs), tuple(files))


def sss_declaration() -> dict[str, Any]:
    """The size space as a declaration: ``channels_1..channels_5``, each ordinal 8..64.

    The declared index (first dimension most significant) equals NATS's index.
    """
    return {
        "dimensions": [
            {"name": f"channels_{k + 1}", "type": "ordinal", "values": list(SSS_CHANNELS)}
            for k in range(SSS_LAYERS)
        ]
    }


def archive_space(archive: Archive) -> Any:
    """The nasbench space of an archive: ``nb201`` or the declared size space."""
    if archive.kind == "tss":
        from nasbench.spaces.nb201 import NB201Space

        return NB201Space()
    from nasbench.spaces.declared import DeclaredSpace

    return DeclaredSpace(sss_declaration())


def _space_index(space: Any, kind: str, arch_str: str, where: Any) -> int:
    from nasbench.core.errors import ArchitectureError

    try:
        if kind == "sss":
            parts = arch_str.split(":")
            if len(parts) != SSS_LAYERS:
                raise ArchitectureError(f"{arch_str!r} is not {SSS_LAYERS} channel counts")
            return int(space.index({f"channels_{k + 1}": int(v) for k, v in enumerate(parts)}))
        return int(space.index(arch_str))
    except (ArchitectureError, ValueError) as exc:
        raise ImportDataError(f"{where}: architecture {arch_str!r} is not in the space: {exc}") from None


# ---- one cell file -----------------------------------------------------------------------------
def _schedule_key(record: Mapping[str, Any], epochs: int | None, where: Any) -> str:
    keys = [k for k in record if isinstance(k, str) and k.isdigit()]
    if not keys:
        raise ImportDataError(f"{where}: expected a dict keyed by training schedule ('12', '200', ...)")
    if epochs is None:
        return max(keys, key=int)
    for k in keys:
        if int(k) == epochs:
            return k
    raise ConfigError(
        f"--epochs {epochs}: this archive's schedules are {', '.join(str(int(k)) for k in sorted(keys, key=int))} epochs"
    )


def _series(d: Any, n: int, where: str) -> np.ndarray:
    """float64 ``(n,)`` of a per-epoch dict ``{0: v, 1: v, ...}`` (NaN where missing)."""
    out = np.full(n, np.nan)
    if d is None:
        return out
    if not isinstance(d, Mapping):
        raise ImportDataError(f"{where}: expected a per-epoch dict, got {type(d).__name__}")
    for k, v in d.items():
        if isinstance(k, int | np.integer) and 0 <= int(k) < n:
            out[int(k)] = float(v)
    return out


def _eval_series(d: Any, split: str, n: int, where: str) -> np.ndarray:
    out = np.full(n, np.nan)
    if not isinstance(d, Mapping):
        raise ImportDataError(f"{where}: expected a dict keyed like 'x-valid@199'")
    prefix = split + "@"
    for k, v in d.items():
        if isinstance(k, str) and k.startswith(prefix):
            i = int(k[len(prefix) :])
            if 0 <= i < n:
                out[i] = float(v)
    return out


@dataclass(frozen=True)
class CellRuns:
    """One cell file's runs of one dataset and schedule.

    Attributes:
        nats_index: the archive's index.
        arch_str: NATS's architecture string.
        seeds: int64 ``(S,)`` seeds of the runs.
        values: float64 ``(S, E, 7)`` over :data:`METRICS_ALL`.
        costs: ``params_m``, ``flops_mac_m``, ``latency_s`` (median over the dataset's runs).
        cost_disagree: the dataset's runs disagree on params or FLOPs.
    """

    nats_index: int
    arch_str: str
    seeds: np.ndarray
    values: np.ndarray
    costs: dict[str, float]
    cost_disagree: bool


def parse_cell(
    data: Any, where: Any, *, dataset: str, epochs: int | None, test_split: str = "ori-test"
) -> CellRuns:
    """The runs of one dataset and schedule in a cell file's data.

    Raises:
        ImportDataError: the data does not have the archive's structure.
        ConfigError: the schedule is not in the file.
    """
    if not isinstance(data, Mapping):
        raise ImportDataError(
            f"{where}: expected a dict keyed by training schedule, got {type(data).__name__}"
        )
    key = _schedule_key(data, epochs, where)
    n = int(key)
    try:
        sched = data[key]
        results = sched["all_results"]
        arch_str = str(sched["arch_str"])
        nats_index = int(sched["arch_index"])
        if not isinstance(results, Mapping):
            raise TypeError("'all_results' is not a dict")
        runs = sorted((int(seed), r) for (ds, seed), r in results.items() if ds == dataset)
        same_ds = [r for s in data.values() if isinstance(s, Mapping) for (ds, _), r in s["all_results"].items()
                   if ds == dataset]  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportDataError(f"{where}: not a NATS cell file ({type(exc).__name__}: {exc})") from None
    seeds = np.array([s for s, _ in runs], dtype=np.int64)
    values = np.full((len(runs), n, len(METRICS_ALL)), np.nan)
    for j, (seed, r) in enumerate(runs):
        w = f"{where} ({dataset}, seed {seed})"
        if not isinstance(r, Mapping):
            raise ImportDataError(f"{w}: expected a dict of results")
        try:
            values[j, :, 0] = _series(r["train_losses"], n, w)
            values[j, :, 1] = _series(r["train_acc1es"], n, w)
            if dataset != "cifar10":
                values[j, :, 2] = _eval_series(r["eval_losses"], "x-valid", n, w)
                values[j, :, 3] = _eval_series(r["eval_acc1es"], "x-valid", n, w)
            values[j, :, 4] = _eval_series(r["eval_losses"], test_split, n, w)
            values[j, :, 5] = _eval_series(r["eval_acc1es"], test_split, n, w)
            values[j, :, 6] = np.cumsum(_series(r["train_times"], n, w))
        except KeyError as exc:
            raise ImportDataError(f"{w}: the run lacks {exc}") from None
        except ValueError as exc:
            raise ImportDataError(f"{w}: a malformed value ({exc})") from None
    costs, disagree = _costs(same_ds, where)
    return CellRuns(nats_index, arch_str, seeds, values, costs, disagree)


def _costs(runs: Sequence[Any], where: Any) -> tuple[dict[str, float], bool]:
    try:
        params = np.array([float(r["params"]) for r in runs])
        flops = np.array([float(r["flop"]) for r in runs])
        lat = np.array([float(np.mean(r["latency"])) if r.get("latency") else np.nan for r in runs])
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportDataError(f"{where}: a run lacks params, flop or latency ({exc})") from None
    if not len(runs):
        return {c: float("nan") for c in COST_COLUMNS}, False
    # a few cells record a parameter count that differs between seeds: the median is the majority's
    costs = {
        "params_m": float(np.median(params)),
        "flops_mac_m": float(np.median(flops)),
        "latency_s": float(np.nanmedian(lat)) if np.isfinite(lat).any() else float("nan"),
    }
    return costs, bool(np.ptp(params) > 0 or np.ptp(flops) > 0)


# ---- the import ----------------------------------------------------------------------------------
def _check_options(archive: Archive, dataset: str, test_split: str) -> None:
    if dataset not in DATASETS:
        raise ConfigError(f"unknown NATS dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    if test_split not in TEST_SPLITS:
        raise ConfigError(f"--test-split must be one of {', '.join(TEST_SPLITS)}, got {test_split!r}")
    if test_split == "x-test" and dataset in ("cifar10-valid", "cifar10"):
        raise ConfigError(
            f"{dataset} has no x-test split (its test set is ori-test); use --test-split ori-test"
        )


def _part_path(parts: Path, i: int) -> Path:
    return parts / f"part-{i:05d}.npz"


def _read_chunk(
    archive: Archive, files: Sequence[tuple[int, Path]], space: Any, *, dataset: str, epochs: int | None,
    test_split: str, on_file: Callable[[], None],
) -> dict[str, np.ndarray]:  # fmt: skip
    cells = []
    for nats_index, path in files:
        cell = parse_cell(
            read_archive_file(path), path, dataset=dataset, epochs=epochs, test_split=test_split
        )
        if cell.nats_index != nats_index or archive.arch_strings[nats_index] != cell.arch_str:
            raise ImportDataError(
                f"{path}: holds architecture {cell.nats_index} ({cell.arch_str}), but its name and the meta "
                f"file say {nats_index} ({archive.arch_strings[nats_index]})"
            )
        cells.append(cell)
        on_file()
    seeds = np.unique(np.concatenate([c.seeds for c in cells])) if cells else np.zeros(0, np.int64)
    n_ep = cells[0].values.shape[1] if cells else 0
    values = np.full((len(cells), len(seeds), n_ep, len(METRICS_ALL)), np.nan, np.float32)
    for i, c in enumerate(cells):
        values[i, np.searchsorted(seeds, c.seeds)] = c.values
    return {
        "nats_index": np.array([c.nats_index for c in cells], np.int64),
        "space_index": np.array(
            [_space_index(space, archive.kind, c.arch_str, archive.path) for c in cells], np.int64
        ),
        "seeds": seeds.astype(np.int64),
        "values": values,
        "disagree": np.array([c.cost_disagree for c in cells], bool),
        **{name: np.array([c.costs[name] for c in cells], np.float64) for name in COST_COLUMNS},
    }


def _write_part(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def _load_part(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ImportDataError(f"cannot read the partial import {path}: {exc}; remove it and rerun") from None


def parts_dir_for(out: str | os.PathLike[str]) -> Path:
    """The work folder of a resumable import into ``out``: ``OUT.parts`` beside it."""
    o = Path(out)
    return o.with_name(o.name + ".parts")


def import_nats(
    directory: str | os.PathLike[str],
    *,
    dataset: str = "cifar10-valid",
    epochs: int | None = None,
    test_split: str = "ori-test",
    parts: str | os.PathLike[str] | None = None,
    resume: bool = False,
    chunk: int = 500,
    progress: Progress | None = None,
) -> ResultTable:
    """Import one dataset and schedule of a NATS-Bench "simple" archive (see the module doc).

    Args:
        directory: the archive folder (``NATS-tss-v1_0-3ffb9-simple`` or ``NATS-sss-v1_0-50262-simple``).
        dataset: ``cifar10-valid``, ``cifar10``, ``cifar100`` or ``ImageNet16-120``.
        epochs: the schedule (tss: 12 or 200; sss: 1, 12 or 90); default the longest.
        test_split: ``ori-test`` (default) or ``x-test`` (cifar100 and ImageNet16-120).
        parts: work folder for resumable chunks (default: none, all in memory).
        resume: continue from the chunks in ``parts``.
        chunk: cell files per chunk.
        progress: ``update(files_done, files_total, info)``.

    Raises:
        ConfigError: a bad option, or ``parts`` holds another import (or one without ``resume``).
        ImportDataError / UnsafePickleError: a malformed archive or a refused class.
    """
    archive = open_archive(directory)
    _check_options(archive, dataset, test_split)
    if not (isinstance(chunk, int) and chunk >= 1):
        raise ConfigError(f"chunk must be a positive integer, got {chunk!r}")
    space = archive_space(archive)
    files = archive.files
    groups = [files[i : i + chunk] for i in range(0, len(files), chunk)]
    # the schedule, resolved once from the first file, keys the manifest
    first = read_archive_file(files[0][1])
    sched = int(_schedule_key(first, epochs, files[0][1])) if isinstance(first, Mapping) else epochs
    done: set[int] = set()
    parts_path = Path(parts) if parts is not None else None
    if parts_path is not None:
        manifest = parts_path / "manifest.json"
        body = {
            "format": PARTS_FORMAT,
            "version": PARTS_VERSION,
            "archive": str(archive.path.resolve()),
            "kind": archive.kind,
            "dataset": dataset,
            "epochs": sched,
            "test_split": test_split,
            "chunk": chunk,
            "files": key_hash({"files": [[i, p.stat().st_size] for i, p in files]}),
        }
        if manifest.exists() and not resume:
            raise ConfigError(
                f"{parts_path} holds a previous import; pass --resume to continue it, or remove it"
            )
        if not check_manifest(
            manifest, body, what="an import", hint="use the same arguments with --resume, or remove it"
        ):
            try:
                parts_path.mkdir(parents=False, exist_ok=True)
            except OSError as exc:
                raise NasbenchError(f"cannot create {parts_path}: {exc.strerror}") from None
            write_manifest(manifest, body)
        done = {i for i in range(len(groups)) if _part_path(parts_path, i).exists()}
    total = len(files)
    count = [sum(len(groups[i]) for i in done)]
    if progress is not None:
        progress(count[0], total, f"{count[0]}/{total} files" + (f" ({count[0]} resumed)" if done else ""))

    def tick() -> None:
        count[0] += 1
        if progress is not None and (count[0] % 25 == 0 or count[0] == total):
            progress(count[0], total, f"{count[0]}/{total} files")

    chunks = []
    for i, group in enumerate(groups):
        if i in done and parts_path is not None:
            chunks.append(_load_part(_part_path(parts_path, i)))
            continue
        arrays = _read_chunk(
            archive, group, space, dataset=dataset, epochs=sched, test_split=test_split, on_file=tick
        )
        if parts_path is not None:
            _write_part(_part_path(parts_path, i), arrays)
            if progress is not None:  # a chunk on disk is what a resume keeps
                progress(count[0], total, f"{count[0]}/{total} files, chunk {i + 1}/{len(groups)} saved")
        chunks.append(arrays)
    return _assemble(archive, space, chunks, dataset=dataset, epochs=int(sched or 0), test_split=test_split)


def _assemble(
    archive: Archive, space: Any, chunks: Sequence[Mapping[str, np.ndarray]], *, dataset: str, epochs: int,
    test_split: str,
) -> ResultTable:  # fmt: skip
    seeds = np.unique(np.concatenate([c["seeds"] for c in chunks]))
    if len(seeds) == 0:
        raise ImportDataError(f"{archive.path}: no run of {dataset} at {epochs} epochs in the archive")
    a = sum(len(c["nats_index"]) for c in chunks)
    values = np.full((a, len(seeds), epochs, len(METRICS_ALL)), np.nan, np.float32)
    row = 0
    for c in chunks:
        k = len(c["nats_index"])
        values[row : row + k][:, np.searchsorted(seeds, c["seeds"])] = c["values"]
        row += k
    cat = {
        name: np.concatenate([c[name] for c in chunks])
        for name in ("nats_index", "space_index", "disagree", *COST_COLUMNS)
    }
    order = np.argsort(cat["space_index"], kind="stable")
    keep = [m for m in METRICS_ALL if not (dataset == "cifar10" and m.startswith("valid_"))]
    values = values[order][..., [METRICS_ALL.index(m) for m in keep]]
    valid_note = (
        "cifar10 trains on the full training set: there is no validation split, so the table has no valid_* "
        "metrics (search cifar10-valid and report this table's test_acc)."
        if dataset == "cifar10"
        else "valid_acc / valid_loss: NATS's x-valid split"
        + (
            " (this archive keeps it at the final epoch only for this schedule)."
            if archive.kind == "tss" and epochs == 200 and dataset in ("cifar100", "ImageNet16-120")
            else "."
        )
    )
    test_note = (
        "test_acc / test_loss: NATS's ori-test (the original test set; for cifar100 and ImageNet16-120 the "
        "mean of the x-valid and x-test halves, so x-test = 2 * ori-test - x-valid)."
        if test_split == "ori-test"
        else "test_acc / test_loss: NATS's x-test half of the original test set."
    )
    n_disagree = int(cat["disagree"].sum())
    meta: dict[str, Any] = {
        "dataset": f"nats-{archive.kind}-{dataset}",
        "source": {
            "importer": "nats",
            "archive": archive.path.name,
            "space": "topology (NAS-Bench-201)" if archive.kind == "tss" else "size (channels)",
            "dataset": dataset,
            "epochs": epochs,
            "test_split": test_split,
            "files": a,
            "space_size": len(archive.arch_strings),
        },
        "notes": [
            f"NATS-Bench {archive.kind} archive, {dataset}, the {epochs}-epoch schedule: NATS epoch i is table epoch i + 1.",
            valid_note,
            test_note,
            "time_s: cumulative training seconds (NATS train_times; evaluation excluded).",
            "params_m: millions of parameters; flops_mac_m: NATS 'flop', millions of multiply-adds (one per "
            "multiply-add, not two); latency_s: NATS's forward latency in seconds.",
        ],
        "versions": package_versions(),
    }
    if n_disagree:
        meta["notes"].append(
            f"{n_disagree} architecture(s) record params or FLOPs that differ between runs: the median is stored."
        )
    arch_cols = {name: cat[name][order] for name in COST_COLUMNS}
    arch_cols["nats_index"] = cat["nats_index"][order].astype(np.float64)
    return ResultTable(
        space,
        cat["space_index"][order],
        seeds,
        np.arange(1, epochs + 1),
        tuple(keep),
        values,
        np.zeros((a, len(seeds)), dtype=bool),
        arch_cols,
        meta,
    )

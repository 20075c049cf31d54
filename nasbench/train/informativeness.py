"""How informative a trained table is as a benchmark (no JAX; works on any ResultTable).

Computed over the connected architectures (disconnected cells score chance and would
inflate every rank correlation):

* ``seed_spearman``: Spearman correlation of final valid accuracy between two seeds
  (mean over seed pairs; each pair uses single-seed values, not means).
* ``valid_test_spearman``: Spearman correlation between the seed-mean final valid
  accuracy and the seed-mean final test accuracy.
* ``spread_p90_p10``: 90th minus 10th percentile of seed-mean final test accuracy
  (``spread_p90_p10_valid`` for valid accuracy).
* ``late_gain``: median over architectures of (final valid accuracy minus valid accuracy
  after the first quarter of training), seed means; how much is still learnt late.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from nasbench.train.families import family_or_none

#: Targets of the shipped digits table (issue 3).
TARGETS: dict[str, float] = {
    "seed_spearman": 0.85,
    "valid_test_spearman": 0.9,
    "spread_p90_p10": 10.0,
    "late_gain": 5.0,
}


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def _last_with(values: np.ndarray) -> int:
    """Position of the last epoch holding any finite value; -1 if none."""
    finite = np.isfinite(values).reshape(-1, values.shape[-1]).any(axis=0)
    pos = np.flatnonzero(finite)
    return int(pos[-1]) if len(pos) else -1


def informativeness(table: Any, *, connected_only: bool = True) -> dict[str, Any]:
    with warnings.catch_warnings():  # all-NaN rows (diverged everywhere) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return _informativeness(table, connected_only)


def _informativeness(table: Any, connected_only: bool) -> dict[str, Any]:
    """The informativeness figures of ``table`` (see the module docstring).

    Args:
        table: a :class:`nasbench.tables.table.ResultTable` with ``valid_acc`` and ``test_acc``.
        connected_only: leave out architectures whose output cannot depend on the input
            (the network family's ``input_independent``: NB201 cells without an
            input-to-output path).

    Returns:
        JSON-ready dict: the figures, the targets, ``passes`` per figure and the number
        of architectures and seeds used.
    """
    from nasbench.core.metrics import Objective

    objective = Objective.from_metadata(table.metadata)
    sign = objective.sign
    valid = table.values[..., table.metric_position(objective.metric)]  # (A, S, E)
    test_metric = objective.test_metric
    test = (
        table.values[..., table.metric_position(test_metric)]
        if test_metric in table.metrics
        else np.full_like(valid, np.nan)
    )
    keep = np.ones(table.n_archs, bool)
    family = family_or_none(table.space) if connected_only else None
    if family is not None:
        keep = ~family.input_independent(table.arch_index)
    valid, test = valid[keep], test[keep]
    e_valid, e_test = _last_with(valid), _last_with(test)
    out: dict[str, Any] = {
        "n_archs": int(keep.sum()),
        "n_seeds": int(valid.shape[1]),
        "epoch": int(table.epochs[e_valid]) if e_valid >= 0 else None,
        "connected_only": bool(connected_only),
    }
    if e_valid < 0:
        return out
    fv = valid[:, :, e_valid]
    pairs = list(itertools.combinations(range(fv.shape[1]), 2))
    out["seed_spearman"] = (
        float(np.mean([_spearman(fv[:, i], fv[:, j]) for i, j in pairs])) if pairs else float("nan")
    )
    out["seed_spearman_pairs"] = [round(_spearman(fv[:, i], fv[:, j]), 4) for i, j in pairs]
    with np.errstate(all="ignore"):
        mv = np.nanmean(fv, axis=1)
        ft = np.nanmean(test[:, :, e_test], axis=1) if e_test >= 0 else np.full(len(mv), np.nan)
    out["valid_test_spearman"] = _spearman(mv, ft)
    ft_ok, mv_ok = ft[np.isfinite(ft)], mv[np.isfinite(mv)]
    out["spread_p90_p10"] = (
        float(np.percentile(ft_ok, 90) - np.percentile(ft_ok, 10)) if len(ft_ok) else float("nan")
    )
    out["spread_p90_p10_valid"] = (
        float(np.percentile(mv_ok, 90) - np.percentile(mv_ok, 10)) if len(mv_ok) else float("nan")
    )
    out[f"{test_metric or 'test'}_percentiles"] = (
        {str(q): round(float(np.percentile(ft_ok, q)), 2) for q in (0, 10, 50, 90, 100)} if len(ft_ok) else {}
    )
    n_ep = len(table.epochs)
    q = max(0, int(np.ceil(n_ep / 4)) - 1)  # the epoch that ends the first quarter
    with np.errstate(all="ignore"):
        gain = sign * (mv - np.nanmean(valid[:, :, q], axis=1))  # improvement, in the metric's units
    out["late_gain"] = float(np.nanmedian(gain)) if np.isfinite(gain).any() else float("nan")
    out["late_gain_mean"] = float(np.nanmean(gain)) if np.isfinite(gain).any() else float("nan")
    out["late_gain_from_epoch"] = int(table.epochs[q])
    # the spread and gain targets are in accuracy points; a loss has only the rank targets
    targets = (
        TARGETS
        if objective.metric.endswith("_acc")
        else {k: t for k, t in TARGETS.items() if "spearman" in k}
    )
    out["metric"] = objective.metric
    out["targets"] = dict(targets)
    out["passes"] = {k: bool(np.isfinite(out[k]) and out[k] >= t) for k, t in targets.items()}
    for k in (
        "seed_spearman",
        "valid_test_spearman",
        "spread_p90_p10",
        "spread_p90_p10_valid",
        "late_gain",
        "late_gain_mean",
    ):
        out[k] = round(out[k], 4) if np.isfinite(out[k]) else None
    return out

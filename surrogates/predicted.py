"""The surrogate-predicted table: what the ``surrogate`` backend searches, charged predicted
costs, like a surrogate benchmark (NAS-Bench-301 style).

A surrogate is fitted on a measured table. It predicts every unique architecture's final
objective (validation accuracy, or the metric the table minimises, with the table's
direction) from the architecture alone. A random forest on the space's
encodings predicts each one's training seconds. Both go into a one-seed table at the
final epoch, and the table backend (:class:`nasbench.tables.simulator.TableEvaluator`)
answers from it. Only full evaluations
exist on this table: multi-fidelity strategies refuse it with one line. The summary
reports the incumbent's measured values too, where the measured table has them.
"""

from __future__ import annotations

import numpy as np

from nasbench.tables.benchmark import Benchmark
from nasbench.tables.table import ResultTable


def predicted_table(table: ResultTable, model: str = "rf", *, random_state: int = 0) -> ResultTable:
    """One seed at the final epoch: the predicted objective (``valid_acc``, or the metric the
    table minimises, with its direction) and ``time_s`` of every unique architecture.

    Raises:
        SurrogateError subclasses: an unknown model or too few architectures to fit.
    """
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    from surrogates.api import fit_table
    from surrogates.encoders import default_kinds, encode
    from surrogates.inputs import design

    space = table.space
    est, _ = fit_table(table, model, random_state=random_state)
    reps = np.asarray(space.iso_representatives(), np.int64)
    archs = np.flatnonzero(reps == np.arange(space.size))
    last = int(table.epochs[-1])
    objective = table.objective
    # the model predicts scores (signed by the direction): back to the metric's units
    valid = objective.sign * np.asarray(est.predict(design(archs, len(table.epochs))), np.float64)
    bench = Benchmark(table)
    cost = bench.values_at("time_s", last).astype(np.float64)
    ok = np.isfinite(cost)

    def features(idx: np.ndarray) -> np.ndarray:
        return np.hstack([encode(space, idx, k) for k in default_kinds(space)])

    rf = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=random_state, n_jobs=1)
    rf.fit(features(table.arch_index[ok]), cost[ok])
    frame = pd.DataFrame(
        {
            "arch_index": archs,
            "seed": 0,
            "epoch": last,
            objective.metric: valid,
            "time_s": np.maximum(rf.predict(features(archs)), 1e-6),
        }
    )
    meta = {
        "source": "nasbench search --evaluator surrogate",
        "predicted_by": {objective.metric: model, "time_s": "random forest on the space's encodings"},
        "fitted_on": table.metadata.get("content_hash") or table.content_hash(),
        "dataset": table.metadata.get("dataset"),
    }
    if not objective.is_default:
        meta["objective"] = objective.to_dict()
    return ResultTable.from_records(space, frame, metrics=(objective.metric, "time_s"), metadata=meta)


__all__ = ["predicted_table"]

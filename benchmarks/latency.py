"""NB201 latency: the one switch program against each cell's own compiled network.

``nasbench estimate latency --space nb201`` times every cell with one compiled program
whose edges are ``lax.switch`` branches on the cell's ops (compiling 15,625 networks would
take hours). This script checks what that costs in fidelity: for ``--cells`` cells sampled
with seed 0 from the unique cells, it times the switch program and the cell's own Flax
network (``NB201Network(recipe, classes, ops)``, compiled for that cell alone), both with
the library's timing loop (median of ``--repeats`` calls after a warm-up), in the same
process, interleaved cell by cell. Prints JSON: per batch size the median ratio
switch / own, its spread, the Spearman correlation of the two timings over the cells,
and the machine's load.

    python benchmarks/latency.py --cells 40 --repeats 10

Check ``uptime`` first: another job on the machine adds noise to both sides.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batch-sizes", default="1,256")
    args = ap.parse_args()
    load_before = os.getloadavg()

    import jax
    import jax.numpy as jnp
    from scipy.stats import spearmanr

    from nasbench.spaces.nb201 import NB201Space
    from nasbench.train.latency import nb201_switch_apply, time_call
    from nasbench.train.model import NB201Network, init_variables
    from nasbench.train.recipe import PRESETS

    recipe, shape, classes = PRESETS["digits"], (8, 8, 1), 10
    space = NB201Space()
    cells = np.random.default_rng(0).choice(space.unique_indices(), args.cells, replace=False)
    ops = space.op_matrix(cells).astype(np.int32)
    variables = init_variables(jax.random.PRNGKey(0), recipe, shape, classes)
    rng = np.random.default_rng(0)
    out: dict[str, object] = {"cells": int(args.cells), "repeats": args.repeats, "recipe": "digits"}
    for b in (int(x) for x in args.batch_sizes.split(",")):
        x = jnp.asarray(rng.standard_normal((b, *shape)).astype(np.float32))
        switch = (
            jax.jit(lambda v, o, x: nb201_switch_apply(v, o, x, recipe, classes))
            .lower(variables, jnp.asarray(ops[0]), x)
            .compile()
        )
        sw, own = [], []
        for o in ops:
            net = NB201Network(recipe, classes, tuple(int(v) for v in o))
            fn = jax.jit(lambda v, x, net=net: net.apply(v, x, train=False)).lower(variables, x).compile()
            own.append(time_call(fn, (variables, x), args.repeats))
            sw.append(time_call(switch, (variables, jnp.asarray(o), x), args.repeats))
        sw_a, own_a = np.array(sw), np.array(own)
        ratio = sw_a / own_a
        out[f"b{b}"] = {
            "switch_median_ms": float(np.median(sw_a)),
            "own_median_ms": float(np.median(own_a)),
            "ratio_median": float(np.median(ratio)),
            "ratio_p10_p90": [float(np.percentile(ratio, 10)), float(np.percentile(ratio, 90))],
            "spearman_switch_vs_own": float(spearmanr(sw_a, own_a)[0]),
        }
    out["loadavg_before"] = [round(v, 2) for v in load_before]
    out["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    out["platform"] = str(jax.devices()[0].device_kind)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

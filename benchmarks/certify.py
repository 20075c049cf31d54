"""Summarise fidelity certificates (``nasbench surrogate certify``) as the Markdown rows of
``benchmarks/SURROGATES.md#certificates``.

    python benchmarks/certify.py /tmp/cert/digits /tmp/cert/mlp /tmp/cert/nb201 /tmp/cert/fcnet

Each argument is a certificate folder (or its ``certificate.json``). Prints two tables: the
held-out fit at the largest training size against the noise ceiling, and the optimisers'
final regret on the table and on the surrogate with the rank correlations.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _load(p: str) -> dict[str, Any]:
    path = Path(p)
    return json.loads((path / "certificate.json" if path.is_dir() else path).read_text())


def _f(x: Any, d: int = 3) -> str:
    return "-" if x is None else f"{x:.{d}f}"


def _g(x: Any) -> str:
    return "-" if x is None else f"{x:.3g}"


def fit_rows(certs: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| table | n train | tau | Spearman | R² | top-1% | top-5% | cov90 | ceiling tau | ceiling R² | ceiling top-5% | beats the ceiling | within seed spread |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in certs:
        e = c["held_out"]["results"][-1]
        s, nc = e["scores"], c["noise_ceiling"]["scores"]
        b = c["beats_noise_ceiling"]
        beats = (
            "yes"
            if b["beats"]
            else ("tau only" if b["kendall_tau"]["beats"] else ("R² only" if b["r2"]["beats"] else "no"))
        )
        rows.append(
            f"| {Path(c['table']['path']).name} | {e['train_size']} | {_f(s['kendall_tau']['mean'])} | "
            f"{_f(s['spearman']['mean'])} | {_f(s['r2']['mean'])} | {_f(s['top1_precision']['mean'])} | "
            f"{_f(s['top5_precision']['mean'])} | {_f(s['coverage90']['mean'])} | {_f(nc['kendall_tau']['mean'])} | "
            f"{_f(nc['r2']['mean'])} | {_f(nc['top5_precision']['mean'])} | {beats} | "
            f"{c['sanity']['training_points']['within_seed_spread']:.0%} |"
        )
    return rows


def optimiser_rows(certs: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| table | strategy | regret on the table | regret on the surrogate | surrogate's incumbent on the table |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in certs:
        o = c["optimisers"]
        for name, r in o["strategies"].items():
            rows.append(
                f"| {Path(c['table']['path']).name} | {name} | {_g(r['table_final_regret']['mean'])} | "
                f"{_g(r['surrogate_final_regret']['mean'])} | {_g(r['surrogate_incumbent_on_table']['mean'])} |"
            )
    rows += [
        "",
        "| table | order tau (table vs surrogate) | table's own split-half tau | wall s |",
        "| --- | --- | --- | --- |",
    ]
    for c in certs:
        o = c["optimisers"]
        rows.append(
            f"| {Path(c['table']['path']).name} | {_f(o['order_kendall_tau'], 2)} | "
            f"{_f(o.get('order_split_half_tau'), 2)} | {c['wall_s']:.0f} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("certificates", nargs="+", help="certificate folders or certificate.json files")
    args = ap.parse_args()
    certs = [_load(p) for p in args.certificates]
    print("\n".join([*fit_rows(certs), "", *optimiser_rows(certs)]))
    for c in certs:
        print(f"\n{Path(c['table']['path']).name}: " + (" ".join(c["weak"]) or "no weak point"))


if __name__ == "__main__":
    main()

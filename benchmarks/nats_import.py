"""Import time of the NATS-Bench sample files, and the projection to the full archives.

Reads the real sample archives in ../shared/data/nats (three cells of each space): the
time to decompress and unpickle one cell file (restricted unpickler) and parse one
dataset and schedule from it, the whole `import_nats` on the sample folder, and the
peak Python memory of one file (tracemalloc). Projects to the full archives (15,625
topology cells, 32,768 size configurations): time = files x time per file; memory = the
table's dense values (archs x seeds x epochs x 7 float32), held twice at the end (the
chunks and the assembled table), plus one file's peak.

    python benchmarks/nats_import.py --repeats 5
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from nasbench.tables.nats import import_nats, open_archive, parse_cell, read_archive_file

REPO = Path(__file__).resolve().parents[1]
NATS = REPO.parent / "shared" / "data" / "nats"
FULL = {"tss": 15625, "sss": 32768}


def measure(folder: Path, dataset: str, repeats: int) -> dict[str, float]:
    archive = open_archive(folder)
    per_file = []
    for _ in range(repeats):
        for _, path in archive.files:
            t0 = time.perf_counter()
            parse_cell(read_archive_file(path), path, dataset=dataset, epochs=None)
            per_file.append(time.perf_counter() - t0)
    tracemalloc.start()
    parse_cell(read_archive_file(archive.files[0][1]), archive.files[0][1], dataset=dataset, epochs=None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t0 = time.perf_counter()
    table = import_nats(folder, dataset=dataset)
    whole = time.perf_counter() - t0
    a, s, e, m = table.shape
    full = FULL[archive.kind]
    values_full = full * s * e * m * 4
    return {
        "kind": archive.kind,
        "files": len(archive.files),
        "file_s_median": float(np.median(per_file)),
        "sample_import_s": whole,
        "file_peak_mb": peak / 2**20,
        "full_files": full,
        "full_time_min": full * float(np.median(per_file)) / 60,
        "full_values_mb": values_full / 2**20,
        "full_peak_mb": (2 * values_full + peak) / 2**20,
        "shape": f"{s} seeds x {e} epochs x {m} metrics",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dataset", default="cifar10-valid")
    args = ap.parse_args()
    print(f"{'archive':8s} {'s/file':>8s} {'sample import':>13s} {'file peak':>9s} {'full: files':>11s} "
          f"{'time':>8s} {'values':>9s} {'peak':>9s}  table")  # fmt: skip
    for name in ("NATS-tss-v1_0-3ffb9-simple", "NATS-sss-v1_0-50262-simple"):
        r = measure(NATS / name, args.dataset, args.repeats)
        print(
            f"{r['kind']:8s} {r['file_s_median']:8.3f} {r['sample_import_s']:12.2f}s {r['file_peak_mb']:7.1f}MB "
            f"{r['full_files']:11d} {r['full_time_min']:6.1f}min {r['full_values_mb']:7.0f}MB {r['full_peak_mb']:7.0f}MB"
            f"  {r['shape']}"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The accelerator check: install, measure the trainer on the device, run the trainer tests there.
#
#   bash benchmarks/device_check.sh          # on a GPU machine (fits in 8 minutes on one H100)
#   bash benchmarks/device_check.sh --cpu    # end to end on a CPU, small sizes
#
# Prints runs per second, the achieved fraction of the device's float32 matmul throughput,
# population against one network at a time (with and without compiles) on CIFAR-shaped
# synthetic data and on digits, and whether a resumed build is bit-identical
# (benchmarks/device_check.py); then runs the trainer tests on the device. Figures also go
# to ${OUT:-/tmp}/device_check.json. Record them in benchmarks/TRAINING.md with the device's name.
#
# Installing: the package itself goes in without its dependencies (a device image has JAX
# with its CUDA plugin already; `pip install "jax[cuda13]"` is tried only where JAX sees no
# GPU and a package index is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CPU=0
[ "${1:-}" = "--cpu" ] && CPU=1
out=${OUT:-/tmp}
start=$(date +%s)

if [ "$CPU" = 1 ]; then
  export JAX_PLATFORMS=cpu
elif ! "$PY" -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')" 2>/dev/null; then
  echo "JAX sees no GPU: trying JAX's CUDA wheels"
  "$PY" -m pip install -q "jax[cuda13]" || "$PY" -m pip install -q "jax[cuda12]" || {
    echo "device_check: no GPU-enabled JAX could be installed (use --cpu on a machine without one)" >&2
    exit 2
  }
fi
# the package, without touching the image's JAX; PYTHONPATH where an editable install cannot build offline
"$PY" -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || export PYTHONPATH="$PWD:${PYTHONPATH:-}"
"$PY" -c "import jax; print('jax', jax.__version__, 'on', jax.devices())"

export PYTHONUNBUFFERED=1
flag=()
[ "$CPU" = 1 ] && flag=(--cpu)
"$PY" benchmarks/device_check.py "${flag[@]}" --json "$out/device_check.json"

echo
echo "trainer tests on the device:"
"$PY" -m pytest -q -p no:cacheprovider -n 0 tests/test_train_population.py tests/test_train_mlp.py \
  tests/test_train_model.py tests/test_oneshot.py 2>&1 | tail -5 || true
echo "device_check: $(( $(date +%s) - start )) s in all"

#!/usr/bin/env bash
# One call on a GPU machine (repository root, .venv or any Python with zeta-payne and a CUDA
# torch): the batched-fit parity test on CUDA, then the GPU figures of issue 16.
#   bash benchmarks/gpu_check.sh            (about 5 minutes on an H100/H200)
# Prints: the device, the parity test result, the old/new CPU rows (one thread) and the GPU
# throughput of the batched fitter (spectra/s, reading excluded) for BOSS and APOGEE.
set -u
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
"$PY" - <<'PYEOF'
import torch
print("torch", torch.__version__, "| CUDA:", torch.cuda.is_available(),
      "|", torch.cuda.get_device_name() if torch.cuda.is_available() else "no device")
PYEOF
echo "## parity test on CUDA (pytest -m gpu)"
"$PY" -m pytest -q -m gpu tests/unit/test_batched.py tests/unit/test_fitter.py 2>&1 | tail -3
echo "## old vs batched (CPU, one thread) and GPU throughput"
"$PY" benchmarks/bench_batched.py --n "${N:-256}" --batch-sizes "${BATCH_SIZES:-1,32,256}" --repeats 2

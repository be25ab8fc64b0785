#!/usr/bin/env bash
# One call on a GPU machine (repository root, .venv or any Python with zeta-payne and a CUDA
# torch): the batched-fit parity test on CUDA, then the GPU figures of issue 16.
#   bash benchmarks/gpu_check.sh            (about 5 minutes on an H100/H200)
# Prints: the device, the parity test result, the old/new CPU rows (one thread), the GPU
# throughput of the batched fitter (spectra/s, reading excluded) for BOSS and APOGEE, and
# `zeta-payne fit --device cuda` end to end on N BOSS npz files (reading included, stated).
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
echo "## zeta-payne fit --device cuda, end to end (reading and writing included)"
TMP=$(mktemp -d)
"$PY" - "$TMP" "${N_CLI:-2048}" <<'PYEOF'
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "benchmarks")
from bench_fit import get_bundle, make_spectra  # noqa: E402

from zeta_payne.io.npz import write_npz  # noqa: E402

folder, n = Path(sys.argv[1]), int(sys.argv[2])
bundle = get_bundle("boss", None, folder)
spectra = make_spectra(bundle, "boss", n, 50.0, seed=3)
write_npz(folder / "boss.npz", spectra[0].wavelength, np.array([s.flux for s in spectra]),
          np.array([s.ivar for s in spectra]), name=[f"s{i}" for i in range(n)], frame="rest")
print(f"{n} BOSS spectra in {folder / 'boss.npz'}")
PYEOF
start=$(date +%s.%N)
"${ZP:-.venv/bin/zeta-payne}" fit "$TMP/boss.npz" --bundle boss --device cuda --batch-size "${CLI_BATCH:-1024}" \
    -q -o "$TMP/out.csv"
end=$(date +%s.%N)
"$PY" -c "import sys; n=int(sys.argv[3]); t=float(sys.argv[2])-float(sys.argv[1]); print(f'zeta-payne fit --device cuda: {n} spectra in {t:.1f} s = {n/t:.0f} spectra/s (process start, bundle load, reading and writing included)')" "$start" "$end" "${N_CLI:-2048}"
rm -rf "$TMP"

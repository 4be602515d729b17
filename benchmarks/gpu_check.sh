#!/usr/bin/env bash
# The GPU path on a real GPU, in one go (~10 minutes on one modern GPU):
#   1. the whole suite with its CUDA cases (the fused LSTM/GRU kernels compiled by NVRTC),
#      then the CUDA cases again with TINYGRAD_RNN_DEVICE=cuda;
#   2. every demo with --device cuda --quick;
#   3. benchmarks/bench_nn.py --device cuda at M and L, without and with --fused, side by
#      side with torch's cuDNN nn.LSTM (column torch_fused; target: LSTM L with --fused ≤ 2×).
# Run from the repository root on a machine whose python3 has cupy, torch (CUDA) and pytest:
#   PYTHONPATH=. bash benchmarks/gpu_check.sh 2>&1 | tee gpu_check.log
# It goes on after a failure and ends with one line per part (and exit status 1 if any failed).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="${PYTHONPATH:-.}" MPLBACKEND=Agg
PY=${PYTHON:-python3}
declare -a summary
status=0
part() {  # part NAME TIMEOUT_S COMMAND...: run, time and record one part
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    echo; echo "=== $name"
    timeout "$limit" "$@"; local rc=$?
    summary+=("$(printf '%-44s rc=%-3s %4ss' "$name" "$rc" "$((SECONDS - start))")")
    [ "$rc" -eq 0 ] || status=1
}

echo "=== the machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
$PY - <<'EOF'
import cupy, torch
print("cupy", cupy.__version__, "· CUDA runtime", cupy.cuda.runtime.runtimeGetVersion(),
      "· devices", cupy.cuda.runtime.getDeviceCount())
print("torch", torch.__version__, "· cuda", torch.version.cuda, "· cuDNN",
      torch.backends.cudnn.version(), "· available", torch.cuda.is_available())
from tinygrad_rnn import backend
assert backend.cuda_available(), "tinygrad_rnn does not see the GPU"
EOF

# 1. the suite (CUDA cases included: they run wherever CuPy sees a GPU)
part "pytest (all)" 240 $PY -m pytest -q -p no:cacheprovider -rs
part "pytest -m gpu, TINYGRAD_RNN_DEVICE=cuda" 120 \
    env TINYGRAD_RNN_DEVICE=cuda $PY -m pytest -q -p no:cacheprovider -m gpu

# 2. every demo on the GPU, quick
out=$(mktemp -d)
for demo in $($PY -m tinygrad_rnn.cli demo --list | awk 'NR > 1 {print $1}'); do
    part "demo $demo --device cuda --quick" 120 \
        $PY -m tinygrad_rnn.cli demo "$demo" --device cuda --quick --out "$out/$demo"
done

# 3. nn.LSTM / nn.RNN training steps vs torch (cuDNN) on the same GPU, M and L
part "bench_nn cuda M L" 150 $PY benchmarks/bench_nn.py --device cuda --configs M L --repeats 5
part "bench_nn cuda M L --fused" 150 \
    $PY benchmarks/bench_nn.py --device cuda --configs M L --repeats 5 --fused

echo; echo "=== summary (rc 124: ran past its time limit)"
printf '%s\n' "${summary[@]}"
exit $status

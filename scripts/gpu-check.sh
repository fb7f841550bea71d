#!/usr/bin/env bash
# The CUDA backend's checks for a lent GPU machine (issue 16), which has NVIDIA's driver and PyTorch but no .NET.
#
# Here (with .NET):   bash scripts/gpu-check.sh publish     → publish/gpu: vecq self-contained and trimmed (~50 MB)
# There (carry publish/gpu):  bash scripts/gpu-check.sh run  → one table:
#   every backend op on the GPU against the CPU backend (vecq cuda-check: largest relative error, tolerance);
#   LeNet5 (batch 100) and VGG-like (batch 128) train steps on the GPU beside PyTorch eager's on the same GPU and our
#   CPU step; the GPU's live bytes before and after 1000 LeNet5 steps (flat when nothing leaks).
# Sized to finish in about 8 minutes on an H200.
set -uo pipefail
cd "$(dirname "$0")/.."
out=publish/gpu
case "${1:-run}" in
  publish)
    rm -rf "$out"
    for p in src/VecQ.Cli; do
      dotnet publish "$p" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimMode=full -p:TreatWarningsAsErrors=false -p:SuppressTrimAnalysisWarnings=true -p:JsonSerializerIsReflectionEnabledByDefault=true -o "$out" -v q || exit 1
    done
    du -sh "$out"
    ;;
  run)
    vecq="$out/vecq"
    [ -x "$vecq" ] || { echo "gpu-check: $out is missing; run 'bash scripts/gpu-check.sh publish' where .NET is, and carry $out" >&2; exit 2; }
    # cuBLAS and NVRTC of PyTorch's pip wheels (nvidia/*/lib): VecQ.Cuda searches them itself; listed here for the record
    "$vecq" doctor --no-peak | sed -n '/^cuda:/,$p'
    echo "== ops: GPU against CPU"
    timeout 240 "$vecq" cuda-check --device cuda:0; ops=$?
    echo "== train steps (median ms)"
    row() { "$vecq" bench --model "$1" --batch-size "$2" --steps "$3" --device "$4" --json | tail -1 | /usr/bin/env python3 -c \
      'import json,sys; r=json.load(sys.stdin); print(f"{r[\"train_ms_per_step\"]:.2f} {r.get(\"live_bytes_before\",0)} {r.get(\"live_bytes_after\",0)}")'; }
    read -r l_gpu _ _ < <(timeout 120 row lenet5 100 30 cuda:0)
    read -r v_gpu _ _ < <(timeout 180 row vgg-like 128 10 cuda:0)
    read -r l_cpu _ _ < <(timeout 120 row lenet5 100 10 cpu)
    torch=$(timeout 180 python3 scripts/gpu_torch_steps.py 30)
    l_pt=$(echo "$torch" | awk -F'|' '$2=="lenet5"{print $4}'); v_pt=$(echo "$torch" | awk -F'|' '$2=="vgg-like"{print $4}')
    read -r _ live0 live1 < <(timeout 180 row lenet5 100 1000 cuda:0)
    printf '%-28s %12s %12s %12s\n' "model" "VecQ GPU" "PyTorch GPU" "VecQ CPU"
    printf '%-28s %12s %12s %12s\n' "lenet5 b100 train step" "${l_gpu:-?}" "${l_pt:-?}" "${l_cpu:-?}"
    printf '%-28s %12s %12s %12s\n' "vgg-like b128 train step" "${v_gpu:-?}" "${v_pt:-?}" "-"
    echo "live bytes on the GPU over 1000 LeNet5 steps: ${live0:-?} → ${live1:-?}"
    exit $ops
    ;;
  *) echo "usage: bash scripts/gpu-check.sh publish|run" >&2; exit 2 ;;
esac

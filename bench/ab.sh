#!/usr/bin/env bash
# Interleaved A/B of the LeNet5 train step between two builds of `vecq` in one sitting:
# float and 2-bit VecQ weights (and W2/A8), ROUNDS rounds of A then B, median of each run's steps.
# Usage: bash bench/ab.sh BEFORE/vecq.dll AFTER/vecq.dll     (ROUNDS=3 by default; extra args go to `vecq bench`)
set -uo pipefail
A="$1"; B="$2"; shift 2
ROUNDS="${ROUNDS:-3}"
lscpu | grep -E 'Model name' | sed 's/  */ /g'
uptime
for r in $(seq 1 "$ROUNDS"); do
  for cfg in "" "--wbits 2" "--wbits 2 --abits 8"; do
    for side in A B; do
      dll=$A; [ "$side" = B ] && dll=$B
      ms=$(dotnet "$dll" bench --model lenet5 --batch-size 100 --steps 20 $cfg "$@" --json | tail -1 \
        | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f (best %.1f)" % (d["train_ms_per_step"], d["train_ms_per_step_best"]))')
      echo "round $r ${cfg:-float} $side: train step $ms ms"
    done
  done
done
uptime

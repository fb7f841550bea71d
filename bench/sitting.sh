#!/usr/bin/env bash
# One benchmark sitting: ours and the references interleaved, as bench/README.md reports them.
# Usage: bash bench/sitting.sh            (after `dotnet build VecQ.sln -c Release`)
#   BENCH_REF=DIR   the bench-ref harness to run (default ../shared/bench-ref; see README for the
#                   AVX-512 guard this machine needs in its fma_peak.c)
#   PAUSE=1         SIGSTOP every `vecq ... train` process for the sitting (SIGCONT at the end)
set -uo pipefail
cd "$(dirname "$0")/.."
REF="${BENCH_REF:-../shared/bench-ref}"
if [ "${PAUSE:-0}" = 1 ]; then
  pkill -STOP -f "vecq.dll train"
  trap 'pkill -CONT -f "vecq.dll train"' EXIT
  sleep 2
fi
uptime
V="dotnet src/VecQ.Cli/bin/Release/net10.0/vecq.dll bench --model lenet5 --batch-size 100 --steps 30"
G="dotnet bench/VecQ.Bench/bin/Release/net10.0/VecQ.Bench.dll gemm --repeats 5"
round() {
  echo "== vecq bench float ($1)"; $V | grep -E "^lenet5"
  echo "== vecq bench W2 ($1)"; $V --wbits 2 | grep -E "^lenet5|costs"
  echo "== vecq bench W2A8 ($1)"; $V --wbits 2 --abits 8 | grep -E "^lenet5|costs"
}
round 1
echo "== our gemm (1)"; $G | grep -v "^{"
echo "== reference gemm,lenet"; REPEATS=5 bash "$REF/run.sh" gemm,lenet 2>&1 | grep "^RESULT"
echo "== our gemm (2)"; $G | grep -v "^{"
round 2
uptime

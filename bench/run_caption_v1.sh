#!/usr/bin/env bash
# OPT-v1 caption latency and memory, taichu vs its PyTorch peer, in one run on the same machine
# (bench/bench_caption_v1.c, bench/caption_v1_torch.py): image -> greedy caption with random weights of
# opt-v1-1b, --steps decode steps with a KV cache on both sides. Prints both and the ratios.
# Usage: bench/run_caption_v1.sh [BUILD_DIR] [THREADS] [extra args for both, e.g. --steps 20 --reps 3]
# The machine is shared and noisy: compare ratios from the same run only. Both sides run with
# OMP_WAIT_POLICY=PASSIVE (override by exporting it): on an oversubscribed machine, spinning OpenMP threads
# made a 2-thread decode step up to 10x slower than one thread (docs/models.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
threads="${2:-${TAICHU_THREADS:-$(nproc)}}"
shift 2 || shift $# || true
bin="$build/bench/bench_caption_v1"
[ -x "$bin" ] || { echo "run_caption_v1.sh: $bin not found (build with cmake first)" >&2; exit 1; }
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
out_c=$("$bin" --threads "$threads" "$@")
echo "$out_c"
out_t=$(OMP_NUM_THREADS="$threads" /usr/bin/python3 "$here/caption_v1_torch.py" --threads "$threads" "$@")
echo "$out_t"
get() { echo "$1" | sed -n "s/.*RESULT.* $2=\([0-9.]*\).*/\1/p"; }
awk -v ce="$(get "$out_c" encode_s)" -v cd="$(get "$out_c" decode_s)" -v ct="$(get "$out_c" total_s)" \
    -v cr="$(get "$out_c" rss_gb)" -v te="$(get "$out_t" encode_s)" -v td="$(get "$out_t" decode_s)" \
    -v tt="$(get "$out_t" total_s)" -v tr="$(get "$out_t" rss_gb)" -v th="$threads" 'BEGIN {
  printf "\n(OMP_WAIT_POLICY=" ENVIRON["OMP_WAIT_POLICY"] ")\n%-26s %10s %10s %10s %10s\n", "opt-v1-1b caption (" th " thr)", "encode s", "decode s", "total s", "peak GB";
  printf "%-26s %10.3f %10.3f %10.3f %10.2f\n", "taichu", ce, cd, ct, cr;
  printf "%-26s %10.3f %10.3f %10.3f %10.2f\n", "PyTorch", te, td, tt, tr;
  printf "speed-up taichu vs PyTorch: encode %.2fx  decode %.2fx  total %.2fx\n", te / ce, td / cd, tt / ct }'

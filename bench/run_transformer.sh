#!/usr/bin/env bash
# taichu vs PyTorch on the 4-layer encoder training step (see bench/bench_transformer.c and
# bench/transformer_torch.py): runs all three in one go on the same machine and prints the ratios.
#   1. taichu bench_transformer                   (threads: --threads / TAICHU_THREADS, default = cores)
#   2. PyTorch out of the box                      (torch's defaults, no environment tuning)
#   3. PyTorch tuned: OMP_WAIT_POLICY=PASSIVE, MALLOC_MMAP_THRESHOLD_=1 GiB (glibc keeps big buffers instead
#      of mmap/munmap each step), MALLOC_TRIM_THRESHOLD_ raised likewise, 2 threads
# All with dropout 0.1. Usage: bench/run_transformer.sh [BUILD_DIR] [extra bench args, e.g. --steps 20]
# The machine is shared and noisy: rerun, and compare ratios from the same run only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
bin="$build/bench/bench_transformer"
py=/usr/bin/python3
[ -x "$bin" ] || { echo "run_transformer.sh: $bin not found (build with cmake first)" >&2; exit 1; }
threads="${TAICHU_THREADS:-$(nproc)}"

out_c=$("$bin" --threads "$threads" "$@")
echo "$out_c"
out_d=$("$py" "$here/transformer_torch.py" --label torch-default "$@")
echo "$out_d"
out_t=$(OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
        OMP_NUM_THREADS=2 "$py" "$here/transformer_torch.py" --label torch-tuned --threads 2 "$@")
echo "$out_t"

get() { echo "$1" | sed -n "s/.*RESULT.* $2=\([0-9.]*\).*/\1/p"; }
c_tr=$(get "$out_c" train_samples_per_s); c_fw=$(get "$out_c" fwd_samples_per_s)
d_tr=$(get "$out_d" train_samples_per_s); d_fw=$(get "$out_d" fwd_samples_per_s)
t_tr=$(get "$out_t" train_samples_per_s); t_fw=$(get "$out_t" fwd_samples_per_s)
c_cpu=$(get "$out_c" cpu_train_ms); t_cpu=$(get "$out_t" cpu_train_ms)
echo
printf "%-30s %12s %12s\n" "samples/s" "forward" "train step"
printf "%-30s %12s %12s\n" "taichu ($threads threads)" "$c_fw" "$c_tr"
printf "%-30s %12s %12s\n" "PyTorch out of the box" "$d_fw" "$d_tr"
printf "%-30s %12s %12s\n" "PyTorch tuned (2 threads)" "$t_fw" "$t_tr"
awk -v c="$c_tr" -v d="$d_tr" -v t="$t_tr" -v cf="$c_fw" -v tf="$t_fw" -v cc="$c_cpu" -v tc="$t_cpu" 'BEGIN {
  printf "ratio taichu / PyTorch tuned:         train %.2fx  forward %.2fx  (target >= 1.5x on train)\n", c / t, cf / tf;
  printf "ratio taichu / PyTorch out of the box: train %.2fx\n", c / d;
  printf "CPU time per train step (all threads): taichu %.0f ms, PyTorch tuned %.0f ms: %.2fx less CPU\n", cc, tc, tc / cc }'

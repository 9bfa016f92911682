#!/usr/bin/env bash
# taichu vs PyTorch on the 4-layer encoder training step (see bench/bench_transformer.c and
# bench/transformer_torch.py): runs them one after the other on the same machine and prints the ratios.
#   1. taichu bench_transformer, as a user runs it   (threads: TAICHU_THREADS, default = cores)
#   2. taichu with OMP_WAIT_POLICY=PASSIVE           (the same OpenMP setting the tuned PyTorch gets)
#   3. PyTorch out of the box                        (torch's defaults, no environment tuning)
#   4. PyTorch tuned: OMP_WAIT_POLICY=PASSIVE, MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ = 1 GiB (glibc
#      keeps big buffers instead of mmap/munmap each step), 2 threads
# All with dropout 0.1. Usage: bench/run_transformer.sh [BUILD_DIR] [extra args for both benches, e.g. --steps 20]
# The machine is shared and noisy: rerun, and compare ratios from the same run only. The CPU-time line
# (process CPU per training step, all threads) moves much less with the load than wall time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
bin="$build/bench/bench_transformer"
py=/usr/bin/python3
[ -x "$bin" ] || { echo "run_transformer.sh: $bin not found (build with cmake first)" >&2; exit 1; }
threads="${TAICHU_THREADS:-$(nproc)}"

out_c=$("$bin" --threads "$threads" "$@"); echo "$out_c"
out_p=$(OMP_WAIT_POLICY=PASSIVE "$bin" --threads "$threads" "$@"); echo "$out_p"
out_d=$("$py" "$here/transformer_torch.py" --label torch-default "$@"); echo "$out_d"
out_t=$(OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
        OMP_NUM_THREADS=2 "$py" "$here/transformer_torch.py" --label torch-tuned --threads 2 "$@"); echo "$out_t"

get() { echo "$1" | sed -n "s/.*RESULT.* $2=\([0-9.]*\).*/\1/p"; }
echo
printf "%-36s %10s %12s %14s\n" "" "forward/s" "train/s" "CPU ms/step"
for row in "taichu ($threads threads)|$out_c" "taichu, OMP_WAIT_POLICY=PASSIVE|$out_p" \
           "PyTorch out of the box|$out_d" "PyTorch tuned (2 threads)|$out_t"; do
    name="${row%%|*}"; out="${row#*|}"
    printf "%-36s %10s %12s %14s\n" "$name" "$(get "$out" fwd_samples_per_s)" "$(get "$out" train_samples_per_s)" \
        "$(get "$out" cpu_train_ms)"
done
awk -v c="$(get "$out_c" train_samples_per_s)" -v p="$(get "$out_p" train_samples_per_s)" \
    -v d="$(get "$out_d" train_samples_per_s)" -v t="$(get "$out_t" train_samples_per_s)" \
    -v cc="$(get "$out_p" cpu_train_ms)" -v tc="$(get "$out_t" cpu_train_ms)" 'BEGIN {
  printf "train ratio vs PyTorch tuned:  taichu %.2fx, taichu passive %.2fx  (target >= 1.5x)\n", c / t, p / t;
  printf "train ratio vs PyTorch out of the box: taichu %.2fx\n", c / d;
  printf "CPU per train step: PyTorch tuned / taichu passive = %.2fx\n", tc / cc }'

#!/usr/bin/env bash
# taichu vs PyTorch: opt-v2-base image and text embedding throughput (bench/bench_embed_v2.c and
# bench/embed_v2_torch.py, the PyTorch twin ref/twin_opt_v2.py), all three in one go on the same machine:
#   1. taichu bench_embed_v2                     (threads: TAICHU_THREADS, default = cores), then with 1 thread
#   2. PyTorch out of the box                     (torch's defaults, no environment tuning)
#   3. PyTorch tuned: OMP_WAIT_POLICY=PASSIVE, MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ = 1 GiB, 2 threads
# Usage: bench/run_embed_v2.sh [BUILD_DIR] [extra args for both, e.g. --reps 3 --img-batch 4]
# The machine is shared and noisy: compare ratios from the same run only, and rerun.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
bin="$build/bench/bench_embed_v2"
py=/usr/bin/python3
[ -x "$bin" ] || { echo "run_embed_v2.sh: $bin not found (build with cmake first)" >&2; exit 1; }
threads="${TAICHU_THREADS:-$(nproc)}"

out_c=$("$bin" --threads "$threads" "$@")
echo "$out_c"
out_1=$("$bin" --threads 1 "$@")
echo "$out_1"
out_d=$("$py" "$here/embed_v2_torch.py" --label torch-default "$@")
echo "$out_d"
out_t=$(OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
        OMP_NUM_THREADS=2 "$py" "$here/embed_v2_torch.py" --label torch-tuned --threads 2 "$@")
echo "$out_t"

get() { echo "$1" | sed -n "s/.*RESULT.* $2=\([0-9.]*\).*/\1/p"; }
c_i=$(get "$out_c" img_per_s); c_t=$(get "$out_c" txt_per_s)
d_i=$(get "$out_d" img_per_s); d_t=$(get "$out_d" txt_per_s)
t_i=$(get "$out_t" img_per_s); t_t=$(get "$out_t" txt_per_s)
c_ci=$(get "$out_c" img_cpu_ms); c_ct=$(get "$out_c" txt_cpu_ms)
o_i=$(get "$out_1" img_per_s); o_t=$(get "$out_1" txt_per_s)
o_ci=$(get "$out_1" img_cpu_ms); o_ct=$(get "$out_1" txt_cpu_ms)
d_ci=$(get "$out_d" img_cpu_ms); d_ct=$(get "$out_d" txt_cpu_ms)
t_ci=$(get "$out_t" img_cpu_ms); t_ct=$(get "$out_t" txt_cpu_ms)
echo
printf "%-30s %12s %12s %14s %14s\n" "" "images/s" "texts/s" "CPU-ms/image" "CPU-ms/text"
printf "%-30s %12s %12s %14s %14s\n" "taichu ($threads threads)" "$c_i" "$c_t" "$c_ci" "$c_ct"
printf "%-30s %12s %12s %14s %14s\n" "taichu (1 thread)" "$o_i" "$o_t" "$o_ci" "$o_ct"
printf "%-30s %12s %12s %14s %14s\n" "PyTorch out of the box" "$d_i" "$d_t" "$d_ci" "$d_ct"
printf "%-30s %12s %12s %14s %14s\n" "PyTorch tuned (2 threads)" "$t_i" "$t_t" "$t_ci" "$t_ct"
g_c=$(get "$out_c" img_gflops_per_core); g_t=$(get "$out_t" img_gflops_per_core); g_d=$(get "$out_d" img_gflops_per_core)
echo "image GFLOP/s per busy core (CPU time; taichu 32.7 GFLOP/image with its class-token-only last layer,"
echo "  PyTorch 35.1 with all 12 layers; zmm FMA peak ~118): taichu $g_c, PyTorch out of the box $g_d, tuned $g_t"
awk -v ci="$c_i" -v ct="$c_t" -v di="$d_i" -v dt="$d_t" -v ti="$t_i" -v tt="$t_t" \
    -v cci="$c_ci" -v cct="$c_ct" -v tci="$t_ci" -v tct="$t_ct" -v oi="$o_i" -v ot="$o_t" -v oci="$o_ci" \
    -v oct="$o_ct" -v dci="$d_ci" -v dct="$d_ct" 'BEGIN {
  printf "ratio taichu / PyTorch tuned:          images %.2fx  texts %.2fx  (target >= 1.5x)\n", ci / ti, ct / tt;
  printf "ratio taichu / PyTorch out of the box: images %.2fx  texts %.2fx\n", ci / di, ct / dt;
  printf "CPU-time ratio PyTorch tuned / taichu: images %.2fx  texts %.2fx\n", tci / cci, tct / cct;
  printf "1 thread each (taichu / PyTorch out of the box, which uses 1): images %.2fx  texts %.2fx; CPU time %.2fx  %.2fx\n",
         oi / di, ot / dt, dci / oci, dct / oct }'

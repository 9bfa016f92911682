#!/usr/bin/env bash
# Training throughput of opt-v2-tiny: `taichu pretrain` against its PyTorch twin (bench/train_tiny_torch.py),
# one after the other on the same machine, with the ratios (bench/README.md, "train_tiny").
#   1. taichu pretrain, as a user runs it        (threads: TAICHU_THREADS, default = cores)
#   2. taichu with OMP_WAIT_POLICY=PASSIVE        (the OpenMP setting the tuned PyTorch gets)
#   3. PyTorch out of the box                     (torch's defaults, no environment tuning)
#   4. PyTorch tuned: OMP_WAIT_POLICY=PASSIVE, MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ = 1 GiB, threads
#      = the same count as taichu (bench/run_transformer.sh's tuning)
# Tasks: itc (batch 128) and itmTwo (MLM + ITC + ITM summed, batch 32). taichu's side is the real
# `taichu pretrain` on a built-in dataset (taichu synth, 64-px JPEGs, captions up to 30 pieces): its steps
# include the data loader's work (JPEG decoding, tokenised captions, prefetched in a thread), the PyTorch
# side gets fixed in-memory tensors. Both: warm-up steps, then the median step time over STEPS steps.
# Usage: bench/run_train_tiny.sh [BUILD_DIR] [itc|itmTwo|both] [STEPS] [WARMUP]   (defaults: ../build both 10 3)
# The machine is shared and noisy: rerun, and compare ratios from the same run only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
which="${2:-both}"
steps="${3:-10}"
warm="${4:-3}"
bin="$build/taichu"
py=/usr/bin/python3
[ -x "$bin" ] || { echo "run_train_tiny.sh: $bin not found (build with cmake first)" >&2; exit 1; }
case "$which" in itc) tasks="itc" ;; itmTwo) tasks="itmTwo" ;; both) tasks="itc itmTwo" ;;
    *) echo "run_train_tiny.sh: task must be itc, itmTwo or both (got \"$which\")" >&2; exit 2 ;; esac
threads="${TAICHU_THREADS:-$(nproc)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# 2000 images (1700 train): one ITC run of 13 steps x 128 draws every image about once, so decoding counts
"$bin" synth --out "$tmp/data" --images 2000 --seed 1 --no-audio --threads "$threads" > "$tmp/synth.log" 2>&1 ||
    { cat "$tmp/synth.log" >&2; exit 1; }

# taichu pretrain for warm+steps steps; prints a RESULT line from RUN/log.jsonl (median step_s after warm-up)
taichu_run() { # label task batch [env...]
    local label="$1" task="$2" B="$3"; shift 3
    cat > "$tmp/$label.json" <<JSON
{"model_config": "opt-v2-tiny", "train_datasets": [{"tasks": ["$task"], "mix_ratio": [1]}],
 "train_batch_size": $B, "learning_rate": 1e-4, "end_learning_rate": 1e-5, "warmup_steps": 1,
 "num_train_steps": $((warm + steps)), "max_text_len": 30, "ckpt_every": 1000000, "eval_every": 0, "eval_images": 8}
JSON
    env "$@" "$bin" pretrain --config "$tmp/$label.json" --data "$tmp/data" --out "$tmp/run-$label" \
        --threads "$threads" --progress off > "$tmp/$label.log" 2>&1 || { cat "$tmp/$label.log" >&2; exit 1; }
    "$py" - "$tmp/run-$label/log.jsonl" "$label" "$task" "$B" "$warm" "$threads" <<'PY'
import json, statistics, sys
path, label, task, B, warm, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rows = [r for r in map(json.loads, open(path)) if r.get("type") == "train"]
t = [r["step_s"] for r in rows[warm:]]
med = statistics.median(t)
print(f"taichu pretrain [{label}]: task {task} batch {B}, {len(t)} steps after {warm} warm-up: median {med * 1e3:.2f} ms, "
      f"best {min(t) * 1e3:.2f} ms, {B / med:.1f} samples/s (final loss {rows[-1]['loss']:.4f})")
print(f"RESULT {label} train_samples_per_s={B / med:.2f} threads={threads}")
PY
}

get() { echo "$1" | sed -n "s/.*RESULT.* train_samples_per_s=\([0-9.]*\).*/\1/p"; }
summary=""
for task in $tasks; do
    B=128; [ "$task" = itmTwo ] && B=32
    echo "== $task, batch $B, $threads threads, $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    out_c=$(taichu_run "taichu-$task" "$task" "$B"); echo "$out_c"
    out_p=$(taichu_run "taichu-passive-$task" "$task" "$B" OMP_WAIT_POLICY=PASSIVE); echo "$out_p"
    # the twin gets taichu's word-table size (a fresh model takes the dataset's vocab)
    vocab=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["vocab_size"])' \
            "$tmp/run-taichu-$task/model/config.json")
    out_d=$("$py" "$here/train_tiny_torch.py" --label "torch-default-$task" --task "$task" --batch "$B" \
            --vocab "$vocab" --steps "$steps" --warmup "$warm"); echo "$out_d"
    out_t=$(OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
            OMP_NUM_THREADS="$threads" "$py" "$here/train_tiny_torch.py" --label "torch-tuned-$task" --task "$task" \
            --batch "$B" --vocab "$vocab" --threads "$threads" --steps "$steps" --warmup "$warm"); echo "$out_t"
    c=$(get "$out_c"); p=$(get "$out_p"); d=$(get "$out_d"); t=$(get "$out_t")
    line=$(awk -v task="$task" -v c="$c" -v p="$p" -v d="$d" -v t="$t" 'BEGIN {
      printf "RESULT train_tiny-%s taichu=%s taichu_passive=%s torch_default=%s torch_tuned=%s ratio_tuned=%.2f ratio_tuned_passive=%.2f ratio_default=%.2f",
             task, c, p, d, t, c / t, p / t, c / d }')
    echo "$line"; summary="$summary$line"$'\n'
    echo
done
printf "samples/s per training step (taichu: default / passive waiting; PyTorch: out of the box / tuned);\n"
printf "ratio_* = taichu (default waiting unless _passive) / PyTorch; target ratio_tuned >= 1.5\n%s" "$summary"

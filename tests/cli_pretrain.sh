#!/bin/bash
# taichu pretrain from the command line: a few steps on a tiny built-in dataset give a loadable model dir,
# the original's config keys are read, resume continues the run, bad input fails with a one-line message.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_pretrain: FAIL: $*" >&2; exit 1; }

"$TAICHU" pretrain --help | grep -q -- "--resume" || fail "help lists --resume"
"$TAICHU" synth --out "$out/data" --images 40 --seed 5 --no-audio > /dev/null || fail "synth"

# the original's v2 task config (opt_v2_base.json keys), paths relative to the original repo root
cat > "$out/cfg.json" <<'EOF'
{"model_config": "opt-v2-tiny", "train_batch_size": 4, "learning_rate": 1e-3, "end_learning_rate": 1e-5,
 "warmup_steps": 1, "seed": 3, "betas": [0.9, 0.98], "weight_decay": 0.01, "grad_norm": 1.0,
 "ids_train_path": ["dataset/text/json_coco_train_zh_token.json"],
 "ids_val_path": "dataset/text/flickr30k_test_zh_token.json",
 "train_datasets": [{"name": "open", "db": ["dataset/text"], "img": ["dataset/image"], "tasks": ["itmTwo"], "mix_ratio": [1]}],
 "eval_images": 4, "ckpt_every": 2, "max_text_len": 48}
EOF
"$TAICHU" pretrain --config "$out/cfg.json" --data "$out/data" --out "$out/run" --steps 3 --progress lines \
    --threads 2 > "$out/log" 2>&1 || fail "pretrain run: $(cat "$out/log")"
grep -q "mlm" "$out/log" && grep -q "itc" "$out/log" && grep -q "itm" "$out/log" || fail "log lacks a task: $(cat "$out/log")"
grep -q "itc_t2i_r1" "$out/log" || fail "no retrieval check at the end: $(cat "$out/log")"
for f in config.json model.safetensors vocab.txt ids_to_tokens_zh.json; do
    [ -s "$out/run/model/$f" ] || fail "RUN/model/$f missing"
done
[ -s "$out/run/log.jsonl" ] || fail "no log.jsonl"
[ "$(grep -c '"type":"train"' "$out/run/log.jsonl")" = 3 ] || fail "expected 3 train records"
# the model dir loads in the inference commands; vocab sized from the dataset, text length from the config
"$TAICHU" info "$out/run/model" > "$out/info" || fail "info cannot load RUN/model"
grep -Eq '"vocab_size":[[:space:]]*243,' "$out/run/model/config.json" || fail "vocab_size not taken from the dataset"
grep -Eq '"max_text_len":[[:space:]]*48,' "$out/run/model/config.json" || fail "max_text_len not applied"

# resume: two more steps continue from the last checkpoint
"$TAICHU" pretrain --config "$out/cfg.json" --data "$out/data" --resume "$out/run" --steps 5 --progress off \
    --threads 2 > "$out/log2" 2>&1 || fail "resume: $(cat "$out/log2")"
[ "$(grep -c '"type":"train"' "$out/run/log.jsonl")" = 5 ] || fail "resume did not add steps 4 and 5"

# MetaLoader mode with the separate task names and a ratio
sed -e 's/"tasks": \["itmTwo"\], "mix_ratio": \[1\]/"tasks": ["mlm", "itc", "itm"], "mix_ratio": [1, 2, 1]/' \
    "$out/cfg.json" > "$out/cfg2.json"
"$TAICHU" pretrain --config "$out/cfg2.json" --data "$out/data" --out "$out/run2" --steps 4 --progress off \
    --threads 2 > "$out/log3" 2>&1 || fail "metaloader run: $(cat "$out/log3")"
grep -q '"task":"itc"' "$out/run2/log.jsonl" || fail "no itc step under the MetaLoader"

# the original's frozen towers (opt_v2_base.json: vit_freeze, freeze_text)
sed -e 's/"eval_images": 4,/"eval_images": 4, "vit_freeze": true, "freeze_text": true,/' "$out/cfg.json" > "$out/cfg_frozen.json"
"$TAICHU" pretrain --config "$out/cfg_frozen.json" --data "$out/data" --out "$out/run_frozen" --steps 2 \
    --progress off --threads 2 > "$out/log_frozen" 2>&1 || fail "frozen towers: $(cat "$out/log_frozen")"
grep -q "pretrain: ViT frozen" "$out/log_frozen" && grep -q "pretrain: text tower frozen" "$out/log_frozen" ||
    fail "frozen towers not reported: $(cat "$out/log_frozen")"
grep -q "warning: .*freshly initialised model keep those towers random" "$out/log_frozen" ||
    fail "no warning for frozen towers without --init: $(cat "$out/log_frozen")"

# errors: one line naming the file and field
echo '{"train_datasets": [{"tasks": ["mrfr"]}]}' > "$out/bad.json"
if "$TAICHU" pretrain --config "$out/bad.json" --data "$out/data" --out "$out/run3" --steps 1 2> "$out/err"; then
    fail "unknown task accepted"
fi
grep -q 'bad.json: field "train_datasets\[0\].tasks": unknown opt-v2 task "mrfr"' "$out/err" || fail "message: $(cat "$out/err")"
echo '{"train_batch_size": "64"}' > "$out/bad2.json"
if "$TAICHU" pretrain --config "$out/bad2.json" --data "$out/data" --out "$out/run4" --steps 1 2> "$out/err"; then
    fail "string batch size accepted"
fi
grep -q 'field "train_batch_size": expected a number' "$out/err" || fail "message: $(cat "$out/err")"
"$TAICHU" pretrain --data "$out/data" 2> /dev/null && fail "missing --out accepted"
cp "$out/run/model_config.json" "$out/mc.json"
if "$TAICHU" pretrain --data "$out/data" --out "$out/run" --steps 1 --preset opt-v2-base 2> "$out/err"; then
    fail "a fresh run over an existing one accepted"
fi
grep -q "already holds a run with checkpoints; use --resume" "$out/err" || fail "message: $(cat "$out/err")"
cmp -s "$out/run/model_config.json" "$out/mc.json" || fail "the existing run's model_config.json was overwritten"

# opt-v1: every task of the three levels summed for two steps on a tiny set (speech when this build has
# espeak-ng), the original's task names; the log has each task's loss; RUN/model loads
if "$TAICHU" synth --out "$out/v1" --images 12 --seed 6 > /dev/null 2> "$out/err"; then
    v1tasks='"mlmThree", "mrfrThree", "mafrThree", "macThree", "itmThree", "itc", "itc_audio", "tdThree", "idThree"'
else
    grep -q "espeak-ng" "$out/err" || fail "synth with audio: $(cat "$out/err")"
    "$TAICHU" synth --out "$out/v1" --images 12 --seed 6 --no-audio > /dev/null || fail "synth --no-audio"
    v1tasks='"mlmThree", "mrfrThree", "itmThree", "itc", "tdThree", "idThree"'
fi
cat > "$out/v1.json" <<EOF
{"model_config": "opt-v1-tiny", "train_batch_size": 4, "learning_rate": 1e-3, "warmup_steps": 1, "seed": 3,
 "train_datasets": [{"name": "open", "db": ["dataset/text"], "img": ["dataset/image"], "audio": ["dataset/audio"],
   "tasks": [$v1tasks]}], "img_token_path": "dataset/img_tokens", "sum_tasks": true, "eval_images": 1}
EOF
"$TAICHU" pretrain --config "$out/v1.json" --data "$out/v1" --out "$out/v1run" --steps 2 --progress lines \
    --threads 2 > "$out/v1log" 2>&1 || fail "v1 pretrain: $(cat "$out/v1log")"
for t in $(echo "$v1tasks" | tr -d '",'); do
    [ "$(grep -c "\"$t\":[0-9]" "$out/v1run/log.jsonl")" = 2 ] || fail "v1: no $t loss in both steps: $(cat "$out/v1run/log.jsonl")"
done
grep -q "itc_t2i_r1" "$out/v1log" || fail "v1: no ITC retrieval check: $(cat "$out/v1log")"
"$TAICHU" info "$out/v1run/model" > /dev/null || fail "info cannot load the v1 RUN/model"
grep -Eq '"itc_dim":[[:space:]]*128' "$out/v1run/model/config.json" || fail "v1: ITC temperatures not enabled"
# defaults (no task list): MetaLoader over the tasks the dataset supports
"$TAICHU" pretrain --data "$out/v1" --out "$out/v1run2" --preset opt-v1-tiny --batch 4 --steps 2 --progress off \
    --threads 2 > "$out/v1log2" 2>&1 || fail "v1 defaults: $(cat "$out/v1log2")"
grep -q "opt-v1, .* tasks: mlmThree itmThree mrfrThree itc" "$out/v1log2" || fail "v1 default tasks: $(cat "$out/v1log2")"
# an audio task without speech: one line naming the missing directory; an unknown v1 task
"$TAICHU" synth --out "$out/v1n" --images 6 --seed 6 --no-audio > /dev/null || fail "synth --no-audio"
echo '{"model_config": "opt-v1-tiny", "train_datasets": [{"tasks": ["mlm", "mam"]}]}' > "$out/v1bad.json"
if "$TAICHU" pretrain --config "$out/v1bad.json" --data "$out/v1n" --out "$out/v1run3" --steps 1 2> "$out/err"; then
    fail "v1 audio task without audio accepted"
fi
grep -q "v1bad.json: task \"mam\" needs audio, but $out/v1n/audio does not exist" "$out/err" || fail "message: $(cat "$out/err")"
echo '{"model_config": "opt-v1-tiny", "train_datasets": [{"tasks": ["mrm"]}]}' > "$out/v1bad2.json"
if "$TAICHU" pretrain --config "$out/v1bad2.json" --data "$out/v1n" --out "$out/v1run4" --steps 1 2> "$out/err"; then
    fail "unknown v1 task accepted"
fi
grep -q 'unknown opt-v1 task "mrm"' "$out/err" || fail "message: $(cat "$out/err")"
echo "cli_pretrain: ok"

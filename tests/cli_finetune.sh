#!/usr/bin/env bash
# taichu finetune caption|vqa|retrieval for a handful of steps on a tiny synthetic set, from the twin's tiny
# checkpoints converted to model directories: the run writes RUN/model that `taichu caption|vqa|itm` read,
# a v2 model without a VQA decoder gets one (reported), resume continues, and usage errors exit 2
# (the losses falling and the tasks' details: tests/test_finetune.c).
set -euo pipefail
S="$TAICHU_SOURCE_DIR/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export TAICHU_THREADS=2
"$TAICHU" synth --out "$T/data" --images 24 --size 32 --no-audio >/dev/null 2>&1
V="$T/data/text/bert-base-chinese-vocab.txt"
[ "$(wc -l <"$V")" -le 256 ] || fail "the synthetic vocabulary outgrew the twin's 256 ids"
"$TAICHU" convert --from "$S/opt_v1/tiny.ckpt" --config "$S/opt_v1/config.json" --vocab "$V" --to "$T/v1" >/dev/null 2>&1
"$TAICHU" convert --from "$S/opt_v2/tiny.ckpt" --config "$S/opt_v2/config.json" --vocab "$V" --to "$T/v2" >/dev/null 2>&1
IMG="$T/data/image/synth/synth_000000.jpg"
common=(--data "$T/data" --steps 4 --batch 2 --lr 1e-3 --warmup 1 --progress lines)

# caption (v2 prefix-LM): the model dir captions images
out=$("$TAICHU" finetune caption --init "$T/v2" --out "$T/cap" "${common[@]}")
grep -q "step 4/4" <<<"$out" || fail "caption: no step 4 in: $out"
for f in config.json model.safetensors vocab.txt; do [ -s "$T/cap/model/$f" ] || fail "caption: RUN/model/$f missing"; done
[ "$(grep -c '"type":"train"' "$T/cap/log.jsonl")" = 4 ] || fail "caption: log.jsonl has no 4 train records"
c=$("$TAICHU" caption --model "$T/cap/model" "$IMG" --max-len 8 --beam 2)
[ "$(wc -l <<<"$c")" = 1 ] || fail "caption: $c"

# vqa: the v2 twin has no decoder (dec_num_layers 0): fine-tuning adds one and says so
err=$("$TAICHU" finetune vqa --init "$T/v2" --out "$T/vqa" "${common[@]}" 2>&1 >/dev/null)
grep -q "no VQA decoder: adding one" <<<"$err" || fail "vqa: decoder not reported: $err"
grep -q "new parameter txt_output" <<<"$err" || fail "vqa: new parameters not listed: $err"
a=$("$TAICHU" vqa --model "$T/vqa/model" --image "$IMG" --question "图中有几个物体？" --max-len 6)
[ "$(wc -l <<<"$a")" = 1 ] || fail "vqa: $a"

# retrieval: v1 rank head (hinge) and v2 ITC + ITM; the models score pairs
out=$("$TAICHU" finetune retrieval --init "$T/v1" --out "$T/ret1" "${common[@]}")
grep -q "sharing the positive's image" <<<"$out" && grep -q ", 0 sharing" <<<"$out" || fail "v1 retrieval negatives: $out"
"$TAICHU" itm --model "$T/ret1/model" --image "$IMG" --text "红色" >/dev/null || fail "v1 retrieval model does not score"
out=$("$TAICHU" finetune retrieval --init "$T/v2" --out "$T/ret2" "${common[@]}")
grep -q "itc .* itm " <<<"$out" || fail "v2 retrieval: no itc/itm losses: $out"

# resume: the run directory's model config and last checkpoint are picked up (a finished run only re-saves)
"$TAICHU" finetune caption --init "$T/v2" --out "$T/res" --data "$T/data" --steps 6 --batch 2 --ckpt-every 2 --progress off >/dev/null
out=$("$TAICHU" finetune caption --resume "$T/res" --data "$T/data" --steps 6 --batch 2 --progress lines 2>&1 || true)
grep -q "resumed .* at step 6" <<<"$out" && grep -q "model -> $T/res/model" <<<"$out" || fail "resume of a finished run: $out"

# usage errors exit 2; runtime errors 1 with a message
set +e
"$TAICHU" finetune speech --init "$T/v2" --data "$T/data" --out "$T/x" 2>/dev/null; [ $? = 2 ] || fail "unknown task"
"$TAICHU" finetune caption --data "$T/data" --out "$T/x" 2>/dev/null; [ $? = 2 ] || fail "missing --init"
msg=$("$TAICHU" finetune caption --init "$T/nope" --data "$T/data" --out "$T/x" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "nope" <<<"$msg" || fail "missing model dir: rc $rc: $msg"
msg=$("$TAICHU" finetune vqa --init "$T/v2" --data "$T/data" --train "$T/none.json" --out "$T/y" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "none.json" <<<"$msg" || fail "missing training file: rc $rc: $msg"
# the v1 twin's text decoder has 160 ids, fewer than the synthetic vocabulary: refused up front
msg=$("$TAICHU" finetune caption --init "$T/v1" --data "$T/data" --out "$T/z" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "outside the decoder's vocabulary (txt_dec_vocab_size 160)" <<<"$msg" || fail "decoder vocab: rc $rc: $msg"
# a training entry whose image is missing stops the run, naming the file; --skip-bad goes on and counts it
bad_file="$T/bad.json"
first=$(grep -o '"image": *"[^"]*"' "$T/data/text/json_coco_train_zh_token_for_cap.json" | head -1)
[ -n "$first" ] || fail "no image field in the caption training file"
awk -v f="$first" 'BEGIN{done=0} { if (!done && index($0, f)) { sub(f, "\"image\": \"missing.jpg\""); done=1 } print }' \
    "$T/data/text/json_coco_train_zh_token_for_cap.json" >"$bad_file"
grep -q missing.jpg "$bad_file" || fail "could not plant a bad entry"
msg=$("$TAICHU" finetune caption --init "$T/v2" --data "$T/data" --train "$bad_file" --out "$T/b1" --steps 1 --batch 2 2>&1); rc=$?
[ $rc = 1 ] && grep -q "missing.jpg" <<<"$msg" || fail "bad entry without --skip-bad: rc $rc: $msg"
msg=$("$TAICHU" finetune caption --init "$T/v2" --data "$T/data" --train "$bad_file" --out "$T/b2" --steps 1 --batch 2 --skip-bad --progress off 2>&1); rc=$?
[ $rc = 0 ] && grep -q "skipped 1 bad entries" <<<"$msg" || fail "bad entry with --skip-bad: rc $rc: $msg"
set -e
echo "cli_finetune: ok"

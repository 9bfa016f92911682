#!/usr/bin/env bash
# taichu convert / info on the PyTorch twin's tiny MindSpore checkpoints (tests/data/opt_v{1,2}/tiny.ckpt):
# conversion with alias resolution, the info report, and the refusals (wrong architecture, truncated file,
# a vocabulary larger than the model's) with nothing written.
set -euo pipefail
S="$TAICHU_SOURCE_DIR/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
head -n 256 "$S/tokenizer/vocab.txt" >"$T/vocab.txt"

# v1: the three tied weights are stored under their alias names in the twin's checkpoint
out=$("$TAICHU" convert --from "$S/opt_v1/tiny.ckpt" --config "$S/opt_v1/config.json" --vocab "$T/vocab.txt" \
      --to "$T/v1" --json)
grep -q '"aliases":	3' <<<"$out" || fail "v1 aliases: $out"
grep -q '"missing":	\[\]' <<<"$out" || fail "v1 missing: $out"
for f in config.json model.safetensors vocab.txt; do [ -f "$T/v1/$f" ] || fail "v1: $f not written"; done
ls "$T" | grep -q tmp && fail "temporary directory left behind"
info=$("$TAICHU" info "$T/v1")
grep -q "opt-v1" <<<"$info" || fail "info arch: $info"
grep -q "cross encoder" <<<"$info" && grep -q "text decoder" <<<"$info" || fail "info modules: $info"
total=$(grep -o '"total":	[0-9]*' <<<"$("$TAICHU" info --json "$T/v1")" | grep -o '[0-9]*$')
params=$(grep -o '"parameters":	[0-9]*' <<<"$out" | grep -o '[0-9]*$')
[ "$total" = "$params" ] || fail "info total $total != converted parameters $params"
echo "v1: converted, info total $total parameters"

# v2 with the VQA config but a checkpoint without txt_output.*: converted without the decoder
out=$("$TAICHU" convert --from "$S/opt_v2/tiny.ckpt" --config "$S/opt_v2/vqa_config.json" --vocab "$T/vocab.txt" \
      --to "$T/v2")
grep -q "no VQA decoder" <<<"$out" || fail "v2 VQA decoder note: $out"
grep -q '"dec_num_layers":	0' "$T/v2/config.json" || grep -q '"dec_num_layers": 0' "$T/v2/config.json" \
    || fail "v2 config keeps dec_num_layers"
"$TAICHU" info "$T/v2" | grep -q "fusion" || fail "v2 info"
echo "v2: converted without the VQA decoder"

# a v1 checkpoint read as v2: every missing tensor listed, nothing written
set +e
err=$("$TAICHU" convert --from "$S/opt_v1/tiny.ckpt" --config "$S/opt_v2/config.json" --vocab "$T/vocab.txt" \
      --to "$T/wrong" --list 0 2>&1); rc=$?
set -e
[ $rc = 1 ] || fail "wrong architecture: status $rc"
grep -q "uniter.img_embeddings.vit.class_embedding" <<<"$err" || fail "missing tensor not listed: $err"
grep -q "nothing written" <<<"$err" || fail "no summary line: $err"
[ -e "$T/wrong" ] && fail "output written for a wrong architecture"

# a truncated checkpoint: a clean one-line error, no crash
head -c 5000 "$S/opt_v1/tiny.ckpt" >"$T/trunc.ckpt"
set +e
err=$("$TAICHU" convert --from "$T/trunc.ckpt" --config "$S/opt_v1/config.json" --vocab "$T/vocab.txt" \
      --to "$T/trunc" 2>&1); rc=$?
set -e
[ $rc = 1 ] || fail "truncated checkpoint: status $rc ($err)"
grep -q "trunc.ckpt" <<<"$err" || fail "truncated checkpoint: error does not name the file: $err"
[ -e "$T/trunc" ] && fail "output written for a truncated checkpoint"

# a vocabulary larger than vocab_size
set +e
err=$("$TAICHU" convert --from "$S/opt_v1/tiny.ckpt" --config "$S/opt_v1/config.json" \
      --vocab "$S/tokenizer/vocab.txt" --to "$T/bigvocab" 2>&1); rc=$?
set -e
[ $rc = 1 ] && grep -q "vocab_size" <<<"$err" || fail "oversized vocab: $rc $err"

# info on something that is not a model directory
set +e
err=$("$TAICHU" info "$T/nope" 2>&1); rc=$?
set -e
[ $rc = 1 ] && grep -q "config.json" <<<"$err" || fail "info on a missing dir: $rc $err"
echo "refusals: wrong architecture, truncated file, oversized vocab, missing dir"

#!/usr/bin/env bash
# taichu itm / embed / caption / vqa on the twin's tiny checkpoints converted to model directories:
# output shapes and formats, --json, batched == one by one, and the errors (determinism and the numbers
# themselves: tests/test_infer.c, tests/test_infer_golden.c).
set -euo pipefail
S="$TAICHU_SOURCE_DIR/tests/data"
I="$S/image/sources"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
head -n 256 "$S/tokenizer/vocab.txt" >"$T/vocab.txt"
"$TAICHU" convert --from "$S/opt_v1/tiny.ckpt" --config "$S/opt_v1/config.json" --vocab "$T/vocab.txt" --to "$T/v1" >/dev/null
"$TAICHU" convert --from "$S/opt_v2/tiny.ckpt" --config "$S/opt_v2/config.json" --vocab "$T/vocab.txt" --to "$T/v2" >/dev/null
export TAICHU_THREADS=2

for v in v1 v2; do
    # caption: one line per image, batched == one by one, deterministic
    all=$("$TAICHU" caption --model "$T/$v" "$I/coffee.jpg" "$I/rocket.jpg" "$I/camera.png" --max-len 12)
    [ "$(wc -l <<<"$all")" = 3 ] || fail "$v caption: $(wc -l <<<"$all") lines"
    one=$("$TAICHU" caption --model "$T/$v" "$I/coffee.jpg" "$I/rocket.jpg" "$I/camera.png" --max-len 12 --batch 1)
    [ "$all" = "$one" ] || fail "$v caption: batched != one by one"
    js=$("$TAICHU" caption --model "$T/$v" "$I/coffee.jpg" --max-len 12 --beam 2 --json)
    grep -q '"ids":' <<<"$js" && grep -q '"score":' <<<"$js" || fail "$v caption --json: $js"

    # itm: one line per (image, text) pair with the score and every class logit
    out=$("$TAICHU" itm --model "$T/$v" --image "$I/coffee.jpg" "$I/rocket.jpg" --text "a b" "hello world" "x")
    [ "$(wc -l <<<"$out")" = 6 ] || fail "$v itm: $(wc -l <<<"$out") lines"
    classes=$([ $v = v1 ] && echo 5 || echo 2)
    nf=$(head -1 <<<"$out" | cut -f4 | wc -w)
    [ "$nf" = "$classes" ] || fail "$v itm: $nf logits, expected $classes"
    [ "$(cut -f1 <<<"$out" | uniq | wc -l)" = 2 ] || fail "$v itm: pairs not grouped by image"
    "$TAICHU" itm --model "$T/$v" --image "$I/coffee.jpg" --text "a" --json | grep -q '"logits":' || fail "$v itm --json"

    # embed: a [n, dim] float32 .npy
    js=$("$TAICHU" embed --model "$T/$v" --text "a b" "c" "hello" --out "$T/e.npy" --json)
    grep -q '"rows":	3' <<<"$js" || fail "$v embed: $js"
    head -c 128 "$T/e.npy" | grep -aq "'shape': (3, " || fail "$v embed: npy header"
    "$TAICHU" embed --model "$T/$v" --image "$I/coffee.jpg" "$I/camera.png" --out "$T/i.npy" >/dev/null
    head -c 128 "$T/i.npy" | grep -aq "'shape': (2, " || fail "$v embed images: npy header"
    echo "$v: caption, itm, embed ok"
done

# vqa: v1 answers; this v2 checkpoint has no VQA decoder
out=$("$TAICHU" vqa --model "$T/v1" --image "$I/coffee.jpg" --question "a b" "c" --max-len 8)
[ "$(wc -l <<<"$out")" = 2 ] || fail "v1 vqa lines"
"$TAICHU" vqa --model "$T/v1" --image "$I/coffee.jpg" --question "a b" --json --max-len 8 | grep -q '"answer":' \
    || fail "v1 vqa --json"
r0=$("$TAICHU" vqa --model "$T/v1" --image "$I/coffee.jpg" --question "a b" --max-len 8 --json)
r1=$("$TAICHU" vqa --model "$T/v1" --image "$I/coffee.jpg" --question "a b" --max-len 8 --json --mask-row 1)
[ "$(grep score <<<"$r0")" != "$(grep score <<<"$r1")" ] || fail "vqa --mask-row 1 changed nothing"
set +e
"$TAICHU" vqa --model "$T/v1" --image "$I/coffee.jpg" --question "a" --mask-row 2 2>/dev/null; rc=$?
[ $rc = 2 ] || fail "--mask-row 2: status $rc"
err=$("$TAICHU" vqa --model "$T/v2" --image "$I/coffee.jpg" --question "a" 2>&1); rc=$?
set -e
[ $rc = 1 ] && grep -q "txt_output" <<<"$err" || fail "v2 vqa without decoder: $rc $err"

# errors: a missing image, a corrupt image, a bad model directory, bad usage
set +e
err=$("$TAICHU" caption --model "$T/v1" "$I/coffee.jpg" "$T/none.jpg" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "none.jpg" <<<"$err" || fail "missing image: $rc $err"
err=$("$TAICHU" itm --model "$T/v2" --image "$S/image/bad/truncated.jpg" --text a 2>&1); rc=$?
[ $rc = 1 ] && grep -q "truncated.jpg" <<<"$err" || fail "truncated image: $rc $err"
err=$("$TAICHU" caption --model "$T/nope" "$I/coffee.jpg" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "config.json" <<<"$err" || fail "bad model dir: $rc $err"
"$TAICHU" embed --model "$T/v1" --text a --image "$I/coffee.jpg" --out "$T/x.npy" 2>/dev/null; rc=$?
[ $rc = 2 ] || fail "embed with both --text and --image: status $rc"
set -e
[ -e "$T/x.npy" ] && fail "output written on a usage error"
echo "errors ok"

#!/bin/bash
# taichu synth from the command line: a quick run, determinism across runs, the layout, bad options.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_synth: FAIL: $*" >&2; exit 1; }

"$TAICHU" synth --help | grep -q -- "--speak-all" || fail "help lists --speak-all"
"$TAICHU" synth --out "$out/a" --images 30 --size 32 --seed 9 --no-audio > "$out/log" || fail "synth run"
grep -q "30 images (train 26, val 1, test 3)" "$out/log" || fail "summary line: $(cat "$out/log")"
TAICHU_THREADS=1 "$TAICHU" synth --out "$out/b" --images 30 --size 32 --seed 9 --no-audio > /dev/null
diff -r "$out/a" "$out/b" > /dev/null || fail "same seed gives different output"
"$TAICHU" synth --out "$out/c" --images 30 --size 32 --seed 10 --no-audio > /dev/null
cmp -s "$out/a/text/json_coco_train_zh_token.json" "$out/c/text/json_coco_train_zh_token.json" && fail "seed ignored"
for f in README.txt text/flickr30k_test_zh_token.json text/json_coco_train_zh_token.json \
         text/json_coco_train_zh_token_for_cap.json text/json_coco_test_zh_token_for_cap.json \
         text/json_coco_trans_captions.json text/FM-IQA_train_token_ids_for_vqa.json text/FM-IQA_val_token_ids.json \
         text/FM-IQA.json text/bert-base-chinese-vocab.txt text/ids_to_tokens_zh.json text/meta.json \
         v1/train_ids.json v1/txt/meta.json image/synth/synth_000029.jpg img_tokens/synth/synth_000029.npz; do
    [ -s "$out/a/$f" ] || fail "missing $f"
done
[ "$(sed -n 102p "$out/a/text/bert-base-chinese-vocab.txt")" = "[CLS]" ] || fail "[CLS] is not id 101"
ls "$out/a" | grep -q tmp && fail "temporary files left behind"
# progress bar: plain final line when stderr is a file, in-place redraws when forced, silent with 0
"$TAICHU" synth --out "$out/p" --images 5 --size 16 --no-audio 2> "$out/err" > /dev/null
grep -q "^synth images 5/5 100.0%" "$out/err" || fail "plain progress line: $(cat "$out/err")"
TAICHU_PROGRESS=1 "$TAICHU" synth --out "$out/p" --images 5 --size 16 --no-audio 2> "$out/err" > /dev/null
grep -q $'\r' "$out/err" || fail "TAICHU_PROGRESS=1 does not redraw in place"
TAICHU_PROGRESS=0 "$TAICHU" synth --out "$out/p" --images 5 --size 16 --no-audio 2> "$out/err" > /dev/null
[ ! -s "$out/err" ] || fail "TAICHU_PROGRESS=0 still prints: $(cat "$out/err")"
# bad usage: clear messages, non-zero status
if "$TAICHU" synth --out "$out/d" --images 2 --no-audio 2> "$out/err"; then fail "--images 2 accepted"; fi
grep -q -- "--images must be" "$out/err" || fail "message for --images: $(cat "$out/err")"
if "$TAICHU" synth --images 10 --no-audio 2> "$out/err"; then fail "missing --out accepted"; fi
grep -q -- "--out" "$out/err" || fail "message for --out"
if "$TAICHU" synth --out "$out/e" --seed x --no-audio 2> "$out/err"; then fail "bad seed accepted"; fi
# speech, when this build has espeak-ng
if "$TAICHU" synth --out "$out/s" --images 3 --size 32 --speak-all > "$out/log" 2> "$out/err"; then
    [ -s "$out/s/audio/synth/synth_000000_0.wav" ] || fail "speech file missing"
    [ "$(ls "$out/s/audio/synth" | grep -c '\.wav$')" = 15 ] || fail "--speak-all: expected 15 WAV files"
    grep -q "synth speech 15/15" "$out/err" || fail "no final progress line for speech: $(cat "$out/err")"
    head -c 4 "$out/s/audio/synth/synth_000000_0.wav" | grep -q RIFF || fail "not a WAV file"
else
    grep -q "espeak-ng" "$out/err" || fail "audio failure does not mention espeak-ng: $(cat "$out/err")"
fi
echo "cli_synth: ok"

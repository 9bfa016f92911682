#!/usr/bin/env bash
# taichu score caption / vqa on small files in the original formats (tests/data/metrics/cli_*.json,
# written by make_golden.py together with the expected scores of its Python reference).
set -euo pipefail
D="$TAICHU_SOURCE_DIR/tests/data/metrics"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# value of "key" in a one-line JSON object / in the expected file's section
jget() { grep -o "\"$2\": *[-0-9.e+]*" <<<"$1" | head -1 | sed 's/.*: *//'; }
expect() { # section key
    awk -v sec="\"$1\"" -v key="\"$2\"" '$1 == sec":" {in_sec=1} in_sec && $1 == key":" {gsub(",", "", $2); print $2; exit}' "$D/cli_expected.json"
}
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-9 * (b < 0 ? -b : b) + 1e-12) }'; }

for task in caption vqa; do
    if [ $task = caption ]; then P="$D/cli_pred.json"; G="$D/cli_gt.json"; else P="$D/cli_vqa_pred.json"; G="$D/cli_vqa_gt.json"; fi
    out=$("$TAICHU" score $task --pred "$P" --gt "$G" --json --out "$T/$task.json")
    cmp <(echo "$out") "$T/$task.json" || fail "$task: --out file differs from --json output"
    keys="Bleu_1 Bleu_2 Bleu_3 Bleu_4 METEOR ROUGE_L CIDEr"
    [ $task = vqa ] && keys="$keys accuracy"
    for k in $keys; do
        got=$(jget "$out" $k); want=$(expect $task $k)
        [ -n "$got" ] && [ -n "$want" ] || fail "$task $k: missing (got '$got' want '$want')"
        close "$got" "$want" || fail "$task $k: got $got want $want"
    done
    echo "$task: scores match the Python reference"
done
cap=$("$TAICHU" score caption --pred "$D/cli_pred.json" --gt "$D/cli_gt.json" --json)
grep -q '"images": 53' <<<"$cap" || fail "image count"

# the table
table=$("$TAICHU" score caption --pred "$D/cli_pred.json" --gt "$D/cli_gt.json" 2>/dev/null)
grep -q '| BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr' <<<"$table" || fail "table header: $table"
grep -q '53 images of 54' <<<"$table" || fail "table caption line: $table"

# --segment space scores differently on unsegmented text (whole captions become single tokens)
sp=$("$TAICHU" score caption --pred "$D/cli_pred.json" --gt "$D/cli_gt.json" --json --segment space)
[ "$(jget "$sp" Bleu_1)" != "$(jget "$cap" Bleu_1)" ] || fail "space segmentation gave the char scores"
grep -q '"segment": "space"' <<<"$sp" || fail "segment space not reported"

# retrieval recall from score matrices (both tie rules; grouped 5 captions per image or a txt2img map)
rkeys="img_r1 img_r5 img_r10 img_r_mean txt_r1 txt_r5 txt_r10 txt_r_mean r_mean"
check_ret() { # section, args...
    local sec=$1; shift
    local o; o=$("$TAICHU" score retrieval --i2t "$D/cli_i2t.npy" --json "$@")
    for k in $rkeys; do
        got=$(jget "$o" $k); want=$(expect $sec $k)
        [ -n "$got" ] && [ -n "$want" ] || fail "retrieval $sec $k: missing (got '$got' want '$want')"
        close "$got" "$want" || fail "retrieval $sec $k: got $got want $want"
    done
    echo "retrieval $sec: matches the Python reference"
}
check_ret grouped_pessimistic
check_ret grouped_argsort --ties argsort
check_ret map_pessimistic --txt2img "$D/cli_txt2img.npy"
rt=$("$TAICHU" score retrieval --i2t "$D/cli_i2t.npy")
grep -q '| IR@1 .*| TR@10 .*| mean' <<<"$rt" || fail "retrieval table: $rt"
grep -q 'IR = text->image' <<<"$rt" || fail "retrieval naming line"

# errors name the file and the entry
err() { # expected-substring, command...
    local want=$1; shift
    if "$@" >"$T/out" 2>"$T/err"; then fail "expected failure: $*"; fi
    grep -qF -- "$want" "$T/err" || { cat "$T/err" >&2; fail "message lacks '$want'"; }
}
echo '[{"image_id": "000012", "caption": "一只狗"}, {"image_id": "424242", "caption": "猫"}]' >"$T/p1.json"
err 'p1.json: entry 1: image_id "424242" is not in' "$TAICHU" score caption --pred "$T/p1.json" --gt "$D/cli_gt.json"
echo '[{"image_id": "000012", "caption": "一只狗"}, {"image_id": 12, "caption": "猫"}]' >"$T/p2.json"
err 'p2.json: entry 1: image_id "000012" repeats entry 0' "$TAICHU" score caption --pred "$T/p2.json" --gt "$D/cli_gt.json"
echo '[{"image_id": "000012", "caption": 5}]' >"$T/p3.json"
err 'p3.json: entry 0 (image_id 000012): field "caption": expected a string' "$TAICHU" score caption --pred "$T/p3.json" --gt "$D/cli_gt.json"
echo '[{"image_id": "000012", "caption": "x"' >"$T/p4.json"
err 'p4.json: invalid JSON' "$TAICHU" score caption --pred "$T/p4.json" --gt "$D/cli_gt.json"
echo '{"000012": []}' >"$T/g1.json"
err 'g1.json: image "000012": expected a non-empty array' "$TAICHU" score caption --pred "$T/p1.json" --gt "$T/g1.json"
err 'no-such.json' "$TAICHU" score caption --pred "$T/no-such.json" --gt "$D/cli_gt.json"
err '--segment: expected "char" or "space"' "$TAICHU" score caption --pred "$T/p1.json" --gt "$D/cli_gt.json" --segment jieba
err 'cli_i2t.npy: 60 texts is not 12 images x 7 captions' "$TAICHU" score retrieval --i2t "$D/cli_i2t.npy" --captions-per-image 7
err 'cli_txt2img.npy: expected a [60 x 12]' "$TAICHU" score retrieval --i2t "$D/cli_i2t.npy" --t2i "$D/cli_txt2img.npy"
err 'ties: expected "pessimistic" or "argsort"' "$TAICHU" score retrieval --i2t "$D/cli_i2t.npy" --ties random
if "$TAICHU" score --pred "$T/p1.json" --gt "$D/cli_gt.json" 2>/dev/null; then fail "missing task accepted"; fi
[ ! -e "$T/never.json" ] || fail "unexpected output"
echo "cli_score: ok"

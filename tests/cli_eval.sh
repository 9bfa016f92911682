#!/usr/bin/env bash
# taichu eval retrieval / caption / vqa end to end on a small synth dataset and a tiny opt-v2 model (one
# pretraining step): valid recalls and results JSON, caption predictions that `taichu score caption` reads
# and scores identically, VQA scoring, and errors that name the file.
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export TAICHU_PROGRESS=0 TAICHU_THREADS=${TAICHU_THREADS:-2}

"$TAICHU" synth --out "$T/d" --images 60 --size 64 --no-audio >/dev/null 2>&1 || fail "synth"
"$TAICHU" pretrain --preset opt-v2-tiny --data "$T/d" --out "$T/run" --steps 1 --batch 2 --eval-images 4 \
    --progress off >/dev/null 2>&1 || fail "pretrain (to get a model dir)"
M="$T/run/model"
X="$T/d/text"

# ---- retrieval, v2 protocol
out=$("$TAICHU" eval retrieval --model "$M" --data "$X/flickr30k_test_zh_token.json" --limit 6 --k-test 4 \
      --json --out "$T/ret.json")
cmp <(echo "$out") "$T/ret.json" || fail "retrieval: --out file differs from --json output"
for k in img_r1 img_r5 img_r10 txt_r1 txt_r5 txt_r10 r_mean; do
    v=$(grep -o "\"$k\":[^,]*" "$T/ret.json" | head -1 | sed 's/.*:[[:space:]]*//')
    [ -n "$v" ] || fail "retrieval: no $k"
    awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 100) }' || fail "retrieval: $k = $v"
done
grep -q '"images":[[:space:]]*6,' "$T/ret.json" || fail "retrieval: image count"
grep -q '"texts":[[:space:]]*30,' "$T/ret.json" || fail "retrieval: text count"
table=$("$TAICHU" eval retrieval --model "$M" --data "$X/flickr30k_test_zh_token.json" --limit 6 --k-test 4 2>/dev/null)
grep -Eq '\| IR@1 +\| IR@5 +\| IR@10 +\| TR@1 +\| TR@5 +\| TR@10 +\| mean' <<<"$table" || fail "retrieval table: $table"
grep -q 'IR = text->image' <<<"$table" || fail "retrieval naming line: $table"
# the saved score matrices give the same recalls through taichu score retrieval (same tie rule)
"$TAICHU" eval retrieval --model "$M" --data "$X/flickr30k_test_zh_token.json" --limit 6 --k-test 4 \
    --save-scores "$T/s" --json >"$T/ret2.json" 2>/dev/null || fail "retrieval --save-scores"
sc=$("$TAICHU" score retrieval --i2t "$T/s_i2t.npy" --t2i "$T/s_t2i.npy" --txt2img "$T/s_txt2img.npy" \
     --ties argsort --json)
for k in img_r1 img_r5 img_r10 txt_r1 txt_r5 txt_r10 r_mean; do
    a=$(grep -o "\"$k\":[^,}]*" <<<"$sc" | sed 's/.*:[[:space:]]*//')
    b=$(grep -o "\"$k\":[^,}]*" "$T/ret2.json" | head -1 | sed 's/.*:[[:space:]]*//')
    [ -n "$a" ] && awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }' \
        || fail "retrieval $k: eval $b, score $a"
done
# v2 also reports the ITC similarity's own recalls (itc_only, after the re-ranked ones), and saves the
# similarities: scoring them gives the same figures
grep -q '"itc_only"' "$T/ret2.json" || fail "retrieval: no itc_only recalls"
sc=$("$TAICHU" score retrieval --i2t "$T/s_itc.npy" --txt2img "$T/s_txt2img.npy" --ties argsort --json)
for k in img_r1 img_r5 img_r10 txt_r1 txt_r5 txt_r10 r_mean; do
    a=$(grep -o "\"$k\":[^,}]*" <<<"$sc" | sed 's/.*:[[:space:]]*//')
    b=$(sed -n '/"itc_only"/,$p' "$T/ret2.json" | grep -o "\"$k\":[^,}]*" | head -1 | sed 's/.*:[[:space:]]*//')
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }' \
        || fail "retrieval itc_only $k: eval $b, score of the saved similarities $a"
done
grep -q 'ITC similarity alone' <<<"$table" || fail "retrieval table: no ITC-only table: $table"
# the v1 protocol needs an opt-v1 model
if "$TAICHU" eval retrieval --model "$M" --data "$X/flickr30k_test_zh_token.json" --protocol v1 2>"$T/err"; then
    fail "v1 protocol on an opt-v2 model accepted"
fi
grep -q "opt-v1" "$T/err" || fail "v1 protocol error: $(cat "$T/err")"
echo "retrieval: ok"

# ---- caption: predictions in eval_caption.py's format, scored exactly as taichu score does
"$TAICHU" eval caption --model "$M" --data "$X/json_coco_test_zh_token_for_cap.json" \
    --gt "$X/json_coco_trans_captions.json" --limit 6 --max-len 6 --beam 2 --out "$T/cap.json" >/dev/null 2>&1 \
    || fail "eval caption"
grep -q '"image_id":[[:space:]]*"[0-9]\{6\}"' "$T/cap.json" || fail "caption predictions: $(head -c 300 "$T/cap.json")"
[ "$(grep -c '"caption"' "$T/cap.json")" = 6 ] || fail "caption predictions: expected 6"
score=$("$TAICHU" score caption --pred "$T/cap.json" --gt "$X/json_coco_trans_captions.json" --json)
for k in Bleu_1 Bleu_4 METEOR ROUGE_L CIDEr; do
    a=$(grep -o "\"$k\": *[-0-9.e+]*" <<<"$score" | sed 's/.*: *//')
    b=$(grep -o "\"$k\": *[-0-9.e+]*" "$T/cap_metric.json" | sed 's/.*: *//')
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "caption $k: eval $b, score $a"
done
echo "caption: ok"

# ---- vqa: GT from the data file's answers (beside the predictions) or FM-IQA.json
"$TAICHU" eval vqa --model "$M" --data "$X/FM-IQA_val_token_ids.json" --limit 5 --max-len 4 --beam 2 \
    --out "$T/vqa.json" --json >"$T/vqa_stdout" 2>/dev/null || fail "eval vqa"
grep -q '"accuracy"' "$T/vqa_stdout" || fail "vqa: no accuracy"
grep -q '"Answer"' "$T/vqa_gt.json" || fail "vqa: no GT written beside the predictions"
"$TAICHU" eval vqa --model "$M" --data "$X/FM-IQA_val_token_ids.json" --gt "$X/FM-IQA.json" --limit 5 \
    --max-len 4 --out "$T/vqa2.json" >/dev/null 2>&1 || fail "eval vqa --gt FM-IQA.json"
echo "vqa: ok"

# ---- errors name the file
if "$TAICHU" eval retrieval --model "$M" --data "$T/missing.json" 2>"$T/err"; then fail "missing data accepted"; fi
grep -q "missing.json" "$T/err" || fail "missing data: $(cat "$T/err")"
echo '[{"image": "synth/synth_000001.jpg", "caption": [[1, 2]]' >"$T/broken.json"
if "$TAICHU" eval retrieval --model "$M" --data "$T/broken.json" 2>"$T/err"; then fail "broken JSON accepted"; fi
grep -q "broken.json" "$T/err" || fail "broken JSON: $(cat "$T/err")"
echo '[]' >"$T/empty.json"
if "$TAICHU" eval retrieval --model "$M" --data "$T/empty.json" 2>"$T/err"; then fail "empty data accepted"; fi
grep -q "empty.json: no images" "$T/err" || fail "empty data: $(cat "$T/err")"
echo '[{"image": "nope/x.jpg", "caption": [[1, 2]]}]' >"$T/noimg.json"
if "$TAICHU" eval retrieval --model "$M" --data "$T/noimg.json" --images "$T/d/image" 2>"$T/err"; then
    fail "missing image accepted"
fi
grep -q "x.jpg" "$T/err" || fail "missing image: $(cat "$T/err")"
if "$TAICHU" eval caption --model "$M" --data "$X/json_coco_test_zh_token_for_cap.json" 2>"$T/err"; then
    fail "caption without --gt accepted"
fi
grep -q -- "--gt" "$T/err" || fail "caption without --gt: $(cat "$T/err")"
if "$TAICHU" eval caption --model "$M" --data "$X/json_coco_test_zh_token_for_cap.json" --gt "$T/nogt.json" \
    --limit 1 --max-len 2 --out "$T/c1.json" 2>"$T/err" >/dev/null; then
    fail "missing GT accepted"
fi
grep -q "nogt.json" "$T/err" || fail "missing GT: $(cat "$T/err")"
echo "errors: ok"

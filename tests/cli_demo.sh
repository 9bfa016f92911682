#!/bin/bash
# taichu demo --quick end to end: every stage runs (as a printed, rerunnable child command), the results
# files hold real numbers from the eval stages, commands.sh reproduces a stage, the report opens offline
# in headless Chromium (tests/report/check_report.sh; skipped without chromium), and the demo refuses to
# touch a folder it did not make. ~1 minute on 2 cores; TAICHU_SLOW_TESTS=0 skips it (the sanitizer pass).
set -euo pipefail
if [ "${TAICHU_SLOW_TESTS:-1}" = "0" ]; then
    echo "SKIP: TAICHU_SLOW_TESTS=0 (the end-to-end demo runs in the Release pass)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "cli_demo: FAIL: $*" >&2; exit 1; }
# the first "key": number of a JSON file (the top level's, printed before nested objects such as itc_only)
jnum() { tr -d '\n' < "$1" | grep -o "\"$2\":[[:space:]]*[-0-9.eE+]*" | head -1 | sed 's/.*:[[:space:]]*//'; }
f2() { LC_ALL=C printf '%.2f' "$1"; }

# bad usage: clear message, status 2, nothing made
set +e
"$TAICHU" demo --images 5 --out "$tmp/x" > "$tmp/log" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "--images 5: exit $rc, expected 2"
grep -q -- "--images and --v1-images must be >= 30" "$tmp/log" || fail "--images 5 message: $(cat "$tmp/log")"
[ ! -e "$tmp/x" ] || fail "bad usage created the output folder"

# a non-empty folder the demo did not make is refused and left alone
mkdir -p "$tmp/mine/data"; echo keep > "$tmp/mine/data/precious.txt"
set +e
"$TAICHU" demo --quick --out "$tmp/mine" > "$tmp/log" 2>&1; rc=$?
set -e
[ $rc -ne 0 ] || fail "demo ran in a foreign non-empty folder"
grep -q "not made by taichu demo" "$tmp/log" || fail "foreign folder message: $(cat "$tmp/log")"
[ "$(cat "$tmp/mine/data/precious.txt")" = keep ] || fail "the demo touched a foreign folder's files"

# the quick demo
cd "$tmp"
"$TAICHU" demo --quick --out d > "$tmp/demo.log" 2>&1 || { tail -40 "$tmp/demo.log"; fail "taichu demo --quick"; }
for f in report.html results.md commands.sh .taichu-demo data/text/flickr30k_test_zh_token.json \
         pretrain_v2.json pretrain_v1/log.jsonl data_v1/text/synth_val_zh_token.json \
         pretrain/model/model.safetensors pretrain/log.jsonl pretrain/curves.svg eval/retrieval_zeroshot.json \
         eval/search_images.npy eval/search_texts.npy; do
    [ -s "d/$f" ] || fail "missing d/$f"
done
# every stage printed its command line (the binary's real path, then the subcommand)
for sub in synth pretrain "eval retrieval" embed; do
    grep -q "^\$ .*taichu $sub " "$tmp/demo.log" || fail "no printed command for '$sub'"
done
# every stage either ran or was honestly skipped; none failed
grep -q "| FAILED" d/results.md && fail "a stage failed: $(grep FAILED d/results.md)"
grep -q "| 3 | pre-train opt-v2-tiny at three levels (MLM; TD; ITC + ITM) | ok |" d/results.md || fail "pretrain stage row"
grep -q "| 4 | pre-train opt-v1-tiny.* at three levels.* | ok |" d/results.md || fail "v1 pretrain stage row"
[ -s d/pretrain_v1/model/model.safetensors ] || fail "no tri-modal opt-v1 model"
# the three levels: each holds a task of each model, and every row's numbers come from the runs' logs
for lv in token modality sample; do
    grep -q "^| opt-v2-tiny | $lv | " d/results.md || fail "no opt-v2-tiny $lv-level task in results.md"
    grep -q "^| opt-v1-tiny | $lv | " d/results.md || fail "no opt-v1-tiny $lv-level task in results.md"
done
for t in mlm td itc itm; do
    grep -q "^| opt-v2-tiny | [a-z]* | $t | 30 | " d/results.md || fail "v2 task $t missing or not trained every step"
    grep -q "\"$t\":" d/pretrain/log.jsonl || fail "v2 log lacks $t"
done
# the first mlm loss shown is the log's first mlm value (one step of 30: the first tenth is 3 steps)
m1=$(grep -o '"losses":{[^}]*}' d/pretrain/log.jsonl | head -3 | sed -n 's/.*"mlm":\([-0-9.eE+]*\).*/\1/p' |
     awk '{ s += $1 } END { printf "%.4f", s / NR }')
grep -q "^| opt-v2-tiny | token | mlm | 30 | $m1 | " d/results.md || fail "mlm first-loss cell is not the log's mean ($m1)"
grep -q "<td>opt-v1-tiny</td><td>modality</td>" d/report.html || fail "report.html lacks the three-level table"
# the retrieval rows hold the eval stage's numbers (not placeholders): the v2 protocol's, then its itc_only
# ranking; plain shell, CI has no python
rj=d/eval/retrieval_zeroshot.json
itc=$(tr -d '\n' < $rj | sed -n 's/.*"itc_only":[[:space:]]*{\([^}]*\)}.*/{\1}/p')
[ -n "$itc" ] || fail "$rj has no itc_only recalls"
echo "$itc" > d/itc_only.json
for src in "ITC + ITM re-ranking (v2 protocol):$rj" "ITC similarity alone:d/itc_only.json"; do
    row="| ${src%%:*} |"
    for k in img_r1 img_r5 img_r10 txt_r1 txt_r5 txt_r10 r_mean; do
        v=$(jnum "${src#*:}" $k); [ -n "$v" ] || fail "${src#*:} has no $k"
        row="$row $(f2 "$v") |"
    done
    grep -qF -- "$row" d/results.md || fail "results.md lacks the eval's row $row"
done
grep -qF "<tr><td>ITC similarity alone</td><td>$(f2 "$(jnum d/itc_only.json img_r1)")</td>" d/report.html ||
    fail "report.html lacks the ITC-only row"
[ "$(jnum $rj images)" = 30 ] && [ "$(jnum $rj texts)" = 150 ] || fail "--quick: expected 30 test images x 150 texts"
awk -v a="$(jnum $rj img_r1)" -v b="$(jnum $rj img_r5)" -v c="$(jnum $rj img_r10)" \
    'BEGIN { exit !(0 <= a && a <= b && b <= c && c <= 100) }' || fail "recalls out of order: $row"
grep -qF "<td>$(f2 "$(jnum $rj img_r1)")</td>" d/report.html || fail "report.html lacks IR@1"
[ "$(grep -o 'data:image/jpeg;base64,' d/report.html | wc -l)" -ge 13 ] || fail "report: fewer than 8 + 5 embedded images"
for m in caption:CIDEr:100 vqa:accuracy:1; do
    IFS=: read -r task key scale <<< "$m"
    mf=d/eval/${task}_pred_metric.json
    if [ ! -s "$mf" ]; then   # fine-tuning not in this build: the demo must say so, not show numbers
        grep -q "SKIPPED" d/results.md || fail "no $mf and no SKIPPED stage"
        continue
    fi
    v=$(jnum "$mf" "$key"); [ -n "$v" ] || fail "$mf has no $key"
    grep -qF "$(f2 "$(awk -v v="$v" -v s="$scale" 'BEGIN { printf "%.10f", v * s }')")" d/results.md ||
        fail "results.md lacks $task $key"
done
# commands.sh reproduces a stage: rerun the text-embedding command, same matrix
cp d/eval/search_texts.npy "$tmp/texts_demo.npy"
cmd=$(awk '/^# embed the text queries$/ {getline; print; exit}' d/commands.sh)
[ -n "$cmd" ] || fail "commands.sh has no text-embedding command"
eval "$cmd" > /dev/null
cmp -s d/eval/search_texts.npy "$tmp/texts_demo.npy" || fail "rerunning commands.sh's embed gave a different matrix"
# a second run into the same folder starts clean (the marker allows it) and succeeds
"$TAICHU" demo --quick --out d --pretrain-steps 4 --finetune-steps 2 > "$tmp/demo2.log" 2>&1 || {
    tail -20 "$tmp/demo2.log"; fail "second demo run into its own folder"; }
grep -q '"step":4,' d/pretrain/log.jsonl || fail "second run did not start a fresh pre-training"
grep -q '"step":30,' d/pretrain/log.jsonl && fail "the first run's log survived"
# the report in a real browser
bash "$TAICHU_SOURCE_DIR/tests/report/check_report.sh" d/report.html 13
echo "cli_demo: OK"

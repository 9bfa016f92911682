#!/usr/bin/env bash
# taichu tokenize: ids / pieces per text, stdin lines, --special/--max-pieces, --decode, and errors.
set -u
V="$TAICHU_SOURCE_DIR/tests/data/tokenizer/vocab.txt"
pass=0 fail=0
check() { # name, got, want
    if [ "$2" == "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s:\n  got:  %s\n  want: %s\n' "$1" "$2" "$3"; fi
}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# ids match the HF golden (tests/data/tokenizer/golden.json, case "chinese", without [CLS]/[SEP])
check ids "$("$TAICHU" tokenize --vocab "$V" '今天天气很好，我们去公园散步吧。')" \
    "376 1100 1100 2338 1534 1133 193 1724 395 784 580 983 1943 2293 840 194"
check tokens "$("$TAICHU" tokenize --vocab "$V" --tokens 'Café，iPhone12 [MASK]😀')" "cafe ， iphone ##1 ##2 [MASK] 😀"
check two_args "$("$TAICHU" tokenize --vocab "$V" --tokens 好 天 | wc -l)" "2"
check stdin "$(printf '今天\n\nHello World\n' | "$TAICHU" tokenize --vocab "$V" --tokens)" "$(printf '今 天\n\nhello world')"
check env_vocab "$(TAICHU_VOCAB="$V" "$TAICHU" tokenize --tokens 天)" "天"
check special "$("$TAICHU" tokenize --vocab "$V" --special --max-pieces 2 天天天)" "101 1100 1100 102"
check special_tokens "$("$TAICHU" tokenize --vocab "$V" --special --tokens '')" "[CLS] [SEP]"
# invalid UTF-8 is dropped (decoded as U+FFFD, which BERT's clean-up removes), never a crash
check invalid_utf8 "$(printf 'ab\xffcd \xe4\xb8\n' | "$TAICHU" tokenize --vocab "$V" --tokens)" "abc ##d"  # "abcd" one word: the invalid byte does not split it
# flavours: Python BertTokenizer (default) drops unassigned code points, HF tokenizers keeps them
check flavour_python "$("$TAICHU" tokenize --vocab "$V" --tokens $'\u4e2d\u0378\u6587')" "中 文"
check flavour_hf "$("$TAICHU" tokenize --vocab "$V" --tokens --hf $'\u4e2d\u0378\u6587')" "中 [UNK] 文"
# ids back to text by the original's rule: stop at the first 0, join with ""
check decode "$(echo '101 376 1100 102 0 376' | "$TAICHU" tokenize --vocab "$V" --decode)" "[CLS]今天[SEP]"
check roundtrip "$("$TAICHU" tokenize --vocab "$V" '今天天气很好。' | "$TAICHU" tokenize --vocab "$V" --decode)" "今天天气很好。"
printf '{"0": "[PAD]", "376": "今", "1100": "天"}' > "$T/ids_to_tokens_zh.json"
check decode_json "$(echo '376 1100 0' | "$TAICHU" tokenize --decode --ids-to-tokens "$T/ids_to_tokens_zh.json")" "今天"

# errors: exit status and a message naming the file
out=$("$TAICHU" tokenize --vocab "$T/missing.txt" x 2>&1); rc=$?
check missing_vocab_rc "$rc" "1"
case "$out" in *"$T/missing.txt"*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)); echo "FAIL missing_vocab message: $out" ;; esac
printf '[PAD]\n[CLS]\n[SEP]\n' > "$T/nounk.txt"
out=$("$TAICHU" tokenize --vocab "$T/nounk.txt" x 2>&1); rc=$?
check nounk_rc "$rc" "1"
case "$out" in *"nounk.txt"*"[UNK]"*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)); echo "FAIL nounk message: $out" ;; esac
printf '{"1": 2}' > "$T/bad.json"
out=$(echo 1 | "$TAICHU" tokenize --decode --ids-to-tokens "$T/bad.json" 2>&1); rc=$?
check bad_json_rc "$rc" "1"
case "$out" in *"bad.json"*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)); echo "FAIL bad_json message: $out" ;; esac
out=$(echo '1 x' | "$TAICHU" tokenize --vocab "$V" --decode 2>&1); rc=$?
check bad_ids_rc "$rc" "1"
"$TAICHU" tokenize x >/dev/null 2>&1; check no_vocab_rc "$?" "2"

echo "cli_tokenize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

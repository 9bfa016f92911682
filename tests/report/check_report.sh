#!/usr/bin/env bash
# Open a `taichu demo` report.html in headless Chromium and check that it works offline:
#   - it loads and the DOM can be dumped;
#   - the browser logs nothing to the console (the report has no scripts; catches JS errors and failed loads);
#   - every <img> decoded (complete && naturalWidth > 0), there is at least MIN_IMAGES of them;
#   - nothing refers outside the file (no http(s)/file src or href: images are data: URIs).
# The check script is appended to a COPY of the report, so the report itself carries no test code.
# usage: check_report.sh REPORT.html [MIN_IMAGES]
# exit 0 and "SKIP: ..." when no chromium is installed (CI installs it: scripts/install-deps.sh).
set -u
report=$1
min_images=${2:-1}
browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "SKIP: no chromium in PATH (apt-get install chromium); report not checked in a browser"
    exit 0
fi
[ -s "$report" ] || { echo "FAIL: $report missing or empty"; exit 1; }

# 1. self-contained: every src/href is a data: URI or an in-page anchor
ext=$(grep -Eo '(src|href)="[^"]*"' "$report" | grep -Ev '^(src|href)="(data:|#)' | head -5)
if [ -n "$ext" ]; then echo "FAIL: external references in $report:"; echo "$ext"; exit 1; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$report" "$tmp/page.html"
cat >>"$tmp/page.html" <<'JS'
<script>
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; else bad.push(i);
  }
  var p = document.createElement('pre');
  p.id = 'tc-check';
  p.textContent = 'TCCHECK images=' + imgs.length + ' ok=' + ok + ' bad=[' + bad.join(',') + '] tables=' +
                  document.querySelectorAll('table').length + ' END';
  document.body.appendChild(p);
});
</script>
JS
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
    --dump-dom "file://$tmp/page.html" >"$tmp/dom.html" 2>"$tmp/stderr.txt"
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: $browser exited with $rc"; tail -20 "$tmp/stderr.txt"; exit 1
fi
line=$(grep -o 'TCCHECK[^<]*END' "$tmp/dom.html" | head -1)
if [ -z "$line" ]; then
    echo "FAIL: the page did not finish loading (no check line in the dumped DOM)"; tail -20 "$tmp/stderr.txt"; exit 1
fi
echo "chromium: $line"
# console messages: Chromium logs them as ':CONSOLE(line)] "text", source: ...' (errors also as
# 'Uncaught ...'); resource failures as 'Failed to load resource' / 'net::ERR_'
errs=$(grep -E 'CONSOLE|Uncaught|Failed to load resource|net::ERR_' "$tmp/stderr.txt" | head -10)
if [ -n "$errs" ]; then echo "FAIL: console errors:"; echo "$errs"; exit 1; fi
n=$(echo "$line" | sed -E 's/.*images=([0-9]+) .*/\1/')
ok=$(echo "$line" | sed -E 's/.* ok=([0-9]+) .*/\1/')
if [ "$n" != "$ok" ]; then echo "FAIL: $((n - ok)) of $n images did not render"; exit 1; fi
if [ "$n" -lt "$min_images" ]; then echo "FAIL: $n images, expected at least $min_images"; exit 1; fi
echo "PASS: $report loads offline in $browser, $n images render, no console errors"

#!/usr/bin/env bash
# Renders a `depthscale reproduce` report in headless Chromium and checks it renders: a PNG
# screenshot and a PDF are produced, the page has a non-zero height, every figure decoded (no
# broken image) and nothing is wider than the page. The checks run in a copy of the report with
# a small inline script added (the report itself has no script); Chromium writes the result
# into the DOM, read back with --dump-dom. Exits 0 with a note when Chromium is not installed.
#
#   tests/browser.sh                 # builds the release binary, reproduces fig6,sde,fig7 --quick
#   tests/browser.sh DIR/report.html # checks an existing report
#   KEEP=DIR tests/browser.sh        # also keeps report.png and report.pdf in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$CHROME" ]]; then
    echo "browser.sh: no chromium installed, skipped"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $# -ge 1 ]]; then
    report=$1
else
    cargo build --release --locked -p depthscale-cli
    target/release/depthscale reproduce --quick --only fig6,sde,fig7 --out "$work/rep" >/dev/null
    report="$work/rep/report.html"
fi
[[ -s "$report" ]] || { echo "browser.sh: $report missing or empty" >&2; exit 1; }

chrome() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d -p "$work")" --window-size=1000,1400 "$@" 2>/dev/null
}

# 1. PNG and PDF
chrome --screenshot="$work/report.png" "file://$(realpath "$report")" >/dev/null
chrome --print-to-pdf="$work/report.pdf" --no-pdf-header-footer "file://$(realpath "$report")" >/dev/null
[[ -s "$work/report.png" ]] || { echo "browser.sh: no screenshot" >&2; exit 1; }
head -c 5 "$work/report.pdf" | grep -q '%PDF-' || { echo "browser.sh: no PDF" >&2; exit 1; }
pages=$(grep -ac '/Type /Page$\|/Type /Page[^s]' "$work/report.pdf" || true)
echo "browser.sh: screenshot $(stat -c %s "$work/report.png") bytes, PDF $(stat -c %s "$work/report.pdf") bytes, ${pages:-?} pages"

# 2. in-page checks: height, decoded images, horizontal overflow
probe='<script>
window.addEventListener("load", function () {
  var imgs = Array.from(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  var de = document.documentElement;
  var wide = Array.from(document.querySelectorAll("body *")).filter(function (e) {
    return e.getBoundingClientRect().right > de.clientWidth + 1; }).length;
  document.body.setAttribute("data-check", "images=" + imgs.length + " broken=" + broken +
    " height=" + de.scrollHeight + " overflow=" + (de.scrollWidth - de.clientWidth) + " wide=" + wide);
});
</script>'
sed "s#</body>#${probe//$'\n'/ }</body>#" "$report" > "$work/probe.html"
result=$(chrome --virtual-time-budget=10000 --dump-dom "file://$work/probe.html" |
    grep -o 'data-check="[^"]*"' || true)
echo "browser.sh: $result"
[[ -n "$result" ]] || { echo "browser.sh: the page did not load" >&2; exit 1; }
[[ "$result" =~ images=([0-9]+)\ broken=([0-9]+)\ height=([0-9]+)\ overflow=(-?[0-9]+)\ wide=([0-9]+) ]] ||
    { echo "browser.sh: unreadable result" >&2; exit 1; }
images=${BASH_REMATCH[1]} broken=${BASH_REMATCH[2]} height=${BASH_REMATCH[3]}
overflow=${BASH_REMATCH[4]} wide=${BASH_REMATCH[5]}
fail=0
(( images > 0 )) || { echo "browser.sh: no figure in the report" >&2; fail=1; }
(( broken == 0 )) || { echo "browser.sh: $broken figures did not decode" >&2; fail=1; }
(( height > 0 )) || { echo "browser.sh: zero page height" >&2; fail=1; }
(( overflow <= 0 && wide == 0 )) || { echo "browser.sh: $wide elements wider than the page" >&2; fail=1; }
if [[ -n "${KEEP:-}" ]]; then
    mkdir -p "$KEEP" && cp "$work/report.png" "$work/report.pdf" "$KEEP/"
fi
exit $fail

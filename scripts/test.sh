#!/usr/bin/env bash
# Set up everything the tests need and run them: the README's test command, and what CI runs.
#   bash scripts/test.sh            full suite (installs LibreOffice and Chromium when root)
#   bash scripts/test.sh -k forecast   extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# System programs for end-to-end tests: LibreOffice recalculates workbooks, Chromium drives the apps.
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "== warning: ${need[*]} missing and cannot be installed here: their tests will be skipped"
  fi
fi

echo "== python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,xlsx,report,excel,apps,apps-test]"

run_pytest() {  # pytest exits 5 when it collects no tests: say so instead of failing obscurely
  set +e
  "$@"
  local rc=$?
  set -e
  if [ $rc -eq 5 ]; then echo "== no tests were collected"; return 1; fi
  return $rc
}

echo "== ruff"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks

echo "== tests"
run_pytest .venv/bin/python -m pytest "$@"

if [ $# -eq 0 ]; then
  echo "== core tests against the lowest supported pandas/numpy (.venv-min)"
  [ -x .venv-min/bin/python ] || "$PY" -m venv .venv-min
  .venv-min/bin/python -m pip install -q --upgrade pip
  .venv-min/bin/python -m pip install -q -r requirements-min.txt
  .venv-min/bin/python -m pip install -q --no-deps -e .
  PIPESHEET_CORE_ONLY=1 run_pytest .venv-min/bin/python -m pytest -q -p no:cacheprovider
fi

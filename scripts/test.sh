#!/usr/bin/env bash
# Set up everything the tests need and run them: the README's test command, and what CI runs.
#   bash scripts/test.sh            full suite (installs LibreOffice and Chromium when root)
#   bash scripts/test.sh -k forecast   extra arguments go to pytest
#
# Every step runs and reports even when an earlier one failed (the core tests on the lowest
# supported pandas/numpy too); the script then exits non-zero and names the failed steps.
# No step measures time: timings are in benchmarks/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
failed=()

step() {  # step NAME COMMAND…: run, report, remember a failure, go on
  local name=$1 rc
  shift
  echo "== $name"
  "$@"
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "== $name: passed"
  else
    echo "== $name: FAILED (exit status $rc)"
    failed+=("$name")
  fi
  return 0
}

run_pytest() {  # pytest exits 5 when it collects no tests: say so instead of failing obscurely
  "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "== no tests were collected"; return 1; fi
  return $rc
}

system_programs() {  # LibreOffice recalculates workbooks, Chromium drives the apps, Java runs Spark
  local need=()
  command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)  # the local-mode Spark test
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]}"
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and cannot be installed here: their tests will be skipped"
  fi
}

main_env() {
  { [ -x .venv/bin/python ] || "$PY" -m venv .venv; } &&
    .venv/bin/python -m pip install -q --upgrade pip &&
    .venv/bin/python -m pip install -q -e ".[dev,xlsx,report,excel,apps,apps-test,duckdb,scale-test]"
}

min_env() {
  { [ -x .venv-min/bin/python ] || "$PY" -m venv .venv-min; } &&
    .venv-min/bin/python -m pip install -q --upgrade pip &&
    .venv-min/bin/python -m pip install -q -r requirements-min.txt &&
    .venv-min/bin/python -m pip install -q --no-deps -e .
}

core_tests_min() {
  PIPESHEET_CORE_ONLY=1 run_pytest .venv-min/bin/python -m pytest -q -p no:cacheprovider
}

step "system programs for end-to-end tests" system_programs
step "python environment (.venv)" main_env
if [ -x .venv/bin/ruff ]; then
  step "ruff check" .venv/bin/ruff check src tests benchmarks
  step "ruff format" .venv/bin/ruff format --check src tests benchmarks
fi
if [ -x .venv/bin/lint-imports ]; then  # the import contracts of pyproject.toml
  step "import contracts" .venv/bin/lint-imports --no-logo
fi
if [ -x .venv/bin/python ]; then
  step "tests" run_pytest .venv/bin/python -m pytest "$@"
fi

if [ $# -eq 0 ]; then
  step "environment with the lowest supported pandas/numpy (.venv-min)" min_env
  if [ -x .venv-min/bin/python ]; then
    step "core tests against the lowest supported pandas/numpy" core_tests_min
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]}"
  exit 1
fi
echo "== all steps passed"

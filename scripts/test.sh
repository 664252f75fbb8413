#!/usr/bin/env bash
# The whole test suite: unit, property and CLI tests, then every fuzz target for a fixed
# budget (FUZZ_SECONDS per target, default 10), then the main job as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets 2>&1 | tee "$log"
cargo test --workspace --doc 2>&1 | tee -a "$log"

scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

# Smoke: the README's main job runs and finds the insecure examples (exit 1).
rc=0
scripts/run.sh --format json -o target/examples-audit.json || rc=$?
[ "$rc" -eq 1 ] || { echo "main job: expected exit 1 on the insecure examples, got $rc"; exit 1; }
python3 -c "import json; d=json.load(open('target/examples-audit.json')); assert d['summary']['findings']['fail'] > 0 and d['summary']['errors'] == 0"

passed=$(awk '/^test result:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^passed/) s += $i} END {print s + 0}' "$log")
failed=$(awk '/^test result:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^failed/) s += $i} END {print s + 0}' "$log")
echo "tests: ${passed} passed, ${failed} failed"

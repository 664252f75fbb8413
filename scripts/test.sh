#!/usr/bin/env bash
# The whole test suite: unit, property and CLI tests (the store's on SQLite and on a
# throwaway PostgreSQL), the TUF conformance suite against hookswitch-agent (113 of 113),
# every fuzz target for a fixed budget (FUZZ_SECONDS per target, default 10), the
# end-to-end release script, then the main job twice as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

log=$(mktemp)
# The store tests run on SQLite and on a throwaway PostgreSQL cluster, stopped on exit.
source scripts/postgres.sh
trap 'postgres_stop; rm -f "$log"' EXIT
postgres_start
cargo test --workspace --all-targets 2>&1 | tee "$log"
cargo test --workspace --doc 2>&1 | tee -a "$log"

# Every conformance test must pass (pytest exits non-zero otherwise).
scripts/conformance.sh 2>&1 | tee -a "$log"

scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

# The README's end-to-end release (keys, ceremony, signer, publish, enrollment, a phone).
scripts/demo-release.sh target/demo-release >target/demo-release.log 2>&1 \
    || { tail -40 target/demo-release.log; echo "demo-release failed"; exit 1; }
grep -q "^demo-release: the phone verified" target/demo-release.log
echo "demo-release: ok (log in target/demo-release.log)"

# Smoke: the README's main job finds the insecure examples (exit 1), and a second run with
# the same -o behaves like the first.
for run in 1 2; do
    rc=0
    scripts/run.sh --format json -o target/examples-audit.json || rc=$?
    [ "$rc" -eq 1 ] || { echo "main job (run $run): expected exit 1 on the insecure examples, got $rc"; exit 1; }
    python3 -c "import json; d=json.load(open('target/examples-audit.json')); assert d['summary']['findings']['fail'] > 0 and d['summary']['errors'] == 0"
done

# cargo's "test result:" lines and pytest's closing "N passed[, N failed] in Ts" line.
count() {
    awk -v word="$1" '/^test result:/ || /^[0-9]+ (passed|failed).* in [0-9.]+s/ {
        for (i = 1; i < NF; i++) if ($(i+1) ~ "^" word) s += $i } END {print s + 0}' "$log"
}
passed=$(count passed)
failed=$(count failed)
echo "tests: ${passed} passed, ${failed} failed"

#!/usr/bin/env bash
# The main job on the embedded defaults: build hookswitch and audit the bundled vendor
# configurations (or the paths given). Any `hookswitch audit` option may be given.
# Exit 0: nothing fails at --fail-on (default high); 1: failing findings (the bundled
# examples are insecure on purpose, so 1 is the expected result for them); 2: usage or IO error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if [ ! -x target/debug/hookswitch ]; then
    echo "run: first build of hookswitch and its dependencies (a few minutes on 2 cores)" >&2
fi
# The test suite's build profile: one build serves both (benchmarks build --release).
cargo build --bin hookswitch
# Paths are the arguments that are neither options nor an option's value; with none, the
# bundled examples are audited.
have_path=0
expect_value=0
for a in "$@"; do
    if [ "$expect_value" -eq 1 ]; then expect_value=0; continue; fi
    case "$a" in
        -o|--output|--format|--fail-on|--profile|--model) expect_value=1 ;;
        -*) ;;
        *) have_path=1 ;;
    esac
done
[ "$have_path" -eq 1 ] || set -- "$@" examples/configs
exec target/debug/hookswitch audit "$@"

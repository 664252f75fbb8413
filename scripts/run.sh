#!/usr/bin/env bash
# The main job on the embedded defaults: build hookswitch and audit the bundled vendor
# configurations (or the paths given). Exit 0: nothing fails at --fail-on (default high);
# 1: failing findings; 2: usage or IO error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet --bin hookswitch
# No file or directory among the arguments: audit the bundled examples.
have_path=0
for a in "$@"; do [ -e "$a" ] && have_path=1; done
[ "$have_path" -eq 1 ] || set -- "$@" examples/configs
exec target/release/hookswitch audit "$@"

#!/usr/bin/env bash
# The main job on the embedded defaults: build hookswitch and audit the bundled vendor
# configurations (or the paths given). Exit 0: nothing fails at --fail-on (default high);
# 1: failing findings; 2: usage or IO error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet --bin hookswitch
if [ "$#" -eq 0 ]; then
    set -- examples/configs
fi
exec target/release/hookswitch audit "$@"

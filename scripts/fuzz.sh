#!/usr/bin/env bash
# Run every cargo-fuzz target for a fixed time budget (seconds per target, default 15).
# Fails on the first crash and leaves the input under fuzz/artifacts/<target>/.
# The stable toolchain runs cargo-fuzz's sanitizer flags with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
budget="${1:-15}"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cargo fuzz build -O
for target in $(cargo fuzz list); do
    corpus="target/corpus/$target"
    mkdir -p "$corpus"
    log="target/fuzz-$target.log"
    rc=0
    # The first directory collects new inputs; seeds and the example configs only feed it.
    extra=()
    [ -d "seeds/$target" ] && extra+=("seeds/$target")
    case "$target" in
        stig_xccdf|tuf_metadata|probe_wire|enrollment|ceremony_request|tftp_packet|inventory_csv) ;;
        *) extra+=(../examples/configs/*/) ;;
    esac
    cargo fuzz run -O "$target" "$corpus" "${extra[@]}" -- \
        -max_total_time="$budget" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    echo "fuzz: $target: ${runs} runs in ${budget}s, exit $rc"
    if [ "$rc" -ne 0 ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20
        exit 1
    fi
done

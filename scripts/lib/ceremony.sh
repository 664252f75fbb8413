# The signing ceremony on one machine, for the demo and the benchmarks (sourced, not run):
# role keys, the init request, offline signatures and the online signer. Expects `hs` (the
# hookswitch binary) and `dir` (with `offline/` and `online/`); a real deployment keeps the
# offline keys on an air-gapped host.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Background processes started here are stopped on exit.
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# Every role's key: offline roles in $dir/offline, online ones (for the signer) in $dir/online.
ceremony_keys() {
    for name in root1 root2 root3 targets firmware apps config; do
        "$hs" keys generate --role "${name%[0-9]}" --out "$dir/offline/$name.key"
    done
    for role in snapshot timestamp bins; do
        "$hs" keys generate --role "$role" --out "$dir/online/$role.key"
    done
}

# The init request for REPO sized for DEVICES: root 2 of 3 and every role's key. What it
# says (the root fingerprint among it) is in $dir/init.log; sets `fingerprint`.
ceremony_init() {
    "$hs" repo init --repo "$1" \
        --root-key "$dir/offline/root1.key" --root-key "$dir/offline/root2.key" \
        --root-key "$dir/offline/root3.key" --targets-key "$dir/offline/targets.key" \
        --firmware-key "$dir/offline/firmware.key" --apps-key "$dir/offline/apps.key" \
        --config-key "$dir/offline/config.key" --bins-key "$dir/online/bins.key" \
        --snapshot-key "$dir/online/snapshot.key" --timestamp-key "$dir/online/timestamp.key" \
        --devices "$2" -o "$dir/init.json" 2>"$dir/init.log"
    fingerprint="$(sed -n 's/^root v1 fingerprint.*: //p' "$dir/init.log")"
}

# Offline signatures on the init request (two of the three root keys suffice).
ceremony_sign() {
    "$hs" repo sign --request "$dir/init.json" --key "$dir/offline/root1.key" \
        --key "$dir/offline/root2.key" --key "$dir/offline/targets.key" \
        --key "$dir/offline/firmware.key" --key "$dir/offline/apps.key" --key "$dir/offline/config.key"
}

# The online signer on a free loopback port, in the background; sets `signer` (its URL).
start_signer() {
    "$hs" signer --key-dir "$dir/online" --listen 127.0.0.1:0 2>"$dir/signer.log" &
    pids+=($!)
    for _ in $(seq 100); do grep -q "127.0.0.1:" "$dir/signer.log" 2>/dev/null && break; sleep 0.1; done
    signer="http://$(grep -o '127\.0\.0\.1:[0-9]*' "$dir/signer.log" | head -1)"
}

#!/usr/bin/env bash
# A signed release end to end, on this machine and on loopback only: role keys, the offline
# ceremony (init request, offline signatures, the root fingerprint), the online signer,
# publication, a hardened configuration for one phone, enrollment, and a phone (the
# reference agent) that downloads and verifies its configuration over HTTP.
# Usage: scripts/demo-release.sh [DIR]   (default target/demo-release; DIR is replaced)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# The same build profile as the test suite.
cargo build --bin hookswitch --bin hookswitch-agent
hs="$(pwd)/target/debug/hookswitch"
agent="$(pwd)/target/debug/hookswitch-agent"
dir="${1:-target/demo-release}"
rm -rf "$dir"
mkdir -p "$dir/offline" "$dir/online"
dir="$(cd "$dir" && pwd)"
repo="$dir/repo"
step() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# Demo secrets: a real deployment types the passphrase at a prompt on the air-gapped host.
export HOOKSWITCH_KEY_PASSPHRASE="demo passphrase: never use it for real keys"
HOOKSWITCH_SIGNER_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export HOOKSWITCH_SIGNER_TOKEN

step "1. Keys: offline roles on the air-gapped host, online roles for the signer"
for name in root1 root2 root3 targets firmware apps config; do
    "$hs" keys generate --role "${name%[0-9]}" --out "$dir/offline/$name.key"
done
for role in snapshot timestamp bins; do
    "$hs" keys generate --role "$role" --out "$dir/online/$role.key"
done

step "2. The init request (air-gapped host): root 2 of 3, every role's keys, config bins for 100 phones"
"$hs" repo init --repo "$repo" \
    --root-key "$dir/offline/root1.key" --root-key "$dir/offline/root2.key" \
    --root-key "$dir/offline/root3.key" --targets-key "$dir/offline/targets.key" \
    --firmware-key "$dir/offline/firmware.key" --apps-key "$dir/offline/apps.key" \
    --config-key "$dir/offline/config.key" --bins-key "$dir/online/bins.key" \
    --snapshot-key "$dir/online/snapshot.key" --timestamp-key "$dir/online/timestamp.key" \
    --devices 100 -o "$dir/init.json" 2>&1 | tee "$dir/init.log"
# The administrator writes this down and types it on the online host.
fingerprint="$(sed -n 's/^root v1 fingerprint.*: //p' "$dir/init.log")"

step "3. Offline signatures (two of the three root keys suffice)"
"$hs" repo sign --request "$dir/init.json" --key "$dir/offline/root1.key" \
    --key "$dir/offline/root2.key" --key "$dir/offline/targets.key" \
    --key "$dir/offline/firmware.key" --key "$dir/offline/apps.key" --key "$dir/offline/config.key"

step "4. The online signer (its own process; only snapshot, timestamp and bins keys)"
"$hs" signer --key-dir "$dir/online" --listen 127.0.0.1:0 2>"$dir/signer.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "127.0.0.1:" "$dir/signer.log" 2>/dev/null && break; sleep 0.1; done
signer="http://$(grep -o '127\.0\.0\.1:[0-9]*' "$dir/signer.log" | head -1)"
echo "signer at $signer"

step "5. First publication, pinned to the root fingerprint from step 2"
"$hs" repo publish --repo "$repo" --request "$dir/init.json" --signer "$signer" \
    --expect-root "$fingerprint"

step "6. A hardened configuration for phone 001565aabbcc (Yealink T54W)"
"$hs" harden --vendor yealink --model T54W -o "$dir/001565aabbcc.cfg" 2>"$dir/harden.log"
echo "$(grep -c '^added' "$dir/harden.log") settings written; what could not be expressed, and why: $dir/harden.log"

step "7. Release it: stage, then publish (a config change touches only its bin, which the online signer signs)"
"$hs" repo stage --repo "$repo" --device-config "001565aabbcc=$dir/001565aabbcc.cfg" \
    --hardware yealink/T54W -o "$dir/release.json"
"$hs" repo publish --repo "$repo" --request "$dir/release.json" --signer "$signer"

step "8. Enrollment: what is loaded onto the phone out of band"
"$hs" enroll --repo "$repo" --device-id 001565aabbcc -o "$dir/enroll.json"

step "9. The phone: trust the enrolled root, then download and verify its configuration"
port="$(free_port)"
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$repo" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done
"$agent" --metadata-dir "$dir/phone/metadata" init "$dir/enroll.json"
"$agent" --metadata-dir "$dir/phone/metadata" --metadata-url "http://127.0.0.1:$port/metadata" \
    --target-name config/001565aabbcc.cfg --target-base-url "http://127.0.0.1:$port/targets" \
    --target-dir "$dir/phone/targets" download
cmp "$dir/001565aabbcc.cfg" "$dir/phone/targets/config/001565aabbcc.cfg"
echo
echo "demo-release: the phone verified and stored its configuration: $dir/phone/targets/config/001565aabbcc.cfg"

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
source scripts/lib/ceremony.sh

# Demo secrets: a real deployment types the passphrase at a prompt on the air-gapped host.
export HOOKSWITCH_KEY_PASSPHRASE="demo passphrase: never use it for real keys"
HOOKSWITCH_SIGNER_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export HOOKSWITCH_SIGNER_TOKEN

step "1. Keys: offline roles on the air-gapped host, online roles for the signer"
ceremony_keys

step "2. The init request (air-gapped host): root 2 of 3, every role's keys, config bins for 100 phones"
ceremony_init "$repo" 100
# The administrator writes this fingerprint down and types it on the online host.
cat "$dir/init.log"

step "3. Offline signatures (two of the three root keys suffice)"
ceremony_sign

step "4. The online signer (its own process; only snapshot, timestamp and bins keys)"
start_signer
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

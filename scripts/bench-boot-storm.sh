#!/usr/bin/env bash
# Boot storm (issue 11, "Performance"): N devices (default 10,000), each on a fresh TLS
# connection with its own client certificate, each doing the full TUF refresh and its config
# fetch with verification (`hookswitch fleet-sim run`), against `hookswitch serve` and
# against nginx serving the same published tree: same TLS certificate, TLS 1.2/1.3,
# `ssl_verify_client on` with the same CA, same run, same load generator. Then h2load on the
# public timestamp.json against both.
#
# The servers run on CPU 0 (nginx: one worker), the generator on CPU 1 (taskset). Prints
# devices/s, p50/p99 per device, failures, server CPU seconds per 1,000 devices (utime+stime
# from /proc/PID/stat), RSS, and the ratios ours/nginx. Not part of scripts/test.sh.
#
# Usage: scripts/bench-boot-storm.sh [DIR]    (default target/bench-boot-storm; replaced)
# Environment: BENCH_DEVICES (10000), BENCH_CONCURRENCY (128), BENCH_H2LOAD_REQUESTS (50000),
#   BENCH_AUTH=ca|store: how our server names the device: by the certificate's CN under
#   --client-ca (the same chain check nginx does; default), or by its fingerprint in the store.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
devices="${BENCH_DEVICES:-10000}"
concurrency="${BENCH_CONCURRENCY:-128}"
h2_requests="${BENCH_H2LOAD_REQUESTS:-50000}"
auth="${BENCH_AUTH:-ca}"
case "$auth" in ca|store) ;; *) echo "BENCH_AUTH must be ca or store" >&2; exit 2;; esac
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (server on 0, generator on 1)" >&2; exit 2; }
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

cargo build --release -p hookswitch
hs="$(pwd)/target/release/hookswitch"
dir="${1:-target/bench-boot-storm}"
rm -rf "$dir"
mkdir -p "$dir/offline" "$dir/online"
dir="$(cd "$dir" && pwd)"
repo="$dir/repo"
database="sqlite://$dir/store.db"
step() { printf '\n== %s\n' "$*" >&2; }
source scripts/lib/ceremony.sh
export HOOKSWITCH_KEY_PASSPHRASE="benchmark passphrase: never use it for real keys"
HOOKSWITCH_SIGNER_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export HOOKSWITCH_SIGNER_TOKEN

step "repository for $devices devices (keys, init, offline signatures, online signer, publish)"
ceremony_keys
ceremony_init "$repo" "$devices"
ceremony_sign 2>/dev/null
start_signer
"$hs" repo publish --repo "$repo" --request "$dir/init.json" --signer "$signer" \
    --expect-root "$fingerprint" 2>/dev/null

step "fleet-sim setup: $devices identities, enrolled in $database"
"$hs" fleet-sim setup --out "$dir/fleet" --devices "$devices" --repo "$repo" --database "$database"
step "one config per device: stage, publish (bins signed online)"
stage=(repo stage --repo "$repo" --hardware yealink/T54W -o "$dir/configs.json")
for f in "$dir"/fleet/configs/*.cfg; do
    id="$(basename "$f" .cfg)"
    stage+=(--device-config "$id=$f")
done
"$hs" "${stage[@]}" 2>/dev/null
"$hs" repo publish --repo "$repo" --request "$dir/configs.json" --signer "$signer" 2>/dev/null

step "server certificate (ECDSA P-256) for 127.0.0.1, from a CA of its own"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench server CA" -keyout "$dir/server-ca.key" -out "$dir/server-ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench server" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/server-ca.pem" -CAkey "$dir/server-ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null

ticks="$(getconf CLK_TCK)"
cpu_seconds() { awk -v t="$ticks" '{ split($0, a, ") "); split(a[2], f, " "); printf "%.3f", (f[12] + f[13]) / t }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
wait_port() { for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# One boot storm against https://127.0.0.1:$2, server process $3; results in $dir/$1.*.
storm() {
    local name="$1" port="$2" pid="$3"
    local before after
    before="$(cpu_seconds "$pid")"
    taskset -c 1 "$hs" fleet-sim run --server "https://127.0.0.1:$port" --ca "$dir/server-ca.pem" \
        --identities "$dir/fleet" --concurrency "$concurrency" --format json \
        --duration-limit 1800 >"$dir/$name.json" || true
    after="$(cpu_seconds "$pid")"
    python3 - "$dir/$name.json" "$before" "$after" "$(rss_mib "$pid")" "$(hwm_mib "$pid")" >"$dir/$name.summary" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
cpu = float(sys.argv[3]) - float(sys.argv[2])
n = max(r["succeeded"], 1)
print(json.dumps({"devices_per_second": r["devices_per_second"], "p50_ms": r["latency_ms"]["p50"],
    "p99_ms": r["latency_ms"]["p99"], "succeeded": r["succeeded"], "failed": r["failed"],
    "failures": r["failures"], "seconds": r["seconds"], "bytes": r["bytes"],
    "server_cpu_s": round(cpu, 3), "server_cpu_s_per_1000": round(cpu * 1000 / n, 3),
    "rss_mib": float(sys.argv[4]), "peak_rss_mib": float(sys.argv[5])}))
EOF
}

# h2load on the public timestamp.json: $dir/$1.h2load.
h2() {
    local name="$1" port="$2"
    taskset -c 1 h2load -n "$h2_requests" -c 64 -m 10 -t 1 \
        "https://127.0.0.1:$port/metadata/timestamp.json" >"$dir/$name.h2load" 2>&1 || true
}

step "hookswitch serve on CPU 0 (device identity: $auth)"
ours_port="$(free_port)"
client_ca=()
[ "$auth" = ca ] && client_ca=(--client-ca "$dir/fleet/ca.pem")
taskset -c 0 "$hs" serve --repo "$repo" --root "$repo/metadata/1.root.json" \
    --listen "127.0.0.1:$ours_port" --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" \
    "${client_ca[@]}" --database "$database" 2>"$dir/serve.log" &
ours_pid=$!
pids+=("$ours_pid")
wait_port "$ours_port" || { cat "$dir/serve.log" >&2; exit 1; }
storm ours "$ours_port" "$ours_pid"
h2 ours "$ours_port"
kill "$ours_pid"; wait "$ours_pid" 2>/dev/null || true

step "nginx on CPU 0 (one worker), same tree, certificate, CA and protocols"
nginx_port="$(free_port)"
nginx_public_port="$(free_port)"
mkdir -p "$dir/nginx"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
# Per-device authorisation is beyond nginx: any valid client certificate gets any config.
# The second listener has the client certificate optional, as our public files do, for h2load
# (which cannot present one).
server_block() {
    cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl http2;
        ssl_certificate $dir/server.pem;
        ssl_certificate_key $dir/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets on;
        ssl_client_certificate $dir/fleet/ca.pem;
        ssl_verify_client $2;
        ssl_verify_depth 1;
        root $repo;
        location /metadata/ { }
        location /targets/ { }
        location / { return 404; }
    }
EOF
}
cat >"$dir/nginx/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    types { application/json json; }
    default_type application/octet-stream;
$(server_block "$nginx_port" on)
$(server_block "$nginx_public_port" optional)
}
EOF
taskset -c 0 "$nginx_bin" -c "$dir/nginx/nginx.conf" -p "$dir/nginx" 2>"$dir/nginx/stderr.log" &
nginx_master=$!
pids+=("$nginx_master")
wait_port "$nginx_port" || { cat "$dir/nginx/stderr.log" "$dir/nginx/error.log" >&2; exit 1; }
nginx_worker="$(pgrep -P "$nginx_master" | head -1)"
storm nginx "$nginx_port" "$nginx_worker"
h2 nginx "$nginx_public_port"
kill "$nginx_master"; wait "$nginx_master" 2>/dev/null || true

step "results ($devices devices, concurrency $concurrency, generator on CPU 1, servers on CPU 0)"
python3 - "$dir" "$devices" "$auth" <<'EOF'
import json, re, sys
d, n, auth = sys.argv[1], sys.argv[2], sys.argv[3]
s = {k: json.load(open(f"{d}/{k}.summary")) for k in ("ours", "nginx")}
def h2(name):
    text = open(f"{d}/{name}.h2load").read()
    rps = re.search(r"finished in [^,]+, ([0-9.]+) req/s", text)
    req = re.search(r"requests: .*? (\d+) succeeded, (\d+) failed", text)
    return (float(rps.group(1)) if rps else 0.0, req.groups() if req else ("?", "?"))
print(f"boot storm: {n} devices, each a fresh TLS connection with its own client certificate, full TUF refresh + config, verified")
print(f"{'':8} {'dev/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7} {'CPU s/1000':>11} {'RSS MiB':>8} {'peak MiB':>9}")
for k, v in s.items():
    print(f"{k:8} {v['devices_per_second']:9.1f} {v['p50_ms']:8.1f} {v['p99_ms']:8.1f} {v['failed']:7d} {v['server_cpu_s_per_1000']:11.3f} {v['rss_mib']:8.1f} {v['peak_rss_mib']:9.1f}")
    if v["failures"]:
        print(f"         failures: {v['failures']}")
o, g = s["ours"], s["nginx"]
ratio = lambda a, b: a / b if b else float("nan")
print(f"ratio ours/nginx: devices/s {ratio(o['devices_per_second'], g['devices_per_second']):.2f}x, "
      f"server CPU per device {ratio(o['server_cpu_s_per_1000'], g['server_cpu_s_per_1000']):.2f}x (lower is cheaper)")
print(f"our device identity: {'certificate CN under --client-ca' if auth == 'ca' else 'certificate fingerprint in the store'}; "
      "nginx cannot authorise per device: it serves every config to any client certificate the CA issued.")
(orps, oreq), (grps, greq) = h2("ours"), h2("nginx")
print(f"h2load timestamp.json (HTTP/2, 64 connections x 10 streams): ours {orps:.0f} req/s ({oreq[0]} ok, {oreq[1]} failed), "
      f"nginx {grps:.0f} req/s ({greq[0]} ok, {greq[1]} failed), ratio {ratio(orps, grps):.2f}x "
      "(nginx's listener for this has the client certificate optional, as ours is for public files)")
EOF
echo "raw reports: $dir/{ours,nginx}.json, $dir/{ours,nginx}.h2load" >&2

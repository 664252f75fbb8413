#!/usr/bin/env bash
# The probe test bed: emulated phones' management planes with real Debian services, each
# phone in its own network namespace on a bridge in a lab namespace, addresses in
# 192.0.2.0/24 (TEST-NET-1). Nothing here touches any other network.
#
#   scripts/testbed.sh up       create namespaces and start services (installs packages)
#   scripts/testbed.sh down     stop what this script started (by PID) and remove namespaces
#   scripts/testbed.sh exec CMD run CMD in the lab namespace (where the probe runs)
#
# Phones:
#   hs-weak   192.0.2.10  telnetd (via socat), sshd, lighttpd :80, snmpd v1/v2c "public",
#                         tftpd-hpa with provisioning files, sipp answering OPTIONS (UDP+TCP)
#   hs-hard   192.0.2.11  snmpd with only an SNMPv3 authPriv user; nothing else
#   hs-empty  192.0.2.12  no services at all
#   hs-tls    192.0.2.13  web UI over HTTPS only (443: TLS 1.2+; 8443: still accepts TLS 1.0),
#                         SIP only over TLS (socat TLS in front of sipp)
set -euo pipefail
STATE=/run/hookswitch-testbed
LAB=hs-lab
HERE="$(cd "$(dirname "$0")" && pwd)"
PHONES=("hs-weak:10" "hs-hard:11" "hs-empty:12" "hs-tls:13")

need_packages() {
    local missing=()
    for p in snmpd inetutils-telnetd socat lighttpd lighttpd-mod-openssl openssl openssh-server tftpd-hpa sip-tester iproute2; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "testbed: installing ${missing[*]}"
        apt-get update -qq
        # Installing does not start the services here: this script starts each one itself.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

start() { # NAME NS CMD...: start in the background, remember the PID
    local name=$1 ns=$2; shift 2
    ip netns exec "$ns" "$@" >"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.pid"
}

wait_port() { # NS PROTO ADDR PORT
    local ns=$1 proto=$2 addr=$3 port=$4 i
    for i in $(seq 1 100); do
        if ip netns exec "$ns" ss -Hln"${proto:0:1}" "( sport = :$port )" | grep -q "$addr:$port\|\*:$port\|0.0.0.0:$port"; then return 0; fi
        sleep 0.1
    done
    echo "testbed: $ns $proto $addr:$port did not come up" >&2
    tail -n 20 "$STATE"/*.log >&2 || true
    return 1
}

up() {
    [ "$(id -u)" -eq 0 ] || { echo "testbed: needs root (network namespaces)" >&2; exit 2; }
    need_packages
    down quiet
    mkdir -p "$STATE"
    ip netns add "$LAB"
    ip -n "$LAB" link set lo up
    ip -n "$LAB" link add hsbr0 type bridge
    ip -n "$LAB" addr add 192.0.2.1/24 dev hsbr0
    ip -n "$LAB" link set hsbr0 up
    for entry in "${PHONES[@]}"; do
        local ns=${entry%%:*} host=${entry##*:}
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip link add "v-$ns" type veth peer name "b-$ns"
        ip link set "v-$ns" netns "$ns"
        ip link set "b-$ns" netns "$LAB"
        ip -n "$LAB" link set "b-$ns" master hsbr0 up
        ip -n "$ns" addr add "192.0.2.$host/24" dev "v-$ns"
        ip -n "$ns" link set "v-$ns" up
    done

    # --- hs-weak -------------------------------------------------------------------
    local W=192.0.2.10 d="$STATE/weak"
    mkdir -p "$d/www" "$d/tftp" "$d/snmp"
    echo '<html><head><title>Phone Web UI</title></head><body>admin</body></html>' >"$d/www/index.html"
    printf '<device><vendorConfig><webAccess>0</webAccess></vendorConfig></device>\n' >"$d/tftp/SEPDefault.cnf"
    printf '#!version:1.0.0.1\nstatic.wui.http_enable = 1\n' >"$d/tftp/y000000000000.cfg"
    chmod -R a+rX "$d/tftp"
    cat >"$d/snmpd.conf" <<CONF
agentAddress udp:$W:161
rocommunity public default
sysDescr hookswitch testbed weak phone
sysName hs-weak
CONF
    start weak-snmpd hs-weak env SNMP_PERSISTENT_DIR="$d/snmp" /usr/sbin/snmpd -f -Lo -C -c "$d/snmpd.conf"
    start weak-telnetd hs-weak socat TCP-LISTEN:23,bind=$W,reuseaddr,fork EXEC:/usr/sbin/telnetd,nofork
    mkdir -p /run/sshd
    [ -f "$d/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$d/ssh_host_ed25519_key"
    cat >"$d/sshd_config" <<CONF
ListenAddress $W
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
CONF
    start weak-sshd hs-weak /usr/sbin/sshd -D -e -f "$d/sshd_config"
    cat >"$d/lighttpd.conf" <<CONF
server.document-root = "$d/www"
server.bind = "$W"
server.port = 80
server.username = "nobody"
server.groupname = "nogroup"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
CONF
    start weak-lighttpd hs-weak /usr/sbin/lighttpd -D -f "$d/lighttpd.conf"
    start weak-tftpd hs-weak /usr/sbin/in.tftpd -L -s "$d/tftp" -u nobody --address "$W:69"
    (cd "$d" && start weak-sip-udp hs-weak sipp -sf "$HERE/testbed/options-uas.xml" -i $W -p 5060 -t u1 -nostdin -m 100000)
    (cd "$d" && start weak-sip-tcp hs-weak sipp -sf "$HERE/testbed/options-uas.xml" -i $W -p 5060 -t t1 -nostdin -m 100000)

    # --- hs-hard -------------------------------------------------------------------
    local H=192.0.2.11 h="$STATE/hard"
    mkdir -p "$h/snmp"
    cat >"$h/snmpd.conf" <<CONF
agentAddress udp:$H:161
createUser hsadmin SHA "hookswitch-auth-secret" AES "hookswitch-priv-secret"
rouser hsadmin priv
sysName hs-hard
CONF
    start hard-snmpd hs-hard env SNMP_PERSISTENT_DIR="$h/snmp" /usr/sbin/snmpd -f -Lo -C -c "$h/snmpd.conf"

    # --- hs-tls ------------------------------------------------------------------------
    local T=192.0.2.13 t="$STATE/tls"
    mkdir -p "$t/www"
    echo '<html><head><title>Secure Phone UI</title></head></html>' >"$t/www/index.html"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$T" -keyout "$t/key.pem" -out "$t/cert.pem" 2>/dev/null
    cat "$t/cert.pem" "$t/key.pem" >"$t/both.pem"
    cat >"$t/lighttpd.conf" <<CONF
server.modules = ( "mod_openssl" )
server.document-root = "$t/www"
server.bind = "$T"
server.port = 443
server.username = "nobody"
server.groupname = "nogroup"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
ssl.engine = "enable"
ssl.pemfile = "$t/both.pem"
ssl.openssl.ssl-conf-cmd = ( "MinProtocol" => "TLSv1.2" )
\$SERVER["socket"] == "$T:8443" {
    ssl.engine = "enable"
    ssl.pemfile = "$t/both.pem"
    ssl.openssl.ssl-conf-cmd = ( "MinProtocol" => "TLSv1", "CipherString" => "DEFAULT:@SECLEVEL=0" )
}
CONF
    start tls-lighttpd hs-tls /usr/sbin/lighttpd -D -f "$t/lighttpd.conf"
    (cd "$t" && start tls-sip-tcp hs-tls sipp -sf "$HERE/testbed/options-uas.xml" -i 127.0.0.1 -p 5070 -t t1 -nostdin -m 100000)
    start tls-sips hs-tls socat OPENSSL-LISTEN:5061,bind=$T,cert=$t/cert.pem,key=$t/key.pem,verify=0,reuseaddr,fork TCP:127.0.0.1:5070

    wait_port hs-weak udp $W 161
    wait_port hs-weak tcp $W 23
    wait_port hs-weak tcp $W 22
    wait_port hs-weak tcp $W 80
    wait_port hs-weak udp $W 69
    wait_port hs-weak udp $W 5060
    wait_port hs-weak tcp $W 5060
    wait_port hs-hard udp $H 161
    wait_port hs-tls tcp $T 443
    wait_port hs-tls tcp $T 8443
    wait_port hs-tls tcp $T 5061
    echo "testbed: up (lab namespace $LAB; phones 192.0.2.10-13)"
}

down() {
    if [ -d "$STATE" ]; then
        for f in "$STATE"/*.pid; do
            [ -f "$f" ] || continue
            local pid; pid=$(cat "$f")
            # Only what this script started: the PID file is ours.
            kill "$pid" 2>/dev/null || true
            rm -f "$f"
        done
        sleep 0.2
    fi
    for ns in "$LAB" hs-weak hs-hard hs-empty hs-tls; do
        if ip netns list | grep -qw "$ns"; then
            # Stop any child left in the namespace (socat/telnetd forks), then remove it.
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
            ip netns del "$ns"
        fi
    done
    rm -rf "$STATE"
    [ "${1:-}" = quiet ] || echo "testbed: down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    exec) shift; exec ip netns exec "$LAB" "$@" ;;
    *) echo "usage: $0 up|down|exec CMD..." >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Install what hookswitch needs to build and test on a fresh Debian machine.
# Idempotent: installs only what is missing. Sourced by run.sh and test.sh.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The interop tests make a venv for python-tuf.
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
# The TUF conformance suite's expiry tests run the client under faketime.
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)
# The store tests run against a throwaway PostgreSQL cluster (scripts/postgres.sh); the device
# tests make certificates with the openssl tool.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The TFTP tests fetch with tftp-hpa's client (plain RFC 1350) and atftp (windowsize, RFC 7440).
command -v tftp >/dev/null 2>&1 || need_apt+=(tftp-hpa)
command -v atftp >/dev/null 2>&1 || need_apt+=(atftp)
# The boot-storm benchmark (scripts/bench-boot-storm.sh) compares against nginx and h2load.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v h2load >/dev/null 2>&1 || need_apt+=(nghttp2-client)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # Packages only, no services: nginx and postgresql would otherwise start system daemons
    # the tests never use (they start their own, on loopback, and stop them).
    no_start=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        no_start=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$no_start" >/dev/null
        $SUDO chmod 755 "$no_start"
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" || rc=$?
    [ -z "$no_start" ] || $SUDO rm -f "$no_start"
    [ "${rc:-0}" -eq 0 ] || { echo "setup: apt-get install failed"; exit 1; }
fi
if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: no Rust toolchain; installing rustup's stable toolchain"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
fi

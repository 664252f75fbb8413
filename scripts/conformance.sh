#!/usr/bin/env bash
# The TUF ecosystem's client conformance suite (theupdateframework/tuf-conformance, MIT)
# against hookswitch-agent. Every test must pass: there is no expected-failures file.
# The suite is read from ../shared/tuf-conformance (or $TUF_CONFORMANCE_DIR), copied into
# target/ (the original stays read-only), with its pinned dependencies from PyPI in a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
suite_src="${TUF_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/tuf-conformance}"
[ -d "$suite_src/tuf_conformance" ] || { echo "conformance: no suite at $suite_src"; exit 2; }
work=target/tuf-conformance
rm -rf "$work/suite"
mkdir -p "$work"
cp -r "$suite_src" "$work/suite"
chmod -R u+w "$work/suite"
if ! "$work/venv/bin/python" -c "import tuf_conformance" 2>/dev/null; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q --upgrade pip
    "$work/venv/bin/pip" install -q "$work/suite"
fi
cargo build --quiet -p hookswitch-agent
agent="$(pwd)/target/debug/hookswitch-agent"
cd "$work/suite"
# -p no:cacheprovider: the copy is scratch; --junitxml for CI logs.
../venv/bin/pytest -q -p no:cacheprovider tuf_conformance --entrypoint "$agent" \
    --junitxml=../report.xml "$@"

#!/usr/bin/env bash
# Runs Hangar's whole test suite on a fresh machine, installing what the tests need:
#   1. PostgreSQL must be reachable at 127.0.0.1:5432 (started here when it is installed but stopped);
#   2. the Rust tests (unit, store conformance on SQLite and PostgreSQL, server API on port 0);
#   3. the hf-hub compatibility tool (the official Rust client, 0.4 and 1.x);
#   4. Chromium for the browser tests (Debian's package, installed when /usr/bin/chromium is missing);
#   5. a Python virtualenv with the official huggingface_hub client and hf CLI (and Playwright, which drives
#      that Chromium), and two more with older releases of the client (0.36 and 1.19, with hf_xet) for
#      test_old_clients.py, then the end-to-end suite against a real `hangar serve`, including the web UI in a
#      headless browser, once on SQLite and once on PostgreSQL (Xet disabled: large files through LFS);
#   6. the upload, download and Xet tests again with the client's default settings (large files through Xet).
# Usage: scripts/test.sh            (everything)
#        HANGAR_E2E_ARGS="-k upload" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

pg_url=${HANGAR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export HANGAR_TEST_POSTGRES_URL=$pg_url

step "PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed; installing it from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  for v in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "Rust build"
cargo build --workspace --locked

step "Rust tests (unit, store conformance on SQLite and PostgreSQL, server API)"
cargo test --workspace --locked

step "hf-hub compatibility tool (official Rust client 0.4 and 1.x)"
(cd tests/hf-hub-compat && cargo build --release --locked)

step "Chromium for the browser tests (Debian's package; Playwright's own browsers are never downloaded)"
chromium=${HANGAR_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "Chromium is not installed at $chromium; installing it from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$chromium" --version 2>/dev/null
export HANGAR_CHROMIUM=$chromium PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step "Python virtualenv with the official client"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt

step "Python virtualenvs with older releases of the official client (huggingface_hub 0.36 and 1.19)"
for n in 0 1; do
  if [ ! -x ".venv-hub$n/bin/python" ]; then
    python3 -m venv ".venv-hub$n"
  fi
  ".venv-hub$n/bin/pip" install --quiet --disable-pip-version-check -r "tests/e2e/requirements-old-clients-$n.txt"
done

export HANGAR_BIN="$root/target/debug/hangar"
export HF_HUB_COMPAT_BIN="$root/tests/hf-hub-compat/target/release/hf-hub-compat"

step "End-to-end suite with the official client (SQLite)"
# shellcheck disable=SC2086
.venv/bin/python -m pytest tests/e2e ${HANGAR_E2E_ARGS:-}

step "End-to-end suite with the official client (PostgreSQL)"
e2e_db="hangar_e2e_$$"
psql "$pg_url" -qc "DROP DATABASE IF EXISTS $e2e_db" -qc "CREATE DATABASE $e2e_db"
trap 'psql "$pg_url" -qc "DROP DATABASE IF EXISTS $e2e_db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC2086
HANGAR_TEST_DATABASE_URL="${pg_url%/*}/$e2e_db" .venv/bin/python -m pytest tests/e2e -m "not crash" ${HANGAR_E2E_ARGS:-}

step "End-to-end suite with the client's default settings: large files through Xet (SQLite, then PostgreSQL)"
# The same uploads, downloads and CLIs with hf_xet in use, plus the Xet tests (1 GiB and 512 MiB files on SQLite).
xet_tests="tests/e2e/test_xet.py tests/e2e/test_upload_download.py tests/e2e/test_cli.py tests/e2e/test_hf_hub_rust.py tests/e2e/test_logs.py"
# shellcheck disable=SC2086
HANGAR_E2E_XET=1 .venv/bin/python -m pytest $xet_tests ${HANGAR_E2E_ARGS:-}
# shellcheck disable=SC2086
HANGAR_E2E_XET=1 HANGAR_TEST_DATABASE_URL="${pg_url%/*}/$e2e_db" .venv/bin/python -m pytest tests/e2e/test_xet.py -m "not big" ${HANGAR_E2E_ARGS:-}

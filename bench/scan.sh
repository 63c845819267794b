#!/usr/bin/env bash
# What secret scanning costs a commit.
#
#   bash bench/scan.sh           (from the repository root)
#
# Prints Markdown tables (commit wall times with and without scanning, and the overhead of scanning)
# and writes them to bench/out/scan-results.md, with the raw per-commit numbers
# (bench/out/scan-commits.csv), the client's progress log and both servers' logs beside them. Like
# bench/run.sh this is not a test: there is no pass/fail target for the overhead. It exits non-zero
# only when something could not be measured or a correctness check failed (see below).
#
# What it does (about 1 minute once the release binary is built):
#   0. Makes the Python virtualenv .venv from tests/e2e/requirements.txt if it is missing and runs
#      `cargo build --release` (log: bench/out/build.log), unless HANGAR_BIN names a binary.
#   1. Starts two `hangar serve`, each on a fresh temporary data directory (SQLite, the default) on a
#      free 127.0.0.1 port: one with HANGAR_SECRET_SCANNING=true, one with =false. On each, creates
#      with `hangar admin` the user that commits (write token) and ANOTHER user with a write token:
#      the token that leaks.
#   2. bench/scan_client.py: with the official client (HfApi.create_commit, one CommitOperationAdd per
#      file, HF_HUB_DISABLE_XET=1), commits of BENCH_SCAN_FILES small text files (1-4 KB of config- and
#      code-like text, "hf_" in about a third of them but never a well-formed token), each into a
#      fresh PRIVATE repo, in four variants: scanning on / off, times "clean" / "leak" (one of the files
#      holds the other user's live token, so the scan also looks the token up and the server answers
#      with an X-HF-Warning; the repo is private, so the token is not revoked). Rounds of one commit
#      per variant, the order rotating from round to round: BENCH_SCAN_WARMUP untimed, then
#      BENCH_SCAN_COMMITS timed. Per commit: the wall time of create_commit (client hashing, preupload
#      requests, the commit request), the time of the commit request alone, and the server's CPU time.
#      Median and p90 per variant, and the overhead of scanning (on vs off) in %.
#
# Correctness, checked on every commit: each answers 200; with scanning on, every leak commit's
# response carries an X-HF-Warning naming the file with the token and no clean commit's does; with
# scanning off none does. A failed check is listed under the table and the script exits 1.
#
# Environment knobs (defaults in brackets):
#   BENCH_SCAN_COMMITS [7]     timed commits per variant
#   BENCH_SCAN_FILES [1000]    files per commit
#   BENCH_SCAN_WARMUP [2]      untimed warm-up rounds (one commit per variant each) before the timed ones
#   BENCH_TMPDIR [$TMPDIR or /tmp]  where the temporary data directories go (needs ~150 MB)
#   HANGAR_BIN                 use this binary instead of building target/release/hangar
#
# Everything temporary lives in one mktemp directory removed on exit; both servers are stopped on exit
# (trap EXIT).

set -uo pipefail
# A load test goes far past the Hub rate limits (a free account: 5,000 downloads in five minutes). The
# limiter still runs, counting every request, with limits no benchmark reaches.
for tier in ANONYMOUS FREE PRO ENTERPRISE; do export "HANGAR_RATE_LIMIT_$tier=1000000000/1000000000/1000000000"; done

CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

export BENCH_SCAN_COMMITS=${BENCH_SCAN_COMMITS:-7}
export BENCH_SCAN_FILES=${BENCH_SCAN_FILES:-1000}
export BENCH_SCAN_WARMUP=${BENCH_SCAN_WARMUP:-2}
export LC_ALL=C

log() { printf '[scan bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# --- cleanup ------------------------------------------------------------------------------------------

WORK=""
PID_ON=""
PID_OFF=""

stop_pid() { # pid: stop one process we started and reap it
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$PID_ON"
    stop_pid "$PID_OFF"
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        for s in on off; do
            [ -f "$WORK/server-$s.log" ] && cp "$WORK/server-$s.log" "$OUT/scan-server-$s.log"
        done
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 0. tools -----------------------------------------------------------------------------------------

command -v curl >/dev/null || die "curl is missing (apt-get install -y curl)"
command -v python3 >/dev/null || die "python3 is missing (apt-get install -y python3 python3-venv)"

PY="$ROOT/.venv/bin/python"
if ! "$PY" -c 'import huggingface_hub' 2>/dev/null; then
    log "creating the Python virtualenv .venv from tests/e2e/requirements.txt"
    [ -x "$PY" ] || python3 -m venv "$ROOT/.venv" || die "python3 -m venv .venv failed"
    "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/e2e/requirements.txt" ||
        die "pip install -r tests/e2e/requirements.txt failed"
fi

if [ -n "${HANGAR_BIN:-}" ]; then
    BIN=$HANGAR_BIN
    [[ $BIN == /* ]] || BIN="$CALLER_DIR/$BIN" # the servers start from another directory
else
    log "cargo build --release (log: bench/out/build.log)"
    if ! cargo build --release >"$OUT/build.log" 2>&1; then
        tail -n 30 "$OUT/build.log" >&2
        die "cargo build --release failed"
    fi
    BIN="$ROOT/target/release/hangar"
fi
[ -x "$BIN" ] || die "no binary at $BIN"
unset HANGAR_BIN # hangar warns about HANGAR_* variables it does not know

# --- 1. two servers, accounts -------------------------------------------------------------------------

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/hangar-scan-bench.XXXXXX") || die "mktemp failed"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

export BENCH_USER=benchuser
LEAK_USER=otheruser

start_server() { # on|off: starts it, creates the accounts, exports SCAN_<ON|OFF>_{URL,PID,TOKEN,LEAK_TOKEN}
    local s=$1 scanning port base data pid token leak pw admin_ok=1
    [ "$s" = on ] && scanning=true || scanning=false
    data="$WORK/data-$s"
    port=$(free_port)
    base="http://127.0.0.1:$port"
    log "starting $BIN serve on $base with HANGAR_SECRET_SCANNING=$scanning (data: $data)"
    # Started from $WORK so that no hangar.toml of the current directory is picked up.
    (cd "$WORK" && HANGAR_SECRET_SCANNING=$scanning exec "$BIN" serve --data-dir "$data" --listen "127.0.0.1:$port") \
        >"$WORK/server-$s.log" 2>&1 &
    pid=$!
    if [ "$s" = on ]; then PID_ON=$pid; else PID_OFF=$pid; fi
    for _ in $(seq 150); do
        curl -fsS -o /dev/null "$base/api/health" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    curl -fsS -o /dev/null "$base/api/health" || {
        tail -n 20 "$WORK/server-$s.log" >&2
        die "the server with scanning $s did not become healthy"
    }
    admin() { (cd "$WORK" && "$BIN" admin "$@" --data-dir "$data"); }
    pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    admin user create "$BENCH_USER" --email bench@example.invalid --password "$pw" --verified >/dev/null || admin_ok=0
    admin user create "$LEAK_USER" --email other@example.invalid --password "$pw" --verified >/dev/null || admin_ok=0
    [ "$admin_ok" = 1 ] || die "hangar admin user create failed (scanning $s)"
    token=$(admin token create --user "$BENCH_USER" --name bench-write --role write) || die "token create failed (scanning $s)"
    leak=$(admin token create --user "$LEAK_USER" --name leaked --role write) || die "token create failed (scanning $s)"
    local up=${s^^}
    export "SCAN_${up}_URL=$base" "SCAN_${up}_PID=$pid" "SCAN_${up}_TOKEN=$token" "SCAN_${up}_LEAK_TOKEN=$leak"
}

start_server on
start_server off

# --- 2. commits ---------------------------------------------------------------------------------------

export HF_HUB_DISABLE_XET=1 HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1
log "$(((BENCH_SCAN_COMMITS + BENCH_SCAN_WARMUP) * 4)) commits of $BENCH_SCAN_FILES files (progress: bench/out/scan-client.log)"
"$PY" "$ROOT/bench/scan_client.py" "$OUT" >"$WORK/table.md" 2> >(tee "$OUT/scan-client.log" >&2)
rc=$?
[ -s "$WORK/table.md" ] || die "bench/scan_client.py failed (exit $rc; log: bench/out/scan-client.log)"

# The servers log their configuration at start: check that the switch took.
grep -q 'secret_scanning: true' "$WORK/server-on.log" || log "WARNING: the log of the server with scanning on does not show secret_scanning: true"
grep -q 'secret_scanning: false' "$WORK/server-off.log" || log "WARNING: the log of the server with scanning off does not show secret_scanning: false"

# Both servers must have stayed up for the whole run.
for pid in "$PID_ON" "$PID_OFF"; do
    kill -0 "$pid" 2>/dev/null || die "a server died during the run (logs: bench/out/scan-server-*.log)"
done

{
    echo "Secret scanning on commits, measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`bash bench/scan.sh\`"
    echo "on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $("$BIN" --version 2>/dev/null || echo hangar), SQLite;"
    echo "1-minute load average before the run: $LOAD_BEFORE, after it: $(cut -d' ' -f1 /proc/loadavg) (the run itself adds about 1)."
    echo
    cat "$WORK/table.md"
} >"$OUT/scan-results.md"

echo
cat "$OUT/scan-results.md"
echo
log "written to bench/out/scan-results.md (per-commit numbers: bench/out/scan-commits.csv)"
exit "$rc"

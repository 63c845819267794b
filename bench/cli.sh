#!/usr/bin/env bash
# `hangar upload` / `hangar download` next to the official `hf upload` / `hf download`, on the same
# machine, against the same `hangar serve` (release build, SQLite, local disk).
#
#   bash bench/cli.sh                 # 1 GiB file, 3 interleaved rounds
#   BENCH_CLI_MIB=256 BENCH_CLI_ROUNDS=5 bash bench/cli.sh
#   HANGAR_BIN=/abs/path/hangar bash bench/cli.sh   # skip the release build
#
# Each round: both clients upload the same random file to fresh repos (nothing can be skipped), then
# each downloads it into a fresh cache. The official client runs with HF_HUB_DISABLE_XET=1 (Hangar
# speaks LFS). Wall time and peak RSS of each client process come from GNU time. Prints a table and
# writes it to bench/out/cli-results.md. This is a measurement, not a test.
set -uo pipefail
# A load test goes far past the Hub rate limits (a free account: 5,000 downloads in five minutes). The
# limiter still runs, counting every request, with limits no benchmark reaches.
for tier in ANONYMOUS FREE PRO ENTERPRISE; do export "HANGAR_RATE_LIMIT_$tier=1000000000/1000000000/1000000000"; done

CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/out"
mkdir -p "$OUT"
MIB=${BENCH_CLI_MIB:-1024}
ROUNDS=${BENCH_CLI_ROUNDS:-3}

log() { printf '[cli bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

WORK=""
PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    [ -n "$WORK" ] && [ -f "$WORK/server.log" ] && cp "$WORK/server.log" "$OUT/cli-server.log"
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    (apt-get install -y time >/dev/null 2>&1 || sudo apt-get install -y time >/dev/null 2>&1) || die "GNU time is missing (apt-get install time)"
fi
PY="$ROOT/.venv/bin/python"
HF="$ROOT/.venv/bin/hf"
if [ ! -x "$HF" ]; then
    log "creating the Python virtualenv .venv from tests/e2e/requirements.txt"
    python3 -m venv "$ROOT/.venv" && "$ROOT/.venv/bin/pip" install --quiet -r "$ROOT/tests/e2e/requirements.txt" || die "pip install failed"
fi
if [ -n "${HANGAR_BIN:-}" ]; then
    BIN=$HANGAR_BIN
    [[ $BIN == /* ]] || BIN="$CALLER_DIR/$BIN"
else
    log "cargo build --release (log: bench/out/build.log)"
    cargo build --release >"$OUT/build.log" 2>&1 || die "cargo build --release failed (bench/out/build.log)"
    BIN="$ROOT/target/release/hangar"
fi
unset HANGAR_BIN

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/hangar-cli-bench.XXXXXX") || die "mktemp failed"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
(cd "$WORK" && exec "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT") >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do
    curl -fsS -o /dev/null "$BASE/api/health" 2>/dev/null && break
    sleep 0.2
done
curl -fsS -o /dev/null "$BASE/api/health" || die "the server did not start (bench/out/cli-server.log)"
admin() { (cd "$WORK" && "$BIN" admin "$@" --data-dir "$WORK/data"); }
admin user create bench --email bench@example.invalid --password "$(head -c 18 /dev/urandom | base64)" --verified >/dev/null || die "user create failed"
TOKEN=$(admin token create --user bench --name bench --role write) || die "token create failed"

log "writing a $MIB MiB random file"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/model.bin" || die "cannot write the test file"
SHA=$(sha256sum "$WORK/model.bin" | cut -d' ' -f1)

export HF_ENDPOINT=$BASE HF_TOKEN=$TOKEN HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_UPDATE_CHECK=1
RESULTS="$WORK/results.csv"
: >"$RESULTS"

timed() { # label cmd...: runs it under GNU time, appends "label,seconds,maxrss_kib"
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || {
        tail -n 5 "$WORK/last.err" >&2
        die "$label failed: $*"
    }
    read -r secs rss <"$WORK/time.txt"
    echo "$label,$secs,$rss" >>"$RESULTS"
    log "$label: ${secs}s, peak RSS $((rss / 1024)) MiB"
}

check_download() { # path: the downloaded file must be the uploaded one
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA" ] || die "downloaded bytes differ from the upload: $1"
}

for r in $(seq "$ROUNDS"); do
    for client in hf hangar; do
        repo="bench/$client-$r"
        if [ "$client" = hf ]; then
            timed "hf upload" "$HF" upload "$repo" "$WORK/model.bin" model.bin
            timed "hf download" "$HF" download "$repo" model.bin --cache-dir "$WORK/cache-hf-$r"
            check_download "$WORK/cache-hf-$r/models--bench--$client-$r/snapshots/"*/model.bin
        else
            timed "hangar upload" "$BIN" upload "$repo" "$WORK/model.bin" model.bin --quiet
            timed "hangar download" "$BIN" download "$repo" model.bin --cache-dir "$WORK/cache-hangar-$r" --quiet
            check_download "$WORK/cache-hangar-$r/models--bench--$client-$r/snapshots/"*/model.bin
        fi
        rm -rf "$WORK/cache-hf-$r" "$WORK/cache-hangar-$r"
    done
done

TABLE=$("$PY" - "$RESULTS" "$MIB" "$ROUNDS" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
mib, rounds = int(sys.argv[2]), int(sys.argv[3])
by = {}
for label, secs, rss in rows:
    by.setdefault(label, []).append((float(secs), int(rss)))
print(f"| Operation ({mib} MiB, {rounds} rounds) | median s | MiB/s | min s | max s | peak RSS MiB |")
print("|---|---|---|---|---|---|")
for label in ("hf upload", "hangar upload", "hf download", "hangar download"):
    v = by.get(label, [])
    if not v:
        continue
    t = [s for s, _ in v]
    med = statistics.median(t)
    print(f"| {label} | {med:.2f} | {mib / med:.0f} | {min(t):.2f} | {max(t):.2f} | {max(r for _, r in v) / 1024:.0f} |")
for op in ("upload", "download"):
    h = statistics.median(s for s, _ in by[f"hf {op}"])
    g = statistics.median(s for s, _ in by[f"hangar {op}"])
    verdict = "MET" if g <= h * 1.0 else "MISS"
    print(f"\n`hangar {op}` vs `hf {op}`: {h / g:.2f}x the speed (target: at least as fast) {verdict}", end="")
print()
PYEOF
)
{
    echo "CLI transfers, measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`bash bench/cli.sh\` on $(nproc) cores,"
    echo "huggingface_hub $("$PY" -c 'import huggingface_hub; print(huggingface_hub.__version__)') (HF_HUB_DISABLE_XET=1) vs $("$BIN" --version), one local \`hangar serve\` (release, SQLite)."
    echo
    echo "$TABLE"
} >"$OUT/cli-results.md"
echo
cat "$OUT/cli-results.md"

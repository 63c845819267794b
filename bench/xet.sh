#!/usr/bin/env bash
# Xet next to LFS: uploads and downloads of one large random file with the official client, on the same
# machine, against the same `hangar serve` (release build, SQLite, one temporary data directory, one port).
# The server is restarted for every step (same binary, data and port), so that each step's peak RSS is
# that of a process which has done nothing else: memory the allocator keeps after one step (about
# 150 MiB after a Xet upload, for one) would otherwise count in the steps after it.
#
#   bash bench/xet.sh                                   # 1 GiB, 3 rounds (under 2 minutes on 2 cores once built)
#   BENCH_SIZE_MIB=128 BENCH_ROUNDS=1 bash bench/xet.sh # a quick try of the harness itself
#   HANGAR_BIN=/abs/path/hangar bash bench/xet.sh       # skip the release build
#
# Each round, in this order, every step a separate client process (bench/xet_client.py, or curl):
#   xet upload     HfApi.upload_file of a fresh random file (first byte NUL) into a fresh repo, default
#                  settings: hf_xet chunks, dedups, sends xorbs and a shard to /xet-cas, then the commit.
#                  The file is new every round (generated before the round, untimed): Xet dedups
#                  globally and the same bytes a second time would send almost nothing.
#   lfs upload     The same call with HF_HUB_DISABLE_XET=1 (LFS multipart, 8 MiB parts) into a fresh
#                  repo; one LFS file serves every round (LFS objects are per repository, so nothing is
#                  skipped). It is not the Xet file: /resolve serves a Xet file from an LFS blob of the
#                  same SHA-256 when there is one, which would hide the reconstruction measured below.
#   xet download   hf_hub_download of this round's Xet file into a fresh cache and HF_HOME (hf_xet:
#                  reconstruction, then the xorb ranges from signed fetch URLs).
#   lfs download   hf_hub_download of this round's LFS file with HF_HUB_DISABLE_XET=1 (one GET of /resolve).
#   plain GET      curl -o /dev/null of /resolve of this round's Xet file: what a client without Xet
#                  gets, the bytes reconstructed from the stored chunks as they are sent.
# Every download is checked: hf_hub_download's result by SHA-256 and by the path the client took (xet_get
# or http_get), curl's by status and size, and in round 1 the plain GET's bytes by SHA-256 (untimed).
# After the rounds, the last Xet file with 1 MiB in its middle overwritten by random bytes is uploaded
# again into its repo ("xet re-upload"), through a counting TCP relay in the client process: bytes sent
# by the client (all requests, headers included) and how much the server's storage grew. The client
# starts from an empty HF_HOME, so what it skips it learns from the server's global dedup. The changed
# file is then downloaded once more with hf_xet and checked (not part of the table).
#
# Times: for the Python steps the wall time of the one client call (upload_file / hf_hub_download),
# without interpreter start-up and the checks; for curl its time_total. Median over the rounds.
# Server peak RSS: the kernel's high-water mark (VmHWM) of the freshly started server, read at the end of
# the step (and reset once the server is up, `echo 5 > /proc/PID/clear_refs`, so start-up does not
# count); a sampler also reads VmRSS every 50 ms as a cross-check, and VmRSS is read once more when the
# step ends: what the server keeps (all three in bench/out/xet-steps.csv). Max over the rounds.
# Server CPU: utime+stime from /proc/PID/stat over the step. Client CPU: user+system time of the Python
# process during the one call (getrusage, hf_xet's threads included), curl's from GNU time. Client peak
# RSS: GNU time of the client process. Server and client share the machine's cores.
# The server runs with tower-http's per-request log (latency of each answer) turned on; from it the report
# breaks the Xet upload down into its xorb requests (how many, how many at once, how long) and the shard
# request.
#
# Prints a Markdown table and writes it to bench/out/xet-results.md, the per-step numbers to
# bench/out/xet-steps.csv and the server log to bench/out/xet-server.log. Not a test: no targets.
# It exits non-zero when a step fails or a check does not hold.
#
# Environment knobs (defaults in brackets):
#   BENCH_SIZE_MIB [1024]      size of the files
#   BENCH_ROUNDS [3]           rounds (medians over these)
#   BENCH_TMPDIR [$TMPDIR or /tmp]  where the temporary directory goes (it checks for (4 + 2 x ROUNDS) x SIZE free)
#   HANGAR_BIN                 use this binary instead of building target/release/hangar
#
# Everything temporary lives in one mktemp directory removed on exit; the server and the sampler are
# stopped on exit (trap EXIT).

set -uo pipefail
# A load test goes far past the Hub rate limits (a free account: 5,000 downloads in five minutes). The
# limiter still runs, counting every request, with limits no benchmark reaches.
for tier in ANONYMOUS FREE PRO ENTERPRISE; do export "HANGAR_RATE_LIMIT_$tier=1000000000/1000000000/1000000000"; done

CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

MIB=${BENCH_SIZE_MIB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
SIZE=$((MIB * 1024 * 1024))
export LC_ALL=C

log() { printf '[xet bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# --- cleanup ------------------------------------------------------------------------------------------

WORK=""
SERVER_PID=""
SAMPLER_PID=""

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
    stop_pid "$SAMPLER_PID"
    stop_pid "$SERVER_PID"
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        [ -f "$WORK/server.log" ] && cp "$WORK/server.log" "$OUT/xet-server.log"
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
if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    (apt-get install -y time >/dev/null 2>&1 || sudo apt-get install -y time >/dev/null 2>&1) || die "GNU time is missing (apt-get install time)"
fi

PY="$ROOT/.venv/bin/python"
if ! "$PY" -c 'import huggingface_hub, hf_xet' 2>/dev/null; then
    log "creating the Python virtualenv .venv from tests/e2e/requirements.txt"
    [ -x "$PY" ] || python3 -m venv "$ROOT/.venv" || die "python3 -m venv .venv failed"
    "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/e2e/requirements.txt" ||
        die "pip install -r tests/e2e/requirements.txt failed"
fi

HANGAR_BIN_GIVEN=${HANGAR_BIN:-}
if [ -n "${HANGAR_BIN:-}" ]; then
    BIN=$HANGAR_BIN
    [[ $BIN == /* ]] || BIN="$CALLER_DIR/$BIN" # the server starts from another directory
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

# --- 1. server, account -------------------------------------------------------------------------------

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/hangar-xet-bench.XXXXXX") || die "mktemp failed"
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
need_kb=$((MIB * 1024 * (4 + 2 * ROUNDS)))
[ "$avail_kb" -ge "$need_kb" ] || die "need about $((need_kb / 1024 / 1024)) GiB free under $WORK (source files, stored xorbs and blobs, downloads)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

DATA="$WORK/data"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

start_server() { # the same binary, data directory and port every time
    # Request log with latencies (tower-http's on_response events), for the breakdown of the Xet upload.
    # Started from $WORK so that no hangar.toml of the current directory is picked up.
    (cd "$WORK" && HANGAR_LOG="info,sqlx=warn,tower_http::trace::on_response=debug" NO_COLOR=1 exec "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT") >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        curl -fsS -o /dev/null "$BASE/api/health" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$WORK/server.log" >&2
    die "the server did not become healthy"
}
stop_server() {
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server died (log: bench/out/xet-server.log)"
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}

log "starting $BIN serve on $BASE (data: $DATA); it is restarted for every step"
start_server
admin() { (cd "$WORK" && "$BIN" admin "$@" --data-dir "$DATA"); }
USER_NAME=bench
admin user create "$USER_NAME" --email bench@example.invalid --password "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" --verified >/dev/null ||
    die "hangar admin user create failed"
TOKEN=$(admin token create --user "$USER_NAME" --name bench-write --role write) || die "hangar admin token create failed"
IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
stop_server

export HF_ENDPOINT=$BASE HF_TOKEN=$TOKEN HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_UPDATE_CHECK=1
unset HF_HUB_DISABLE_XET

random_file() { # path: writes SIZE random bytes, the first one NUL, and prints their SHA-256
    { printf '\0' && head -c $((SIZE - 1)) /dev/urandom; } | tee "$1" | sha256sum | cut -d' ' -f1
    [ "$(stat -c %s "$1" 2>/dev/null)" = "$SIZE" ] || die "cannot write $1"
}

# --- 2. steps -----------------------------------------------------------------------------------------

rss_sampler() { # pid outfile: VmRSS (kB) every 50 ms, without forking anything but sleep
    local pid=$1 out=$2 k v rest
    while [ -r "/proc/$pid/status" ]; do
        while read -r k v rest; do
            if [ "$k" = "VmRSS:" ]; then
                echo "$v"
                break
            fi
        done <"/proc/$pid/status"
        sleep 0.05
    done >>"$out" 2>/dev/null
}

STEPS="$WORK/steps.csv"
echo "op,round,seconds,server_hwm_kib,server_sampled_kib,server_rss_after_kib,server_cpu_s,client_rss_kib,client_cpu_s,sent,received,storage_growth" >"$STEPS"
storage_bytes() { du -sb "$DATA/blobs" 2>/dev/null | cut -f1; }

# step op round cmd...: starts the server, runs one client process under GNU time while watching the
# server, stops the server; appends a row to $STEPS. The command prints "seconds S", the Python client
# also "cpu S" (and for a re-upload "sent B" and "received B") on stdout.
step() {
    local op=$1 round=$2 t0 t1 hwm sampled after secs cpu sent received growth="" s0 wall rss ut st
    shift 2
    [ "$op" = "xet re-upload" ] && s0=$(storage_bytes)
    local log_lines
    log_lines=$(wc -l <"$WORK/server.log")
    start_server
    : >"$WORK/rss.samples"
    echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null # VmHWM from here (without it: from start-up, ~15 MiB)
    rss_sampler "$SERVER_PID" "$WORK/rss.samples" &
    SAMPLER_PID=$!
    t0=$(proc_ticks "$SERVER_PID")
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" >"$WORK/step.out" 2>"$WORK/step.err"
    local rc=$?
    t1=$(proc_ticks "$SERVER_PID")
    hwm=$(status_kb "$SERVER_PID" VmHWM)
    after=$(status_kb "$SERVER_PID" VmRSS)
    stop_pid "$SAMPLER_PID"
    SAMPLER_PID=""
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during '$op' (log: bench/out/xet-server.log)"
    stop_server
    tail -n +$((log_lines + 1)) "$WORK/server.log" >"$WORK/log.${op// /-}.$round"
    if [ $rc -ne 0 ]; then
        tail -n 15 "$WORK/step.err" >&2
        die "$op (round $round) failed: $*"
    fi
    [ "$op" = "xet re-upload" ] && growth=$(($(storage_bytes) - s0))
    sampled=$(sort -n "$WORK/rss.samples" | tail -n 1)
    read -r wall rss ut st <"$WORK/time.txt"
    secs=$(awk '$1 == "seconds" { print $2 }' "$WORK/step.out")
    cpu=$(awk '$1 == "cpu" { print $2 }' "$WORK/step.out")
    [ -n "$cpu" ] || cpu=$(awk -v u="$ut" -v s="$st" 'BEGIN { printf "%.2f", u + s }')
    sent=$(awk '$1 == "sent" { print $2 }' "$WORK/step.out")
    received=$(awk '$1 == "received" { print $2 }' "$WORK/step.out")
    [ -n "$secs" ] || die "$op (round $round): no time in the client's output"
    echo "$op,$round,$secs,$hwm,${sampled:-0},$after,$(awk -v t=$((t1 - t0)) -v k="$CLK_TCK" 'BEGIN { printf "%.2f", t / k }'),$rss,$cpu,$sent,$received,$growth" >>"$STEPS"
    log "$op (round $round): ${secs} s, server peak RSS $((hwm / 1024)) MiB (sampled $((${sampled:-0} / 1024)), $((after / 1024)) after), client peak RSS $((rss / 1024)) MiB${sent:+, sent $sent B}${growth:+, storage +$growth B}"
}

plain_get() { # url: curl to /dev/null; prints "seconds S" when the answer is 200 with SIZE bytes
    local out code bytes secs
    # A command substitution, not < <(...): bash waits for it, so GNU time counts curl's CPU and RSS.
    out=$(curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -w '%{http_code} %{size_download} %{time_total}' "$1")
    read -r code bytes secs <<<"$out"
    if [ "$code" != 200 ] || [ "$bytes" != "$SIZE" ]; then
        echo "GET $1: HTTP $code, $bytes of $SIZE bytes" >&2
        return 1
    fi
    echo "seconds $secs"
}
export -f plain_get
export TOKEN SIZE

LFS_FILE="$WORK/lfs.bin"
log "writing the LFS file ($MIB MiB, random)"
LFS_SHA=$(random_file "$LFS_FILE")

for r in $(seq "$ROUNDS"); do
    XET_FILE="$WORK/xet-$r.bin"
    log "round $r of $ROUNDS: writing a fresh Xet file ($MIB MiB, random)"
    XET_SHA=$(random_file "$XET_FILE")
    rm -f "$WORK/xet-$((r - 1)).bin"

    HF_HOME="$WORK/home-$r-xu" step "xet upload" "$r" "$PY" bench/xet_client.py upload "$USER_NAME/xet-$r" "$XET_FILE"
    HF_HOME="$WORK/home-$r-lu" HF_HUB_DISABLE_XET=1 step "lfs upload" "$r" "$PY" bench/xet_client.py upload "$USER_NAME/lfs-$r" "$LFS_FILE"
    HF_HOME="$WORK/home-$r-xd" step "xet download" "$r" "$PY" bench/xet_client.py download "$USER_NAME/xet-$r" "$WORK/cache-$r-xd" "$XET_SHA"
    rm -rf "$WORK/cache-$r-xd"
    HF_HOME="$WORK/home-$r-ld" HF_HUB_DISABLE_XET=1 step "lfs download" "$r" "$PY" bench/xet_client.py download "$USER_NAME/lfs-$r" "$WORK/cache-$r-ld" "$LFS_SHA"
    rm -rf "$WORK/cache-$r-ld"
    XET_URL="$BASE/$USER_NAME/xet-$r/resolve/main/model.bin"
    step "plain GET" "$r" bash -c 'plain_get "$1"' _ "$XET_URL"
    if [ "$r" = 1 ]; then
        start_server
        got=$(curl -sf -H "Authorization: Bearer $TOKEN" "$XET_URL" | sha256sum | cut -d' ' -f1)
        [ "$got" = "$XET_SHA" ] || die "the plain GET of the Xet file answered other bytes (SHA-256 $got, uploaded $XET_SHA)"
        stop_server
    fi
    rm -rf "$WORK/home-$r-xu" "$WORK/home-$r-lu" "$WORK/home-$r-xd" "$WORK/home-$r-ld"
done

log "changing 1 MiB in the middle of the last Xet file and uploading it again"
dd if=/dev/urandom of="$XET_FILE" bs=1M count=1 seek=$((MIB / 2)) conv=notrunc status=none || die "dd failed"
HF_HOME="$WORK/home-reupload" step "xet re-upload" 1 "$PY" bench/xet_client.py reupload "$USER_NAME/xet-$ROUNDS" "$XET_FILE"
XET_SHA=$(sha256sum "$XET_FILE" | cut -d' ' -f1)
HF_HOME="$WORK/home-reupload-d" step "xet download" "after re-upload" "$PY" bench/xet_client.py download "$USER_NAME/xet-$ROUNDS" "$WORK/cache-re" "$XET_SHA"
rm -rf "$WORK/cache-re"
cp "$STEPS" "$OUT/xet-steps.csv"

# --- 3. report ----------------------------------------------------------------------------------------

TABLE=$("$PY" - "$STEPS" "$MIB" "$WORK" <<'PYEOF'
import csv, datetime, glob, re, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
mib, work = int(sys.argv[2]), sys.argv[3]
ops = {}
for row in rows:
    if row["round"] != "after re-upload":  # that one is a check that the changed file downloads whole
        ops.setdefault(row["op"], []).append(row)
def peak(r): return max(int(r["server_hwm_kib"]), int(r["server_sampled_kib"])) / 1024
def cells(v):
    return (f"{max(peak(r) for r in v):.0f} | {statistics.median(float(r['server_cpu_s']) for r in v):.2f} | "
            f"{max(int(r['client_rss_kib']) for r in v) / 1024:.0f} | {statistics.median(float(r['client_cpu_s']) for r in v):.2f} |")
print(f"| Operation ({mib} MiB file) | median s | MiB/s | min–max s | server peak RSS MiB | server CPU s | client peak RSS MiB | client CPU s |")
print("|---|---|---|---|---|---|---|---|")
for op, label in (("xet upload", "Upload, Xet (default settings)"), ("lfs upload", "Upload, LFS (HF_HUB_DISABLE_XET=1)"),
                  ("xet download", "hf_hub_download, Xet"), ("lfs download", "hf_hub_download, LFS (HF_HUB_DISABLE_XET=1)"),
                  ("plain GET", "curl GET of /resolve, the Xet file (reconstructed on the fly)")):
    v = ops.get(op, [])
    if v:
        t = [float(r["seconds"]) for r in v]
        med = statistics.median(t)
        print(f"| {label} | {med:.2f} | {mib / med:.0f} | {min(t):.2f}–{max(t):.2f} | {cells(v)}")
for r in ops.get("xet re-upload", []):
    print(f"| Re-upload, Xet, 1 MiB changed, empty client cache (1 run): sent {int(r['sent']) / 1048576:.2f} MiB, "
          f"received {int(r['received']) / 1048576:.2f} MiB, server storage +{int(r['storage_growth']) / 1048576:.2f} MiB "
          f"| {float(r['seconds']):.2f} | | | {cells([r])}")
kept = {op: max(int(r["server_rss_after_kib"]) for r in v) / 1024 for op, v in ops.items()}
print()
print("Server RSS when each step ended (what it kept), max over the rounds: " + ", ".join(f"{op} {m:.0f} MiB" for op, m in kept.items()) + ".")

# The Xet uploads as the server saw them: tower-http logs each answer with its latency (for an upload,
# from the request's start, body included, to the answer).
line_re = re.compile(r'^(\S+Z) .*route="([^"]*)".*finished processing request latency=(\d+) ms status=(\d+)')
def requests(path):
    out = []
    for line in open(path, errors="replace"):
        if (m := line_re.match(line)):
            end = datetime.datetime.fromisoformat(m[1].replace("Z", "+00:00")).timestamp()
            out.append((m[2], end - int(m[3]) / 1000, end, m[4]))
    return out
spans, shards, most, counts = [], [], [], []
for path in sorted(glob.glob(f"{work}/log.xet-upload.*")):
    reqs = requests(path)
    xorbs = [r for r in reqs if r[0].startswith("/xet-cas/v1/xorbs/") and r[3] == "200"]
    shard = [r for r in reqs if r[0] == "/xet-cas/v1/shards"]
    if not xorbs or not shard:
        continue
    counts.append(len(xorbs))
    spans.append(max(r[2] for r in xorbs) - min(r[1] for r in xorbs))
    shards.append(sum(r[2] - r[1] for r in shard))
    most.append(max(sum(1 for o in xorbs if o[1] <= x[1] < o[2]) for x in xorbs))
if spans:
    print()
    print(f"Xet upload as the server saw it (its request log, median over the rounds): {statistics.median(counts):.0f} xorb upload(s), "
          f"up to {max(most)} at once, {statistics.median(spans):.2f} s from the first one's start to the last answer; then the shard "
          f"request (the server reads the whole file back from the stored xorbs to check its SHA-256) {statistics.median(shards):.2f} s.")
PYEOF
) || die "the report failed"

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "${HANGAR_BIN_GIVEN:-}" ] && COMMIT="(binary given with HANGAR_BIN; tree at $COMMIT)"
git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes under crates/)"
{
    echo "Xet and LFS, measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`bash bench/xet.sh\` ($ROUNDS rounds, medians) on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),"
    echo "$("$BIN" --version 2>/dev/null || echo hangar) at $COMMIT (release, SQLite, restarted for every step on the same data directory), huggingface_hub $("$PY" -c 'import huggingface_hub; print(huggingface_hub.__version__)'), hf_xet $("$PY" -c 'from importlib.metadata import version; print(version("hf_xet"))')."
    echo "Load average before the run: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg). Server RSS when idle after start-up: $((IDLE_RSS_KB / 1024)) MiB."
    echo "Server peak RSS: VmHWM of the server process, started for that step alone (VmRSS sampled every 50 ms stays at or below it; both in bench/out/xet-steps.csv). Page cache warm."
    echo
    echo "$TABLE"
} >"$OUT/xet-results.md"
echo
cat "$OUT/xet-results.md"
echo
log "written to bench/out/xet-results.md (per-step numbers: bench/out/xet-steps.csv)"

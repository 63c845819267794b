#!/usr/bin/env bash
# Hangar benchmark harness.
#
#   bash bench/run.sh            (from the repository root; as root, or with wrk/ab/nginx installed)
#
# Prints a Markdown table of measurements next to their targets, and writes it (with raw tool output
# and the server log) to bench/out/. This is not a test: a missed target is reported as MISS and the
# script still exits 0. It exits non-zero only when something could not be measured (a tool or the
# server failed, a response was not what the benchmark assumes).
#
# What it does, in order (about 1 minute once the release binary is built):
#   0. Installs missing Debian packages (wrk, apache2-utils for ab, nginx, curl) with apt-get, makes
#      the Python virtualenv .venv from tests/e2e/requirements.txt if it is missing, and runs
#      `cargo build --release` (log: bench/out/build.log).
#   1. Starts `target/release/hangar serve` on a fresh temporary data directory (SQLite, the
#      default) on a free 127.0.0.1 port, creates a user and a read and a write token with
#      `hangar admin`, and with the official client creates a PRIVATE model repo holding a small
#      (non-LFS) config.json.
#   2. HEAD /{ns}/{name}/resolve/main/config.json with the READ token: ApacheBench `ab -i -k`,
#      64 concurrent keep-alive connections, 10 s. req/s, p50 and p99 (from ab's percentile CSV).
#      wrk cannot do this one: wrk's response parser does not know a HEAD response has no body, so
#      every connection waits forever for the Content-Length bytes and wrk completes 0 requests.
#      For reference the same ab run goes against nginx serving a copy of the file, and wrk
#      (-t2 -c64 -d10s --latency, Lua script setting the Authorization header) measures GET of
#      the same small file on Hangar.
#   3. Writes a 1 GiB file of random data to disk by streaming (head -c 1G /dev/urandom) and
#      uploads it with HfApi(token=write).upload_file (LFS multipart; HF_HUB_DISABLE_XET=1).
#      Wall time of the upload_file call (client hashing included) and MB/s, with a client-side
#      breakdown by kind of request (parts, completion, commit...) and the time of one SHA-256 pass.
#   4. GET of that 1 GiB LFS file via /resolve with curl -o /dev/null, single stream, and nginx
#      (sendfile on, 127.0.0.1, another port) serving the very same file on disk (the blob in
#      Hangar's data directory) as the ceiling. One warm-up read of each first, so both read from
#      the page cache; then 7 runs each, Hangar and nginx alternating, median reported (min-max
#      beside it); ratio = Hangar / nginx.
#      Then the same with 4 parallel Range requests (4 x 256 MiB) against each.
#
# Peak RSS: a background sampler reads VmRSS from /proc/PID/status of the server every 50 ms
# during each phase; the table shows the highest sample of that phase. As a cross-check the script
# also resets the kernel's high-water mark at the start of each phase (`echo 5 >
# /proc/PID/clear_refs`) and reads VmHWM at its end, which catches spikes between samples; both
# are shown (they have agreed so far). One server serves all phases (no restarts), so phases run
# in the order above and memory left over by one phase shows in the next.
# CPU per phase, in cores (CPU seconds / wall seconds): the server's from /proc/PID/stat
# (utime+stime), split by thread name (tokio-rt-worker, sqlx-sqlite-worker) from
# /proc/PID/task/*/stat; nginx's from its master and workers; the client's (ab, wrk, curl, python)
# from bash's `times` in a subshell around it. Whole-machine /proc/stat is only used to warn when
# the machine was already busy before the run (it under-counts on this VM kernel, so no more).
#
# Units: MB = 10^6 bytes (throughput and RSS alike); 1 GiB = 1073741824 bytes.
#
# Environment knobs (defaults in brackets):
#   BENCH_DURATION [10]        seconds of each load test (HEAD, GET small)
#   BENCH_CONNECTIONS [64]     concurrent connections of the load tests
#   BENCH_BIG_MIB [1024]       size of the large file in MiB
#   BENCH_GET_RUNS [7]         timed runs per large-download measurement (median reported)
#   BENCH_TMPDIR [$TMPDIR or /tmp]  where the temporary data directory goes (needs ~3.5 GiB free)
#   HANGAR_BIN                 use this binary instead of building target/release/hangar
#
# Everything temporary (data directory, the 1 GiB file, nginx prefix) lives in one mktemp directory
# removed on exit; the server, nginx and the samplers are killed on exit (trap EXIT).

set -uo pipefail
# A load test goes far past the Hub rate limits (a free account: 5,000 downloads in five minutes). The
# limiter still runs, counting every request, with limits no benchmark reaches.
for tier in ANONYMOUS FREE PRO ENTERPRISE; do export "HANGAR_RATE_LIMIT_$tier=1000000000/1000000000/1000000000"; done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
BIG_MIB=${BENCH_BIG_MIB:-1024}
GET_RUNS=${BENCH_GET_RUNS:-7}
BIG_BYTES=$((BIG_MIB * 1024 * 1024))
PARALLEL_RANGES=4

# Targets (from the project's performance goals).
TARGET_HEAD_RPS=20000
TARGET_HEAD_P99_MS=5
TARGET_GET_RATIO=0.9
TARGET_RSS_MB=150

export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

ERRORS=()
fail() {
    ERRORS+=("$*")
    log "could not measure: $*"
}

# --- cleanup ------------------------------------------------------------------------------------------

WORK=""
SERVER_PID=""
NGINX_PID=""
SAMPLER_PID=""

stop_pid() { # pid [signal]: stop one process we started and reap it
    local pid=$1 sig=${2:-TERM}
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null
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
    stop_pid "$NGINX_PID" QUIT
    stop_pid "$SERVER_PID"
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        [ -f "$WORK/server.log" ] && cp "$WORK/server.log" "$OUT/server.log"
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 0. tools -----------------------------------------------------------------------------------------

ensure_packages() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v ab >/dev/null || missing+=(apache2-utils)
    command -v nginx >/dev/null || missing+=(nginx)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    if [ ! -x "$ROOT/.venv/bin/python" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root or install them (apt-get install -y ${missing[*]})"
    apt-get update -qq >"$OUT/apt.log" 2>&1 || die "apt-get update failed (see $OUT/apt.log)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$OUT/apt.log" 2>&1 ||
        die "apt-get install ${missing[*]} failed (see $OUT/apt.log)"
}

ensure_venv() {
    PY="$ROOT/.venv/bin/python"
    if "$PY" -c 'import huggingface_hub' 2>/dev/null; then
        return 0
    fi
    log "creating the Python virtualenv .venv from tests/e2e/requirements.txt"
    [ -x "$PY" ] || python3 -m venv "$ROOT/.venv" || die "python3 -m venv .venv failed"
    "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/e2e/requirements.txt" ||
        die "pip install -r tests/e2e/requirements.txt failed"
}

ensure_binary() {
    if [ -n "${HANGAR_BIN:-}" ]; then
        BIN=$HANGAR_BIN
    else
        log "cargo build --release (log: bench/out/build.log)"
        if ! cargo build --release >"$OUT/build.log" 2>&1; then
            tail -n 30 "$OUT/build.log" >&2
            die "cargo build --release failed"
        fi
        BIN="$ROOT/target/release/hangar"
    fi
    [ -x "$BIN" ] || die "no binary at $BIN"
}

ensure_packages
ensure_venv
ensure_binary

# --- helpers ------------------------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
calc() { awk "BEGIN { printf \"%s\", ($1) }"; }        # calc 'expr' -> number (awk syntax; a comparison gives 1 or 0)
fmtnum() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }  # fmtnum '%.1f' value
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
min_max() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.0f–%.0f", lo, hi }'; }
kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }

server_alive() { kill -0 "$SERVER_PID" 2>/dev/null; }

# CPU ticks (utime+stime) of nginx: the master and its workers.
nginx_ticks() {
    local p total=0
    for p in "$NGINX_PID" $(pgrep -P "$NGINX_PID"); do total=$((total + $(proc_ticks "$p"))); done
    echo "$total"
}

# One line per live thread of the server: "<tid path> <comm> <ticks>".
thread_snapshot() {
    awk '{ c = $0; sub(/^[^(]*\(/, "", c); sub(/\)[^)]*$/, "", c)
           r = $0; sub(/^.*\) /, "", r); split(r, f, " ")
           print FILENAME, c, f[12] + f[13] }' /proc/"$SERVER_PID"/task/*/stat 2>/dev/null
}

# Ticks spent in the phase by thread group, from two snapshots: "<tokio> <sqlx>" (threads that exited
# during the phase are missing here; the caller counts them as the rest of the process total).
thread_groups() {
    awk 'NR == FNR { begin[$1] = $3; next }
         { d = $3 - begin[$1]; if ($2 ~ /^tokio/) tokio += d; else if ($2 ~ /^sqlx/) sqlx += d }
         END { print tokio + 0, sqlx + 0 }' "$1" "$2"
}

# Per phase; a phase may be entered several times (interleaved runs) and then adds up.
declare -A RSS_MB HWM_MB SRV_CORES TOKIO_CORES SQLX_CORES CLIENT_CORES WALL_S
declare -A ACC_WALL ACC_SRV ACC_TOKIO ACC_SQLX ACC_HWM_KB

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

# Runs a client (load generator, curl, the Python client) and adds its CPU time (user+sys, from
# bash's `times` in a subshell that has only that child) to the current phase's client total.
# Works from subshells and background jobs, since the total is a file.
client() {
    local rc tf
    tf=$(mktemp "$WORK/times.XXXXXX")
    (
        "$@"
        rc=$?
        times >"$tf" # line 2: user and system time of this subshell's children, i.e. the client
        exit $rc
    )
    rc=$?
    awk 'NR == 2 { n = split($1 " " $2, t, /[ ms]+/); s = 0
                   for (i = 1; i + 1 <= n; i += 2) s += t[i] * 60 + t[i + 1]
                   print s }' "$tf" >>"$WORK/client.$PHASE"
    rm -f "$tf"
    return $rc
}

PHASE="" PHASE_OF=""
phase_begin() { # name [hangar|nginx]: what to watch during this phase (entering it again adds up)
    PHASE=$1 PHASE_OF=${2:-hangar}
    touch "$WORK/client.$PHASE"
    if [ "$PHASE_OF" = hangar ]; then
        touch "$WORK/rss.$PHASE"
        HWM_OK=0
        if echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null; then HWM_OK=1; fi
        rss_sampler "$SERVER_PID" "$WORK/rss.$PHASE" &
        SAMPLER_PID=$!
        thread_snapshot >"$WORK/threads0"
        P_SRV0=$(proc_ticks "$SERVER_PID")
    else
        P_SRV0=$(nginx_ticks)
    fi
    P_T0=$(now_ms)
}

phase_end() { # quiet: no log line (for short repeated segments)
    local t1 srv1 peak hwm wall tokio=0 sqlx=0 client_s
    t1=$(now_ms)
    if [ "$PHASE_OF" = nginx ]; then
        srv1=$(nginx_ticks)
    else
        srv1=$(proc_ticks "$SERVER_PID")
        thread_snapshot >"$WORK/threads1"
        stop_pid "$SAMPLER_PID"
        SAMPLER_PID=""
        server_alive || die "the server died during phase '$PHASE' (log: $OUT/server.log)"
        status_kb "$SERVER_PID" VmRSS >>"$WORK/rss.$PHASE"
        read -r tokio sqlx < <(thread_groups "$WORK/threads0" "$WORK/threads1")
        if [ "$HWM_OK" = 1 ]; then
            hwm=$(status_kb "$SERVER_PID" VmHWM)
            [ "${hwm:-0}" -gt "${ACC_HWM_KB[$PHASE]:-0}" ] && ACC_HWM_KB[$PHASE]=$hwm
        fi
    fi
    ACC_WALL[$PHASE]=$(calc "${ACC_WALL[$PHASE]:-0} + ($t1 - $P_T0) / 1000")
    ACC_SRV[$PHASE]=$((${ACC_SRV[$PHASE]:-0} + srv1 - P_SRV0))
    ACC_TOKIO[$PHASE]=$((${ACC_TOKIO[$PHASE]:-0} + tokio))
    ACC_SQLX[$PHASE]=$((${ACC_SQLX[$PHASE]:-0} + sqlx))

    wall=${ACC_WALL[$PHASE]}
    WALL_S[$PHASE]=$wall
    client_s=$(awk '{ s += $1 } END { print s + 0 }' "$WORK/client.$PHASE")
    CLIENT_CORES[$PHASE]=$(calc "$client_s / $wall")
    SRV_CORES[$PHASE]=$(calc "${ACC_SRV[$PHASE]} / $CLK_TCK / $wall")
    if [ "$PHASE_OF" = hangar ]; then
        peak=$(sort -n "$WORK/rss.$PHASE" | tail -n 1)
        RSS_MB[$PHASE]=$(kb_to_mb "${peak:-0}")
        if [ -n "${ACC_HWM_KB[$PHASE]:-}" ]; then HWM_MB[$PHASE]=$(kb_to_mb "${ACC_HWM_KB[$PHASE]}"); else HWM_MB[$PHASE]="n/a"; fi
        TOKIO_CORES[$PHASE]=$(calc "${ACC_TOKIO[$PHASE]} / $CLK_TCK / $wall")
        SQLX_CORES[$PHASE]=$(calc "${ACC_SQLX[$PHASE]} / $CLK_TCK / $wall")
    fi
    [ "${1:-}" = quiet ] || phase_log "$PHASE"
}

phase_log() {
    if [ -n "${RSS_MB[$1]:-}" ]; then
        log "phase $1: $(fmtnum %.1f "${WALL_S[$1]}") s, peak RSS ${RSS_MB[$1]} MB (VmHWM ${HWM_MB[$1]} MB), Hangar CPU $(fmtnum %.2f "${SRV_CORES[$1]}") cores, client $(fmtnum %.2f "${CLIENT_CORES[$1]}") cores"
    else
        log "phase $1: $(fmtnum %.1f "${WALL_S[$1]}") s, nginx CPU $(fmtnum %.2f "${SRV_CORES[$1]}") cores, client $(fmtnum %.2f "${CLIENT_CORES[$1]}") cores"
    fi
}

# ms from a wrk duration such as 727.00us, 4.27ms, 1.02s
wrk_ms() { awk -v t="$1" 'BEGIN { v = t + 0; if (t ~ /us$/) v /= 1000; else if (t ~ /ms$/) ; else if (t ~ /m$/) v *= 60000; else if (t ~ /s$/) v *= 1000; printf "%.3f", v }'; }

# --- 1. server, accounts, repository ------------------------------------------------------------------

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/hangar-bench.XXXXXX") || die "mktemp failed"
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
need_kb=$((BIG_MIB * 1024 * 7 / 2))
[ "$avail_kb" -ge "$need_kb" ] || die "need about $((need_kb / 1024 / 1024)) GiB free under $WORK (source file, upload parts, staged blob)"

# Background CPU use before we start anything: other processes skew a 2-core benchmark.
m0=$(machine_busy_ticks)
sleep 1
BACKGROUND_CORES=$(calc "($(machine_busy_ticks) - $m0) / $CLK_TCK")
BUSY_WARNING=""
if [ "$(calc "$BACKGROUND_CORES > 0.3")" = 1 ]; then
    BUSY_WARNING="WARNING: other processes kept $(fmtnum %.2f "$BACKGROUND_CORES") of $(nproc) cores busy just before the run; every number below is skewed by that."
    log "$BUSY_WARNING"
fi

DATA="$WORK/data"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
log "starting $BIN serve on $BASE (data: $DATA)"
# Started from $WORK so that no hangar.toml of the current directory is picked up.
(cd "$WORK" && exec "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT") >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
    curl -fsS -o /dev/null "$BASE/api/health" 2>/dev/null && break
    server_alive || break
    sleep 0.2
done
curl -fsS -o /dev/null "$BASE/api/health" || {
    tail -n 20 "$WORK/server.log" >&2
    die "the server did not become healthy"
}

admin() { (cd "$WORK" && "$BIN" admin "$@" --data-dir "$DATA"); }
BENCH_USER=benchuser
REPO="$BENCH_USER/bench-model"
PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
admin user create "$BENCH_USER" --email bench@example.invalid --password "$PASSWORD" --verified >/dev/null ||
    die "hangar admin user create failed"
WRITE_TOKEN=$(admin token create --user "$BENCH_USER" --name bench-write --role write) || die "token create (write) failed"
READ_TOKEN=$(admin token create --user "$BENCH_USER" --name bench-read --role read) || die "token create (read) failed"

export HF_ENDPOINT="$BASE" HF_HUB_DISABLE_XET=1 HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 BENCH_WRITE_TOKEN="$WRITE_TOKEN"
"$PY" "$ROOT/bench/hub_client.py" setup "$REPO" >"$WORK/setup.log" 2>&1 || {
    cat "$WORK/setup.log" >&2
    die "creating the private repository with huggingface_hub failed"
}

SMALL_URL="$BASE/$REPO/resolve/main/config.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $READ_TOKEN" "$SMALL_URL")
[ "$code" = 200 ] || die "HEAD $SMALL_URL with the read token answered $code, not 200"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$SMALL_URL")
[ "$code" != 200 ] || die "anonymous HEAD on the private repository answered 200: the repository is not private"
SMALL_BYTES=$(curl -s -o "$WORK/config.json" -w '%{size_download}' -H "Authorization: Bearer $READ_TOKEN" "$SMALL_URL")

# --- nginx (reference server) -------------------------------------------------------------------------

NGINX_PORT=""
start_nginx() {
    local prefix="$WORK/nginx"
    mkdir -p "$prefix/root" "$prefix/tmp" "$prefix/logs"
    NGINX_PORT=$(free_port)
    {
        # The temporary directory is private (0700): when we are root, workers must be root to read it.
        [ "$(id -u)" -eq 0 ] && echo "user root;"
        cat <<EOF
worker_processes auto;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $prefix/root;
    }
}
EOF
    } >"$prefix/nginx.conf"
    nginx -c "$prefix/nginx.conf" -p "$prefix/" -e "$prefix/logs/error.log" >"$prefix/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$prefix/logs/error.log" "$prefix/logs/stdout.log" >&2
    return 1
}
start_nginx || die "nginx did not start"
NGINX_ROOT="$WORK/nginx/root"
cp "$WORK/config.json" "$NGINX_ROOT/config.json"

# --- 2. HEAD /resolve (and the small-file references) -------------------------------------------------

HEAD_RPS="" HEAD_P50="" HEAD_P99=""
run_ab_head() { # url label csv out -> sets AB_RPS AB_P50 AB_P99 AB_N; returns 1 when unusable
    local url=$1 label=$2 csv=$3 out=$4 non2xx failed
    AB_RPS="" AB_P50="" AB_P99="" AB_N=""
    client ab -q -i -k -c "$CONNECTIONS" -t "$DURATION" -n $((DURATION * 200000)) -e "$csv" \
        -H "Authorization: Bearer $READ_TOKEN" "$url" >"$out" 2>&1
    local rc=$?
    AB_N=$(awk '/^Complete requests:/ { print $3 }' "$out")
    AB_RPS=$(awk '/^Requests per second:/ { print $4 }' "$out")
    non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
    failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
    AB_P50=$(awk -F, '$1 == "50" { print $2 }' "$csv" 2>/dev/null)
    AB_P99=$(awk -F, '$1 == "99" { print $2 }' "$csv" 2>/dev/null)
    if [ $rc -ne 0 ] || [ -z "$AB_RPS" ] || [ -z "$AB_P99" ] || [ "${AB_N:-0}" -eq 0 ]; then
        fail "$label: ab exited $rc ($(tail -n 1 "$out"))"
        return 1
    fi
    if [ -n "$non2xx" ] && [ "$non2xx" -gt 0 ]; then
        fail "$label: $non2xx of $AB_N responses were not 2xx"
        return 1
    fi
    if [ "${failed:-0}" -gt 0 ]; then
        fail "$label: ab counted $failed failed requests"
        return 1
    fi
    cp "$out" "$OUT/$(basename "$out")"
    return 0
}

log "HEAD $SMALL_URL: ab -i -k -c$CONNECTIONS -t$DURATION (read token)"
phase_begin head
if run_ab_head "$SMALL_URL" "HEAD /resolve" "$WORK/ab-head-hangar.csv" "$WORK/ab-head-hangar.txt"; then
    HEAD_RPS=$AB_RPS HEAD_P50=$AB_P50 HEAD_P99=$AB_P99
fi
phase_end

log "reference: the same ab run against nginx serving a copy of config.json"
NGX_HEAD_RPS="" NGX_HEAD_P50="" NGX_HEAD_P99=""
phase_begin head_nginx nginx
if run_ab_head "http://127.0.0.1:$NGINX_PORT/config.json" "HEAD on nginx" "$WORK/ab-head-nginx.csv" "$WORK/ab-head-nginx.txt"; then
    NGX_HEAD_RPS=$AB_RPS NGX_HEAD_P50=$AB_P50 NGX_HEAD_P99=$AB_P99
fi
phase_end

log "GET $SMALL_URL: wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency (Lua: Authorization header)"
cat >"$WORK/get.lua" <<EOF
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer $READ_TOKEN"
EOF
GETS_RPS="" GETS_P50="" GETS_P99=""
phase_begin get_small
client wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/get.lua" "$SMALL_URL" >"$WORK/wrk-get-small.txt" 2>&1
wrk_rc=$?
phase_end
cp "$WORK/wrk-get-small.txt" "$OUT/wrk-get-small.txt"
if [ $wrk_rc -ne 0 ]; then
    fail "GET small (wrk): wrk exited $wrk_rc"
elif grep -q 'Non-2xx or 3xx responses' "$WORK/wrk-get-small.txt"; then
    fail "GET small (wrk): $(grep 'Non-2xx' "$WORK/wrk-get-small.txt" | xargs)"
else
    GETS_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-get-small.txt")
    GETS_P50=$(wrk_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-get-small.txt")")
    GETS_P99=$(wrk_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk-get-small.txt")")
    [ -n "$GETS_RPS" ] && [ "$(calc "$GETS_RPS > 0")" = 1 ] || fail "GET small (wrk): no requests completed"
fi

# --- 3. upload of the large file ----------------------------------------------------------------------

BIG="$WORK/weights-${BIG_MIB}MiB.bin"
log "writing $BIG_MIB MiB of random data to $BIG"
head -c "$BIG_BYTES" /dev/urandom >"$BIG" || die "could not write $BIG"

log "uploading it with HfApi.upload_file (LFS multipart)"
UPLOAD_S="" HASH_S="" UPLOAD_BREAKDOWN=""
phase_begin upload
client "$PY" "$ROOT/bench/hub_client.py" upload "$REPO" "$BIG" >"$WORK/upload.out" 2>"$WORK/upload.err"
up_rc=$?
phase_end
if [ $up_rc -eq 0 ]; then
    UPLOAD_S=$(tail -n 1 "$WORK/upload.out")
    # For the breakdown: how long the client's own SHA-256 pass over the (cached) file takes.
    HASH_S=$("$PY" "$ROOT/bench/hub_client.py" hash "$BIG" 2>/dev/null | tail -n 1)
    UPLOAD_BREAKDOWN=$(sed -n 's/^breakdown //p' "$WORK/upload.out")
else
    tail -n 5 "$WORK/upload.err" >&2
    fail "upload: huggingface_hub exited $up_rc"
fi

# --- 3b. the same file inline in a commit (base64 in one NDJSON line) --------------------------------

INLINE_S=""
log "committing it inline, base64 in one NDJSON line (${BIG_MIB} MiB -> $((BIG_MIB * 4 / 3)) MiB line)"
phase_begin inline
client "$PY" "$ROOT/bench/hub_client.py" inline "$REPO" "$BIG" >"$WORK/inline.out" 2>"$WORK/inline.err"
in_rc=$?
phase_end
if [ $in_rc -eq 0 ]; then
    INLINE_S=$(tail -n 1 "$WORK/inline.out")
else
    tail -n 5 "$WORK/inline.err" >&2
    fail "inline commit: exited $in_rc"
fi

# --- 4. GET of the large file, Hangar vs nginx --------------------------------------------------------

BIG_URL="$BASE/$REPO/resolve/main/$(basename "$BIG")"
GET_MBS="" NGX_GET_MBS="" PAR_MBS="" NGX_PAR_MBS="" GET_RANGE="" NGX_GET_RANGE="" PAR_RANGE="" NGX_PAR_RANGE=""

curl_get() { # url [auth] -> prints "code bytes seconds"
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' "$@" "$url"
}

# One timed single-stream download; prints MB/s or nothing (and records why) on failure.
single_stream() { # label url [curl args...]
    local label=$1 url=$2 code bytes secs
    shift 2
    read -r code bytes secs < <(client curl_get "$url" "$@")
    if [ "$code" != 200 ] || [ "$bytes" != "$BIG_BYTES" ]; then
        fail "$label: HTTP $code, $bytes of $BIG_BYTES bytes"
        return 1
    fi
    calc "$BIG_BYTES / 1e6 / $secs"
}

# PARALLEL_RANGES concurrent Range requests covering the file; prints aggregate MB/s.
parallel_ranges() { # label url [curl args...]
    local label=$1 url=$2 i start end t0 t1 ok=1 part=$((BIG_BYTES / PARALLEL_RANGES)) pids=()
    shift 2
    t0=$(now_ms)
    for ((i = 0; i < PARALLEL_RANGES; i++)); do
        start=$((i * part))
        end=$((i == PARALLEL_RANGES - 1 ? BIG_BYTES - 1 : start + part - 1))
        client curl_get "$url" -r "$start-$end" "$@" >"$WORK/range.$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    t1=$(now_ms)
    for ((i = 0; i < PARALLEL_RANGES; i++)); do
        read -r code bytes _ <"$WORK/range.$i"
        start=$((i * part))
        end=$((i == PARALLEL_RANGES - 1 ? BIG_BYTES - 1 : start + part - 1))
        if [ "$code" != 206 ] || [ "$bytes" != $((end - start + 1)) ]; then
            fail "$label: range $i answered HTTP $code with $bytes bytes"
            ok=0
        fi
    done
    [ $ok = 1 ] || return 1
    calc "$BIG_BYTES / 1e6 / (($t1 - $t0) / 1000)"
}

if [ -n "$UPLOAD_S" ]; then
    AUTH=(-H "Authorization: Bearer $READ_TOKEN")
    # The ETag of an LFS file is its SHA-256, which also names the blob on disk.
    SHA=$(curl -sI "${AUTH[@]}" "$BIG_URL" | awk -F'"' 'tolower($0) ~ /^etag:/ { print $2 }')
    BLOB=""
    [ -n "$SHA" ] && BLOB=$(find "$DATA" -type f -name "$SHA" -size "${BIG_BYTES}c" 2>/dev/null | head -n 1)
    if [ -n "$BLOB" ]; then
        ln -s "$BLOB" "$NGINX_ROOT/big.bin"
        rm -f "$BIG" # nginx serves Hangar's own copy; the source file is no longer needed
        NGINX_SOURCE="the blob file in Hangar's data directory"
    else
        ln -s "$BIG" "$NGINX_ROOT/big.bin"
        NGINX_SOURCE="the uploaded source file (Hangar's blob was not found by its SHA-256)"
    fi
    NGINX_BIG_URL="http://127.0.0.1:$NGINX_PORT/big.bin"

    log "warm-up reads (page cache): Hangar and nginx"
    curl_get "$BIG_URL" "${AUTH[@]}" >"$WORK/warm-hangar"
    curl_get "$NGINX_BIG_URL" >"$WORK/warm-nginx"

    # Hangar and nginx runs alternate, so that drift (other processes, CPU placement of server and
    # curl) touches both alike; each server's phase adds up over its own runs only.
    log "GET $BIG_MIB MiB, single stream, $GET_RUNS runs each, alternating Hangar and nginx"
    : >"$WORK/get-hangar.mbs"
    : >"$WORK/get-nginx.mbs"
    for ((r = 0; r < GET_RUNS; r++)); do
        phase_begin get_big
        single_stream "GET large (Hangar)" "$BIG_URL" "${AUTH[@]}" >>"$WORK/get-hangar.mbs" && echo >>"$WORK/get-hangar.mbs"
        phase_end quiet
        phase_begin get_big_nginx nginx
        single_stream "GET large (nginx)" "$NGINX_BIG_URL" >>"$WORK/get-nginx.mbs" && echo >>"$WORK/get-nginx.mbs"
        phase_end quiet
    done
    phase_log get_big
    phase_log get_big_nginx
    GET_MBS=$(grep . "$WORK/get-hangar.mbs" | median)
    NGX_GET_MBS=$(grep . "$WORK/get-nginx.mbs" | median)
    GET_RANGE=$(grep . "$WORK/get-hangar.mbs" | min_max)
    NGX_GET_RANGE=$(grep . "$WORK/get-nginx.mbs" | min_max)
    log "single stream MB/s: Hangar $(grep . "$WORK/get-hangar.mbs" | xargs), nginx $(grep . "$WORK/get-nginx.mbs" | xargs)"

    log "GET $BIG_MIB MiB as $PARALLEL_RANGES parallel Range requests, $GET_RUNS runs each, alternating"
    : >"$WORK/par-hangar.mbs"
    : >"$WORK/par-nginx.mbs"
    for ((r = 0; r < GET_RUNS; r++)); do
        phase_begin get_ranges
        parallel_ranges "ranges (Hangar)" "$BIG_URL" "${AUTH[@]}" >>"$WORK/par-hangar.mbs" && echo >>"$WORK/par-hangar.mbs"
        phase_end quiet
        phase_begin get_ranges_nginx nginx
        parallel_ranges "ranges (nginx)" "$NGINX_BIG_URL" >>"$WORK/par-nginx.mbs" && echo >>"$WORK/par-nginx.mbs"
        phase_end quiet
    done
    phase_log get_ranges
    phase_log get_ranges_nginx
    PAR_MBS=$(grep . "$WORK/par-hangar.mbs" | median)
    NGX_PAR_MBS=$(grep . "$WORK/par-nginx.mbs" | median)
    PAR_RANGE=$(grep . "$WORK/par-hangar.mbs" | min_max)
    NGX_PAR_RANGE=$(grep . "$WORK/par-nginx.mbs" | min_max)
    log "parallel ranges MB/s: Hangar $(grep . "$WORK/par-hangar.mbs" | xargs), nginx $(grep . "$WORK/par-nginx.mbs" | xargs)"
else
    fail "GET large: skipped because the upload failed"
fi

# --- report -------------------------------------------------------------------------------------------

verdict() { if [ "$(calc "$1")" = 1 ]; then echo PASS; else echo MISS; fi; }
rss_cell() { echo "${RSS_MB[$1]:-n/a} MB"; }
rss_verdict() { [ -n "${RSS_MB[$1]:-}" ] && verdict "${RSS_MB[$1]} <= $TARGET_RSS_MB" || echo "n/a"; }
num() { [ -n "$2" ] && fmtnum "$1" "$2" || echo "n/a"; }

ROWS=()
if [ -n "$HEAD_RPS" ]; then
    HEAD_VERDICT=$(verdict "$HEAD_RPS >= $TARGET_HEAD_RPS && $HEAD_P99 <= $TARGET_HEAD_P99_MS")
else
    HEAD_VERDICT="n/a"
fi
ROWS+=("| 1 | HEAD \`/resolve\`, small file ($SMALL_BYTES B), private repo, read token (ab -i -k, $CONNECTIONS conn., ${DURATION} s) | $(num %.0f "$HEAD_RPS") req/s; p50 $(num %.2f "$HEAD_P50") ms; p99 $(num %.2f "$HEAD_P99") ms | ≥ $TARGET_HEAD_RPS req/s and p99 ≤ $TARGET_HEAD_P99_MS ms | $HEAD_VERDICT | $(rss_cell head) | $(rss_verdict head) |")
ROWS+=("| 1r | *reference:* same ab run, HEAD on nginx serving a copy of the file | $(num %.0f "$NGX_HEAD_RPS") req/s; p50 $(num %.2f "$NGX_HEAD_P50") ms; p99 $(num %.2f "$NGX_HEAD_P99") ms | (ceiling of client + machine) | | | |")
ROWS+=("| 1b | GET \`/resolve\`, same small file (wrk -t2 -c$CONNECTIONS -d${DURATION}s, Lua sets Authorization) | $(num %.0f "$GETS_RPS") req/s; p50 $(num %.2f "$GETS_P50") ms; p99 $(num %.2f "$GETS_P99") ms | (informational) | | $(rss_cell get_small) | $(rss_verdict get_small) |")
if [ -n "$GET_MBS" ] && [ -n "$NGX_GET_MBS" ]; then
    GET_RATIO=$(calc "$GET_MBS / $NGX_GET_MBS")
    GET_VERDICT=$(verdict "$GET_RATIO >= $TARGET_GET_RATIO")
else
    GET_RATIO="" GET_VERDICT="n/a"
fi
ROWS+=("| 2 | GET $BIG_MIB MiB LFS file, 1 stream, curl (median of $GET_RUNS runs each, alternating; min–max in brackets; page cache warm) | Hangar $(num %.0f "$GET_MBS") MB/s ($GET_RANGE); nginx $(num %.0f "$NGX_GET_MBS") MB/s ($NGX_GET_RANGE); **ratio $(num %.2f "$GET_RATIO")** | ratio ≥ $TARGET_GET_RATIO | $GET_VERDICT | $(rss_cell get_big) | $(rss_verdict get_big) |")
if [ -n "$PAR_MBS" ] && [ -n "$NGX_PAR_MBS" ]; then PAR_RATIO=$(calc "$PAR_MBS / $NGX_PAR_MBS"); else PAR_RATIO=""; fi
ROWS+=("| 2b | GET $BIG_MIB MiB LFS file as $PARALLEL_RANGES parallel Range requests (median of $GET_RUNS, min–max in brackets) | Hangar $(num %.0f "$PAR_MBS") MB/s ($PAR_RANGE); nginx $(num %.0f "$NGX_PAR_MBS") MB/s ($NGX_PAR_RANGE); ratio $(num %.2f "$PAR_RATIO") | (informational) | | $(rss_cell get_ranges) | $(rss_verdict get_ranges) |")
if [ -n "$UPLOAD_S" ]; then UPLOAD_MBS=$(calc "$BIG_BYTES / 1e6 / $UPLOAD_S"); else UPLOAD_MBS=""; fi
ROWS+=("| 3 | Upload $BIG_MIB MiB random file, \`HfApi.upload_file\` (LFS multipart) | $(num %.1f "$UPLOAD_S") s; $(num %.0f "$UPLOAD_MBS") MB/s (of which ~$(num %.1f "${HASH_S:-}") s client-side SHA-256) | (none; RSS only) | | $(rss_cell upload) | $(rss_verdict upload) |")
if [ -n "$INLINE_S" ]; then INLINE_MBS=$(calc "$BIG_BYTES / 1e6 / $INLINE_S"); else INLINE_MBS=""; fi
ROWS+=("| 3b | The same $BIG_MIB MiB file committed inline: base64 in one NDJSON line of $((BIG_MIB * 4 / 3)) MiB, streamed by the client | $(num %.1f "$INLINE_S") s; $(num %.0f "$INLINE_MBS") MB/s of file content | (none; RSS only) | | $(rss_cell inline) | $(rss_verdict inline) |")

cpu_row() { # label phase server client
    local hwm="—" tokio="—" sqlx="—"
    if [ "$3" = Hangar ]; then
        hwm="${HWM_MB[$2]:-n/a} MB" tokio=$(num %.2f "${TOKIO_CORES[$2]:-}") sqlx=$(num %.2f "${SQLX_CORES[$2]:-}")
    fi
    echo "| $1 | $3 | $(num %.1f "${WALL_S[$2]:-}") | $(num %.2f "${SRV_CORES[$2]:-}") | $tokio | $sqlx | $(num %.2f "${CLIENT_CORES[$2]:-}") ($4) | $hwm |"
}

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GIB=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes under crates/)"

{
    echo "## Hangar benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores ($CPU_MODEL), $MEM_GIB GiB RAM, Linux $(uname -r). Hangar $COMMIT, release build, SQLite, one server process for all phases."
    echo "Background CPU before the run: $(fmtnum %.2f "$BACKGROUND_CORES") cores busy. MB = 10^6 bytes."
    [ -z "$BUSY_WARNING" ] || printf '\n**%s**\n' "$BUSY_WARNING"
    echo
    echo "| # | Measurement | Result | Target | Met? | Server peak RSS (50 ms samples) | RSS ≤ $TARGET_RSS_MB MB? |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "CPU during each phase, in cores (CPU seconds / wall seconds; the machine has $(nproc)). Server and client are measured per process (/proc/PID/stat, bash times); they share the machine."
    echo
    echo "| Phase | Server | Wall (s) | Server CPU | tokio threads | sqlx-sqlite threads | Client CPU | Server VmHWM in phase |"
    echo "|---|---|---|---|---|---|---|---|"
    cpu_row "1 HEAD small file" head Hangar "ab, 1 thread"
    cpu_row "1r HEAD small file" head_nginx nginx "ab, 1 thread"
    cpu_row "1b GET small file" get_small Hangar "wrk, 2 threads"
    cpu_row "2 GET large, 1 stream" get_big Hangar "curl"
    cpu_row "2 GET large, 1 stream" get_big_nginx nginx "curl"
    cpu_row "2b GET large, 4 ranges" get_ranges Hangar "4 curl"
    cpu_row "2b GET large, 4 ranges" get_ranges_nginx nginx "4 curl"
    cpu_row "3 upload" upload Hangar "python"
    cpu_row "3b inline commit" inline Hangar "python"
    echo
    echo "Server CPU not in the tokio or sqlx-sqlite columns was spent by threads that exited before the phase ended (tokio's blocking pool, which also runs file reads and writes, and whose idle threads exit after 10 s), or by the main thread."
    echo
    if [ -n "$UPLOAD_BREAKDOWN" ]; then
        echo "Upload breakdown, client side (time from sending each request to its response, by kind): $UPLOAD_BREAKDOWN. One SHA-256 pass over the file in the client's Python: $(num %.2f "${HASH_S:-}") s (the client hashes before it uploads; the rest is client overhead)."
        echo
    fi
    echo "nginx ($(nginx -v 2>&1 | sed 's/^nginx version: //'), worker_processes auto, sendfile on) served ${NGINX_SOURCE:-nothing}."
    if [ ${#ERRORS[@]} -gt 0 ]; then
        echo
        echo "**Not measured:**"
        printf -- '- %s\n' "${ERRORS[@]}"
    fi
} >"$OUT/results.md"

echo
cat "$OUT/results.md"
echo
log "written to bench/out/results.md (raw tool output and server log beside it)"

[ ${#ERRORS[@]} -eq 0 ] || exit 1
exit 0

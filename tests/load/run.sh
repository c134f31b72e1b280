#!/usr/bin/env bash
# Load benchmark of in-browser listeners (doc/performance.md, "Many listeners in their
# browsers"): builds a release sidflowd, starts it on loopback with a fresh state folder and
# the built-in demo library (or --library DIR), with the default limits, and runs
# inbrowser-sessions.mjs against it. Each simulated listener has a loopback address of its
# own (127.10.x.y), so the per-client limits (limits.sessions_per_minute, the per-client
# connection cap) apply to each listener as to a real one. One limit is raised, and said so:
# every listener holds the page's event stream open, so more than ~900 listeners need more than
# the default server.max_connections (1024); the run sets it to listeners + 512 (the setting
# allows up to 60 000; the packaged unit's LimitNOFILE=8192 allows ~7 000 streams).
#   tests/load/run.sh [--sessions 5000] [--duration 300] [...]   (options: inbrowser-sessions.mjs)
# Environment: SIDFLOWD (a prebuilt binary), LIBRARY (a SID folder, default the demo library).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
if [ -z "${SIDFLOWD:-}" ]; then
    (cd "$ROOT" && cargo build -q --release -p sidflowd)
    SIDFLOWD="${CARGO_TARGET_DIR:-$ROOT/target}/release/sidflowd"
fi
DATA=$(mktemp -d "${TMPDIR:-/tmp}/sidflow-load.XXXXXX")
printf '[cache]\nwav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n' >"$DATA/sidflow.toml"
sessions=5000
prev=""
for a in "$@"; do [ "$prev" = --sessions ] && sessions=$a; prev=$a; done
if [ "$sessions" -gt 900 ]; then
    printf '[server]\nmax_connections = %d\n' $((sessions + 512)) >>"$DATA/sidflow.toml"
    echo "server.max_connections = $((sessions + 512)) (default 1024): every listener may hold an event stream"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -n "${LIBRARY:-}" ]; then printf '[paths]\nlibrary = "%s"\n' "$LIBRARY" >>"$DATA/sidflow.toml"; fi
env -u SIDFLOW_ADMIN_PASSWORD RUST_LOG=warn,sidflowd::cmd::serve=info "$SIDFLOWD" serve --config "$DATA/sidflow.toml" --listen 127.0.0.1:0 --data-dir "$DATA" 2>"$DATA/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
ADDR=""
for _ in $(seq 300); do
    ADDR=$(sed -n 's#.*listening on http://\([^ ]*\).*#\1#p' "$DATA/log" | head -1)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$DATA/log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ADDR" ] || { cat "$DATA/log" >&2; exit 1; }
# Wait for the library scan, then measure.
for _ in $(seq 600); do
    curl -sf "http://$ADDR/api/health" | grep -q '"scanning":false' && break
    sleep 0.5
done
echo "sidflowd $("$SIDFLOWD" --version 2>/dev/null | head -1) at http://$ADDR, pid $PID; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
node inbrowser-sessions.mjs --url "http://$ADDR" --pid "$PID" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -ciE ' (warn|error) ' "$DATA/log" | sed 's/^/daemon log warnings and errors: /'

#!/usr/bin/env bash
# Whole-process web measurements (doc/performance.md, "## Web"):
#   1. time to first MP3 byte for an uncached song (render + encode start) and a cached one;
#   2. cached-file throughput under concurrent listeners with wrk (Debian's `wrk`).
# Usage: tests/browser/bench.sh [path/to/sidflowd]   (default: target/release/sidflowd)
# Loopback only; every loop is bounded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/sidflowd}
PORT=${PORT:-18181}
DATA=$(mktemp -d /tmp/sidflow-bench.XXXXXX)
env -u SIDFLOW_ADMIN_PASSWORD "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DATA" 2>"$DATA/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"
paths=$(curl -s "$BASE/api/library/browse?path=" | python3 -c 'import json,sys; print("\n".join(t["path"] for t in json.load(sys.stdin)["tunes"]))')
session() { curl -s -H 'Content-Type: application/json' -d "{\"path\":\"$1\"}" "$BASE/api/play" | python3 -c 'import json,sys; print(json.load(sys.stdin)["urls"]["audio"])'; }
echo "tune                      uncached_ttfb_ms  uncached_total_ms  cached_ttfb_ms  bytes"
last=""
for p in $paths; do
    u=$(session "$p")
    read -r t1 tot1 < <(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "$BASE$u")
    u=$(session "$p")
    read -r t2 size < <(curl -s -o /dev/null -w '%{time_starttransfer} %{size_download}\n' "$BASE$u")
    printf "%-25s %16.1f %18.1f %15.2f %6d\n" "$p" "$(echo "$t1*1000" | bc -l)" "$(echo "$tot1*1000" | bc -l)" "$(echo "$t2*1000" | bc -l)" "$size"
    last="$BASE$u"
done
echo
echo "wrk, whole cached MP3 per request ($last):"
for c in 10 100 400; do
    echo "-- $c connections"
    wrk -t2 -c$c -d10s "$last" | grep -E "Requests/sec|Transfer/sec|Latency|Socket errors" || true
done
echo "wrk, 64 KiB Range requests (what a seeking/buffering player sends):"
cat > "$DATA/range.lua" <<'LUA'
wrk.headers["Range"] = "bytes=65536-131071"
LUA
wrk -t2 -c100 -d10s -s "$DATA/range.lua" "$last" | grep -E "Requests/sec|Transfer/sec|Latency|Socket errors" || true

#!/usr/bin/env bash
# Idle RSS and restart-to-ready of the whole daemon with a generated library (issue 14;
# figures in doc/performance.md, "Library in the daemon").
#   tests/bench/library-rss.sh <collection dir> [idle seconds]
# The collection is made by `libbench gen <dir> <tunes>` (crates/library/examples). Runs
# target/release/sidflowd (or $SIDFLOWD) twice on a fresh state folder: a first start
# (first scan) and a restart (index ready at once), each left idle, and prints the tune
# count, the time until /api/health says the scan is over, and VmRSS then and after idling.
# MALLOC_MMAP_THRESHOLD_ is passed through from the environment (the packaged unit sets it).
set -euo pipefail
LIB=$(cd "$1" && pwd)
IDLE=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SIDFLOWD:-$ROOT/target/release/sidflowd}
STATE=$(mktemp -d "${TMPDIR:-/tmp}/sidflow-rss.XXXXXX")
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$STATE"' EXIT
printf "[paths]\nlibrary = \"%s\"\n%b" "$LIB" "${EXTRA_TOML:-}" >"$STATE/sidflow.toml"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
run() {
    local what=$1 t0 addr="" ready
    t0=$(date +%s.%N)
    env -u SIDFLOW_ADMIN_PASSWORD RUST_LOG=warn "$BIN" serve --config "$STATE/sidflow.toml" \
        --listen 127.0.0.1:0 --data-dir "$STATE" 2>"$STATE/log" &
    PID=$!
    # The address is only logged at info: ask the kernel instead.
    for _ in $(seq 400); do
        addr=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$PID," '$0 ~ p {print $4; exit}')
        [ -n "$addr" ] && break
        sleep 0.05
    done
    local first=""
    while :; do
        local h
        h=$(curl -s "http://$addr/api/health" || true)
        [ -z "$first" ] && [ -n "$h" ] && first=$(echo "$h" | sed -n 's/.*"tunes":\([0-9]*\).*/\1/p') &&
            first_t=$(date +%s.%N)
        if echo "$h" | grep -q '"scanning":false'; then break; fi
        sleep 0.05
    done
    ready=$(date +%s.%N)
    local tunes r0
    tunes=$(curl -s "http://$addr/api/health" | sed -n 's/.*"tunes":\([0-9]*\).*/\1/p')
    r0=$(rss $PID)
    sleep "$IDLE"
    printf '%-8s tunes %6s  first answer %5.2f s with %6s tunes  scan over %6.2f s  RSS then %6.1f MB  idle %6.1f MB\n' \
        "$what" "$tunes" "$(echo "$first_t - $t0" | bc)" "$first" "$(echo "$ready - $t0" | bc)" \
        "$(echo "$r0 / 1024" | bc -l)" "$(echo "$(rss $PID) / 1024" | bc -l)"
    kill -TERM $PID
    wait $PID || true
}
run first
run restart

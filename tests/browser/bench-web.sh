#!/usr/bin/env bash
# The web page's budgets (doc/performance.md, "## Web page"): starts a daemon with a fresh state
# folder (built-in demo library) and runs bench-web.mjs in headless Chromium.
#   tests/browser/bench-web.sh [path/to/sidflowd]   (default: target/debug/sidflowd)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sidflowd}
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
DATA=$(mktemp -d "${TMPDIR:-/tmp}/sidflow-benchweb.XXXXXX")
printf '[cache]\nwav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n' >"$DATA/sidflow.toml"
env -u SIDFLOW_ADMIN_PASSWORD "$BIN" serve --config "$DATA/sidflow.toml" --listen 127.0.0.1:0 --data-dir "$DATA" 2>"$DATA/log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
ADDR=""
for _ in $(seq 200); do
    ADDR=$(sed -n 's#.*listening on http://\([^ ]*\).*#\1#p' "$DATA/log" | head -1)
    [ -n "$ADDR" ] && break
    sleep 0.1
done
[ -n "$ADDR" ] || { cat "$DATA/log" >&2; exit 1; }
SIDFLOW_URL="http://$ADDR" node bench-web.mjs

#!/usr/bin/env bash
# Browser tests: build sidflowd, start it on a free loopback port with a fresh state
# folder (built-in demo library), run the Playwright specs in headless Debian Chromium,
# stop the daemon with SIGTERM and check it exits cleanly.
#   tests/browser/run.sh            (needs: node >= 18, npm, /usr/bin/chromium)
# Environment: CARGO_TARGET_DIR (default <repo>/target), SIDFLOWD (a prebuilt binary),
# CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
if [ -z "${SIDFLOWD:-}" ]; then
    (cd "$ROOT" && cargo build -q -p sidflowd)
    SIDFLOWD="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sidflowd"
fi
DATA=$(mktemp -d "${TMPDIR:-/tmp}/sidflow-browser.XXXXXX")
# "Play on the box": ALSA's file plugin (over null, no sound card needed) writes into a FIFO
# that a reader drains at a card's pace (48 kHz, 2 ch, S16), so the box plays in real time.
mkfifo "$DATA/box.pcm"
node -e '
const fs = require("fs");
const fd = fs.openSync(process.argv[1], "r");
const buf = Buffer.alloc(3840);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let budget = 0, last = Date.now();
for (;;) {
  const now = Date.now();
  budget = Math.min(budget + (now - last) * 192, 19200);
  last = now;
  if (budget < buf.length) { sleep(5); continue; }
  let n;
  try { n = fs.readSync(fd, buf, 0, buf.length, null); } catch (e) { if (e.code === "EAGAIN") { sleep(5); continue; } break; }
  if (n === 0) break;
  budget -= n;
}' "$DATA/box.pcm" &
READER=$!
# The cache's disk thresholds are judged on the host's real disk; keep them from
# triggering so the tests do not depend on how full the machine's disk is.
printf '[cache]\nwav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n[lineout]\ndevice = "file:FILE=%s,FORMAT=raw"\nformat = "S16_LE"\n' "$DATA/box.pcm" >"$DATA/sidflow.toml"
env -u SIDFLOW_ADMIN_PASSWORD RUST_LOG=info "$SIDFLOWD" serve --config "$DATA/sidflow.toml" --listen 127.0.0.1:0 --data-dir "$DATA" 2>"$DATA/daemon.log" &
PID=$!
cleanup() {
    kill "$PID" "$READER" 2>/dev/null || true
    wait "$PID" "$READER" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT
ADDR=""
for _ in $(seq 200); do
    ADDR=$(sed -n 's#.*listening on http://\([^ ]*\).*#\1#p' "$DATA/daemon.log" | head -1)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$DATA/daemon.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ADDR" ] || { echo "sidflowd did not start" >&2; cat "$DATA/daemon.log" >&2; exit 1; }
echo "sidflowd at http://$ADDR (state $DATA)"
status=0
# One file at a time, in this order (node --test would sort them): ui.test.mjs expects a fresh
# box without an operator password; features.test.mjs ends by adding a simulated C64 Ultimate.
t0=$(date +%s)
for spec in ${SPECS:-ui.test.mjs everyday.test.mjs phone.test.mjs a11y.test.mjs engines.test.mjs features.test.mjs devices.test.mjs library.test.mjs}; do
    # shellcheck disable=SC2086 # TEST_ARGS is a list of options
    SIDFLOWD_BIN="$SIDFLOWD" SIDFLOW_URL="http://$ADDR" SIDFLOW_DATA="$DATA" node --test ${TEST_ARGS:-} "$spec" || status=$?
done
echo "browser suite: $(( $(date +%s) - t0 )) s"
kill -TERM "$PID"
if ! wait "$PID"; then
    echo "sidflowd did not exit cleanly on SIGTERM" >&2
    tail -20 "$DATA/daemon.log" >&2
    status=1
fi
if [ "$status" != 0 ]; then tail -30 "$DATA/daemon.log" >&2; fi
exit "$status"

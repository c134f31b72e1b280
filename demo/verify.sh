#!/bin/sh
# verify.sh - render every demo song with Debian's sidplayfp and check it is music:
# not silent, not clipping, and the lead voice plays the notes of the score at the
# intended tempo (first 8 two-row windows of a lead-only render).
# Copyright (C) 2026 SIDFlow Team
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Needs sidplayfp, sox, python3. Takes about a minute. Not part of CI (build.sh is).
set -e
cd "$(dirname "$0")"
for tool in sidplayfp sox python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "demo/verify.sh: $tool not found" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# file song step(seconds per 2 rows) voices-to-mute expected-first-8-lead-notes
check() {
    file=$1; song=$2; step=$3; mute=$4; expect=$5
    sidplayfp --delay=0 -q -t30 -o"$song" -w"$tmp/full.wav" "$file.sid" >/dev/null 2>&1
    # shellcheck disable=SC2086
    sidplayfp --delay=0 -q -t6 -o"$song" $mute -w"$tmp/lead.wav" "$file.sid" >/dev/null 2>&1
    stats=$(sox "$tmp/full.wav" -n stat 2>&1 | awk '/^Maximum amp/{mx=$3} /^Minimum amp/{mn=-$3} /^RMS     amp/{r=$3} /^Length/{l=$3} END{if(mn>mx)mx=mn; printf "%s %s %s", l, mx, r}')
    set -- $stats
    len=$1; peak=$2; rms=$3
    notes=$(python3 tools/notes.py "$tmp/lead.wav" 0.05 "$step" 8)
    verdict=ok
    awk -v r="$rms" -v p="$peak" 'BEGIN{exit !(r > 0.02 && p < 0.99)}' || verdict="BAD LEVEL"
    [ "$notes" = "$expect" ] || verdict="WRONG NOTES (want $expect)"
    printf '%-15s song %s  %5.1f s  peak %.3f  rms %.3f  lead: %s  %s\n' "$file" "$song" "$len" "$peak" "$rms" "$notes" "$verdict"
    [ "$verdict" = ok ] || fail=1
}

M3="-u2 -u3"
check first-light    1 0.2394 "$M3" "e5 e5 g5 g5 c6 c6 c6 b5"
check three-wishes   1 0.2394 "$M3" "a4 c5 e5 e5 d5 c5 b4 c5"
check three-wishes   2 0.2667 "$M3" "fs5 fs5 fs5 fs5 a5 a5 d5 d5"
check three-wishes   3 0.2195 "$M3" "e5 g5 b5 e6 d6 b5 g5 b5"
check sixty-hertz    1 0.2340 "$M3" "e5 g5 a5 c6 c6 b5 a5 g5"
check silicon-dawn   1 0.2793 "$M3" "cs5 cs5 cs5 fs5 a5 a5 a5 a5"
check raster-rider   1 0.2394 "$M3" "b4 d5 fs5 fs5 e5 d5 cs5 d5"
check pulse-code     1 0.2394 "$M3" "d5 d5 f5 f5 a5 a5 a5 g5"
check left-and-right 1 0.2394 "-u2 -u3 -u4 -u5 -u6" "d5 d5 g5 g5 b5 b5 b5 a5"
check illegal-tender 1 0.2394 "$M3" "c5 ds5 g5 g5 f5 ds5 d5 ds5"
check basement       1 0.2793 "$M3" "g4 g4 as4 as4 d5 d5 d5 c5"
check trinity        1 0.2394 "-u2 -u3 -u4 -u5 -u6 -u7 -u8 -u9" "c5 c5 f5 f5 a5 a5 a5 g5"

if [ "$fail" != 0 ]; then
    echo "demo/verify.sh: FAILED" >&2
    exit 1
fi
echo "demo/verify.sh: all songs OK"

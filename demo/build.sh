#!/bin/sh
# build.sh - reassemble every SIDFlow demo tune and check that the result is
# byte-identical to the committed demo/*.sid; also check Songlengths.md5 and sizes.
# Copyright (C) 2026 SIDFlow Team
# SPDX-License-Identifier: GPL-3.0-or-later
#
# usage: demo/build.sh            verify (CI)
#        demo/build.sh --update   rewrite demo/*.sid from demo/src/*.asm
set -e
cd "$(dirname "$0")"

if ! command -v 64tass >/dev/null 2>&1; then
    echo "demo/build.sh: 64tass not found; install it (Debian: apt-get install 64tass)" >&2
    exit 2
fi

update=0
[ "${1:-}" = "--update" ] && update=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail=0
count=0
for src in src/*.asm; do
    name=$(basename "$src" .asm)
    out="$tmp/$name.sid"
    if ! (cd src && 64tass -a -q -b -o "$out" "$name.asm" >"$tmp/$name.log" 2>&1); then
        cat "$tmp/$name.log" >&2
        echo "demo/build.sh: $src does not assemble" >&2
        exit 1
    fi
    size=$(wc -c <"$out")
    if [ "$size" -ge 8192 ]; then
        echo "demo/build.sh: $name.sid is $size bytes (limit 8191)" >&2
        fail=1
    fi
    if [ "$update" = 1 ]; then
        cp "$out" "$name.sid.tmp" && mv "$name.sid.tmp" "$name.sid"
        echo "updated $name.sid ($size bytes, md5 $(md5sum <"$name.sid" | cut -c1-32))"
    elif ! cmp -s "$out" "$name.sid"; then
        echo "demo/build.sh: $name.sid differs from what $src assembles to (run demo/build.sh --update and commit)" >&2
        fail=1
    fi
    # every tune needs a Songlengths.md5 entry for its current MD5
    md5=$(md5sum <"$out" | cut -c1-32)
    if [ "$update" = 0 ] && ! grep -q "^$md5=" Songlengths.md5 2>/dev/null; then
        echo "demo/build.sh: Songlengths.md5 has no entry for $name.sid (md5 $md5)" >&2
        fail=1
    fi
    count=$((count + 1))
done

for sid in *.sid; do
    [ -e "src/$(basename "$sid" .sid).asm" ] || { echo "demo/build.sh: $sid has no source in src/" >&2; fail=1; }
done

if [ "$fail" != 0 ]; then
    echo "demo/build.sh: FAILED" >&2
    exit 1
fi
echo "demo/build.sh: $count tunes OK"

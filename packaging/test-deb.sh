#!/usr/bin/env bash
# Tests the Debian package end to end without a running systemd:
#   contents and control data (dpkg-deb -I/-c), the maintainer scripts (sh -n), lintian
#   errors (if lintian is installed), then install into a throwaway root with
#   `dpkg --root --force-script-chrootless` (the scripts honour $DPKG_ROOT): user and groups,
#   folders, the service enabled; an upgrade keeps an edited /etc/sidflow/sidflow.toml;
#   remove masks the unit and keeps the conffile; purge deletes conffile, state and cache.
# Usage: packaging/test-deb.sh [path/to/sidflowd]  (default: a release build by build-deb.sh)
# Environment: SIDFLOW_LINTIAN=0 skips lintian (it takes about 40 s); SIDFLOW_DEB_FAST=1 packs
# with gzip -1 instead of xz.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "packaging/test-deb.sh: FAIL: $*" >&2; exit 1; }
args=(--out "$tmp/out")
[ -n "$bin" ] && args+=(--bin "$bin")
[ "${SIDFLOW_DEB_FAST:-0}" = 1 ] && args+=(--fast)

deb=$("$repo/packaging/build-deb.sh" "${args[@]}" --revision 1 | tail -1)
deb2=$("$repo/packaging/build-deb.sh" "${args[@]}" --revision 2 | tail -1)
[ -f "$deb" ] && [ -f "$deb2" ] || fail "no package built"
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# Control data
[ "$(dpkg-deb -f "$deb" Package)" = sidflow ] || fail "Package"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture"
dpkg-deb -f "$deb" Depends | grep -q 'libasound2' || fail "Depends lacks libasound2"
dpkg-deb -f "$deb" Depends | grep -q 'init-system-helpers' || fail "Depends lacks init-system-helpers"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx '/etc/sidflow/sidflow.toml' || fail "conffiles"
for s in postinst prerm postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$s" > "$tmp/$s" || fail "no $s"
    sh -n "$tmp/$s" || fail "$s: syntax"
    if command -v shellcheck >/dev/null 2>&1; then shellcheck -s sh "$tmp/$s" || fail "$s: shellcheck"; fi
done

# Contents: path, mode, owner
listing=$(dpkg-deb -c "$deb")
for want in \
    "-rwxr-xr-x root/root ./usr/bin/sidflowd" \
    "-rw-r--r-- root/root ./usr/lib/systemd/system/sidflowd.service" \
    "-rw-r--r-- root/root ./usr/lib/sysusers.d/sidflow.conf" \
    "-rw-r--r-- root/root ./usr/lib/tmpfiles.d/sidflow.conf" \
    "-rw-r--r-- root/root ./usr/lib/udev/rules.d/60-sidflow-gpio.rules" \
    "-rw-r--r-- root/root ./usr/lib/sysctl.d/60-sidflow.conf" \
    "-rw-r--r-- root/root ./etc/sidflow/sidflow.toml" \
    "-rw-r--r-- root/root ./usr/share/doc/sidflow/copyright" \
    "-rw-r--r-- root/root ./usr/share/sidflow/avahi/sidflow.service"; do
    set -- $want
    printf '%s\n' "$listing" | awk -v m="$1" -v o="$2" -v p="$3" '$1==m && $2==o && $6==p {f=1} END {exit !f}' \
        || fail "missing or wrong: $want"
done
dpkg-deb -x "$deb" "$tmp/x"
cmp -s "$tmp/x/etc/sidflow/sidflow.toml" "$repo/packaging/sidflow.toml" || fail "sidflow.toml differs"
cmp -s "$tmp/x/usr/lib/systemd/system/sidflowd.service" "$repo/systemd/sidflowd.service" || fail "unit differs"
"$tmp/x/usr/bin/sidflowd" --version >/dev/null || fail "packaged binary does not run"
echo "contents and control: ok"

if [ "${SIDFLOW_LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null 2>&1; then
    lint=$(lintian --tag-display-limit 0 "$deb" 2>/dev/null || true)
    printf '%s\n' "$lint" | sed 's/^/  lintian: /'
    ! printf '%s\n' "$lint" | grep -q '^E:' || fail "lintian errors"
    echo "lintian: no errors"
fi

# Throwaway root
R="$tmp/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc" "$R/var/cache" "$R/usr/bin"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
dpkg_root() { dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root --log=/dev/null "$@" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg $*"; }; }
dpkg_root -i "$deb"
uid=$(awk -F: '$1=="sidflow"{print $3}' "$R/etc/passwd")
[ -n "$uid" ] || fail "no sidflow user"
for g in audio gpio; do grep -Eq "^$g:[^:]*:[0-9]+:(.*,)?sidflow(,.*)?$" "$R/etc/group" || fail "not in $g"; done
[ "$(readlink "$R/etc/systemd/system/multi-user.target.wants/sidflowd.service")" = /usr/lib/systemd/system/sidflowd.service ] \
    || fail "service not enabled"
for d in var/lib/sidflow var/cache/sidflow; do
    [ "$(stat -c '%u %a' "$R/$d")" = "$uid 750" ] || fail "$d: $(stat -c '%u %a' "$R/$d")"
done
echo "install: ok (user sidflow uid $uid, enabled, folders)"

echo 'listen = "edited"  # admin edit' >> "$R/etc/sidflow/sidflow.toml"
touch "$R/var/lib/sidflow/sidflow.redb"
dpkg_root -i "$deb2"
grep -q 'admin edit' "$R/etc/sidflow/sidflow.toml" || fail "upgrade lost the edited conffile"
grep -q '^Version: 0.1.0-2' "$R/var/lib/dpkg/status" || fail "not upgraded"
[ -f "$R/var/lib/sidflow/sidflow.redb" ] || fail "upgrade lost state"
echo "upgrade: ok (edited conffile and state kept)"

dpkg_root -r sidflow
[ ! -e "$R/usr/bin/sidflowd" ] || fail "binary left after remove"
[ -f "$R/etc/sidflow/sidflow.toml" ] || fail "remove deleted the conffile"
[ "$(readlink "$R/etc/systemd/system/sidflowd.service")" = /dev/null ] || fail "unit not masked after remove"
dpkg_root -P sidflow
[ ! -e "$R/etc/sidflow/sidflow.toml" ] || fail "purge kept the conffile"
[ ! -e "$R/var/lib/sidflow" ] && [ ! -e "$R/var/cache/sidflow" ] || fail "purge kept state or cache"
[ ! -e "$R/etc/systemd/system/sidflowd.service" ] || fail "mask left after purge"
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/sidflowd.service" ] || fail "enable link left after purge"
echo "remove/purge: ok"
echo "packaging/test-deb.sh: all ok"

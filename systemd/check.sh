#!/usr/bin/env bash
# Checks the systemd files offline (no running systemd needed):
#   1. `systemd-analyze verify` of sidflowd.service prints nothing and succeeds
#   2. `systemd-analyze security --offline=true` exposure is at most 2.0
#   3. systemd-sysusers and systemd-tmpfiles apply our snippets to a scratch root: the
#      sidflow user exists, is in audio and gpio, and owns /var/lib/sidflow and /var/cache/sidflow
# Usage: systemd/check.sh [path/to/sidflowd]   (the binary stands in for /usr/bin/sidflowd in
# verify, which insists that ExecStart exists; /bin/true otherwise)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-/bin/true}
max_exposure=2.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "systemd/check.sh: FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (apt-get install systemd)"

# 1. verify
mkdir -p "$tmp/units"
sed "s|/usr/bin/sidflowd|$bin|" "$here/sidflowd.service" > "$tmp/units/sidflowd.service"
out=$(systemd-analyze verify "$tmp/units/sidflowd.service" 2>&1) || fail "verify failed: $out"
[ -z "$out" ] || fail "verify printed warnings: $out"
echo "verify: ok"

# 2. security exposure
sec=$(systemd-analyze security --offline=true "$here/sidflowd.service" 2>&1 || true)
score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for sidflowd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure figure in: $sec"
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' || fail "exposure $score > $max_exposure"
echo "security: exposure $score (<= $max_exposure)"

# 3. sysusers + tmpfiles in a scratch root
root="$tmp/root"
mkdir -p "$root/etc" "$root/var/lib" "$root/var/cache"
systemd-sysusers --root="$root" "$here/sidflow.sysusers" >/dev/null 2>&1 || fail "systemd-sysusers failed"
grep -q '^sidflow:' "$root/etc/passwd" || fail "no sidflow user in passwd"
for g in audio gpio; do
    grep -Eq "^$g:[^:]*:[0-9]+:(.*,)?sidflow(,.*)?$" "$root/etc/group" || fail "sidflow not in group $g"
done
grep -q '^sidflow:.*:/usr/sbin/nologin$' "$root/etc/passwd" || fail "sidflow must not have a login shell"
systemd-tmpfiles --root="$root" --create "$here/sidflow.tmpfiles" || fail "systemd-tmpfiles failed"
uid=$(awk -F: '$1=="sidflow"{print $3}' "$root/etc/passwd")
for d in var/lib/sidflow var/cache/sidflow; do
    [ "$(stat -c '%u %a' "$root/$d")" = "$uid 750" ] || fail "$d: $(stat -c '%u %a' "$root/$d"), want $uid 750"
done
echo "sysusers/tmpfiles: ok (uid $uid, groups audio gpio)"

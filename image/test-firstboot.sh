#!/usr/bin/env bash
# Tests the first-boot script's reading of sidflow.txt on the host, in scratch root folders
# (SIDFLOW_IMAGE_ROOT; nothing is started, no partition touched): the cases a boot test
# would take many boots for. Run by image/test.sh; needs bash, python3 and wpa_passphrase
# (Debian package wpasupplicant).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fb="$here/files/usr/lib/sidflow-image/firstboot"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "  ok: $*"; }
bad() { fails=$((fails + 1)); echo "  FAIL: $*"; }
expect() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# A fresh scratch root with what the image has: hosts, hostname, sidflow.toml, zoneinfo.
mkroot() {
    local r="$tmp/$1"
    mkdir -p "$r/boot/firmware" "$r/etc/sidflow" "$r/usr/share/zoneinfo/Europe" "$r/usr/share/zoneinfo/Etc" "$r/root"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tsidflow\n' > "$r/etc/hosts"
    echo sidflow > "$r/etc/hostname"
    cp "$here/../packaging/sidflow.toml" "$r/etc/sidflow/sidflow.toml"
    touch "$r/usr/share/zoneinfo/Europe/Vienna" "$r/usr/share/zoneinfo/Etc/UTC"
    echo "$r"
}
run() { SIDFLOW_IMAGE_ROOT=$1 bash "$fb" apply > "$1.log" 2>&1; }
key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEm2K3pmS6bAQX5Gqb4q1q0c0Fz1cH8bKq3kD9tP3qz7 me@laptop"

echo "firstboot: a Windows-edited file (BOM, CRLF, spaces, quotes, upper-case keys)"
r=$(mkroot win)
printf '\xef\xbb\xbfHOSTNAME = Kitchen-Box \r\n# comment\r\n\r\ntimezone="Europe/Vienna"\r\nwifi_ssid = My "Home" Net\r\nwifi_passphrase = "correct horse battery"\r\nwifi_country=de\r\nssh=ON\r\nssh_authorized_key=%s\r\nssh_authorized_key=not a key\r\nlibrary=usb:HVSC/C64Music\r\ncache=usb:CACHE\r\nfrobnicate=1\r\n' "$key" > "$r/boot/firmware/sidflow.txt"
run "$r"
expect "hostname lower-cased into /etc/hostname" grep -qx kitchen-box "$r/etc/hostname"
expect "/etc/hosts names it" grep -qP '^127\.0\.1\.1\tkitchen-box$' "$r/etc/hosts"
expect "sidflowd's mDNS name set in sidflow.toml" grep -qx 'hostname = "kitchen-box"' "$r/etc/sidflow/sidflow.toml"
expect "the [mdns] section appended once" test "$(grep -c '^\[mdns\]' "$r/etc/sidflow/sidflow.toml")" = 1
expect "time zone" test "$(readlink "$r/etc/localtime")" = /usr/share/zoneinfo/Europe/Vienna
w="$r/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
want_psk=$(python3 -c 'import hashlib; print(hashlib.pbkdf2_hmac("sha1", b"correct horse battery", b"My \"Home\" Net", 4096, 32).hex())')
expect "Wi-Fi: the derived key (PBKDF2, as WPA2 defines it)" grep -qP "^\tpsk=$want_psk$" "$w"
expect "Wi-Fi: SSID with quotes, hex-encoded" grep -qP "^\tssid=$(printf '%s' 'My "Home" Net' | od -An -tx1 -v | tr -d ' \n')$" "$w"
expect "Wi-Fi: country upper-cased" grep -qx country=DE "$w"
expect "Wi-Fi: no passphrase in the config" bash -c "! grep -q 'correct horse' '$w'"
expect "Wi-Fi: config readable by root only" test "$(stat -c %a "$w")" = 600
expect "the passphrase left sidflow.txt" bash -c "! grep -q 'correct horse' '$r/boot/firmware/sidflow.txt'"
expect "sidflow.txt keeps the other lines" grep -q 'wifi_ssid = My "Home" Net' "$r/boot/firmware/sidflow.txt"
expect "sidflow.txt notes the removal" grep -q 'removed from this file' "$r/boot/firmware/sidflow.txt"
expect "SSH: the valid key only" bash -c "[ \"\$(cat '$r/root/.ssh/authorized_keys')\" = '$key' ]"
expect "SSH: authorized_keys mode 600" test "$(stat -c %a "$r/root/.ssh/authorized_keys")" = 600
expect "SSH enabled (Wi-Fi starts by udev when wlan0 appears)" bash -c "[ \"\$(cat '$r/var/lib/sidflow-image/enabled-units')\" = ssh.service ]"
expect "library and cache kept for sidflow-library" bash -c "grep -qx library=usb:HVSC/C64Music '$r/var/lib/sidflow-image/settings' && grep -qx cache=usb:CACHE '$r/var/lib/sidflow-image/settings'"
expect "the bad key line is reported" grep -q "not an OpenSSH public key" "$r.log"
expect "the unknown key is reported" grep -q "unknown key 'frobnicate'" "$r.log"
# Applying again (the file without the passphrase now) changes nothing more.
cp "$r/boot/firmware/sidflow.txt" "$tmp/after1"
run "$r"
expect "a second run leaves sidflow.txt as it was" cmp -s "$tmp/after1" "$r/boot/firmware/sidflow.txt"

echo "firstboot: bad values are skipped, the defaults stay"
r=$(mkroot badvals)
printf 'hostname=-bad_name-\ntimezone=../../etc/passwd\nwifi_ssid=Net\nwifi_passphrase=short\nwifi_country=Germany\nssh=on\nlibrary=ftp://x\ncache=nfs\njust text\n' > "$r/boot/firmware/sidflow.txt"
run "$r"
expect "hostname stays sidflow" grep -qx sidflow "$r/etc/hostname"
expect "sidflow.toml untouched" cmp -s "$here/../packaging/sidflow.toml" "$r/etc/sidflow/sidflow.toml"
expect "no time zone link" test ! -e "$r/etc/localtime"
expect "no Wi-Fi config (bad country)" test ! -e "$r/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
expect "the passphrase still leaves sidflow.txt" bash -c "! grep -q '=short' '$r/boot/firmware/sidflow.txt'"
expect "ssh=on without a key stays off" test ! -e "$r/root/.ssh/authorized_keys"
expect "no unit enabled" test ! -e "$r/var/lib/sidflow-image/enabled-units"
expect "library and cache fall back to usb and sd" bash -c "grep -qx library=usb '$r/var/lib/sidflow-image/settings' && grep -qx cache=sd '$r/var/lib/sidflow-image/settings'"
expect "every bad line is reported" test "$(grep -c WARNING "$r.log")" -ge 7

echo "firstboot: an open network, a passphrase of the wrong length"
r=$(mkroot open)
printf 'wifi_ssid=Cafe\nwifi_country=FR\n' > "$r/boot/firmware/sidflow.txt"
run "$r"
expect "open network: key_mgmt=NONE" grep -qP '^\tkey_mgmt=NONE$' "$r/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
r=$(mkroot longpass)
printf 'wifi_ssid=Cafe\nwifi_country=FR\nwifi_passphrase=%s\n' "$(printf 'x%.0s' $(seq 64))" > "$r/boot/firmware/sidflow.txt"
run "$r"
expect "64-character passphrase refused" test ! -e "$r/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"

echo "firstboot: no sidflow.txt at all"
r=$(mkroot none)
run "$r"
expect "defaults: library usb, cache sd" bash -c "grep -qx library=usb '$r/var/lib/sidflow-image/settings' && grep -qx cache=sd '$r/var/lib/sidflow-image/settings'"

echo "firstboot: $passes passed, $fails failed"
[ "$fails" = 0 ]

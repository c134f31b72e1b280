#!/usr/bin/env bash
# Called by image/build.sh: `rootfs-hook.sh customize ROOT DEB` turns the Debian root file
# system in ROOT into the SIDFlow image's: the sidflow package, the image's own files
# (image/files/), and what a flashed card starts with. arm64 programs run through qemu-user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = customize ] || { echo "usage: rootfs-hook.sh customize ROOT DEB" >&2; exit 2; }
root=$2 deb=$3
in_root() { chroot "$root" "$@"; }

# Nothing may start inside the build.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
trap 'rm -f "$root/usr/sbin/policy-rc.d"' EXIT

# The sidflow package (its dependencies are in the Debian part already).
cp "$deb" "$root/tmp/sidflow.deb"
in_root dpkg -i /tmp/sidflow.deb >&2
rm -f "$root/tmp/sidflow.deb"

# The image's own files: units, scripts, configuration drop-ins.
(cd "$here/files" && find . -type d) | while read -r d; do install -d -m 0755 "$root/$d"; done
(cd "$here/files" && find . ! -type d) | while read -r f; do
    if [ -L "$here/files/$f" ]; then
        ln -sfn "$(readlink "$here/files/$f")" "$root/$f"
    elif [ -x "$here/files/$f" ]; then
        install -m 0755 "$here/files/$f" "$root/$f"
    else
        install -m 0644 "$here/files/$f" "$root/$f"
    fi
done
install -m 0644 "$here/../doc/image.md" "$root/usr/share/doc/sidflow/image.md"

# Name, identity: every flashed card gets its own machine-id (and so its own DHCP client id)
# at first boot; the hostname is sidflow until sidflow.txt says otherwise.
echo sidflow > "$root/etc/hostname"
cat > "$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	sidflow
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"
ln -sfn /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
# The locale every Debian system has built in (no locales package), for PAM and programs.
echo LANG=C.UTF-8 > "$root/etc/default/locale"
echo Etc/UTC > "$root/etc/timezone"

# SSH: installed, off, and no host keys in the image (they would be the same on every box).
rm -f "$root"/etc/ssh/ssh_host_*
in_root systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
in_root systemctl mask ssh.socket >/dev/null
# root has no password: the console shows the address and setup code, SSH uses keys.
in_root passwd -l root >/dev/null

# Services.
in_root systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
    sidflow-firstboot.service sidflow-library.service sidflow-console.service sidflow-console.path \
    sidflowd.service >/dev/null
in_root systemctl set-default multi-user.target >/dev/null
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# wpa_supplicant's D-Bus-activated service is not used (wpa_supplicant@wlan0 is).
in_root systemctl disable wpa_supplicant.service >/dev/null 2>&1 || true

# Raspberry Pi boot files (raspi-firmware writes /boot/firmware from these when the
# initramfs is made): the root file system by label, the console on the serial port and on
# the HDMI screen (last: it gets /dev/console, so boot messages and the setup code show there).
cat >> "$root/etc/default/raspi-firmware" <<'EOF'

# SIDFlow image
ROOTPART="LABEL=sidflow-root"
CONSOLES="ttyS1,115200 tty0"
EOF
cat > "$root/etc/default/raspi-firmware-custom" <<'EOF'
# SIDFlow image: the analogue audio output (headphone jack) for line-out.
dtparam=audio=on
EOF

# Logs and caches of the build itself.
rm -f "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old
rm -rf "$root"/tmp/* "$root"/var/tmp/*

#!/usr/bin/env bash
# Boot test of the SIDFlow image (see doc/image.md, "How the image is tested").
# Boots the built image in qemu-system-aarch64 -M virt (the image's own Debian arm64 kernel
# and initramfs; the Pi board model is too slow to emulate), with user networking that
# reaches nothing but the forwarded ports (restrict=on), and checks from the host:
#   first:   image/test-firstboot.sh (sidflow.txt parsing, on the host);
#   offline: checksum, size, manifest, partition table, boot partition files (Pi firmware,
#            DTBs, kernel, config.txt, cmdline.txt, sidflow.txt), no SSH host keys and an
#            empty machine-id in the image;
#   boot 1:  (a sidflow.txt with test settings on the FAT partition, the disk 1 GiB larger
#            than the image, a USB stick with C64Music/ and a USB disk labelled CACHE)
#            sidflowd becomes ready; GET /api/health, / serves the UI, a tune from the stick
#            plays as MP3 (ffprobe) and is cached on the CACHE disk, the setup code is on
#            the console and is the daemon's, the partition and file system grew, hostname,
#            time zone, Wi-Fi config without the passphrase (removed from sidflow.txt), SSH
#            with the given key, root noatime, journal cap, zram swap only, nothing but
#            sidflowd/sshd/DHCP listens, no failed units, the USB library read-only;
#   boot 2:  first-boot steps did not run again, same SSH host key and machine-id, same
#            setup code; then a second box (the image as flashed) joins a QEMU socket "LAN"
#            with this one and mDNS conflict resolution names it sidflow-2.
# Usage: image/test.sh [path/to/sidflow-*-arm64.img.xz]   (default: the newest in target/image)
# Prints the boot-to-ready times. Needs root only to install qemu and the tools.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
img_xz=$(realpath "${1:-$(ls -t "$repo"/target/image/sidflow-*-arm64.img.xz 2>/dev/null | head -1)}")
[ -n "$img_xz" ] && [ -f "$img_xz" ] || { echo "image/test.sh: no image: run image/build.sh first" >&2; exit 1; }
ready_timeout=${SIDFLOW_IMAGE_READY_TIMEOUT:-900}

start=$(date +%s)
stamp() { echo "== image/test.sh $(($(date +%s) - start))s: $*"; }
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "  ok: $*"; }
bad() { fails=$((fails + 1)); echo "  FAIL: $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
die() { echo "image/test.sh: FAIL: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
stamp "tools"
need=(qemu-system-arm ipxe-qemu wpasupplicant mtools dosfstools e2fsprogs fdisk xz-utils zstd cpio openssh-client curl ffmpeg python3)
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (install them as root): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        # qemu-system from bookworm cannot be installed next to a qemu-utils from
        # bookworm-backports (as on the CI machines): take it from backports too.
        if ! apt-cache policy 2>/dev/null | grep -q bookworm-backports; then
            cat > /etc/apt/sources.list.d/sidflow-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
            apt-get update -qq
        fi
        apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing[@]}" >/dev/null
    fi
fi

work=$(mktemp -d "$repo/target/image/test.XXXXXX")
qemu_pid="" qemu_pid_b=""
cleanup() {
    local p
    for p in $qemu_pid $qemu_pid_b; do kill "$p" 2>/dev/null || true; done
    if [ "${SIDFLOW_IMAGE_KEEP_TEST:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- first-boot script
stamp "first-boot settings (image/test-firstboot.sh, on the host)"
if "$repo/image/test-firstboot.sh" > "$work/firstboot.log" 2>&1; then
    ok "first-boot settings: $(tail -1 "$work/firstboot.log")"
else
    cat "$work/firstboot.log"
    bad "first-boot settings (image/test-firstboot.sh)"
fi

# ---------------------------------------------------------------- offline checks
stamp "offline checks of $(basename "$img_xz")"
disk="$work/disk.img"
case "$img_xz" in
*.img.xz)
    (cd "$(dirname "$img_xz")" && sha256sum -c --quiet "$(basename "$img_xz").sha256") && ok "sha256 matches" || bad "sha256"
    xz_bytes=$(stat -c %s "$img_xz")
    [ "$xz_bytes" -lt $((400 * 1000 * 1000)) ] && ok "compressed image $((xz_bytes / 1000000)) MB (< 400 MB)" || bad "compressed image is $xz_bytes bytes"
    manifest=${img_xz%.img.xz}.manifest.tsv
    check "package manifest lists linux-image-arm64, raspi-firmware and sidflow" \
        bash -c "grep -q '^linux-image-arm64\s' '$manifest' && grep -q '^raspi-firmware\s' '$manifest' && grep -q '^sidflow\s' '$manifest'"
    check "no avahi (sidflowd is the one mDNS responder)" bash -c "! grep -q '^avahi' '$manifest'"
    xz -dc "$img_xz" > "$disk"
    ;;
*.img) # an uncompressed image (developers): no checksum, size or manifest checks
    echo "  (uncompressed image: checksum, size and manifest not checked)"
    cp --sparse=always "$img_xz" "$disk"
    ;;
*) die "not an .img.xz or .img: $img_xz" ;;
esac
parts=$(sfdisk -J "$disk")
p() { python3 -c "import json,sys; t=json.load(sys.stdin)['partitiontable']; print($1)" <<< "$parts"; }
[ "$(p "t['label']")" = dos ] && [ "$(p "len(t['partitions'])")" = 2 ] && ok "MBR with 2 partitions" || bad "partition table: $parts"
boot_off=$(( $(p "t['partitions'][0]['start']") * 512 ))
root_start=$(p "t['partitions'][1]['start']")
root_sectors=$(p "t['partitions'][1]['size']")
[ "$(p "t['partitions'][0]['type']")" = c ] && ok "partition 1 is FAT32 (LBA)" || bad "partition 1 type"
fat="$disk@@$boot_off"
fat_files=$(mdir -i "$fat" -b :: | sed 's|^::/||')
for f in bootcode.bin start.elf start4.elf fixup.dat fixup4.dat config.txt cmdline.txt sidflow.txt \
    bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb bcm2837-rpi-zero-2-w.dtb; do
    printf '%s\n' "$fat_files" | grep -qx "$f" && ok "boot partition has $f" || bad "boot partition lacks $f"
done
kernel=$(printf '%s\n' "$fat_files" | grep '^vmlinuz-' | head -1)
initrd=$(printf '%s\n' "$fat_files" | grep '^initrd.img-' | head -1)
[ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel or initramfs on the boot partition"
mcopy -n -i "$fat" "::$kernel" "$work/vmlinuz"
mcopy -n -i "$fat" "::$initrd" "$work/initrd"
mcopy -n -i "$fat" ::cmdline.txt "$work/cmdline.txt"
mcopy -n -i "$fat" ::config.txt "$work/config.txt"
# The initramfs waits for udev to be gone before it hands over (a udev worker still busy with
# a late USB disk made run-init fail and the kernel panic: see
# image/files/etc/initramfs-tools/scripts/init-bottom/sidflow-udev-gone).
order=$(zstd -dc "$work/initrd" | (cd "$work" && cpio -i --quiet --to-stdout "*scripts/init-bottom/ORDER") 2>/dev/null || true)
printf '%s\n' "$order" | grep -o '/scripts/init-bottom/[a-z-]*' | tr '\n' ' ' | grep -q '/udev /scripts/init-bottom/sidflow-udev-gone' \
    && ok "initramfs: init-bottom waits for udev to exit after udev's own script" || bad "initramfs init-bottom order: $order"
check "config.txt: 64-bit, upstream kernel, $kernel + $initrd" \
    bash -c "grep -qx 'arm_64bit=1' '$work/config.txt' && grep -qx 'kernel=$kernel' '$work/config.txt' && grep -qx 'initramfs $initrd' '$work/config.txt'"
check "cmdline.txt: root=LABEL=sidflow-root, HDMI console last" \
    bash -c "grep -q 'root=LABEL=sidflow-root' '$work/cmdline.txt' && grep -Eq 'console=tty0( |$)' '$work/cmdline.txt' && ! grep -Eq 'console=tty0 .*console=' '$work/cmdline.txt'"
root_img="$work/root.img"
dd if="$disk" of="$root_img" bs=512 skip="$root_start" count="$root_sectors" status=none
dbg() { debugfs -R "$1" "$root_img" 2>/dev/null; }
check "no SSH host keys in the image" bash -c "! debugfs -R 'ls -l /etc/ssh' '$root_img' 2>/dev/null | grep -q ssh_host_"
check "empty /etc/machine-id (each box makes its own)" bash -c "debugfs -R 'stat /etc/machine-id' '$root_img' 2>/dev/null | grep -q 'Size: 0$'"
check "ssh.service not enabled in the image" bash -c "! debugfs -R 'ls /etc/systemd/system/multi-user.target.wants' '$root_img' 2>/dev/null | grep -qw ssh.service"
check "sidflowd.service enabled" bash -c "debugfs -R 'ls /etc/systemd/system/multi-user.target.wants' '$root_img' 2>/dev/null | grep -qw sidflowd.service"
root_fs_bytes=$(dumpe2fs -h "$root_img" 2>/dev/null | awk -F: '/^Block count/ {c=$2} /^Block size/ {s=$2} END {print c*s}')
rm -f "$root_img"

# ---------------------------------------------------------------- boot setup
stamp "preparing boot 1: sidflow.txt, larger disk, USB stick with C64Music/"
# The second box of boot 2 starts from the image as flashed (no sidflow.txt edits).
disk_b="$work/disk-box2.img"
cp --sparse=always "$disk" "$disk_b"
ssh-keygen -q -t ed25519 -N '' -C image-test -f "$work/id" >/dev/null
passphrase="test-passphrase-$RANDOM$RANDOM"
cat > "$work/sidflow.txt" <<EOF
# written by image/test.sh (CRLF line ends, as a Windows editor would)
timezone=Europe/Vienna
wifi_ssid=Test Net
wifi_passphrase=$passphrase
wifi_country=at
ssh=on
ssh_authorized_key=$(cat "$work/id.pub")
library=usb
cache=usb:CACHE
EOF
sed -i 's/$/\r/' "$work/sidflow.txt"
mcopy -o -i "$fat" "$work/sidflow.txt" ::sidflow.txt
truncate -s +1G "$disk"
disk_bytes=$(stat -c %s "$disk")
# A USB stick as people have them: FAT32, HVSC's C64Music/ folder with a few tunes in it.
usb="$work/usb.img"
mkfs.vfat -n HVSC -F 32 -C "$usb" $((64 * 1024)) >/dev/null
mmd -i "$usb" ::C64Music ::C64Music/MUSICIANS ::C64Music/MUSICIANS/T ::C64Music/MUSICIANS/T/Test_Tuner ::C64Music/DOCUMENTS
{
    echo "[Database]"
    for t in first-light three-wishes; do
        mcopy -i "$usb" "$repo/demo/$t.sid" "::C64Music/MUSICIANS/T/Test_Tuner/$t.sid"
        # Short songs (HVSC's song-length file), so the emulated box renders quickly.
        echo "; /MUSICIANS/T/Test_Tuner/$t.sid"
        echo "$(md5sum < "$repo/demo/$t.sid" | cut -d' ' -f1)=0:06"
    done
} > "$work/Songlengths.md5"
mcopy -i "$usb" "$work/Songlengths.md5" ::C64Music/DOCUMENTS/Songlengths.md5
# A second, writable USB disk for the cache (sidflow.txt: cache=usb:CACHE).
usb_cache="$work/usb-cache.img"
mkfs.vfat -n CACHE -F 32 -C "$usb_cache" $((64 * 1024)) >/dev/null
cmdline="$(sed -e 's/console=[^ ]*//g' "$work/cmdline.txt" | tr -s ' ') console=ttyAMA0"
# SIDFLOW_IMAGE_TEST_DEBUG=1: the whole journal on the console log too.
[ "${SIDFLOW_IMAGE_TEST_DEBUG:-0}" = 1 ] && cmdline="$cmdline systemd.journald.forward_to_console=1"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
ssh_port=$(free_port)
base="http://127.0.0.1:$http_port"
last_pid=""
ssh_opts=(-i "$work/id" -p "$ssh_port" -o UserKnownHostsFile="$work/known_hosts" -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR)
guest() { ssh "${ssh_opts[@]}" -o StrictHostKeyChecking=yes root@127.0.0.1 "$@"; }
# Output of a command on the guest; empty (not a failed script) when it cannot run.
gout() { guest "$@" 2>/dev/null || true; }

# boot NAME DISK HTTP_PORT SSH_PORT [QEMU ARGS...]: starts qemu in the background (its pid in
# $last_pid), waits until sidflowd's /api/health answers on HTTP_PORT, records the time.
boot() {
    local name=$1 d=$2 hp=$3 sp=$4 t0 t pid
    shift 4
    : > "$work/$name.console"
    qemu-system-aarch64 -M virt -cpu cortex-a72 -accel tcg,thread=multi -smp 2 -m 1024 \
        -display none -no-reboot -monitor none -serial "file:$work/$name.console" \
        -kernel "$work/vmlinuz" -initrd "$work/initrd" -append "$cmdline" \
        -drive "file=$d,if=none,format=raw,id=sd" -device virtio-blk-pci,drive=sd \
        -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$hp-:80,hostfwd=tcp:127.0.0.1:$sp-:22" \
        -device virtio-net-pci,netdev=net,romfile= \
        -object rng-random,id=rng,filename=/dev/urandom -device virtio-rng-pci,rng=rng \
        "$@" > "$work/$name.qemu.log" 2>&1 &
    pid=$!
    last_pid=$pid
    t0=$(date +%s)
    while :; do
        if curl -sf -m 5 "http://127.0.0.1:$hp/api/health" > "$work/$name.health" 2>/dev/null; then break; fi
        kill -0 "$pid" 2>/dev/null || { tail -50 "$work/$name.console"; cat "$work/$name.qemu.log"; die "$name: qemu exited"; }
        # A kernel panic (-no-reboot keeps qemu running): fail now, not after the timeout.
        if grep -q 'Kernel panic' "$work/$name.console"; then
            tail -40 "$work/$name.console"; die "$name: kernel panic during boot"
        fi
        t=$(($(date +%s) - t0))
        [ "$t" -lt "$ready_timeout" ] || { tail -80 "$work/$name.console"; die "$name: sidflowd not ready after ${t}s"; }
        sleep 2
    done
    t=$(($(date +%s) - t0))
    echo "$t" > "$work/$name.ready_secs"
    stamp "$name: sidflowd ready ${t}s after qemu started"
}
# shellcheck disable=SC2054 # commas belong to qemu option values
usb_args=(-device qemu-xhci,id=xhci -drive "file=$usb,if=none,format=raw,id=usb" -device usb-storage,bus=xhci.0,drive=usb
    -drive "file=$usb_cache,if=none,format=raw,id=usbc" -device usb-storage,bus=xhci.0,drive=usbc)

# poweroff PID SSH-COMMAND...: powers the guest off and waits for qemu to end.
poweroff() {
    local pid=$1
    shift
    "$@" systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then bad "guest did not power off within 120 s"; kill "$pid"; fi
    wait "$pid" 2>/dev/null || true
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
code_re='[A-Z0-9]{4}-[A-Z0-9]{4}'

# Checks both boots make.
common_checks() {
    local name=$1
    check "$name: /api/health status ok" bash -c "python3 -c \"import json,sys; d=json.load(open('$work/$name.health')); sys.exit(d.get('status')!='ok')\""
    curl -sf -m 30 "$base/" > "$work/$name.index.html" && grep -qi '<html' "$work/$name.index.html" && grep -q 'SIDFlow' "$work/$name.index.html" \
        && ok "$name: / serves the web UI" || bad "$name: / does not serve the UI"
    check "$name: system state running once the boot finished (no failed units)" guest 'test "$(systemctl is-system-running --wait)" = running'
    local h; h=$(gout hostname)
    [ "$h" = sidflow ] && ok "$name: hostname sidflow" || bad "$name: hostname '$h'"
    check "$name: root mounted noatime" guest 'findmnt -no OPTIONS / | grep -qw noatime'
    check "$name: boot partition mounted at /boot/firmware" guest 'findmnt -no FSTYPE /boot/firmware | grep -qx vfat'
    check "$name: journal capped (SystemMaxUse=32M)" guest 'systemd-analyze cat-config systemd/journald.conf | grep -qx SystemMaxUse=32M'
    check "$name: no swap but zram" guest 'test -z "$(swapon --noheadings --show=NAME | grep -v "^/dev/zram")" && swapon --noheadings --show=NAME | grep -q zram'
    # Nothing but sidflowd, sshd (on here: sidflow.txt said so) and the DHCP client listens
    # beyond loopback.
    local listeners
    listeners=$(gout "ss -Hlntup | awk '\$5 !~ /^(127\\.|\\[::1\\]|\\[::ffff:127)/' | grep -o 'users:((\"[^\"]*' | cut -d'\"' -f2 | sort -u | tr '\n' ' '")
    local extra
    extra=$(printf '%s\n' $listeners | grep -vx -e sidflowd -e sshd -e systemd-network || true)
    [ -z "$extra" ] && [[ " $listeners " == *" sidflowd "* ]] && ok "$name: listeners beyond loopback: $listeners" || bad "$name: unexpected listeners: $listeners"
    check "$name: USB library mounted read-only" guest 'findmnt -no OPTIONS /media/sidflow-library | grep -q "^ro,"'
    check "$name: sidflowd uses the USB library" guest 'grep -qx SIDFLOW_LIBRARY=/media/sidflow-library/C64Music /run/sidflow-image/sidflowd.env'
    check "$name: the cache is on the USB disk labelled CACHE (read-write)" guest \
        'grep -qx SIDFLOW_CACHE_DIR=/media/sidflow-cache/sidflow-cache /run/sidflow-image/sidflowd.env && findmnt -no OPTIONS /media/sidflow-cache | grep -q "^rw,"'
    # The console line comes from sidflow-console.service, once sidflowd is ready.
    local _
    for _ in $(seq 1 60); do grep -q 'SIDFlow is ready' "$work/$name.console" && break; sleep 2; done
    # The setup code (while no admin password is set): on the console, and the daemon's.
    if guest 'sidflowd setup-code --help' >/dev/null 2>&1 || guest 'test -e /var/lib/sidflow/setup-code'; then
        local want seen
        want=$(gout 'sidflowd setup-code 2>/dev/null || cat /var/lib/sidflow/setup-code' | grep -Eo "$code_re" | head -1 || true)
        seen=$(tr -d '\r' < "$work/$name.console" | grep -Eo "admin setup code: $code_re" | tail -1 | grep -Eo "$code_re" || true)
        [ -n "$want" ] && [ "$want" = "$seen" ] && ok "$name: setup code $seen on the console" || bad "$name: setup code on the console '$seen', daemon '$want'"
        echo "$want" > "$work/$name.code"
    else
        echo "  SKIPPED: $name: this sidflowd has no one-time setup code yet (sidflowd setup-code); console banner: $(tr -d '\r' < "$work/$name.console" | grep -o 'SIDFlow is ready.*' | tail -1)"
        echo none > "$work/$name.code"
    fi
    check "$name: the console shows the box's address" grep -q 'SIDFlow is ready: http://sidflow.local/ (address: 10.0.2.15)' "$work/$name.console"
}

# ---------------------------------------------------------------- boot 1
stamp "boot 1 (first boot)"
boot boot1 "$disk" "$http_port" "$ssh_port" "${usb_args[@]}"
qemu_pid=$last_pid
# SSH starts once its host keys are made (slow under emulation). The host key is new: learn
# it now (boot 2 checks it).
for _ in $(seq 1 150); do
    ssh-keyscan -T 10 -p "$ssh_port" -t ed25519 127.0.0.1 2>/dev/null > "$work/known_hosts" || true
    [ -s "$work/known_hosts" ] && break
    sleep 2
done
[ -s "$work/known_hosts" ] && ok "boot1: SSH is on (sidflow.txt ssh=on) and has a host key" || bad "boot1: no SSH host key offered"
check "boot1: SSH login with the key from sidflow.txt" guest true
common_checks boot1

# First boot: growth, settings, passphrase.
check "boot1: first boot ran" guest 'journalctl -b -u sidflow-firstboot -o cat | grep -q "first boot done"'
part_bytes=$(gout 'lsblk -bdno SIZE /dev/vda2'); part_bytes=${part_bytes:-0}
fs_bytes=$(gout 'df -B1 --output=size / | tail -1' | tr -d ' '); fs_bytes=${fs_bytes:-0}
root_off=$((root_start * 512))
[ "$part_bytes" -ge $((disk_bytes - root_off - 4 * 1024 * 1024)) ] && ok "boot1: root partition grew to the end of the disk ($((part_bytes / 1048576)) MiB)" \
    || bad "boot1: root partition $part_bytes bytes, disk $disk_bytes"
[ "$fs_bytes" -gt $((root_fs_bytes + 900 * 1024 * 1024)) ] && ok "boot1: root file system grew ($((root_fs_bytes / 1048576)) -> $((fs_bytes / 1048576)) MiB, df)" \
    || bad "boot1: root file system $fs_bytes bytes (image: $root_fs_bytes)"
check "boot1: time zone Europe/Vienna" guest 'test "$(readlink /etc/localtime)" = /usr/share/zoneinfo/Europe/Vienna'
check "boot1: Wi-Fi configured (country AT, SSID, derived key only)" guest \
    "grep -qx country=AT /etc/wpa_supplicant/wpa_supplicant-wlan0.conf && grep -Eq '^\s*psk=[0-9a-f]{64}$' /etc/wpa_supplicant/wpa_supplicant-wlan0.conf && grep -q ssid=54657374204e6574 /etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
check "boot1: the passphrase is nowhere on the root file system's /etc" guest "! grep -rqF '$passphrase' /etc"
check "boot1: the passphrase was removed from sidflow.txt" guest "! grep -qF '$passphrase' /boot/firmware/sidflow.txt && grep -q '^wifi_ssid=Test Net' /boot/firmware/sidflow.txt"
check "boot1: machine-id made" guest 'test -s /etc/machine-id'
gout 'cat /etc/machine-id' > "$work/machine-id"

# A tune from the USB stick, as MP3.
tune=$(curl -sf -m 30 "$base/api/library/search?q=first&limit=5" | json "[t['path'] for t in d['tunes'] if 'Test_Tuner' in t['path']][0]" 2>/dev/null || true)
if [ -n "$tune" ]; then
    ok "boot1: the library has the USB stick's tune $tune"
    play=$(curl -sf -m 120 -H 'content-type: application/json' -d "{\"path\":\"$tune\",\"prefs\":{\"format\":\"mp3\"}}" "$base/api/play" || true)
    audio=$(json "d['urls']['audio']" <<< "$play" 2>/dev/null || true)
    if [ -n "$audio" ] && curl -sf -m 600 -o "$work/tune.mp3" "$base$audio"; then
        info=$(ffprobe -v error -show_entries stream=codec_name,sample_rate,channels:format=duration -of default=nw=1 "$work/tune.mp3" || true)
        dur=$(sed -n 's/^duration=//p' <<< "$info")
        if grep -qx codec_name=mp3 <<< "$info" && python3 -c "import sys; sys.exit(not 5 < float('$dur') < 8)" 2>/dev/null; then
            ok "boot1: the tune plays as MP3 ($(stat -c %s "$work/tune.mp3") bytes, ${dur}s as Songlengths.md5 on the stick says, ffprobe)"
            check "boot1: the render was cached on the USB cache disk" guest \
                'for _ in $(seq 1 20); do find /media/sidflow-cache/sidflow-cache -name "*.mp3" -size +1k | grep -q . && exit 0; sleep 1; done; exit 1'
        else
            bad "boot1: not an MP3: $info"
        fi
    else
        bad "boot1: POST /api/play or the audio failed: $play"
    fi
else
    bad "boot1: the USB stick's tunes are not in the library"
fi
gout 'journalctl -b -o short-monotonic --no-pager' > "$work/boot1.journal"
poweroff "$qemu_pid" guest
qemu_pid=""

# ---------------------------------------------------------------- boot 2
# The box boots again, now with a second network card on a "LAN" (a QEMU socket link on
# 127.0.0.1) that a second, freshly flashed box joins once this one is ready: the second box
# must get the name sidflow-2 by mDNS conflict resolution (RFC 6762 probing: the box that
# already announced keeps the name).
lan_port=$(free_port)
stamp "boot 2 (a normal boot), with a LAN link for a second box"
boot boot2 "$disk" "$http_port" "$ssh_port" "${usb_args[@]}" \
    -netdev "socket,id=lan,listen=127.0.0.1:$lan_port" -device virtio-net-pci,netdev=lan,mac=52:54:00:5f:00:01,romfile=
qemu_pid=$last_pid
check "boot2: SSH host key unchanged (strict host key check)" guest true
common_checks boot2
check "boot2: first-boot unit skipped" guest 'test "$(systemctl show -P ConditionResult sidflow-firstboot.service)" = no'
check "boot2: first-boot steps did not run" bash -c "! tr -d '\r' < '$work/boot2.console' | grep -q 'sidflow-firstboot: first boot of this card'"
check "boot2: first boot did run in boot 1 (console)" grep -q 'sidflow-firstboot: first boot of this card' "$work/boot1.console"
[ -s "$work/machine-id" ] && [ "$(gout 'cat /etc/machine-id')" = "$(cat "$work/machine-id")" ] && ok "boot2: same machine-id" || bad "boot2: machine-id changed"
[ "$(cat "$work/boot1.code")" = "$(cat "$work/boot2.code")" ] && ok "boot2: same setup code as boot 1 ($(cat "$work/boot2.code"))" || bad "boot2: setup code changed"
check "boot2: sidflow.txt has one removal note (not applied twice)" guest 'test "$(grep -c "removed from this file" /boot/firmware/sidflow.txt)" = 1'

stamp "a second box (the image as flashed, first boot) on the same LAN link"
http_b=$(free_port)
ssh_b=$(free_port)
boot box2 "$disk_b" "$http_b" "$ssh_b" \
    -netdev "socket,id=lan,connect=127.0.0.1:$lan_port" -device virtio-net-pci,netdev=lan,mac=52:54:00:5f:00:02,romfile=
qemu_pid_b=$last_pid
for _ in $(seq 1 60); do grep -q "SIDFlow is ready" "$work/box2.console" && break; sleep 2; done
check "box2: mDNS conflict resolution named it sidflow-2 (console)" grep -q 'SIDFlow is ready: http://sidflow-2.local/' "$work/box2.console"
a_log=$(gout 'journalctl -b -u sidflowd -o cat')
[ -n "$a_log" ] && ! grep -q 'mDNS name conflict' <<< "$a_log" && ok "boot2: the first box kept sidflow (no rename in its log)" \
    || bad "boot2: the first box was renamed (or its log is unreadable): $(grep 'mDNS name conflict' <<< "$a_log")"
kill "$qemu_pid_b" 2>/dev/null || true # the second box has no SSH: it is simply switched off
wait "$qemu_pid_b" 2>/dev/null || true
qemu_pid_b=""
poweroff "$qemu_pid" guest
qemu_pid=""

stamp "boot-to-ready: first boot $(cat "$work/boot1.ready_secs")s, second boot $(cat "$work/boot2.ready_secs")s, second box's first boot $(cat "$work/box2.ready_secs")s (TCG, -smp 2)"
echo "image: $passes passed, $fails failed"
[ "$fails" = 0 ]

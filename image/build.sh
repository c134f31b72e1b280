#!/usr/bin/env bash
# Builds the flashable Raspberry Pi image (arm64: Pi 3, 4, 400, Zero 2 W):
#   target/image/sidflow-<version>-arm64.img.xz        the image (write it to an SD card)
#   target/image/sidflow-<version>-arm64.img.xz.sha256
#   target/image/sidflow-<version>-arm64.manifest.tsv  every Debian package in it, with version
# One command, as root on a Debian 12 (bookworm) machine; it installs what it needs.
# No loop devices and no FAT mounts: the root file system is built in a folder (mmdebstrap,
# arm64 programs run through qemu-user), then packed with `mke2fs -d`, the boot partition with
# `mkfs.vfat -C` + `mcopy`, and both are placed on a partition table written by `sfdisk`.
#
# Usage: image/build.sh [--deb PATH] [--out DIR] [--xz-level N]
#   --deb       install this sidflow_*_arm64.deb (default: cross-build one with
#               packaging/build-deb.sh --target aarch64-unknown-linux-gnu)
#   --out       output folder (default target/image)
#   --xz-level  xz preset for the image (default 1: see doc/performance.md)
# Environment: SIDFLOW_IMAGE_MIRROR (default http://deb.debian.org/debian),
#   SIDFLOW_IMAGE_SECURITY (default http://deb.debian.org/debian-security),
#   SIDFLOW_IMAGE_ROOTFS_CACHE=FILE: developers only, reuse (or create) a tarball of the
#   Debian part of the root file system between builds. CI never sets it.
# See doc/image.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
here="$repo/image"
out="$repo/target/image"
deb=""
xz_level=1
while [ $# -gt 0 ]; do
    case "$1" in
    --deb) deb=$(realpath "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --xz-level) xz_level=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

suite=bookworm
mirror=${SIDFLOW_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${SIDFLOW_IMAGE_SECURITY:-http://deb.debian.org/debian-security}
components="main non-free-firmware"
# Boot partition and root file system labels: the kernel command line, fstab and the
# first-boot script find the partitions by these.
boot_label=SIDFLOW
root_label=sidflow-root
boot_mib=256

start=$(date +%s)
stamp() { echo "== image/build.sh $(($(date +%s) - start))s: $*" >&2; }
die() { echo "image/build.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and builds a root file system)"

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || die "no workspace version in Cargo.toml"
name="sidflow-$version-arm64"

# ---------------------------------------------------------------- host tools
stamp "host tools"
need=(mmdebstrap qemu-user-static binfmt-support arch-test dosfstools mtools e2fsprogs fdisk xz-utils)
[ -n "$deb" ] || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross libasound2-dev:arm64 pkg-config)
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    case " ${missing[*]} " in *:arm64*)
        dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
    esac
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# arm64 programs (maintainer scripts, update-initramfs) run through qemu-user.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
arch-test arm64 >/dev/null || die "cannot run arm64 programs (binfmt_misc + qemu-user-static)"

# ---------------------------------------------------------------- sidflow .deb
if [ -z "$deb" ]; then
    stamp "cross-building the sidflow package for arm64"
    triple=aarch64-unknown-linux-gnu
    # The daemon's build script also builds the in-browser engine (doc/browser-engine.md).
    for t in "$triple" wasm32-unknown-unknown; do
        if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
            rustup target add "$t" >&2 || die "rustup target add $t failed (see doc/image.md)"
        fi
    done
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export PKG_CONFIG_ALLOW_CROSS=1
    export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
    deb=$("$repo/packaging/build-deb.sh" --target "$triple" --out "$out/deb" | tail -1)
fi
[ -f "$deb" ] || die "no package at $deb"
[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || die "$deb is not an arm64 package"

# ---------------------------------------------------------------- root file system
mkdir -p "$out"
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"

# Debian packages of the image. Nothing here listens on the network: sidflowd is the only
# listener (HTTP, and its own mDNS responder: no avahi); systemd-resolved's stub stays on
# loopback (LLMNR and mDNS off); ssh is installed but off unless sidflow.txt turns it on.
packages=(
    systemd-sysv udev kmod initramfs-tools zstd
    linux-image-arm64 raspi-firmware firmware-brcm80211 wireless-regdb
    systemd-timesyncd systemd-resolved wpasupplicant
    systemd-zram-generator openssh-server
    fdisk e2fsprogs dosfstools tzdata netbase iproute2 procps nano
    libasound2
)
sources=(
    "deb $mirror $suite $components"
    "deb $mirror $suite-updates $components"
    "deb $security $suite-security $components"
)
cache=${SIDFLOW_IMAGE_ROOTFS_CACHE:-}
if [ -n "$cache" ] && [ -f "$cache" ]; then
    stamp "root file system: reusing $cache (developer cache)"
    tar -C "$root" --numeric-owner -xpf "$cache"
else
    stamp "root file system: mmdebstrap $suite arm64 (${#packages[@]} packages and their dependencies)"
    # update-initramfs would run twice under qemu-user (kernel postinst, then the
    # initramfs-tools trigger), and that is the slow part of the whole build: divert it to a
    # no-op while packages install and build the initramfs once at the end.
    mmdebstrap --mode=root --arch=arm64 --variant=minbase --skip=cleanup/apt/lists \
        --components="${components// /,}" \
        --include="$(IFS=,; echo "${packages[*]}")" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.sidflow-build --add /usr/sbin/update-initramfs' \
        --essential-hook='printf "#!/bin/sh\nexit 0\n" > "$1/usr/sbin/update-initramfs"; chmod 0755 "$1/usr/sbin/update-initramfs"' \
        --customize-hook='rm -f "$1/usr/sbin/update-initramfs"; chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
        "$suite" "$root" "${sources[@]}" >&2
    # The archive state the image was built from, for the manifest.
    if [ -n "$cache" ]; then
        tar -C "$root" --numeric-owner -cpf "$cache.tmp" . && mv "$cache.tmp" "$cache"
    fi
fi

# Maintainer scripts and hooks run from here on need /proc (ischroot, findmnt, ...).
mount -t proc proc "$root/proc"
trap 'umount -l "$root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
stamp "root file system: SIDFlow package and image configuration"
"$here/rootfs-hook.sh" customize "$root" "$deb"

stamp "initramfs (once, under qemu-user)"
chroot "$root" update-initramfs -c -k all >&2
[ -f "$root"/boot/firmware/config.txt ] || die "raspi-firmware did not populate /boot/firmware"
[ -f "$root"/boot/firmware/cmdline.txt ] || die "no cmdline.txt"
grep -q "root=LABEL=$root_label" "$root/boot/firmware/cmdline.txt" || die "cmdline.txt does not boot LABEL=$root_label"

umount "$root/proc"
stamp "package manifest"
manifest="$out/$name.manifest.tsv"
{
    echo "# Debian packages in $name.img.xz (dpkg-query), built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# from: ${sources[*]}"
    for rel in "$root"/var/lib/apt/lists/*_InRelease; do
        [ -f "$rel" ] || continue
        echo "# $(basename "$rel"): $(sed -n 's/^Date: //p' "$rel" | head -1)"
    done
    printf 'package\tversion\tarchitecture\n'
    dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\t${Version}\t${Architecture}\n' | sort
} > "$manifest.tmp"
mv "$manifest.tmp" "$manifest"
# The image carries no package lists (apt update fetches them on the box).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
find "$root/var/cache/apt/archives" -name '*.deb' -delete 2>/dev/null || true

# ---------------------------------------------------------------- partitions
stamp "boot partition (FAT, ${boot_mib} MiB)"
fw="$work/firmware"
mv "$root/boot/firmware" "$fw"
mkdir -m 0755 "$root/boot/firmware"
install -m 0644 "$here/sidflow.txt" "$fw/sidflow.txt"
mkfs.vfat -n "$boot_label" -F 32 -S 512 -C "$work/boot.img" $((boot_mib * 1024)) >/dev/null
mcopy -s -i "$work/boot.img" "$fw"/* ::
mdir -i "$work/boot.img" -b :: | grep -q sidflow.txt || die "mcopy failed"

stamp "root partition (ext4)"
used_mib=$(du -s --block-size=1M "$root" | cut -f1)
# Room for the first boot; the first boot grows the partition and the file system to the card.
root_mib=$(( (used_mib * 13 / 10 + 256 + 63) / 64 * 64 ))
mke2fs -q -t ext4 -L "$root_label" -E root_owner=0:0 -d "$root" "$work/root.img" "${root_mib}M"
e2fsck -fn "$work/root.img" >/dev/null || die "the root file system does not check clean"

stamp "disk image (MBR: FAT boot + ext4 root; root at the end so it can grow)"
img="$work/$name.img"
first_mib=4
truncate -s $(( (first_mib + boot_mib + root_mib) * 1024 * 1024 )) "$img"
sfdisk -q "$img" <<EOF
label: dos
unit: sectors
start=$((first_mib * 2048)), size=$((boot_mib * 2048)), type=c, bootable
start=$(( (first_mib + boot_mib) * 2048 )), size=$((root_mib * 2048)), type=83
EOF
dd if="$work/boot.img" of="$img" bs=1M seek="$first_mib" conv=notrunc,sparse status=none
dd if="$work/root.img" of="$img" bs=1M seek=$((first_mib + boot_mib)) conv=notrunc,sparse status=none
mdir -i "$img@@$((first_mib))M" -b :: | grep -q cmdline.txt || die "boot partition not readable in the image"

stamp "compressing (xz -$xz_level, $(( (first_mib + boot_mib + root_mib) )) MiB)"
xz -T0 -"$xz_level" -c "$img" > "$out/$name.img.xz.tmp"
mv "$out/$name.img.xz.tmp" "$out/$name.img.xz"
(cd "$out" && sha256sum "$name.img.xz" > "$name.img.xz.sha256")
stamp "done: $out/$name.img.xz ($(du -h "$out/$name.img.xz" | cut -f1)), $(basename "$manifest")"
echo "$out/$name.img.xz"

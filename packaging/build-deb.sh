#!/usr/bin/env bash
# Builds the sidflow Debian package with dpkg-deb (no cargo-deb needed).
#   packaging/build-deb.sh [--bin PATH] [--target TRIPLE] [--arch ARCH] [--revision N] [--out DIR]
#   --bin       package this sidflowd binary instead of building one
#               (default: cargo build --release --locked -p sidflowd [--target TRIPLE])
#   --target    Rust target triple for the build (e.g. aarch64-unknown-linux-gnu)
#   --arch      Debian architecture (default: from --target, else dpkg --print-architecture)
#   --revision  Debian revision (default 1): version = <workspace version>-<revision>
#   --out       output folder (default target/deb)
#   --fast      gzip -1 instead of xz (for tests)
# Prints the path of the .deb on its last line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin="" target="" arch="" revision=1 out="$repo/target/deb" compress=(-Zxz)
while [ $# -gt 0 ]; do
    case "$1" in
    --bin) bin=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --revision) revision=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ -z "$arch" ]; then
    case "$target" in
    "") arch=$(dpkg --print-architecture) ;;
    aarch64-*) arch=arm64 ;;
    armv7*-gnueabihf | arm-*-gnueabihf) arch=armhf ;;
    x86_64-*) arch=amd64 ;;
    *) echo "cannot tell the Debian architecture of $target: pass --arch" >&2; exit 2 ;;
    esac
fi

if [ -z "$bin" ]; then
    tdir=${CARGO_TARGET_DIR:-$repo/target}
    if [ -n "$target" ]; then
        cargo build --release --locked -p sidflowd --target "$target" --manifest-path "$repo/Cargo.toml" >&2
        bin="$tdir/$target/release/sidflowd"
    else
        cargo build --release --locked -p sidflowd --manifest-path "$repo/Cargo.toml" >&2
        bin="$tdir/release/sidflowd"
    fi
fi
[ -x "$bin" ] || { echo "no executable at $bin" >&2; exit 1; }

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || { echo "no workspace version in Cargo.toml" >&2; exit 1; }
debver="$version-$revision"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/sidflow"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" \
    "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/lib/udev/rules.d" "$root/usr/lib/sysctl.d" "$root/etc/sidflow" "$root/usr/share/doc/sidflow"
install -m 0755 "$bin" "$root/usr/bin/sidflowd"
# Strip debug info with a strip that knows the architecture (skipped if there is none).
strip_tool=strip
case "$arch" in
arm64) [ "$(dpkg --print-architecture)" = arm64 ] || strip_tool=aarch64-linux-gnu-strip ;;
armhf) [ "$(dpkg --print-architecture)" = armhf ] || strip_tool=arm-linux-gnueabihf-strip ;;
esac
if command -v "$strip_tool" >/dev/null 2>&1; then
    "$strip_tool" --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/sidflowd"
fi
install -m 0644 "$repo/systemd/sidflowd.service" "$root/usr/lib/systemd/system/sidflowd.service"
install -m 0644 "$repo/systemd/sidflow.sysusers" "$root/usr/lib/sysusers.d/sidflow.conf"
install -m 0644 "$repo/systemd/sidflow.tmpfiles" "$root/usr/lib/tmpfiles.d/sidflow.conf"
install -m 0644 "$repo/systemd/60-sidflow-gpio.rules" "$root/usr/lib/udev/rules.d/60-sidflow-gpio.rules"
install -m 0644 "$repo/systemd/60-sidflow-udp.sysctl" "$root/usr/lib/sysctl.d/60-sidflow.conf"
install -m 0644 "$repo/packaging/sidflow.toml" "$root/etc/sidflow/sidflow.toml"
# The Avahi service file for [mdns] backend = "avahi" (postinst links it into /etc/avahi/services).
install -D -m 0644 "$repo/packaging/avahi/sidflow.service" "$root/usr/share/sidflow/avahi/sidflow.service"
[ -f "$repo/doc/admin-guide.md" ] && install -m 0644 "$repo/doc/admin-guide.md" "$root/usr/share/doc/sidflow/admin-guide.md"
cat > "$root/usr/share/doc/sidflow/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: sidflow

Files: *
Copyright: 2026 the SIDFlow authors
License: GPL-3.0-or-later
 On Debian systems the full text of the GNU General Public License version 3 is in
 /usr/share/common-licenses/GPL-3.
COPY
{
    echo "sidflow ($debver) unstable; urgency=medium"
    echo
    echo "  * Release $version."
    echo
    echo " -- SIDFlow team <sidflow@example.invalid>  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$root/usr/share/doc/sidflow/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/sidflow/changelog.Debian.gz"

install -m 0755 "$repo/packaging/deb/postinst" "$repo/packaging/deb/prerm" "$repo/packaging/deb/postrm" "$root/DEBIAN/"
echo "/etc/sidflow/sidflow.toml" > "$root/DEBIAN/conffiles"

# Minimum glibc from the binary's versioned symbols (readelf reads any architecture).
glibc=$(readelf --dyn-syms -W "$root/usr/bin/sidflowd" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: sidflow
Version: $debver
Architecture: $arch
Maintainer: SIDFlow team <sidflow@example.invalid>
Installed-Size: $size
Depends: libc6 (>= ${glibc:-2.34}), libgcc-s1 (>= 4.2), libasound2 (>= 1.1) | libasound2t64, init-system-helpers (>= 1.54~), systemd (>= 247) | systemd-standalone-sysusers
Section: sound
Priority: optional
Homepage: https://example.invalid/sidflow
Description: C64 SID music for the home network
 sidflowd renders Commodore 64 SID tunes with its own cycle-exact C64 model
 and reSID, plays them on C64 Ultimate devices and captures their audio,
 caches renders as WAV/MP3/FLAC, serves a web UI, plays to the line-out and
 is found as sidflow.local. It runs as the hardened service sidflowd.service.
CONTROL

mkdir -p "$out"
deb="$out/sidflow_${debver}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb" >&2
echo "$deb"

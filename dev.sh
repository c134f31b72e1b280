#!/usr/bin/env bash
# SIDFlow developer entry point.
#   ./dev.sh run    install what is missing, build, start the daemon on built-in defaults
#                   with the demo library (http://127.0.0.1:8080)
#   ./dev.sh test   install what is missing, build and run every test
#   ./dev.sh deps   only install (or list) the Debian packages the other two need
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages: build (pkg-config, ALSA headers, C compiler for LAME), reference tools
# the tests compare against (sidplayfp, flac, lame, ffmpeg, mpg123, sox, mutagen's mid3v2;
# libsidplayfp-dev and libgcrypt20-dev for the fidelity harness that links libsidplayfp),
# assemblers for the demo tunes, and network/mDNS/browser peers for end-to-end tests.
APT_PACKAGES="build-essential pkg-config libasound2-dev alsa-utils sidplayfp libsidplayfp-dev libgcrypt20-dev 64tass acme flac lame ffmpeg mpg123 sox python3-mutagen python3-prometheus-client iproute2 avahi-daemon avahi-utils dbus chromium systemd tzdata"

missing_packages() {
    local p missing=()
    for p in $1; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]:-}"
}

deps() {
    local missing
    missing=$(missing_packages "$APT_PACKAGES")
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "installing Debian packages: $missing"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            # shellcheck disable=SC2086
            apt-get install -y -qq --no-install-recommends $missing
        elif command -v sudo >/dev/null 2>&1; then
            echo "installing Debian packages with sudo: $missing"
            sudo apt-get update -qq
            # shellcheck disable=SC2086
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
        else
            echo "missing Debian packages (install them as root): apt-get install $missing" >&2
            exit 1
        fi
    fi
    command -v cargo >/dev/null 2>&1 || {
        echo "cargo not found: install Rust (rustup, stable >= 1.90)" >&2
        exit 1
    }
    wasm_target
}

# The in-browser engine (crates/wasm-engine) is built for wasm32-unknown-unknown.
wasm_target() {
    local sysroot
    sysroot=$(rustc --print sysroot 2>/dev/null || true)
    [ -n "$sysroot" ] && [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ] && return 0
    if command -v rustup >/dev/null 2>&1; then
        echo "installing the Rust target wasm32-unknown-unknown (the in-browser engine)"
        if rustup target add wasm32-unknown-unknown; then
            return 0
        fi
        echo "could not install the Rust target wasm32-unknown-unknown (rustup target add" \
            "wasm32-unknown-unknown failed; it needs network access to static.rust-lang.org)" >&2
    else
        echo "the Rust target wasm32-unknown-unknown is missing and rustup is not available:" \
            "install Rust with rustup, then: rustup target add wasm32-unknown-unknown" >&2
    fi
    exit 1
}

node_deps() {
    # Node.js >= 20 drives the browser tests (playwright-core). Debian 13 ships 20; on older
    # releases install a newer nodejs first.
    if ! command -v node >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
        else
            echo "missing: Node.js >= 20 with npm (apt-get install nodejs npm)" >&2
            exit 1
        fi
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -lt 20 ]; then
        echo "Node.js $(node --version) is too old for the browser tests: install Node.js >= 20" >&2
        exit 1
    fi
}

case "${1:-}" in
deps)
    deps
    node_deps
    ;;
run)
    deps
    shift
    # As the systemd unit: see doc/performance.md, "Library in the daemon".
    export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
    exec cargo run --release -p sidflowd -- serve --dev "$@"
    ;;
test)
    deps
    node_deps
    # The committed demo .sid files must be exactly what their sources assemble to.
    demo/build.sh
    cargo test --workspace --locked
    # The web UI in headless Chromium (Playwright, playwright-core from npm).
    tests/browser/run.sh
    ;;
*)
    echo "usage: ./dev.sh run|test|deps" >&2
    exit 2
    ;;
esac

#!/bin/bash
# Runs inside a private mount namespace: private /run for dbus + avahi, then publishes
# NAME -> IP until killed. Prints READY when the record is published.
set -e
NAME="$1"; IP="$2"; DIR="$3"
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon
chown messagebus /run/dbus 2>/dev/null || true
cat > "$DIR/avahi.conf" <<CONF
[server]
host-name=sidflow-avahi-peer
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
CONF
dbus-daemon --system --fork --print-pid > "$DIR/dbus.pid"
avahi-daemon -f "$DIR/avahi.conf" --no-chroot --no-rlimits --no-drop-root > "$DIR/avahi.log" 2>&1 &
AV=$!
cleanup() { kill $PUB $AV $(cat "$DIR/dbus.pid") 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT TERM INT
for i in $(seq 50); do grep -q "Server startup complete" "$DIR/avahi.log" && break; sleep 0.1; done
avahi-publish -a -R "$NAME" "$IP" > "$DIR/publish.log" 2>&1 &
PUB=$!
for i in $(seq 50); do grep -q "Established" "$DIR/publish.log" && break; sleep 0.1; done
echo READY
wait $PUB

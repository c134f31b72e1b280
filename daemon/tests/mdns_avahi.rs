//! mDNS self-advertisement against an independent peer, Avahi, inside a network namespace this
//! test creates (never the root namespace: mDNS must not reach a real network from here).
//!
//! In the namespace a script mounts a private /run, starts its own system bus and an
//! avahi-daemon restricted to `lo`, and runs `sidflowd mdns-advertise` for a few seconds.
//! Avahi must browse and resolve the `_http._tcp` service (host, address, port, TXT path=/)
//! and the host name; after sidflowd withdraws, the goodbye packets must have removed both.
//! Needs root, iproute2, dbus and avahi-daemon/avahi-utils; skipped with a message when not
//! root outside CI, a failure in CI.

use std::path::PathBuf;
use std::process::Command;

/// Starts, inside the namespace, a private /run, its own system bus and an avahi-daemon
/// restricted to `lo`, and waits until Avahi is up. Needs `$WORK`; with `$SERVICES` set, that
/// folder is bind-mounted over /etc/avahi/services first. A script that starts a process of
/// its own sets `CHILD` to its pid; the exit trap stops it with Avahi and the bus.
const AVAHI_UP: &str = r#"
if [ -n "${SERVICES:-}" ]; then mount --bind "$SERVICES" /etc/avahi/services || exit 5; fi
mount -t tmpfs tmpfs /run || exit 3
mkdir -p /run/dbus
ip link set lo up
dbus-daemon --system --fork --print-pid > "$WORK/dbus.pid" || exit 4
cat > "$WORK/avahi.conf" <<CONF
[server]
host-name=avahipeer
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
avahi-daemon -f "$WORK/avahi.conf" --no-chroot --no-rlimits > "$WORK/avahi.log" 2>&1 &
AVAHI=$!
CHILD=
cleanup() { kill $AVAHI 2>/dev/null; kill "$(cat "$WORK/dbus.pid")" 2>/dev/null; [ -n "$CHILD" ] && kill $CHILD 2>/dev/null; }
trap cleanup EXIT
for i in $(seq 100); do grep -q 'Server startup complete' "$WORK/avahi.log" && break; sleep 0.1; done
"#;

const SCRIPT: &str = r#"
"$BIN" mdns-advertise --name "$NAME" --port "$PORT" --interface lo --seconds 8 > "$WORK/adv.log" 2>&1 &
CHILD=$!
for i in $(seq 100); do grep -q '^advertising' "$WORK/adv.log" && break; sleep 0.1; done
sleep 0.5
echo "== browse"
for i in 1 2 3; do
    out=$(timeout 10 avahi-browse -k -r -t -p _http._tcp)
    printf '%s\n' "$out" | grep -q '^=;lo;IPv4;SIDFlow;' && break
    sleep 0.5
done
printf '%s\n' "$out"
echo "== resolve"
timeout 10 avahi-resolve -4 -n "$NAME.local"
wait $CHILD; echo "== advertiser exit $?"; CHILD=
sleep 2
echo "== after"
timeout 10 avahi-browse -k -r -t -p _http._tcp
timeout 3 avahi-resolve -4 -n "$NAME.local" 2>/dev/null
echo "== end"
"#;

/// Runs `header` + [`AVAHI_UP`] + `body` with bash in a new network namespace (removed after)
/// with `args` and returns the work folder, its stdout, `log` (a file in the work folder the
/// script writes) and a context for failures (stdout, stderr and the log). `None`: skipped (not root, or `tools` missing).
fn in_avahi_netns(
    tag: &str,
    tools: &[&str],
    header: &str,
    body: &str,
    args: &[&str],
    log: &str,
) -> Option<(PathBuf, String, String, String)> {
    let ci = std::env::var_os("CI").is_some();
    if !is_root() || !tools.iter().all(|t| have(t)) {
        assert!(!ci, "CI must run this test as root with {tools:?} installed (iproute2, dbus, avahi-daemon, avahi-utils)");
        eprintln!("skipped: needs root and {tools:?}");
        return None;
    }
    let work: PathBuf = std::env::temp_dir().join(format!("sidflow-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let script = work.join("run.sh");
    std::fs::write(&script, [header, AVAHI_UP, body].concat()).unwrap();
    let ns = Netns(format!("sidflow-{tag}-{}", std::process::id()));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .unwrap()
        .success());
    let out = Command::new("timeout")
        .args(["120", "ip", "netns", "exec", &ns.0, "bash"])
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_sidflowd"))
        .arg(&work)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let log = std::fs::read_to_string(work.join(log)).unwrap_or_default();
    let ctx = format!(
        "--- stdout\n{stdout}\n--- stderr\n{}\n--- sidflowd\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((work, stdout, log, ctx))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("== {name}\n"))
        .map(|i| i + name.len() + 4)
        .unwrap_or(out.len());
    let rest = &out[start..];
    &rest[..rest.find("\n== ").map(|i| i + 1).unwrap_or(rest.len())]
}

#[test]
fn avahi_sees_the_service_and_the_host_then_the_goodbye() {
    let tools = [
        "ip",
        "dbus-daemon",
        "avahi-daemon",
        "avahi-browse",
        "avahi-resolve",
    ];
    let header = "set -u\nBIN=$1; WORK=$2; NAME=$3; PORT=$4\n";
    let Some((work, stdout, _, ctx)) = in_avahi_netns(
        "mdns",
        &tools,
        header,
        SCRIPT,
        &["sidflowtest", "8080"],
        "adv.log",
    ) else {
        return;
    };

    let browse = section(&stdout, "browse");
    let resolved = browse
        .lines()
        .find(|l| l.starts_with("=;lo;IPv4;SIDFlow;"))
        .unwrap_or_else(|| panic!("avahi did not resolve the service\n{ctx}"));
    let f: Vec<&str> = resolved.split(';').collect();
    assert_eq!(f[4], "_http._tcp", "{ctx}");
    assert_eq!(f[6], "sidflowtest.local", "{ctx}");
    assert_eq!(f[7], "127.0.0.1", "{ctx}");
    assert_eq!(f[8], "8080", "{ctx}");
    assert!(f[9].contains("\"path=/\""), "TXT record: {}\n{ctx}", f[9]);

    let resolve = section(&stdout, "resolve");
    assert!(resolve.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["sidflowtest.local", "127.0.0.1"]), "{ctx}");
    assert!(stdout.contains("== advertiser exit 0"), "{ctx}");

    let after = section(&stdout, "after");
    assert!(
        !after.contains("SIDFlow"),
        "service still listed after the goodbye\n{ctx}"
    );
    assert!(
        !after.contains("127.0.0.1"),
        "host still resolves after the goodbye\n{ctx}"
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// `[mdns] backend = "avahi"`: avahi-daemon announces the box from the service file the
/// package ships (bind-mounted over /etc/avahi/services in the namespace's private mounts),
/// and sidflowd runs no responder of its own although it serves on the LAN side and is
/// told to use `lo` (with the builtin backend it would announce a second `SIDFlow`).
const AVAHI_BACKEND: &str = r#"
printf '[mdns]\nbackend = "avahi"\ninterfaces = ["lo"]\n[lineout]\nenabled = false\n[devices]\ndiscover = false\n' > "$WORK/sidflow.toml"
SIDFLOW_ADMIN_PASSWORD=avahi-test-pw RUST_LOG=info timeout 60 "$BIN" serve --config "$WORK/sidflow.toml" --listen 0.0.0.0:80 --data-dir "$WORK/data" > "$WORK/sidflowd.log" 2>&1 &
CHILD=$!
for i in $(seq 200); do grep -q 'listening on' "$WORK/sidflowd.log" && break; sleep 0.1; done
sleep 2
echo "== browse"
for i in 1 2 3; do
    out=$(timeout 10 avahi-browse -k -r -t -p _http._tcp)
    printf '%s\n' "$out" | grep -q '^=;lo;IPv4;SIDFlow\\032on\\032avahipeer;' && break
    sleep 0.5
done
printf '%s\n' "$out"
echo "== http"
timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/80; printf "GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; head -1 <&3'
echo "== end"
"#;

#[test]
fn with_the_avahi_backend_avahi_announces_the_box_from_the_shipped_file() {
    let tools = ["ip", "dbus-daemon", "avahi-daemon", "avahi-browse"];
    if !std::path::Path::new("/etc/avahi/services").is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have avahi-daemon's /etc/avahi/services"
        );
        eprintln!("skipped: needs /etc/avahi/services");
        return;
    }
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/avahi/sidflow.service"
    );
    // The shipped service file in a folder of its own, bind-mounted over Avahi's.
    let header = "set -u\nBIN=$1; WORK=$2; SHIPPED=$3\n\
        SERVICES=$WORK/services; mkdir -p \"$SERVICES\"; cp \"$SHIPPED\" \"$SERVICES/sidflow.service\"\n";
    let Some((work, stdout, log, ctx)) = in_avahi_netns(
        "avahib",
        &tools,
        header,
        AVAHI_BACKEND,
        &[shipped],
        "sidflowd.log",
    ) else {
        return;
    };
    let browse = section(&stdout, "browse");
    let resolved = browse
        .lines()
        .find(|l| l.starts_with("=;lo;IPv4;SIDFlow\\032on\\032avahipeer;"))
        .unwrap_or_else(|| panic!("avahi did not announce the shipped service\n{ctx}"));
    let f: Vec<&str> = resolved.split(';').collect();
    assert_eq!(
        (f[4], f[6], f[8]),
        ("_http._tcp", "avahipeer.local", "80"),
        "{ctx}"
    );
    assert!(f[9].contains("\"path=/\""), "TXT record: {}\n{ctx}", f[9]);
    // One announcement: sidflowd's own responder did not start.
    assert_eq!(
        browse
            .lines()
            .filter(|l| l.starts_with('=') && l.contains("SIDFlow"))
            .count(),
        1,
        "{ctx}"
    );
    assert!(!log.contains("advertising over mDNS"), "{ctx}");
    assert!(log.contains("avahi-daemon announces the box"), "{ctx}");
    assert!(
        section(&stdout, "http").starts_with("HTTP/1.0 200"),
        "the box serves on port 80\n{ctx}"
    );
    let _ = std::fs::remove_dir_all(&work);
}

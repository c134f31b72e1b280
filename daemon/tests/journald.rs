//! Under systemd the daemon logs to the journal natively, with priorities: a warning
//! reaches the journal at priority 4, so `journalctl -p warning` shows it.
//!
//! No journald runs in a test environment (nor, usually, in CI containers), so the test
//! plays journald: in a private mount namespace (`unshare -m`, root) it binds a datagram
//! socket where journald listens, `/run/systemd/journal/socket`, starts the daemon with
//! stderr redirected to a file and `JOURNAL_STREAM` naming that file (what systemd does
//! for `StandardError=journal`), and decodes what arrives in journald's native protocol.
//! The warning is a real one: the line-out's ALSA device does not exist.

use std::collections::HashMap;
use std::process::Command;

/// One journal entry: field -> value.
type Entry = HashMap<String, Vec<u8>>;

/// Decodes one datagram of journald's native protocol: `KEY=value\n`, or for values with
/// newlines `KEY\n` + 64-bit little-endian length + value + `\n`.
fn decode(mut d: &[u8]) -> Entry {
    let mut e = Entry::new();
    while !d.is_empty() {
        let end = d.iter().position(|&b| b == b'=' || b == b'\n').unwrap();
        let key = String::from_utf8(d[..end].to_vec()).unwrap();
        if d[end] == b'=' {
            let rest = &d[end + 1..];
            let nl = rest.iter().position(|&b| b == b'\n').unwrap();
            e.insert(key, rest[..nl].to_vec());
            d = &rest[nl + 1..];
        } else {
            let rest = &d[end + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            e.insert(key, rest[8..8 + len].to_vec());
            d = &rest[8 + len + 1..];
        }
    }
    e
}

const SCRIPT: &str = r#"
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/journal
/usr/bin/python3 - "$OUT" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
s.settimeout(20)
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "wb") as f:
    end = time.time() + 30
    while time.time() < end:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            break
        f.write(len(d).to_bytes(4, "little") + d)
        f.flush()
        if b"listening on http" in d:
            break
PY
PY_PID=$!
while [ ! -e "$OUT.ready" ]; do sleep 0.05; done
exec 2>"$DIR/stderr"
JOURNAL_STREAM="$(stat -c %d:%i "$DIR/stderr")"
export JOURNAL_STREAM
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$DIR/state" --config "$DIR/cfg.toml" &
D_PID=$!
wait $PY_PID || true
kill $D_PID
wait $D_PID || true
"#;

#[test]
fn a_warning_reaches_the_journal_at_priority_4() {
    let ci = std::env::var_os("CI").is_some();
    let root = rustix::process::geteuid().is_root();
    let unshare_ok = root
        && Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !unshare_ok {
        assert!(!ci, "this test needs root and unshare(1) in CI");
        eprintln!("SKIPPED: needs root and a mount namespace (unshare -m) to play journald");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sidflowd-journald-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(
        dir.join("cfg.toml"),
        "[lineout]\nenabled = true\ndevice = \"sidflow_no_such_pcm\"\n[mdns]\nenabled = false\n",
    )
    .unwrap();
    let out = dir.join("journal.bin");
    let st = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", SCRIPT])
        .env("OUT", &out)
        .env("DIR", &dir)
        .env("BIN", env!("CARGO_BIN_EXE_sidflowd"))
        .env("RUST_LOG", "info")
        .status()
        .unwrap();
    assert!(st.success(), "{st}");
    let raw = std::fs::read(&out).unwrap();
    let mut entries = Vec::new();
    let mut d = &raw[..];
    while d.len() >= 4 {
        let n = u32::from_le_bytes(d[..4].try_into().unwrap()) as usize;
        // tracing-journald sends one empty datagram when it connects.
        if n > 0 {
            entries.push(decode(&d[4..4 + n]));
        }
        d = &d[4 + n..];
    }
    let text =
        |e: &Entry, k: &str| String::from_utf8_lossy(e.get(k).map_or(&[][..], |v| v)).into_owned();
    let warn = entries
        .iter()
        .find(|e| text(e, "MESSAGE").contains("line-out unavailable"))
        .unwrap_or_else(|| panic!("no warning in {} journal entries", entries.len()));
    assert_eq!(text(warn, "PRIORITY"), "4", "{warn:?}");
    assert_eq!(text(warn, "SYSLOG_IDENTIFIER"), "sidflowd");
    assert!(text(warn, "MESSAGE").contains("sidflow_no_such_pcm"));
    // Routine lines are "informational" (6), not "notice" (5).
    let info = entries
        .iter()
        .find(|e| text(e, "MESSAGE").contains("listening on http"))
        .expect("the start-up line");
    assert_eq!(text(info, "PRIORITY"), "6", "{info:?}");
    assert_eq!(text(info, "TARGET"), "sidflowd::cmd::serve", "{info:?}");
    // Nothing went to stderr: the journal has it all.
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert!(!stderr.contains("line-out unavailable"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

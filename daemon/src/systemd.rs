//! systemd integration without libsystemd: `sd_notify` datagrams (READY, WATCHDOG, STOPPING,
//! STATUS) to `$NOTIFY_SOCKET`, and the watchdog interval from `$WATCHDOG_USEC`.
//!
//! Used by `serve`: call [`notify_ready`] once the HTTP listener is bound, keep the handle of
//! [`spawn_watchdog`] (its health check should fail when the daemon is wedged, so systemd
//! restarts it), and call [`notify_stopping`] when shutdown begins. Outside systemd every call
//! is a no-op.
// The API is wired by `cmd::serve`; until then parts of it are only used by tests.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

/// Where notifications go: a filesystem path or a Linux abstract socket name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyAddr {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl NotifyAddr {
    /// Parses `$NOTIFY_SOCKET` (`/run/systemd/notify` or `@abstract-name`).
    pub fn parse(v: &str) -> Option<NotifyAddr> {
        if v.is_empty() {
            None
        } else if let Some(name) = v.strip_prefix('@') {
            Some(NotifyAddr::Abstract(name.as_bytes().to_vec()))
        } else if v.starts_with('/') {
            Some(NotifyAddr::Path(v.into()))
        } else {
            None
        }
    }

    pub fn from_env() -> Option<NotifyAddr> {
        std::env::var("NOTIFY_SOCKET")
            .ok()
            .as_deref()
            .and_then(NotifyAddr::parse)
    }

    /// Sends one notification datagram (`KEY=VALUE` lines).
    pub fn send(&self, state: &str) -> io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        match self {
            NotifyAddr::Path(p) => sock.send_to(state.as_bytes(), p)?,
            NotifyAddr::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                sock.send_to_addr(state.as_bytes(), &addr)?
            }
        };
        Ok(())
    }
}

/// Sends `state` to systemd; `Ok(false)` when not running under a notify-type unit.
pub fn notify(state: &str) -> io::Result<bool> {
    match NotifyAddr::from_env() {
        Some(a) => a.send(state).map(|_| true),
        None => Ok(false),
    }
}

fn notify_logged(state: &str) {
    if let Err(e) = notify(state) {
        tracing::warn!("sd_notify {state:?}: {e}");
    }
}

/// The daemon is up (listening): systemd marks the unit started.
pub fn notify_ready() {
    notify_logged("READY=1\nSTATUS=serving");
}

/// Shutdown has begun.
pub fn notify_stopping() {
    notify_logged("STOPPING=1");
}

/// A one-line status shown by `systemctl status`.
pub fn notify_status(status: &str) {
    notify_logged(&format!("STATUS={}", status.replace('\n', " ")));
}

/// The watchdog timeout systemd expects pings within, from `WATCHDOG_USEC` (and
/// `WATCHDOG_PID`, which must be ours if set). `get` reads the environment.
pub fn watchdog_timeout_from(get: impl Fn(&str) -> Option<String>, pid: u32) -> Option<Duration> {
    let usec: u64 = get("WATCHDOG_USEC")?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(p) = get("WATCHDOG_PID") {
        if p.trim().parse::<u32>().ok()? != pid {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

pub fn watchdog_timeout() -> Option<Duration> {
    watchdog_timeout_from(|k| std::env::var(k).ok(), std::process::id())
}

/// Pings the watchdog at half the timeout from a thread, as long as `healthy()` says so:
/// a wedged daemon stops pinging and systemd restarts it. `None` without a watchdog.
pub fn spawn_watchdog<F>(healthy: F) -> Option<JoinHandle<()>>
where
    F: Fn() -> bool + Send + 'static,
{
    let timeout = watchdog_timeout()?;
    let addr = NotifyAddr::from_env()?;
    spawn_watchdog_to(addr, timeout / 2, healthy).ok()
}

/// True if the async runtime runs a freshly spawned task within `within`: a wedged runtime
/// (all workers blocked) fails this, and the watchdog then lets systemd restart the daemon.
pub fn runtime_healthy(handle: &tokio::runtime::Handle, within: Duration) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let _ = tx.send(());
    });
    rx.recv_timeout(within).is_ok()
}

/// [`spawn_watchdog`] with [`runtime_healthy`] as the health check: what `serve` should use.
pub fn spawn_runtime_watchdog(handle: tokio::runtime::Handle) -> Option<JoinHandle<()>> {
    let check = (watchdog_timeout()? / 4).min(Duration::from_secs(5));
    spawn_watchdog(move || runtime_healthy(&handle, check))
}

fn spawn_watchdog_to<F>(addr: NotifyAddr, every: Duration, healthy: F) -> io::Result<JoinHandle<()>>
where
    F: Fn() -> bool + Send + 'static,
{
    tracing::info!(
        interval_ms = every.as_millis() as u64,
        "systemd watchdog enabled"
    );
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || loop {
            if healthy() {
                if let Err(e) = addr.send("WATCHDOG=1") {
                    tracing::warn!("watchdog ping: {e}");
                }
            } else {
                tracing::warn!("health check failed: not pinging the watchdog");
            }
            std::thread::sleep(every);
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn parses_notify_socket_values() {
        assert_eq!(
            NotifyAddr::parse("/run/systemd/notify"),
            Some(NotifyAddr::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            NotifyAddr::parse("@x/y"),
            Some(NotifyAddr::Abstract(b"x/y".to_vec()))
        );
        assert_eq!(NotifyAddr::parse(""), None);
        assert_eq!(NotifyAddr::parse("relative"), None);
    }

    #[test]
    fn sends_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("sd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        NotifyAddr::Path(path.clone())
            .send("READY=1\nSTATUS=serving")
            .unwrap();
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("sidflow-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        NotifyAddr::parse(&format!("@{name}"))
            .unwrap()
            .send("STOPPING=1")
            .unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn watchdog_timeout_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            watchdog_timeout_from(env(&[("WATCHDOG_USEC", "30000000")]), 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_timeout_from(
                env(&[("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "7")]),
                7
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_timeout_from(
                env(&[("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "8")]),
                7
            ),
            None
        );
        assert_eq!(
            watchdog_timeout_from(env(&[("WATCHDOG_USEC", "0")]), 7),
            None
        );
        assert_eq!(
            watchdog_timeout_from(env(&[("WATCHDOG_USEC", "x")]), 7),
            None
        );
        assert_eq!(watchdog_timeout_from(env(&[]), 7), None);
    }

    #[test]
    fn runtime_health_check() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(runtime_healthy(rt.handle(), Duration::from_secs(5)));
        // A current-thread runtime nobody drives never runs the probe task: unhealthy.
        let stalled = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(!runtime_healthy(
            stalled.handle(),
            Duration::from_millis(100)
        ));
    }

    #[test]
    fn watchdog_pings_only_while_healthy() {
        let dir = std::env::temp_dir().join(format!("sd-wd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ok = Arc::new(AtomicBool::new(true));
        let ok2 = ok.clone();
        spawn_watchdog_to(
            NotifyAddr::Path(path),
            Duration::from_millis(10),
            move || ok2.load(Ordering::SeqCst),
        )
        .unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"WATCHDOG=1");
        }
        ok.store(false, Ordering::SeqCst);
        // Drain what was in flight, then nothing more arrives.
        rx.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while rx.recv(&mut buf).is_ok() {}
        assert!(rx.recv(&mut buf).is_err(), "pinged while unhealthy");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The default `/etc/sidflow/sidflow.toml` the Debian package ships (packaging/sidflow.toml)
/// must stay in step with the configuration types: as shipped (all commented out) it parses;
/// with every setting uncommented it still parses and equals the built-in defaults, and it
/// names every key there is.
#[cfg(test)]
mod conffile_tests {
    use crate::config::Config;

    const SHIPPED: &str = include_str!("../../packaging/sidflow.toml");

    /// Settings and section headers are commented as `#key` / `#[section]`; prose as `# text`.
    fn uncommented() -> String {
        SHIPPED
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn keys(v: &toml::Value) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = v.as_table() {
            for (section, inner) in t {
                for k in inner
                    .as_table()
                    .map(|t| t.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    out.push(format!("{section}.{k}"));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn shipped_file_parses_as_is() {
        assert_eq!(Config::parse(SHIPPED).unwrap(), Config::default());
    }

    #[test]
    fn every_documented_default_is_the_real_default_and_every_key_is_documented() {
        let file: toml::Value = toml::from_str(&uncommented()).unwrap();
        let file_tbl = file.as_table().unwrap();
        let cfg_default = toml::Value::try_from(Config::default()).unwrap();
        let cfg_sections: Vec<String> = cfg_default.as_table().unwrap().keys().cloned().collect();

        // Sections the daemon's Config knows go through Config::parse; the appliance sections
        // are checked against their own types until Config embeds them.
        let mut for_config = toml::map::Map::new();
        for (section, body) in file_tbl {
            if cfg_sections.contains(section) {
                for_config.insert(section.clone(), body.clone());
                continue;
            }
            let ok = match section.as_str() {
                "lineout" => {
                    body.clone()
                        .try_into::<crate::config::LineoutConfig>()
                        .unwrap()
                        == Default::default()
                }
                "gpio" => {
                    body.clone().try_into::<gpio::GpioConfig>().unwrap() == Default::default()
                }
                "mdns" => {
                    body.clone().try_into::<crate::mdns::MdnsConfig>().unwrap()
                        == Default::default()
                }
                other => panic!(
                    "packaging/sidflow.toml has a section [{other}] the daemon does not know"
                ),
            };
            assert!(
                ok,
                "[{section}]: a documented default differs from the built-in one"
            );
            let own = match section.as_str() {
                "lineout" => toml::Value::try_from(crate::config::LineoutConfig::default()),
                "gpio" => toml::Value::try_from(gpio::GpioConfig::default()),
                _ => toml::Value::try_from(crate::mdns::MdnsConfig::default()),
            }
            .unwrap();
            let mut wrap = toml::map::Map::new();
            wrap.insert(section.clone(), own);
            let mut body_wrap = toml::map::Map::new();
            body_wrap.insert(section.clone(), body.clone());
            assert_eq!(
                keys(&toml::Value::Table(body_wrap)),
                keys(&toml::Value::Table(wrap)),
                "[{section}] keys"
            );
        }
        let text = toml::to_string(&toml::Value::Table(for_config.clone())).unwrap();
        assert_eq!(
            Config::parse(&text).unwrap(),
            Config::default(),
            "a documented default differs from the built-in one"
        );
        assert_eq!(
            keys(&toml::Value::Table(for_config)),
            keys(&cfg_default),
            "keys documented vs keys in Config"
        );
    }
}

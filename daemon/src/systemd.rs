//! systemd integration: `sd_notify` (READY, WATCHDOG, STOPPING, STATUS) through the
//! `sd-notify` crate, and a watchdog that pings only while the daemon is healthy.
//!
//! Used by `serve`: call [`notify_ready`] once the HTTP listener is bound, keep the handle of
//! [`spawn_runtime_watchdog`] (its health check fails when the daemon is wedged, so systemd
//! restarts it), and call [`notify_stopping`] when shutdown begins. Outside systemd every call
//! is a no-op.

use sd_notify::NotifyState;
use std::thread::JoinHandle;
use std::time::Duration;

fn notify(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("sd_notify: {e}");
    }
}

/// The daemon is up (listening): systemd marks the unit started.
pub fn notify_ready() {
    notify(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

/// Shutdown has begun.
pub fn notify_stopping() {
    notify(&[NotifyState::Stopping]);
}

/// A one-line status shown by `systemctl status`.
pub fn notify_status(status: &str) {
    notify(&[NotifyState::Status(&status.replace('\n', " "))]);
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

/// Pings systemd's watchdog at half its timeout from a thread, as long as the async runtime
/// is healthy and `critical()` (the parts readiness cannot do without: the database answers)
/// says so; a `critical` that blocks stops the pings too. `None` without a watchdog
/// (`WatchdogSec=` unset, or not under systemd).
pub fn spawn_runtime_watchdog(
    handle: tokio::runtime::Handle,
    critical: impl Fn() -> bool + Send + 'static,
) -> Option<JoinHandle<()>> {
    let timeout = sd_notify::watchdog_enabled()?;
    let check = (timeout / 4).min(Duration::from_secs(5));
    let ping = || notify(&[NotifyState::Watchdog]);
    spawn_watchdog(
        timeout / 2,
        move || runtime_healthy(&handle, check) && critical(),
        ping,
    )
    .ok()
}

/// Calls `ping` every `every` while `healthy()` says so.
fn spawn_watchdog(
    every: Duration,
    healthy: impl Fn() -> bool + Send + 'static,
    ping: impl Fn() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    tracing::info!(
        interval_ms = every.as_millis() as u64,
        "systemd watchdog enabled"
    );
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || loop {
            if healthy() {
                ping();
            } else {
                tracing::warn!("health check failed: not pinging the watchdog");
            }
            std::thread::sleep(every);
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

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
        let ok = Arc::new(AtomicBool::new(true));
        let pings = Arc::new(AtomicUsize::new(0));
        let (ok2, pings2) = (ok.clone(), pings.clone());
        spawn_watchdog(
            Duration::from_millis(5),
            move || ok2.load(Ordering::SeqCst),
            move || {
                pings2.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        let t0 = std::time::Instant::now();
        while pings.load(Ordering::SeqCst) < 3 {
            assert!(t0.elapsed() < Duration::from_secs(10), "no pings");
            std::thread::sleep(Duration::from_millis(5));
        }
        ok.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50)); // a ping in flight may still land
        let n = pings.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(pings.load(Ordering::SeqCst), n, "pinged while unhealthy");
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
                    body.clone().try_into::<lineout::LineoutConfig>().unwrap() == Default::default()
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
                "lineout" => toml::Value::try_from(lineout::LineoutConfig::default()),
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

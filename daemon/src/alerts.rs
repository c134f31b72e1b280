//! Alerts: the box tells the operator when something needs them, through a webhook
//! (`[alerts] webhook_url`), so nobody has to watch the Status tab.
//!
//! Every [`crate::observe::SAMPLE_EVERY`] the HTTP layer's sampler reads the box's state
//! into [`Conditions`]; [`Alerter::evaluate`] turns them into notifications: one when a
//! fault begins ("firing"), one when it ends ("resolved"), and while it lasts a reminder
//! at most every `cooldown_secs`, so one fault sends one message (not one per sample).
//!
//! Formats (`[alerts] format`): `json` (`{alert, state, message, box, at}`, for Home
//! Assistant, Node-RED or any webhook), `text` (the message as a plain-text body with a
//! `Title` header: ntfy), `form` (`title=...&message=...&priority=...`, urlencoded:
//! Gotify's `/message`). Sending is done with `ureq` (HTTP or HTTPS), 5 s timeout.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

/// `[alerts]` in sidflow.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Where alerts are POSTed; empty: no alerts.
    pub webhook_url: String,
    /// `json`, `text` (ntfy) or `form` (Gotify).
    pub format: String,
    /// A fault that lasts is reminded at most this often (seconds).
    pub cooldown_secs: u64,
    /// Render failures above this share of the renders that ended in the last 5 minutes.
    pub render_error_percent: f64,
    /// An installed HVSC not checked against its mirror for this many days; 0: never.
    pub hvsc_max_age_days: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            webhook_url: String::new(),
            format: "json".into(),
            cooldown_secs: 3600,
            render_error_percent: 1.0,
            hvsc_max_age_days: 7,
        }
    }
}

impl AlertsConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        let u = &self.webhook_url;
        if !(u.is_empty() || u.starts_with("http://") || u.starts_with("https://")) {
            anyhow::bail!(
                "invalid configuration: `alerts.webhook_url` = {u:?}: must be an http:// or https:// URL"
            );
        }
        if !matches!(self.format.as_str(), "json" | "text" | "form") {
            anyhow::bail!(
                "invalid configuration: `alerts.format` = {:?}: must be json, text (ntfy) or form (Gotify)",
                self.format
            );
        }
        if self.cooldown_secs < 60 {
            anyhow::bail!(
                "invalid configuration: `alerts.cooldown_secs` = {}: must be at least 60",
                self.cooldown_secs
            );
        }
        if !(0.0..=100.0).contains(&self.render_error_percent) {
            anyhow::bail!(
                "invalid configuration: `alerts.render_error_percent` = {}: must be 0..=100",
                self.render_error_percent
            );
        }
        Ok(())
    }
}

/// The box's state as the alerts judge it.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub t: u64,
    pub disk_used_percent: Option<f64>,
    pub disk_max_percent: u8,
    /// Renders ended so far (finished + failed) and failed so far.
    pub renders_ended: u64,
    pub renders_failed: u64,
    /// Ids (and names) of the devices online now.
    pub devices_online: Vec<(String, String)>,
    /// Ids of every device the box knows, online or not: a device the operator removed is
    /// forgotten, not reported as lost.
    pub devices_known: Vec<String>,
    /// Why the line-out fails (enabled and not open, or its last track failed).
    pub lineout_error: Option<String>,
    /// The line-out's underruns so far (none without a line-out).
    pub lineout_underruns: Option<u64>,
    /// Why the database cannot store anything.
    pub database_error: Option<String>,
    /// The installed HVSC release and when it was last checked against the mirror (or
    /// installed, when never checked); `None`: no HVSC installed by a sync.
    pub hvsc: Option<(u32, Option<u64>)>,
}

/// One message to send.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Notification {
    /// `disk`, `render_errors`, `device_lost`, `lineout`, `database`.
    pub alert: String,
    /// `firing` or `resolved`.
    pub state: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
struct Fault {
    /// When the last message about it was sent.
    last_sent: Option<u64>,
}

/// The alerts' memory between evaluations.
#[derive(Debug, Default)]
pub struct Alerter {
    firing: HashMap<String, Fault>,
    /// (t, renders ended, renders failed), the last 5 minutes.
    renders: VecDeque<(u64, u64, u64)>,
    /// (t, line-out underruns), the last 5 minutes.
    underruns: VecDeque<(u64, u64)>,
    /// Devices seen online (id -> name), to notice one going away.
    seen: HashMap<String, String>,
}

/// The render error and underrun window.
const WINDOW_SECS: u64 = 300;
/// Underruns in the window that make an alert (one now and then is a hiccup; this many in
/// five minutes is a box that cannot keep up).
const UNDERRUNS: u64 = 5;

impl Alerter {
    /// Judges `c`; returns the messages to send now.
    pub fn evaluate(&mut self, c: &Conditions, cfg: &AlertsConfig) -> Vec<Notification> {
        let mut faults: Vec<(String, String)> = Vec::new();
        if let Some(u) = c
            .disk_used_percent
            .filter(|u| *u > f64::from(c.disk_max_percent))
        {
            faults.push((
                "disk".into(),
                format!(
                    "disk {u:.0} % used, above the cache's maximum of {} %: nothing new is cached",
                    c.disk_max_percent
                ),
            ));
        }
        self.renders
            .push_back((c.t, c.renders_ended, c.renders_failed));
        while self
            .renders
            .front()
            .is_some_and(|(t, ..)| c.t.saturating_sub(*t) > WINDOW_SECS)
        {
            self.renders.pop_front();
        }
        if let Some(&(_, e0, f0)) = self.renders.front() {
            let (ended, failed) = (
                c.renders_ended.saturating_sub(e0),
                c.renders_failed.saturating_sub(f0),
            );
            if failed > 0 && 100.0 * failed as f64 / ended.max(1) as f64 > cfg.render_error_percent
            {
                faults.push((
                    "render_errors".into(),
                    format!("{failed} of {ended} renders failed in the last 5 minutes"),
                ));
            }
        }
        let online: HashMap<&str, &str> = c
            .devices_online
            .iter()
            .map(|(i, n)| (i.as_str(), n.as_str()))
            .collect();
        self.seen
            .retain(|id, _| c.devices_known.iter().any(|k| k == id));
        for (id, name) in &self.seen {
            if !online.contains_key(id.as_str()) {
                faults.push((
                    format!("device_lost:{id}"),
                    format!("the C64 Ultimate {name} ({id}) is not answering"),
                ));
            }
        }
        for (id, name) in &online {
            self.seen.insert(id.to_string(), name.to_string());
        }
        if let Some(n) = c.lineout_underruns {
            self.underruns.push_back((c.t, n));
            while self
                .underruns
                .front()
                .is_some_and(|(t, _)| c.t.saturating_sub(*t) > WINDOW_SECS)
            {
                self.underruns.pop_front();
            }
            let first = self.underruns.front().map_or(n, |(_, u)| *u);
            let grew = n.saturating_sub(first);
            if grew >= UNDERRUNS {
                faults.push((
                    "lineout_underruns".into(),
                    format!("the line-out ran dry {grew} times in the last 5 minutes"),
                ));
            }
        }
        if let Some(e) = &c.lineout_error {
            faults.push(("lineout".into(), format!("the line-out fails: {e}")));
        }
        if let Some((release, checked)) = c.hvsc.filter(|_| cfg.hvsc_max_age_days > 0) {
            let age_days = checked.map(|t| c.t.saturating_sub(t) / 86_400);
            if age_days.is_none_or(|d| d > u64::from(cfg.hvsc_max_age_days)) {
                faults.push((
                    "hvsc_age".into(),
                    match age_days {
                        Some(d) => format!(
                            "HVSC #{release} was last checked for updates {d} days ago \
                             (more than {} days): is the mirror reachable, is the schedule on?",
                            cfg.hvsc_max_age_days
                        ),
                        None => format!("HVSC #{release} has never been checked for updates"),
                    },
                ));
            }
        }
        if let Some(e) = &c.database_error {
            faults.push((
                "database".into(),
                format!("the database is not writable: {e}"),
            ));
        }

        let mut out = Vec::new();
        let now: BTreeSet<&str> = faults.iter().map(|(k, _)| k.as_str()).collect();
        for (key, message) in &faults {
            let f = self.firing.entry(key.clone()).or_default();
            let due = f
                .last_sent
                .is_none_or(|t| c.t.saturating_sub(t) >= cfg.cooldown_secs);
            if due {
                f.last_sent = Some(c.t);
                out.push(Notification {
                    alert: key.clone(),
                    state: "firing",
                    message: message.clone(),
                });
            }
        }
        let ended: Vec<String> = self
            .firing
            .keys()
            .filter(|k| !now.contains(k.as_str()))
            .cloned()
            .collect();
        for key in ended {
            self.firing.remove(&key);
            if let Some(id) = key.strip_prefix("device_lost:") {
                if !online.contains_key(id) {
                    continue; // forgotten, not back
                }
            }
            out.push(Notification {
                message: format!("{key}: back to normal"),
                alert: key,
                state: "resolved",
            });
        }
        out
    }
}

/// What goes over the wire: (content type, extra header, body).
pub fn encode(
    n: &Notification,
    format: &str,
    box_name: &str,
    at: &str,
) -> (&'static str, Option<(&'static str, String)>, Vec<u8>) {
    let title = format!(
        "SIDFlow {box_name}: {} {}",
        n.alert,
        if n.state == "firing" {
            "alert"
        } else {
            "resolved"
        }
    );
    match format {
        "text" => (
            "text/plain; charset=utf-8",
            Some(("Title", title)),
            n.message.clone().into_bytes(),
        ),
        "form" => {
            let enc = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            let priority = if n.state == "firing" { 8 } else { 4 };
            (
                "application/x-www-form-urlencoded",
                None,
                format!(
                    "title={}&message={}&priority={priority}",
                    enc(&title),
                    enc(&n.message)
                )
                .into_bytes(),
            )
        }
        _ => (
            "application/json",
            None,
            serde_json::to_vec(&serde_json::json!({
                "alert": n.alert, "state": n.state, "message": n.message,
                "box": box_name, "at": at,
            }))
            .unwrap_or_default(),
        ),
    }
}

/// POSTs `n` to the webhook (blocking, 5 s timeout); counts the result.
pub fn send(cfg: &AlertsConfig, n: &Notification, box_name: &str) {
    let (ctype, header, body) = encode(n, &cfg.format, box_name, &crate::events::now_rfc3339());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut req = agent.post(&cfg.webhook_url).header("Content-Type", ctype);
    if let Some((k, v)) = &header {
        req = req.header(*k, v.as_str());
    }
    let kind = n.alert.split(':').next().unwrap_or("");
    let result = match req.send(&body[..]) {
        Ok(r) if r.status().is_success() => "sent",
        Ok(r) => {
            tracing::warn!(
                "alert {}: the webhook answered {}",
                n.alert,
                r.status().as_u16()
            );
            "refused"
        }
        Err(e) => {
            tracing::warn!("alert {}: the webhook cannot be reached: {e}", n.alert);
            "failed"
        }
    };
    crate::metrics::alert_sent(kind, result);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AlertsConfig {
        AlertsConfig {
            webhook_url: "http://127.0.0.1:9/".into(),
            cooldown_secs: 600,
            ..Default::default()
        }
    }

    #[test]
    fn one_fault_sends_one_message_then_a_reminder_after_the_cooldown_then_resolved() {
        let mut a = Alerter::default();
        let mut c = Conditions {
            t: 1000,
            disk_max_percent: 90,
            disk_used_percent: Some(95.0),
            ..Default::default()
        };
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].alert.as_str(), n[0].state), ("disk", "firing"));
        assert!(n[0].message.contains("95 %"), "{n:?}");
        for t in (1030..1600).step_by(30) {
            c.t = t;
            assert!(a.evaluate(&c, &cfg()).is_empty(), "at {t}");
        }
        c.t = 1600;
        assert_eq!(
            a.evaluate(&c, &cfg()).len(),
            1,
            "a reminder after the cooldown"
        );
        c.t = 1630;
        c.disk_used_percent = Some(50.0);
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].state, "resolved");
        c.t = 1660;
        assert!(a.evaluate(&c, &cfg()).is_empty());
    }

    #[test]
    fn render_errors_over_one_percent_in_five_minutes() {
        let mut a = Alerter::default();
        let mut c = Conditions {
            t: 0,
            renders_ended: 0,
            renders_failed: 0,
            ..Default::default()
        };
        assert!(a.evaluate(&c, &cfg()).is_empty());
        // 1 failure in 200: 0.5 %, quiet.
        c.t = 60;
        c.renders_ended = 200;
        c.renders_failed = 1;
        assert!(a.evaluate(&c, &cfg()).is_empty());
        // 3 in 220: over 1 %.
        c.t = 120;
        c.renders_ended = 220;
        c.renders_failed = 3;
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n[0].alert, "render_errors");
        assert!(n[0].message.contains("3 of 220"), "{n:?}");
        // Ten minutes later, no new failure: the window has moved on; resolved.
        c.t = 720;
        c.renders_ended = 400;
        let n = a.evaluate(&c, &cfg());
        assert_eq!(
            (n[0].alert.as_str(), n[0].state),
            ("render_errors", "resolved")
        );
    }

    #[test]
    fn line_out_underruns_in_five_minutes() {
        let mut a = Alerter::default();
        let mut c = Conditions {
            lineout_underruns: Some(10),
            ..Default::default()
        };
        assert!(
            a.evaluate(&c, &cfg()).is_empty(),
            "old underruns do not count"
        );
        c.t = 60;
        c.lineout_underruns = Some(13);
        assert!(a.evaluate(&c, &cfg()).is_empty());
        c.t = 120;
        c.lineout_underruns = Some(16);
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n[0].alert, "lineout_underruns");
        assert!(n[0].message.contains("6 times"), "{n:?}");
        c.t = 900;
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n[0].state, "resolved");
    }

    #[test]
    fn a_device_that_goes_away_is_lost_until_it_answers_again() {
        let mut a = Alerter::default();
        let mut c = Conditions {
            devices_online: vec![("u64-1".into(), "Kitchen U64".into())],
            devices_known: vec!["u64-1".into()],
            ..Default::default()
        };
        assert!(a.evaluate(&c, &cfg()).is_empty());
        c.t = 30;
        c.devices_online.clear();
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n[0].alert, "device_lost:u64-1");
        assert!(n[0].message.contains("Kitchen U64"));
        c.t = 60;
        c.devices_online = vec![("u64-1".into(), "Kitchen U64".into())];
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n[0].state, "resolved");
    }

    #[test]
    fn a_removed_device_is_forgotten_not_lost() {
        let mut a = Alerter::default();
        let mut c = Conditions {
            devices_online: vec![("u64-1".into(), "Kitchen U64".into())],
            devices_known: vec!["u64-1".into()],
            ..Default::default()
        };
        assert!(a.evaluate(&c, &cfg()).is_empty());
        // Goes away: lost.
        c.t = 30;
        c.devices_online.clear();
        assert_eq!(a.evaluate(&c, &cfg())[0].alert, "device_lost:u64-1");
        // The operator removes it: the alert ends without a "back to normal" and does not
        // fire again, and nothing is firing.
        c.t = 60;
        c.devices_known.clear();
        assert!(a.evaluate(&c, &cfg()).is_empty());
        c.t = 90;
        assert!(a.evaluate(&c, &cfg()).is_empty());
        assert!(a.firing.is_empty(), "{:?}", a.firing.keys());
        // Removed while online, then gone: never reported.
        let mut b = Alerter::default();
        c.devices_online = vec![("u64-2".into(), "Desk U64".into())];
        c.devices_known = vec!["u64-2".into()];
        assert!(b.evaluate(&c, &cfg()).is_empty());
        c.devices_online.clear();
        c.devices_known.clear();
        assert!(b.evaluate(&c, &cfg()).is_empty());
    }

    #[test]
    fn an_hvsc_not_checked_for_a_week_is_an_alert_until_a_check() {
        let mut a = Alerter::default();
        let day = 86_400;
        let mut c = Conditions {
            t: 100 * day,
            hvsc: Some((83, Some(95 * day))),
            ..Default::default()
        };
        assert!(a.evaluate(&c, &cfg()).is_empty(), "5 days: fine");
        c.t = 103 * day;
        let n = a.evaluate(&c, &cfg());
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].alert.as_str(), n[0].state), ("hvsc_age", "firing"));
        assert!(n[0].message.contains("8 days ago"), "{}", n[0].message);
        // A check (a sync, scheduled or by hand) ends it.
        c.hvsc = Some((84, Some(c.t)));
        c.t += 60;
        let n = a.evaluate(&c, &cfg());
        assert_eq!((n.len(), n[0].state), (1, "resolved"));
        // Off with 0; nothing without an HVSC installed by a sync.
        let off = AlertsConfig {
            hvsc_max_age_days: 0,
            ..cfg()
        };
        c.hvsc = Some((84, None));
        assert!(Alerter::default().evaluate(&c, &off).is_empty());
        c.hvsc = None;
        assert!(Alerter::default().evaluate(&c, &cfg()).is_empty());
    }

    #[test]
    fn formats_for_webhooks_ntfy_and_gotify() {
        let n = Notification {
            alert: "lineout".into(),
            state: "firing",
            message: "the line-out fails: no device".into(),
        };
        let (ct, h, b) = encode(&n, "json", "sidflow", "2026-12-06T10:00:00Z");
        assert_eq!(ct, "application/json");
        assert!(h.is_none());
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["alert"], "lineout");
        assert_eq!(v["state"], "firing");
        let (ct, h, b) = encode(&n, "text", "sidflow", "");
        assert!(ct.starts_with("text/plain"));
        assert_eq!(h.unwrap().1, "SIDFlow sidflow: lineout alert");
        assert_eq!(b, b"the line-out fails: no device");
        let (ct, _, b) = encode(&n, "form", "sidflow", "");
        assert_eq!(ct, "application/x-www-form-urlencoded");
        let b = String::from_utf8(b).unwrap();
        assert!(
            b.starts_with("title=SIDFlow%20sidflow") && b.ends_with("&priority=8"),
            "{b}"
        );
        assert!(cfg().validate().is_ok());
        let bad = AlertsConfig {
            format: "xml".into(),
            ..cfg()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("alerts.format"));
    }
}

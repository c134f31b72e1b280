//! `sidflowd devices`: list the C64 Ultimate devices discovery finds.
//!
//! ```text
//! sidflowd devices [--host HOST[:PORT]]... [--mdns-name NAME]... [--browse]
//!                  [--ident-port 64] [--no-broadcast] [--password P] [--window-ms 1500] [--json]
//! ```
//! Discovery: the firmware's UDP ident broadcast on every IPv4 interface, mDNS names and
//! browsing (best-effort), manual hosts; each confirmed with `GET /v1/info` and merged by
//! unique_id (the wired address preferred). Output goes to stdout (one-shot command).

use anyhow::Result;
use std::time::Duration;
use ultimate::discovery::{discover, Device, DiscoveryOptions};
use ultimate::ClientOptions;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct DiscoveryArgs {
    /// A device address to check (repeatable): host, host:port or IPv4.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// A `<name>.local` host name to resolve with mDNS (repeatable).
    #[arg(long = "mdns-name", value_name = "NAME")]
    pub mdns_names: Vec<String>,
    /// Browse mDNS `_http._tcp` services and check each (the firmware does not advertise
    /// today; simulators and future firmware may).
    #[arg(long)]
    pub browse: bool,
    /// UDP port of the ident service (64 on devices).
    #[arg(long, default_value_t = 64)]
    pub ident_port: u16,
    /// Also ask these ident addresses directly (repeatable, IP or IP:PORT).
    #[arg(long = "ident-target", value_name = "IP[:PORT]")]
    pub ident_targets: Vec<String>,
    /// Do not broadcast the ident request.
    #[arg(long)]
    pub no_broadcast: bool,
    /// REST port for devices found by ident or `.local` names (80 on devices).
    #[arg(long, default_value_t = 80)]
    pub http_port: u16,
    /// Network password (sent as X-Password); also SIDFLOW_ULTIMATE_PASSWORD.
    #[arg(long)]
    pub password: Option<String>,
    /// How long to collect ident replies, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub window_ms: u64,
    /// Do not run the short stream probe that finds the wired address of a device that
    /// answers on several addresses.
    #[arg(long)]
    pub no_probe: bool,
}

impl DiscoveryArgs {
    pub fn options(&self) -> Result<DiscoveryOptions> {
        let mut targets = Vec::new();
        for t in &self.ident_targets {
            let t = if t.contains(':') {
                t.clone()
            } else {
                format!("{t}:{}", self.ident_port)
            };
            targets.push(
                t.parse()
                    .map_err(|e| anyhow::anyhow!("--ident-target {t}: {e}"))?,
            );
        }
        Ok(DiscoveryOptions {
            broadcast: !self.no_broadcast,
            ident_port: self.ident_port,
            ident_targets: targets,
            ident_window: Duration::from_millis(self.window_ms),
            mdns_names: self.mdns_names.clone(),
            mdns_browse: if self.browse {
                vec!["_http._tcp.local.".into()]
            } else {
                Vec::new()
            },
            manual: self.hosts.clone(),
            http_port: self.http_port,
            client: ClientOptions {
                password: self
                    .password
                    .clone()
                    .or_else(|| std::env::var("SIDFLOW_ULTIMATE_PASSWORD").ok()),
                timeout: Duration::from_secs(3),
                ..ClientOptions::default()
            },
            probe_wired: !self.no_probe,
            ..DiscoveryOptions::default()
        })
    }
}

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    #[command(flatten)]
    pub discovery: DiscoveryArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let devices = discover(&args.discovery.options()?)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&devices)?);
        return Ok(());
    }
    if devices.is_empty() {
        println!("no Ultimate devices found");
        return Ok(());
    }
    for d in &devices {
        println!("{}", describe(d));
    }
    Ok(())
}

/// One human-readable line (plus address lines) per device.
pub fn describe(d: &Device) -> String {
    let mut caps = Vec::new();
    caps.push(if d.can_stream {
        "audio capture"
    } else if d.info.product.is_empty() {
        // A 403 with no ident reply tells us nothing about the product.
        "capabilities unknown until the password is accepted"
    } else {
        "playback only (no audio stream)"
    });
    if d.password_needed {
        caps.push(if d.password_rejected {
            "password REJECTED"
        } else {
            "password needed"
        });
    }
    if d.simulator {
        caps.push("SIMULATOR");
    }
    let mut s = format!(
        "{}  {}  firmware {}  {}  [{}]  use {}",
        d.id,
        if d.info.product.is_empty() {
            "?"
        } else {
            &d.info.product
        },
        if d.info.firmware_version.is_empty() {
            "?"
        } else {
            &d.info.firmware_version
        },
        if d.online { "online" } else { "offline" },
        caps.join(", "),
        d.preferred
    );
    for a in &d.addresses {
        let wired = match a.wired {
            Some(true) => "wired",
            Some(false) => "not wired (no streams)",
            None => "link unknown",
        };
        s.push_str(&format!("\n    {}  via {:?}  {}", a.addr, a.sources, wired));
    }
    s
}

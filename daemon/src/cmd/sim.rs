//! `sidflowd sim-ultimate`: run a virtual Ultimate 64 (a SIMULATOR, not hardware) for tests,
//! demos and development. Prints the address it listens on, then serves until killed.
//!
//! ```text
//! sidflowd sim-ultimate [--ip 127.0.0.1] [--port 0] [--ident-port 6464 | --no-ident] [--ntsc]
//!                       [--password P] [--mdns [--no-dns-sd]] [--hostname NAME] [--unique-id ID]
//!                       [--level-db -6]
//!                       [--loss 0.01] [--reorder 0.01] [--duplicate 0.01] [--first-seq N|random]
//!                       [--foreign-ip 127.0.0.2 --foreign-every 10] [--speed 1.0] [--tone HZ]
//! ```

use anyhow::{bail, Result};
use std::net::Ipv4Addr;
use std::sync::Arc;
use ultimate_sim::audio::{EngineRenderer, Tone};
use ultimate_sim::{Faults, FirstSeq, Pacing, SimConfig, Simulator, Standard};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Address for REST, ident and the audio stream's source ("wired").
    #[arg(long, default_value = "127.0.0.1")]
    pub ip: Option<Ipv4Addr>,
    /// More addresses answering REST and ident only (like a WiFi address).
    #[arg(long = "extra-ip")]
    pub extra_ips: Vec<Ipv4Addr>,
    /// REST port (0 = any free port; 80 needs root).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// UDP ident service port (64 on hardware, needs root).
    #[arg(long, default_value_t = 6464)]
    pub ident_port: u16,
    /// Bind the ident service to 0.0.0.0 (answers broadcasts).
    #[arg(long)]
    pub ident_any: bool,
    /// No UDP ident service at all (a device found only by name or address).
    #[arg(long)]
    pub no_ident: bool,
    /// NTSC system mode (audio at 47 940.341 Hz) instead of PAL (47 982.887 Hz).
    #[arg(long)]
    pub ntsc: bool,
    #[arg(long, default_value = "Ultimate 64 Elite")]
    pub product: Option<String>,
    #[arg(long, default_value = "Ultimate-64-Elite-51A1A7")]
    pub hostname: Option<String>,
    #[arg(long, default_value = "51A1A7")]
    pub unique_id: Option<String>,
    /// Require this network password (X-Password).
    #[arg(long)]
    pub password: Option<String>,
    /// Advertise `<hostname>.local` with mDNS (on every interface: use a network namespace).
    #[arg(long)]
    pub mdns: bool,
    /// With --mdns: only the host name, no DNS-SD `_http._tcp` service.
    #[arg(long)]
    pub no_dns_sd: bool,
    /// Level of the played tunes in dB (e.g. -6: a quieter line output than our engine's).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub level_db: f64,
    /// Packet loss probability.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Probability a packet is sent after its successor.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Probability a packet is sent twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// First sequence number: a number, or "random".
    #[arg(long, default_value = "random")]
    pub first_seq: Option<String>,
    /// Send bogus copies from this address (same port) every --foreign-every packets.
    #[arg(long)]
    pub foreign_ip: Option<Ipv4Addr>,
    #[arg(long, default_value_t = 10)]
    pub foreign_every: u64,
    /// Pacing: 1.0 = the real rate; 10 = ten times faster; 0 = unpaced.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Play a sine of this frequency while no tune is uploaded.
    #[arg(long)]
    pub tone: Option<f64>,
    /// Fault PRNG seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    for (name, p) in [
        ("--loss", args.loss),
        ("--reorder", args.reorder),
        ("--duplicate", args.duplicate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            bail!("{name} must be a probability between 0 and 1");
        }
    }
    let first_seq = match args.first_seq.as_deref().unwrap_or("random") {
        "random" => FirstSeq::Random,
        n => FirstSeq::Fixed(
            n.parse()
                .map_err(|_| anyhow::anyhow!("--first-seq: 0..65535 or random"))?,
        ),
    };
    let standard = if args.ntsc {
        Standard::Ntsc
    } else {
        Standard::Pal
    };
    let mut cfg = SimConfig {
        ip: args.ip.unwrap_or(Ipv4Addr::LOCALHOST),
        extra_ips: args.extra_ips,
        http_port: args.port,
        ident_port: (!args.no_ident).then_some(args.ident_port),
        ident_any: args.ident_any,
        password: args.password,
        standard,
        pacing: if args.speed <= 0.0 {
            Pacing::Unpaced
        } else if args.speed == 1.0 {
            Pacing::RealTime
        } else {
            Pacing::Speed(args.speed)
        },
        faults: Faults {
            loss: args.loss,
            reorder: args.reorder,
            duplicate: args.duplicate,
            first_seq,
            foreign_every: if args.foreign_ip.is_some() {
                args.foreign_every
            } else {
                0
            },
            seed: args.seed,
            ..Faults::default()
        },
        foreign_ip: args.foreign_ip,
        renderer: Arc::new(EngineRenderer {
            default_chip: render::Chip::Mos6581,
            ntsc: args.ntsc,
        }),
        mdns: args.mdns,
        dns_sd: !args.no_dns_sd,
        ..SimConfig::default()
    };
    if !(-60.0..=20.0).contains(&args.level_db) {
        bail!("--level-db must be between -60 and 20");
    }
    if args.level_db != 0.0 {
        cfg.renderer = Arc::new(ultimate_sim::audio::LevelRenderer {
            inner: cfg.renderer.clone(),
            level_db: args.level_db,
        });
    }
    if let Some(p) = args.product {
        cfg.product = p;
    }
    if let Some(h) = args.hostname {
        cfg.hostname = h;
    }
    cfg.unique_id = args.unique_id.filter(|u| !u.is_empty());
    if let Some(f) = args.tone {
        cfg.idle = Arc::new(move |rate| Box::new(Tone::new(f, rate, 8000.0)));
    }
    let sim = Simulator::start(cfg)?;
    // The address line is the command's output (scripts read it).
    println!(
        "SIMULATOR (virtual Ultimate, not hardware) listening on http://{} ident udp {}",
        sim.http_addr(),
        sim.ident_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "off".into())
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

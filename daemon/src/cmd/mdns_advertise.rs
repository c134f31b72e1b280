//! `sidflowd mdns-advertise` (hidden): advertise like `serve` does, without serving, for a
//! fixed time; then withdraw (goodbye packets). Used by the Avahi interoperability test.

use std::time::Duration;

use crate::mdns::{advertise, MdnsConfig};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Host label (`<name>.local`).
    #[arg(long, default_value = "sidflow")]
    name: String,
    /// Service instance name.
    #[arg(long, default_value = "SIDFlow")]
    instance: String,
    /// HTTP port announced.
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Interface to advertise on (repeatable); default: all.
    #[arg(long = "interface")]
    interfaces: Vec<String>,
    /// Seconds to keep advertising.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let cfg = MdnsConfig {
        enabled: true,
        hostname: a.name,
        instance: a.instance,
        interfaces: a.interfaces,
        path: "/".into(),
        ..MdnsConfig::default()
    };
    let adv = advertise(&cfg, a.port)?.ok_or_else(|| anyhow::anyhow!("advertising is disabled"))?;
    println!("advertising {} as {}", adv.service_name(), adv.hostname());
    std::thread::sleep(Duration::from_secs_f64(a.seconds.clamp(0.0, 86_400.0)));
    drop(adv);
    println!("withdrawn");
    Ok(())
}

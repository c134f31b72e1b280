//! C64 Ultimate devices for the web: the device list, "play this on that device", a live
//! stream of a device's audio encoded to MP3 once and shared by every listener, and the
//! hardware render engine (render jobs, and listeners who want hardware recordings only).
//!
//! Discovery (a UDP broadcast on the LAN) only runs when the operator asks for it; hosts
//! the operator adds are probed directly. The device password is stored in the database.

use crate::media::{Chip, Engine, RenderRequest};
use anyhow::{anyhow, Context};
use bytes::Bytes;
use cache::PcmSource;
use encode::{EncoderOptions, Format, PcmFormat};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Store, SETTINGS};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use ultimate::discovery::{Device, DiscoveryOptions, Registry};
use ultimate::{Client, ClientOptions};

pub const HOSTS_KEY: &str = "device_hosts";
const PASSWORD_KEY: &str = "device_password";
/// Output rate of live streams and hardware renders.
const OUT_RATE: u32 = 48_000;

pub struct Devices {
    pub registry: Arc<Registry>,
    db: Arc<Store>,
    config_hosts: Vec<String>,
    live: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
}

impl Devices {
    pub fn new(db: Arc<Store>, config_hosts: Vec<String>) -> Arc<Devices> {
        let d = Devices {
            registry: Registry::new(DiscoveryOptions::default()),
            db,
            config_hosts,
            live: Mutex::new(HashMap::new()),
        };
        d.registry.set_options(d.options(false));
        Arc::new(d)
    }

    fn password(&self) -> Option<String> {
        self.db
            .get::<String>(SETTINGS, PASSWORD_KEY)
            .ok()
            .flatten()
            .filter(|p| !p.is_empty())
    }

    pub fn hosts(&self) -> Vec<String> {
        let mut h = self.config_hosts.clone();
        h.extend(
            self.db
                .get::<Vec<String>>(SETTINGS, HOSTS_KEY)
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
        h.sort();
        h.dedup();
        h
    }

    fn client_options(&self) -> ClientOptions {
        ClientOptions {
            password: self.password(),
            ..ClientOptions::default()
        }
    }

    fn options(&self, broadcast: bool) -> DiscoveryOptions {
        DiscoveryOptions {
            broadcast,
            manual: self.hosts(),
            client: ClientOptions {
                timeout: Duration::from_secs(3),
                ..self.client_options()
            },
            ..DiscoveryOptions::default()
        }
    }

    pub fn list(&self) -> Vec<Device> {
        self.registry.list()
    }

    /// Runs discovery now (blocking): the configured and added hosts, plus a LAN broadcast
    /// when `broadcast` is set.
    pub fn refresh(&self, broadcast: bool) -> anyhow::Result<Vec<Device>> {
        self.registry.set_options(self.options(broadcast));
        let r = self.registry.refresh();
        self.registry.set_options(self.options(false));
        Ok(r?)
    }

    /// Adds a host (`name`, `ip` or `ip:port`) after checking that it answers.
    pub fn add_host(&self, host: &str) -> anyhow::Result<ultimate::Info> {
        let client = Client::connect(host, self.client_options()).context("bad host")?;
        let info = client
            .info()
            .with_context(|| format!("{host} does not answer as a C64 Ultimate"))?;
        let mut hosts = self
            .db
            .get::<Vec<String>>(SETTINGS, HOSTS_KEY)?
            .unwrap_or_default();
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_string());
            self.db.put(SETTINGS, HOSTS_KEY, &hosts)?;
        }
        self.refresh(false)?;
        Ok(info)
    }

    pub fn set_password(&self, pw: &str) -> anyhow::Result<()> {
        self.db.put(SETTINGS, PASSWORD_KEY, &pw.to_string())?;
        self.registry.set_options(self.options(false));
        Ok(())
    }

    /// A client for a known device, with the current password.
    pub fn client(&self, id: &str) -> anyhow::Result<Arc<Client>> {
        let d = self
            .registry
            .get(id)
            .ok_or_else(|| anyhow!("no such device"))?;
        Ok(Arc::new(Client::new(d.preferred, self.client_options())))
    }

    pub fn test(&self, id: &str) -> anyhow::Result<ultimate::Info> {
        Ok(self.client(id)?.info()?)
    }

    /// Plays a tune on the device with its own SID player (blocking).
    pub fn play(&self, id: &str, tune: &[u8], song: u16) -> anyhow::Result<()> {
        let client = self.client(id)?;
        let lock = self.registry.job_lock(id);
        let _busy = lock
            .try_lock()
            .map_err(|_| anyhow!("the device is busy recording"))?;
        client.sidplay(tune, Some(song), None)?;
        Ok(())
    }

    /// Subscribes to a device's live audio as MP3, starting the capture for the first
    /// listener. The capture stops a few seconds after the last listener leaves.
    pub fn live(self: &Arc<Self>, id: &str) -> anyhow::Result<broadcast::Receiver<Bytes>> {
        let mut map = self.live.lock().map_err(|_| anyhow!("lock"))?;
        if let Some(tx) = map.get(id) {
            return Ok(tx.subscribe());
        }
        let client = self.client(id)?;
        let (tx, rx) = broadcast::channel(256);
        map.insert(id.to_string(), tx.clone());
        let me = self.clone();
        let id2 = id.to_string();
        std::thread::Builder::new()
            .name("live-encode".into())
            .spawn(move || {
                if let Err(e) = run_live(&id2, client, &tx) {
                    tracing::warn!("live stream of {id2}: {e:#}");
                }
                if let Ok(mut m) = me.live.lock() {
                    m.remove(&id2);
                }
            })?;
        Ok(rx)
    }

    /// Starts capturing a device's audio as PCM for the box's line-out. Refused while the
    /// device streams to listeners (it sends its audio to one destination at a time).
    pub fn live_pcm(&self, id: &str) -> anyhow::Result<ultimate::live::LiveStream> {
        if self
            .live
            .lock()
            .map_err(|_| anyhow!("lock"))?
            .contains_key(id)
        {
            anyhow::bail!("the device is streaming to listeners now; try again when they stop");
        }
        let client = self.client(id)?;
        let mode = ultimate::hwrender::device_mode(&client);
        Ok(ultimate::live::LiveStream::start(
            client,
            mode,
            Default::default(),
        )?)
    }

    /// A C64 Ultimate that can record audio now: an idle one when there is one (so several
    /// devices record in parallel), else a busy one (the capture waits for it).
    pub fn recorder(&self) -> Option<Device> {
        let all = self.recorders();
        self.idle_recorder().or_else(|| all.into_iter().next())
    }

    /// An online C64 Ultimate that can record and is not recording right now.
    pub fn idle_recorder(&self) -> Option<Device> {
        self.recorders().into_iter().find(|d| {
            let lock = self.registry.job_lock(&d.id);
            let free = lock.try_lock().is_ok();
            free
        })
    }

    fn recorders(&self) -> Vec<Device> {
        self.registry
            .list()
            .into_iter()
            .filter(|d| d.online && d.can_stream)
            .collect()
    }
}

/// Capture -> resample to 48 kHz -> MP3 once -> every subscriber.
fn run_live(id: &str, client: Arc<Client>, tx: &broadcast::Sender<Bytes>) -> anyhow::Result<()> {
    let mode = ultimate::hwrender::device_mode(&client);
    let live = ultimate::live::LiveStream::start(client, mode, Default::default())?;
    let rx = live.subscribe(500);
    let mut rs = pcm::resample::Resampler::new(2, live.rate_hz, f64::from(OUT_RATE));
    let mut enc = encode::encoder(
        Format::Mp3,
        PcmFormat {
            sample_rate: OUT_RATE,
            channels: 2,
        },
        &EncoderOptions {
            mp3_bitrate_kbps: 192,
            ..Default::default()
        },
    )?;
    let mut out = Vec::new();
    let mut idle_since: Option<Instant> = None;
    // Ends when the capture ends or stalls for 5 s.
    while let Ok(block) = rx.recv_timeout(Duration::from_secs(5)) {
        out.clear();
        rs.push(&block, &mut out);
        enc.write(&out)?;
        let bytes = enc.take_output();
        if !bytes.is_empty() && tx.send(Bytes::from(bytes)).is_err() {
            // Nobody listening: give them a moment to come back, then stop.
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(5) {
                break;
            }
        } else {
            idle_since = None;
        }
    }
    if let Ok(st) = live.stop() {
        crate::metrics::capture_finished(id, &st);
    }
    Ok(())
}

/// Renders on hardware (render jobs, and listeners who asked for hardware recordings only):
/// the song is played on a C64 Ultimate that can record, and its audio comes out resampled
/// to 48 kHz while it is captured (`ultimate::hwrender::CaptureSource`), so a listener hears
/// it at once and the cache gets it when the song ends. One capture per device at a time
/// (the device's job lock).
pub struct HardwareEngine {
    pub devices: Arc<Devices>,
    /// The daemon's shutdown: captures stop with it.
    pub shutdown: CancellationToken,
}

impl Engine for HardwareEngine {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        let dev = self
            .devices
            .recorder()
            .ok_or_else(|| anyhow!("no C64 Ultimate that can record audio is online"))?;
        let client = self.devices.client(&dev.id)?;
        let opts = ultimate::hwrender::HwRenderOptions {
            song: Some(req.song),
            length: req.length,
            chip: match req.chip {
                Chip::Mos6581 => ultimate::chip::ChipChoice::UltiSid6581,
                Chip::Mos8580 => ultimate::chip::ChipChoice::UltiSid8580,
            },
            ..Default::default()
        };
        let shutdown = self.shutdown.clone();
        Ok(crate::metrics::counted_capture(
            &dev.id,
            ultimate::hwrender::CaptureSource::start(ultimate::hwrender::CaptureJob {
                client,
                tune: req.sid.clone(),
                opts,
                out_rate: OUT_RATE,
                lock: Some(self.devices.registry.job_lock(&dev.id)),
                stop: Box::new(move || shutdown.is_cancelled()),
            })?,
        ))
    }
}

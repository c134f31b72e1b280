//! The box's metrics, for Prometheus, Grafana or Home Assistant (`GET /metrics`, the
//! Prometheus text format 0.0.4, through the `prometheus-client` crate).
//!
//! Two kinds of values:
//!
//! * **Events** are counted where they happen, in process-wide families ([`families`]): a
//!   render started or ended, an HTTP request answered, a device capture finished, a log
//!   line at warning or above, a library scan. The services call the small functions of
//!   this module ([`render_started`], [`render_ended`], [`http_request`], ...): one line
//!   each, so their files stay theirs.
//! * **States** are read at scrape time into a [`Snapshot`] (queue depth, cache bytes,
//!   sessions, devices online, line-out, jobs, process and SoC figures) by the HTTP layer,
//!   which knows the services; the snapshot is encoded as a `prometheus-client` collector.
//!
//! Every label value comes from a closed set (engines, formats, outcomes, route patterns,
//! job states) or from the device registry, which is capped at [`MAX_DEVICES`] labels, so
//! no client can grow the output. The admin guide lists every metric.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;
use std::time::Duration;

/// A metric's labels: names and values.
pub type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Distinct devices that get labels of their own; more are counted as `device="other"`.
pub const MAX_DEVICES: usize = 64;

/// The `Content-Type` of the output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The event families, shared by the whole process.
pub struct Families {
    pub renders_started: Family<Labels, Counter>,
    pub renders_ended: Family<Labels, Counter>,
    pub render_seconds: HistogramFamily,
    pub http_requests: Family<Labels, Counter>,
    pub http_seconds: HistogramFamily,
    pub device_captures: Family<Labels, Counter>,
    pub device_packets: Family<Labels, Counter>,
    pub device_packets_lost: Family<Labels, Counter>,
    pub device_packets_reordered: Family<Labels, Counter>,
    pub device_packets_late: Family<Labels, Counter>,
    pub device_rate_error_ppm: Family<Labels, FloatGauge>,
    pub library_scans: Counter,
    pub library_scan_seconds: FloatGauge,
    pub library_scan_errors: FloatGauge,
    pub log_events: Family<Labels, Counter>,
    pub telemetry_reports: Family<Labels, Counter>,
    pub alerts_sent: Family<Labels, Counter>,
}

fn render_histogram() -> Histogram {
    // From a cached hit on a fast box (0.25 s) to a long hardware capture (17 min).
    Histogram::new([
        0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 1020.0,
    ])
}

fn http_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| Families {
    renders_started: Family::default(),
    renders_ended: Family::default(),
    render_seconds: Family::new_with_constructor(render_histogram as fn() -> Histogram),
    http_requests: Family::default(),
    http_seconds: Family::new_with_constructor(http_histogram as fn() -> Histogram),
    device_captures: Family::default(),
    device_packets: Family::default(),
    device_packets_lost: Family::default(),
    device_packets_reordered: Family::default(),
    device_packets_late: Family::default(),
    device_rate_error_ppm: Family::default(),
    library_scans: Counter::default(),
    library_scan_seconds: FloatGauge::default(),
    library_scan_errors: FloatGauge::default(),
    log_events: Family::default(),
    telemetry_reports: Family::default(),
    alerts_sent: Family::default(),
});

/// How a render ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    Failed,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// A render began on `engine` (`sidflow`, `c64u`, ...) for these formats.
pub fn render_started(engine: &str, formats: &[&str]) {
    for f in formats {
        FAMILIES
            .renders_started
            .get_or_create(&vec![
                ("engine", engine.to_string()),
                ("format", f.to_string()),
            ])
            .inc();
    }
}

/// Renders ended (finished or failed; cancelled ones are neither) and failed, in all.
static RENDERS_ENDED: AtomicU64 = AtomicU64::new(0);
static RENDERS_FAILED: AtomicU64 = AtomicU64::new(0);

/// (renders finished or failed, renders failed) since start, for the alerts.
pub fn render_totals() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (RENDERS_ENDED.load(Relaxed), RENDERS_FAILED.load(Relaxed))
}

/// A render ended after `took` (counted per format; timed once per render).
pub fn render_ended(engine: &str, formats: &[&str], outcome: Outcome, took: Duration) {
    use std::sync::atomic::Ordering::Relaxed;
    if outcome != Outcome::Cancelled {
        RENDERS_ENDED.fetch_add(1, Relaxed);
    }
    if outcome == Outcome::Failed {
        RENDERS_FAILED.fetch_add(1, Relaxed);
    }
    for f in formats {
        FAMILIES
            .renders_ended
            .get_or_create(&vec![
                ("engine", engine.to_string()),
                ("format", f.to_string()),
                ("outcome", outcome.as_str().to_string()),
            ])
            .inc();
    }
    if outcome == Outcome::Finished {
        FAMILIES
            .render_seconds
            .get_or_create(&vec![("engine", engine.to_string())])
            .observe(took.as_secs_f64());
    }
}

/// An HTTP request answered: `route` is the route table's pattern (or `unmatched`).
pub fn http_request(route: &str, method: &str, status: u16, took: Duration) {
    let f = &*FAMILIES;
    f.http_requests
        .get_or_create(&vec![
            ("route", route.to_string()),
            ("method", method.to_string()),
            ("status", status.to_string()),
        ])
        .inc();
    f.http_seconds
        .get_or_create(&vec![("route", route.to_string())])
        .observe(took.as_secs_f64());
}

/// The label of a device id: itself, or `other` once [`MAX_DEVICES`] devices have labels.
fn device_label(id: &str) -> Labels {
    static SEEN: LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        LazyLock::new(Default::default);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(id) || seen.len() < MAX_DEVICES {
        seen.insert(id.to_string());
        vec![("device", id.to_string())]
    } else {
        vec![("device", "other".to_string())]
    }
}

/// A capture from a C64 Ultimate ended with these statistics.
pub fn capture_finished(device: &str, st: &ultimate::stream::CaptureStats) {
    let l = device_label(device);
    let f = &*FAMILIES;
    f.device_captures.get_or_create(&l).inc();
    f.device_packets.get_or_create(&l).inc_by(st.packets);
    f.device_packets_lost.get_or_create(&l).inc_by(st.lost);
    f.device_packets_reordered
        .get_or_create(&l)
        .inc_by(st.reordered);
    f.device_packets_late.get_or_create(&l).inc_by(st.late);
    if st.measured_rate_hz > 0.0 {
        f.device_rate_error_ppm
            .get_or_create(&l)
            .set(st.rate_error_ppm);
    }
}

/// A hardware render's capture that counts its statistics for `device` when it ends.
pub fn counted_capture(
    device: &str,
    inner: ultimate::hwrender::CaptureSource,
) -> Box<dyn cache::PcmSource> {
    Box::new(CountedCapture {
        device: device.to_string(),
        inner,
        counted: false,
    })
}

struct CountedCapture {
    device: String,
    inner: ultimate::hwrender::CaptureSource,
    counted: bool,
}

impl cache::PcmSource for CountedCapture {
    fn pcm_format(&self) -> encode::PcmFormat {
        self.inner.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, cache::SourceError> {
        let n = self.inner.read(out)?;
        if n == 0 && !self.counted {
            if let Some(r) = self.inner.report() {
                capture_finished(&self.device, &r.stats);
                self.counted = true;
            }
        }
        Ok(n)
    }
    fn engine(&self) -> cache::Engine {
        self.inner.engine()
    }
    fn defect(&self) -> Option<String> {
        self.inner.defect()
    }
}

/// The line-out's live stream from a C64 Ultimate now (its FIFO and rate servo), or none.
static LIVE: std::sync::Mutex<Option<lineout::LiveStats>> = std::sync::Mutex::new(None);

/// Sets (or clears, with `None`) the live stream's figures; the box's live thread calls it
/// every 200 ms while a device plays on the line-out.
pub fn lineout_live(stats: Option<lineout::LiveStats>) {
    *LIVE.lock().unwrap_or_else(|p| p.into_inner()) = stats;
}

fn live_stats() -> Option<lineout::LiveStats> {
    *LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A library scan ended.
pub fn library_scanned(took: Duration, unreadable: usize) {
    let f = &*FAMILIES;
    f.library_scans.inc();
    f.library_scan_seconds.set(took.as_secs_f64());
    f.library_scan_errors.set(unreadable as f64);
}

/// An alert went to the webhook: `result` is `sent`, `refused` or `failed`.
pub fn alert_sent(alert: &str, result: &'static str) {
    FAMILIES
        .alerts_sent
        .get_or_create(&vec![
            ("alert", alert.to_string()),
            ("result", result.to_string()),
        ])
        .inc();
}

/// Batches of playback problems one client may report per minute.
pub const TELEMETRY_BATCHES_PER_MINUTE: u32 = 6;

/// The kinds of playback problems browsers report.
pub const TELEMETRY_KINDS: [&str; 5] = ["underrun", "stall", "decode_error", "fallback", "other"];
static TELEMETRY: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Counts a reported playback problem; returns the kind it was counted as (one of
/// [`TELEMETRY_KINDS`]: anything else is `other`).
pub fn telemetry(kind: &str) -> &'static str {
    let i = TELEMETRY_KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(TELEMETRY_KINDS.len() - 1);
    TELEMETRY[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    FAMILIES
        .telemetry_reports
        .get_or_create(&vec![("kind", TELEMETRY_KINDS[i].to_string())])
        .inc();
    TELEMETRY_KINDS[i]
}

/// Reported playback problems per kind since start.
pub fn telemetry_counts() -> Vec<(&'static str, u64)> {
    TELEMETRY_KINDS
        .iter()
        .zip(&TELEMETRY)
        .map(|(k, n)| (*k, n.load(std::sync::atomic::Ordering::Relaxed)))
        .collect()
}

/// A log line at `level` (`error`, `warn`, ...).
pub fn log_event(level: &'static str) {
    FAMILIES
        .log_events
        .get_or_create(&vec![("level", level.to_string())])
        .inc();
}

/// One cache format's figures.
#[derive(Debug, Clone, Default)]
pub struct CacheFormat {
    pub format: &'static str,
    pub bytes: u64,
    pub files: u64,
    /// Enabled in the settings.
    pub enabled: bool,
    /// Enabled and below its disk threshold now (new renders are kept).
    pub caching: bool,
    /// Songs of the library with a cached render in this format (any engine, any chip).
    pub songs: u64,
}

/// The line-out, when the box has one configured.
#[derive(Debug, Clone, Default)]
pub struct Lineout {
    /// The device opened (false: disabled or failed; `failed` tells which).
    pub available: bool,
    /// It was enabled but did not open.
    pub failed: bool,
    /// `idle`, `playing` or `paused`.
    pub state: &'static str,
    pub underruns: u64,
    pub frames_played: u64,
    /// The last track stopped with an error.
    pub last_error: bool,
}

/// Process figures (from `/proc/self`).
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
    pub threads: u64,
}

/// The state of the box at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub renders_in_flight: u64,
    pub render_queue: u64,
    pub cache: Vec<CacheFormat>,
    pub disk_used_percent: Option<f64>,
    pub disk_max_percent: u8,
    pub library_tunes: u64,
    pub library_songs: u64,
    pub library_scanning: bool,
    pub play_sessions: u64,
    /// Event-stream clients per stream (`public`, `admin`).
    pub event_clients: Vec<(&'static str, u64)>,
    /// Device id and online.
    pub devices: Vec<(String, bool)>,
    pub lineout: Option<Lineout>,
    /// Jobs per state (every state, zeros included).
    pub jobs: Vec<(&'static str, u64)>,
    pub process: Option<Process>,
    pub memory_total_bytes: Option<u64>,
    pub memory_available_bytes: Option<u64>,
    pub load1: Option<f64>,
    /// Thermal zone type (`cpu-thermal`, ...) and degrees Celsius.
    pub temperatures: Vec<(String, f64)>,
    /// Readiness checks by name and whether they pass.
    pub checks: Vec<(&'static str, bool)>,
    pub uptime_seconds: f64,
    pub version: &'static str,
}

/// Writes one family of constant values.
fn family<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut e = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, m) in rows {
        m.encode(e.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: f64,
) -> Result<(), std::fmt::Error> {
    let e = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(e)
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter as C, Gauge as G};
        let e = &mut enc;
        family(
            e,
            "sidflow_build_info",
            "The daemon's version (always 1)",
            G,
            [(
                vec![("version", self.version.to_string())],
                ConstGauge::new(1.0),
            )],
        )?;
        gauge(
            e,
            "sidflow_uptime_seconds",
            "Seconds since the daemon started",
            self.uptime_seconds,
        )?;
        gauge(
            e,
            "sidflow_renders_in_flight",
            "Renders running now",
            self.renders_in_flight as f64,
        )?;
        gauge(
            e,
            "sidflow_render_queue_depth",
            "Listener renders waiting for a render slot",
            self.render_queue as f64,
        )?;
        let per_format = |f: &dyn Fn(&CacheFormat) -> f64| {
            self.cache
                .iter()
                .map(|c| {
                    (
                        vec![("format", c.format.to_string())],
                        ConstGauge::new(f(c)),
                    )
                })
                .collect::<Vec<_>>()
        };
        family(
            e,
            "sidflow_cache_bytes",
            "Bytes of cached renders per format",
            G,
            per_format(&|c| c.bytes as f64),
        )?;
        family(
            e,
            "sidflow_cache_files",
            "Cached render files per format",
            G,
            per_format(&|c| c.files as f64),
        )?;
        family(
            e,
            "sidflow_cache_songs",
            "Library songs with a cached render per format",
            G,
            per_format(&|c| c.songs as f64),
        )?;
        family(
            e,
            "sidflow_cache_format_enabled",
            "1 when the format is enabled in the cache settings",
            G,
            per_format(&|c| b(c.enabled)),
        )?;
        family(
            e,
            "sidflow_cache_format_caching",
            "1 when new renders of the format are kept now (enabled and below its disk threshold)",
            G,
            per_format(&|c| b(c.caching)),
        )?;
        if let Some(p) = self.disk_used_percent {
            gauge(
                e,
                "sidflow_disk_used_percent",
                "Percent of the cache's file system in use",
                p,
            )?;
        }
        gauge(
            e,
            "sidflow_disk_max_percent",
            "Disk use at which all caching stops and renders are refused",
            f64::from(self.disk_max_percent),
        )?;
        gauge(
            e,
            "sidflow_library_tunes",
            "Tunes in the library",
            self.library_tunes as f64,
        )?;
        gauge(
            e,
            "sidflow_library_songs",
            "Songs (subtunes) in the library",
            self.library_songs as f64,
        )?;
        gauge(
            e,
            "sidflow_library_scanning",
            "1 while the library is being scanned",
            b(self.library_scanning),
        )?;
        gauge(
            e,
            "sidflow_play_sessions",
            "Playback sessions alive",
            self.play_sessions as f64,
        )?;
        family(
            e,
            "sidflow_event_stream_clients",
            "Open event streams (server-sent events) per stream",
            G,
            self.event_clients
                .iter()
                .map(|(s, n)| (vec![("stream", s.to_string())], ConstGauge::new(*n as f64))),
        )?;
        family(
            e,
            "sidflow_device_online",
            "1 when the C64 Ultimate answers",
            G,
            self.devices
                .iter()
                .take(MAX_DEVICES)
                .map(|(id, on)| (vec![("device", id.clone())], ConstGauge::new(b(*on)))),
        )?;
        gauge(
            e,
            "sidflow_devices_online",
            "C64 Ultimate devices online",
            self.devices.iter().filter(|d| d.1).count() as f64,
        )?;
        if let Some(l) = &self.lineout {
            gauge(
                e,
                "sidflow_lineout_available",
                "1 when the line-out device is open",
                b(l.available),
            )?;
            gauge(
                e,
                "sidflow_lineout_failed",
                "1 when the line-out is enabled but its device did not open",
                b(l.failed),
            )?;
            family(
                e,
                "sidflow_lineout_state",
                "The line-out player's state (1 for the current one)",
                G,
                ["idle", "playing", "paused"].map(|s| {
                    (
                        vec![("state", s.to_string())],
                        ConstGauge::new(b(l.available && l.state == s)),
                    )
                }),
            )?;
            let e2 = e.encode_descriptor(
                "sidflow_lineout_underruns",
                "Line-out device underruns (each one recovered)",
                None,
                C,
            )?;
            ConstCounter::new(l.underruns).encode(e2)?;
            let e2 = e.encode_descriptor(
                "sidflow_lineout_frames_played",
                "Frames written to the line-out device",
                None,
                C,
            )?;
            ConstCounter::new(l.frames_played).encode(e2)?;
            let live = live_stats();
            gauge(
                e,
                "sidflow_lineout_live_active",
                "1 while a C64 Ultimate's live audio plays on the line-out",
                b(live.is_some()),
            )?;
            if let Some(s) = live {
                gauge(
                    e,
                    "sidflow_lineout_live_fill_frames",
                    "Frames in the live stream's buffer (the rate servo holds it near its target)",
                    s.fill_frames as f64,
                )?;
                gauge(
                    e,
                    "sidflow_lineout_live_correction_ppm",
                    "The rate servo's correction now (positive: playing faster than nominal)",
                    s.correction_ppm,
                )?;
                gauge(
                    e,
                    "sidflow_lineout_live_underruns",
                    "Times the live stream's buffer ran dry (this stream)",
                    s.underruns as f64,
                )?;
                gauge(
                    e,
                    "sidflow_lineout_live_overruns",
                    "Times the live stream's buffer overflowed and old audio was dropped (this stream)",
                    s.overruns as f64,
                )?;
            }
            gauge(
                e,
                "sidflow_lineout_last_error",
                "1 when the last track on the line-out stopped with an error",
                b(l.last_error),
            )?;
        }
        family(
            e,
            "sidflow_jobs",
            "Render jobs per state",
            G,
            self.jobs
                .iter()
                .map(|(s, n)| (vec![("state", s.to_string())], ConstGauge::new(*n as f64))),
        )?;
        if let Some(p) = &self.process {
            gauge(
                e,
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                p.resident_bytes as f64,
            )?;
            gauge(
                e,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                p.virtual_bytes as f64,
            )?;
            let e2 = e.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent in seconds",
                None,
                C,
            )?;
            ConstCounter::new(p.cpu_seconds).encode(e2)?;
            gauge(
                e,
                "process_open_fds",
                "Open file descriptors",
                p.open_fds as f64,
            )?;
            if let Some(m) = p.max_fds {
                gauge(
                    e,
                    "process_max_fds",
                    "Maximum number of open file descriptors",
                    m as f64,
                )?;
            }
            gauge(
                e,
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                p.start_time_seconds,
            )?;
            gauge(e, "process_threads", "OS threads", p.threads as f64)?;
        }
        if let (Some(t), Some(a)) = (self.memory_total_bytes, self.memory_available_bytes) {
            gauge(
                e,
                "sidflow_system_memory_bytes",
                "The box's memory",
                t as f64,
            )?;
            gauge(
                e,
                "sidflow_system_memory_available_bytes",
                "The box's memory available to programs",
                a as f64,
            )?;
        }
        if let Some(l) = self.load1 {
            gauge(e, "sidflow_system_load1", "Load average over 1 minute", l)?;
        }
        family(
            e,
            "sidflow_soc_temperature_celsius",
            "Temperature of each thermal zone the board has",
            G,
            self.temperatures
                .iter()
                .map(|(z, c)| (vec![("zone", z.clone())], ConstGauge::new(*c))),
        )?;
        family(
            e,
            "sidflow_ready_check",
            "1 when the readiness check passes (see /api/health/ready)",
            G,
            self.checks
                .iter()
                .map(|(c, ok)| (vec![("check", c.to_string())], ConstGauge::new(b(*ok)))),
        )?;
        Ok(())
    }
}

/// The whole output: the event families and `snap`.
pub fn encode(snap: Snapshot) -> Result<String, std::fmt::Error> {
    let f = &*FAMILIES;
    let mut r = Registry::default();
    r.register(
        "sidflow_renders_started",
        "Renders started, per engine and format",
        f.renders_started.clone(),
    );
    r.register(
        "sidflow_renders_ended",
        "Renders ended, per engine, format and outcome (finished, failed, cancelled)",
        f.renders_ended.clone(),
    );
    r.register(
        "sidflow_render_seconds",
        "Wall time of finished renders, per engine",
        f.render_seconds.clone(),
    );
    r.register(
        "sidflow_http_requests",
        "HTTP requests answered, per route, method and status",
        f.http_requests.clone(),
    );
    r.register(
        "sidflow_http_request_duration_seconds",
        "Time to answer an HTTP request's head (streamed bodies continue after it), per route",
        f.http_seconds.clone(),
    );
    r.register(
        "sidflow_device_captures",
        "Audio captures from a C64 Ultimate that ended",
        f.device_captures.clone(),
    );
    r.register(
        "sidflow_device_packets_received",
        "Audio packets received from a C64 Ultimate",
        f.device_packets.clone(),
    );
    r.register(
        "sidflow_device_packets_lost",
        "Audio packets never received (filled with silence)",
        f.device_packets_lost.clone(),
    );
    r.register(
        "sidflow_device_packets_reordered",
        "Audio packets that arrived out of order (put back in order)",
        f.device_packets_reordered.clone(),
    );
    r.register(
        "sidflow_device_packets_late",
        "Audio packets that arrived after their slot was filled with silence",
        f.device_packets_late.clone(),
    );
    r.register(
        "sidflow_device_rate_error_ppm",
        "The device's audio clock against the box's, from the last capture (parts per million)",
        f.device_rate_error_ppm.clone(),
    );
    r.register(
        "sidflow_library_scans",
        "Library scans completed",
        f.library_scans.clone(),
    );
    r.register(
        "sidflow_library_scan_seconds",
        "Duration of the last library scan",
        f.library_scan_seconds.clone(),
    );
    r.register(
        "sidflow_library_scan_errors",
        "Unreadable files in the last library scan",
        f.library_scan_errors.clone(),
    );
    r.register(
        "sidflow_log_events",
        "Log lines per level (warn and error)",
        f.log_events.clone(),
    );
    r.register(
        "sidflow_telemetry_reports",
        "Playback problems reported by listeners' browsers, per kind",
        f.telemetry_reports.clone(),
    );
    r.register(
        "sidflow_alerts_sent",
        "Alerts sent to the webhook, per alert and result",
        f.alerts_sent.clone(),
    );
    r.register_collector(Box::new(snap));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &r)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_snapshot_encode_with_their_types() {
        render_started("sidflow", &["mp3", "flac"]);
        render_ended(
            "sidflow",
            &["mp3", "flac"],
            Outcome::Finished,
            Duration::from_millis(1500),
        );
        let snap = Snapshot {
            cache: vec![CacheFormat {
                format: "mp3",
                bytes: 10,
                files: 1,
                enabled: true,
                caching: true,
                songs: 1,
            }],
            lineout: Some(Lineout {
                available: true,
                state: "playing",
                underruns: 3,
                ..Default::default()
            }),
            version: "1.2.3",
            ..Default::default()
        };
        let out = encode(snap).unwrap();
        for want in [
            "# TYPE sidflow_renders_started_total counter",
            "sidflow_renders_started_total{engine=\"sidflow\",format=\"flac\"}",
            "# TYPE sidflow_render_seconds histogram",
            "sidflow_render_seconds_bucket{engine=\"sidflow\",le=\"2.5\"}",
            "# TYPE sidflow_lineout_underruns_total counter",
            "sidflow_lineout_underruns_total 3",
            "sidflow_lineout_state{state=\"playing\"} 1",
            "sidflow_cache_bytes{format=\"mp3\"} 10",
            "sidflow_build_info{version=\"1.2.3\"} 1",
        ] {
            assert!(out.contains(want), "{want} missing in\n{out}");
        }
    }

    #[test]
    fn every_metric_is_documented_in_the_admin_guide() {
        const GUIDE: &str = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../doc/admin-guide.md"
        ));
        // Every family shows up: counted events and a snapshot with every part present.
        render_started("sidflow", &["wav"]);
        render_ended("sidflow", &["wav"], Outcome::Failed, Duration::ZERO);
        http_request("/api/health", "GET", 200, Duration::ZERO);
        capture_finished("doc-test", &ultimate::stream::CaptureStats::default());
        library_scanned(Duration::ZERO, 0);
        log_event("warn");
        telemetry("stall");
        alert_sent("disk", "sent");
        lineout_live(Some(lineout::LiveStats::default()));
        let snap = Snapshot {
            cache: vec![CacheFormat::default()],
            disk_used_percent: Some(1.0),
            event_clients: vec![("public", 0)],
            devices: vec![("d".into(), true)],
            lineout: Some(Lineout::default()),
            jobs: vec![("running", 0)],
            process: Some(Process {
                max_fds: Some(1),
                ..Default::default()
            }),
            memory_total_bytes: Some(1),
            memory_available_bytes: Some(1),
            load1: Some(0.0),
            temperatures: vec![("cpu-thermal".into(), 40.0)],
            checks: vec![("database", true)],
            ..Default::default()
        };
        let out = encode(snap).unwrap();
        lineout_live(None);
        let families: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert!(families.len() > 50, "{families:?}");
        for f in families {
            assert!(
                GUIDE.contains(&format!("| `{f}` |")),
                "{f} is not in doc/admin-guide.md's metrics table"
            );
        }
    }

    #[test]
    fn device_labels_are_capped() {
        let st = ultimate::stream::CaptureStats::default();
        for i in 0..MAX_DEVICES + 5 {
            capture_finished(&format!("cap-test-{i}"), &st);
        }
        let out = encode(Snapshot::default()).unwrap();
        let labelled = out
            .lines()
            .filter(|l| l.starts_with("sidflow_device_captures_total{"))
            .count();
        assert!(labelled <= MAX_DEVICES + 1, "{labelled}");
        // (Other tests in this process may have labelled a device or two first.)
        let other: f64 = out
            .lines()
            .find_map(|l| l.strip_prefix("sidflow_device_captures_total{device=\"other\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        assert!((5.0..=7.0).contains(&other), "{out}");
    }
}

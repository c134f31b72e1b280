//! Hardware render: play a tune on the device and record it. Reset, start the stream,
//! upload + play, cut everything before the play call returned, trim the reset silence,
//! keep song length + margin, stop the stream (always), restore the SID configuration
//! (always), reset the machine. One job per device at a time: hold
//! [`crate::discovery::Registry::job_lock`] around it; different devices run in parallel.

use crate::capture::{receive_loop, AudioSocket, CaptureOptions, Flow, SourceFilter, StreamGuard};
use crate::chip::{ChipChoice, ChipSession};
use crate::error::{Error, Result};
use crate::rest::{Client, Info};
use crate::stream::{CaptureStats, SystemMode};
use pcm::resample::Resampler;
use pcm::{Engine, PcmFormat, PcmSource, SourceError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options for one hardware render.
#[derive(Debug, Clone)]
pub struct HwRenderOptions {
    /// 1-based song; None = the tune's start song.
    pub song: Option<u16>,
    /// How much to record after the first sound (the song length).
    pub length: Duration,
    /// Extra recorded after `length`.
    pub margin: Duration,
    pub chip: ChipChoice,
    pub capture: CaptureOptions,
    /// Song lengths for the firmware's player (`.ssl` bytes), sent as multipart part 1.
    pub ssl: Option<Vec<u8>>,
    /// |sample| at or below this counts as silence when trimming the reset gap.
    pub silence_threshold: i16,
    /// Give up waiting for sound after the play call this long (records silence then).
    pub max_lead: Duration,
    /// None = read "System Mode" from the device.
    pub mode: Option<SystemMode>,
    /// Reset the machine before (clears the previous program's sound) and after.
    pub reset_around: bool,
}

impl Default for HwRenderOptions {
    fn default() -> Self {
        HwRenderOptions {
            song: None,
            length: Duration::from_secs(180),
            margin: Duration::from_secs(2),
            chip: ChipChoice::Device,
            capture: CaptureOptions::default(),
            ssl: None,
            silence_threshold: 16,
            max_lead: Duration::from_secs(10),
            mode: None,
            reset_around: true,
        }
    }
}

/// A finished hardware render, PCM at the stream's true rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HwRender {
    /// Interleaved stereo i16 at `rate_hz`.
    #[serde(skip)]
    pub pcm: Vec<i16>,
    pub rate_hz: f64,
    pub mode: SystemMode,
    pub stats: CaptureStats,
    /// Frames recorded (also when they were streamed rather than kept in `pcm`).
    pub recorded_frames: u64,
    /// Silent frames removed after the play call.
    pub lead_trimmed_frames: u64,
    /// Frames between the stream start and the play call returning (discarded).
    pub pre_play_frames: u64,
    /// Chip tag for the cache variant `c64u-<tag>`.
    pub chip_tag: String,
    pub device: Info,
}

impl HwRender {
    /// Cache variant tag, e.g. `c64u-ultisid-8580`.
    pub fn variant(&self) -> String {
        format!("c64u-{}", self.chip_tag)
    }
}

/// The system mode of a device ("System Mode" config item); PAL when unreadable.
pub fn device_mode(client: &Client) -> SystemMode {
    match client.system_mode() {
        Ok(v) => SystemMode::from_config(&v).unwrap_or_else(|| {
            tracing::warn!(value = %v, "unknown System Mode; assuming PAL clock");
            SystemMode::Pal
        }),
        Err(e) => {
            tracing::warn!("cannot read System Mode ({e}); assuming PAL clock");
            SystemMode::Pal
        }
    }
}

enum Phase {
    /// Before the play call returned: frames are kept until the mark is known.
    BeforeMark,
    /// After the mark, waiting for sound.
    Lead,
    Recording,
}

struct RenderSink {
    phase: Phase,
    /// Recorded samples not yet handed on (all of them without a tap).
    pcm: Vec<i16>,
    /// Samples recorded so far.
    recorded: usize,
    seen_frames: u64,
    lead_trimmed: u64,
    lead_limit: u64,
    target: usize,
    threshold: i16,
}

/// Play `tune` on the device and record it.
pub fn hardware_render(
    client: &Arc<Client>,
    tune: &[u8],
    opts: &HwRenderOptions,
    cancel: &AtomicBool,
) -> Result<HwRender> {
    hardware_render_streaming(client, tune, opts, cancel, None)
}

/// Receives the recorded audio as it arrives: interleaved stereo at the stream's rate,
/// the reset silence already trimmed, in order; together the whole recording.
pub type AudioTap<'a> = &'a (dyn Fn(&[i16]) + Sync);

/// [`hardware_render`], handing each recorded block to `tap` as it arrives instead of
/// keeping it (so a listener can hear the capture while it is made): with a tap the
/// returned [`HwRender::pcm`] is empty and memory does not grow with the song.
pub fn hardware_render_streaming(
    client: &Arc<Client>,
    tune: &[u8],
    opts: &HwRenderOptions,
    cancel: &AtomicBool,
    tap: Option<AudioTap<'_>>,
) -> Result<HwRender> {
    let info = client.info()?;
    if !info.can_stream_audio() {
        return Err(Error::NoAudioStream(format!(
            "{} ({})",
            client.addr(),
            info.product
        )));
    }
    let mode = opts.mode.unwrap_or_else(|| device_mode(client));
    let rate = mode.sample_rate();
    let chip = ChipSession::apply(client.clone(), opts.chip)?;
    if opts.reset_around {
        client.reset()?;
    }
    let result = record(client, tune, opts, mode, cancel, tap);
    if opts.reset_around {
        if let Err(e) = client.reset() {
            tracing::warn!("reset after render: {e}");
        }
    }
    let tag = chip.tag.clone();
    chip.restore()?;
    let (pcm, stats, recorded, lead, pre) = result?;
    Ok(HwRender {
        pcm,
        recorded_frames: recorded,
        rate_hz: rate,
        mode,
        stats,
        lead_trimmed_frames: lead,
        pre_play_frames: pre,
        chip_tag: tag,
        device: info,
    })
}

/// PCM kept, stats, frames recorded, lead trimmed, frames before the play call.
type Recorded = (Vec<i16>, CaptureStats, u64, u64, u64);

fn record(
    client: &Arc<Client>,
    tune: &[u8],
    opts: &HwRenderOptions,
    mode: SystemMode,
    cancel: &AtomicBool,
    tap: Option<AudioTap<'_>>,
) -> Result<Recorded> {
    let rate = mode.sample_rate();
    let device = client.addr().ip();
    let sock = AudioSocket::open(&opts.capture.dest, device)?;
    let target = sock.stream_target(&opts.capture.dest);
    let mut filter = SourceFilter::device(device);
    filter.port = opts.capture.source_port;
    filter
        .addrs
        .extend(opts.capture.extra_sources.iter().copied());
    let mut guard = StreamGuard::start(client.clone(), &target)?;
    let frames_now = AtomicU64::new(0);
    let mark = AtomicU64::new(u64::MAX);
    let abort = AtomicBool::new(false);
    let sink = Mutex::new(RenderSink {
        phase: Phase::BeforeMark,
        pcm: Vec::new(),
        recorded: 0,
        seen_frames: 0,
        lead_trimmed: 0,
        lead_limit: (opts.max_lead.as_secs_f64() * rate) as u64,
        target: ((opts.length + opts.margin).as_secs_f64() * rate) as usize * 2,
        threshold: opts.silence_threshold,
    });
    let (stats, play) = std::thread::scope(|s| {
        let rx = s.spawn(|| {
            receive_loop(
                &sock,
                &filter,
                mode,
                opts.capture.reorder,
                opts.capture.packet_timeout,
                &abort,
                |block, _lost| {
                    let mut st = sink.lock().unwrap_or_else(|e| e.into_inner());
                    // Before the recording starts `pcm` holds frames that may be dropped;
                    // once it has started, what this block added is new.
                    let from = if matches!(st.phase, Phase::Recording) {
                        st.pcm.len()
                    } else {
                        0
                    };
                    let f = st.step(block, mark.load(Ordering::Acquire));
                    frames_now.store(st.seen_frames, Ordering::Release);
                    if let Some(tap) = tap {
                        if matches!(st.phase, Phase::Recording) && st.pcm.len() > from {
                            tap(&st.pcm[from..]);
                            // Handed on: a streamed capture keeps nothing.
                            st.pcm.clear();
                        }
                    }
                    f
                },
            )
        });
        // Wait for the stream to flow, then play.
        let t0 = Instant::now();
        let play = loop {
            if frames_now.load(Ordering::Acquire) > 0 {
                break client.sidplay(tune, opts.song, opts.ssl.as_deref());
            }
            if rx.is_finished()
                || t0.elapsed() > opts.capture.packet_timeout + Duration::from_secs(1)
            {
                break Ok(()); // the receiver reports the error
            }
            if cancel.load(Ordering::Relaxed) {
                break Err(Error::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        match &play {
            Ok(()) => mark.store(frames_now.load(Ordering::Acquire), Ordering::Release),
            Err(_) => abort.store(true, Ordering::Release),
        }
        // Forward the caller's cancel to the receiver.
        while !rx.is_finished() {
            if cancel.load(Ordering::Relaxed) {
                abort.store(true, Ordering::Release);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let stats = rx
            .join()
            .unwrap_or(Err(Error::Invalid("capture thread panicked".into())));
        (stats, play)
    });
    let stop = guard.stop();
    play?;
    let stats = stats?;
    stop?;
    let st = sink.into_inner().unwrap_or_else(|e| e.into_inner());
    let pre = mark.load(Ordering::Acquire);
    Ok((
        st.pcm,
        stats,
        (st.recorded / 2) as u64,
        st.lead_trimmed,
        pre,
    ))
}

impl RenderSink {
    fn step(&mut self, block: &[i16], mark: u64) -> Flow {
        let frames = (block.len() / 2) as u64;
        let start_frame = self.seen_frames;
        self.seen_frames += frames;
        if let Phase::BeforeMark = self.phase {
            if mark == u64::MAX {
                self.pcm.extend_from_slice(block);
                return Flow::Continue;
            }
            // The mark is known: drop everything before it, re-run what is after it.
            let held = std::mem::take(&mut self.pcm);
            let skip = (mark as usize * 2).min(held.len());
            self.phase = Phase::Lead;
            let total_before = self.seen_frames;
            self.seen_frames = mark;
            let mut flow = Flow::Continue;
            for chunk in held[skip..].chunks(384) {
                flow = self.after_mark(chunk);
                if flow == Flow::Stop {
                    break;
                }
            }
            self.seen_frames = total_before;
            let _ = start_frame;
            if flow == Flow::Stop {
                return flow;
            }
            return self.after_mark(block);
        }
        self.after_mark(block)
    }

    fn after_mark(&mut self, block: &[i16]) -> Flow {
        let mut b = block;
        if let Phase::Lead = self.phase {
            let first = b
                .iter()
                .position(|s| s.unsigned_abs() > self.threshold as u16);
            match first {
                Some(i) => {
                    let i = i & !1; // frame boundary
                    self.lead_trimmed += (i / 2) as u64;
                    b = &b[i..];
                    self.phase = Phase::Recording;
                }
                None => {
                    self.lead_trimmed += (b.len() / 2) as u64;
                    if self.lead_trimmed < self.lead_limit {
                        return Flow::Continue;
                    }
                    // No sound at all: record silence rather than wait forever.
                    self.phase = Phase::Recording;
                    b = &[];
                }
            }
        }
        let room = self.target.saturating_sub(self.recorded);
        let n = room.min(b.len());
        self.pcm.extend_from_slice(&b[..n]);
        self.recorded += n;
        if self.recorded >= self.target {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Hardware captures running now, in this process.
static CAPTURES: AtomicUsize = AtomicUsize::new(0);

/// True while a [`CaptureSource`] records on any device (the box's LED blinks then).
pub fn capturing() -> bool {
    CAPTURES.load(Ordering::Relaxed) > 0
}

enum Captured {
    Pcm(Vec<i16>),
    /// The capture ended: the render without its PCM, or why it failed.
    End(Box<Result<HwRender>>),
}

/// A hardware render as a PCM source: the song is played on the device and recorded on a
/// thread, and comes out resampled from the stream's true rate to `out_rate` as it arrives.
/// The one capture pipeline of the box: the daemon streams it to a listener and into the
/// cache, `sidflowd capture` into files; nothing holds the whole song in memory.
pub struct CaptureSource {
    rx: std::sync::mpsc::Receiver<Captured>,
    resampler: Option<Resampler>,
    out: Vec<i16>,
    pos: usize,
    out_rate: u32,
    engine: Engine,
    report: Option<HwRender>,
}

/// What a [`CaptureSource`] records and how.
pub struct CaptureJob {
    pub client: Arc<Client>,
    pub tune: Arc<Vec<u8>>,
    pub opts: HwRenderOptions,
    /// Output rate of the PCM.
    pub out_rate: u32,
    /// Held while the capture runs: the device's job lock (one capture per device).
    pub lock: Option<Arc<Mutex<()>>>,
    /// Polled while recording: true stops the capture (the daemon's shutdown).
    pub stop: Box<dyn Fn() -> bool + Send + Sync>,
}

impl CaptureSource {
    /// Starts the capture thread. The device's mode (and so the stream's rate) is read now.
    pub fn start(mut job: CaptureJob) -> Result<CaptureSource> {
        let mode = match job.opts.mode {
            Some(m) => m,
            None => device_mode(&job.client),
        };
        job.opts.mode = Some(mode);
        let info = job.client.info().ok();
        let (tx, rx) = std::sync::mpsc::channel();
        let name = format!("capture {}", job.client.addr());
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _one_at_a_time = job
                    .lock
                    .as_ref()
                    .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
                CAPTURES.fetch_add(1, Ordering::Relaxed);
                // Stops when asked to, or when the reader is gone.
                let cancel = AtomicBool::new(false);
                let tap = |pcm: &[i16]| {
                    if (job.stop)() || tx.send(Captured::Pcm(pcm.to_vec())).is_err() {
                        cancel.store(true, Ordering::Relaxed);
                    }
                };
                let r = hardware_render_streaming(
                    &job.client,
                    &job.tune,
                    &job.opts,
                    &cancel,
                    Some(&tap),
                );
                CAPTURES.fetch_sub(1, Ordering::Relaxed);
                let _ = tx.send(Captured::End(Box::new(r)));
            })
            .map_err(|e| Error::Invalid(format!("starting the capture thread: {e}")))?;
        Ok(CaptureSource {
            rx,
            resampler: Some(Resampler::new(
                2,
                mode.sample_rate(),
                f64::from(job.out_rate),
            )),
            out: Vec::new(),
            pos: 0,
            out_rate: job.out_rate,
            engine: Engine {
                name: "c64u".into(),
                version: info
                    .map(|i| format!("{} {}", i.product, i.firmware_version))
                    .unwrap_or_default(),
            },
            report: None,
        })
    }

    /// The finished render's facts (stats, rate, device, chip; no PCM), once the source
    /// has ended.
    pub fn report(&self) -> Option<&HwRender> {
        self.report.as_ref()
    }
}

impl PcmSource for CaptureSource {
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: self.out_rate,
            channels: 2,
        }
    }
    fn read(&mut self, buf: &mut [i16]) -> std::result::Result<usize, SourceError> {
        loop {
            if self.pos < self.out.len() {
                let n = (buf.len() & !1).min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.out.clear();
            self.pos = 0;
            let Some(rs) = self.resampler.as_mut() else {
                return Ok(0);
            };
            match self.rx.recv() {
                Ok(Captured::Pcm(pcm)) => rs.push(&pcm, &mut self.out),
                Ok(Captured::End(end)) => {
                    let hw = (*end).map_err(Box::new)?;
                    rs.finish(&mut self.out);
                    self.resampler = None;
                    // The cache names the chip only 6581 or 8580; which SID played (UltiSID
                    // or the chip in a socket) is in the engine's version.
                    self.engine.version = format!(
                        "{} {}, {}",
                        hw.device.product, hw.device.firmware_version, hw.chip_tag
                    );
                    self.report = Some(hw);
                }
                Err(_) => return Err("the capture thread ended without a result".into()),
            }
        }
    }
    fn engine(&self) -> Engine {
        self.engine.clone()
    }
    fn defect(&self) -> Option<String> {
        self.report.as_ref().and_then(|hw| hw.stats.damage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(target_frames: usize) -> RenderSink {
        RenderSink {
            phase: Phase::BeforeMark,
            pcm: Vec::new(),
            recorded: 0,
            seen_frames: 0,
            lead_trimmed: 0,
            lead_limit: 10_000,
            target: target_frames * 2,
            threshold: 16,
        }
    }

    #[test]
    fn cuts_before_mark_and_trims_lead() {
        let mut s = sink(300);
        // 2 blocks of "previous program" noise, then the mark at 384 frames.
        assert_eq!(s.step(&[500i16; 384], u64::MAX), Flow::Continue);
        assert_eq!(s.step(&[500i16; 384], u64::MAX), Flow::Continue);
        // Third block arrives after the mark: 100 silent frames then sound.
        let mut b = vec![0i16; 384];
        for v in b[200..].iter_mut() {
            *v = 1000;
        }
        assert_eq!(s.step(&b, 384), Flow::Continue);
        assert_eq!(s.lead_trimmed, 100);
        assert_eq!(s.pcm.len(), 184);
        assert_eq!(s.step(&[7i16; 384], 384), Flow::Continue);
        assert_eq!(s.step(&[7i16; 384], 384), Flow::Stop);
        assert_eq!(s.pcm.len(), 600);
        assert!(s.pcm[..184].iter().all(|&v| v == 1000));
    }
}

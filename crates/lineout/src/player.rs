//! The player thread and its control handle: a queue of sources, play/pause/stop/next,
//! volume, underrun counting, and a status snapshot for the HTTP API.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::format::{apply_gain, map_channels, software_gain_q15};
use crate::sink::{Sink, SinkInfo, WriteError};
use crate::source::Source;
use crate::Error;
use pcm::resample::Resampler;

/// Playing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayState {
    #[default]
    Idle,
    Playing,
    Paused,
}

impl PlayState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayState::Idle => "idle",
            PlayState::Playing => "playing",
            PlayState::Paused => "paused",
        }
    }
}

/// A snapshot of the player for the status API.
#[derive(Debug, Clone, Default)]
pub struct PlayerStatus {
    pub state: PlayState,
    /// Volume in percent.
    pub volume: u8,
    pub now_playing: Option<String>,
    /// Sources waiting after the current one.
    pub queued: usize,
    /// Device underruns since start (each one recovered).
    pub underruns: u64,
    /// Frames written to the device since start.
    pub frames_played: u64,
    /// The negotiated device parameters.
    pub device: Option<SinkInfo>,
    /// The last error, if the last track stopped because of one.
    pub last_error: Option<String>,
    /// Commands the player thread has handled (see [`Player::wait_idle`]).
    pub commands_done: u64,
}

/// Things the player reports as they happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerEvent {
    Started(String),
    Finished(String),
    Failed(String),
    Idle,
}

enum Command {
    Play(Box<dyn Source>),
    Enqueue(Box<dyn Source>),
    Pause,
    Resume,
    TogglePause,
    Stop,
    Next,
    Volume(u8),
    Shutdown,
}

/// Handle to the player thread. Dropping it stops playback and joins the thread.
pub struct Player {
    tx: Sender<Command>,
    sent: std::sync::atomic::AtomicU64,
    status: Arc<Mutex<PlayerStatus>>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<PlayerStatus>) -> MutexGuard<'_, PlayerStatus> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Player {
    /// Starts the player thread; `open` runs on that thread and opens the device (so a device
    /// that is not `Send` works). Fails if the device cannot be opened.
    pub fn spawn<F>(open: F, volume: u8, events: Option<Sender<PlayerEvent>>) -> Result<Self, Error>
    where
        F: FnOnce() -> Result<Box<dyn Sink>, Error> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(PlayerStatus {
            volume: volume.min(100),
            ..Default::default()
        }));
        let (ready_tx, ready_rx) = mpsc::channel();
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name("lineout".into())
            .spawn(move || {
                let sink = match open() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // The status (device, volume) is published before spawn() returns.
                let worker = Worker::new(sink, rx, st, events, volume);
                let _ = ready_tx.send(Ok(()));
                worker.run();
            })
            .map_err(|e| Error::Io(format!("starting the line-out thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                tx,
                sent: Default::default(),
                status,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(Error::PlayerGone),
        }
    }

    /// Opens an ALSA device and starts the player on it.
    pub fn open_alsa(
        cfg: crate::AlsaConfig,
        volume: u8,
        events: Option<Sender<PlayerEvent>>,
    ) -> Result<Self, Error> {
        Self::spawn(
            move || Ok(Box::new(crate::AlsaSink::open(&cfg)?) as Box<dyn Sink>),
            volume,
            events,
        )
    }

    fn send(&self, c: Command) -> Result<(), Error> {
        self.tx.send(c).map_err(|_| Error::PlayerGone)?;
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Plays `src` now, replacing the current source and clearing the queue.
    pub fn play(&self, src: Box<dyn Source>) -> Result<(), Error> {
        self.send(Command::Play(src))
    }
    /// Adds `src` after the current and queued ones (starts it if idle).
    pub fn enqueue(&self, src: Box<dyn Source>) -> Result<(), Error> {
        self.send(Command::Enqueue(src))
    }
    pub fn pause(&self) -> Result<(), Error> {
        self.send(Command::Pause)
    }
    pub fn resume(&self) -> Result<(), Error> {
        self.send(Command::Resume)
    }
    pub fn toggle_pause(&self) -> Result<(), Error> {
        self.send(Command::TogglePause)
    }
    /// Stops and clears the queue.
    pub fn stop(&self) -> Result<(), Error> {
        self.send(Command::Stop)
    }
    /// Skips to the next queued source (or stops if there is none).
    pub fn next(&self) -> Result<(), Error> {
        self.send(Command::Next)
    }
    /// Volume in percent (0-100; larger values are clamped).
    pub fn set_volume(&self, percent: u8) -> Result<(), Error> {
        self.send(Command::Volume(percent.min(100)))
    }
    pub fn status(&self) -> PlayerStatus {
        lock(&self.status).clone()
    }

    /// Blocks until the player is idle with an empty queue, or the timeout passes; returns
    /// whether it became idle. (For one-shot commands and tests.)
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        // Every command sent so far must have been handled first.
        let sent = self.sent.load(std::sync::atomic::Ordering::SeqCst);
        loop {
            {
                let s = lock(&self.status);
                if s.commands_done >= sent && s.state == PlayState::Idle && s.queued == 0 {
                    return true;
                }
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A source adapted to the sink's rate and channel count.
struct Track {
    src: Box<dyn Source>,
    label: String,
    resampler: Option<Resampler>,
    buf: Vec<i16>,
}

impl Track {
    fn new(src: Box<dyn Source>, sink: &SinkInfo) -> Self {
        let label = src.label();
        // A source with its own clock always goes through the resampler, even at equal rates.
        let f = src.pcm_format();
        let live = src.has_own_clock() || f.sample_rate != sink.rate;
        let resampler = live
            .then(|| Resampler::new(f.channels, f64::from(f.sample_rate), f64::from(sink.rate)));
        Self {
            src,
            label,
            resampler,
            buf: Vec::new(),
        }
    }

    /// Produces up to `frames` frames at the sink's rate and channels into `out`; 0 = ended.
    fn fill(&mut self, frames: usize, out_ch: usize, out: &mut Vec<i16>) -> Result<usize, Error> {
        let in_ch = usize::from(self.src.pcm_format().channels.max(1));
        self.buf.resize(frames * in_ch, 0);
        let n = match &mut self.resampler {
            Some(r) => r.process(self.src.as_mut(), &mut self.buf),
            None => self.src.read(&mut self.buf),
        }
        .map_err(|e| Error::Source(e.to_string()))?;
        out.clear();
        map_channels(&self.buf[..n], in_ch, out_ch, out);
        Ok(n / in_ch)
    }
}

struct Worker {
    sink: Box<dyn Sink>,
    rx: Receiver<Command>,
    status: Arc<Mutex<PlayerStatus>>,
    events: Option<Sender<PlayerEvent>>,
    state: PlayState,
    current: Option<Track>,
    queue: VecDeque<Box<dyn Source>>,
    gain: i32,
    volume: u8,
    underruns: u64,
    frames: u64,
    out: Vec<i16>,
    last_error: Option<String>,
    commands_done: u64,
}

impl Worker {
    fn new(
        sink: Box<dyn Sink>,
        rx: Receiver<Command>,
        status: Arc<Mutex<PlayerStatus>>,
        events: Option<Sender<PlayerEvent>>,
        volume: u8,
    ) -> Self {
        let mut w = Self {
            sink,
            rx,
            status,
            events,
            state: PlayState::Idle,
            current: None,
            queue: VecDeque::new(),
            gain: 1 << 15,
            volume: 100,
            underruns: 0,
            frames: 0,
            out: Vec::new(),
            last_error: None,
            commands_done: 0,
        };
        w.set_volume(volume.min(100));
        w.publish();
        w
    }

    fn emit(&self, e: PlayerEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    fn set_volume(&mut self, v: u8) {
        self.volume = v;
        self.gain = if self.sink.set_hw_volume(v) {
            1 << 15
        } else {
            software_gain_q15(v)
        };
    }

    fn publish(&self) {
        let mut s = lock(&self.status);
        s.state = self.state;
        s.volume = self.volume;
        s.now_playing = self.current.as_ref().map(|t| t.label.clone());
        s.queued = self.queue.len();
        s.underruns = self.underruns;
        s.frames_played = self.frames;
        s.device = Some(self.sink.info().clone());
        s.last_error = self.last_error.clone();
        s.commands_done = self.commands_done;
    }

    fn start(&mut self, src: Box<dyn Source>) {
        let t = Track::new(src, self.sink.info());
        self.emit(PlayerEvent::Started(t.label.clone()));
        self.current = Some(t);
        if self.state == PlayState::Paused {
            let _ = self.sink.pause(false);
        }
        self.state = PlayState::Playing;
    }

    fn advance(&mut self) {
        match self.queue.pop_front() {
            Some(src) => self.start(src),
            None => {
                self.current = None;
                if self.state != PlayState::Idle {
                    self.state = PlayState::Idle;
                    self.emit(PlayerEvent::Idle);
                }
            }
        }
    }

    /// Handles one command; returns false on shutdown.
    fn command(&mut self, c: Command) -> bool {
        match c {
            Command::Play(src) => {
                self.queue.clear();
                if self.current.is_some() {
                    let _ = self.sink.discard();
                }
                self.start(src);
            }
            Command::Enqueue(src) => {
                if self.current.is_none() {
                    self.start(src);
                } else {
                    self.queue.push_back(src);
                }
            }
            Command::Pause => self.set_paused(true),
            Command::Resume => self.set_paused(false),
            Command::TogglePause => self.set_paused(self.state == PlayState::Playing),
            Command::Stop => {
                self.queue.clear();
                if self.current.take().is_some() {
                    let _ = self.sink.discard();
                }
                if self.state != PlayState::Idle {
                    self.state = PlayState::Idle;
                    self.emit(PlayerEvent::Idle);
                }
            }
            Command::Next => {
                if self.current.is_some() {
                    let _ = self.sink.discard();
                }
                self.advance();
            }
            Command::Volume(v) => self.set_volume(v),
            Command::Shutdown => return false,
        }
        true
    }

    fn set_paused(&mut self, pause: bool) {
        match (self.state, pause) {
            (PlayState::Playing, true) => {
                if let Err(e) = self.sink.pause(true) {
                    tracing::warn!("pause: {e}");
                }
                self.state = PlayState::Paused;
            }
            (PlayState::Paused, false) => {
                if let Err(e) = self.sink.pause(false) {
                    tracing::warn!("resume: {e}");
                }
                self.state = PlayState::Playing;
            }
            _ => {}
        }
    }

    fn run(mut self) {
        loop {
            // Commands first: never block while playing, wait while idle or paused.
            let cmd = if self.state == PlayState::Playing {
                match self.rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => break,
                }
            } else {
                match self.rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            };
            if let Some(c) = cmd {
                let go_on = self.command(c);
                self.commands_done += 1;
                self.publish();
                if !go_on {
                    break;
                }
                continue;
            }
            if self.state == PlayState::Playing {
                self.play_period();
                self.publish();
            }
        }
        let _ = self.sink.discard();
    }

    fn play_period(&mut self) {
        let info = self.sink.info().clone();
        let Some(track) = self.current.as_mut() else {
            self.advance();
            return;
        };
        let mut out = std::mem::take(&mut self.out);
        let got = track.fill(info.period_frames, usize::from(info.channels), &mut out);
        match got {
            Ok(0) => {
                let label = track.label.clone();
                self.emit(PlayerEvent::Finished(label));
                if self.queue.is_empty() {
                    // End of the queue: let the device play what it holds.
                    if let Err(e) = self.sink.drain() {
                        tracing::warn!("drain: {e}");
                    }
                }
                self.advance();
            }
            Ok(_) => {
                apply_gain(&mut out, self.gain);
                if let Err(e) = self.write_all(&out, usize::from(info.channels)) {
                    self.fail(e);
                }
            }
            Err(e) => self.fail(e),
        }
        self.out = out;
    }

    fn fail(&mut self, e: Error) {
        tracing::warn!("line-out: {e}");
        self.last_error = Some(e.to_string());
        self.emit(PlayerEvent::Failed(e.to_string()));
        let _ = self.sink.discard();
        self.advance();
    }

    fn write_all(&mut self, samples: &[i16], ch: usize) -> Result<(), Error> {
        let mut done = 0;
        let mut stuck = 0;
        while done < samples.len() {
            match self.sink.write(&samples[done..]) {
                Ok(frames) => {
                    done += frames * ch;
                    self.frames += frames as u64;
                    stuck = if frames == 0 { stuck + 1 } else { 0 };
                    if stuck > 1000 {
                        return Err(Error::Alsa("the device accepts no frames".into()));
                    }
                }
                Err(WriteError::Underrun) => {
                    self.underruns += 1;
                    tracing::debug!(underruns = self.underruns, "line-out underrun");
                    self.sink.recover()?;
                }
                Err(WriteError::Fatal(e)) => return Err(e),
            }
        }
        Ok(())
    }
}

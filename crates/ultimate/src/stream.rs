//! The audio stream's packet format, its exact rates, and the pure reassembly logic
//! (sequence numbers modulo 65536, reorder window, duplicates, loss -> silence).
//! No I/O here: [`crate::capture`] feeds it from a socket, tests feed it directly.

use serde::{Deserialize, Serialize};

/// UDP payload size of one audio packet: 2-byte sequence + 192 stereo i16 frames.
pub const PACKET_LEN: usize = 770;
/// Stereo frames per packet.
pub const FRAMES_PER_PACKET: usize = 192;
/// i16 samples per packet (interleaved L, R).
pub const SAMPLES_PER_PACKET: usize = FRAMES_PER_PACKET * 2;
/// Source UDP port of the audio stream (FPGA header template, 0xD400).
pub const AUDIO_SOURCE_PORT: u16 = 54272;
/// Default audio destination port (11000 + stream id 1).
pub const DEFAULT_AUDIO_PORT: u16 = 11001;
/// Default multicast group of the audio stream.
pub const DEFAULT_AUDIO_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 0, 1, 65);

/// The video standard the device runs, which fixes the audio clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemMode {
    Pal,
    Ntsc,
}

impl SystemMode {
    /// Exact nominal sample rate: PAL Fc*16/9*15/77/32 with Fc = 4 433 618.75 Hz,
    /// NTSC Fc*16/7*15/80/32 with Fc = 3 579 545.45 Hz (the documented value; 315/88 MHz
    /// would differ by 1.3e-9, far below any crystal's tolerance).
    pub fn sample_rate(self) -> f64 {
        match self {
            SystemMode::Pal => 4_433_618.75 * 16.0 / 9.0 * 15.0 / 77.0 / 32.0,
            SystemMode::Ntsc => 3_579_545.45 * 16.0 / 7.0 * 15.0 / 80.0 / 32.0,
        }
    }

    /// Packets per second at the nominal rate.
    pub fn packet_rate(self) -> f64 {
        self.sample_rate() / FRAMES_PER_PACKET as f64
    }

    /// From the firmware's `"System Mode"` value. `PAL-60`/`NTSC-50` and the `/L` variants
    /// are not documented; the colour clock (PAL or NTSC crystal) is what matters, and we take
    /// the first word. Unknown values return `None` (callers then measure or assume PAL).
    pub fn from_config(value: &str) -> Option<SystemMode> {
        let v = value.trim().to_ascii_uppercase();
        if v.starts_with("PAL") {
            Some(SystemMode::Pal)
        } else if v.starts_with("NTSC") {
            Some(SystemMode::Ntsc)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SystemMode::Pal => "PAL",
            SystemMode::Ntsc => "NTSC",
        }
    }
}

/// Parse one datagram; `None` unless it is exactly 770 bytes.
pub fn parse_packet(datagram: &[u8]) -> Option<(u16, &[u8])> {
    if datagram.len() != PACKET_LEN {
        return None;
    }
    Some((
        u16::from_le_bytes([datagram[0], datagram[1]]),
        &datagram[2..],
    ))
}

/// Build one datagram (used by the simulator and by tests).
pub fn build_packet(seq: u16, samples: &[i16; SAMPLES_PER_PACKET]) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    p[..2].copy_from_slice(&seq.to_le_bytes());
    for (i, s) in samples.iter().enumerate() {
        p[2 + i * 2..4 + i * 2].copy_from_slice(&s.to_le_bytes());
    }
    p
}

/// Per-capture statistics, stored with the result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureStats {
    /// Distinct audio packets put into the output (packets still held in the reorder window
    /// when a capture stops are not counted). `frames == (packets + lost) * 192` always.
    pub packets: u64,
    /// Sequence numbers never received (each filled with 192 frames of silence).
    pub lost: u64,
    /// Packets that arrived after a later sequence number (and were put back in order).
    pub reordered: u64,
    /// Second copies of a packet already held or emitted; dropped.
    pub duplicates: u64,
    /// Packets that arrived after their slot had already been filled with silence; dropped.
    pub late: u64,
    /// Jumps too large to be loss (stream restarted); timing restarts there.
    pub resyncs: u64,
    /// Packets whose sequence number jumped out of the window and that were not followed
    /// by enough packets in sequence to be believed (stray or spoofed datagrams); dropped.
    #[serde(default)]
    pub suspect: u64,
    /// Datagrams ignored: wrong size (e.g. the 2-byte priming datagrams).
    pub ignored_size: u64,
    /// Datagrams ignored: not from the device's address/port.
    pub ignored_foreign: u64,
    /// First sequence number received.
    pub first_seq: Option<u16>,
    /// Stereo frames output (packets + lost) * 192.
    pub frames: u64,
    /// Nominal rate of the stream (from the device's system mode), Hz.
    pub nominal_rate_hz: f64,
    /// Rate measured against the host clock over the capture, Hz (0 if too short).
    pub measured_rate_hz: f64,
    /// (measured / nominal - 1) * 1e6.
    pub rate_error_ppm: f64,
    /// Receive buffer the kernel granted (bytes, as reported by getsockopt).
    pub recv_buffer_bytes: usize,
}

impl CaptureStats {
    /// Fraction of packets lost.
    pub fn loss_ratio(&self) -> f64 {
        let total = self.packets + self.lost;
        if total == 0 {
            0.0
        } else {
            self.lost as f64 / total as f64
        }
    }

    /// Fill in measured rate and ppm from the number of stream frames spanned between the
    /// first and last packet arrival and the host time between them.
    pub fn set_measured(&mut self, frames_spanned: u64, seconds: f64) {
        if seconds > 0.5 && frames_spanned > 0 {
            self.set_rate(frames_spanned as f64 / seconds);
        }
    }

    /// Fill in the measured rate (frames per host second, e.g. from a [`RateMeter`]) and ppm.
    pub fn set_rate(&mut self, rate_hz: f64) {
        self.measured_rate_hz = rate_hz;
        if self.nominal_rate_hz > 0.0 {
            self.rate_error_ppm = (rate_hz / self.nominal_rate_hz - 1.0) * 1e6;
        }
    }

    /// Whether the capture lost too much to stand for the song as it played: more than
    /// 1 % of its packets, or more than 0.25 s in one capture, or a restarted stream.
    /// Such a capture is kept out of the cache as a clean hardware render.
    pub fn damage(&self) -> Option<String> {
        let lost_secs = self.lost as f64 * FRAMES_PER_PACKET as f64
            / if self.nominal_rate_hz > 0.0 {
                self.nominal_rate_hz
            } else {
                48_000.0
            };
        if self.loss_ratio() > 0.01 || lost_secs > 0.25 || self.resyncs > 0 {
            Some(format!(
                "{} of {} packets lost ({:.1} %, {:.2} s of silence), {} restarts",
                self.lost,
                self.packets + self.lost,
                self.loss_ratio() * 100.0,
                lost_secs,
                self.resyncs
            ))
        } else {
            None
        }
    }
}

/// Measures a stream's rate against the host clock, robust to network delay and to stray
/// packets: in each second of host time it keeps the packet that arrived earliest for its
/// stream position (the least delayed), and the rate is the median of the slopes between
/// those points (Theil-Sen). A late burst, a stalled receiver or a few wild points move the
/// median little, where "frames between the first and the last packet over the time between
/// them" took every delay at either end at face value.
#[derive(Debug, Default)]
pub struct RateMeter {
    nominal: f64,
    /// (host seconds, stream frame, segment); one per second of host time: the least delayed.
    points: Vec<(f64, u64, u64)>,
    segment: u64,
}

impl RateMeter {
    /// Points kept (one per second: 2 hours of capture); past it the meter stops adding.
    const MAX_POINTS: usize = 7200;
    /// Points used for the pairwise slopes (evenly chosen when there are more).
    const MAX_FIT: usize = 240;

    pub fn new(nominal_rate_hz: f64) -> RateMeter {
        RateMeter {
            nominal: nominal_rate_hz,
            ..RateMeter::default()
        }
    }

    /// A packet that moved the output to stream frame `frame` arrived at host time `t` s.
    pub fn observe(&mut self, t: f64, frame: u64) {
        let nominal = if self.nominal > 0.0 {
            self.nominal
        } else {
            48_000.0
        };
        let delay = |(t, f, _): (f64, u64, u64)| t - f as f64 / nominal;
        let bucket = t.floor();
        let full = self.points.len() >= Self::MAX_POINTS;
        let p = (t, frame, self.segment);
        match self.points.last_mut() {
            Some(last) if last.2 == self.segment && last.0.floor() == bucket => {
                if delay(p) < delay(*last) {
                    *last = p;
                }
            }
            _ if full => {}
            _ => self.points.push(p),
        }
    }

    /// The stream restarted: slopes are only taken within one segment.
    pub fn restart(&mut self) {
        self.segment += 1;
    }

    /// Frames per second of host time; `None` with less than about a second of points.
    pub fn rate(&self) -> Option<f64> {
        let n = self.points.len();
        let step = n.div_ceil(Self::MAX_FIT).max(1);
        let pts: Vec<_> = self.points.iter().step_by(step).collect();
        let mut slopes = Vec::new();
        for (i, a) in pts.iter().enumerate() {
            for b in &pts[i + 1..] {
                let dt = b.0 - a.0;
                if a.2 == b.2 && dt >= 0.5 && b.1 > a.1 {
                    slopes.push((b.1 - a.1) as f64 / dt);
                }
            }
        }
        if slopes.is_empty() {
            return None;
        }
        let mid = slopes.len() / 2;
        let (_, m, _) = slopes.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        Some(*m)
    }
}

/// Reassembly options.
#[derive(Debug, Clone, Copy)]
pub struct ReorderOptions {
    /// Packets held back waiting for a missing one (32 = 128 ms).
    pub window: u16,
    /// A forward jump larger than this many packets is taken as a restarted stream, not as
    /// loss (1250 = 5 s): timing restarts at the new number without inserting silence.
    pub max_gap: u16,
    /// A jump out of the window (loss of more than a window, or a restart) is only acted on
    /// after this many packets in sequence from the new number (4 = 16 ms); a lone datagram
    /// with a random number (a stray or spoofed packet) never inserts silence or resyncs.
    pub confirm: u16,
}

impl Default for ReorderOptions {
    fn default() -> Self {
        ReorderOptions {
            window: 32,
            max_gap: 1250,
            confirm: 4,
        }
    }
}

/// Candidate runs of packets after a jump, waiting to be confirmed (see
/// [`ReorderOptions::confirm`]). A few are kept so that stray packets interleaved with a
/// real jump do not keep it from being confirmed.
const CANDIDATES: usize = 4;

struct Candidate {
    /// The lowest sequence number of the run; its packets are within a window of it.
    base: u16,
    packets: Vec<(u16, Box<[u8]>)>,
    /// Order of creation, to evict the oldest.
    born: u64,
}

/// Where each 192-frame block goes.
pub trait BlockSink {
    /// `samples` is 384 interleaved i16; `lost` says it is inserted silence.
    fn block(&mut self, samples: &[i16], lost: bool);
}

impl BlockSink for Vec<i16> {
    fn block(&mut self, samples: &[i16], _lost: bool) {
        self.extend_from_slice(samples);
    }
}

const SILENCE: [i16; SAMPLES_PER_PACKET] = [0; SAMPLES_PER_PACKET];

/// State of a sequence number in the last 65536 emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Unknown,
    Emitted,
    FilledLost,
}

/// Puts packets back in order and fills gaps. Sequence numbers are 16-bit and wrap; the
/// first packet received defines the start (never assumed to be 0).
pub struct Reassembler {
    opts: ReorderOptions,
    /// Next sequence number to emit.
    next: Option<u16>,
    /// Highest sequence seen (for the reordered count), as offset-from-`next` arithmetic.
    highest: Option<u16>,
    /// Held packets, indexed by (seq - next) within the window.
    pending: Vec<Option<Box<[i16; SAMPLES_PER_PACKET]>>>,
    held: usize,
    history: Vec<Slot>,
    candidates: Vec<Candidate>,
    born: u64,
    pub stats: CaptureStats,
}

impl Reassembler {
    pub fn new(opts: ReorderOptions) -> Reassembler {
        let window = opts.window.clamp(1, 4096) as usize;
        Reassembler {
            opts: ReorderOptions {
                window: window as u16,
                max_gap: opts.max_gap.max(window as u16),
                confirm: opts.confirm.clamp(1, 64),
            },
            next: None,
            highest: None,
            pending: (0..window).map(|_| None).collect(),
            held: 0,
            history: vec![Slot::Unknown; 65536],
            candidates: Vec::new(),
            born: 0,
            stats: CaptureStats::default(),
        }
    }

    /// Frames emitted so far.
    pub fn frames(&self) -> u64 {
        self.stats.frames
    }

    /// Feed one packet (sequence number and 768 payload bytes).
    pub fn push(&mut self, seq: u16, payload: &[u8], sink: &mut dyn BlockSink) {
        if payload.len() != SAMPLES_PER_PACKET * 2 {
            self.stats.ignored_size += 1;
            return;
        }
        let Some(next) = self.next else {
            // The first packets set the start only once enough of them come in sequence.
            if let Some(run) = self.confirmed(seq, payload) {
                if let Some(&(first, _)) = run.first() {
                    self.stats.first_seq = Some(first);
                    self.next = Some(first);
                    self.highest = Some(first);
                }
                for (seq, payload) in run {
                    self.place(seq, &payload, sink);
                }
            }
            return;
        };
        let ahead = seq.wrapping_sub(next);
        if ahead < self.opts.window {
            // Within the window: the normal case (in order, reordered or a duplicate).
            self.accept(seq, payload, sink);
            return;
        }
        if ahead >= 0x8000 && next.wrapping_sub(seq) <= self.opts.max_gap {
            // Behind the output position: already emitted, or already given up as lost.
            match self.history[seq as usize] {
                Slot::FilledLost => self.stats.late += 1,
                _ => self.stats.duplicates += 1,
            }
            return;
        }
        // Out of the window: believed only when packets in sequence follow it.
        if let Some(run) = self.confirmed(seq, payload) {
            self.jump(run, sink);
        }
    }

    /// Adds a packet to the candidate run it belongs to (within a window of its lowest
    /// number, so reordering inside the run does not matter) or starts one; returns the
    /// run, in sequence order, once it holds `confirm` packets.
    fn confirmed(&mut self, seq: u16, payload: &[u8]) -> Option<Vec<(u16, Box<[u8]>)>> {
        let window = self.opts.window;
        let near =
            |c: &Candidate| seq.wrapping_sub(c.base) < window || c.base.wrapping_sub(seq) < window;
        let i = match self.candidates.iter().position(near) {
            Some(i) => i,
            None => {
                if self.candidates.len() >= CANDIDATES {
                    let oldest = (0..self.candidates.len())
                        .min_by_key(|&i| self.candidates[i].born)
                        .unwrap_or(0);
                    let gone = self.candidates.swap_remove(oldest);
                    self.stats.suspect += gone.packets.len() as u64;
                }
                self.born += 1;
                self.candidates.push(Candidate {
                    base: seq,
                    packets: Vec::new(),
                    born: self.born,
                });
                self.candidates.len() - 1
            }
        };
        let c = &mut self.candidates[i];
        if c.packets.iter().any(|(s, _)| *s == seq) {
            self.stats.duplicates += 1;
            return None;
        }
        if c.base.wrapping_sub(seq) < window {
            c.base = seq;
        }
        c.packets.push((seq, payload.into()));
        if c.packets.len() < usize::from(self.opts.confirm) {
            return None;
        }
        let c = self.candidates.swap_remove(i);
        let mut run = c.packets;
        run.sort_by_key(|(s, _)| s.wrapping_sub(c.base));
        // The other runs were strays.
        for c in self.candidates.drain(..) {
            self.stats.suspect += c.packets.len() as u64;
        }
        Some(run)
    }

    /// Acts on a confirmed jump: loss up to its first packet (within `max_gap`) or a
    /// restarted stream, then the run's packets.
    fn jump(&mut self, run: Vec<(u16, Box<[u8]>)>, sink: &mut dyn BlockSink) {
        let Some(&(first, _)) = run.first() else {
            return;
        };
        let next = self.next.unwrap_or(first);
        let ahead = first.wrapping_sub(next);
        if ahead >= 0x8000 || ahead > self.opts.max_gap {
            // Not loss: the stream restarted (or the device rebooted). Flush what we hold
            // and continue from here.
            self.flush(sink);
            self.stats.resyncs += 1;
            self.next = Some(first);
            self.highest = Some(first);
        }
        // Otherwise real loss of more than a window: `place` declares what is missing lost.
        for (seq, payload) in run {
            self.place(seq, &payload, sink);
        }
    }

    /// Puts a believed packet at most `max_gap` ahead in place, emitting (or declaring
    /// lost) what must leave the window to make room for it.
    fn place(&mut self, seq: u16, payload: &[u8], sink: &mut dyn BlockSink) {
        let next = self.next.unwrap_or(seq);
        let ahead = seq.wrapping_sub(next);
        if ahead >= 0x8000 {
            self.stats.duplicates += 1;
            return;
        }
        let window = self.opts.window;
        if ahead >= window {
            for _ in 0..(ahead - window + 1) {
                self.emit_one(sink);
            }
        }
        self.accept(seq, payload, sink);
    }

    fn accept(&mut self, seq: u16, payload: &[u8], sink: &mut dyn BlockSink) {
        let next = self.next.unwrap_or(seq);
        let idx = seq.wrapping_sub(next) as usize;
        if self.pending[idx].is_some() {
            self.stats.duplicates += 1;
            return;
        }
        let highest = self.highest.unwrap_or(seq);
        let h_ahead = highest.wrapping_sub(next);
        if (idx as u16) < h_ahead {
            self.stats.reordered += 1;
        } else {
            self.highest = Some(seq);
        }
        let mut block = Box::new([0i16; SAMPLES_PER_PACKET]);
        for (i, s) in block.iter_mut().enumerate() {
            *s = i16::from_le_bytes([payload[2 * i], payload[2 * i + 1]]);
        }
        self.pending[idx] = Some(block);
        self.held += 1;
        // Emit the contiguous run at the head.
        while self.pending[0].is_some() {
            self.emit_one(sink);
        }
    }

    /// Emit the block at `next` (data or silence) and slide the window by one.
    fn emit_one(&mut self, sink: &mut dyn BlockSink) {
        let Some(next) = self.next else { return };
        match self.pending[0].take() {
            Some(block) => {
                self.held -= 1;
                self.stats.packets += 1;
                sink.block(&block[..], false);
                self.history[next as usize] = Slot::Emitted;
            }
            None => {
                sink.block(&SILENCE, true);
                self.stats.lost += 1;
                self.history[next as usize] = Slot::FilledLost;
            }
        }
        self.stats.frames += FRAMES_PER_PACKET as u64;
        self.pending.rotate_left(1);
        let new_next = next.wrapping_add(1);
        self.next = Some(new_next);
        if self
            .highest
            .is_some_and(|h| h.wrapping_sub(new_next) >= 0x8000)
        {
            self.highest = Some(new_next);
        }
    }

    /// End of capture: emit everything held, filling gaps up to the last packet held.
    /// Packets missing after the last one received cannot be known and are not counted.
    pub fn flush(&mut self, sink: &mut dyn BlockSink) {
        while self.held > 0 {
            self.emit_one(sink);
        }
    }

    /// End of capture: [`Reassembler::flush`], and runs never confirmed are counted as
    /// suspect.
    pub fn finish(&mut self, sink: &mut dyn BlockSink) {
        self.flush(sink);
        for c in self.candidates.drain(..) {
            self.stats.suspect += c.packets.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(tag: i16) -> Vec<u8> {
        let mut v = Vec::with_capacity(768);
        for i in 0..SAMPLES_PER_PACKET {
            v.extend_from_slice(&(tag.wrapping_add((i % 2) as i16)).to_le_bytes());
        }
        v
    }

    /// Push a sequence of (seq) and return the tags of the emitted blocks (0 = silence).
    fn run(seqs: &[u16]) -> (Vec<i16>, CaptureStats) {
        run_with(seqs, 1)
    }

    fn run_with(seqs: &[u16], confirm: u16) -> (Vec<i16>, CaptureStats) {
        let mut r = Reassembler::new(ReorderOptions {
            window: 4,
            max_gap: 100,
            confirm,
        });
        let mut out: Vec<i16> = Vec::new();
        for &s in seqs {
            r.push(s, &payload((s % 1000) as i16 + 1), &mut out);
        }
        r.finish(&mut out);
        let tags = out.chunks(SAMPLES_PER_PACKET).map(|c| c[0]).collect();
        (tags, r.stats)
    }

    #[test]
    fn rates_are_exact() {
        assert!((SystemMode::Pal.sample_rate() - 47_982.886_904_761_9).abs() < 1e-6);
        assert!((SystemMode::Ntsc.sample_rate() - 47_940.340_848_214_3).abs() < 1e-6);
    }

    #[test]
    fn starts_anywhere_and_wraps() {
        let (tags, st) = run(&[65534, 65535, 0, 1]);
        assert_eq!(tags, vec![535, 536, 1, 2]);
        assert_eq!(st.first_seq, Some(65534));
        assert_eq!(
            (st.packets, st.lost, st.reordered, st.duplicates),
            (4, 0, 0, 0)
        );
        assert_eq!(st.frames, 4 * 192);
    }

    #[test]
    fn loss_becomes_silence() {
        let (tags, st) = run(&[10, 11, 13, 14, 17]);
        assert_eq!(tags, vec![11, 12, 0, 14, 15, 0, 0, 18]);
        assert_eq!((st.packets, st.lost), (5, 3));
    }

    #[test]
    fn reorder_and_duplicates() {
        let (tags, st) = run(&[5, 7, 6, 6, 8, 8, 5]);
        assert_eq!(tags, vec![6, 7, 8, 9]);
        assert_eq!(st.reordered, 1);
        assert_eq!(st.duplicates, 3);
        assert_eq!(st.lost, 0);
    }

    #[test]
    fn late_after_window_is_dropped_not_duplicated() {
        // window 4: 20 arrives, 21 missing, 22..26 push 21 out as lost; then 21 arrives late.
        let (tags, st) = run(&[20, 22, 23, 24, 25, 26, 21]);
        assert_eq!(tags, vec![21, 0, 23, 24, 25, 26, 27]);
        assert_eq!((st.lost, st.late, st.duplicates), (1, 1, 0));
    }

    #[test]
    fn restart_resyncs() {
        let (tags, st) = run(&[1000, 1001, 5, 6]);
        assert_eq!(tags, vec![1, 2, 6, 7]);
        assert_eq!((st.resyncs, st.lost), (1, 0));
    }

    #[test]
    fn stray_packets_with_random_numbers_change_nothing() {
        // A stream 100..140 with packets of random numbers sprinkled in (one at the very
        // start): the output is the stream, in order, with no silence and no resync.
        let mut seqs: Vec<u16> = Vec::new();
        let strays = [40_000u16, 102 + 60, 7, 65_000, 100 + 90, 30_000];
        seqs.push(strays[0]);
        for (i, s) in (100u16..140).enumerate() {
            seqs.push(s);
            if i % 7 == 3 {
                seqs.push(strays[1 + (i / 7) % 5]);
            }
        }
        let (tags, st) = run_with(&seqs, 4);
        let want: Vec<i16> = (100..140).map(|s| s + 1).collect();
        assert_eq!(tags, want);
        assert_eq!((st.lost, st.resyncs, st.first_seq), (0, 0, Some(100)));
        assert_eq!(st.suspect, 7, "{st:?}");
    }

    #[test]
    fn a_real_jump_is_taken_once_confirmed_even_among_strays() {
        // Loss of 10 packets (more than the window), with strays between the packets after
        // the gap: the gap becomes silence once 4 packets in sequence confirm it.
        let seqs = [9, 10, 11, 12, 23, 9000, 24, 50_000, 25, 26, 27];
        let (tags, st) = run_with(&seqs, 4);
        let mut want: Vec<i16> = vec![10, 11, 12, 13];
        want.extend(std::iter::repeat_n(0, 10));
        want.extend([24, 25, 26, 27, 28]);
        assert_eq!(tags, want);
        assert_eq!((st.lost, st.resyncs, st.suspect), (10, 0, 2));
        // A restart (a jump beyond max_gap) is taken the same way, without silence.
        let (tags, st) = run_with(&[998, 999, 1000, 1001, 5, 6, 7, 8], 4);
        assert_eq!(tags, vec![999, 1000, 1, 2, 6, 7, 8, 9]);
        assert_eq!((st.resyncs, st.lost), (1, 0));
    }

    #[test]
    fn the_rate_is_robust_to_delays_at_the_ends_and_to_wild_points() {
        // 8 s of a stream 150 ppm fast, packets with up to 20 ms of random delay, the last
        // packet 300 ms late (a stalled receiver) and a few wild points.
        let nominal = SystemMode::Pal.sample_rate();
        let true_rate = nominal * (1.0 + 150e-6);
        let mut m = RateMeter::new(nominal);
        let mut naive = (None, (0.0, 0));
        let mut x: u64 = 12345;
        let packets = (8.0 * true_rate / 192.0) as u64;
        for k in 0..packets {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (x >> 40) as f64 / (1u64 << 24) as f64 * 0.020;
            let frame = (k + 1) * 192;
            let mut t = frame as f64 / true_rate + jitter;
            if k == packets - 1 {
                t += 0.3;
            }
            if k % 997 == 500 {
                t += 1.5;
            }
            m.observe(t, frame);
            naive.0.get_or_insert((t, frame));
            naive.1 = (t, frame);
        }
        let ppm = |r: f64| (r / nominal - 1.0) * 1e6;
        let got = ppm(m.rate().unwrap());
        assert!((got - 150.0).abs() < 50.0, "{got} ppm");
        let (a, b) = (naive.0.unwrap(), naive.1);
        let first_last = ppm((b.1 - a.1) as f64 / (b.0 - a.0));
        assert!(
            (first_last - 150.0).abs() > 1000.0,
            "the old way: {first_last} ppm"
        );
    }

    #[test]
    fn wrong_sizes_ignored() {
        assert!(parse_packet(&[0, 0]).is_none());
        assert!(parse_packet(&[0; 771]).is_none());
        let p = build_packet(0xBEEF, &[7; SAMPLES_PER_PACKET]);
        let (seq, pl) = parse_packet(&p).unwrap();
        assert_eq!(seq, 0xBEEF);
        assert_eq!(pl.len(), 768);
    }
}

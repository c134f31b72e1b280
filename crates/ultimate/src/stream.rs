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
            self.measured_rate_hz = frames_spanned as f64 / seconds;
            if self.nominal_rate_hz > 0.0 {
                self.rate_error_ppm = (self.measured_rate_hz / self.nominal_rate_hz - 1.0) * 1e6;
            }
        }
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
}

impl Default for ReorderOptions {
    fn default() -> Self {
        ReorderOptions {
            window: 32,
            max_gap: 1250,
        }
    }
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
    pub stats: CaptureStats,
}

impl Reassembler {
    pub fn new(opts: ReorderOptions) -> Reassembler {
        let window = opts.window.clamp(1, 4096) as usize;
        Reassembler {
            opts: ReorderOptions {
                window: window as u16,
                max_gap: opts.max_gap.max(window as u16),
            },
            next: None,
            highest: None,
            pending: (0..window).map(|_| None).collect(),
            held: 0,
            history: vec![Slot::Unknown; 65536],
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
        let next = match self.next {
            Some(n) => n,
            None => {
                self.stats.first_seq = Some(seq);
                self.next = Some(seq);
                self.highest = Some(seq);
                seq
            }
        };
        let ahead = seq.wrapping_sub(next);
        let restart = if ahead >= 0x8000 {
            next.wrapping_sub(seq) > self.opts.max_gap
        } else {
            ahead > self.opts.max_gap
        };
        if ahead >= 0x8000 && !restart {
            // Behind the output position: already emitted, or already given up as lost.
            match self.history[seq as usize] {
                Slot::FilledLost => self.stats.late += 1,
                _ => self.stats.duplicates += 1,
            }
            return;
        }
        if restart {
            // Not loss: the stream restarted (or the device rebooted). Flush what we hold and
            // continue from here.
            self.flush(sink);
            self.stats.resyncs += 1;
            self.next = Some(seq);
            self.highest = Some(seq);
            self.accept(seq, payload, sink);
            return;
        }
        let window = self.opts.window;
        if ahead >= window {
            // Make room: everything before seq - window + 1 is emitted or declared lost.
            let advance = ahead - window + 1;
            for _ in 0..advance {
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
        let mut r = Reassembler::new(ReorderOptions {
            window: 4,
            max_gap: 100,
        });
        let mut out: Vec<i16> = Vec::new();
        for &s in seqs {
            r.push(s, &payload((s % 1000) as i16 + 1), &mut out);
        }
        r.flush(&mut out);
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
    fn wrong_sizes_ignored() {
        assert!(parse_packet(&[0, 0]).is_none());
        assert!(parse_packet(&[0; 771]).is_none());
        let p = build_packet(0xBEEF, &[7; SAMPLES_PER_PACKET]);
        let (seq, pl) = parse_packet(&p).unwrap();
        assert_eq!(seq, 0xBEEF);
        assert_eq!(pl.len(), 768);
    }
}

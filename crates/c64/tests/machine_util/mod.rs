//! Helpers for the machine tests: build PSID/RSID files in memory and assemble a few
//! 6502 instructions.
#![allow(dead_code)]

use c64::{Player, PlayerConfig, RecordingSid, SidWrite};
use sidfile::SidTune;

/// A PSID/RSID header + data under construction.
#[derive(Clone)]
pub struct TuneFile {
    pub rsid: bool,
    pub version: u16,
    pub load: u16,
    pub init: u16,
    pub play: u16,
    pub songs: u16,
    pub start_song: u16,
    pub speed: u32,
    pub flags: u16,
    pub start_page: u8,
    pub page_length: u8,
    pub sid2: u8,
    pub sid3: u8,
    pub data: Vec<u8>,
}

impl TuneFile {
    /// A PSID v2 whose image is `data` at `load`.
    pub fn psid(load: u16, data: Vec<u8>) -> TuneFile {
        TuneFile {
            rsid: false,
            version: 2,
            load,
            init: load,
            play: 0,
            songs: 1,
            start_song: 1,
            speed: 0,
            flags: 0x14, // PAL, 6581
            start_page: 0,
            page_length: 0,
            sid2: 0,
            sid3: 0,
            data,
        }
    }

    /// An RSID v2 (load address embedded in the data, play/speed 0).
    pub fn rsid(load: u16, data: Vec<u8>) -> TuneFile {
        TuneFile {
            rsid: true,
            ..TuneFile::psid(load, data)
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut h = vec![0u8; 0x7C];
        h[0..4].copy_from_slice(if self.rsid { b"RSID" } else { b"PSID" });
        h[4..6].copy_from_slice(&self.version.to_be_bytes());
        h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
        let header_load = if self.rsid { 0 } else { self.load };
        h[8..10].copy_from_slice(&header_load.to_be_bytes());
        h[0x0A..0x0C].copy_from_slice(&self.init.to_be_bytes());
        h[0x0C..0x0E].copy_from_slice(&self.play.to_be_bytes());
        h[0x0E..0x10].copy_from_slice(&self.songs.to_be_bytes());
        h[0x10..0x12].copy_from_slice(&self.start_song.to_be_bytes());
        h[0x12..0x16].copy_from_slice(&self.speed.to_be_bytes());
        h[0x16..0x16 + 9].copy_from_slice(b"test tune");
        h[0x76..0x78].copy_from_slice(&self.flags.to_be_bytes());
        h[0x78] = self.start_page;
        h[0x79] = self.page_length;
        h[0x7A] = self.sid2;
        h[0x7B] = self.sid3;
        if self.rsid {
            h.extend_from_slice(&self.load.to_le_bytes());
        }
        h.extend_from_slice(&self.data);
        h
    }

    pub fn tune(&self) -> SidTune {
        SidTune::parse(&self.bytes()).expect("test tune parses")
    }
}

/// Runs `song` of `tune` for `cycles` and returns the SID writes.
pub fn run(tune: &SidTune, song: u16, cfg: PlayerConfig, cycles: u64) -> Vec<SidWrite> {
    let mut p = Player::new(tune, song, cfg).expect("player");
    let mut sid = RecordingSid::new();
    p.run_until(cycles, &mut sid).expect("runs");
    sid.writes
}

/// Cycles of the writes to `(chip, reg)`.
pub fn cycles_of(w: &[SidWrite], chip: usize, reg: u8) -> Vec<u64> {
    w.iter()
        .filter(|w| w.chip == chip && w.reg == reg)
        .map(|w| w.cycle)
        .collect()
}

pub fn diffs(c: &[u64]) -> Vec<u64> {
    c.windows(2).map(|w| w[1] - w[0]).collect()
}

/// A minimal assembler for test code (absolute addresses only, branches by offset).
pub struct Code {
    pub org: u16,
    pub b: Vec<u8>,
}

impl Code {
    pub fn new(org: u16) -> Code {
        Code { org, b: vec![] }
    }
    pub fn here(&self) -> u16 {
        self.org + self.b.len() as u16
    }
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.b.extend_from_slice(bytes);
        self
    }
    fn o16(&mut self, op: u8, a: u16) -> &mut Self {
        let [l, h] = a.to_le_bytes();
        self.raw(&[op, l, h])
    }
    pub fn lda(&mut self, v: u8) -> &mut Self {
        self.raw(&[0xA9, v])
    }
    pub fn ldx(&mut self, v: u8) -> &mut Self {
        self.raw(&[0xA2, v])
    }
    pub fn lda_abs(&mut self, a: u16) -> &mut Self {
        self.o16(0xAD, a)
    }
    pub fn sta(&mut self, a: u16) -> &mut Self {
        self.o16(0x8D, a)
    }
    pub fn stx(&mut self, a: u16) -> &mut Self {
        self.o16(0x8E, a)
    }
    pub fn inc(&mut self, a: u16) -> &mut Self {
        self.o16(0xEE, a)
    }
    pub fn jmp(&mut self, a: u16) -> &mut Self {
        self.o16(0x4C, a)
    }
    pub fn jsr(&mut self, a: u16) -> &mut Self {
        self.o16(0x20, a)
    }
    pub fn jmp_self(&mut self) -> &mut Self {
        let h = self.here();
        self.jmp(h)
    }
    pub fn sei(&mut self) -> &mut Self {
        self.raw(&[0x78])
    }
    pub fn cli(&mut self) -> &mut Self {
        self.raw(&[0x58])
    }
    pub fn rts(&mut self) -> &mut Self {
        self.raw(&[0x60])
    }
    pub fn rti(&mut self) -> &mut Self {
        self.raw(&[0x40])
    }
    pub fn pha(&mut self) -> &mut Self {
        self.raw(&[0x48])
    }
    pub fn pla(&mut self) -> &mut Self {
        self.raw(&[0x68])
    }
    pub fn php(&mut self) -> &mut Self {
        self.raw(&[0x08])
    }
    /// Writes the 16-bit `vector` value into `at`/`at+1`.
    pub fn set_vector(&mut self, at: u16, vector: u16) -> &mut Self {
        let [l, h] = vector.to_le_bytes();
        self.lda(l).sta(at).lda(h).sta(at + 1)
    }
    /// Pads with zeros up to `addr`.
    pub fn org(&mut self, addr: u16) -> &mut Self {
        assert!(addr >= self.here());
        let n = usize::from(addr - self.here());
        self.b.extend(std::iter::repeat_n(0, n));
        self
    }
}

/// Every interval within `tol` cycles of `period`, and the whole span within `tol` of
/// `period` x intervals (the rate is exact on average).
pub fn assert_period(c: &[u64], period: u64, tol: u64) {
    assert!(c.len() >= 3, "only {} events", c.len());
    let d = diffs(c);
    assert!(
        d.iter().all(|&x| x.abs_diff(period) <= tol),
        "period {period} +-{tol}: {d:?}"
    );
    let span = c[c.len() - 1] - c[0];
    let n = (c.len() - 1) as u64;
    assert!(
        span.abs_diff(n * period) <= tol,
        "span {span} vs {n} x {period}"
    );
}

/// Largest bad-line delay of an interrupt: 40 DMA cycles + 3 BA cycles + 2 of the
/// interrupted instruction.
pub const BAD_LINE_TOL: u64 = 45;

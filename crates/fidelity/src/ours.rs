//! Our engine, seen the way the comparisons need it: rendered PCM, and the SID write log
//! with the CPU state at each write.

use c64::cpu::Cpu;
use c64::{Player, PlayerConfig, SidDevice, SidWrite};
use render::{RenderOptions, Renderer};
use sidfile::SidTune;
use std::time::Duration;

/// Renders `seconds` of a tune as `sidflowd render --seconds N --rate R` does (start song
/// unless given, the tune's chip and clock).
pub fn render(
    tune: &SidTune,
    song: Option<u16>,
    seconds: f64,
    rate: u32,
) -> Result<(Vec<i16>, usize), render::RenderError> {
    let opts = RenderOptions {
        song,
        sample_rate: rate,
        length: Some(Duration::from_secs_f64(seconds)),
        ..RenderOptions::default()
    };
    let mut r = Renderer::new(tune, &opts)?;
    let ch = r.channels();
    let mut pcm = vec![0i16; r.total_frames() as usize * ch];
    let mut at = 0;
    while at < pcm.len() {
        let n = r.render(&mut pcm[at..])?;
        if n == 0 {
            break;
        }
        at += n * ch;
    }
    pcm.truncate(at);
    Ok((pcm, ch))
}

/// The CPU registers when an instruction started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuState {
    /// The cycle the instruction started in.
    pub cycle: u64,
    pub pc: u16,
    pub a: u8,
    pub x: u8,
    pub y: u8,
    pub s: u8,
    pub p: u8,
}

impl CpuState {
    fn of(cpu: &Cpu, cycle: u64) -> CpuState {
        CpuState {
            cycle,
            pc: cpu.pc,
            a: cpu.a,
            x: cpu.x,
            y: cpu.y,
            s: cpu.s,
            p: cpu.p,
        }
    }
}

/// One of our SID writes with the instruction that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedWrite {
    pub write: SidWrite,
    /// The state before the writing instruction.
    pub cpu: CpuState,
    /// The writing instruction's bytes as they were when it ran.
    pub code: [u8; 3],
}

/// A SID device that keeps resid-rs chips clocked to every access (so OSC3/ENV3 reads see
/// what the render sees) and records the writes.
struct LoggingSid {
    chips: Vec<resid::Sid>,
    at: Vec<u64>,
    writes: Vec<SidWrite>,
}

impl LoggingSid {
    fn new(tune: &SidTune) -> LoggingSid {
        let n = tune.chips.len().max(1);
        let model = match tune.model() {
            sidfile::SidModel::Mos8580 => resid::ChipModel::Mos8580,
            _ => resid::ChipModel::Mos6581,
        };
        LoggingSid {
            chips: (0..n).map(|_| resid::Sid::new(model)).collect(),
            at: vec![0; n],
            writes: Vec::new(),
        }
    }

    fn catch_up(&mut self, chip: usize, cycle: u64) {
        let Some(s) = self.chips.get_mut(chip) else {
            return;
        };
        let mut left = cycle.saturating_sub(self.at[chip]);
        while left > 0 {
            let d = left.min(u64::from(u32::MAX));
            s.clock_delta(d as u32);
            left -= d;
        }
        self.at[chip] = self.at[chip].max(cycle);
    }
}

impl SidDevice for LoggingSid {
    fn write(&mut self, cycle: u64, chip: usize, reg: u8, value: u8) {
        self.catch_up(chip, cycle);
        if let Some(s) = self.chips.get_mut(chip) {
            s.write(reg, value);
        }
        self.writes.push(SidWrite {
            cycle,
            chip,
            reg,
            value,
        });
    }
    fn read(&mut self, cycle: u64, chip: usize, reg: u8) -> u8 {
        self.catch_up(chip, cycle);
        self.chips.get_mut(chip).map_or(0, |s| s.read(reg))
    }
}

/// Runs our machine for `cycles` and returns every SID write with the CPU state of the
/// instruction that made it, plus the error that stopped the machine, if any.
pub fn traced_writes(
    tune: &SidTune,
    song: u16,
    cfg: PlayerConfig,
    cycles: u64,
) -> Result<(Vec<TracedWrite>, Option<c64::C64Error>), c64::C64Error> {
    let mut player = Player::new(tune, song, cfg)?;
    let mut sid = LoggingSid::new(tune);
    let mut out = Vec::new();
    let mut stopped = None;
    while player.cycle() < cycles {
        let before = CpuState::of(player.cpu(), player.cycle());
        let m = player.machine();
        let code = [0u16, 1, 2].map(|i| m.peek(before.pc.wrapping_add(i)));
        let seen = sid.writes.len();
        if let Err(e) = player.run_until(player.cycle() + 1, &mut sid) {
            stopped = Some(e);
            break;
        }
        for w in &sid.writes[seen..] {
            out.push(TracedWrite {
                write: *w,
                cpu: before,
                code,
            });
        }
    }
    Ok((out, stopped))
}

/// Our plain write log (no CPU states; fast).
pub fn writes(
    tune: &SidTune,
    song: u16,
    cfg: PlayerConfig,
    cycles: u64,
) -> Result<(Vec<SidWrite>, Option<c64::C64Error>), c64::C64Error> {
    let mut player = Player::new(tune, song, cfg)?;
    let mut sid = LoggingSid::new(tune);
    let r = player.run_until(cycles, &mut sid).err();
    Ok((sid.writes, r))
}

/// Runs our machine and returns one line per instruction executed in `from..to` (cycle,
/// disassembly, registers before it), at most `max` lines, plus what stopped the machine.
pub fn trace(
    tune: &SidTune,
    song: u16,
    cfg: PlayerConfig,
    from: u64,
    to: u64,
    max: usize,
) -> Result<(Vec<String>, Option<c64::C64Error>), c64::C64Error> {
    let mut player = Player::new(tune, song, cfg)?;
    let mut sid = LoggingSid::new(tune);
    if from > 0 {
        if let Err(e) = player.run_until(from, &mut sid) {
            return Ok((Vec::new(), Some(e)));
        }
    }
    let mut lines = Vec::new();
    while player.cycle() < to && lines.len() < max {
        let c = CpuState::of(player.cpu(), player.cycle());
        let m = player.machine();
        let d = c64::cpu::disassemble(c.pc, |a| m.peek(a));
        let (line, raster) = (m.vic().line(), m.vic().line_cycle());
        lines.push(format!(
            "{:>9} {:<28} A={:02X} X={:02X} Y={:02X} S={:02X} P={:02X} raster {line}:{raster} \
             cia1 {:04X}/{:02X} cia2 {:04X}/{:02X} nmi {} pend {}",
            c.cycle,
            d.to_string(),
            c.a,
            c.x,
            c.y,
            c.s,
            c.p,
            m.cia1().timer_a(),
            m.cia1().peek_icr(),
            m.cia2().timer_a(),
            m.cia2().peek_icr(),
            u8::from(m.nmi_line()),
            u8::from(player.cpu().interrupt_pending())
        ));
        if let Err(e) = player.run_until(player.cycle() + 1, &mut sid) {
            return Ok((lines, Some(e)));
        }
    }
    Ok((lines, None))
}

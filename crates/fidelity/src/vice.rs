//! The VICE emulator's test programs (`shared/testdata/vice-testprogs`, see its README
//! section 5) on our machine: a harness, not the product.
//!
//! Each program is a C64 `.prg` started like a BASIC program (`RUN`, whose first line is a
//! `SYS`); it reports by writing to the "debug cartridge" register `$D7FF`: `$00` passed,
//! anything else failed, within the cycle budget `c64-testlist.in` gives it. Only the
//! `exitcode` entries of the five folders held in the shared material run here (CIA,
//! interrupts, VIC-II, SID, CPU).
//!
//! The machine: our [`Machine`] after [`Machine::kernal_reset`] (KERNAL vectors, CIA 1
//! timer A interrupting at 60 Hz, as after the KERNAL's start-up), bad lines on, the
//! program loaded at its address with BASIC's pointers `$2B-$2E` set, the CPU at the
//! `SYS` address with S = `$F6` and interrupts enabled, as BASIC leaves them. The machine
//! options of the list select CIA model (`cia-old`/`cia-new`), video standard
//! (`vicii-pal`/`vicii-ntsc`) and SID model (`sid-old` = 6581, `sid-new` = 8580, emulated
//! by resid-rs, whose reads the SID tests check).
//!
//! Not runnable: programs that need a disk or cartridge image (`mountd64`, `mountcrt`),
//! the old NTSC VIC-II (`vicii-ntscold`, 64 cycles per line), programs whose BASIC part does
//! more than `SYS` (they need the BASIC interpreter). A program that fails after running
//! code in the BASIC ROM or in KERNAL routines our stub does not have is counted as
//! needing the real ROMs (it may pass once ROM images are supplied).

use c64::cpu::{Cpu, Step};
use c64::{CiaModel, Machine, SidDevice, VideoStandard};
use std::path::{Path, PathBuf};

/// The five folders of test programs the shared material holds.
pub const FOLDERS: &[&str] = &["CIA", "interrupts", "VICII", "SID", "CPU"];

/// One entry of `c64-testlist.in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    /// Folder below `vice-testprogs`, e.g. `CIA/ciavarious`.
    pub dir: String,
    /// The program file (empty for cartridge tests).
    pub prg: String,
    /// Cycle budget.
    pub budget: u64,
    pub options: Vec<String>,
}

impl Test {
    /// The top folder (`CIA`, `SID`, ...).
    pub fn folder(&self) -> &str {
        self.dir.split('/').next().unwrap_or("")
    }

    /// `dir/prg` plus the options: a unique name.
    pub fn name(&self) -> String {
        let mut n = format!("{}/{}", self.dir, self.prg);
        for o in &self.options {
            if !o.starts_with("comment") {
                n.push(',');
                n.push_str(o);
            }
        }
        n
    }

    fn has(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }
}

/// The exit-code tests of [`FOLDERS`] in `root/c64-testlist.in`.
pub fn list(root: &Path) -> std::io::Result<Vec<Test>> {
    let text = std::fs::read_to_string(root.join("c64-testlist.in"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() < 4 || cols[2] != "exitcode" {
            continue;
        }
        let dir = cols[0]
            .trim_start_matches("../")
            .trim_end_matches('/')
            .to_string();
        if !FOLDERS.iter().any(|f| dir.split('/').next() == Some(f)) {
            continue;
        }
        let Ok(budget) = cols[3].parse() else {
            continue;
        };
        out.push(Test {
            dir,
            prg: cols[1].to_string(),
            budget,
            options: cols[4..].iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(out)
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// It reported this non-zero code.
    Fail(u8),
    /// No report within the budget (a pass for `expect:timeout` programs).
    Timeout,
    /// It returned to BASIC (or jumped to the BASIC warm start) without reporting.
    Returned,
    /// It cannot start on our machine; why.
    NotRunnable(String),
}

/// One program's result.
#[derive(Debug, Clone)]
pub struct Run {
    pub test: Test,
    pub outcome: Outcome,
    pub cycles: u64,
    /// The first ROM code it ran that our stub does not have (BASIC ROM, KERNAL routines).
    pub rom: Option<String>,
    /// The text screen (`$0400`, 40 x 25 screen codes as ASCII) at the end: most programs
    /// print what they checked there.
    pub screen: String,
}

impl Run {
    /// Passed, the way the list expects.
    pub fn passed(&self) -> bool {
        if self.test.has("expect:timeout") {
            matches!(self.outcome, Outcome::Timeout)
        } else {
            self.outcome == Outcome::Pass
        }
    }

    pub fn runnable(&self) -> bool {
        !matches!(self.outcome, Outcome::NotRunnable(_))
    }

    /// Failed after running ROM code we do not have.
    pub fn needs_rom(&self) -> bool {
        self.runnable() && !self.passed() && self.rom.is_some()
    }
}

/// The `SYS` address of a program whose BASIC part is `[REM lines] SYS n` (n a number or
/// `PEEK(43)+256*PEEK(44)+n`, the start of BASIC plus n).
pub fn sys_address(prg: &[u8]) -> Option<u16> {
    let load = u16::from_le_bytes([*prg.first()?, *prg.get(1)?]);
    let mem = &prg[2..];
    let mut at = 0usize; // offset of the current line in `mem`
    loop {
        let next = u16::from_le_bytes([*mem.get(at)?, *mem.get(at + 1)?]);
        if next == 0 {
            return None;
        }
        let body = mem.get(at + 4..)?;
        let end = body.iter().position(|&b| b == 0)?;
        let body = &body[..end];
        match body.first() {
            Some(0x8F) => {} // REM: next line
            Some(0x9E) => return parse_sys(&body[1..], load),
            _ => return None,
        }
        at = usize::from(next.checked_sub(load)?);
    }
}

fn parse_sys(expr: &[u8], load: u16) -> Option<u16> {
    let s: Vec<u8> = expr
        .iter()
        .copied()
        .filter(|&b| b != b' ' && b != b'(' && b != b')')
        .collect();
    let num = |t: &[u8]| -> Option<u32> {
        let d: Vec<u8> = t.iter().copied().take_while(u8::is_ascii_digit).collect();
        if d.is_empty() || d.len() != t.len() {
            return None;
        }
        std::str::from_utf8(&d).ok()?.parse().ok()
    };
    if let Some(n) = num(&s) {
        return u16::try_from(n).ok();
    }
    // PEEK(43)+256*PEEK(44)+n: tokens PEEK $C2, + $AA, * $AC
    let prefix = [
        0xC2, b'4', b'3', 0xAA, b'2', b'5', b'6', 0xAC, 0xC2, b'4', b'4',
    ];
    let rest = s.strip_prefix(&prefix[..])?;
    let add = match rest {
        [] => 0,
        [0xAA, tail @ ..] => num(tail)?,
        _ => return None,
    };
    load.checked_add(u16::try_from(add).ok()?)
}

/// A SID device backed by resid-rs chips (reads see the chip's real OSC3/ENV3).
struct ChipSid {
    chip: resid::Sid,
    at: u64,
}

impl ChipSid {
    fn catch_up(&mut self, cycle: u64) {
        let mut left = cycle.saturating_sub(self.at);
        while left > 0 {
            let d = left.min(u64::from(u32::MAX));
            self.chip.clock_delta(d as u32);
            left -= d;
        }
        self.at = self.at.max(cycle);
    }
}

impl SidDevice for ChipSid {
    fn write(&mut self, cycle: u64, _chip: usize, reg: u8, value: u8) {
        self.catch_up(cycle);
        self.chip.write(reg, value);
    }
    fn read(&mut self, cycle: u64, _chip: usize, reg: u8) -> u8 {
        self.catch_up(cycle);
        self.chip.read(reg)
    }
}

/// Where BASIC would continue after a `SYS` returns (its warm start): a program reaching
/// it has finished without reporting.
const BASIC_WARM: u16 = 0xA7AE;

/// Is `pc` (KERNAL mapped) code our stub provides?
fn stub_code(pc: u16) -> bool {
    matches!(pc,
        0xEA31..=0xEA86 // IRQ handler, acknowledge, return
        | 0xFE43..=0xFE55 // NMI entry and default handler
        | 0xFEBC..=0xFEC1 // NMI return
        | 0xFF48..=0xFF5A // IRQ/BRK entry
        | 0xFE66..=0xFE68 // BRK trap
        | 0xFCE2..=0xFCE5 // reset
        | 0xFD15..=0xFD50 // RESTOR
        | 0xFDA3..=0xFE00 // IOINIT
        | 0xFF81..=0xFFF5 // jump table (RTS)
    )
}

/// Runs one program from the folder `root`.
pub fn run(root: &Path, t: &Test) -> Run {
    let mut r = Run {
        test: t.clone(),
        outcome: Outcome::NotRunnable(String::new()),
        cycles: 0,
        rom: None,
        screen: String::new(),
    };
    let not = |r: &mut Run, why: &str| {
        r.outcome = Outcome::NotRunnable(why.to_string());
    };
    if t.prg.is_empty() || t.options.iter().any(|o| o.starts_with("mountcrt")) {
        not(&mut r, "needs a cartridge image");
        return r;
    }
    if t.options.iter().any(|o| o.starts_with("mountd64")) {
        not(&mut r, "needs a disk image");
        return r;
    }
    if t.has("vicii-ntscold") {
        not(&mut r, "old NTSC VIC-II (64 cycles per line) not modelled");
        return r;
    }
    let path: PathBuf = root.join(&t.dir).join(&t.prg);
    let prg = match std::fs::read(&path) {
        Ok(p) if p.len() > 2 => p,
        _ => {
            not(&mut r, "program file missing");
            return r;
        }
    };
    let Some(sys) = sys_address(&prg) else {
        not(&mut r, "a BASIC program (needs the BASIC interpreter)");
        return r;
    };
    let video = if t.has("vicii-ntsc") {
        VideoStandard::Ntsc
    } else {
        VideoStandard::Pal
    };
    let cia = if t.has("cia-new") {
        CiaModel::Mos6526A
    } else {
        CiaModel::Mos6526
    };
    let model = if t.has("sid-new") {
        resid::ChipModel::Mos8580
    } else {
        resid::ChipModel::Mos6581
    };
    let mut m = Machine::new(video, cia, &[0xD400]);
    m.kernal_reset();
    m.set_bad_lines(true);
    m.set_debug_port(Some(0xD7FF));
    let load = u16::from_le_bytes([prg[0], prg[1]]);
    m.load(load, &prg[2..]);
    let end = (u32::from(load) + (prg.len() as u32 - 2)).min(0xFFFF) as u16;
    {
        let ram = m.ram_mut();
        ram[0x2B..0x2D].copy_from_slice(&load.to_le_bytes());
        ram[0x2D..0x2F].copy_from_slice(&end.to_le_bytes());
        ram[0x2F..0x31].copy_from_slice(&end.to_le_bytes());
        ram[0x31..0x33].copy_from_slice(&end.to_le_bytes());
        // SYS's return: RTS lands on BASIC's warm start
        let ret = (BASIC_WARM - 1).to_le_bytes();
        ram[0x1F7] = ret[0];
        ram[0x1F8] = ret[1];
    }
    let mut sid = ChipSid {
        chip: resid::Sid::new(model),
        at: 0,
    };
    let mut cpu = Cpu::new();
    cpu.pc = sys;
    cpu.s = 0xF6;
    cpu.p = 0x20;
    let mut bus = m.bus(&mut sid);
    let outcome = loop {
        if let Some(v) = bus.machine.debug_value() {
            break if v == 0 {
                Outcome::Pass
            } else {
                Outcome::Fail(v)
            };
        }
        if bus.machine.cycle() >= t.budget {
            break Outcome::Timeout;
        }
        let pc = cpu.pc;
        let banks = bus.machine.bank_config();
        if (0xA000..=0xBFFF).contains(&pc) && banks & 3 == 3 {
            if pc == BASIC_WARM {
                break Outcome::Returned;
            }
            r.rom.get_or_insert_with(|| format!("BASIC ROM ${pc:04X}"));
        } else if pc >= 0xE000 && banks & 2 != 0 && !stub_code(pc) {
            r.rom.get_or_insert_with(|| format!("KERNAL ${pc:04X}"));
        }
        if let Step::Jammed { .. } = cpu.step(&mut bus) {
            // a jammed CPU never reports: run out the budget
            break Outcome::Timeout;
        }
    };
    r.cycles = bus.machine.cycle();
    r.outcome = outcome;
    let bank = 3 - usize::from(bus.machine.cia2().port_a() & 3);
    let screen = bank * 0x4000 + usize::from(bus.machine.vic().reg(0x18) >> 4) * 0x400;
    let ram = bus.machine.ram();
    for row in 0..25 {
        let at = screen + row * 40;
        let line: String = ram[at..at + 40]
            .iter()
            .map(|&c| match c & 0x7F {
                0 => '@',
                c @ 1..=26 => char::from(b'A' + c - 1),
                c @ 0x20..=0x3F => char::from(c),
                _ => '.',
            })
            .collect();
        r.screen.push_str(line.trim_end());
        r.screen.push('\n');
    }
    r
}

/// Runs every test on `jobs` threads (results in list order).
pub fn run_all(root: &Path, tests: &[Test], jobs: usize) -> Vec<Run> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Run>>> = Mutex::new(vec![None; tests.len()]);
    std::thread::scope(|sc| {
        for _ in 0..jobs.max(1) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = tests.get(i) else { break };
                let res = run(root, t);
                out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(res);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Per folder: passed / run / not runnable, and how many of the failures need the ROMs.
pub fn summary(runs: &[Run]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| folder | listed | passed | run | not runnable | failed after using ROM code we lack |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    let mut tot = [0usize; 5];
    for f in FOLDERS {
        let rs: Vec<&Run> = runs.iter().filter(|r| r.test.folder() == *f).collect();
        let row = [
            rs.len(),
            rs.iter().filter(|r| r.passed()).count(),
            rs.iter().filter(|r| r.runnable()).count(),
            rs.iter().filter(|r| !r.runnable()).count(),
            rs.iter().filter(|r| r.needs_rom()).count(),
        ];
        for (t, v) in tot.iter_mut().zip(row) {
            *t += v;
        }
        let _ = writeln!(
            s,
            "| {f} | {} | {} | {} | {} | {} |",
            row[0], row[1], row[2], row[3], row[4]
        );
    }
    let _ = writeln!(
        s,
        "| all | {} | {} | {} | {} | {} |",
        tot[0], tot[1], tot[2], tot[3], tot[4]
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(lines: &[&[u8]]) -> Vec<u8> {
        let mut prg = vec![0x01, 0x08];
        let mut addr = 0x0801u16;
        for (i, l) in lines.iter().enumerate() {
            let next = addr + 4 + l.len() as u16 + 1;
            prg.extend_from_slice(&next.to_le_bytes());
            prg.extend_from_slice(&(10 * (i as u16 + 1)).to_le_bytes());
            prg.extend_from_slice(l);
            prg.push(0);
            addr = next;
        }
        prg.extend_from_slice(&[0, 0]);
        prg
    }

    #[test]
    fn finds_the_sys_address() {
        assert_eq!(sys_address(&basic(&[b"\x9e2061"])), Some(2061));
        assert_eq!(sys_address(&basic(&[b"\x9e 2064"])), Some(2064));
        assert_eq!(sys_address(&basic(&[b"\x9e(2064)"])), Some(2064));
        assert_eq!(
            sys_address(&basic(&[b"\x8f hello", b"\x9e49152"])),
            Some(49152)
        );
        let peek = b"\x9e\xc2(43)\xaa256\xac\xc2(44)\xaa26";
        assert_eq!(sys_address(&basic(&[peek])), Some(0x0801 + 26));
        // a real BASIC program
        assert_eq!(sys_address(&basic(&[b"\x99\"HI\"", b"\x9e2061"])), None);
        assert_eq!(sys_address(&[0x01]), None);
    }

    #[test]
    fn parses_the_list_format() {
        let dir = std::env::temp_dir().join(format!("sidflow-vice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("c64-testlist.in"),
            "# c\n../CIA/ciavarious/,cia1.prg,exitcode,10000000,cia-old\n\
             ../CIA/x/,y.prg,screenshot,10\n../general/z/,z.prg,exitcode,5\n\
             ../CPU/cpujam/,cpujam02.prg,exitcode,5500000,expect:timeout\n",
        )
        .unwrap();
        let l = list(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].dir, "CIA/ciavarious");
        assert_eq!(l[0].folder(), "CIA");
        assert_eq!(l[0].budget, 10_000_000);
        assert_eq!(l[0].name(), "CIA/ciavarious/cia1.prg,cia-old");
        assert!(l[1].has("expect:timeout"));
    }
}

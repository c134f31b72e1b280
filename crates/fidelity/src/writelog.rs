//! Comparing two SID register-write logs: ours (with the CPU state of each write) against
//! the reference C64's.
//!
//! The logs are compared as sequences: write `i` of one against write `i` of the other.
//! * **Values**: the first index where chip, register or value differ is the first
//!   divergent write: from there on the two machines did not make the same music.
//! * **Timing**: the stamps have different origins (ours: the driver's first cycle; the
//!   reference: its machine reset), so what is compared is the offset `ours - reference`
//!   of each matched write. It is constant while both machines run in lock step; every
//!   change starts a new "timing segment". A driver that takes a few cycles more makes one
//!   step between init and the first play call; a wrong timer period makes a drift.

use crate::ours::TracedWrite;
use c64::SidWrite;
use std::fmt::Write as _;

/// A stretch of matched writes with the same timing offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Index of the first write of the segment.
    pub start: usize,
    /// Number of writes.
    pub len: usize,
    /// `ours.cycle - reference.cycle` over the segment.
    pub offset: i64,
}

/// The result of [`compare`].
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Writes in each log.
    pub ours_len: usize,
    pub ref_len: usize,
    /// Leading writes with equal chip, register and value.
    pub matched: usize,
    /// The first index where they differ (`None`: one log is a prefix of the other).
    pub first_mismatch: Option<usize>,
    /// Timing segments over the matched writes.
    pub segments: Vec<Segment>,
}

impl Comparison {
    /// True when the logs agree in values over the shorter one.
    pub fn values_agree(&self) -> bool {
        self.first_mismatch.is_none()
    }

    /// Timing offset changes after the first play-rate segment: segments after the second
    /// (the first is usually init, the second the play calls).
    pub fn timing_changes(&self) -> usize {
        self.segments.len().saturating_sub(1)
    }
}

/// Compares the logs (see the module docs).
pub fn compare(ours: &[SidWrite], reference: &[SidWrite]) -> Comparison {
    let n = ours.len().min(reference.len());
    let mut matched = n;
    let mut first_mismatch = None;
    for i in 0..n {
        let (a, b) = (&ours[i], &reference[i]);
        if (a.chip, a.reg, a.value) != (b.chip, b.reg, b.value) {
            matched = i;
            first_mismatch = Some(i);
            break;
        }
    }
    let mut segments: Vec<Segment> = Vec::new();
    for i in 0..matched {
        let off = ours[i].cycle as i64 - reference[i].cycle as i64;
        match segments.last_mut() {
            Some(s) if s.offset == off => s.len += 1,
            _ => segments.push(Segment {
                start: i,
                len: 1,
                offset: off,
            }),
        }
    }
    Comparison {
        ours_len: ours.len(),
        ref_len: reference.len(),
        matched,
        first_mismatch,
        segments,
    }
}

fn fmt_write(w: &SidWrite) -> String {
    format!(
        "{:>10} chip {} ${:02X} = ${:02X}",
        w.cycle, w.chip, w.reg, w.value
    )
}

/// A human-readable report: the timing segments and, around the first divergence (or the
/// first timing change when the values agree), both logs side by side with our CPU state.
pub fn report(
    c: &Comparison,
    ours: &[TracedWrite],
    reference: &[SidWrite],
    context: usize,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "writes: ours {}, reference {}; equal values for the first {}",
        c.ours_len, c.ref_len, c.matched
    );
    let _ = writeln!(s, "timing segments (ours - reference, in cycles):");
    for seg in c.segments.iter().take(12) {
        let _ = writeln!(
            s,
            "  writes {:>6}..{:<6} offset {:>+8}",
            seg.start,
            seg.start + seg.len,
            seg.offset
        );
    }
    if c.segments.len() > 12 {
        let _ = writeln!(s, "  ... {} segments in all", c.segments.len());
    }
    let focus = match c.first_mismatch {
        Some(i) => {
            let _ = writeln!(s, "FIRST DIVERGENT WRITE: #{i}");
            Some(i)
        }
        None => {
            let _ = writeln!(s, "values agree over the compared length");
            c.segments.get(2).map(|seg| {
                let _ = writeln!(s, "second timing change at write #{}", seg.start);
                seg.start
            })
        }
    };
    if let Some(i) = focus {
        let from = i.saturating_sub(context);
        let to = (i + context + 1).min(ours.len().max(reference.len()));
        let _ = writeln!(
            s,
            "  {:<5} {:<36} {:<36} our CPU before the writing instruction",
            "#", "reference", "ours"
        );
        for k in from..to {
            let r = reference.get(k).map(fmt_write).unwrap_or_default();
            let (o, cpu) = match ours.get(k) {
                Some(t) => {
                    let code = t.code;
                    let d = c64::cpu::disassemble(t.cpu.pc, |a| {
                        code[usize::from(a.wrapping_sub(t.cpu.pc)).min(2)]
                    });
                    (
                        fmt_write(&t.write),
                        format!(
                            "{}  A={:02X} X={:02X} Y={:02X} S={:02X} P={:02X}",
                            d, t.cpu.a, t.cpu.x, t.cpu.y, t.cpu.s, t.cpu.p
                        ),
                    )
                }
                None => (String::new(), String::new()),
            };
            let mark = if Some(k) == focus { ">" } else { " " };
            let _ = writeln!(s, "{mark} {k:<5} {r:<36} {o:<36} {cpu}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(cycle: u64, reg: u8, value: u8) -> SidWrite {
        SidWrite {
            cycle,
            chip: 0,
            reg,
            value,
        }
    }

    #[test]
    fn finds_the_first_divergent_write_and_timing_segments() {
        let reference = vec![
            w(40, 0x18, 0x0F),
            w(100, 4, 0x21),
            w(19756, 4, 0x20),
            w(39412, 1, 9),
        ];
        // ours: the driver is 10 cycles slower before init, play calls 3 cycles later
        let ours = vec![
            w(50, 0x18, 0x0F),
            w(110, 4, 0x21),
            w(19759, 4, 0x20),
            w(39415, 1, 8),
        ];
        let c = compare(&ours, &reference);
        assert_eq!(c.first_mismatch, Some(3));
        assert_eq!(c.matched, 3);
        assert_eq!(
            c.segments,
            vec![
                Segment {
                    start: 0,
                    len: 2,
                    offset: 10
                },
                Segment {
                    start: 2,
                    len: 1,
                    offset: 3
                }
            ]
        );
        let same = compare(&reference, &reference);
        assert!(same.values_agree());
        assert_eq!(same.segments.len(), 1);
    }
}

/// How far two machines agree on a tune: the write-log comparison summarised.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub ours_writes: usize,
    pub ref_writes: usize,
    /// Writes with equal values before the first divergence.
    pub matched: usize,
    /// When (seconds into the reference's log) the first divergent write happened; `None`
    /// when the logs agree over the shorter one.
    pub diverges_at: Option<f64>,
    /// Distinct timing offsets over the matched writes and their range (cycles).
    pub offsets: usize,
    pub offset_range: (i64, i64),
}

/// Summarises [`compare`] for a report (`hz` converts reference cycles to seconds).
pub fn agreement(ours: &[SidWrite], reference: &[SidWrite], hz: f64) -> Agreement {
    let c = compare(ours, reference);
    let mut offs: Vec<i64> = c.segments.iter().map(|s| s.offset).collect();
    offs.sort_unstable();
    offs.dedup();
    // (one log running on a little past the other's end is not a divergence)
    let diverges_at = c
        .first_mismatch
        .map(|i| reference.get(i).map_or(0.0, |w| w.cycle as f64 / hz));
    Agreement {
        ours_writes: ours.len(),
        ref_writes: reference.len(),
        matched: c.matched,
        diverges_at,
        offsets: offs.len(),
        offset_range: (
            offs.first().copied().unwrap_or(0),
            offs.last().copied().unwrap_or(0),
        ),
    }
}

//! The raster IRQ reaches the CPU at the exact cycle, PAL and NTSC: machine + CPU, no
//! driver.

use c64::cpu::{Cpu, Interrupt, Step};
use c64::{CiaModel, Machine, RecordingSid, VideoStandard};

/// Cycle at which the CPU starts the IRQ sequence for a raster IRQ at `line`, with the CPU
/// running 2-cycle NOPs from cycle 0.
fn irq_entry_cycle(video: VideoStandard, line: u16) -> u64 {
    let mut m = Machine::new(video, CiaModel::Mos6526, &[0xD400]);
    m.ram_mut()[0x1000..0x9000].fill(0xEA); // NOP slide
    let vic = m.vic_mut();
    vic.write(0x11, 0x1B | if line > 255 { 0x80 } else { 0 });
    vic.write(0x12, line as u8);
    vic.write(0x19, 0x0F);
    vic.write(0x1A, 0x01);
    let mut sid = RecordingSid::new();
    let mut cpu = Cpu::new();
    cpu.pc = 0x1000;
    cpu.p = 0x20; // I clear
    let mut bus = m.bus(&mut sid);
    loop {
        let before = bus.machine.cycle();
        assert!(before < 40_000, "no IRQ");
        if cpu.step(&mut bus) == Step::Interrupt(Interrupt::Irq) {
            return before;
        }
    }
}

#[test]
fn raster_irq_entry_cycle() {
    for video in [VideoStandard::Pal, VideoStandard::Ntsc] {
        let cpl = u64::from(video.cycles_per_line());
        for line in [10u16, 100, 200] {
            // The flag is raised by the tick that ends cycle line*cpl - 1; the CPU sees the
            // line one cycle later (after cycle line*cpl), polls it in the first cycle of the
            // NOP fetched there, and starts the sequence after that NOP.
            assert_eq!(
                irq_entry_cycle(video, line),
                u64::from(line) * cpl + 2,
                "{video:?} line {line}"
            );
        }
    }
    // line 0 is compared from cycle 1 of the line: flag at the end of cycle 0, seen after
    // cycle 1; the NOP fetched at cycle 2 polls it, the sequence starts at cycle 4
    assert_eq!(irq_entry_cycle(VideoStandard::Pal, 0), 4);
    assert_eq!(irq_entry_cycle(VideoStandard::Ntsc, 0), 4);
}

/// NOPs the CPU completes in raster line `line` (2-cycle NOP slide, display on, Y scroll 3).
fn nops_in_line(video: VideoStandard, bad_lines: bool, line: u16) -> u32 {
    let mut m = Machine::new(video, CiaModel::Mos6526, &[0xD400]);
    m.set_bad_lines(bad_lines);
    m.ram_mut()[0x0200..0xFF00].fill(0xEA);
    m.write(0x0001, 0x34, &mut RecordingSid::new()); // all RAM: the slide runs through
    m.vic_mut().write(0x11, 0x1B);
    let mut sid = RecordingSid::new();
    let mut cpu = Cpu::new();
    cpu.pc = 0x0200;
    let mut bus = m.bus(&mut sid);
    let mut n = 0;
    loop {
        bus.machine.sync();
        let l = bus.machine.vic().line();
        if l > line {
            return n;
        }
        cpu.step(&mut bus);
        bus.machine.sync();
        if l == line && bus.machine.vic().line() == line {
            n += 1;
        }
    }
}

#[test]
fn bad_lines_steal_the_bus() {
    for video in [VideoStandard::Pal, VideoStandard::Ntsc] {
        let cpl = u32::from(video.cycles_per_line());
        // $33 is a bad line with Y scroll 3, $34 is not
        let normal = nops_in_line(video, true, 0x34);
        assert!(normal.abs_diff(cpl / 2) <= 1, "{video:?}: {normal}");
        let bad = nops_in_line(video, true, 0x33);
        // the CPU runs in cycles 1-11 and 55-end of the line (1-based): 43 cycles lost
        let expect = (cpl - 43) / 2;
        assert!(
            bad.abs_diff(expect) <= 1,
            "{video:?}: {bad} NOPs, expected ~{expect}"
        );
        assert!(nops_in_line(video, false, 0x33).abs_diff(cpl / 2) <= 1);
        // outside $30-$F7 there are no bad lines
        assert!(nops_in_line(video, true, 0x2B).abs_diff(cpl / 2) <= 1);
    }
}

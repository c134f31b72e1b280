//! Interrupt timing of the 6510 core, with a scripted bus that asserts IRQ/NMI after a
//! chosen cycle. Cycle numbers below count bus cycles from 1; "asserted after cycle n"
//! means `irq_line()`/`nmi_line()` report true once n cycles have been performed.

use c64::cpu::{flags, Bus, Cpu, Interrupt, Step};

const IRQ_HANDLER: u16 = 0x0300;
const NMI_HANDLER: u16 = 0x0380;
const RESET_ENTRY: u16 = 0x0500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read(u16),
    Write(u16, u8),
}

struct ScriptBus {
    mem: Vec<u8>,
    cycles: u64,
    log: Vec<Access>,
    /// IRQ asserted while `start <= cycles < end` for any of these.
    irq: Vec<(u64, u64)>,
    nmi: Vec<(u64, u64)>,
}

impl ScriptBus {
    /// NOPs everywhere, handlers made of NOPs, vectors set.
    fn new(program: &[u8]) -> ScriptBus {
        let mut mem = vec![0xEA; 0x10000];
        mem[0x0200..0x0200 + program.len()].copy_from_slice(program);
        mem[0xFFFA..0xFFFC].copy_from_slice(&NMI_HANDLER.to_le_bytes());
        mem[0xFFFC..0xFFFE].copy_from_slice(&RESET_ENTRY.to_le_bytes());
        mem[0xFFFE..0x10000].copy_from_slice(&IRQ_HANDLER.to_le_bytes());
        ScriptBus {
            mem,
            cycles: 0,
            log: Vec::new(),
            irq: Vec::new(),
            nmi: Vec::new(),
        }
    }

    fn irq_after(mut self, cycle: u64) -> Self {
        self.irq.push((cycle, u64::MAX));
        self
    }

    fn nmi_after(mut self, cycle: u64) -> Self {
        self.nmi.push((cycle, u64::MAX));
        self
    }

    fn active(ranges: &[(u64, u64)], now: u64) -> bool {
        ranges.iter().any(|&(s, e)| s <= now && now < e)
    }
}

impl Bus for ScriptBus {
    fn read(&mut self, addr: u16) -> u8 {
        self.cycles += 1;
        self.log.push(Access::Read(addr));
        self.mem[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.cycles += 1;
        self.log.push(Access::Write(addr, value));
        self.mem[addr as usize] = value;
    }
    fn irq_line(&self) -> bool {
        Self::active(&self.irq, self.cycles)
    }
    fn nmi_line(&self) -> bool {
        Self::active(&self.nmi, self.cycles)
    }
}

fn cpu_at(pc: u16, p: u8) -> Cpu {
    let mut cpu = Cpu::new();
    cpu.pc = pc;
    cpu.s = 0xFF;
    cpu.p = p | flags::U;
    cpu
}

/// Runs `n` steps and returns what each did.
fn run(cpu: &mut Cpu, bus: &mut ScriptBus, n: usize) -> Vec<Step> {
    (0..n).map(|_| cpu.step(bus)).collect()
}

const NOP: Step = Step::Executed { opcode: 0xEA };
const IRQ: Step = Step::Interrupt(Interrupt::Irq);
const NMI: Step = Step::Interrupt(Interrupt::Nmi);

fn ex(opcode: u8) -> Step {
    Step::Executed { opcode }
}

#[test]
fn irq_needs_assertion_before_the_last_cycle() {
    // LDA $1234 takes 4 cycles; its poll sees the line as it is after cycle 3.
    let program = [0xAD, 0x34, 0x12];
    for (asserted_after, want) in [
        (2, vec![ex(0xAD), IRQ]),
        (3, vec![ex(0xAD), IRQ]),
        (4, vec![ex(0xAD), NOP, IRQ]),
        (5, vec![ex(0xAD), NOP, IRQ]),
        (6, vec![ex(0xAD), NOP, NOP, IRQ]),
    ] {
        let mut bus = ScriptBus::new(&program).irq_after(asserted_after);
        let mut cpu = cpu_at(0x0200, 0);
        let got = run(&mut cpu, &mut bus, want.len());
        assert_eq!(got, want, "IRQ asserted after cycle {asserted_after}");
        assert_eq!(cpu.pc, IRQ_HANDLER);
    }
}

#[test]
fn interrupt_sequence_bus_cycles() {
    // NOP at $0200, IRQ recognised during it: 7 cycles, two dummy reads of PC, pushes of
    // PCH, PCL, P (B clear, bit 5 set), vector fetch; I set afterwards.
    let mut bus = ScriptBus::new(&[0xEA]).irq_after(0);
    let mut cpu = cpu_at(0x0200, flags::C | flags::D);
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![NOP, IRQ]);
    assert_eq!(
        bus.log[2..],
        [
            Access::Read(0x0201),
            Access::Read(0x0201),
            Access::Write(0x01FF, 0x02),
            Access::Write(0x01FE, 0x01),
            Access::Write(0x01FD, flags::U | flags::C | flags::D),
            Access::Read(0xFFFE),
            Access::Read(0xFFFF),
        ]
    );
    assert_eq!(bus.cycles, 2 + 7);
    assert_eq!(cpu.s, 0xFC);
    assert_eq!(cpu.pc, IRQ_HANDLER);
    assert_ne!(cpu.p & flags::I, 0);
    // The handler's first instruction runs before anything else (I is now set).
    assert_eq!(cpu.step(&mut bus), NOP);
}

#[test]
fn brk_pushes_b_and_skips_a_byte() {
    let mut bus = ScriptBus::new(&[0x00, 0xFF]);
    let mut cpu = cpu_at(0x0200, 0);
    assert_eq!(cpu.step(&mut bus), ex(0x00));
    assert_eq!(
        bus.log,
        [
            Access::Read(0x0200),
            Access::Read(0x0201),
            Access::Write(0x01FF, 0x02),
            Access::Write(0x01FE, 0x02),
            Access::Write(0x01FD, flags::U | flags::B),
            Access::Read(0xFFFE),
            Access::Read(0xFFFF),
        ]
    );
    assert_eq!(cpu.pc, IRQ_HANDLER);
}

#[test]
fn cli_lets_a_pending_irq_in_one_instruction_late() {
    // CLI; NOP; NOP with IRQ held: the poll of CLI still sees I set, the NOP's poll sees
    // it clear, so the IRQ comes after the NOP that follows CLI.
    let mut bus = ScriptBus::new(&[0x58]).irq_after(0);
    let mut cpu = cpu_at(0x0200, flags::I);
    assert_eq!(run(&mut cpu, &mut bus, 3), vec![ex(0x58), NOP, IRQ]);
    // Return address pushed is the instruction after that NOP.
    assert_eq!(bus.mem[0x01FF], 0x02);
    assert_eq!(bus.mem[0x01FE], 0x02);
}

#[test]
fn sei_with_pending_irq_still_takes_it_once() {
    // IRQ asserted after SEI's first cycle: SEI's poll happens before I is set, so the
    // IRQ is taken right after SEI; the pushed P already has I set.
    let mut bus = ScriptBus::new(&[0x78]).irq_after(1);
    let mut cpu = cpu_at(0x0200, 0);
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![ex(0x78), IRQ]);
    assert_eq!(bus.mem[0x01FD] & (flags::I | flags::B), flags::I);
    // Handler returns with RTI: I set again from the stack, IRQ still held: masked.
    bus.mem[IRQ_HANDLER as usize] = 0x40;
    assert_eq!(run(&mut cpu, &mut bus, 4), vec![ex(0x40), NOP, NOP, NOP]);
    // IRQ asserted only after SEI's last cycle: never taken.
    let mut bus = ScriptBus::new(&[0x78]).irq_after(2);
    let mut cpu = cpu_at(0x0200, 0);
    assert_eq!(run(&mut cpu, &mut bus, 4), vec![ex(0x78), NOP, NOP, NOP]);
}

#[test]
fn plp_changes_i_after_the_poll_and_rti_before() {
    // PLP pulling P with I clear while I is set and IRQ held: one more instruction runs.
    let mut bus = ScriptBus::new(&[0x28]).irq_after(0);
    bus.mem[0x01FF] = 0x00;
    let mut cpu = cpu_at(0x0200, flags::I);
    cpu.s = 0xFE;
    assert_eq!(run(&mut cpu, &mut bus, 3), vec![ex(0x28), NOP, IRQ]);

    // RTI pulling P with I clear: the IRQ is taken right after RTI.
    let mut bus = ScriptBus::new(&[0x40]).irq_after(0);
    bus.mem[0x01FD] = 0x00; // P
    bus.mem[0x01FE] = 0x00; // PCL
    bus.mem[0x01FF] = 0x04; // PCH
    let mut cpu = cpu_at(0x0200, flags::I);
    cpu.s = 0xFC;
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![ex(0x40), IRQ]);
    // Return address of that IRQ is the RTI's target.
    assert_eq!((bus.mem[0x01FF], bus.mem[0x01FE]), (0x04, 0x00));

    // PLP setting I with IRQ asserted after its third cycle: the poll comes first, so
    // the IRQ is still taken once.
    let mut bus = ScriptBus::new(&[0x28]).irq_after(3);
    bus.mem[0x01FF] = flags::I;
    let mut cpu = cpu_at(0x0200, 0);
    cpu.s = 0xFE;
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![ex(0x28), IRQ]);
}

#[test]
fn taken_branch_without_page_cross_delays_the_interrupt() {
    // BNE +2 at $0200 (Z clear, taken, same page): 3 cycles, the only poll sees the line
    // after cycle 1.
    let branch = [0xD0, 0x02];
    let case = |program: &[u8], p: u8, asserted_after: u64, n: usize| {
        let mut bus = ScriptBus::new(program).irq_after(asserted_after);
        let mut cpu = cpu_at(0x0200, p);
        let steps = run(&mut cpu, &mut bus, n);
        (steps, bus)
    };
    // Asserted after cycle 1: taken after the branch.
    let (s, _) = case(&branch, 0, 1, 2);
    assert_eq!(s, vec![ex(0xD0), IRQ]);
    // Asserted after cycle 2 (the penultimate one): a 3-cycle LDA zp would take it
    // right away, the taken branch only after the next instruction.
    let (s, _) = case(&[0xA5, 0x10], 0, 2, 2);
    assert_eq!(s, vec![ex(0xA5), IRQ]);
    let (s, bus) = case(&branch, 0, 2, 3);
    assert_eq!(s, vec![ex(0xD0), NOP, IRQ]);
    assert_eq!(
        bus.log[2],
        Access::Read(0x0202),
        "dummy read of the next opcode"
    );
    // Branch not taken (Z set): 2 cycles, asserted after cycle 1 -> taken right away.
    let (s, _) = case(&branch, flags::Z, 1, 2);
    assert_eq!(s, vec![ex(0xD0), IRQ]);

    // Taken branch crossing a page: 4 cycles; polled again before the fix-up cycle, so
    // an IRQ asserted after cycle 3 is taken right after the branch.
    let mut bus = ScriptBus::new(&[]).irq_after(3);
    bus.mem[0x02FD] = 0xD0;
    bus.mem[0x02FE] = 0x05; // $02FF + 5 = $0304
    let mut cpu = cpu_at(0x02FD, 0);
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![ex(0xD0), IRQ]);
    assert_eq!(
        bus.log[..4],
        [
            Access::Read(0x02FD),
            Access::Read(0x02FE),
            Access::Read(0x02FF),
            Access::Read(0x0204),
        ]
    );
    assert_eq!((bus.mem[0x01FF], bus.mem[0x01FE]), (0x03, 0x04));
    // ... but one asserted after its last cycle waits for the next instruction.
    let mut bus = ScriptBus::new(&[]).irq_after(4);
    bus.mem[0x02FD] = 0xD0;
    bus.mem[0x02FE] = 0x05;
    let mut cpu = cpu_at(0x02FD, 0);
    assert_eq!(run(&mut cpu, &mut bus, 3), vec![ex(0xD0), NOP, IRQ]);
}

#[test]
fn irq_is_masked_by_i_but_nmi_is_not() {
    let mut bus = ScriptBus::new(&[]).irq_after(0);
    let mut cpu = cpu_at(0x0200, flags::I);
    assert!(run(&mut cpu, &mut bus, 50).iter().all(|s| *s == NOP));
    bus.nmi.push((bus.cycles, u64::MAX));
    let steps = run(&mut cpu, &mut bus, 3);
    assert_eq!(steps, vec![NOP, NMI, NOP]);
    assert_eq!(cpu.pc, NMI_HANDLER + 1);
}

#[test]
fn nmi_is_edge_triggered() {
    // Held asserted for a long time: exactly one NMI.
    let mut bus = ScriptBus::new(&[]).nmi_after(1);
    let mut cpu = cpu_at(0x0200, flags::I);
    let steps = run(&mut cpu, &mut bus, 100);
    assert_eq!(steps.iter().filter(|s| **s == NMI).count(), 1);
    assert_eq!(steps[..2], [NOP, NMI]);
    // Released and asserted again: a second one.
    let now = bus.cycles;
    bus.nmi = vec![(1, now), (now + 4, u64::MAX)];
    let steps = run(&mut cpu, &mut bus, 10);
    assert_eq!(steps.iter().filter(|s| **s == NMI).count(), 1);
    // A one-cycle pulse in the middle of an instruction is still latched by the edge
    // detector: LDA $1234 (4 cycles), NMI asserted only after cycle 2.
    let mut bus = ScriptBus::new(&[0xAD, 0x34, 0x12]);
    bus.nmi = vec![(2, 3)];
    let mut cpu = cpu_at(0x0200, flags::I);
    assert_eq!(run(&mut cpu, &mut bus, 3), vec![ex(0xAD), NMI, NOP]);
    // A pulse during the last cycle is latched too, and taken one instruction later.
    let mut bus = ScriptBus::new(&[0xAD, 0x34, 0x12]);
    bus.nmi = vec![(4, 5)];
    let mut cpu = cpu_at(0x0200, flags::I);
    assert_eq!(run(&mut cpu, &mut bus, 3), vec![ex(0xAD), NOP, NMI]);
    // An NMI is not masked by I, and is taken even with IRQ asserted too (NMI first).
    let mut bus = ScriptBus::new(&[]).irq_after(0).nmi_after(0);
    let mut cpu = cpu_at(0x0200, 0);
    assert_eq!(run(&mut cpu, &mut bus, 2), vec![NOP, NMI]);
    // In the NMI handler I is set, so the IRQ waits.
    assert!(run(&mut cpu, &mut bus, 5).iter().all(|s| *s == NOP));
}

#[test]
fn nmi_hijacks_brk_and_irq_sequences() {
    // BRK: cycles 1 opcode, 2 padding, 3 PCH, 4 PCL, 5 P, 6-7 vector. An NMI asserted
    // up to the end of cycle 4 takes over the vector; B stays set in the pushed P.
    for (asserted_after, hijacked) in [(1, true), (3, true), (4, true), (5, false)] {
        let mut bus = ScriptBus::new(&[0x00, 0x00]).nmi_after(asserted_after);
        let mut cpu = cpu_at(0x0200, 0);
        assert_eq!(cpu.step(&mut bus), ex(0x00));
        assert_eq!(bus.mem[0x01FD] & flags::B, flags::B, "B pushed by BRK");
        if hijacked {
            assert_eq!(cpu.pc, NMI_HANDLER, "NMI after cycle {asserted_after}");
            assert_eq!(bus.log[5..], [Access::Read(0xFFFA), Access::Read(0xFFFB)]);
            // The NMI was consumed by the hijack.
            assert!(run(&mut cpu, &mut bus, 10).iter().all(|s| *s == NOP));
        } else {
            assert_eq!(cpu.pc, IRQ_HANDLER, "NMI after cycle {asserted_after}");
            // The NMI comes after the first instruction of the BRK handler.
            assert_eq!(run(&mut cpu, &mut bus, 2), vec![NOP, NMI]);
        }
    }
    // IRQ sequence (cycles 3..9 after a 2-cycle NOP): NMI asserted after its 4th cycle
    // (cycle 6 overall) hijacks; step reports the NMI and B is clear in the pushed P.
    for (asserted_after, want) in [(6, NMI), (7, IRQ)] {
        let mut bus = ScriptBus::new(&[]).irq_after(0).nmi_after(asserted_after);
        let mut cpu = cpu_at(0x0200, 0);
        assert_eq!(run(&mut cpu, &mut bus, 2), vec![NOP, want]);
        assert_eq!(bus.mem[0x01FD] & flags::B, 0);
        if want == NMI {
            assert_eq!(cpu.pc, NMI_HANDLER);
        } else {
            assert_eq!(cpu.pc, IRQ_HANDLER);
            assert_eq!(run(&mut cpu, &mut bus, 2), vec![NOP, NMI]);
        }
    }
}

#[test]
fn jam_halts_and_reports_until_reset() {
    let mut bus = ScriptBus::new(&[0xA9, 0x42, 0x12])
        .irq_after(10)
        .nmi_after(10);
    let mut cpu = cpu_at(0x0200, 0);
    assert_eq!(cpu.step(&mut bus), ex(0xA9));
    assert_eq!(cpu.step(&mut bus), Step::Jammed { opcode: 0x12 });
    assert!(cpu.jammed());
    assert_eq!(cpu.jam_opcode(), Some(0x12));
    assert_eq!(cpu.pc, 0x0202);
    assert_eq!(bus.cycles, 2 + 3);
    // Each further step is one bus cycle and ignores IRQ and NMI.
    for i in 1..=20 {
        assert_eq!(cpu.step(&mut bus), Step::Jammed { opcode: 0x12 });
        assert_eq!(bus.cycles, 5 + i);
    }
    assert_eq!(cpu.a, 0x42);
    // Reset: 7 cycles, writes suppressed (stack reads), S - 3, I set, PC from $FFFC.
    let s = cpu.s;
    bus.log.clear();
    bus.irq.clear();
    bus.nmi.clear();
    cpu.reset(&mut bus);
    assert!(!cpu.jammed());
    assert_eq!(bus.log.len(), 7);
    assert!(bus.log.iter().all(|a| matches!(a, Access::Read(_))));
    assert_eq!(
        bus.log[2..],
        [
            Access::Read(0x0100 | s as u16),
            Access::Read(0x0100 | s.wrapping_sub(1) as u16),
            Access::Read(0x0100 | s.wrapping_sub(2) as u16),
            Access::Read(0xFFFC),
            Access::Read(0xFFFD),
        ]
    );
    assert_eq!(cpu.s, s.wrapping_sub(3));
    assert_eq!(cpu.pc, RESET_ENTRY);
    assert_ne!(cpu.p & flags::I, 0);
    assert_eq!(cpu.step(&mut bus), NOP);
}

#[test]
fn every_jam_opcode_jams() {
    for op in [
        0x02u8, 0x12, 0x22, 0x32, 0x42, 0x52, 0x62, 0x72, 0x92, 0xB2, 0xD2, 0xF2,
    ] {
        let mut bus = ScriptBus::new(&[op]);
        let mut cpu = cpu_at(0x0200, 0);
        assert_eq!(cpu.step(&mut bus), Step::Jammed { opcode: op });
        assert_eq!(cpu.step(&mut bus), Step::Jammed { opcode: op });
    }
}

//! The core fed random code and random interrupt lines: it must never panic (the test
//! profile keeps overflow checks on), every step must take a plausible number of bus
//! cycles, and a JAM must stay a JAM.

use c64::cpu::{Bus, Cpu, Interrupt, Step};

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct RandomBus {
    mem: Vec<u8>,
    cycles: u64,
    rng: Xorshift,
    irq: bool,
    nmi: bool,
}

impl RandomBus {
    fn tick(&mut self) {
        self.cycles += 1;
        let r = self.rng.next();
        if r.is_multiple_of(97) {
            self.irq = !self.irq;
        }
        if r.is_multiple_of(389) {
            self.nmi = !self.nmi;
        }
    }
}

impl Bus for RandomBus {
    fn read(&mut self, addr: u16) -> u8 {
        self.tick();
        self.mem[addr as usize]
    }
    fn write(&mut self, addr: u16, value: u8) {
        self.tick();
        self.mem[addr as usize] = value;
    }
    fn irq_line(&self) -> bool {
        self.irq
    }
    fn nmi_line(&self) -> bool {
        self.nmi
    }
}

#[test]
fn random_code_never_panics_and_steps_take_2_to_8_cycles() {
    let mut jams = 0;
    let mut interrupts = 0;
    for seed in 1..=64u64 {
        let mut rng = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mem: Vec<u8> = (0..0x10000).map(|_| rng.next() as u8).collect();
        let mut bus = RandomBus {
            mem,
            cycles: 0,
            rng: Xorshift(seed),
            irq: false,
            nmi: false,
        };
        let mut cpu = Cpu::new();
        cpu.reset(&mut bus);
        assert_eq!(bus.cycles, 7);
        cpu.a = rng.next() as u8;
        cpu.x = rng.next() as u8;
        cpu.y = rng.next() as u8;
        cpu.p = rng.next() as u8;
        for _ in 0..20_000 {
            let before = bus.cycles;
            let was_jammed = cpu.jammed();
            let step = cpu.step(&mut bus);
            let took = bus.cycles - before;
            match step {
                Step::Executed { opcode } => {
                    assert!((2..=8).contains(&took), "opcode {opcode:02X} took {took}");
                    assert!(!was_jammed);
                }
                Step::Interrupt(kind) => {
                    assert_ne!(kind, Interrupt::Reset);
                    assert_eq!(took, 7);
                    interrupts += 1;
                }
                Step::Jammed { .. } => {
                    assert!(took == 1 || (!was_jammed && took == 3), "JAM took {took}");
                    assert!(cpu.jammed());
                    if !was_jammed {
                        jams += 1;
                    }
                }
            }
            if cpu.jammed() && bus.rng.next().is_multiple_of(50) {
                cpu.reset(&mut bus);
                assert!(!cpu.jammed());
            }
        }
    }
    // Random bytes hit a JAM every ~20 instructions; interrupts happen too.
    assert!(jams > 100, "only {jams} JAMs");
    assert!(interrupts > 100, "only {interrupts} interrupts");
}

//! CPU core speed: runs Klaus Dormann's 6502 functional test (about 96 M cycles) on flat
//! 64 KiB RAM and reports million cycles per second and the multiple of a real PAL C64
//! (985 248 Hz). The bus only counts cycles, touches RAM and derives its IRQ/NMI lines
//! from the cycle counter (never asserted), so this measures the core.
//!
//! `cargo bench -p c64 --bench cpu` (add `-- N` to take the best of N runs, default 5).

use std::time::Instant;

use c64::cpu::{Bus, Cpu, Step};

const PAL_HZ: f64 = 985_248.0;

struct Ram {
    mem: Box<[u8; 0x10000]>,
    cycles: u64,
}

impl Bus for Ram {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.cycles += 1;
        self.mem[addr as usize]
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.cycles += 1;
        self.mem[addr as usize] = value;
    }
    // A real machine computes its lines from chip state on every call; make the core
    // pay for looking at them (they never assert during this test).
    #[inline(always)]
    fn irq_line(&self) -> bool {
        self.cycles == u64::MAX
    }
    #[inline(always)]
    fn nmi_line(&self) -> bool {
        self.cycles == u64::MAX - 1
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), so
/// the figure stays meaningful when other processes compete for the cores.
fn cpu_time_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let Some(dir) = testdata::dir() else {
        eprintln!("no test vectors: nothing to measure");
        return;
    };
    let image = std::fs::read(dir.join("klaus/6502_functional_test.bin")).expect("image");
    let image: Box<[u8; 0x10000]> = image.into_boxed_slice().try_into().expect("64 KiB");

    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let mut cycles = 0;
    let mut instructions = 0u64;
    for _ in 0..runs {
        let mut bus = Ram {
            mem: image.clone(),
            cycles: 0,
        };
        let mut cpu = Cpu::new();
        cpu.pc = 0x0400;
        instructions = 0;
        let start = Instant::now();
        let start_cpu = cpu_time_ns();
        loop {
            let pc = cpu.pc;
            let step = cpu.step(&mut bus);
            instructions += 1;
            if cpu.pc == pc || !matches!(step, Step::Executed { .. }) {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        if let (Some(a), Some(b)) = (start_cpu, cpu_time_ns()) {
            best_cpu = best_cpu.min((b - a) as f64 / 1e9);
        }
        assert_eq!(cpu.pc, 0x3469, "functional test failed");
        cycles = bus.cycles;
        best = best.min(secs);
    }
    println!("klaus functional test: {cycles} cycles, {instructions} instructions, best of {runs}");
    let report = |what: &str, secs: f64| {
        println!(
            "{what}: {secs:.3} s = {:.1} M cycles/s, {:.1} M instructions/s, {:.0}x real time (PAL {PAL_HZ} Hz)",
            cycles as f64 / secs / 1e6,
            instructions as f64 / secs / 1e6,
            cycles as f64 / secs / PAL_HZ
        )
    };
    report("wall clock", best);
    if best_cpu.is_finite() {
        report("thread CPU time", best_cpu);
    }
}

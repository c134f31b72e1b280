//! Cycle-exact NMOS 6510 core. PLACEHOLDER: the API below is the contract; the
//! implementation is being written.

/// The CPU's view of the system. Every method call of `read`/`write` is exactly one CPU
/// clock cycle: the implementation advances the rest of the machine (CIAs, VIC, ...) by
/// one cycle as part of the call.
pub trait Bus {
    /// One read cycle at `addr`.
    fn read(&mut self, addr: u16) -> u8;
    /// One write cycle at `addr`.
    fn write(&mut self, addr: u16, value: u8);
    /// The IRQ line as it is after the cycle just performed (true = asserted, active low on
    /// the real pin). Level-triggered, masked by the I flag.
    fn irq_line(&self) -> bool {
        false
    }
    /// The NMI line as it is after the cycle just performed (true = asserted).
    /// The CPU detects the transition from released to asserted itself.
    fn nmi_line(&self) -> bool {
        false
    }
}

/// Status register bits.
pub mod flags {
    pub const C: u8 = 0x01;
    pub const Z: u8 = 0x02;
    pub const I: u8 = 0x04;
    pub const D: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const U: u8 = 0x20;
    pub const V: u8 = 0x40;
    pub const N: u8 = 0x80;
}

/// Which interrupt sequence a [`Cpu::step`] performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Irq,
    Nmi,
    Reset,
}

/// What one [`Cpu::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Executed the instruction with this opcode.
    Executed { opcode: u8 },
    /// Took an interrupt (7 cycles) instead of fetching an instruction.
    Interrupt(Interrupt),
    /// The CPU is halted by a JAM (KIL) opcode; it stays halted until reset.
    Jammed { opcode: u8 },
}

/// The registers and internal state of a 6510.
#[derive(Debug, Clone, Default)]
pub struct Cpu {
    pub a: u8,
    pub x: u8,
    pub y: u8,
    pub s: u8,
    /// Status register; bit 5 always reads as 1, B exists only on the stack.
    pub p: u8,
    pub pc: u16,
}

impl Cpu {
    pub fn new() -> Cpu {
        Cpu {
            s: 0xFD,
            p: flags::U | flags::I,
            ..Cpu::default()
        }
    }

    /// The 7-cycle reset sequence: ends with PC loaded from `$FFFC/$FFFD`.
    pub fn reset<B: Bus>(&mut self, _bus: &mut B) {
        todo!("cpu placeholder")
    }

    /// Executes one whole instruction, or one interrupt entry sequence when an interrupt
    /// was recognised at the end of the previous instruction.
    pub fn step<B: Bus>(&mut self, _bus: &mut B) -> Step {
        todo!("cpu placeholder")
    }

    /// True after a JAM opcode, until [`Cpu::reset`].
    pub fn jammed(&self) -> bool {
        false
    }
}

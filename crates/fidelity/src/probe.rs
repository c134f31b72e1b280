//! Probe tunes: tiny PSID/RSID files whose init and play routines copy what they see of the
//! machine (registers, `$01`, raster, CIA timers, interrupt flags) into SID registers. The
//! write log of a probe is then a record of the machine's state at known instructions,
//! comparable between our machine and the reference.
//!
//! Init (at `$1000`) writes: A, X, Y, P, S, `$01`, `$DC0E`, `$DC0F`, `$D011`, `$D01A`,
//! `$D019` to `$D400-$D40A`, then 256 times the raster line, and CIA 1 timer A (low,
//! high) to `$D40B-$D40D`; play (at `$1100`, PSID only) writes the raster line, timer A and
//! `$D019` to `$D410-$D413`. An RSID probe's init ends by enabling interrupts and waiting
//! (`CLI`, `JMP *`); its `$0314` handler (installed by init) does what play does and
//! returns through `$EA31`.

/// Which kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PSID, play called from the raster interrupt.
    PsidVbi,
    /// PSID, play called from CIA 1 timer A.
    PsidCia,
    /// RSID: init installs its own `$0314` handler (the KERNAL's CIA 1 interrupt).
    Rsid,
    /// RSID whose init writes `$0000-$03FF` (first what it finds there, page by page) to
    /// `$D400`, then waits: the RAM a tune starts with.
    RamDump,
}

const INIT: u16 = 0x1000;
const PLAY: u16 = 0x1100;

fn ram_dump_code() -> Vec<u8> {
    let mut c = vec![0xA2, 0x00]; // LDX #0
    let lp = INIT + c.len() as u16;
    for page in 0..4u8 {
        c.extend_from_slice(&[0xBD, 0x00, page, 0x8D, 0x00, 0xD4]); // LDA page,X STA $D400
    }
    c.push(0xE8); // INX
    let off = lp.wrapping_sub(INIT + c.len() as u16 + 2) as i16 as i8 as u8;
    c.extend_from_slice(&[0xD0, off]); // BNE
    let here = INIT + c.len() as u16;
    let [lo, hi] = here.to_le_bytes();
    c.extend_from_slice(&[0x4C, lo, hi]); // JMP *
    c
}

fn init_code(rsid: bool) -> Vec<u8> {
    let mut c = vec![
        0x8D, 0x00, 0xD4, // STA $D400
        0x8E, 0x01, 0xD4, // STX $D401
        0x8C, 0x02, 0xD4, // STY $D402
        0x08, 0x68, 0x8D, 0x03, 0xD4, // PHP PLA STA $D403
        0xBA, 0x8E, 0x04, 0xD4, // TSX STX $D404
        0xA5, 0x01, 0x8D, 0x05, 0xD4, // LDA $01 STA $D405
        0xAD, 0x0E, 0xDC, 0x8D, 0x06, 0xD4, // LDA $DC0E STA $D406
        0xAD, 0x0F, 0xDC, 0x8D, 0x07, 0xD4, // LDA $DC0F STA $D407
        0xAD, 0x11, 0xD0, 0x8D, 0x08, 0xD4, // LDA $D011 STA $D408
        0xAD, 0x1A, 0xD0, 0x8D, 0x09, 0xD4, // LDA $D01A STA $D409
        0xAD, 0x19, 0xD0, 0x8D, 0x0A, 0xD4, // LDA $D019 STA $D40A
        0xA0, 0x00, // LDY #0
    ];
    let lp = INIT + c.len() as u16;
    c.extend_from_slice(&[
        0xAD, 0x12, 0xD0, 0x8D, 0x0B, 0xD4, // LDA $D012 STA $D40B
        0xAD, 0x04, 0xDC, 0x8D, 0x0C, 0xD4, // LDA $DC04 STA $D40C
        0xAD, 0x05, 0xDC, 0x8D, 0x0D, 0xD4, // LDA $DC05 STA $D40D
        0x88, // DEY
    ]);
    let off = lp.wrapping_sub(INIT + c.len() as u16 + 2) as i16 as i8 as u8;
    c.extend_from_slice(&[0xD0, off]); // BNE loop
    if rsid {
        // $0314 -> the probe's handler, then wait for interrupts
        let [lo, hi] = PLAY.to_le_bytes();
        c.extend_from_slice(&[0xA9, lo, 0x8D, 0x14, 0x03, 0xA9, hi, 0x8D, 0x15, 0x03, 0x58]);
        let here = INIT + c.len() as u16;
        let [lo, hi] = here.to_le_bytes();
        c.extend_from_slice(&[0x4C, lo, hi]); // JMP *
    } else {
        c.push(0x60); // RTS
    }
    c
}

fn play_code(rsid: bool) -> Vec<u8> {
    let mut c = vec![
        0xAD, 0x12, 0xD0, 0x8D, 0x10, 0xD4, // LDA $D012 STA $D410
        0xAD, 0x04, 0xDC, 0x8D, 0x11, 0xD4, // LDA $DC04 STA $D411
        0xAD, 0x05, 0xDC, 0x8D, 0x12, 0xD4, // LDA $DC05 STA $D412
        0xAD, 0x19, 0xD0, 0x8D, 0x13, 0xD4, // LDA $D019 STA $D413
    ];
    if rsid {
        c.extend_from_slice(&[0x4C, 0x31, 0xEA]); // JMP $EA31
    } else {
        c.push(0x60);
    }
    c
}

/// The probe as a `.sid` file. `ntsc` sets the header's clock (PAL otherwise).
pub fn tune(kind: Kind, ntsc: bool) -> Vec<u8> {
    let rsid = matches!(kind, Kind::Rsid | Kind::RamDump);
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(if rsid { b"RSID" } else { b"PSID" });
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    // load address 0: taken from the data (RSID requires it)
    h[10..12].copy_from_slice(&INIT.to_be_bytes());
    if !rsid {
        h[12..14].copy_from_slice(&PLAY.to_be_bytes());
    }
    h[14..16].copy_from_slice(&1u16.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    if kind == Kind::PsidCia {
        h[18..22].copy_from_slice(&1u32.to_be_bytes());
    }
    h[0x16..0x16 + 5].copy_from_slice(b"probe");
    // 6581, PAL or NTSC
    let flags: u16 = 0x10 | if ntsc { 0x08 } else { 0x04 };
    h[0x76..0x78].copy_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&INIT.to_le_bytes());
    let mut image = vec![0xEA; usize::from(PLAY - INIT) + 0x40];
    let init = if kind == Kind::RamDump {
        ram_dump_code()
    } else {
        init_code(rsid)
    };
    image[..init.len()].copy_from_slice(&init);
    let play = play_code(rsid);
    let p = usize::from(PLAY - INIT);
    image[p..p + play.len()].copy_from_slice(&play);
    h.extend_from_slice(&image);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_parse() {
        for kind in [Kind::PsidVbi, Kind::PsidCia, Kind::Rsid, Kind::RamDump] {
            for ntsc in [false, true] {
                let t = sidfile::SidTune::parse(&tune(kind, ntsc)).unwrap();
                assert_eq!(t.init_address, INIT);
                assert_eq!(t.load_address, INIT);
            }
        }
    }
}

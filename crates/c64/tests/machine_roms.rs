//! Optional C64 ROMs (`c64::Roms`), tested with synthetic ROM images (we have no Commodore
//! ROMs): the PLA shows them where `$01` selects them, the player boots through a given
//! KERNAL before a tune starts, BASIC tunes are `RUN`, and calls into ROM routines the
//! machine lacks are detected statically and at run time.

mod machine_util;

use c64::{
    kernal, rom_need, CiaModel, Machine, NullSid, Player, PlayerConfig, RecordingSid, RomNeed,
    Roms, VideoStandard,
};
use machine_util::{Code, TuneFile};
use std::sync::Arc;

/// Synthetic images whose every byte tells where it came from.
fn synthetic() -> Roms {
    let k: Vec<u8> = (0..8192u32).map(|i| (i as u8) ^ 0xA5).collect();
    let b: Vec<u8> = (0..8192u32).map(|i| (i as u8) ^ 0x3C).collect();
    let c: Vec<u8> = (0..4096u32).map(|i| (i as u8) ^ 0x96).collect();
    Roms::from_bytes(Some(&k), Some(&b), Some(&c)).unwrap()
}

fn machine(roms: &Roms) -> Machine {
    let mut m = Machine::new(VideoStandard::Pal, CiaModel::Mos6526, &[0xD400]);
    m.set_roms(roms);
    m
}

#[test]
fn pla_shows_the_given_roms_where_01_selects_them() {
    let roms = synthetic();
    let mut m = machine(&roms);
    let mut sid = NullSid;
    // RAM under every ROM (all RAM visible, so that $D123 is not I/O)
    m.write(0x0000, 0x2F, &mut sid); // port directions as at power-on
    m.write(0x0001, 0x30, &mut sid);
    m.write(0xA123, 0x11, &mut sid);
    m.write(0xD123, 0x22, &mut sid);
    m.write(0xE123, 0x33, &mut sid);
    for cfg in 0u8..8 {
        m.write(0x0001, cfg, &mut sid);
        let (lo, hi, ch) = (cfg & 1 != 0, cfg & 2 != 0, cfg & 4 != 0);
        let a = m.read(0xA123, &mut sid);
        let want_a = if lo && hi {
            roms.basic.as_ref().unwrap()[0x123]
        } else {
            0x11
        };
        assert_eq!(a, want_a, "$A123 with $01 = {cfg}");
        let e = m.read(0xE123, &mut sid);
        let want_e = if hi {
            roms.kernal.as_ref().unwrap()[0x123]
        } else {
            0x33
        };
        assert_eq!(e, want_e, "$E123 with $01 = {cfg}");
        if (lo || hi) && !ch {
            assert_eq!(
                m.read(0xD123, &mut sid),
                roms.chargen.as_ref().unwrap()[0x123],
                "character ROM with $01 = {cfg}"
            );
        } else if !(lo || hi) {
            assert_eq!(
                m.read(0xD123, &mut sid),
                0x22,
                "RAM at $D123 with $01 = {cfg}"
            );
        }
        assert_eq!(m.peek(0xA123), want_a);
        assert_eq!(m.peek(0xE123), want_e);
    }
    // writes with a ROM visible go to the RAM underneath
    m.write(0x0001, 0x37, &mut sid);
    m.write(0xA123, 0x44, &mut sid);
    m.write(0xE123, 0x55, &mut sid);
    assert_eq!(
        m.read(0xA123, &mut sid),
        roms.basic.as_ref().unwrap()[0x123]
    );
    m.write(0x0001, 0x34, &mut sid);
    assert_eq!(m.read(0xA123, &mut sid), 0x44);
    assert_eq!(m.read(0xE123, &mut sid), 0x55);
}

#[test]
fn without_roms_the_stub_ram_and_zero_show() {
    let mut m = machine(&Roms::none());
    let stub = kernal::stub();
    let mut sid = NullSid;
    m.write(0xA123, 0x11, &mut sid);
    m.write(0x0001, 0x37, &mut sid);
    assert_eq!(m.read(0xA123, &mut sid), 0x11, "no BASIC: RAM");
    assert_eq!(m.read(0xFFFE, &mut sid), stub[0x1FFE], "our stub");
    m.write(0x0001, 0x33, &mut sid);
    assert_eq!(m.read(0xD123, &mut sid), 0x00, "no character ROM: 0");
    // and ROMs given and taken away again
    let mut m = machine(&synthetic());
    assert!(m.has_kernal_rom() && m.has_basic_rom());
    m.set_roms(&Roms::none());
    assert!(!m.has_kernal_rom() && !m.has_basic_rom());
    assert_eq!(m.peek(0xFFFE), stub[0x1FFE]);
}

/// A KERNAL made from our stub (so interrupts work) whose reset writes a marker into the
/// zero page, sets BASIC's main-loop vector `$0302` and enters BASIC's cold start through
/// `$A000`, and whose `$FFD2` (CHROUT) writes A to SID register `$D40F`.
fn kernal_with_reset() -> Vec<u8> {
    let mut k = kernal::stub().to_vec();
    let mut c = Code::new(0xE000);
    c.lda(0x42).sta(0x00D1); // a zero-page cell the real KERNAL's CINT sets
    c.lda(0x24).sta(0x0286);
    c.raw(&[0x6C, 0x00, 0xA0]); // JMP ($A000): BASIC's cold start
    k[..c.b.len()].copy_from_slice(&c.b);
    let mut c = Code::new(0xFFD2);
    c.sta(0xD40F).rts();
    k[0x1FD2..0x1FD2 + c.b.len()].copy_from_slice(&c.b);
    // reset vector -> $E000
    k[0x1FFC] = 0x00;
    k[0x1FFD] = 0xE0;
    k
}

/// A BASIC whose cold start (`$A000` vector -> `$A010`) sets `$0302` to its main loop at
/// `$A100`, which waits for a key in the keyboard buffer, reports the first key, the song
/// index `$030C` and the program's end pointer `$2D` through SID writes, then jumps to the
/// program start `($2B)` (a real BASIC would interpret it; this one runs it as code).
fn basic_with_run() -> Vec<u8> {
    let mut b = vec![0u8; 8192];
    b[0] = 0x10;
    b[1] = 0xA0;
    let mut c = Code::new(0xA010);
    c.set_vector(0x0302, 0xA100).jmp(0xA100);
    b[0x10..0x10 + c.b.len()].copy_from_slice(&c.b);
    let mut c = Code::new(0xA100);
    c.lda_abs(0x00C6);
    c.raw(&[0xF0, 0xFB]); // BEQ back to the LDA
    c.lda_abs(0x0277).sta(0xD400);
    c.lda_abs(0x030C).sta(0xD401);
    c.lda_abs(0x002D).sta(0xD402);
    c.lda_abs(0x00D1).sta(0xD403);
    c.raw(&[0x6C, 0x2B, 0x00]); // JMP ($002B)
    b[0x100..0x100 + c.b.len()].copy_from_slice(&c.b);
    b
}

fn basic_tune() -> TuneFile {
    // the "BASIC program": code that says it ran
    let mut prog = Code::new(0x0801);
    prog.lda(0x77).sta(0xD404).jmp_self();
    let mut t = TuneFile::rsid(0x0801, prog.b.clone());
    t.flags |= 0x02; // C64 BASIC
    t.init = 0;
    t.songs = 3;
    t
}

fn value(w: &[c64::SidWrite], reg: u8) -> Option<u8> {
    w.iter().find(|w| w.reg == reg).map(|w| w.value)
}

#[test]
fn basic_tune_is_run_with_kernal_and_basic() {
    let tune = basic_tune().tune();
    assert!(tune.basic);
    assert_eq!(rom_need(&tune), RomNeed::Basic);
    // without ROMs (or with only a KERNAL) it cannot start
    assert!(matches!(
        Player::new(&tune, 1, PlayerConfig::default()),
        Err(c64::C64Error::BasicNotSupported)
    ));
    let only_kernal = Roms::from_bytes(Some(&kernal_with_reset()), None, None).unwrap();
    assert!(!only_kernal.satisfy(&RomNeed::Basic));
    let cfg = PlayerConfig {
        roms: Some(Arc::new(only_kernal)),
        ..PlayerConfig::default()
    };
    assert!(Player::new(&tune, 1, cfg).is_err());

    let roms = Roms::from_bytes(Some(&kernal_with_reset()), Some(&basic_with_run()), None).unwrap();
    assert!(roms.satisfy(&RomNeed::Basic));
    let cfg = PlayerConfig {
        roms: Some(Arc::new(roms)),
        ..PlayerConfig::default()
    };
    let mut p = Player::new(&tune, 2, cfg).expect("a BASIC tune starts with the ROMs");
    assert_eq!(p.rom_need(), RomNeed::Basic);
    let mut sid = RecordingSid::new();
    p.run_until(20_000, &mut sid).unwrap();
    let w = sid.writes;
    assert_eq!(
        value(&w, 0),
        Some(b'R'),
        "RUN typed into the keyboard buffer"
    );
    assert_eq!(value(&w, 1), Some(1), "song 2 -> $030C = 1");
    let end = (0x0801 + tune.data.len()) as u16;
    assert_eq!(
        value(&w, 2),
        Some(end as u8),
        "end-of-program pointer as LOAD sets it"
    );
    assert_eq!(value(&w, 3), Some(0x42), "the KERNAL's start-up ran");
    assert_eq!(value(&w, 4), Some(0x77), "the program ran");
}

#[test]
fn a_given_kernal_boots_first_and_serves_the_tune() {
    // init calls CHROUT ($FFD2) with A = $5A, then reads $D1 (set by the KERNAL's start-up)
    let mut init = Code::new(0x1000);
    init.lda(0x5A).jsr(0xFFD2);
    init.lda_abs(0x00D1).sta(0xD401).rts();
    let t = TuneFile::psid(0x1000, init.b.clone());
    let tune = t.tune();
    // the file alone does not show one call to a jump-table entry as data-like: a JSR to
    // a KERNAL jump-table entry counts
    assert_eq!(rom_need(&tune), RomNeed::RomCalls(vec![0xFFD2]));

    // without ROMs: CHROUT is an RTS, $D1 is 0, and the call is seen at run time
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let mut sid = RecordingSid::new();
    p.run_until(5_000, &mut sid).unwrap();
    assert_eq!(value(&sid.writes, 0x0F), None);
    assert_eq!(value(&sid.writes, 1), Some(0));
    assert_eq!(p.rom_calls(), [0xFFD2]);
    assert_eq!(p.rom_need(), RomNeed::RomCalls(vec![0xFFD2]));

    // with the KERNAL (no BASIC): its reset ran before the tune, CHROUT is the KERNAL's
    let roms = Roms::from_bytes(Some(&kernal_with_reset()), None, None).unwrap();
    assert!(roms.satisfy(&RomNeed::RomCalls(vec![0xFFD2])));
    assert!(!roms.satisfy(&RomNeed::RomCalls(vec![0xA000])));
    let cfg = PlayerConfig {
        roms: Some(Arc::new(roms)),
        ..PlayerConfig::default()
    };
    let mut p = Player::new(&tune, 1, cfg).unwrap();
    let mut sid = RecordingSid::new();
    p.run_until(5_000, &mut sid).unwrap();
    assert_eq!(
        value(&sid.writes, 0x0F),
        Some(0x5A),
        "the KERNAL's CHROUT ran"
    );
    assert_eq!(
        value(&sid.writes, 1),
        Some(0x42),
        "RAM as the KERNAL's start-up left it"
    );
    assert!(p.rom_calls().is_empty());
    assert_eq!(p.rom_need(), RomNeed::None);
}

#[test]
fn the_driver_keeps_its_timing_with_a_kernal() {
    // Same tune with and without a KERNAL that only differs from the stub in its reset:
    // the SID writes (values and cycles) are identical.
    let mut play = Code::new(0x1000);
    play.rts(); // init
    play.inc(0xD400).rts(); // play at $1001
    let mut t = TuneFile::psid(0x1000, play.b.clone());
    t.play = 0x1001;
    let tune = t.tune();
    let run = |cfg: PlayerConfig| {
        let mut p = Player::new(&tune, 1, cfg).unwrap();
        let mut sid = RecordingSid::new();
        p.run_until(200_000, &mut sid).unwrap();
        sid.writes
    };
    let plain = run(PlayerConfig::default());
    let roms = Roms::from_bytes(Some(&kernal_with_reset()), None, None).unwrap();
    let with = run(PlayerConfig {
        roms: Some(Arc::new(roms)),
        ..PlayerConfig::default()
    });
    assert!(plain.len() >= 10);
    assert_eq!(plain, with);
}

#[test]
fn static_detection_ignores_what_the_stub_has_and_what_the_tune_covers() {
    // JMP $EA31 / JSR $FF48 (the stub has them), JSR $FFD2 twice (it does not), and a
    // JSR $E100 into the tune's own image
    let mut c = Code::new(0xE000);
    c.jmp(0xEA31)
        .jsr(0xFF48)
        .jsr(0xFFD2)
        .jsr(0xFFD2)
        .jsr(0xE100)
        .rts();
    let mut t = TuneFile::psid(0xE000, c.b.clone());
    t.data.resize(0x200, 0);
    assert_eq!(rom_need(&t.tune()), RomNeed::RomCalls(vec![0xFFD2]));
    // one stray JMP into BASIC (could be data): not enough
    let mut c = Code::new(0x1000);
    c.jmp(0xA7AE).rts();
    assert_eq!(
        rom_need(&TuneFile::psid(0x1000, c.b.clone()).tune()),
        RomNeed::None
    );
    let mut c = Code::new(0x1000);
    c.jsr(0xA7AE).jsr(0xA7AE).rts();
    let need = rom_need(&TuneFile::psid(0x1000, c.b.clone()).tune());
    assert_eq!(need, RomNeed::RomCalls(vec![0xA7AE]));
    assert!(need.reason().unwrap().contains("$A7AE"));
}

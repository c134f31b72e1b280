//! The PSID/RSID driver and the machine running small tunes built in memory.

mod machine_util;

use c64::{C64Error, Player, PlayerConfig, RecordingSid, VideoStandard};
use machine_util::{assert_period, cycles_of, diffs, run, Code, TuneFile, BAD_LINE_TOL};

const PAL_FRAME: u64 = 19_656;
const NTSC_FRAME: u64 = 17_095;

/// init = RTS, play = "INC $1100; write it to $D400".
fn counter_tune(speed: u32, flags: u16) -> TuneFile {
    let mut c = Code::new(0x1000);
    c.rts();
    let play = c.here();
    c.inc(0x1100).lda_abs(0x1100).sta(0xD400).rts();
    let mut t = TuneFile::psid(0x1000, c.b);
    t.play = play;
    t.speed = speed;
    t.flags = flags;
    t
}

#[test]
fn vbi_tune_gets_one_play_call_per_pal_frame() {
    let tune = counter_tune(0, 0x14).tune();
    let cfg = PlayerConfig::for_tune(&tune);
    assert_eq!(cfg.video, VideoStandard::Pal);
    let exact = PlayerConfig {
        bad_lines: false,
        ..cfg.clone()
    };
    let w = run(&tune, 1, exact, 30 * PAL_FRAME);
    let c = cycles_of(&w, 0, 0);
    assert!(c.len() >= 30, "{} play calls", c.len());
    // As in sidplayfp, the raster flag of line 0 latched while the driver set up (the
    // machine starts in the last line): the first play call comes right after init.
    assert!(c[0] < 300, "first play call at cycle {}", c[0]);
    // Then one per frame. The play job's length decides in which cycle of the 3-cycle idle
    // loop the next IRQ arrives, so the latency cycles through 3 values: +-2 cycles, exact
    // on average.
    assert_period(&c[1..], PAL_FRAME, 2);
    // the values are the play counter: each call wrote once
    let vals: Vec<u8> = w.iter().filter(|w| w.reg == 0).map(|w| w.value).collect();
    assert_eq!(vals[..5], [1, 2, 3, 4, 5]);
    // With bad lines the DMA stalls realign the idle loop: +-2 cycles, exact on average.
    let c = cycles_of(&run(&tune, 1, cfg, 30 * PAL_FRAME), 0, 0);
    assert!(c.len() >= 29);
    assert_period(&c[1..], PAL_FRAME, 2);
}

#[test]
fn vbi_tune_gets_one_play_call_per_ntsc_frame() {
    let tune = counter_tune(0, 0x18).tune();
    let cfg = PlayerConfig::for_tune(&tune);
    assert_eq!(cfg.video, VideoStandard::Ntsc);
    let w = run(&tune, 1, cfg, 60 * NTSC_FRAME);
    let c = cycles_of(&w, 0, 0);
    assert!(c.len() >= 59);
    assert!(c[0] < 300, "first play call right after init: {}", c[0]);
    let c = &c[1..];
    // 17 095 is not a multiple of the idle loop's 3 cycles: +-2 cycles of latency jitter
    for d in diffs(c) {
        assert!(d.abs_diff(NTSC_FRAME) <= 2, "{d}");
    }
    let span = c[c.len() - 1] - c[0];
    let n = (c.len() - 1) as u64;
    assert!(span.abs_diff(n * NTSC_FRAME) <= 2);
}

#[test]
fn cia_tune_plays_at_the_kernal_60hz_rate() {
    for (flags, period) in [(0x14u16, 0x4025u64 + 1), (0x18, 0x4295 + 1)] {
        let tune = counter_tune(1, flags).tune();
        let cfg = PlayerConfig::for_tune(&tune);
        let exact = PlayerConfig {
            bad_lines: false,
            ..cfg.clone()
        };
        let c = cycles_of(&run(&tune, 1, exact, 40 * period), 0, 0);
        assert!(c.len() >= 38);
        // the idle loop's phase adds up to 2 cycles of latency jitter, exact on average
        assert_period(&c, period, 2);
        // bad lines delay an IRQ that arrives during the DMA by up to ~43 cycles
        let c = cycles_of(&run(&tune, 1, cfg, 40 * period), 0, 0);
        assert!(c.len() >= 38);
        assert_period(&c, period, BAD_LINE_TOL);
        assert!(diffs(&c).iter().any(|&d| d != period), "bad lines show up");
    }
}

#[test]
fn multi_speed_init_reprograms_the_timer() {
    let mut t = counter_tune(1, 0x14);
    // init: timer A latch = $2000 -> period 8193 cycles (~120 Hz)
    let mut c = Code::new(0x1000);
    c.lda(0x00).sta(0xDC04).lda(0x20).sta(0xDC05).rts();
    let play = c.here();
    c.inc(0x1100).lda_abs(0x1100).sta(0xD400).rts();
    t.data = c.b;
    t.play = play;
    let tune = t.tune();
    let w = run(&tune, 1, PlayerConfig::default(), 985_248);
    let c = cycles_of(&w, 0, 0);
    assert!(
        (118..=121).contains(&c.len()),
        "{} calls in one second",
        c.len()
    );
    let d = diffs(&c);
    // the first period may still be the KERNAL value the timer was counting down
    assert_period(&c[1..], 0x2001, BAD_LINE_TOL);
    assert!(d[1..].iter().all(|&x| x.abs_diff(0x2001) <= BAD_LINE_TOL));
}

#[test]
fn speed_bits_select_per_song() {
    let mut t = counter_tune(0b10, 0x14);
    t.songs = 2;
    let tune = t.tune();
    let vbi = cycles_of(
        &run(&tune, 1, PlayerConfig::default(), 10 * PAL_FRAME),
        0,
        0,
    );
    let cia = cycles_of(
        &run(&tune, 2, PlayerConfig::default(), 10 * PAL_FRAME),
        0,
        0,
    );
    assert_period(&vbi[1..], PAL_FRAME, 2);
    assert_period(&cia, 0x4026, BAD_LINE_TOL);
}

#[test]
fn init_gets_song_minus_one_in_a_and_x_y_zero() {
    let mut c = Code::new(0x1000);
    c.sta(0xD40F).stx(0xD40E).raw(&[0x8C, 0x0D, 0xD4]).rts(); // STA, STX, STY
    let mut t = TuneFile::psid(0x1000, c.b);
    t.songs = 5;
    t.start_song = 2;
    let tune = t.tune();
    let w = run(&tune, 4, PlayerConfig::default(), 50_000);
    let get = |r| w.iter().find(|w| w.reg == r).map(|w| w.value);
    assert_eq!(get(0x0F), Some(3));
    assert_eq!(get(0x0E), Some(0));
    assert_eq!(get(0x0D), Some(0));
    // the driver's $D418 = $0F comes first
    assert_eq!((w[0].reg, w[0].value), (0x18, 0x0F));
}

/// A tune spanning $A000-$E0FF: init at $A000 reports $01 into $D401, play at $E000 into
/// $D402, and a routine at $D000 (called by play) stores $01 into $02.
fn banking_tune(play_at_d000: bool) -> TuneFile {
    let mut c = Code::new(0xA000);
    c.lda_abs(0x0001).sta(0xD401).rts();
    c.org(0xD000);
    let d000 = c.here();
    c.lda_abs(0x0001).raw(&[0x85, 0x02]).inc(0x0003).rts(); // STA $02; INC $0003
    c.org(0xE000);
    c.lda_abs(0x0001).sta(0xD402).rts();
    c.org(0xE100);
    let mut t = TuneFile::psid(0xA000, c.b);
    t.play = if play_at_d000 { d000 } else { 0xE000 };
    t
}

#[test]
fn init_and_play_get_the_bank_their_address_needs() {
    let tune = banking_tune(false).tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let mut sid = RecordingSid::new();
    p.run_until(5 * PAL_FRAME, &mut sid).unwrap();
    let vals = |r: u8| -> Vec<u8> {
        sid.writes
            .iter()
            .filter(|w| w.reg == r)
            .map(|w| w.value)
            .collect()
    };
    assert_eq!(vals(1), [0x36], "init under BASIC runs with $36");
    let play = vals(2);
    assert!(play.len() >= 4);
    assert!(play.iter().all(|&v| v == 0x35), "play under KERNAL: $35");
    assert_eq!(p.machine().port().1, 0x37, "idle loop runs with $37");

    let tune = banking_tune(true).tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    p.run_until(5 * PAL_FRAME, &mut RecordingSid::new())
        .unwrap();
    assert!(p.machine().ram()[3] >= 4, "play under I/O was called");
    assert_eq!(p.machine().ram()[2], 0x34, "play under I/O runs with $34");
    assert!(p.play_calls() >= 4);
}

#[test]
fn psid_without_play_runs_its_own_irq_handler() {
    let mut c = Code::new(0x1000);
    c.sei();
    let vec_at = c.b.len();
    c.set_vector(0x0314, 0);
    c.lda(0x1B)
        .sta(0xD011)
        .lda(0x80)
        .sta(0xD012)
        .lda(0x01)
        .sta(0xD01A);
    c.lda(0x35).raw(&[0x85, 0x01]); // $01 = $35: stays, there is no play job
    c.rts();
    let handler = c.here();
    c.lda(0x01).sta(0xD019);
    c.inc(0x1100).lda_abs(0x1100).sta(0xD404);
    c.jmp(0xEA81);
    let [l, h] = handler.to_le_bytes();
    c.b[vec_at + 1] = l;
    c.b[vec_at + 6] = h;
    // with $35 the KERNAL is off and IRQs would go through RAM $FFFE: only check what
    // the driver leaves right after init returned
    let tune = TuneFile::psid(0x1000, c.b.clone()).tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let mut sid = RecordingSid::new();
    let mut t = 0;
    while !p.init_returned() {
        t += 20;
        p.run_until(t, &mut sid).unwrap();
        assert!(t < 10_000);
    }
    assert_eq!(p.machine().port().1, 0x35, "$01 as init left it");
    assert_eq!(p.play_calls(), 0);

    // same tune keeping the KERNAL in: the handler runs once per frame
    let mut c2 = c.b.clone();
    let pos = c2
        .windows(4)
        .position(|w| w == [0xA9, 0x35, 0x85, 0x01])
        .unwrap();
    c2[pos + 1] = 0x37;
    let tune = TuneFile::psid(0x1000, c2).tune();
    let w = run(&tune, 1, PlayerConfig::default(), 20 * PAL_FRAME);
    let c = cycles_of(&w, 0, 4);
    assert!(c.len() >= 19);
    // (the first call: the raster flag latched before init enabled the interrupt)
    assert_period(&c[1..], PAL_FRAME, 2);
}

#[test]
fn rsid_with_own_raster_irq() {
    for (flags, frame) in [(0x14u16, PAL_FRAME), (0x18, NTSC_FRAME)] {
        rsid_raster(flags, frame);
    }
}

fn rsid_raster(flags: u16, frame: u64) {
    let mut c = Code::new(0x1000);
    c.php().pla().sta(0xD405); // P at init entry
    c.sei().lda(0x7F).sta(0xDC0D).lda_abs(0xDC0D);
    let vec_at = c.b.len();
    c.set_vector(0x0314, 0);
    c.lda(0x1B)
        .sta(0xD011)
        .lda(0x40)
        .sta(0xD012)
        .lda(0x01)
        .sta(0xD01A);
    c.cli().rts();
    let handler = c.here();
    c.lda_abs(0xD012).sta(0xD406);
    c.lda(0x01).sta(0xD019);
    c.inc(0x1100).lda_abs(0x1100).sta(0xD404);
    c.jmp(0xEA81);
    let [l, h] = handler.to_le_bytes();
    c.b[vec_at + 1] = l;
    c.b[vec_at + 6] = h;
    let mut t = TuneFile::rsid(0x1000, c.b);
    t.flags = flags;
    let tune = t.tune();
    let w = run(&tune, 1, PlayerConfig::for_tune(&tune), 20 * frame);
    let p = w.iter().find(|w| w.reg == 5).unwrap().value;
    assert_eq!(p & 0x04, 0, "RSID init runs with I clear (P = ${p:02X})");
    let c = cycles_of(&w, 0, 4);
    assert!(c.len() >= 20);
    // The first call comes as soon as init enables the interrupt: the raster flag of line
    // 0 latched while the driver set up, as in sidplayfp (the tune does not acknowledge it).
    let c = &c[1..];
    // The handler's length decides in which cycle of the 3-cycle idle loop the next IRQ
    // arrives, so the latency may cycle through 3 values: +-2 cycles, exact on average.
    for d in diffs(c) {
        assert!(d.abs_diff(frame) <= 2, "{d}");
    }
    let span = c[c.len() - 1] - c[0];
    assert!(span.abs_diff((c.len() as u64 - 1) * frame) <= 2);
    // from then on the handler runs in raster line $40 (it reads $D012 first thing)
    let lines: Vec<u8> = w.iter().filter(|w| w.reg == 6).map(|w| w.value).collect();
    assert!(
        lines.len() >= 20 && lines[1..].iter().all(|&l| l == 0x40),
        "{lines:?}"
    );
}

#[test]
fn rsid_with_cia2_nmi_samples() {
    let mut c = Code::new(0x1000);
    let vec_at = c.b.len();
    c.set_vector(0x0318, 0);
    // timer A of CIA 2: latch 299 -> one NMI every 300 cycles
    c.lda(43).sta(0xDD04).lda(1).sta(0xDD05);
    c.lda(0x81).sta(0xDD0D).lda(0x11).sta(0xDD0E);
    c.rts();
    let nmi = c.here();
    c.pha().lda_abs(0xDD0D);
    c.inc(0x1100).lda_abs(0x1100).raw(&[0x29, 0x0F]).sta(0xD418); // AND #$0F
    c.pla().rti();
    let [l, h] = nmi.to_le_bytes();
    c.b[vec_at + 1] = l;
    c.b[vec_at + 6] = h;
    let tune = TuneFile::rsid(0x1000, c.b).tune();
    let w = run(&tune, 1, PlayerConfig::default(), 100_000);
    let c: Vec<u64> = cycles_of(&w, 0, 0x18).into_iter().skip(1).collect();
    assert!((320..=334).contains(&c.len()), "{} samples", c.len());
    // the KERNAL's CIA 1 IRQ keeps running and bad lines stall the CPU: NMIs see jitter
    assert_period(&c, 300, BAD_LINE_TOL);
}

#[test]
fn rsid_init_that_never_returns_is_fine() {
    let mut c = Code::new(0x1000);
    c.cli().inc(0xD400).jmp(0x1001);
    let tune = TuneFile::rsid(0x1000, c.b).tune();
    let cfg = PlayerConfig {
        init_budget_cycles: 10_000,
        ..PlayerConfig::default()
    };
    let w = run(&tune, 1, cfg, 200_000);
    assert!(w.len() > 1000);
}

#[test]
fn jam_is_reported_with_pc_and_opcode() {
    let tune = TuneFile::psid(0x1000, vec![0xEA, 0xEA, 0x12]).tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let e = p.run_until(100_000, &mut RecordingSid::new()).unwrap_err();
    match e {
        C64Error::Jam { pc, opcode, .. } => assert_eq!((pc, opcode), (0x1002, 0x12)),
        e => panic!("{e}"),
    }
    // stays stopped
    assert_eq!(p.run_until(200_000, &mut RecordingSid::new()), Err(e));
    assert!(p.cycle() < 100_000);
}

#[test]
fn endless_init_is_reported() {
    let mut c = Code::new(0x1000);
    c.jmp_self();
    let play = c.here();
    c.rts();
    let mut t = TuneFile::psid(0x1000, c.b);
    t.play = play;
    let tune = t.tune();
    let cfg = PlayerConfig {
        init_budget_cycles: 50_000,
        ..PlayerConfig::default()
    };
    let mut p = Player::new(&tune, 1, cfg).unwrap();
    let e = p
        .run_until(10_000_000, &mut RecordingSid::new())
        .unwrap_err();
    assert_eq!(
        e,
        C64Error::InitTimeout {
            init: 0x1000,
            budget: 50_000
        }
    );
    assert!(p.cycle() <= 50_010);
}

#[test]
fn endless_play_is_reported() {
    let mut c = Code::new(0x1000);
    c.rts();
    let play = c.here();
    c.jmp_self();
    let mut t = TuneFile::psid(0x1000, c.b);
    t.play = play;
    let tune = t.tune();
    let cfg = PlayerConfig {
        play_budget_cycles: 30_000,
        ..PlayerConfig::default()
    };
    let mut p = Player::new(&tune, 1, cfg).unwrap();
    let e = p
        .run_until(10_000_000, &mut RecordingSid::new())
        .unwrap_err();
    match e {
        C64Error::PlayTimeout {
            play: 0x1001,
            budget: 30_000,
            called_at,
        } => assert!(called_at < PAL_FRAME + 100, "{called_at}"),
        e => panic!("{e}"),
    }
}

#[test]
fn brk_without_handler_is_reported() {
    let tune = TuneFile::psid(0x1000, vec![0xEA, 0x00, 0x00]).tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let e = p.run_until(100_000, &mut RecordingSid::new()).unwrap_err();
    assert!(matches!(e, C64Error::Brk { pc: 0x1001, .. }), "{e}");
}

#[test]
fn mus_basic_and_bad_song_are_rejected() {
    let mut t = counter_tune(0, 0x14);
    t.flags |= 1;
    assert_eq!(
        Player::new(&t.tune(), 1, PlayerConfig::default()).unwrap_err(),
        C64Error::MusNotSupported
    );
    let mut r = TuneFile::rsid(
        0x0801,
        vec![
            0x0B, 0x08, 0x0A, 0x00, 0x9E, 0x32, 0x30, 0x36, 0x31, 0, 0, 0, 0x60,
        ],
    );
    r.flags |= 2;
    r.init = 0;
    assert_eq!(
        Player::new(&r.tune(), 1, PlayerConfig::default()).unwrap_err(),
        C64Error::BasicNotSupported
    );
    let t = counter_tune(0, 0x14).tune();
    assert_eq!(
        Player::new(&t, 2, PlayerConfig::default()).unwrap_err(),
        C64Error::NoSuchSong { song: 2, songs: 1 }
    );
    assert!(Player::new(&t, 0, PlayerConfig::default()).is_err());
}

#[test]
fn driver_placement() {
    let mut t = counter_tune(0, 0x14);
    t.start_page = 0xC0;
    t.page_length = 2;
    let p = Player::new(&t.tune(), 1, PlayerConfig::default()).unwrap();
    assert_eq!(p.driver().base, 0xC000);

    let t = counter_tune(0, 0x14);
    let p = Player::new(&t.tune(), 1, PlayerConfig::default()).unwrap();
    assert_eq!(p.driver().base, 0x0400, "first free page");

    let mut t = counter_tune(0, 0x14);
    t.start_page = 0xFF;
    let mut p = Player::new(&t.tune(), 1, PlayerConfig::default()).unwrap();
    assert_eq!(
        p.driver().base,
        0x0334,
        "cassette buffer when the tune has no free page"
    );
    let mut sid = RecordingSid::new();
    p.run_until(5 * PAL_FRAME, &mut sid).unwrap();
    assert!(cycles_of(&sid.writes, 0, 0).len() >= 4);

    // a tune filling $0300-$CFFF with no free page
    let mut big = counter_tune(0, 0x14);
    big.load = 0x0300;
    big.init = 0x0300;
    big.play = 0x0300;
    big.data = vec![0x60; 0xD000 - 0x0300];
    big.start_page = 0xFF;
    assert_eq!(
        Player::new(&big.tune(), 1, PlayerConfig::default()).unwrap_err(),
        C64Error::NoDriverSpace
    );
}

#[test]
fn second_sid_gets_its_own_chip_index() {
    let mut c = Code::new(0x1000);
    c.rts();
    let play = c.here();
    c.lda(0x21)
        .sta(0xD404)
        .lda(0x41)
        .sta(0xD424)
        .lda(0x11)
        .sta(0xDE04)
        .rts();
    let mut t = TuneFile::psid(0x1000, c.b);
    t.version = 4;
    t.play = play;
    t.sid2 = 0x42;
    t.sid3 = 0xE0;
    let tune = t.tune();
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    assert_eq!(p.sid_bases(), &[0xD400, 0xD420, 0xDE00]);
    let mut sid = RecordingSid::new();
    p.run_until(2 * PAL_FRAME, &mut sid).unwrap();
    let w: Vec<(usize, u8, u8)> = sid
        .writes
        .iter()
        .filter(|w| w.reg == 4)
        .map(|w| (w.chip, w.reg, w.value))
        .take(3)
        .collect();
    assert_eq!(w, [(0, 4, 0x21), (1, 4, 0x41), (2, 4, 0x11)]);
}

#[test]
fn runs_are_deterministic_and_chunking_does_not_matter() {
    let tune = counter_tune(1, 0x14).tune();
    let a = run(&tune, 1, PlayerConfig::default(), 10 * PAL_FRAME);
    let mut p = Player::new(&tune, 1, PlayerConfig::default()).unwrap();
    let mut sid = RecordingSid::new();
    let mut t = 0;
    while t < 10 * PAL_FRAME {
        t += 997;
        p.run_until(t.min(10 * PAL_FRAME), &mut sid).unwrap();
    }
    assert_eq!(a, sid.writes);
    assert!(p.cycle() >= 10 * PAL_FRAME && p.cycle() < 10 * PAL_FRAME + 8);
}

#[test]
fn power_on_delay_moves_the_phase() {
    let tune = counter_tune(1, 0x14).tune();
    let first = |delay| {
        let cfg = PlayerConfig {
            power_on_delay: delay,
            ..PlayerConfig::default()
        };
        cycles_of(&run(&tune, 1, cfg, 3 * PAL_FRAME), 0, 0)[0]
    };
    assert_ne!(first(31_000), first(40_000));
    assert_eq!(first(31_000), first(31_000));
}

/// Random code and random header fields must never panic or hang the machine.
#[test]
fn random_code_never_panics() {
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut outcomes = [0u32; 3];
    for i in 0..400 {
        let len = 16 + (rnd() % 2048) as usize;
        let data: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        let rsid = i % 3 == 0;
        let load = if rsid {
            0x07E8 + (rnd() % 0x8000) as u16
        } else {
            // anywhere, zero page, stack and vectors included
            (rnd() % (0x1_0000 - len as u64)) as u16
        };
        let mut t = if rsid {
            TuneFile::rsid(load, data)
        } else {
            let mut t = TuneFile::psid(load, data);
            t.play = match i % 4 {
                0 => 0,
                1 => rnd() as u16,
                _ => load + (rnd() % len as u64) as u16,
            };
            t.speed = rnd() as u32;
            t.songs = 1 + (rnd() % 256) as u16;
            t.start_song = 1;
            t.flags = rnd() as u16 & 0x03FC; // no MUS; any clock/model/PlaySID bits
            t
        };
        t.init = load + (rnd() % len as u64) as u16;
        let Ok(tune) = sidfile::SidTune::parse(&t.bytes()) else {
            continue;
        };
        let cfg = PlayerConfig {
            video: if i % 2 == 0 {
                VideoStandard::Pal
            } else {
                VideoStandard::Ntsc
            },
            power_on_delay: (rnd() % 50_000) as u32,
            init_budget_cycles: 30_000,
            play_budget_cycles: 20_000,
            ..PlayerConfig::default()
        };
        let song = (rnd() % (u64::from(tune.songs) + 2)) as u16;
        let Ok(mut p) = Player::new(&tune, song, cfg) else {
            assert!(song == 0 || song > tune.songs || tune.start_page == 0xFF || load < 0x0400);
            continue;
        };
        match p.run_until(60_000, &mut c64::NullSid) {
            Ok(()) => outcomes[0] += 1,
            Err(C64Error::Jam { .. }) => outcomes[1] += 1,
            Err(_) => outcomes[2] += 1,
        }
        assert!(p.cycle() < 60_000 + 8);
    }
    assert!(outcomes.iter().sum::<u32>() >= 250, "{outcomes:?}");
}

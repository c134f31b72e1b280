//! The machine fed random code: a PSID or RSID whose image is the fuzzer's bytes, with init and
//! play addresses chosen by the fuzzer. Running it must end in progress or a typed error
//! (jam, BRK, budget exceeded) within its cycle budget, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fn header(rsid: bool, load: u16, init: u16, play: u16, flags: u16, sid2: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(0x7C);
    h.extend_from_slice(if rsid { b"RSID" } else { b"PSID" });
    let (hdr_load, play, speed) = if rsid { (0, 0, 0u32) } else { (load, play, 0x5) };
    for v in [3u16, 0x7C, hdr_load, init, play, 3, 1] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.extend_from_slice(&speed.to_be_bytes());
    h.resize(0x76, 0);
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&[0, 0, sid2, 0]);
    if rsid {
        h.extend_from_slice(&load.to_le_bytes());
    }
    h
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let rsid = data[0] & 1 != 0;
    let load = if rsid {
        0x0800 + u16::from(data[1]) * 0x20
    } else {
        u16::from_le_bytes([data[1], data[2]]).max(0x0200)
    };
    let code = &data[8..];
    if code.is_empty() {
        return;
    }
    let off = |b: u8| load.wrapping_add(u16::from(b) % code.len().min(256) as u16);
    let init = off(data[3]);
    let play = if data[4] & 0x80 != 0 { 0 } else { off(data[5]) };
    let flags = u16::from(data[6]) << 2;
    let sid2 = if data[7] & 1 != 0 { 0x42 } else { 0 };
    let mut file = header(rsid, load, init, play, flags, sid2);
    file.extend_from_slice(code);
    let Ok(tune) = sidfile::SidTune::parse(&file) else {
        return;
    };
    for song in 1..=tune.songs {
        let mut cfg = c64::PlayerConfig::for_tune(&tune);
        cfg.init_budget_cycles = 200_000;
        cfg.play_budget_cycles = 50_000;
        let Ok(mut player) = c64::Player::new(&tune, song, cfg) else {
            continue;
        };
        let mut sid = c64::NullSid;
        // Half a second of C64 time per song, in frame-sized steps.
        let mut t = 0;
        while t < 500_000 {
            t += 19_656;
            if player.run_until(t, &mut sid).is_err() {
                break;
            }
            assert!(player.cycle() >= t, "run_until stopped early");
        }
    }
});

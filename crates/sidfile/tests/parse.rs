//! Header parsing: every field, every rule, every error.

use sidfile::{Clock, Format, SidError, SidModel, SidTune, SidWarning, Speed};

/// A header builder: the fields of `SID_file_format.txt`, big-endian, as a test writes them.
#[derive(Clone)]
struct H {
    magic: &'static [u8; 4],
    version: u16,
    data_offset: Option<u16>,
    load: u16,
    init: u16,
    play: u16,
    songs: u16,
    start: u16,
    speed: u32,
    name: Vec<u8>,
    author: Vec<u8>,
    released: Vec<u8>,
    flags: u16,
    start_page: u8,
    page_len: u8,
    sid2: u8,
    sid3: u8,
}

impl H {
    fn psid(version: u16) -> H {
        H {
            magic: b"PSID",
            version,
            data_offset: None,
            load: 0x1000,
            init: 0x1000,
            play: 0x1003,
            songs: 1,
            start: 1,
            speed: 0,
            name: b"Test Tune".to_vec(),
            author: b"SIDFlow".to_vec(),
            released: b"2026".to_vec(),
            flags: 0,
            start_page: 0,
            page_len: 0,
            sid2: 0,
            sid3: 0,
        }
    }

    fn rsid() -> H {
        H {
            magic: b"RSID",
            load: 0,
            init: 0x0810,
            play: 0,
            ..H::psid(2)
        }
    }

    fn bytes(&self, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(self.magic);
        let off = self
            .data_offset
            .unwrap_or(if self.version == 1 { 0x76 } else { 0x7C });
        for v in [
            self.version,
            off,
            self.load,
            self.init,
            self.play,
            self.songs,
            self.start,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&self.speed.to_be_bytes());
        for s in [&self.name, &self.author, &self.released] {
            let mut f = s.clone();
            f.resize(32, 0);
            b.extend_from_slice(&f);
        }
        if self.version >= 2 {
            b.extend_from_slice(&self.flags.to_be_bytes());
            b.extend_from_slice(&[self.start_page, self.page_len, self.sid2, self.sid3]);
        }
        b.extend_from_slice(data);
        b
    }
}

const CODE: &[u8] = &[0xA9, 0x0F, 0x60, 0x60]; // LDA #$0F; RTS; RTS

#[test]
fn psid_v2_every_field() {
    let mut h = H::psid(2);
    h.songs = 5;
    h.start = 3;
    h.speed = 0b10;
    h.flags = 0b01_10_01_00; // clock PAL, model 8580 for SID 1, bit 6-7 = 01
    h.start_page = 0x20;
    h.page_len = 0x10;
    h.name = b"Caf\xe9 \xc4rger".to_vec(); // Latin-1
    let bytes = h.bytes(CODE);
    let t = SidTune::parse(&bytes).unwrap();
    assert_eq!(t.format, Format::Psid);
    assert_eq!(t.version, 2);
    assert_eq!(t.data_offset, 0x7C);
    assert_eq!(t.load_address, 0x1000);
    assert!(!t.embedded_load_address);
    assert_eq!(t.init_address, 0x1000);
    assert_eq!(t.play_address, 0x1003);
    assert_eq!(t.songs, 5);
    assert_eq!(t.start_song, 3);
    assert_eq!(t.name, "Café Ärger");
    assert_eq!(t.author, "SIDFlow");
    assert_eq!(t.released, "2026");
    assert_eq!(t.clock, Clock::Pal);
    assert_eq!(t.model(), SidModel::Mos8580);
    assert_eq!(t.chips.len(), 1);
    assert_eq!(t.chips[0].address, 0xD400);
    assert_eq!((t.start_page, t.page_length), (0x20, 0x10));
    assert_eq!(t.data, CODE);
    assert_eq!(t.end_address(), 0x1004);
    assert_eq!(t.speed_of(1), Speed::Vbi);
    assert_eq!(t.speed_of(2), Speed::Cia);
    assert!(t.warnings.is_empty());
    assert!(!t.mus_player && !t.psid_specific && !t.basic);
}

#[test]
fn v1_has_no_flags_and_embedded_load_address() {
    let mut h = H::psid(1);
    h.load = 0;
    h.init = 0;
    let mut data = vec![0x00, 0xC0];
    data.extend_from_slice(CODE);
    let t = SidTune::parse(&h.bytes(&data)).unwrap();
    assert_eq!(t.data_offset, 0x76);
    assert!(t.embedded_load_address);
    assert_eq!(t.load_address, 0xC000);
    assert_eq!(t.init_address, 0xC000, "init 0 means the load address");
    assert_eq!(t.data, CODE);
    assert_eq!(t.clock, Clock::Unknown);
    assert_eq!(t.model(), SidModel::Unknown);
    assert_eq!(t.flags, 0);
}

#[test]
fn all_clock_and_model_encodings() {
    for (bits, clock) in [
        (0, Clock::Unknown),
        (1, Clock::Pal),
        (2, Clock::Ntsc),
        (3, Clock::Any),
    ] {
        let mut h = H::psid(2);
        h.flags = bits << 2;
        assert_eq!(SidTune::parse(&h.bytes(CODE)).unwrap().clock, clock);
    }
    for (bits, model) in [
        (0, SidModel::Unknown),
        (1, SidModel::Mos6581),
        (2, SidModel::Mos8580),
        (3, SidModel::Any),
    ] {
        let mut h = H::psid(2);
        h.flags = bits << 4;
        assert_eq!(SidTune::parse(&h.bytes(CODE)).unwrap().model(), model);
    }
}

#[test]
fn flags_mus_and_psid_specific_and_basic() {
    let mut h = H::psid(2);
    h.flags = 0b11;
    let t = SidTune::parse(&h.bytes(CODE)).unwrap();
    assert!(t.mus_player && t.psid_specific && !t.basic);

    let mut r = H::rsid();
    r.flags = 0b10;
    r.init = 0;
    let mut data = vec![0x01, 0x08];
    data.extend_from_slice(CODE);
    let t = SidTune::parse(&r.bytes(&data)).unwrap();
    assert!(t.basic && !t.psid_specific);
    assert_eq!(t.format, Format::Rsid);
}

#[test]
fn extra_sids_v3_v4() {
    let mut h = H::psid(4);
    h.flags = (1 << 4) | (2 << 6); // SID1 6581, SID2 8580, SID3 unknown -> SID1's
    h.sid2 = 0x42;
    h.sid3 = 0xE0;
    let t = SidTune::parse(&h.bytes(CODE)).unwrap();
    assert_eq!(t.chips.len(), 3);
    assert_eq!(t.chips[1].address, 0xD420);
    assert_eq!(t.chips[1].model, SidModel::Mos8580);
    assert_eq!(t.chips[2].address, 0xDE00);
    assert_eq!(t.chips[2].model, SidModel::Mos6581);

    // v2 ignores the bytes that v3/v4 use.
    let mut h2 = H::psid(2);
    h2.sid2 = 0x42;
    h2.sid3 = 0x50;
    assert_eq!(SidTune::parse(&h2.bytes(CODE)).unwrap().chips.len(), 1);
    // v3 ignores the third.
    let mut h3 = H::psid(3);
    h3.sid2 = 0x50;
    h3.sid3 = 0x60;
    let t3 = SidTune::parse(&h3.bytes(CODE)).unwrap();
    assert_eq!(t3.chips.len(), 2);
    assert_eq!(t3.chips[1].address, 0xD500);
}

#[test]
fn speed_bits_wrap_rules() {
    let mut h = H::psid(2);
    h.songs = 40;
    h.speed = 1 << 31;
    let t = SidTune::parse(&h.bytes(CODE)).unwrap();
    assert_eq!(t.speed_of(32), Speed::Cia);
    assert_eq!(t.speed_of(40), Speed::Cia, "songs above 32 reuse bit 31");
    assert_eq!(t.speed_of(31), Speed::Vbi);

    let mut v1 = H::psid(1);
    v1.songs = 40;
    v1.speed = 1;
    let t = SidTune::parse(&v1.bytes(CODE)).unwrap();
    assert_eq!(t.speed_of(33), Speed::Cia, "PSID v1 wraps modulo 32");
    assert_eq!(t.speed_of(34), Speed::Vbi);

    let mut r = H::rsid();
    r.songs = 2;
    let t = SidTune::parse(&r.bytes(&[0x10, 0x08, 0x60])).unwrap();
    assert_eq!(t.speed_of(1), Speed::Cia, "RSID is always CIA");
}

#[test]
fn md5_is_of_the_whole_file() {
    let bytes = H::psid(2).bytes(CODE);
    let t = SidTune::parse(&bytes).unwrap();
    // Independent check with the md5sum tool when present.
    let hex = t.md5_hex();
    assert_eq!(hex.len(), 32);
    if let Ok(out) = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bytes)?;
            c.wait_with_output()
        })
    {
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(s.split_whitespace().next(), Some(hex.as_str()));
    }
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    assert_ne!(SidTune::parse(&other).unwrap().md5, t.md5);
}

#[test]
fn strings_may_fill_all_32_bytes() {
    let mut h = H::psid(2);
    h.name = vec![b'A'; 32];
    let t = SidTune::parse(&h.bytes(CODE)).unwrap();
    assert_eq!(t.name.len(), 32);
}

fn err(bytes: &[u8]) -> SidError {
    match SidTune::parse(bytes) {
        Err(e) => {
            // Every error has a human-readable message.
            assert!(!e.to_string().is_empty());
            e
        }
        Ok(t) => panic!("expected an error, parsed {t:?}"),
    }
}

#[test]
fn truncated_headers() {
    let full = H::psid(2).bytes(CODE);
    for len in [0, 3, 5, 0x20, 0x75, 0x7B] {
        assert!(
            matches!(err(&full[..len]), SidError::Truncated { .. }),
            "len {len}"
        );
    }
    assert!(matches!(
        err(&H::psid(1).bytes(CODE)[..0x70]),
        SidError::Truncated { needed: 0x76, .. }
    ));
}

#[test]
fn bad_magic_and_version() {
    let mut b = H::psid(2).bytes(CODE);
    b[..4].copy_from_slice(b"MThd");
    assert_eq!(err(&b), SidError::BadMagic("MThd".into()));
    for v in [0, 5, 0xFFFF] {
        assert!(matches!(
            err(&H::psid(v).bytes(CODE)),
            SidError::UnsupportedVersion { .. }
        ));
    }
    let mut r = H::rsid();
    r.version = 1;
    assert!(matches!(
        err(&r.bytes(CODE)),
        SidError::UnsupportedVersion {
            format: Format::Rsid,
            version: 1
        }
    ));
}

#[test]
fn bad_data_offset() {
    let mut h = H::psid(2);
    h.data_offset = Some(0x76);
    assert!(matches!(
        err(&h.bytes(CODE)),
        SidError::BadDataOffset { .. }
    ));
}

#[test]
fn song_count_and_start_song() {
    for n in [0, 257, 1000] {
        let mut h = H::psid(2);
        h.songs = n;
        assert_eq!(err(&h.bytes(CODE)), SidError::BadSongCount(n));
    }
    let mut h = H::psid(2);
    h.songs = 256;
    h.start = 256;
    assert!(SidTune::parse(&h.bytes(CODE)).is_ok());
    for start in [0, 4] {
        let mut h = H::psid(2);
        h.songs = 3;
        h.start = start;
        let bytes = h.bytes(CODE);
        assert_eq!(
            err(&bytes),
            SidError::StartSongOutOfRange {
                start_song: start,
                songs: 3
            }
        );
        // HVSC has such files; the lenient parser plays them from song 1.
        let t = SidTune::parse_lenient(&bytes).unwrap();
        assert_eq!(t.start_song, 1);
        assert_eq!(
            t.warnings,
            vec![SidWarning::StartSongOutOfRange {
                start_song: start,
                songs: 3
            }]
        );
    }
}

#[test]
fn data_that_does_not_fit() {
    assert_eq!(err(&H::psid(2).bytes(&[])), SidError::NoData);
    let mut h = H::psid(2);
    h.load = 0;
    assert_eq!(err(&h.bytes(&[0x00])), SidError::MissingLoadAddress);
    assert_eq!(err(&h.bytes(&[0x00, 0x10])), SidError::NoData);
    let mut h = H::psid(2);
    h.load = 0xFFF0;
    h.init = 0xFFF0;
    assert!(
        SidTune::parse(&h.bytes(&[0x60; 16])).is_ok(),
        "exactly fits"
    );
    assert!(matches!(
        err(&h.bytes(&[0x60; 17])),
        SidError::DataDoesNotFit {
            load: 0xFFF0,
            len: 17,
            end: 0x10001
        }
    ));
}

#[test]
fn rsid_rules() {
    let data = |load: u16| {
        let mut d = load.to_le_bytes().to_vec();
        d.extend_from_slice(&[0x60; 64]);
        d
    };
    assert!(SidTune::parse(&H::rsid().bytes(&data(0x0801))).is_ok());

    let mut r = H::rsid();
    r.load = 0x0801;
    assert!(matches!(err(&r.bytes(CODE)), SidError::RsidRule(_)));
    let mut r = H::rsid();
    r.play = 0x0810;
    assert!(matches!(
        err(&r.bytes(&data(0x0801))),
        SidError::RsidRule(_)
    ));
    let mut r = H::rsid();
    r.speed = 1;
    assert!(matches!(
        err(&r.bytes(&data(0x0801))),
        SidError::RsidRule(_)
    ));
    let mut r = H::rsid();
    r.init = 0x0700;
    assert_eq!(
        err(&r.bytes(&data(0x0700))),
        SidError::RsidLoadTooLow(0x0700)
    );
    let mut r = H::rsid();
    r.init = 0x2000; // outside the image
    assert_eq!(err(&r.bytes(&data(0x0801))), SidError::RsidBadInit(0x2000));
    let mut r = H::rsid();
    r.init = 0xA000; // inside the image but under BASIC ROM
    let mut big = 0x9000u16.to_le_bytes().to_vec();
    big.extend_from_slice(&vec![0x60; 0x2000]);
    assert_eq!(err(&r.bytes(&big)), SidError::RsidBadInit(0xA000));
    let mut r = H::rsid();
    r.flags = 0b10; // BASIC
    r.init = 0x0810;
    assert!(matches!(
        err(&r.bytes(&data(0x0801))),
        SidError::RsidRule(_)
    ));
}

#[test]
fn invalid_extra_sid_addresses() {
    for b in [0x41u8, 0x43, 0x80, 0xD0, 0xDF, 0xFF, 0x01] {
        let mut h = H::psid(3);
        h.sid2 = b;
        assert_eq!(
            err(&h.bytes(CODE)),
            SidError::BadSidAddress {
                which: "second",
                byte: b
            },
            "byte {b:02X}"
        );
    }
    let mut h = H::psid(4);
    h.sid2 = 0x42;
    h.sid3 = 0x42;
    assert_eq!(err(&h.bytes(CODE)), SidError::DuplicateSidAddress(0xD420));
    let mut h = H::psid(4);
    h.sid3 = 0x42;
    assert_eq!(err(&h.bytes(CODE)), SidError::ThirdWithoutSecond);
    let mut h = H::psid(4);
    h.sid2 = 0x42;
    h.sid3 = 0x43;
    assert!(matches!(
        err(&h.bytes(CODE)),
        SidError::BadSidAddress { which: "third", .. }
    ));
}

#[test]
fn relocation_info() {
    let ok = |sp, pl| {
        let mut h = H::psid(2);
        h.start_page = sp;
        h.page_len = pl;
        SidTune::parse(&h.bytes(CODE))
    };
    assert!(ok(0, 0).is_ok());
    assert!(ok(0xFF, 0).is_ok());
    assert!(ok(0x04, 0x0C).is_ok()); // $0400-$0FFF, just below the image at $1000
    for (sp, pl) in [
        (0x20, 0),
        (0x10, 1),
        (0x02, 4),
        (0x9F, 2),
        (0xC0, 0x20),
        (0xF0, 0x20),
    ] {
        assert!(
            matches!(ok(sp, pl), Err(SidError::BadRelocation { .. })),
            "{sp:02X}+{pl}"
        );
    }
}

#[test]
fn never_panics_on_garbage() {
    // A cheap deterministic sweep; the cargo-fuzz target in fuzz/ goes much further.
    let base = H::psid(3).bytes(CODE);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut b = base.clone();
        let n = (x as usize) % 6 + 1;
        for k in 0..n {
            let i = ((x >> (k * 4)) as usize * 31 + k) % b.len();
            b[i] = (x >> (k * 3)) as u8;
        }
        b.truncate(((x >> 8) as usize) % (base.len() + 1));
        let _ = SidTune::parse(&b);
        let _ = SidTune::parse_lenient(&b);
    }
}

//! Header edits of an update script applied to a tune's bytes (pure).
//!
//! Field positions are those of the PSID/RSID format (`SID_file_format.txt`): songs at
//! `$0E`, start song `$10`, speed `$12`, name/author/released `$16`/`$36`/`$56` (32 bytes
//! each), flags `$76` (bit 0 Compute's Sidplayer, bit 1 PlaySID-specific / C64 BASIC,
//! bits 2-3 clock, bits 4-5 SID model), start page `$78`, page length `$79`. As the HVSC
//! Update Tool does, an edited version 1 file becomes version 2 (the six v2 header bytes
//! added as zeros) and RSID files refuse edits that make no sense for them (speed, the
//! PlaySID bit).

use crate::script::Edit;

const V1_HEADER: usize = 0x76;
const V2_HEADER: usize = 0x7C;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Returns the edited file.
pub fn apply(bytes: &[u8], edit: &Edit) -> Result<Vec<u8>, String> {
    if bytes.len() < V1_HEADER || !(bytes.starts_with(b"PSID") || bytes.starts_with(b"RSID")) {
        return Err("not a PSID/RSID file".into());
    }
    let rsid = bytes.starts_with(b"RSID");
    let mut b = bytes.to_vec();
    if be16(&b, 4) == 1 {
        if be16(&b, 6) as usize != V1_HEADER {
            return Err("version 1 file with a bad data offset".into());
        }
        b.splice(V1_HEADER..V1_HEADER, [0u8; V2_HEADER - V1_HEADER]);
        put16(&mut b, 4, 2);
        put16(&mut b, 6, V2_HEADER as u16);
    }
    if b.len() < V2_HEADER {
        return Err("header too short".into());
    }
    let songs = be16(&b, 0x0E);
    match edit {
        Edit::Credits(fields) => {
            for (at, f) in [0x16usize, 0x36, 0x56].into_iter().zip(fields) {
                if let Some(text) = f {
                    if text.len() > 32 {
                        return Err("credit longer than 32 bytes".into());
                    }
                    b[at..at + 32].fill(0);
                    b[at..at + text.len()].copy_from_slice(text);
                }
            }
        }
        Edit::Speed(v) => {
            if rsid {
                return Err("an RSID tune has no speed field to set".into());
            }
            let mask = if songs >= 32 {
                u32::MAX
            } else {
                (1u32 << songs) - 1
            };
            b[0x12..0x16].copy_from_slice(&(v & mask).to_be_bytes());
        }
        Edit::Songs { songs, start } => {
            put16(&mut b, 0x0E, *songs);
            put16(&mut b, 0x10, *start);
        }
        Edit::InitPlay { init, play } => {
            put16(&mut b, 0x0A, *init);
            put16(&mut b, 0x0C, *play);
        }
        Edit::FreePages { start, pages } => {
            b[0x78] = *start;
            b[0x79] = *pages;
        }
        Edit::Flags {
            mus_player,
            playsid,
            clock,
            model,
        } => {
            let mut f = be16(&b, 0x76);
            let mut set = |shift: u16, width: u16, v: u16| {
                let m = ((1 << width) - 1) << shift;
                f = (f & !m) | ((v << shift) & m);
            };
            if let Some(v) = mus_player {
                set(0, 1, u16::from(*v));
            }
            if let Some(v) = playsid {
                if rsid {
                    return Err("the PlaySID flag does not apply to an RSID tune".into());
                }
                set(1, 1, u16::from(*v));
            }
            if let Some(v) = clock {
                set(2, 2, u16::from(*v));
            }
            if let Some(v) = model {
                set(4, 2, u16::from(*v));
            }
            put16(&mut b, 0x76, f);
        }
        Edit::FixLoad => {
            let load = be16(&b, 0x08);
            let data = V2_HEADER;
            if load == 0 {
                // Embedded load address: keep it in front, two bytes later.
                if b.len() < data + 4 {
                    return Err("no data to fix".into());
                }
                let l = u16::from_le_bytes([b[data], b[data + 1]]).wrapping_add(2);
                b.drain(data..data + 2);
                b[data..data + 2].copy_from_slice(&l.to_le_bytes());
            } else {
                if b.len() < data + 2 {
                    return Err("no data to fix".into());
                }
                put16(&mut b, 0x08, load.wrapping_add(2));
                b.drain(data..data + 2);
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidfile::{Clock, SidModel, SidTune};

    fn psid(version: u16) -> Vec<u8> {
        let hl = if version == 1 { V1_HEADER } else { V2_HEADER };
        let mut h = vec![0u8; hl];
        h[0..4].copy_from_slice(b"PSID");
        put16(&mut h, 4, version);
        put16(&mut h, 6, hl as u16);
        put16(&mut h, 8, 0x1000);
        put16(&mut h, 0x0A, 0x1000);
        put16(&mut h, 0x0C, 0x1003);
        put16(&mut h, 0x0E, 3);
        put16(&mut h, 0x10, 1);
        h[0x16..0x1B].copy_from_slice(b"Old T");
        h.extend_from_slice(&[0xEA, 0xEA, 0x60, 0x60, 0x60]);
        h
    }

    fn parsed(b: &[u8]) -> SidTune {
        SidTune::parse(b).unwrap()
    }

    #[test]
    fn credits_and_flags() {
        let e = Edit::Credits([
            Some(b"New Title".to_vec()),
            None,
            Some(vec![b'1', b'9', 0xE9]),
        ]);
        let t = parsed(&apply(&psid(2), &e).unwrap());
        assert_eq!(t.name, "New Title");
        assert_eq!(t.released, "19é");
        let e = Edit::Flags {
            mus_player: None,
            playsid: None,
            clock: Some(2),
            model: Some(2),
        };
        let t = parsed(&apply(&psid(2), &e).unwrap());
        assert_eq!((t.clock, t.model()), (Clock::Ntsc, SidModel::Mos8580));
        let e = Edit::Flags {
            mus_player: None,
            playsid: None,
            clock: None,
            model: Some(1),
        };
        let t = parsed(
            &apply(
                &apply(
                    &psid(2),
                    &Edit::Flags {
                        mus_player: None,
                        playsid: None,
                        clock: Some(1),
                        model: Some(2),
                    },
                )
                .unwrap(),
                &e,
            )
            .unwrap(),
        );
        assert_eq!(
            (t.clock, t.model()),
            (Clock::Pal, SidModel::Mos6581),
            "other bits kept"
        );
    }

    #[test]
    fn numbers() {
        let t = parsed(&apply(&psid(2), &Edit::Songs { songs: 6, start: 3 }).unwrap());
        assert_eq!((t.songs, t.start_song), (6, 3));
        let t = parsed(&apply(&psid(2), &Edit::Speed(0xFF)).unwrap());
        assert_eq!(t.speed, 0b111, "only the bits of existing songs");
        let t = parsed(
            &apply(
                &psid(2),
                &Edit::InitPlay {
                    init: 0x1001,
                    play: 0x1002,
                },
            )
            .unwrap(),
        );
        assert_eq!((t.init_address, t.play_address), (0x1001, 0x1002));
        let t = parsed(
            &apply(
                &psid(2),
                &Edit::FreePages {
                    start: 0xC0,
                    pages: 0x10,
                },
            )
            .unwrap(),
        );
        assert_eq!((t.start_page, t.page_length), (0xC0, 0x10));
    }

    #[test]
    fn version_1_becomes_version_2() {
        let v1 = psid(1);
        assert_eq!(parsed(&v1).version, 1);
        let t = parsed(&apply(&v1, &Edit::Credits([Some(b"X".to_vec()), None, None])).unwrap());
        assert_eq!((t.version, t.name.as_str()), (2, "X"));
        assert_eq!(t.data, parsed(&v1).data);
    }

    #[test]
    fn fixload_drops_a_duplicate_load_address() {
        let t = parsed(&apply(&psid(2), &Edit::FixLoad).unwrap());
        assert_eq!(t.load_address, 0x1002);
        assert_eq!(t.data, vec![0x60, 0x60, 0x60]);
        // Embedded load address.
        let mut e = psid(2);
        put16(&mut e, 8, 0);
        e.splice(V2_HEADER..V2_HEADER, [0x00, 0x10]);
        let t = parsed(&apply(&e, &Edit::FixLoad).unwrap());
        assert_eq!(t.load_address, 0x1002);
        assert_eq!(t.data, vec![0x60, 0x60, 0x60]);
    }

    #[test]
    fn refusals() {
        assert!(apply(b"hello", &Edit::FixLoad).is_err());
        let mut r = psid(2);
        r[0..4].copy_from_slice(b"RSID");
        assert!(apply(&r, &Edit::Speed(1)).is_err());
        assert!(apply(
            &r,
            &Edit::Flags {
                mus_player: None,
                playsid: Some(true),
                clock: None,
                model: None
            }
        )
        .is_err());
        assert!(apply(&psid(2), &Edit::Credits([Some(vec![b'x'; 33]), None, None])).is_err());
    }
}

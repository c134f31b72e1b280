//! The PSID/RSID header and its validation rules (HVSC `SID_file_format.txt`).

use md5::{Digest, Md5};
use std::fmt;
use thiserror::Error;

/// PSID (player-driven) or RSID (real C64 environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Psid,
    Rsid,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Psid => "PSID",
            Format::Rsid => "RSID",
        })
    }
}

/// The video standard a tune was written for (flags bits 2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clock {
    Unknown,
    Pal,
    Ntsc,
    /// Plays correctly on both.
    Any,
}

/// A SID model as the header states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SidModel {
    Unknown,
    Mos6581,
    Mos8580,
    /// Sounds right on both.
    Any,
}

impl SidModel {
    fn from_bits(bits: u16) -> SidModel {
        match bits & 3 {
            0 => SidModel::Unknown,
            1 => SidModel::Mos6581,
            2 => SidModel::Mos8580,
            _ => SidModel::Any,
        }
    }
}

/// How the play routine is called for one song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speed {
    /// Vertical blank: one call per video frame from the raster IRQ (50 Hz PAL, 60 Hz NTSC).
    Vbi,
    /// CIA 1 timer A: 60 Hz by default, or whatever rate the tune's init programs.
    Cia,
}

/// One SID chip the tune uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SidChip {
    /// Base address: `$D400` for the first, `$D420`-`$DFE0` for extra chips.
    pub address: u16,
    /// The model the header asks for. For the 2nd and 3rd chip "unknown" in the header
    /// already resolves to the first chip's model, as the format specifies.
    pub model: SidModel,
}

/// Something `parse_lenient` repaired, as HVSC players do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidWarning {
    /// The start song was 0 or above the song count; song 1 is used.
    StartSongOutOfRange { start_song: u16, songs: u16 },
}

impl fmt::Display for SidWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SidWarning::StartSongOutOfRange { start_song, songs } => write!(
                f,
                "start song {start_song} is outside 1..={songs}; song 1 is used"
            ),
        }
    }
}

/// Why a file is not a playable PSID/RSID tune.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SidError {
    #[error("file is truncated: {len} bytes, the header needs {needed}")]
    Truncated { len: usize, needed: usize },
    #[error("not a SID file: magic is {0:?}, expected \"PSID\" or \"RSID\"")]
    BadMagic(String),
    #[error("unsupported {format} version {version} (PSID 1-4 and RSID 2-4 exist)")]
    UnsupportedVersion { format: Format, version: u16 },
    #[error("data offset ${offset:04X} is wrong for version {version} (expected ${expected:04X})")]
    BadDataOffset {
        version: u16,
        offset: u16,
        expected: u16,
    },
    #[error("song count {0} is outside 1..=256")]
    BadSongCount(u16),
    #[error("start song {start_song} is outside 1..={songs}")]
    StartSongOutOfRange { start_song: u16, songs: u16 },
    #[error("the file has no C64 data after its header")]
    NoData,
    #[error("load address is 0 but the data is too short to hold the embedded load address")]
    MissingLoadAddress,
    #[error(
        "{len} bytes loaded at ${load:04X} run past the end of the C64's 64 KiB (end ${end:05X})"
    )]
    DataDoesNotFit { load: u16, len: usize, end: u32 },
    #[error("RSID rule violated: {0}")]
    RsidRule(&'static str),
    #[error("RSID load address ${0:04X} is below $07E8")]
    RsidLoadTooLow(u16),
    #[error("RSID init address ${0:04X} is outside the loaded image or under ROM/I/O ($A000-$BFFF, $D000-$FFFF)")]
    RsidBadInit(u16),
    #[error(
        "invalid {which} SID address byte ${byte:02X} (must be even and in $42-$7F or $E0-$FE)"
    )]
    BadSidAddress { which: &'static str, byte: u8 },
    #[error("third SID address ${0:04X} repeats the second SID's")]
    DuplicateSidAddress(u16),
    #[error("third SID given without a second SID")]
    ThirdWithoutSecond,
    #[error("bad relocation info: start page ${start_page:02X}, {page_length} pages ({why})")]
    BadRelocation {
        start_page: u8,
        page_length: u8,
        why: &'static str,
    },
}

/// A parsed, validated PSID/RSID tune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidTune {
    pub format: Format,
    pub version: u16,
    pub data_offset: u16,
    /// Effective load address (the embedded one when the header says 0).
    pub load_address: u16,
    /// True when the header's load address was 0 and the first two data bytes held it.
    pub embedded_load_address: bool,
    /// Effective init address (the load address when the header says 0).
    pub init_address: u16,
    /// Play address; 0 means init installs its own interrupt handler.
    pub play_address: u16,
    pub songs: u16,
    /// 1-based start song.
    pub start_song: u16,
    /// Raw speed word: bit n set = song n+1 uses CIA timing (see [`SidTune::speed_of`]).
    pub speed: u32,
    pub name: String,
    pub author: String,
    pub released: String,
    /// Raw flags word (v2+, 0 for v1).
    pub flags: u16,
    /// Compute!'s Sidplayer MUS data (flags bit 0); no built-in player exists for it.
    pub mus_player: bool,
    /// PSID: PlaySID-specific (flags bit 1).
    pub psid_specific: bool,
    /// RSID: needs the C64 BASIC interpreter (flags bit 1).
    pub basic: bool,
    pub clock: Clock,
    /// 1 to 3 chips; the first is always at `$D400`.
    pub chips: Vec<SidChip>,
    /// Relocation info (v2+): first free page, 0 = find one yourself, `$FF` = none free.
    pub start_page: u8,
    pub page_length: u8,
    /// The C64 bytes, to be placed at `load_address` (embedded load address removed).
    pub data: Vec<u8>,
    /// MD5 of the whole file (header and data): the HVSC `Songlengths.md5` key.
    pub md5: [u8; 16],
    /// What `parse_lenient` repaired; always empty after `parse`.
    pub warnings: Vec<SidWarning>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn latin1(field: &[u8]) -> String {
    field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| char::from(c))
        .collect()
}

/// The memory a valid extra-SID address byte points at, or `None` for "no such chip" (0).
fn extra_sid(byte: u8, which: &'static str) -> Result<Option<u16>, SidError> {
    if byte == 0 {
        return Ok(None);
    }
    let ok = byte & 1 == 0 && ((0x42..=0x7F).contains(&byte) || (0xE0..=0xFE).contains(&byte));
    if !ok {
        return Err(SidError::BadSidAddress { which, byte });
    }
    Ok(Some(0xD000 | (u16::from(byte) << 4)))
}

impl SidTune {
    /// Parses and validates strictly: every rule of the format is an error.
    pub fn parse(bytes: &[u8]) -> Result<SidTune, SidError> {
        Self::parse_with(bytes, true)
    }

    /// Like [`SidTune::parse`], but repairs what HVSC players repair (a start song out
    /// of range becomes 1) and records it in [`SidTune::warnings`].
    pub fn parse_lenient(bytes: &[u8]) -> Result<SidTune, SidError> {
        Self::parse_with(bytes, false)
    }

    fn parse_with(bytes: &[u8], strict: bool) -> Result<SidTune, SidError> {
        const V1_HEADER: usize = 0x76;
        const V2_HEADER: usize = 0x7C;
        if bytes.len() < 6 {
            return Err(SidError::Truncated {
                len: bytes.len(),
                needed: V1_HEADER,
            });
        }
        let format = match &bytes[0..4] {
            b"PSID" => Format::Psid,
            b"RSID" => Format::Rsid,
            m => {
                return Err(SidError::BadMagic(
                    m.iter().map(|&c| char::from(c)).collect(),
                ))
            }
        };
        let version = be16(bytes, 4);
        let version_ok = match format {
            Format::Psid => (1..=4).contains(&version),
            Format::Rsid => (2..=4).contains(&version),
        };
        if !version_ok {
            return Err(SidError::UnsupportedVersion { format, version });
        }
        let header_len = if version == 1 { V1_HEADER } else { V2_HEADER };
        if bytes.len() < header_len {
            return Err(SidError::Truncated {
                len: bytes.len(),
                needed: header_len,
            });
        }
        let data_offset = be16(bytes, 6);
        if usize::from(data_offset) != header_len {
            return Err(SidError::BadDataOffset {
                version,
                offset: data_offset,
                expected: header_len as u16,
            });
        }
        let header_load = be16(bytes, 8);
        let header_init = be16(bytes, 0x0A);
        let play_address = be16(bytes, 0x0C);
        let songs = be16(bytes, 0x0E);
        let mut start_song = be16(bytes, 0x10);
        let speed = u32::from_be_bytes([bytes[0x12], bytes[0x13], bytes[0x14], bytes[0x15]]);
        let name = latin1(&bytes[0x16..0x36]);
        let author = latin1(&bytes[0x36..0x56]);
        let released = latin1(&bytes[0x56..0x76]);
        let (flags, start_page, page_length, sid2, sid3) = if version >= 2 {
            (
                be16(bytes, 0x76),
                bytes[0x78],
                bytes[0x79],
                if version >= 3 { bytes[0x7A] } else { 0 },
                if version >= 4 { bytes[0x7B] } else { 0 },
            )
        } else {
            (0, 0, 0, 0, 0)
        };

        if songs == 0 || songs > 256 {
            return Err(SidError::BadSongCount(songs));
        }
        let mut warnings = Vec::new();
        if start_song == 0 || start_song > songs {
            if strict {
                return Err(SidError::StartSongOutOfRange { start_song, songs });
            }
            warnings.push(SidWarning::StartSongOutOfRange { start_song, songs });
            start_song = 1;
        }

        let mut data = &bytes[header_len..];
        if data.is_empty() {
            return Err(SidError::NoData);
        }
        let (load_address, embedded) = if header_load == 0 {
            if data.len() < 2 {
                return Err(SidError::MissingLoadAddress);
            }
            let l = u16::from_le_bytes([data[0], data[1]]);
            data = &data[2..];
            if data.is_empty() {
                return Err(SidError::NoData);
            }
            (l, true)
        } else {
            (header_load, false)
        };
        let end = u32::from(load_address) + data.len() as u32;
        if end > 0x1_0000 {
            return Err(SidError::DataDoesNotFit {
                load: load_address,
                len: data.len(),
                end,
            });
        }
        let init_address = if header_init == 0 {
            load_address
        } else {
            header_init
        };

        let mus_player = flags & 1 != 0;
        let bit1 = flags & 2 != 0;
        let clock = match (flags >> 2) & 3 {
            0 => Clock::Unknown,
            1 => Clock::Pal,
            2 => Clock::Ntsc,
            _ => Clock::Any,
        };
        let model1 = SidModel::from_bits(flags >> 4);
        let resolve = |m: SidModel| if m == SidModel::Unknown { model1 } else { m };
        let mut chips = vec![SidChip {
            address: 0xD400,
            model: model1,
        }];
        let second = extra_sid(sid2, "second")?;
        let third = extra_sid(sid3, "third")?;
        if let Some(a) = second {
            chips.push(SidChip {
                address: a,
                model: resolve(SidModel::from_bits(flags >> 6)),
            });
        }
        if let Some(a) = third {
            if second.is_none() {
                return Err(SidError::ThirdWithoutSecond);
            }
            if Some(a) == second {
                return Err(SidError::DuplicateSidAddress(a));
            }
            chips.push(SidChip {
                address: a,
                model: resolve(SidModel::from_bits(flags >> 8)),
            });
        }

        if format == Format::Rsid {
            if header_load != 0 {
                return Err(SidError::RsidRule(
                    "the header's load address must be 0 (embedded in the data)",
                ));
            }
            if play_address != 0 {
                return Err(SidError::RsidRule("the play address must be 0"));
            }
            if speed != 0 {
                return Err(SidError::RsidRule("the speed field must be 0"));
            }
            if load_address < 0x07E8 {
                return Err(SidError::RsidLoadTooLow(load_address));
            }
            if bit1 {
                if header_init != 0 {
                    return Err(SidError::RsidRule(
                        "a C64 BASIC tune must have init address 0",
                    ));
                }
            } else {
                let in_image = u32::from(init_address) >= u32::from(load_address)
                    && u32::from(init_address) < end;
                let under_rom = (0xA000..0xC000).contains(&init_address) || init_address >= 0xD000;
                if !in_image || under_rom {
                    return Err(SidError::RsidBadInit(init_address));
                }
            }
        }

        if version >= 2 {
            check_relocation(start_page, page_length, load_address, end)?;
        }

        Ok(SidTune {
            format,
            version,
            data_offset,
            load_address,
            embedded_load_address: embedded,
            init_address,
            play_address,
            songs,
            start_song,
            speed,
            name,
            author,
            released,
            flags,
            mus_player,
            psid_specific: format == Format::Psid && bit1,
            basic: format == Format::Rsid && bit1,
            clock,
            chips,
            start_page,
            page_length,
            data: data.to_vec(),
            md5: Md5::digest(bytes).into(),
            warnings,
        })
    }

    /// How song `song` (1-based) calls its play routine.
    ///
    /// RSID tunes are always [`Speed::Cia`]. For C64-compatible PSID v2+ songs above 32
    /// reuse bit 31; PSID v1 and PlaySID-specific files wrap modulo 32.
    pub fn speed_of(&self, song: u16) -> Speed {
        if self.format == Format::Rsid {
            return Speed::Cia;
        }
        let idx = u32::from(song.max(1) - 1);
        let bit = if self.version == 1 || self.psid_specific {
            idx % 32
        } else {
            idx.min(31)
        };
        if self.speed & (1 << bit) != 0 {
            Speed::Cia
        } else {
            Speed::Vbi
        }
    }

    /// One past the last loaded byte (may be `0x1_0000`).
    pub fn end_address(&self) -> u32 {
        u32::from(self.load_address) + self.data.len() as u32
    }

    /// The whole-file MD5 as 32 lower-case hex digits.
    pub fn md5_hex(&self) -> String {
        self.md5.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The SID model of the first chip.
    pub fn model(&self) -> SidModel {
        self.chips[0].model
    }
}

/// The relocation rules of `SID_file_format.txt` (libsidplayfp applies the same).
fn check_relocation(start_page: u8, page_length: u8, load: u16, end: u32) -> Result<(), SidError> {
    let bad = |why| SidError::BadRelocation {
        start_page,
        page_length,
        why,
    };
    if start_page == 0 || start_page == 0xFF {
        return Ok(()); // page_length is meaningless then; players ignore it
    }
    if page_length == 0 {
        return Err(bad("a start page needs a page count"));
    }
    let first = u32::from(start_page);
    let last = first + u32::from(page_length) - 1;
    if last > 0xFF {
        return Err(bad("runs past $FFFF"));
    }
    let image_first = u32::from(load) >> 8;
    let image_last = (end - 1) >> 8;
    if first <= image_last && last >= image_first {
        return Err(bad("overlaps the tune's own image"));
    }
    let overlaps = |lo: u32, hi: u32| first <= hi && last >= lo;
    if overlaps(0x00, 0x03) || overlaps(0xA0, 0xBF) || overlaps(0xD0, 0xFF) {
        return Err(bad("overlaps $0000-$03FF, $A000-$BFFF or $D000-$FFFF"));
    }
    Ok(())
}

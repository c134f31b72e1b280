//! Optional Commodore ROM images (KERNAL, BASIC, character generator) and the manifest of
//! the known revisions.
//!
//! SIDFlow ships no Commodore ROMs. An operator may provide them ([`Roms`], given as bytes:
//! this crate does no file I/O); the machine then maps them where the PLA selects them
//! ([`crate::Machine::set_roms`]) and the [`crate::Player`] can start BASIC tunes. Without
//! them the KERNAL space shows our own stub ([`crate::kernal`]), BASIC space the RAM
//! underneath and the character ROM reads `$00`.
//!
//! [`KNOWN`] lists the revisions we recognise, with the file names VICE gives them. The
//! SHA-256 fingerprints were cross-checked in two independent public ROM manifests; the
//! MD5 fingerprints are those libsidplayfp's `romCheck.h` and VICE-based tools list. A
//! revision we know only by its MD5 has `sha256: None`.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use thiserror::Error;

/// Size of the KERNAL and BASIC images.
pub const KERNAL_SIZE: usize = 0x2000;
pub const BASIC_SIZE: usize = 0x2000;
/// Size of the character generator image.
pub const CHARGEN_SIZE: usize = 0x1000;

/// The three ROM images a C64 has; each may be absent.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Roms {
    /// `$E000-$FFFF` when HIRAM.
    pub kernal: Option<Box<[u8; 8192]>>,
    /// `$A000-$BFFF` when LORAM and HIRAM.
    pub basic: Option<Box<[u8; 8192]>>,
    /// `$D000-$DFFF` when CHAREN is low and LORAM or HIRAM is high.
    pub chargen: Option<Box<[u8; 4096]>>,
}

impl std::fmt::Debug for Roms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name =
            |b: Option<&[u8]>| b.map(|b| identify(b).map_or("unknown revision", |k| k.file_name));
        f.debug_struct("Roms")
            .field("kernal", &name(self.kernal.as_deref().map(|b| &b[..])))
            .field("basic", &name(self.basic.as_deref().map(|b| &b[..])))
            .field("chargen", &name(self.chargen.as_deref().map(|b| &b[..])))
            .finish()
    }
}

/// Which ROM an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RomKind {
    Kernal,
    Basic,
    Chargen,
}

impl RomKind {
    /// The image size in bytes.
    pub const fn size(self) -> usize {
        match self {
            RomKind::Kernal => KERNAL_SIZE,
            RomKind::Basic => BASIC_SIZE,
            RomKind::Chargen => CHARGEN_SIZE,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            RomKind::Kernal => "KERNAL",
            RomKind::Basic => "BASIC",
            RomKind::Chargen => "character generator",
        }
    }
}

/// A ROM image that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RomError {
    #[error("a {} ROM image is {expected} bytes, this one is {got}", kind.name())]
    WrongSize {
        kind: RomKind,
        expected: usize,
        got: usize,
    },
}

fn sized<const N: usize>(kind: RomKind, bytes: &[u8]) -> Result<Box<[u8; N]>, RomError> {
    let arr: [u8; N] = bytes.try_into().map_err(|_| RomError::WrongSize {
        kind,
        expected: N,
        got: bytes.len(),
    })?;
    Ok(Box::new(arr))
}

impl Roms {
    /// No ROMs: our KERNAL stub, RAM under BASIC, `$00` for the character ROM.
    pub fn none() -> Roms {
        Roms::default()
    }

    /// ROMs from their bytes (each image must have exactly its size; any may be absent).
    /// The bytes are not required to be a known revision (see [`identify`]).
    pub fn from_bytes(
        kernal: Option<&[u8]>,
        basic: Option<&[u8]>,
        chargen: Option<&[u8]>,
    ) -> Result<Roms, RomError> {
        Ok(Roms {
            kernal: kernal.map(|b| sized(RomKind::Kernal, b)).transpose()?,
            basic: basic.map(|b| sized(RomKind::Basic, b)).transpose()?,
            chargen: chargen.map(|b| sized(RomKind::Chargen, b)).transpose()?,
        })
    }

    /// Sets one image from its bytes.
    pub fn set(&mut self, kind: RomKind, bytes: &[u8]) -> Result<(), RomError> {
        match kind {
            RomKind::Kernal => self.kernal = Some(sized(kind, bytes)?),
            RomKind::Basic => self.basic = Some(sized(kind, bytes)?),
            RomKind::Chargen => self.chargen = Some(sized(kind, bytes)?),
        }
        Ok(())
    }

    /// True when no image is present.
    pub fn is_empty(&self) -> bool {
        self.kernal.is_none() && self.basic.is_none() && self.chargen.is_none()
    }

    /// True when the KERNAL and BASIC are both present: what a BASIC tune needs
    /// ([`RomNeed::Basic`]).
    pub fn can_run_basic(&self) -> bool {
        self.kernal.is_some() && self.basic.is_some()
    }

    /// What the machine will use for a tune that needs `need`: whether it is satisfied.
    pub fn satisfy(&self, need: &RomNeed) -> bool {
        match need {
            RomNeed::None => true,
            RomNeed::Basic => self.can_run_basic(),
            RomNeed::RomCalls(calls) => calls.iter().all(|&a| {
                if a >= 0xE000 {
                    self.kernal.is_some()
                } else {
                    self.basic.is_some()
                }
            }),
        }
    }
}

/// A known ROM revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRom {
    pub kind: RomKind,
    /// The file name VICE (and most ROM sets) give this image.
    pub file_name: &'static str,
    pub description: &'static str,
    /// Lower-case hex SHA-256 of the image, when known.
    pub sha256: Option<&'static str>,
    /// Lower-case hex MD5 of the image.
    pub md5: &'static str,
}

/// The ROM revisions we recognise. The first of each kind is the one every C64 tune is
/// made for (KERNAL 901227-03, BASIC 901226-01, characters 901225-01).
pub const KNOWN: &[KnownRom] = &[
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-901227-03.bin",
        description: "C64 KERNAL, third revision (901227-03)",
        sha256: Some("83c60d47047d7beab8e5b7bf6f67f80daa088b7a6a27de0d7e016f6484042721"),
        md5: "39065497630802346bce17963f13c092",
    },
    KnownRom {
        kind: RomKind::Basic,
        file_name: "basic-901226-01.bin",
        description: "C64 BASIC V2 (901226-01)",
        sha256: Some("89878cea0a268734696de11c4bae593eaaa506465d2029d619c0e0cbccdfa62d"),
        md5: "57af4ae21d4b705c2991d98ed5c1f7b8",
    },
    KnownRom {
        kind: RomKind::Chargen,
        file_name: "chargen-901225-01.bin",
        description: "C64 character generator (901225-01)",
        sha256: Some("fd0d53b8480e86163ac98998976c72cc58d5dd8eb824ed7b829774e74213b420"),
        md5: "12a4202f5331d45af846af6c58fba946",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-901227-02.bin",
        description: "C64 KERNAL, second revision (901227-02)",
        sha256: None,
        md5: "7360b296d64e18b88f6cf52289fd99a1",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-901227-01.bin",
        description: "C64 KERNAL, first revision (901227-01)",
        sha256: None,
        md5: "1ae0ea224f2b291dafa2c20b990bb7d4",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-906145-02.bin",
        description: "C64 KERNAL, second revision, Japanese (906145-02)",
        sha256: None,
        md5: "479553fd53346ec84054f0b1c6237397",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-251104-04.bin",
        description: "SX-64 KERNAL (251104-04)",
        sha256: None,
        md5: "187b8c713b51931e070872bd390b472a",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-390852-01.bin",
        description: "C64GS KERNAL (390852-01)",
        sha256: None,
        md5: "ddee89b0fed19572da5245ea68ff11b5",
    },
    KnownRom {
        kind: RomKind::Kernal,
        file_name: "kernal-901246-01.bin",
        description: "Educator 64 / 4064 KERNAL (901246-01)",
        sha256: None,
        md5: "da92801e3a03b005b746a4dd0b639c7c",
    },
    KnownRom {
        kind: RomKind::Chargen,
        file_name: "chargen-906143-02.bin",
        description: "C64 character generator, Japanese (906143-02)",
        sha256: None,
        md5: "cf32a93c0a693ed359a4f483ef6db53d",
    },
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// The known revision `bytes` is (by SHA-256 where the manifest has one, else by MD5), if
/// any.
pub fn identify(bytes: &[u8]) -> Option<&'static KnownRom> {
    let sha = sha256_hex(bytes);
    let md5 = md5_hex(bytes);
    KNOWN.iter().find(|k| {
        k.kind.size() == bytes.len()
            && match k.sha256 {
                Some(s) => s == sha,
                None => k.md5 == md5,
            }
    })
}

/// What a tune needs from the real ROMs to play as on a C64 (see [`rom_need`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RomNeed {
    /// Nothing: our KERNAL stub and driver give it everything it uses.
    None,
    /// An RSID with the C64 BASIC flag: a BASIC program (loaded at `$0801`, init `$0000`
    /// in the header) that must be `RUN` by the BASIC interpreter. It needs the KERNAL and
    /// BASIC ROMs; without them it cannot start ([`crate::C64Error::BasicNotSupported`]).
    Basic,
    /// The tune's code calls (`JSR`/`JMP`) these ROM addresses (`$A000-$BFFF` BASIC,
    /// `$E000-$FFFF` KERNAL), which our stub does not implement: they return at once
    /// without doing anything, so the tune may sound wrong without the real ROMs.
    RomCalls(Vec<u16>),
}

impl RomNeed {
    /// True for anything but [`RomNeed::None`].
    pub fn needs_roms(&self) -> bool {
        *self != RomNeed::None
    }

    /// A sentence for a listener or operator: why this tune may sound wrong without ROMs.
    pub fn reason(&self) -> Option<String> {
        match self {
            RomNeed::None => None,
            RomNeed::Basic => Some(
                "this tune is a C64 BASIC program: it needs the C64's KERNAL and BASIC ROMs"
                    .to_string(),
            ),
            RomNeed::RomCalls(a) => Some(format!(
                "this tune calls C64 ROM routines ({}) that SIDFlow only imitates without \
                 the C64's ROMs",
                a.iter()
                    .take(4)
                    .map(|a| format!("${a:04X}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Whether `tune` needs the real ROMs, decided from the file alone (cheap: no emulation).
///
/// * An RSID with the BASIC flag is [`RomNeed::Basic`].
/// * Otherwise the tune's bytes are scanned for `JSR abs` / `JMP abs` instructions whose
///   target is in ROM space (`$A000-$BFFF`, `$E000-$FFFF`), is not covered by the tune's
///   own data (a tune that loads code there runs it from RAM), and is not one of the entry
///   points our stub implements ([`crate::kernal::implements`]). Data bytes can look like
///   such instructions, so a target must appear at least twice, or once as a `JSR` to one
///   of the KERNAL's documented jump-table entries (`$FF81-$FFF3`) that our stub does not
///   implement. The result lists the targets (at most 16, ascending).
///
/// Run-time detection, which sees only the calls the tune really makes, is
/// [`crate::Player::rom_calls`].
pub fn rom_need(tune: &sidfile::SidTune) -> RomNeed {
    if tune.basic {
        return RomNeed::Basic;
    }
    let load = u32::from(tune.load_address);
    let end = load + tune.data.len() as u32;
    let covered = |a: u16| (load..end).contains(&u32::from(a));
    let mut counts: std::collections::BTreeMap<u16, (u32, bool)> = Default::default();
    for w in tune.data.windows(3) {
        let (op, target) = (w[0], u16::from_le_bytes([w[1], w[2]]));
        if !matches!(op, 0x20 | 0x4C) {
            continue;
        }
        let rom = (0xA000..0xC000).contains(&target) || target >= 0xE000;
        if !rom || covered(target) || crate::kernal::implements(target) {
            continue;
        }
        let e = counts.entry(target).or_default();
        e.0 += 1;
        e.1 |= op == 0x20 && (0xFF81..=0xFFF3).contains(&target) && (target - 0xFF81) % 3 == 0;
    }
    let calls: Vec<u16> = counts
        .into_iter()
        .filter(|&(_, (n, jump_table))| n >= 2 || jump_table)
        .map(|(a, _)| a)
        .take(16)
        .collect();
    if calls.is_empty() {
        RomNeed::None
    } else {
        RomNeed::RomCalls(calls)
    }
}

/// [`rom_need`], and when the file alone shows nothing, what `song` does in its first
/// `cycles` cycles on a machine without ROMs ([`crate::Player::rom_calls`]). Costs the
/// emulation of those cycles without sound (about 1 ms per emulated second on a desktop
/// core); 2-5 s catch the calls made by init and the first play calls.
pub fn probe_rom_need(
    tune: &sidfile::SidTune,
    song: u16,
    cycles: u64,
) -> Result<RomNeed, crate::C64Error> {
    let need = rom_need(tune);
    if need != RomNeed::None {
        return Ok(need);
    }
    let mut player = crate::Player::new(tune, song, crate::PlayerConfig::for_tune(tune))?;
    // a tune that stops with an error has still shown what it called
    let _ = player.run_until(cycles, &mut crate::NullSid);
    Ok(player.rom_need())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        let k = vec![1u8; 8192];
        let c = vec![2u8; 4096];
        let r = Roms::from_bytes(Some(&k), None, Some(&c)).unwrap();
        assert!(r.kernal.is_some() && r.basic.is_none() && r.chargen.is_some());
        assert!(!r.can_run_basic());
        assert_eq!(
            Roms::from_bytes(None, Some(&c), None),
            Err(RomError::WrongSize {
                kind: RomKind::Basic,
                expected: 8192,
                got: 4096
            })
        );
        let mut r = Roms::none();
        assert!(r.is_empty());
        assert!(r.set(RomKind::Chargen, &k).is_err());
        r.set(RomKind::Basic, &k).unwrap();
        assert!(!r.is_empty());
    }

    #[test]
    fn manifest_is_well_formed() {
        for k in KNOWN {
            assert_eq!(k.md5.len(), 32, "{}", k.file_name);
            assert!(k
                .md5
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            if let Some(s) = k.sha256 {
                assert_eq!(s.len(), 64, "{}", k.file_name);
                assert!(s
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            }
            assert!(k.file_name.ends_with(".bin"));
        }
        for kind in [RomKind::Kernal, RomKind::Basic, RomKind::Chargen] {
            let first = KNOWN.iter().find(|k| k.kind == kind).unwrap();
            assert!(
                first.sha256.is_some(),
                "the standard {kind:?} has a SHA-256"
            );
        }
        // no fingerprint twice
        let mut md5: Vec<_> = KNOWN.iter().map(|k| k.md5).collect();
        md5.sort();
        md5.dedup();
        assert_eq!(md5.len(), KNOWN.len());
    }

    #[test]
    fn hashes_and_identification() {
        // published test vectors
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        // synthetic bytes are no known revision
        assert_eq!(identify(&[0u8; 8192]), None);
        assert_eq!(identify(&[0u8; 4096]), None);
        assert_eq!(identify(b"abc"), None);
    }
}

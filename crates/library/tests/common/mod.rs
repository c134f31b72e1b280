//! Tunes made for the tests: valid PSID/RSID files with chosen header fields.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Header fields of a generated tune.
#[derive(Clone)]
pub struct Sid {
    pub name: String,
    pub author: String,
    pub released: String,
    pub songs: u16,
    pub start: u16,
    /// Flags word (bits 2-3 clock, 4-5 model of the first SID).
    pub flags: u16,
    pub rsid: bool,
    /// Second SID at $D420 (PSID v3).
    pub two_sids: bool,
    /// Makes otherwise equal tunes differ (and their MD5 with them).
    pub salt: u8,
}

pub fn sid(name: &str, author: &str, released: &str) -> Sid {
    Sid {
        name: name.into(),
        author: author.into(),
        released: released.into(),
        songs: 1,
        start: 1,
        flags: 0,
        rsid: false,
        two_sids: false,
        salt: 0,
    }
}

impl Sid {
    pub fn songs(mut self, n: u16) -> Sid {
        self.songs = n;
        self
    }
    pub fn flags(mut self, f: u16) -> Sid {
        self.flags = f;
        self
    }
    pub fn rsid(mut self) -> Sid {
        self.rsid = true;
        self
    }
    pub fn two_sids(mut self) -> Sid {
        self.two_sids = true;
        self
    }
    pub fn salt(mut self, s: u8) -> Sid {
        self.salt = s;
        self
    }

    /// Latin-1 header strings (as HVSC writes them).
    pub fn bytes(&self) -> Vec<u8> {
        let mut h = vec![0u8; 0x7C];
        h[0..4].copy_from_slice(if self.rsid { b"RSID" } else { b"PSID" });
        let version: u16 = if self.two_sids { 3 } else { 2 };
        h[4..6].copy_from_slice(&version.to_be_bytes());
        h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
        let (load, init, play) = if self.rsid {
            (0u16, 0x1000u16, 0u16)
        } else {
            (0x1000, 0x1000, 0x1003)
        };
        h[8..10].copy_from_slice(&load.to_be_bytes());
        h[10..12].copy_from_slice(&init.to_be_bytes());
        h[12..14].copy_from_slice(&play.to_be_bytes());
        h[14..16].copy_from_slice(&self.songs.to_be_bytes());
        h[16..18].copy_from_slice(&self.start.to_be_bytes());
        for (at, s) in [
            (0x16, &self.name),
            (0x36, &self.author),
            (0x56, &self.released),
        ] {
            let latin1: Vec<u8> = s.chars().map(|c| c as u32 as u8).take(32).collect();
            h[at..at + latin1.len()].copy_from_slice(&latin1);
        }
        h[0x76..0x78].copy_from_slice(&self.flags.to_be_bytes());
        if self.two_sids {
            h[0x7A] = 0x42;
        }
        if self.rsid {
            h.extend_from_slice(&0x1000u16.to_le_bytes());
        }
        h.extend_from_slice(&[0x60, 0x60, 0x60, self.salt]);
        h
    }
}

/// A fresh folder under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("library-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `bytes` at `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Whole-file MD5 as hex (the library's key).
pub fn md5_hex(bytes: &[u8]) -> String {
    sidfile::SidTune::parse_lenient(bytes).unwrap().md5_hex()
}

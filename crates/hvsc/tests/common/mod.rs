//! A fake HVSC and a mirror serving it on loopback, for the sync tests.
//!
//! The fake collection: release 10 (a complete archive), update 11 (a fixed rip, a new
//! composer, a rename, a move to a new folder, a deletion, a header fix, new documents)
//! and update 12 (a folder renamed by moving its files, case-insensitive paths, a
//! deletion of a tune update 11 added, a new game, new song lengths). The expected tree of
//! each release is written out here by hand, independently of the code under test; the
//! complete archive of release 12 is that tree, so "base + updates" and "complete
//! release" can be compared byte for byte.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Files of a collection: path (relative to C64Music) -> bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// A PSID v2 file.
pub fn psid(name: &str, author: &str, released: &str, songs: u16, salt: u8) -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes());
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes());
    h[12..14].copy_from_slice(&0x1003u16.to_be_bytes());
    h[14..16].copy_from_slice(&songs.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    for (at, s) in [(0x16, name), (0x36, author), (0x56, released)] {
        h[at..at + s.len()].copy_from_slice(s.as_bytes());
    }
    h[0x76..0x78].copy_from_slice(&0x0014u16.to_be_bytes());
    h.extend_from_slice(&[0x60, 0x60, 0x60, salt]);
    // Some bulk, so archives are not trivially small.
    h.extend((0..400u32).map(|i| (i * 7 + u32::from(salt)) as u8));
    h
}

pub fn md5_hex(b: &[u8]) -> String {
    sidfile::SidTune::parse_lenient(b).unwrap().md5_hex()
}

/// `DOCUMENTS/Songlengths.md5` for every tune of a tree, each song `seconds` long.
fn songlengths(tree: &Tree, seconds: u32) -> Vec<u8> {
    let mut s = String::from("[Database]\r\n");
    for (p, b) in tree.iter().filter(|(p, _)| p.ends_with(".sid")) {
        let songs = u16::from_be_bytes([b[14], b[15]]);
        let t = format!("{}:{:02}", seconds / 60, seconds % 60);
        let times = vec![t; songs as usize].join(" ");
        s.push_str(&format!("; /{p}\r\n{}={times}\r\n", md5_hex(b)));
    }
    s.into_bytes()
}

fn hvsc_txt(release: u32) -> Vec<u8> {
    format!("\r\n            High Voltage SID Collection\r\n\r\n                    Release {release}\r\n").into_bytes()
}

fn stil(comment: &str) -> Vec<u8> {
    format!("/MUSICIANS/A/Alpha/\r\nCOMMENT: {comment}\r\n").into_bytes()
}

/// The fake collection and its archives.
pub struct Fake {
    pub trees: BTreeMap<u32, Tree>,
    pub scripts: BTreeMap<u32, Vec<u8>>,
    /// Update archive entries (paths inside the archive).
    pub updates: BTreeMap<u32, Vec<(String, Vec<u8>)>>,
}

pub fn fake() -> Fake {
    let alpha1 = psid("Alpha One", "Ann Alpha", "1985 A", 2, 1);
    let alpha1_fixed = psid("Alpha One", "Ann Alpha", "1985 A", 3, 101);
    let alpha2 = psid("Alpha Two", "Ann Alpha", "1986 A", 1, 2);
    let alpha2_fixed = psid("Alpha Two (fixed)", "Ann Alpha", "1986 A", 1, 2);
    let alpha3 = psid("Alpha Three", "Ann Alpha", "1987 A", 1, 3);
    let beta1 = psid("Beta One", "Bob Beta", "1988 B", 1, 4);
    let beta2 = psid("Beta Two", "Bob Beta", "1989 B", 1, 5);
    let game1 = psid("Game One", "Gus Game", "1990 G", 4, 6);
    let demo1 = psid("Demo One", "Dee Demo", "1991 D", 1, 7);
    let gamma1 = psid("Gamma One", "Gil Gamma", "2024 C", 1, 8);
    let gamma2 = psid("Gamma Two", "Gil Gamma", "2024 C", 2, 9);
    let game2 = psid("Game Two", "Gus Game", "2025 G", 1, 10);

    // Release 10.
    let mut t10 = Tree::new();
    t10.insert("MUSICIANS/A/Alpha/a1.sid".into(), alpha1.clone());
    t10.insert("MUSICIANS/A/Alpha/a2.sid".into(), alpha2);
    t10.insert("MUSICIANS/A/Alpha/a3.sid".into(), alpha3.clone());
    t10.insert("MUSICIANS/B/Beta/b1.sid".into(), beta1.clone());
    t10.insert("MUSICIANS/B/Beta/b2.sid".into(), beta2.clone());
    t10.insert("GAMES/A-F/Game1.sid".into(), game1.clone());
    t10.insert("DEMOS/0-9/Demo1.sid".into(), demo1);
    let docs = |t: &mut Tree, release: u32, seconds: u32, comment: &str| {
        t.insert("DOCUMENTS/HVSC.txt".into(), hvsc_txt(release));
        t.insert("DOCUMENTS/STIL.txt".into(), stil(comment));
        let l = songlengths(t, seconds);
        t.insert("DOCUMENTS/Songlengths.md5".into(), l);
    };
    docs(&mut t10, 10, 60, "Ann's folder.");

    // Update 11.
    let script11 = b"# High Voltage SID Collection: Update #11\r\n\
# Resulting Version: 11\r\n\
#  Previous Version: 10\r\n\
#\r\n\
REPLACE\r\n\
# from Ann: a better rip\r\n\
/update/fix/MUSICIANS/A/Alpha/a1.sid\r\n\
/MUSICIANS/A/Alpha/\r\n\
\r\n\
MKDIR\r\n\
/MUSICIANS/C/\r\n\
MOVE\r\n\
# from Gil: g1.sid g2.sid\r\n\
/update/new/MUSICIANS/C/Gamma/\r\n\
/MUSICIANS/C/Gamma/\r\n\
\r\n\
# rename\r\n\
/MUSICIANS/B/Beta/b2.sid\r\n\
/MUSICIANS/B/Beta/b2_renamed.sid\r\n\
\r\n\
# a game in the wrong folder\r\n\
/GAMES/A-F/Game1.sid\r\n\
/GAMES/G-L/\r\n\
DELETE\r\n\
/DEMOS/0-9/Demo1.sid\r\n\
/DEMOS/0-9/\r\n\
/DEMOS/\r\n\
/GAMES/A-F/\r\n\
/update/fix/MUSICIANS/A/Alpha/\r\n\
/update/fix/MUSICIANS/A/\r\n\
/update/fix/MUSICIANS/\r\n\
/update/fix/\r\n\
/update/new/MUSICIANS/C/Gamma/\r\n\
/update/new/MUSICIANS/C/\r\n\
/update/new/MUSICIANS/\r\n\
/update/new/\r\n\
#######\r\n\
CREDITS\r\n\
#######\r\n\
/MUSICIANS/A/Alpha/a2.sid\r\n\
Alpha Two (fixed)\r\n\
*\r\n\
*\r\n"
        .to_vec();
    let mut t11 = t10.clone();
    t11.insert("MUSICIANS/A/Alpha/a1.sid".into(), alpha1_fixed.clone());
    t11.insert("MUSICIANS/A/Alpha/a2.sid".into(), alpha2_fixed);
    t11.insert("MUSICIANS/C/Gamma/g1.sid".into(), gamma1.clone());
    t11.insert("MUSICIANS/C/Gamma/g2.sid".into(), gamma2.clone());
    t11.remove("MUSICIANS/B/Beta/b2.sid");
    t11.insert("MUSICIANS/B/Beta/b2_renamed.sid".into(), beta2.clone());
    t11.remove("GAMES/A-F/Game1.sid");
    t11.insert("GAMES/G-L/Game1.sid".into(), game1.clone());
    t11.remove("DEMOS/0-9/Demo1.sid");
    t11.insert("DOCUMENTS/Update11.hvs".into(), script11.clone());
    docs(&mut t11, 11, 71, "Ann's folder, updated.");
    let mut u11: Vec<(String, Vec<u8>)> = vec![
        ("update/Update11.hvs".into(), script11.clone()),
        ("update/fix/MUSICIANS/A/Alpha/a1.sid".into(), alpha1_fixed),
        ("update/new/MUSICIANS/C/Gamma/g1.sid".into(), gamma1),
        ("update/new/MUSICIANS/C/Gamma/g2.sid".into(), gamma2),
    ];
    for d in [
        "DOCUMENTS/HVSC.txt",
        "DOCUMENTS/STIL.txt",
        "DOCUMENTS/Songlengths.md5",
    ] {
        u11.push((d.to_string(), t11[d].clone()));
    }

    // Update 12: paths in another case, a folder renamed by moving its files.
    let script12 = b"# Resulting Version: 12\n\
# Previous Version: 11\n\
MOVE\n\
/musicians/b/beta/\n\
/MUSICIANS/B/Beta_Bob/\n\
DELETE\n\
/MUSICIANS/B/Beta/\n\
/musicians/c/gamma/G1.SID\n\
REPLACE\n\
/update/new/GAMES/G-L/Game2.sid\n\
/games/g-l/\n\
SONGS\n\
/MUSICIANS/A/Alpha/a3.sid\n\
2,1\n\
DELETE\n\
/update/new/GAMES/G-L/\n\
/update/new/GAMES/\n\
/update/new/\n"
        .to_vec();
    let mut alpha3_2songs = alpha3.clone();
    alpha3_2songs[14..16].copy_from_slice(&2u16.to_be_bytes());
    let mut t12 = t11.clone();
    t12.remove("MUSICIANS/B/Beta/b1.sid");
    t12.remove("MUSICIANS/B/Beta/b2_renamed.sid");
    t12.insert("MUSICIANS/B/Beta_Bob/b1.sid".into(), beta1);
    t12.insert("MUSICIANS/B/Beta_Bob/b2_renamed.sid".into(), beta2);
    t12.remove("MUSICIANS/C/Gamma/g1.sid");
    t12.insert("GAMES/G-L/Game2.sid".into(), game2.clone());
    t12.insert("MUSICIANS/A/Alpha/a3.sid".into(), alpha3_2songs);
    t12.insert("DOCUMENTS/Update12.hvs".into(), script12.clone());
    docs(&mut t12, 12, 72, "Ann's folder, updated twice.");
    let mut u12: Vec<(String, Vec<u8>)> = vec![
        ("update/Update12.hvs".into(), script12.clone()),
        ("update/new/GAMES/G-L/Game2.sid".into(), game2),
    ];
    for d in [
        "DOCUMENTS/HVSC.txt",
        "DOCUMENTS/STIL.txt",
        "DOCUMENTS/Songlengths.md5",
    ] {
        u12.push((d.to_string(), t12[d].clone()));
    }

    Fake {
        trees: BTreeMap::from([(10, t10), (11, t11), (12, t12)]),
        scripts: BTreeMap::from([(11, script11), (12, script12)]),
        updates: BTreeMap::from([(11, u11), (12, u12)]),
    }
}

/// A 7z archive of the given entries (folders derived from the paths), LZMA2.
pub fn seven_z(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    seven_z_with(entries, false)
}

/// Like [`seven_z`]; `stored` keeps the data uncompressed (7z's COPY method).
pub fn seven_z_with(entries: &[(String, Vec<u8>)], stored: bool) -> Vec<u8> {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderMethod};
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    if stored {
        w.set_content_methods(vec![EncoderMethod::COPY.into()]);
    }
    let mut dirs = BTreeSet::new();
    for (p, _) in entries {
        let mut d = p.as_str();
        while let Some(i) = d.rfind('/') {
            d = &d[..i];
            dirs.insert(d.to_string());
        }
    }
    for d in dirs {
        w.push_archive_entry::<&[u8]>(ArchiveEntry::new_directory(&d), None)
            .unwrap();
    }
    for (p, b) in entries {
        w.push_archive_entry(ArchiveEntry::new_file(p), Some(b.as_slice()))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

impl Fake {
    pub fn full(&self, v: u32) -> Vec<u8> {
        let e: Vec<(String, Vec<u8>)> = self.trees[&v]
            .iter()
            .map(|(p, b)| (format!("C64Music/{p}"), b.clone()))
            .collect();
        seven_z(&e)
    }
    pub fn update(&self, v: u32) -> Vec<u8> {
        seven_z(&self.updates[&v])
    }
}

/// The files under `root` (relative paths), and whether any folder is empty.
pub fn read_tree(root: &Path) -> Tree {
    let mut t = Tree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                t.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    t
}

/// The folders under `root` that hold nothing.
pub fn empty_folders(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        if entries.is_empty() && d != root {
            out.push(d.clone());
        }
        stack.extend(
            entries
                .iter()
                .filter(|e| e.path().is_dir())
                .map(|e| e.path()),
        );
    }
    out
}

/// Asserts `root` holds exactly `want` (listing differences).
pub fn assert_tree(root: &Path, want: &Tree) {
    let got = read_tree(root);
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{}: missing {missing:?}, extra {extra:?}, different {differ:?}",
        root.display()
    );
    let empty = empty_folders(root);
    assert!(empty.is_empty(), "empty folders left: {empty:?}");
}

/// Writes a tree to disk (an installed collection).
pub fn write_tree(root: &Path, t: &Tree) {
    for (p, b) in t {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b).unwrap();
    }
}

/// Faults the mirror can be told to produce.
#[derive(Default, Clone)]
pub struct Faults {
    /// Close the connection after this many body bytes of this file (once per entry).
    pub cut: Vec<(String, u64)>,
    /// Send this many body bytes of this file, then hold the connection open and send
    /// nothing more (until the client gives up or is killed).
    pub stall: Option<(String, u64)>,
    /// Answer every request with 200 and the whole file, ignoring `Range`.
    pub ignore_range: bool,
}

/// A request the mirror saw: path and `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

/// An HTTP mirror on 127.0.0.1 serving `/HVSC/` (a listing) and `/HVSC/<file>`.
pub struct Mirror {
    pub url: String,
    pub files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    pub faults: Arc<Mutex<Faults>>,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl Mirror {
    pub fn start() -> Mirror {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/HVSC/", l.local_addr().unwrap());
        let m = Mirror {
            url,
            files: Arc::default(),
            faults: Arc::default(),
            log: Arc::default(),
        };
        let (files, faults, log) = (m.files.clone(), m.faults.clone(), m.log.clone());
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (files, faults, log) = (files.clone(), faults.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = serve(s, &files, &faults, &log);
                });
            }
        });
        m
    }

    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(name.to_string(), bytes);
    }

    pub fn remove(&self, name: &str) {
        self.files.lock().unwrap().remove(name);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Downloads (GET requests) of one file.
    pub fn requests_for(&self, name: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/{name}")))
            .collect()
    }
}

fn serve(
    s: TcpStream,
    files: &Mutex<BTreeMap<String, Vec<u8>>>,
    faults: &Mutex<Faults>,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut w = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let method = line.split_whitespace().next().unwrap_or("GET").to_string();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut range = None;
        loop {
            let mut h = String::new();
            r.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("range") {
                    range = Some(v.trim().to_string());
                }
            }
        }
        log.lock().unwrap().push(Request {
            method: method.clone(),
            path: path.clone(),
            range: range.clone(),
        });
        let name = path.strip_prefix("/HVSC/").unwrap_or("");
        if name.is_empty() {
            let list: String = files
                .lock()
                .unwrap()
                .keys()
                .map(|n| format!("<tr><td><a href=\"{n}\">{n}</a></td></tr>\n"))
                .collect();
            let body = format!(
                "<html><body><h1>Index of /HVSC</h1><table>\n<tr><td><a href=\"/\">Parent Directory</a></td></tr>\n{list}</table></body></html>"
            );
            write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )?;
            continue;
        }
        let Some(data) = files.lock().unwrap().get(name).cloned() else {
            write!(w, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        };
        let f = faults.lock().unwrap().clone();
        let total = data.len() as u64;
        if method == "HEAD" {
            write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n")?;
            continue;
        }
        let start = range
            .as_deref()
            .filter(|_| !f.ignore_range)
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse::<u64>().ok());
        let start = match start {
            Some(s) if s >= total => {
                write!(
                    w,
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\n\r\n"
                )?;
                continue;
            }
            Some(s) => {
                write!(
                    w,
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{total}\r\nContent-Length: {}\r\n\r\n",
                    total - 1,
                    total - s
                )?;
                s
            }
            None => {
                write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n")?;
                0
            }
        };
        let body = &data[start as usize..];
        if let Some(i) = f.cut.iter().position(|(n, _)| n == name) {
            let at = f.cut[i].1.saturating_sub(start) as usize;
            faults.lock().unwrap().cut.remove(i);
            w.write_all(&body[..at.min(body.len())])?;
            w.flush()?;
            return Ok(()); // connection closed early
        }
        if let Some((n, at)) = &f.stall {
            if n == name {
                let at = at.saturating_sub(start) as usize;
                w.write_all(&body[..at.min(body.len())])?;
                w.flush()?;
                std::thread::sleep(Duration::from_secs(600));
                return Ok(());
            }
        }
        w.write_all(body)?;
        w.flush()?;
    }
}

/// A fresh folder for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("hvsc-it-{tag}-{}", std::process::id()));
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

/// Reads a whole stream (for child process output).
pub fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

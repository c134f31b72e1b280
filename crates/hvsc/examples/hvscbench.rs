//! Sync timings on a generated mirror (see doc/performance.md).
//!
//! ```text
//! hvscbench <dir> [tunes]
//! ```
//!
//! Writes a release 10 of `tunes` files (default 60 000, at least 30 000) and updates 11 and 12 (each:
//! 500 new tunes, 100 renames, 100 deletions, 50 replaced rips, 50 header fixes) as 7z
//! archives, serves them on 127.0.0.1, then times a first install (release + both updates)
//! and an update of an installed release 10 (both updates), step by step.

use hvsc::{Config, Hvsc, Step, SyncOptions};
use sevenz_rust2::{ArchiveEntry, ArchiveWriter};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn psid(name: &str, salt: u32) -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes());
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes());
    h[12..14].copy_from_slice(&0x1003u16.to_be_bytes());
    h[14..16].copy_from_slice(&1u16.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    let n = name.as_bytes();
    h[0x16..0x16 + n.len().min(31)].copy_from_slice(&n[..n.len().min(31)]);
    h[0x36..0x3A].copy_from_slice(b"Anon");
    // A few hundred bytes, partly repetitive (player code), partly not (data).
    let mut x = salt.wrapping_mul(2_654_435_761) | 1;
    h.extend((0..600).map(|i| {
        if i % 3 == 0 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        } else {
            (i % 97) as u8
        }
    }));
    h
}

fn seven_z(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use sevenz_rust2::encoder_options::{EncoderOptions, Lzma2Options};
    use sevenz_rust2::{EncoderConfiguration, EncoderMethod};
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    // A fast preset: making the archives is not what is measured (HVSC's are made with
    // 7-Zip's stronger settings; unpacking cost barely depends on the level).
    w.set_content_methods(vec![EncoderConfiguration::new(EncoderMethod::LZMA2)
        .with_options(EncoderOptions::Lzma2(Lzma2Options::from_level(1)))]);
    for (p, b) in entries {
        w.push_archive_entry(ArchiveEntry::new_file(p), Some(b.as_slice()))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Tune `i`'s path: composers of 20 tunes under 26 letters (~3 000 folders for 60 000
/// tunes; HVSC has about 4 000).
fn path_of(i: u32) -> String {
    let composer = i / 20;
    format!(
        "MUSICIANS/{}/C{composer:04}/T{i:06}.sid",
        (b'A' + (composer % 26) as u8) as char
    )
}

/// Release 10 and the two updates.
fn mirror_files(n: u32) -> BTreeMap<String, Vec<u8>> {
    let mut full: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                format!("C64Music/{}", path_of(i)),
                psid(&format!("Tune {i}"), i),
            )
        })
        .collect();
    full.push((
        "C64Music/DOCUMENTS/HVSC.txt".into(),
        b"Release 10\n".to_vec(),
    ));
    let mut files = BTreeMap::new();
    let t = Instant::now();
    files.insert("HVSC_10-all-of-them.7z".to_string(), seven_z(&full));
    eprintln!(
        "release 10 compressed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for (v, base) in [(11u32, 0u32), (12, 20_000)] {
        let mut script = format!("# Resulting Version: {v}\n");
        let mut entries = Vec::new();
        script.push_str("MKDIR\n");
        script.push_str(&format!("/MUSICIANS/NEW{v}/\n"));
        script.push_str("MOVE\n");
        for k in 0..500 {
            let i = n + v * 1000 + k;
            entries.push((
                format!("update/new/MUSICIANS/NEW{v}/N{k:03}/T{i:06}.sid"),
                psid(&format!("New {i}"), i),
            ));
            script.push_str(&format!(
                "/update/new/MUSICIANS/NEW{v}/N{k:03}/\n/MUSICIANS/NEW{v}/N{k:03}/\n"
            ));
        }
        for k in 0..100 {
            let i = base + k * 7;
            let p = path_of(i);
            script.push_str(&format!("/{p}\n/{}\n", p.replace(".sid", "_renamed.sid")));
        }
        script.push_str("DELETE\n");
        for k in 0..100 {
            script.push_str(&format!("/{}\n", path_of(base + 5000 + k * 3)));
        }
        script.push_str("REPLACE\n");
        for k in 0..50 {
            let i = base + 2000 + k * 11;
            let p = path_of(i);
            entries.push((
                format!("update/fix/{p}"),
                psid(&format!("Fixed {i}"), i + 7),
            ));
            let dir = &p[..p.rfind('/').unwrap() + 1];
            script.push_str(&format!("/update/fix/{p}\n/{dir}\n"));
        }
        script.push_str("CREDITS\n");
        for k in 0..50 {
            script.push_str(&format!(
                "/{}\nBetter title {k}\n*\n*\n",
                path_of(base + 3000 + k * 13)
            ));
        }
        entries.push((format!("update/Update{v}.hvs"), script.into_bytes()));
        entries.push((
            "DOCUMENTS/HVSC.txt".into(),
            format!("Release {v}\n").into_bytes(),
        ));
        files.insert(format!("HVSC_Update_{v}.7z"), seven_z(&entries));
    }
    files
}

fn serve(files: Arc<BTreeMap<String, Vec<u8>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/HVSC/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let files = files.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut w = s;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut h = String::new();
                    while r.read_line(&mut h).is_ok() && h.trim() != "" {
                        h.clear();
                    }
                    let mut it = line.split_whitespace();
                    let (method, path) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
                    let name = path.trim_start_matches("/HVSC/");
                    let body: Vec<u8> = if name.is_empty() {
                        files
                            .keys()
                            .map(|n| format!("<a href=\"{n}\">{n}</a>\n"))
                            .collect::<String>()
                            .into_bytes()
                    } else if let Some(b) = files.get(name) {
                        b.clone()
                    } else {
                        let _ = write!(w, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    };
                    let _ = write!(
                        w,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if method != "HEAD" {
                        let _ = w.write_all(&body);
                    }
                }
            });
        }
    });
    url
}

/// CPU time of the calling thread (the sync runs on it; the mirror has its own threads).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// (wall, CPU) in total and per step.
type Timing = ((Duration, Duration), Vec<(Step, Duration, Duration)>);

fn timed_sync(root: &Path, url: &str) -> Timing {
    let mut c = Config::new(root);
    c.mirror = url.to_string();
    let h = Hvsc::new(c);
    let (t0, c0) = (Instant::now(), thread_cpu());
    let mut steps: Vec<(Step, Instant, Duration)> = Vec::new();
    let out = h
        .sync(
            &SyncOptions::default(),
            &mut |p| {
                if steps.last().map(|s| s.0) != Some(p.step) {
                    steps.push((p.step, Instant::now(), thread_cpu()));
                }
            },
            &AtomicBool::new(false),
        )
        .unwrap();
    let (wall, cpu) = (t0.elapsed(), thread_cpu() - c0);
    assert_eq!(out.to, Some(12));
    let mut per: Vec<(Step, Duration, Duration)> = Vec::new();
    for (i, (s, t, c)) in steps.iter().enumerate() {
        let (te, ce) = steps
            .get(i + 1)
            .map(|n| (n.1, n.2))
            .unwrap_or((t0 + wall, c0 + cpu));
        match per.iter_mut().find(|p| p.0 == *s) {
            Some(p) => {
                p.1 += te - *t;
                p.2 += ce - *c;
            }
            None => per.push((*s, te - *t, ce - *c)),
        }
    }
    ((wall, cpu), per)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map(String::as_str).unwrap_or("/tmp/hvscbench")).to_path_buf();
    let n: u32 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60_000)
        .max(30_000);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let files = mirror_files(n);
    for (k, v) in &files {
        eprintln!("{k}: {:.1} MiB", v.len() as f64 / (1 << 20) as f64);
    }
    let full10 = files["HVSC_10-all-of-them.7z"].clone();
    let url = serve(Arc::new(files));
    let report = |what: &str, ((wall, cpu), per): Timing| {
        println!(
            "{what}: {:.2} s wall, {:.2} s CPU",
            wall.as_secs_f64(),
            cpu.as_secs_f64()
        );
        for (s, w, c) in per.into_iter().filter(|p| p.1 >= Duration::from_millis(5)) {
            println!(
                "  {:<11} {:>7.2} s wall {:>7.2} s CPU",
                format!("{s:?}"),
                w.as_secs_f64(),
                c.as_secs_f64()
            );
        }
    };
    report(
        &format!("first install, {n} tunes (release 10 + updates 11, 12)"),
        timed_sync(&dir.join("a/C64Music"), &url),
    );
    // An installed release 10 (from its own archive), then both updates.
    let b = dir.join("b/C64Music");
    {
        let only10 = Arc::new(BTreeMap::from([(
            "HVSC_10-all-of-them.7z".to_string(),
            full10,
        )]));
        let url10 = serve(only10);
        let mut c = Config::new(&b);
        c.mirror = url10;
        Hvsc::new(c)
            .sync(
                &SyncOptions::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
    }
    report(
        &format!("update of an installed release 10 ({n} tunes) by updates 11 and 12"),
        timed_sync(&b, &url),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

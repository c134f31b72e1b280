//! Library benchmarks on a generated HVSC-shaped collection (see doc/performance.md).
//!
//! ```text
//! libbench gen <dir> <tunes>          write <dir>/C64Music: MUSICIANS/<letter>/<composer>,
//!                                     GAMES, DEMOS, DOCUMENTS/Songlengths.md5 and STIL.txt
//! libbench scan <dir>                 first scan into <dir>/library.redb (time, RSS)
//! libbench open <dir> [idle secs]     restart: open the index to ready (time, idle RSS)
//! libbench search <dir> [rounds]      query mix, p50/p99/max per query (100 results each)
//! libbench rescan <dir>               rescan with nothing changed (time)
//! ```
//!
//! Everything is deterministic (a fixed xorshift seed), so two runs index the same files.

use library::{FsTree, Library};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

const SYL: [&str; 24] = [
    "ka", "ro", "mi", "tel", "hub", "bar", "gal", "way", "dan", "zo", "ne", "li", "ver", "mon",
    "ty", "com", "man", "do", "sid", "pa", "ra", "lax", "wiz", "ball",
];
const WORDS: [&str; 30] = [
    "the", "run", "theme", "music", "intro", "demo", "song", "night", "dream", "space", "star",
    "dance", "loader", "tune", "remix", "blue", "fire", "power", "game", "over", "world", "magic",
    "ocean", "storm", "light", "cosmic", "party", "crack", "zone", "river",
];
const FIRST: [&str; 16] = [
    "Rob", "Martin", "Jörg", "Ståle", "Jeroen", "Chris", "Ben", "Fred", "Søren", "Matt",
    "Johannes", "Markus", "André", "Zoltán", "Anders", "Gábor",
];
const PUBS: [&str; 10] = [
    "Ocean",
    "Elite",
    "Gremlin",
    "Thalamus",
    "Rainbow Arts",
    "Hewson",
    "Firebird",
    "Mastertronic",
    "Booze Design",
    "Fairlight",
];

fn word(r: &mut Rng) -> String {
    let n = 2 + r.below(2);
    let mut w: String = (0..n).map(|_| r.pick(&SYL)).collect();
    if let Some(c) = w.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    w
}

fn psid(
    name: &str,
    author: &str,
    released: &str,
    songs: u16,
    flags: u16,
    payload: &[u8],
) -> Vec<u8> {
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
        let l: Vec<u8> = s.chars().map(|c| c as u32 as u8).take(31).collect();
        h[at..at + l.len()].copy_from_slice(&l);
    }
    h[0x76..0x78].copy_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn gen(dir: &Path, n: usize) {
    let root = dir.join("C64Music");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("DOCUMENTS")).unwrap();
    let mut r = Rng(0x5eed_1234_abcd_ef01);
    let mut lengths = String::from("[Database]\n");
    let mut stil = String::from("### generated ###\n");
    let letters: Vec<char> = ('A'..='Z').collect();
    let mut composer = (String::new(), String::new(), 0usize); // folder, author, left
    let mut payload = vec![0u8; 9000];
    for i in 0..n {
        // ~65 % MUSICIANS (composers of 5-60 tunes), then GAMES and DEMOS.
        let section = match i * 100 / n {
            0..=64 => "MUSICIANS",
            65..=84 => "GAMES",
            _ => "DEMOS",
        };
        let folder = if section == "MUSICIANS" {
            if composer.2 == 0 {
                let last = word(&mut r);
                let first = r.pick(&FIRST);
                let letter = last.chars().next().unwrap_or('X');
                composer = (
                    format!(
                        "MUSICIANS/{letter}/{last}_{}",
                        first.replace(['ö', 'å', 'ø', 'é', 'á'], "o")
                    ),
                    format!("{first} {last}"),
                    5 + r.below(56) as usize,
                );
                stil.push_str(&format!(
                    "\n/{}/\nCOMMENT: {} wrote music for {} games.\n",
                    composer.0,
                    composer.1,
                    r.below(40)
                ));
            }
            composer.2 -= 1;
            composer.0.clone()
        } else {
            let l = letters[r.below(26) as usize];
            format!("{section}/{l}")
        };
        let title = (0..1 + r.below(3))
            .map(|k| {
                if k == 0 {
                    word(&mut r)
                } else {
                    r.pick(&WORDS).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let author = if section == "MUSICIANS" {
            composer.1.clone()
        } else {
            format!("{} {}", r.pick(&FIRST), word(&mut r))
        };
        let year = 1982 + r.below(43);
        let released = format!("{year} {}", r.pick(&PUBS));
        let songs = 1 + (r.below(100) / 70) as u16 * r.below(12) as u16;
        let flags = ((1 + r.below(2)) << 2 | (1 + r.below(2)) << 4) as u16;
        let size = 500 + r.below(8000) as usize;
        for b in payload.iter_mut().take(size) {
            *b = r.next() as u8;
        }
        let bytes = psid(&title, &author, &released, songs, flags, &payload[..size]);
        let file = format!("{}_{i}.sid", title.replace(' ', "_"));
        let rel = format!("{folder}/{file}");
        let p = root.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes).unwrap();
        let md5 = sidfile::SidTune::parse(&bytes).unwrap().md5_hex();
        let times: Vec<String> = (0..songs)
            .map(|_| {
                let s = 20 + r.below(400);
                format!("{}:{:02}", s / 60, s % 60)
            })
            .collect();
        lengths.push_str(&format!("; /{rel}\n{md5}={}\n", times.join(" ")));
        if r.below(3) == 0 {
            stil.push_str(&format!(
                "\n/{rel}\nCOMMENT: {} {} {}.\n",
                r.pick(&WORDS),
                r.pick(&WORDS),
                r.pick(&WORDS)
            ));
        }
    }
    std::fs::write(root.join("DOCUMENTS/Songlengths.md5"), lengths).unwrap();
    std::fs::write(root.join("DOCUMENTS/STIL.txt"), stil).unwrap();
    println!("generated {n} tunes under {}", root.display());
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn open(dir: &Path) -> Library {
    Library::open(&dir.join("library.redb"), FsTree::new(dir.join("C64Music"))).unwrap()
}

fn queries(lib: &Library) -> Vec<String> {
    // Real titles and authors from the index, typed whole, in part, with a typo, plus filters.
    let mut r = Rng(0xfeed_beef_1234_5678);
    let entries = lib.entries();
    let mut qs = Vec::new();
    for _ in 0..40 {
        let e = &entries[r.below(entries.len() as u64) as usize];
        let t = lib.get(&e.path).unwrap();
        let first = t.title.split(' ').next().unwrap_or("x").to_string();
        let last = t.author.split(' ').next_back().unwrap_or("x").to_string();
        qs.push(t.title.clone());
        qs.push(first[..first.len().min(3)].to_string());
        qs.push(format!("author:{last}"));
        let mut typo: Vec<char> = last.to_lowercase().chars().collect();
        if typo.len() > 4 {
            typo.swap(1, 2);
        }
        qs.push(typo.into_iter().collect());
        qs.push(format!("{first} year:1985..1989"));
    }
    for q in [
        "the",
        "a",
        "e",
        "remix",
        "theme",
        "jorg",
        "stale",
        "year:1985..1989",
        "chip:8580",
        "clock:ntsc chip:8580",
        "duration:<2:00",
        "type:psid sids:1",
        "music year:>=2000",
        "dance duration:1:00..3:00",
        "\"the run\"",
        "cosmic party",
        "ocean 1986",
        "musicians",
        "zzzzzz",
    ] {
        qs.push(q.to_string());
    }
    qs
}

/// CPU time of the calling thread (what a query costs, whatever else the machine runs).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(2).map(String::as_str).unwrap_or("/tmp/libbench"));
    match args.get(1).map(String::as_str) {
        Some("gen") => gen(
            &dir,
            args.get(3).and_then(|n| n.parse().ok()).unwrap_or(60_000),
        ),
        Some("scan") => {
            let _ = std::fs::remove_file(dir.join("library.redb"));
            let t0 = Instant::now();
            let lib = open(&dir);
            let r = lib.rescan(&mut |_| {}).unwrap();
            println!(
                "first scan: {} tunes in {:.2} s ({} unreadable, STIL {} entries), RSS after {} KiB",
                r.tunes,
                t0.elapsed().as_secs_f64(),
                r.unreadable,
                r.stil_entries,
                rss_kib()
            );
            drop(r);
            drop(lib);
            println!("RSS after closing the library: {} KiB", rss_kib());
            let lib = open(&dir);
            println!(
                "RSS after opening it again (same process): {} KiB ({} tunes)",
                rss_kib(),
                lib.len()
            );
        }
        Some("rescan") => {
            let lib = open(&dir);
            let t0 = Instant::now();
            let r = lib.rescan(&mut |_| {}).unwrap();
            println!(
                "rescan, nothing changed: {} files in {:.2} s (changed anything: {})",
                r.files,
                t0.elapsed().as_secs_f64(),
                r.changed_anything()
            );
        }
        Some("open") => {
            let base = rss_kib();
            let t0 = Instant::now();
            let lib = open(&dir);
            let ready = t0.elapsed();
            let idle = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2);
            std::thread::sleep(Duration::from_secs(idle));
            println!(
                "restart to ready: {} tunes in {:.3} s; RSS before open {} KiB, idle after {} KiB; catalog {} KiB",
                lib.len(),
                ready.as_secs_f64(),
                base,
                rss_kib(),
                lib.catalog_bytes() / 1024
            );
        }
        Some("search") => {
            let lib = open(&dir);
            let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
            let qs = queries(&lib);
            let before = rss_kib();
            let mut wall = Vec::new();
            let mut cpu = Vec::new();
            let mut worst = (Duration::ZERO, String::new());
            for _ in 0..rounds {
                for q in &qs {
                    let (t0, c0) = (Instant::now(), thread_cpu());
                    let h = lib.search(q, 100).unwrap();
                    let (dt, dc) = (t0.elapsed(), thread_cpu() - c0);
                    std::hint::black_box(h);
                    if dc > worst.0 {
                        worst = (dc, q.clone());
                    }
                    wall.push(dt);
                    cpu.push(dc);
                }
            }
            wall.sort();
            cpu.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "search: {} queries x {rounds} rounds on {} tunes, 100 results each\n  wall:       p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n  thread CPU: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:?})\n  RSS before {} KiB, after {} KiB",
                qs.len(),
                lib.len(),
                ms(pct(&wall, 0.5)),
                ms(pct(&wall, 0.99)),
                ms(*wall.last().unwrap()),
                ms(pct(&cpu, 0.5)),
                ms(pct(&cpu, 0.99)),
                ms(worst.0),
                worst.1,
                before,
                rss_kib()
            );
        }
        _ => eprintln!("usage: libbench gen|scan|open|search|rescan <dir> [n]"),
    }
}

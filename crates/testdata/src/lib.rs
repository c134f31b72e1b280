//! Where the shared third-party test material lives, for tests only.
//!
//! Two kinds of material are not ours to commit: CPU/C64 test vectors (Klaus Dormann's 6502
//! tests, Tom Harte's single-step JSON, the Lorenz suite, the VICE test programs) and a corpus
//! of real HVSC tunes. Both live in one folder beside the checkout, found through ONE setting:
//!
//! * `SIDFLOW_SHARED`, if set, names the folder;
//! * otherwise `<workspace>/../shared`.
//!
//! Below it, `testdata/` holds the vectors ([`dir`]) and `corpus/` the tunes ([`corpus`]).
//! When a folder is missing, the functions return `None` after printing where the material
//! comes from, so a user's own checkout skips those tests. Under CI (`CI` set to anything but
//! `false`/`0`, or `SIDFLOW_REQUIRE_TESTDATA=1`) a missing folder is a hard failure instead:
//! CI must never silently test less.
//!
//! ```no_run
//! let Some(dir) = testdata::dir() else { return };
//! let image = std::fs::read(dir.join("klaus/6502_functional_test.bin")).unwrap();
//! # let _ = image;
//! let Some(corpus) = testdata::corpus() else { return };
//! for tune in &corpus.tunes {
//!     let bytes = std::fs::read(&tune.path).unwrap();
//!     # let _ = bytes;
//! }
//! ```

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The environment variable that names the shared folder.
pub const ENV: &str = "SIDFLOW_SHARED";

/// The workspace root (the folder holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // crates/testdata -> crates -> workspace
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// True when missing shared material must fail the run rather than skip.
pub fn required() -> bool {
    let on = |name: &str| {
        std::env::var(name)
            .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
            .unwrap_or(false)
    };
    on("CI") || on("SIDFLOW_REQUIRE_TESTDATA")
}

/// The configured shared folder, whether or not it exists.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os(ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => workspace_root().join("../shared"),
    }
}

/// The configured test-vector folder (`<shared>/testdata`), whether or not it exists.
pub fn configured_dir() -> PathBuf {
    shared_dir().join("testdata")
}

/// Skips (returns `None` after a message) or fails (under CI) for missing material.
fn missing<T>(msg: String) -> Option<T> {
    if required() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The test-vector folder, or `None` (after printing why) when it is absent and not
/// required. Panics when it is absent and required (CI).
pub fn dir() -> Option<PathBuf> {
    let d = configured_dir();
    if d.is_dir() {
        return Some(d);
    }
    missing(format!(
        "third-party test vectors not found at {} (set {ENV} to the folder holding testdata/ \
         and corpus/). They are Klaus Dormann's 6502 functional tests \
         (github.com/Klaus2m5/6502_65C02_functional_tests, GPL-3), Tom Harte's 6502 single-step \
         tests (github.com/SingleStepTests/65x02, MIT), Wolfgang Lorenz's C64 test suite and the \
         VICE test programs (libsidplayfp/VICE-testprogs); see doc/testing.md for the layout.",
        d.display()
    ))
}

/// A file below the test-vector folder, with the same skip/fail rules as [`dir`].
pub fn file(rel: &str) -> Option<PathBuf> {
    let p = dir()?.join(rel);
    if !p.exists() {
        return missing(format!("test vector {} is missing", p.display()));
    }
    Some(p)
}

/// One tune of the HVSC corpus, as `corpus/MANIFEST.tsv` lists it.
#[derive(Debug, Clone)]
pub struct CorpusTune {
    /// The file name in the corpus folder (`Hubbard_Rob__Chimera.sid`).
    pub name: String,
    /// Full path of the file.
    pub path: PathBuf,
    /// The whole-file MD5 the manifest records (lower-case hex).
    pub md5: String,
    /// Its path in the repository it was taken from (close to its HVSC path).
    pub origin_path: String,
}

/// The corpus of real HVSC tunes (`<shared>/corpus`).
#[derive(Debug, Clone)]
pub struct Corpus {
    pub dir: PathBuf,
    /// Every tune the manifest lists, in manifest order.
    pub tunes: Vec<CorpusTune>,
}

impl Corpus {
    /// The tune with this file name.
    pub fn get(&self, name: &str) -> Option<&CorpusTune> {
        self.tunes.iter().find(|t| t.name == name)
    }
}

/// The configured corpus folder, whether or not it exists.
pub fn configured_corpus_dir() -> PathBuf {
    shared_dir().join("corpus")
}

/// The HVSC corpus, or `None` (after printing why) when it is absent and not required.
/// Panics when it is absent and required (CI), or when its manifest is unreadable or names
/// a file that is not there.
pub fn corpus() -> Option<Corpus> {
    let dir = configured_corpus_dir();
    let manifest = dir.join("MANIFEST.tsv");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return missing(format!(
            "HVSC tune corpus not found at {} (set {ENV} to the folder holding corpus/). \
             It holds real HVSC tunes with a MANIFEST.tsv (file, md5, repository, commit, path); \
             see doc/testing.md.",
            manifest.display()
        ));
    };
    let mut tunes = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(md5)) = (cols.first(), cols.get(1)) else {
            panic!("{}: bad manifest line {line:?}", manifest.display());
        };
        let path = dir.join(name);
        assert!(
            path.is_file(),
            "{} lists {name}, which is missing",
            manifest.display()
        );
        tunes.push(CorpusTune {
            name: name.to_string(),
            path,
            md5: md5.to_ascii_lowercase(),
            origin_path: cols.get(4).unwrap_or(&"").to_string(),
        });
    }
    Some(Corpus { dir, tunes })
}

/// A tmpfs a test mounted (a small, really full disk); unmounted when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Mounts a tmpfs of `size` (`"4m"`) on `dir` (made if missing). Mounting needs root: CI
/// runs as root and must run such tests (a failure to mount is a hard failure under
/// [`required`]); elsewhere the test is skipped with a message naming `what` did not run.
pub fn tmpfs(dir: &Path, size: &str, what: &str) -> Option<Tmpfs> {
    std::fs::create_dir_all(dir).expect("make the mount point");
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(Tmpfs(dir.to_path_buf()));
    }
    assert!(
        !required(),
        "cannot mount a tmpfs (CI runs as root and must run {what})"
    );
    eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); {what} did not run");
    None
}

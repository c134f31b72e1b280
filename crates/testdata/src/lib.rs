//! Where the third-party test vectors live, for tests only.
//!
//! The vectors (Klaus Dormann's 6502 tests, Tom Harte's single-step JSON, the Lorenz
//! C64 suite) are not ours to commit, so tests read them from one place:
//!
//! * `SIDFLOW_TESTDATA`, if set, names the folder;
//! * otherwise `<workspace>/../shared/testdata`.
//!
//! When the folder is missing, [`dir`] returns `None` and prints a message that says
//! where the vectors come from, so a user's own checkout skips those tests. Under CI
//! (`CI` set to anything but `false`/`0`, or `SIDFLOW_REQUIRE_TESTDATA=1`) a missing
//! folder is a hard failure instead: CI must never silently test less.
//!
//! ```no_run
//! let Some(dir) = testdata::dir() else { return };
//! let image = std::fs::read(dir.join("klaus/6502_functional_test.bin")).unwrap();
//! # let _ = image;
//! ```

use std::path::{Path, PathBuf};

/// The environment variable that overrides the test-vector folder.
pub const ENV: &str = "SIDFLOW_TESTDATA";

/// The workspace root (the folder holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // crates/testdata -> crates -> workspace
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// True when a missing test-vector folder must fail the run rather than skip.
pub fn required() -> bool {
    let on = |name: &str| {
        std::env::var(name)
            .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
            .unwrap_or(false)
    };
    on("CI") || on("SIDFLOW_REQUIRE_TESTDATA")
}

/// The configured folder, whether or not it exists.
pub fn configured_dir() -> PathBuf {
    match std::env::var_os(ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => workspace_root().join("../shared/testdata"),
    }
}

/// The test-vector folder, or `None` (after printing why) when it is absent and not
/// required. Panics when it is absent and required (CI).
pub fn dir() -> Option<PathBuf> {
    let d = configured_dir();
    if d.is_dir() {
        return Some(d);
    }
    let msg = format!(
        "third-party test vectors not found at {} (set {ENV} to their folder). \
         They are Klaus Dormann's 6502 functional tests (github.com/Klaus2m5/6502_65C02_functional_tests, GPL-3), \
         Tom Harte's 6502 single-step tests (github.com/SingleStepTests/65x02, MIT) and \
         Wolfgang Lorenz's C64 test suite (libsidplayfp/VICE-testprogs, public domain); \
         see doc/testing.md for the expected layout.",
        d.display()
    );
    if required() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// A file below the test-vector folder, with the same skip/fail rules as [`dir`].
pub fn file(rel: &str) -> Option<PathBuf> {
    let p = dir()?.join(rel);
    if !p.exists() {
        let msg = format!("test vector {} is missing", p.display());
        if required() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    Some(p)
}

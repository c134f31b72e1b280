//! Builds the in-browser engine (`crates/wasm-engine`) to `sidflow_engine.wasm`:
//!
//! ```text
//! cargo build --locked --profile wasm --target wasm32-unknown-unknown -p wasm-engine
//! ```
//!
//! in its own target folder (`<target>/wasm-engine`), so a nested build started from a test or
//! from a build script never waits for the lock of the build that started it. The tests of
//! `wasm-engine` use it; a build script that embeds the module (the daemon's, see
//! `doc/browser-engine.md`) can too:
//!
//! ```no_run
//! // build.rs
//! let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
//! let ws = wasm_build::workspace_of(env!("CARGO_MANIFEST_DIR"));
//! wasm_build::rerun_if_changed(&ws);
//! let dest = out.join("sidflow_engine.wasm");
//! match wasm_build::build(&ws) {
//!     Ok(wasm) => { std::fs::copy(wasm, &dest).unwrap(); }
//!     Err(e) => {
//!         println!("cargo:warning=in-browser engine not built: {e}");
//!         std::fs::write(&dest, b"").unwrap(); // the daemon then offers box streaming only
//!     }
//! }
//! ```
//!
//! Hand-written rather than a crate: it is one `cargo` command plus the environment clean-up
//! a nested build needs (no crate does just that; `wasm-pack` and `cargo-xtask` are tools, not
//! build-script helpers).

#![forbid(unsafe_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target the module is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The Cargo profile (workspace `Cargo.toml`: release, fat LTO, one codegen unit, abort).
pub const PROFILE: &str = "wasm";
/// The file the build makes.
pub const FILE: &str = "sidflow_engine.wasm";

/// Why the module could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// `rustup target add wasm32-unknown-unknown` has not been run.
    TargetMissing,
    /// `cargo` could not be started.
    Cargo(std::io::Error),
    /// The build ran and failed (its errors went to stderr).
    Failed(std::process::ExitStatus),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::TargetMissing => write!(
                f,
                "the Rust target {TARGET} is not installed (rustup target add {TARGET}; \
                 ./dev.sh deps does it)"
            ),
            BuildError::Cargo(e) => write!(f, "cannot run cargo: {e}"),
            BuildError::Failed(s) => write!(f, "cargo build of the wasm engine failed ({s})"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The workspace root, from a member crate's `CARGO_MANIFEST_DIR` (`<ws>/crates/x` or
/// `<ws>/daemon`): the nearest ancestor whose `Cargo.toml` has a `[workspace]` table.
pub fn workspace_of(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir)
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .map(|t| t.lines().any(|l| l.trim() == "[workspace]"))
                .unwrap_or(false)
        })
        .unwrap_or_else(|| Path::new(manifest_dir))
        .to_path_buf()
}

/// Where the module's build lives: `$CARGO_TARGET_DIR/wasm-engine`, else
/// `<workspace>/target/wasm-engine`.
pub fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("wasm-engine"),
        _ => workspace.join("target/wasm-engine"),
    }
}

/// The module's path once built.
pub fn output(workspace: &Path) -> PathBuf {
    target_dir(workspace).join(TARGET).join(PROFILE).join(FILE)
}

/// True when the standard library for [`TARGET`] is installed.
pub fn target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            Path::new(String::from_utf8_lossy(&o.stdout).trim())
                .join("lib/rustlib")
                .join(TARGET)
                .is_dir()
        })
        .unwrap_or(false)
}

/// Builds the module (incrementally: a second call costs a no-op cargo run) and returns its
/// path. The build's own messages go to stderr.
pub fn build(workspace: &Path) -> Result<PathBuf, BuildError> {
    if !target_installed() {
        return Err(BuildError::TargetMissing);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--quiet",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
            "-p",
            "wasm-engine",
        ])
        .env("CARGO_TARGET_DIR", target_dir(workspace));
    // From a build script: the outer build's flags are for its own target (perhaps another
    // architecture), not for wasm; its target/profile settings must not leak in either.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().map_err(BuildError::Cargo)?;
    if !status.success() {
        return Err(BuildError::Failed(status));
    }
    Ok(output(workspace))
}

/// What the module is built from, relative to the workspace: the lock file, the workspace
/// manifest (profiles) and every crate of ours the engine depends on (a test checks the list
/// against the crates' manifests).
pub const SOURCES: [&str; 12] = [
    "Cargo.lock",
    "Cargo.toml",
    "crates/wasm-engine/src",
    "crates/wasm-engine/Cargo.toml",
    "crates/render/src",
    "crates/render/Cargo.toml",
    "crates/c64/src",
    "crates/c64/Cargo.toml",
    "crates/sidfile/src",
    "crates/sidfile/Cargo.toml",
    "crates/pcm/src",
    "crates/pcm/Cargo.toml",
];

/// For a build script: rebuild when the engine's sources or the lock file change.
pub fn rerun_if_changed(workspace: &Path) {
    for p in SOURCES {
        println!("cargo:rerun-if-changed={}", workspace.join(p).display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_workspace_and_its_target_folder() {
        let ws = workspace_of(env!("CARGO_MANIFEST_DIR"));
        assert!(ws.join("crates/wasm-engine/Cargo.toml").is_file(), "{ws:?}");
        assert!(
            output(&ws).ends_with("wasm-engine/wasm32-unknown-unknown/wasm/sidflow_engine.wasm")
        );
    }

    /// The crates of ours the engine is built from: `path` dependencies of the
    /// `[dependencies]` tables, followed from crates/wasm-engine.
    fn path_dependencies(ws: &Path) -> Vec<String> {
        let mut seen = Vec::new();
        let mut todo = vec!["crates/wasm-engine".to_string()];
        while let Some(dir) = todo.pop() {
            if seen.contains(&dir) {
                continue;
            }
            let manifest = std::fs::read_to_string(ws.join(&dir).join("Cargo.toml")).unwrap();
            let mut section = String::new();
            for line in manifest.lines().map(str::trim) {
                if line.starts_with('[') {
                    section = line.to_string();
                } else if section == "[dependencies]" {
                    if let Some(rest) = line.split("path = \"").nth(1) {
                        // `../name`: every crate of ours is a sibling in crates/.
                        let rel = rest.split('"').next().unwrap();
                        todo.push(format!("crates/{}", rel.rsplit('/').next().unwrap()));
                    }
                }
            }
            seen.push(dir);
        }
        seen
    }

    #[test]
    fn the_rebuild_list_covers_every_crate_the_engine_is_built_from() {
        let ws = workspace_of(env!("CARGO_MANIFEST_DIR"));
        let crates = path_dependencies(&ws);
        assert!(crates.contains(&"crates/pcm".to_string()), "{crates:?}");
        for c in &crates {
            for part in ["src", "Cargo.toml"] {
                let p = format!("{c}/{part}");
                assert!(SOURCES.contains(&p.as_str()), "{p} is missing from SOURCES");
            }
        }
        assert_eq!(SOURCES.len(), 2 + 2 * crates.len(), "{crates:?}");
    }
}

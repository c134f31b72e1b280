//! Building the `.wasm` and finding Node.js for the tests that run the module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn workspace() -> PathBuf {
    testdata::workspace_root()
}

/// Skips (after saying why) or, under CI, fails.
fn missing<T>(msg: &str) -> Option<T> {
    if testdata::required() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// Where the test builds the module: its own target folder, so the nested cargo never waits
/// for the lock of the build that runs the tests.
pub fn wasm_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("wasm-engine"),
        _ => workspace().join("target/wasm-engine"),
    }
}

/// Builds `sidflow_engine.wasm` (profile `wasm`) once per test process and returns its path;
/// `None` (skip) when the `wasm32-unknown-unknown` target is not installed, outside CI.
pub fn wasm_module() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let sysroot = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        if !Path::new(&sysroot)
            .join("lib/rustlib/wasm32-unknown-unknown")
            .is_dir()
        {
            return Err("the Rust target wasm32-unknown-unknown is not installed \
                        (rustup target add wasm32-unknown-unknown; ./dev.sh deps does it)"
                .into());
        }
        let dir = wasm_target_dir();
        let out = Command::new(cargo)
            .current_dir(workspace())
            .env("CARGO_TARGET_DIR", &dir)
            .args([
                "build",
                "--quiet",
                "--locked",
                "--profile",
                "wasm",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "wasm-engine",
            ])
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        if !out.success() {
            panic!("building the wasm engine failed ({out})");
        }
        Ok(dir.join("wasm32-unknown-unknown/wasm/sidflow_engine.wasm"))
    });
    match r {
        Ok(p) => Some(p.clone()),
        Err(m) => missing(m),
    }
}

/// `node` (>= 20), or `None` (skip) outside CI.
pub fn node() -> Option<PathBuf> {
    let v = Command::new("node")
        .args(["-p", "process.versions.node.split('.')[0]"])
        .output();
    match v {
        Ok(o) if o.status.success() => {
            let major: u32 = String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse()
                .unwrap_or(0);
            if major >= 20 {
                Some(PathBuf::from("node"))
            } else {
                missing(&format!(
                    "Node.js {major} is too old to run the wasm engine tests (need >= 20)"
                ))
            }
        }
        _ => missing("Node.js not found: it runs the wasm engine in tests (need >= 20)"),
    }
}

/// The demo tunes (`demo/*.sid`), sorted.
pub fn demo_tunes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("demo"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "sid"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

//! Building the `.wasm` and finding Node.js for the tests that run the module.
#![allow(dead_code)]

use std::path::PathBuf;
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

/// Builds `sidflow_engine.wasm` once per test process (`wasm_build::build`) and returns its
/// path; `None` (skip) when the `wasm32-unknown-unknown` target is not installed, outside CI.
pub fn wasm_module() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = BUILT.get_or_init(|| match wasm_build::build(&workspace()) {
        Ok(p) => Ok(p),
        Err(e @ wasm_build::BuildError::TargetMissing) => Err(e.to_string()),
        Err(e) => panic!("{e}"),
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

//! Builds the in-browser engine (`crates/wasm-engine`, see doc/browser-engine.md) and leaves
//! it in `OUT_DIR` for `src/http/engine.rs` to embed: `sidflow_engine.wasm` and its gzip
//! (compressed here, once per engine change, so the box never spends CPU on it).
//!
//! The nested cargo build runs only when the engine's sources or the lock file changed (the
//! `rerun-if-changed` list of `wasm_build`); an up-to-date module costs nothing.
//!
//! Without the `wasm32-unknown-unknown` target (a distribution's rustc without rustup), the
//! daemon is still built: a cargo warning, an empty module, and the page streams from the
//! box. Under CI (`CI` set) or with `SIDFLOW_REQUIRE_WASM=1` that is a build failure instead:
//! `./dev.sh deps` installs the target, so CI always has it.

use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let ws = wasm_build::workspace_of(&manifest);
    wasm_build::rerun_if_changed(&ws);
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["CI", "SIDFLOW_REQUIRE_WASM", "SIDFLOW_NO_WASM"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let set =
        |var: &str| std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let required = set("CI") || set("SIDFLOW_REQUIRE_WASM");
    let wasm = out.join(wasm_build::FILE);
    let gz = out.join(format!("{}.gz", wasm_build::FILE));
    // SIDFLOW_NO_WASM=1: build without the engine on purpose (tests of the fallback).
    let built = if set("SIDFLOW_NO_WASM") {
        Err("SIDFLOW_NO_WASM=1".to_string())
    } else {
        wasm_build::build(&ws).map_err(|e| e.to_string())
    };
    match built.and_then(|module| std::fs::read(&module).map_err(|e| format!("{module:?}: {e}"))) {
        Ok(bytes) => {
            write_if_changed(&wasm, &bytes);
            write_if_changed(&gz, &gzip(&bytes));
        }
        Err(e) if required => {
            panic!("the in-browser engine must be built here (CI or SIDFLOW_REQUIRE_WASM=1): {e}")
        }
        Err(e) => {
            println!(
                "cargo:warning=in-browser engine not built ({e}); listeners will stream from the box"
            );
            write_if_changed(&wasm, b"");
            write_if_changed(&gz, b"");
        }
    }
}

/// gzip at the best level: done once per engine change (~0.2 s), not on the box.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    g.write_all(bytes).expect("gzip into memory");
    g.finish().expect("gzip into memory")
}

/// Leaves an identical file alone, so its modification time (and what depends on it) stays.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{tmp:?}: {e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
}

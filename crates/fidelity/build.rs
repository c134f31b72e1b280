//! Builds the reference harness (`cpp/sidref.cpp`) against Debian's static libsidplayfp
//! (`libsidplayfp-dev`) when it is installed; without it the crate builds with the reference
//! marked unavailable (`reference::available()` is false) and tests that need it skip, or
//! fail under CI.

use std::path::PathBuf;

/// reSID entry points libsidplayfp's reSID glue calls and the harness intercepts.
const WRAPPED: &[&str] = &[
    "_ZN5reSID3SID5writeEjj",
    "_ZN5reSID3SID5clockERiPsii",
    "_ZN5reSID3SID5resetEv",
    "_ZN5reSID3SID14set_chip_modelENS_10chip_modelE",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sidref)");
    println!("cargo::rerun-if-changed=cpp/sidref.cpp");
    println!("cargo::rerun-if-changed=build.rs");
    let libdir = pkg_config::get_variable("libsidplayfp", "libdir").ok();
    let incdir = pkg_config::get_variable("libsidplayfp", "includedir").ok();
    let (Some(libdir), Some(incdir)) = (libdir, incdir) else {
        println!(
            "cargo::warning=libsidplayfp-dev not found: the reference harness is unavailable \
             (install it with ./dev.sh deps)"
        );
        return;
    };
    let archive = PathBuf::from(&libdir).join("libsidplayfp.a");
    if !archive.is_file() {
        println!(
            "cargo::warning={} missing: the reference harness is unavailable",
            archive.display()
        );
        return;
    }
    cc::Build::new()
        .cpp(true)
        .std("c++14")
        .include(&incdir)
        .warnings(true)
        .file("cpp/sidref.cpp")
        .compile("sidref");
    println!("cargo::rustc-link-search=native={libdir}");
    println!("cargo::rustc-link-lib=static=sidplayfp");
    println!("cargo::rustc-link-lib=dylib=gcrypt");
    println!("cargo::rustc-link-lib=dylib=stdc++");
    for sym in WRAPPED {
        println!("cargo::rustc-link-arg=-Wl,--wrap={sym}");
    }
    println!("cargo::rustc-cfg=sidref");
}

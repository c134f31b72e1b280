//! The in-browser engine as the box serves it (doc/browser-engine.md): `GET /api/browser-engine`
//! names one content-hashed folder; its five files come with a year of immutable caching, the
//! right types, gzip, and a policy that lets the worker compile WebAssembly; any other folder
//! is 404. Under CI the module must be there (build.rs fails the build without it; this test
//! fails on an empty one too).

mod common;
use common::*;
use std::io::Read;

const SCRIPTS: [&str; 4] = [
    "engine-worker.js",
    "engine.js",
    "player-worklet.js",
    "player.js",
];

fn required() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set("CI") || set("SIDFLOW_REQUIRE_WASM")
}

#[test]
fn the_engine_folder_is_discovered_hashed_immutable_and_compressed() {
    let d = Daemon::start("engine", &[]);
    let r = d.get("/api/browser-engine");
    if r.status == 404 && !required() {
        eprintln!(
            "skipped: this sidflowd was built without the in-browser engine (no wasm32 target)"
        );
        return;
    }
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let info = r.json();
    let base = info["base"].as_str().unwrap().to_string();
    let hash = base
        .strip_prefix("/engine/")
        .and_then(|b| b.strip_suffix('/'))
        .unwrap_or_else(|| panic!("base {base}"));
    assert!(
        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    assert_eq!(info["abi"], 1);
    let wasm_bytes = info["wasm_bytes"].as_u64().unwrap();
    assert!(
        wasm_bytes > 100_000,
        "the module is {wasm_bytes} bytes: built empty?"
    );

    let mut names: Vec<&str> = SCRIPTS.to_vec();
    names.push("sidflow_engine.wasm");
    names.sort();
    let listed: Vec<&str> = info["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, names);

    let web = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/js/engine/");
    let mut files = Vec::new();
    for name in &names {
        let url = format!("{base}{name}");
        let plain = d.get(&url);
        assert_eq!(plain.status, 200, "{url}");
        assert_eq!(
            plain.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{url}"
        );
        let csp = plain.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("'wasm-unsafe-eval'"), "{url}: {csp}");
        assert!(plain.header("content-encoding").is_none());
        if name.ends_with(".wasm") {
            assert_eq!(plain.header("content-type"), Some("application/wasm"));
            assert_eq!(plain.body.len() as u64, wasm_bytes);
            assert_eq!(&plain.body[..4], b"\0asm", "a WebAssembly module");
        } else {
            assert_eq!(
                plain.header("content-type"),
                Some("text/javascript; charset=utf-8")
            );
            let disk = std::fs::read(format!("{web}{name}")).unwrap();
            assert_eq!(plain.body, disk, "{name} as in web/js/engine");
        }
        // gzip when accepted, and it decodes to the same bytes.
        let zipped = d.request("GET", &url, &[("Accept-Encoding", "gzip, deflate")], None);
        assert_eq!(zipped.header("content-encoding"), Some("gzip"), "{url}");
        assert!(zipped.body.len() < plain.body.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&zipped.body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain.body, "{url} gzip");
        if name.ends_with(".wasm") {
            println!(
                "module: {} bytes, {} gzipped",
                plain.body.len(),
                zipped.body.len()
            );
        }
        files.push((name.to_string(), plain.body));
    }

    // The folder's name is the documented hash of what is in it.
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (name, body) in &files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(body);
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, &digest[..16]);

    // Another folder, another file, or a path around it: 404.
    let other = format!("/engine/{}/player.js", "0".repeat(16));
    assert_eq!(d.get(&other).status, 404);
    assert_eq!(d.get(&format!("{base}index.html")).status, 404);
    assert_eq!(d.get(&format!("{base}..%2Findex.html")).status, 404);
    assert_eq!(d.get(&format!("/engine/{hash}")).status, 404);
    // HEAD answers like GET.
    let head = d.request("HEAD", &format!("{base}sidflow_engine.wasm"), &[], None);
    assert_eq!(head.status, 200);
}

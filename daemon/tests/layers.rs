//! The daemon's layering, checked on its source: `http/` and `cmd/` (front-ends) -> the
//! composition root `app` -> domain services -> crates.
//!
//! * No service file imports `http/`, `cmd/` or `app` (records and constants live with the
//!   service that owns them; services take narrow handles, not the whole app).
//! * No file of the daemon is in an import loop (file A uses B, and B, through any chain,
//!   uses A).
//!
//! Imports are read from the source: every `crate::a::b` path (in `use` lists too) and every
//! `super::x` path, resolved to the file that defines the module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `src`, as its module path (`http/routes.rs` -> `http::routes`,
/// `http/mod.rs` -> `http`, `main.rs` -> `` (the crate root)).
fn modules() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(src())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let m = rel
                    .trim_end_matches(".rs")
                    .trim_end_matches("/mod")
                    .replace('/', "::");
                let m = if m == "main" { String::new() } else { m };
                out.insert(m, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// The text without comments and string literals (so docs and messages are not imports).
fn code_only(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if !in_str && c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = c;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Expands `use a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`; other code is kept.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Whole `use` items (they may span lines).
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before_ok = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        let Some(end) = rest[i..].find(';') else {
            break;
        };
        if before_ok {
            expand(&rest[i + 4..i + end], &mut out);
        }
        rest = &rest[i + end + 1..];
    }
    // Paths written in place (`crate::media::variant(...)`).
    for (i, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let tail: String = code[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        out.push(tail);
    }
    out
}

fn expand(item: &str, out: &mut Vec<String>) {
    let item: String = item.split_whitespace().collect();
    fn go(prefix: &str, s: &str, out: &mut Vec<String>) {
        let s = s.trim_matches(',');
        if s.is_empty() {
            return;
        }
        match s.find('{') {
            Some(open) if s.ends_with('}') => {
                let head = &s[..open];
                let inner = &s[open + 1..s.len() - 1];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            go(&format!("{prefix}{head}"), &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                go(&format!("{prefix}{head}"), &inner[start..], out);
            }
            _ => out.push(format!("{prefix}{s}")),
        }
    }
    go("", &item, out);
}

/// The module a path names, given the module `from` it is written in: the longest prefix
/// that is a module file of the daemon.
fn resolve(path: &str, from: &str, mods: &BTreeMap<String, String>) -> Option<String> {
    let mut segs: Vec<String> = Vec::new();
    let mut parts = path.split("::").filter(|s| !s.is_empty()).peekable();
    match parts.peek().copied() {
        Some("crate") => {
            parts.next();
        }
        Some("super") => {
            let mut base: Vec<&str> = from.split("::").filter(|s| !s.is_empty()).collect();
            // `super` of a `mod.rs`/file module is its parent module.
            while parts.peek() == Some(&"super") {
                parts.next();
                base.pop();
            }
            segs.extend(base.iter().map(|s| s.to_string()));
        }
        _ => return None,
    }
    segs.extend(parts.map(str::to_string));
    while !segs.is_empty() {
        let m = segs.join("::");
        if mods.contains_key(&m) {
            return Some(m);
        }
        segs.pop();
    }
    None
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let mut g = BTreeMap::new();
    for (m, text) in &mods {
        let mut deps = BTreeSet::new();
        // Unit-test modules may reach anywhere; they are not part of the layering.
        let code = code_only(text.split("#[cfg(test)]").next().unwrap_or(text));
        for p in paths_in(&code) {
            if let Some(d) = resolve(&p, m, &mods) {
                if &d != m && !d.is_empty() {
                    deps.insert(d);
                }
            }
        }
        g.insert(m.clone(), deps);
    }
    g
}

fn front_end(m: &str) -> bool {
    m == "http" || m.starts_with("http::") || m == "cmd" || m.starts_with("cmd::") || m.is_empty()
}

#[test]
fn no_service_imports_a_front_end_or_the_app() {
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        if front_end(&m) || m == "app" {
            continue;
        }
        for d in deps {
            if front_end(&d) || d == "app" {
                wrong.push(format!("{m} -> {d}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports up the layers: {wrong:?}");
}

#[test]
fn no_daemon_file_is_in_an_import_loop() {
    let g = graph();
    // Tarjan's strongly connected components; any with two files or more is a loop.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        loops: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.loops.push(comp);
            }
        }
    }
    let mut t = T {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        loops: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    assert!(t.loops.is_empty(), "import loops: {:?}", t.loops);
}

#[test]
fn the_checker_sees_imports_and_loops() {
    // The parser itself: nested use lists, in-place paths, `super`, comments ignored.
    let code = code_only(
        "use crate::a::{b, c::{d, e}};\n// use crate::zz;\nlet x = crate::f::g(1);\nuse super::h;\n",
    );
    let p = paths_in(&code);
    for want in [
        "crate::a::b",
        "crate::a::c::d",
        "crate::a::c::e",
        "crate::f::g",
        "super::h",
    ] {
        assert!(p.iter().any(|x| x == want), "{want} in {p:?}");
    }
    assert!(!p.iter().any(|x| x.contains("zz")), "{p:?}");
    let mods: BTreeMap<String, String> = ["http", "http::admin", "media", "media::tests"]
        .iter()
        .map(|m| (m.to_string(), String::new()))
        .collect();
    assert_eq!(
        resolve("super::admin::x", "http::routes", &mods).as_deref(),
        Some("http::admin")
    );
    assert_eq!(
        resolve("crate::media::Chip", "jobs", &mods).as_deref(),
        Some("media")
    );
    assert_eq!(
        resolve("crate::http::x", "jobs", &mods).as_deref(),
        Some("http")
    );
    // The real tree has files in it and sees the router's use of its handlers.
    let g = graph();
    assert!(
        g["http::routes"].contains("http::admin"),
        "{:?}",
        g["http::routes"]
    );
    assert!(g["app"].contains("media"));
}

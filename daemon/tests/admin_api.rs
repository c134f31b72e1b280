//! The operator surface over real HTTP: every route's access rule (enumerated from the
//! daemon's own table and checked against doc/http-api.md), CSRF, login limits, the audit
//! trail, first-run setup, settings and render jobs that survive a restart.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery";

fn routes(d: &Daemon) -> Vec<(String, String, String)> {
    d.get("/api/routes")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["access"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{format}", "mp3")
        .replace("{action}", "pause")
        .replace("{asset}", "boot.js")
}

#[test]
fn documented_routes_match_the_daemon() {
    let d = Daemon::start("doc", &[]);
    let live: BTreeSet<(String, String, String)> = routes(&d).into_iter().collect();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../doc/http-api.md"))
        .unwrap();
    let mut documented = BTreeSet::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        if cells.len() >= 5 && ["GET", "POST", "PUT", "DELETE"].contains(&cells[1]) {
            documented.insert((
                cells[1].to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
            ));
        }
    }
    let missing: Vec<_> = live.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&live).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented: {missing:?}; not served: {extra:?}"
    );
    assert_eq!(
        documented, live,
        "doc/http-api.md's route table must list exactly the daemon's routes"
    );
}

#[test]
fn every_admin_route_requires_a_session_and_every_mutation_a_csrf_token() {
    let d = Daemon::start("enum", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let all = routes(&d);
    assert!(all.len() > 25);
    let json = [("Content-Type", "application/json")];
    let mut public_mutating = Vec::new();
    for (m, p, access) in &all {
        let url = concrete(p);
        let mutating = m != "GET";
        if mutating && access == "public" {
            public_mutating.push(p.clone());
        }
        match access.as_str() {
            "admin" => {
                // No session: refused before the handler runs.
                let r = d.request(m, &url, &json, if mutating { Some("{}") } else { None });
                assert_eq!(r.status, 401, "{m} {p} without a session: {}", r.text());
                // A forged cookie: refused.
                let r = d.request(
                    m,
                    &url,
                    &[
                        ("Content-Type", "application/json"),
                        ("Cookie", "sidflow_admin=0123456789abcdef"),
                    ],
                    if mutating { Some("{}") } else { None },
                );
                assert_eq!(r.status, 401, "{m} {p} with a forged cookie");
            }
            "bootstrap" => assert!(p.starts_with("/api/admin/")),
            "public" => assert!(!p.starts_with("/api/admin")),
            other => panic!("unknown access {other}"),
        }
    }
    // The only mutations open to listeners: playing (here, on the box or on a device),
    // the box's controls, renewing, rating, saving and deleting playlists, reporting
    // playback problems (counted only, rate-limited).
    public_mutating.sort();
    assert_eq!(
        public_mutating,
        vec![
            "/api/box/next",
            "/api/box/pause",
            "/api/box/play",
            "/api/box/resume",
            "/api/box/stop",
            "/api/box/volume",
            "/api/devices/{id}/play",
            "/api/play",
            "/api/playback/{id}/renew",
            "/api/playlists/{id}",
            "/api/playlists/{id}",
            "/api/rate",
            "/api/telemetry"
        ]
    );

    // With a session but no (or a wrong) CSRF token: every admin mutation is refused.
    let (cookie, csrf) = d.login(PW);
    for (m, p, access) in &all {
        if access != "admin" || m == "GET" {
            continue;
        }
        let url = concrete(p);
        let r = d.request(
            m,
            &url,
            &[("Content-Type", "application/json"), ("Cookie", &cookie)],
            Some("{}"),
        );
        assert_eq!(r.status, 403, "{m} {p} without CSRF: {}", r.text());
        let r = d.request(
            m,
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", "wrong"),
            ],
            Some("{}"),
        );
        assert_eq!(r.status, 403, "{m} {p} with a wrong CSRF token");
    }
    // GETs work with the session alone.
    let r = d.request("GET", "/api/admin/status", &[("Cookie", &cookie)], None);
    assert_eq!(r.status, 200);
    // A cross-site page cannot post even with the cookie and token.
    let r = d.request(
        "POST",
        "/api/admin/logout",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", "http://evil.example"),
        ],
        Some("{}"),
    );
    assert_eq!(r.status, 403);
    // And the right token works.
    let r = d.request(
        "POST",
        "/api/admin/logout",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
        ],
        Some("{}"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        d.request("GET", "/api/admin/status", &[("Cookie", &cookie)], None)
            .status,
        401,
        "logged out"
    );
    // The refusals were audited.
    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    assert!(audit.contains("CSRF"));
}

#[test]
fn login_cookie_rate_limit_and_audit() {
    let d = Daemon::start("login", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let s = d.get("/api/admin/session").json();
    assert_eq!(s["password_set"], true);
    assert_eq!(s["logged_in"], false);
    let r = d.post_json("/api/admin/login", &format!("{{\"password\":\"{PW}\"}}"));
    assert_eq!(r.status, 200);
    let c = r.header("set-cookie").unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"),
        "{c}"
    );
    for _ in 0..5 {
        assert_eq!(
            d.post_json("/api/admin/login", "{\"password\":\"nope\"}")
                .status,
            401
        );
    }
    // Limited now, even with the right password.
    let r = d.post_json("/api/admin/login", &format!("{{\"password\":\"{PW}\"}}"));
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Repeated refusals of one client are one line a minute (with their count when the
    // minute is over): a guessing client cannot grow the trail by a line a try.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["result"] == "failed: wrong password")
            .count(),
        1
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["action"] == "login" && l["result"] == "ok")
            .count(),
        1
    );
    assert!(lines.iter().any(|l| l["result"] == "refused: rate limited"));
    for l in &lines {
        assert_eq!(l["who"], "127.0.0.1");
        assert!(l["ts"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn first_run_setup_needs_the_setup_code_and_sets_the_password_once() {
    let d = Daemon::start("setup", &[]);
    assert_eq!(d.get("/api/admin/session").json()["password_set"], false);
    // The code is in the log (the journal under systemd) and in the state folder.
    let code = std::fs::read_to_string(d.dir.join("setup-code")).unwrap();
    let code = code.trim();
    assert!(
        d.log().contains(&format!("admin setup code: {code}")),
        "{}",
        d.log()
    );
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["setup-code", "--data-dir"])
        .arg(&d.dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), code);
    assert_eq!(
        d.post_json("/api/admin/login", "{\"password\":\"whatever1\"}")
            .status,
        409
    );
    let setup = |code: &str, pw: &str| {
        d.post_json(
            "/api/admin/setup",
            &format!("{{\"code\":\"{code}\",\"password\":\"{pw}\"}}"),
        )
    };
    assert_eq!(setup(code, "short").status, 400);
    // Without the code (the first visitor of /admin, or a page through DNS rebinding): no.
    let r = setup("", PW);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("setup code"), "{}", r.text());
    assert_eq!(setup("ZZZZ-ZZZZ", PW).status, 401);
    let rebinding = d.request(
        "POST",
        "/api/admin/setup",
        &[
            ("Host", "evil.example"),
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/json"),
        ],
        Some(&format!("{{\"code\":\"{code}\",\"password\":\"{PW}\"}}")),
    );
    assert_eq!(rebinding.status, 421, "{}", rebinding.text());
    let r = setup(&code.to_lowercase(), PW);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("set-cookie").is_some(), "setup logs in");
    assert!(!d.dir.join("setup-code").exists(), "the code is used up");
    assert_eq!(setup(code, "another-one").status, 409);
    d.login(PW);
    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    assert!(audit.contains("setup password"));
}

fn admin_req(d: &Daemon, auth: &(String, String), m: &str, p: &str, body: Option<&str>) -> Resp {
    d.request(
        m,
        p,
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &auth.0),
            ("X-CSRF-Token", &auth.1),
        ],
        body,
    )
}

fn wait_job(d: &Daemon, auth: &(String, String), id: u64, until: &[&str]) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let j = admin_req(d, auth, "GET", &format!("/api/admin/jobs/{id}"), None).json();
        if until.contains(&j["status"].as_str().unwrap()) {
            return j;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "job stuck: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn render_jobs_progress_pause_cancel_and_resume_after_restart() {
    let mut d = Daemon::start("jobs", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let auth = d.login(PW);
    let tunes = d.get("/api/library/browse?path=").json()["tunes"]
        .as_array()
        .unwrap()
        .clone();
    let paths: Vec<String> = tunes
        .iter()
        .take(2)
        .map(|t| format!("\"{}\"", t["path"].as_str().unwrap()))
        .collect();
    let body = format!(
        "{{\"paths\":[{}],\"formats\":[\"flac\"],\"start_song_only\":true}}",
        paths.join(",")
    );
    let r = admin_req(&d, &auth, "POST", "/api/admin/jobs", Some(&body));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();
    let j = wait_job(&d, &auth, id, &["completed", "failed"]);
    assert_eq!(j["status"], "completed", "{j}");
    assert_eq!(j["done"], 2);
    let flacs = files_under(&d.dir.join("cache"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "flac"))
        .count();
    assert_eq!(flacs, 2);
    // Bad requests.
    assert_eq!(
        admin_req(
            &d,
            &auth,
            "POST",
            "/api/admin/jobs",
            Some("{\"paths\":[\"nope.sid\"]}")
        )
        .status,
        404
    );
    assert_eq!(
        admin_req(
            &d,
            &auth,
            "POST",
            "/api/admin/jobs",
            Some("{\"folder\":\"\",\"platform\":\"hardware\"}")
        )
        .status,
        409
    );
    assert_eq!(
        admin_req(
            &d,
            &auth,
            "POST",
            &format!("/api/admin/jobs/{id}/pause"),
            Some("{}")
        )
        .status,
        409
    );

    // A long job: pause it, restart the daemon, resume it, let it finish.
    let three: Vec<String> = tunes
        .iter()
        .skip(2)
        .take(3)
        .map(|t| format!("\"{}\"", t["path"].as_str().unwrap()))
        .collect();
    let body = format!(
        "{{\"paths\":[{}],\"formats\":[\"wav\"],\"start_song_only\":true}}",
        three.join(",")
    );
    let r = admin_req(&d, &auth, "POST", "/api/admin/jobs", Some(&body));
    let id2 = r.json()["id"].as_u64().unwrap();
    let total = r.json()["total"].as_u64().unwrap();
    assert!(total >= 3);
    wait_job(&d, &auth, id2, &["running"]);
    let r = admin_req(
        &d,
        &auth,
        "POST",
        &format!("/api/admin/jobs/{id2}/pause"),
        Some("{}"),
    );
    assert_eq!(r.json()["status"], "paused");
    let paused = wait_job(&d, &auth, id2, &["paused"]);
    assert!(d.terminate().success());
    let dir = d.dir.clone();
    std::mem::forget(d);

    // Restart on the same state folder: the job is still there, paused, with its progress.
    let d = Daemon::start_in(dir, &[("SIDFLOW_ADMIN_PASSWORD", PW)], &[]);
    let auth = d.login(PW);
    let j = admin_req(&d, &auth, "GET", &format!("/api/admin/jobs/{id2}"), None).json();
    assert_eq!(j["status"], "paused");
    assert_eq!(j["done"], paused["done"]);
    let r = admin_req(
        &d,
        &auth,
        "POST",
        &format!("/api/admin/jobs/{id2}/resume"),
        Some("{}"),
    );
    assert_eq!(r.status, 200);
    let j = wait_job(&d, &auth, id2, &["completed", "failed"]);
    assert_eq!(j["status"], "completed", "{j}");
    assert_eq!(
        j["done"].as_u64().unwrap() + j["failed"].as_u64().unwrap(),
        total
    );
    // Cache panel data and deleting one variant.
    let c = admin_req(&d, &auth, "GET", "/api/admin/cache", None).json();
    assert!(c["usage"]["flac"]["files"].as_u64().unwrap() >= 2, "{c}");
    let t = &tunes[0];
    let v = d
        .get(&format!("/api/variants?md5={}", t["md5"].as_str().unwrap()))
        .json();
    let flac = v["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["format"] == "flac")
        .unwrap()
        .clone();
    let del = format!("{{\"md5\":\"{}\",\"song\":{},\"platform\":\"software\",\"chip\":\"{}\",\"format\":\"flac\"}}", t["md5"].as_str().unwrap(), flac["song"], flac["chip"].as_str().unwrap());
    assert_eq!(
        admin_req(&d, &auth, "POST", "/api/admin/cache/delete", Some(&del)).status,
        200
    );
    assert_eq!(
        admin_req(&d, &auth, "POST", "/api/admin/cache/delete", Some(&del)).status,
        404
    );
    // Settings: validated and saved.
    let bad = "{\"cache\":{\"formats\":[\"ogg\"],\"wav_stop_percent\":70,\"flac_stop_percent\":80,\"max_disk_percent\":90,\"mp3_bitrate_kbps\":320}}";
    assert_eq!(
        admin_req(&d, &auth, "PUT", "/api/admin/settings", Some(bad)).status,
        400
    );
    let good = "{\"cache\":{\"formats\":[\"mp3\"],\"wav_stop_percent\":60,\"flac_stop_percent\":80,\"max_disk_percent\":95,\"mp3_bitrate_kbps\":192}}";
    assert_eq!(
        admin_req(&d, &auth, "PUT", "/api/admin/settings", Some(good)).status,
        200
    );
    assert_eq!(
        admin_req(&d, &auth, "GET", "/api/admin/settings", None).json()["cache"]
            ["mp3_bitrate_kbps"],
        192
    );
    // Everything above is in the audit trail.
    let audit = admin_req(&d, &auth, "GET", "/api/admin/audit", None).json();
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "start render job",
        "pause job",
        "resume job",
        "delete cached variant",
        "change settings",
        "login",
    ] {
        assert!(actions.iter().any(|x| x == a), "audit has {a}: {actions:?}");
    }
}

/// Backup and restore: one file with the ratings, playlists and settings; a restore puts
/// them back exactly (replacing what changed since), a bad file changes nothing, and both
/// are in the audit log.
#[test]
fn backup_and_restore_bring_back_ratings_playlists_and_settings() {
    let d = Daemon::start("backup", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let auth = d.login(PW);
    let json = [("Content-Type", "application/json")];
    let rate = |path: &str, action: &str| {
        let body = format!("{{\"path\":\"{path}\",\"song\":1,\"action\":\"{action}\"}}");
        assert_eq!(d.post_json("/api/rate", &body).status, 201);
    };
    rate("first-light.sid", "like");
    rate("basement.sid", "dislike");
    let pl = "{\"name\":\"Evening\",\"items\":[{\"path\":\"sixty-hertz.sid\"}]}";
    assert_eq!(
        d.request("PUT", "/api/playlists/evening", &json, Some(pl))
            .status,
        201
    );
    let settings = "{\"cache\":{\"formats\":[\"mp3\"],\"wav_stop_percent\":60,\"flac_stop_percent\":80,\"max_disk_percent\":95,\"mp3_bitrate_kbps\":192}}";
    assert_eq!(
        admin_req(&d, &auth, "PUT", "/api/admin/settings", Some(settings)).status,
        200
    );

    let r = admin_req(&d, &auth, "GET", "/api/admin/backup", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-disposition")
        .is_some_and(|v| v.starts_with("attachment; filename=\"sidflow-backup-20")));
    let backup = r.text();
    let b = r.json();
    assert_eq!(b["format"], "sidflow-backup");
    assert_eq!(b["ratings"].as_object().unwrap().len(), 2, "{b}");
    assert_eq!(b["playlists"]["evening"]["name"], "Evening");
    assert_eq!(b["settings"]["cache_policy"]["mp3_bitrate_kbps"], 192);
    assert!(!backup.contains("argon2"), "no password hash in a backup");

    // Things change after the backup...
    rate("first-light.sid", "like");
    rate("raster-rider.sid", "like");
    assert_eq!(
        d.request("DELETE", "/api/playlists/evening", &json, Some("{}"))
            .status,
        200
    );
    let other = settings.replace("192", "320");
    assert_eq!(
        admin_req(&d, &auth, "PUT", "/api/admin/settings", Some(&other)).status,
        200
    );
    // ...a bad file is refused and changes nothing...
    let bad = backup.replace("sidflow-backup", "something-else");
    let r = admin_req(&d, &auth, "POST", "/api/admin/restore", Some(&bad));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not a SIDFlow backup"), "{}", r.text());
    assert_eq!(d.get("/api/playlists/evening").status, 404);
    // ...and the restore puts everything back as it was.
    let r = admin_req(&d, &auth, "POST", "/api/admin/restore", Some(&backup));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ratings"], 2);
    let md5 = |path: &str| {
        d.get(&format!("/api/library/tune?path={path}")).json()["tune"]["md5"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let likes = |path: &str| {
        d.get(&format!("/api/ratings?md5={}&song=1", md5(path)))
            .json()["ratings"]["likes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(likes("first-light.sid"), 1);
    assert_eq!(likes("raster-rider.sid"), 0, "replaced, not merged");
    assert_eq!(
        d.get("/api/playlists/evening").json()["items"][0]["tune"]["path"],
        "sixty-hertz.sid"
    );
    assert_eq!(
        admin_req(&d, &auth, "GET", "/api/admin/settings", None).json()["cache"]
            ["mp3_bitrate_kbps"],
        192,
        "applied at once"
    );
    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    assert!(audit.contains("download backup") && audit.contains("restore backup"));
}

//! The HTTP API over real loopback HTTP against a real `sidflowd serve` (demo library,
//! real renderer and encoders): play, Range, stream-while-render, sessions, ratings.

mod common;
use common::*;
use std::time::Duration;

fn first_tune(d: &Daemon) -> serde_json::Value {
    let r = d.get("/api/library/browse?path=");
    assert_eq!(r.status, 200);
    let tunes = r.json()["tunes"].as_array().unwrap().clone();
    assert!(!tunes.is_empty(), "the demo library is embedded");
    // The shortest known tune keeps the test quick.
    tunes
        .into_iter()
        .min_by_key(|t| t["durations_ms"][0].as_u64().unwrap_or(u64::MAX))
        .unwrap()
}

fn play(d: &Daemon, path: &str, extra: &str) -> serde_json::Value {
    let r = d.post_json("/api/play", &format!("{{\"path\":\"{path}\"{extra}}}"));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[test]
fn library_browse_search_and_metadata() {
    let d = Daemon::start("lib", &[]);
    let t = first_tune(&d);
    for k in [
        "title",
        "author",
        "released",
        "songs",
        "durations_ms",
        "chip",
        "clock",
        "md5",
        "path",
    ] {
        assert!(!t[k].is_null(), "tune has {k}: {t}");
    }
    let title = t["title"].as_str().unwrap();
    let word = title.split_whitespace().next().unwrap();
    let r = d.get(&format!("/api/library/search?q={}", word.to_lowercase()));
    let hits = r.json()["tunes"].as_array().unwrap().clone();
    assert!(
        hits.iter().any(|h| h["title"] == title),
        "search finds {title}"
    );
    let r = d.get("/api/library/search?q=zzzznothing");
    assert_eq!(r.json()["tunes"].as_array().unwrap().len(), 0);
    let r = d.get(&format!(
        "/api/library/tune?path={}",
        t["path"].as_str().unwrap()
    ));
    assert_eq!(r.json()["tune"]["md5"], t["md5"]);
    // The demo library's STIL (demo/DOCUMENTS/STIL.txt): per song, per file, per folder.
    let stil = d.get("/api/library/tune?path=three-wishes.sid").json()["stil"].clone();
    assert_eq!(
        stil["songs"]["2"][0],
        serde_json::json!({"key": "TITLE", "value": "Wish Two"}),
        "{stil}"
    );
    assert_eq!(stil["global"][0]["key"], "COMMENT", "{stil}");
    assert!(
        stil["folder_comment"]
            .as_str()
            .is_some_and(|c| c.starts_with("The SIDFlow demo library: ten short tunes")),
        "continuation lines joined: {stil}"
    );
    assert_eq!(d.get("/api/library/browse?path=../etc").status, 400);
    assert_eq!(d.get("/api/library/browse?path=nope").status, 404);
    assert_eq!(d.get("/api/library/tune?path=nope.sid").status, 404);
}

#[test]
fn play_streams_while_rendering_shares_the_render_and_caches_what_was_streamed() {
    let d = Daemon::start("stream", &[]);
    let t = first_tune(&d);
    let path = t["path"].as_str().unwrap();
    let s = play(&d, path, "");
    assert_eq!(s["variant"]["format"], "mp3");
    assert_eq!(s["variant"]["platform"], "software");
    assert_eq!(s["variant"]["cached"], false);
    let url = s["urls"]["audio"].as_str().unwrap().to_string();

    let mut a = stream(&d.addr, "GET", &url, &[], None);
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "audio/mpeg");
    let first = a.next_bytes();
    assert!(!first.is_empty());
    // The first bytes are here while the render is still running: nothing cached yet.
    let health = d.get("/api/health").json();
    assert_eq!(health["renders"]["in_flight"], 1, "{health}");
    let cache = d.dir.join("cache");
    let finished: Vec<_> = files_under(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp3"))
        .collect();
    assert!(
        finished.is_empty(),
        "no finished file before the render ends: {finished:?}"
    );

    // A second listener joins the same render (no second render starts).
    let s2 = play(&d, path, "");
    let mut b = stream(
        &d.addr,
        "GET",
        s2["urls"]["audio"].as_str().unwrap(),
        &[],
        None,
    );
    let mut got_a = first;
    got_a.extend(a.rest());
    let got_b = b.rest();
    assert_eq!(d.get("/api/health").json()["renders"]["started"], 1);
    assert_eq!(got_a.len(), got_b.len());
    assert!(
        got_a[2048..] == got_b[2048..],
        "both listeners got the same audio bytes"
    );

    // The cached file is complete and is what was streamed (MP3: the encoder's
    // end-of-stream Info tag in the first frame is the only difference allowed).
    std::thread::sleep(Duration::from_millis(200));
    let files: Vec<_> = files_under(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp3"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-1-sidflow-6581.mp3")
            || files[0].to_string_lossy().contains("-sidflow-")
    );
    let cached = std::fs::read(&files[0]).unwrap();
    assert_eq!(cached.len(), got_a.len(), "complete");
    let differ: Vec<usize> = (0..cached.len())
        .filter(|&i| cached[i] != got_a[i])
        .collect();
    assert!(
        differ.iter().all(|&i| i < 2048),
        "only the header frame may differ: {:?}",
        &differ[..differ.len().min(10)]
    );
    assert!(files_under(&cache)
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".part")));
    // mpg123 decodes the streamed bytes without errors (when installed).
    let tmp = d.dir.join("streamed.mp3");
    std::fs::write(&tmp, &got_a).unwrap();
    if let Ok(out) = std::process::Command::new("mpg123")
        .args(["-q", "-t"])
        .arg(&tmp)
        .output()
    {
        assert!(
            out.status.success(),
            "mpg123: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Now it is cached: the next session says so and gets ranges.
    let s3 = play(&d, path, "");
    assert_eq!(s3["variant"]["cached"], true);
    let r = d.get(s3["urls"]["audio"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.body, cached);
    assert_eq!(d.get("/api/health").json()["renders"]["started"], 1);
    // Variants now list it.
    let v = d
        .get(&format!("/api/variants?md5={}", t["md5"].as_str().unwrap()))
        .json();
    assert_eq!(v["variants"][0]["format"], "mp3");
}

#[test]
fn range_requests_on_a_cached_file() {
    let d = Daemon::start("range", &[]);
    let t = first_tune(&d);
    let s = play(
        &d,
        t["path"].as_str().unwrap(),
        ",\"prefs\":{\"format\":\"flac\"}",
    );
    let url = s["urls"]["audio"].as_str().unwrap().to_string();
    let full = d.get(&url); // renders and caches
    assert_eq!(full.status, 200);
    assert_eq!(&full.body[..4], b"fLaC");
    std::thread::sleep(Duration::from_millis(200));
    let whole = d.get(&url);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let body = whole.body.clone();
    let len = body.len();
    assert_eq!(
        whole.header("content-length"),
        Some(len.to_string().as_str())
    );
    let etag = whole.header("etag").unwrap().to_string();
    assert!(whole.header("cache-control").unwrap().contains("max-age"));

    let r = d.request("GET", &url, &[("Range", "bytes=0-0")], None);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[..1]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-0/{len}").as_str())
    );

    let (a, b) = (len / 3, len / 3 + 999);
    let r = d.request("GET", &url, &[("Range", &format!("bytes={a}-{b}"))], None);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[a..=b]);
    assert_eq!(r.header("content-length"), Some("1000"));

    let r = d.request("GET", &url, &[("Range", "bytes=-500")], None);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[len - 500..]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{len}", len - 500, len - 1).as_str())
    );

    let r = d.request(
        "GET",
        &url,
        &[("Range", &format!("bytes={}-", len + 10))],
        None,
    );
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );

    let r = d.request("GET", &url, &[("If-None-Match", &etag)], None);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());

    // The SID file itself.
    let r = d.get(s["urls"]["sid"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"PSID") || r.body.starts_with(b"RSID"));
    assert_eq!(d.get(&url.replace("flac", "ogg")).status, 404);
}

#[test]
fn sessions_expire_unless_renewed() {
    let d = Daemon::start("ttl", &[("SIDFLOW_SESSION_TTL_SECS", "1")]);
    let t = first_tune(&d);
    let s = play(&d, t["path"].as_str().unwrap(), "");
    assert_eq!(s["expires_in"], 1);
    let kept = play(&d, t["path"].as_str().unwrap(), "");
    let renew = kept["urls"]["renew"].as_str().unwrap().to_string();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(d.post_json(&renew, "{}").status, 200, "renewed in time");
    }
    // 1.6 s without use: the first one is gone, the renewed one lives.
    let r = d.get(s["urls"]["sid"].as_str().unwrap());
    assert_eq!(r.status, 404);
    assert!(r.text().contains("expired"));
    assert_eq!(d.get(kept["urls"]["sid"].as_str().unwrap()).status, 200);
    assert_eq!(
        d.post_json(s["urls"]["renew"].as_str().unwrap(), "{}")
            .status,
        404
    );
}

#[test]
fn play_validates_input_and_preferences() {
    let d = Daemon::start("playval", &[]);
    let t = first_tune(&d);
    let p = t["path"].as_str().unwrap();
    assert_eq!(
        d.post_json("/api/play", "{\"path\":\"../../etc/passwd\"}")
            .status,
        400
    );
    assert_eq!(
        d.post_json("/api/play", "{\"path\":\"missing.sid\"}")
            .status,
        404
    );
    assert_eq!(d.post_json("/api/play", "not json").status, 400);
    assert_eq!(
        d.post_json("/api/play", &format!("{{\"path\":\"{p}\",\"song\":99}}"))
            .status,
        400
    );
    assert_eq!(
        d.post_json(
            "/api/play",
            &format!("{{\"path\":\"{p}\",\"prefs\":{{\"format\":\"ogg\"}}}}")
        )
        .status,
        400
    );
    // Hardware only, no hardware recording, no device: a clear refusal.
    let r = d.post_json(
        "/api/play",
        &format!("{{\"path\":\"{p}\",\"prefs\":{{\"mode\":\"hardware\"}}}}"),
    );
    assert_eq!(r.status, 409);
    assert!(r.text().contains("hardware"));
    // Forced chip.
    let s = play(&d, p, ",\"prefs\":{\"chip\":\"8580\"}");
    assert_eq!(s["variant"]["chip"], "8580r5");
    // A form post (no JSON content type) is refused.
    let r = d.request(
        "POST",
        "/api/play",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("path=x"),
    );
    assert_eq!(r.status, 415);
}

#[test]
fn ratings_are_stored_and_logged() {
    let d = Daemon::start("rate", &[]);
    let t = first_tune(&d);
    let md5 = t["md5"].as_str().unwrap();
    for body in [
        format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"like\"}}"),
        format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"stars\",\"stars\":4}}"),
        format!(
            "{{\"path\":\"{}\",\"song\":1,\"action\":\"skip\"}}",
            t["path"].as_str().unwrap()
        ),
    ] {
        let r = d.post_json("/api/rate", &body);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert_eq!(
        d.post_json(
            "/api/rate",
            &format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"stars\",\"stars\":6}}")
        )
        .status,
        400
    );
    assert_eq!(
        d.post_json(
            "/api/rate",
            &format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"love\"}}")
        )
        .status,
        400
    );
    assert_eq!(
        d.post_json(
            "/api/rate",
            &format!("{{\"md5\":\"{md5}\",\"song\":0,\"action\":\"like\"}}")
        )
        .status,
        400
    );
    let r = d.get(&format!("/api/ratings?md5={md5}&song=1")).json();
    assert_eq!(r["ratings"]["likes"], 1);
    assert_eq!(r["ratings"]["skips"], 1);
    assert_eq!(r["ratings"]["stars_sum"], 4);
    assert_eq!(r["ratings"]["stars_count"], 1);
    let log = std::fs::read_to_string(d.dir.join("feedback/ratings.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["action"], "stars");
    assert_eq!(lines[1]["stars"], 4);
    assert_eq!(lines[0]["md5"], md5);
    assert!(lines[0]["ts"].as_str().unwrap().ends_with('Z'));
}

/// Radio picks follow the ratings: a disliked song never comes, "liked" gives only liked
/// songs, and the whole library minus the disliked song comes back when asked for enough.
#[test]
fn radio_picks_follow_the_ratings() {
    let d = Daemon::start("radio", &[]);
    let all = d.get("/api/library/browse?path=").json()["tunes"].clone();
    let all = all.as_array().unwrap();
    let songs: u64 = all.iter().map(|t| t["songs"].as_u64().unwrap()).sum();
    assert!(songs >= 10, "{songs}");
    let one = d.get("/api/radio");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["picks"].as_array().unwrap().len(), 1);
    assert_eq!(one.json()["quality"], "any", "the default, named");

    let rate = |path: &str, action: &str| {
        let r = d.post_json(
            "/api/rate",
            &format!("{{\"path\":\"{path}\",\"song\":1,\"action\":\"{action}\"}}"),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    rate("first-light.sid", "dislike");
    rate("raster-rider.sid", "like");
    let picked = |q: &str| -> Vec<(String, u64)> {
        let r = d.get(&format!("/api/radio?n=50{q}"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["picks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["tune"]["path"].as_str().unwrap().to_string(),
                    p["song"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let any = picked("");
    assert_eq!(any.len() as u64, songs - 1, "{any:?}");
    assert!(!any.iter().any(|(p, _)| p == "first-light.sid"), "{any:?}");
    let distinct: std::collections::HashSet<_> = any.iter().collect();
    assert_eq!(distinct.len(), any.len(), "distinct songs");
    assert_eq!(
        picked("&quality=liked"),
        [("raster-rider.sid".to_string(), 1)]
    );
    // Played lately: still picked when it is all there is.
    let rr = all
        .iter()
        .find(|t| t["path"] == "raster-rider.sid")
        .unwrap()["md5"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(picked(&format!("&quality=liked&exclude={rr}")).len(), 1);
    assert_eq!(d.get("/api/radio?quality=best").status, 400);
}

/// Playlists: saved on the box by MD5 and song, listed by name, validated item by item,
/// replaced, deleted, and still there after a restart.
#[test]
fn playlists_are_saved_listed_replaced_deleted_and_survive_a_restart() {
    let mut d = Daemon::start("playlists", &[]);
    let tw = d.get("/api/library/search?q=three%20wishes").json()["tunes"][0].clone();
    let md5 = tw["md5"].as_str().unwrap().to_string();
    let put = |id: &str, body: &str| {
        d.request(
            "PUT",
            &format!("/api/playlists/{id}"),
            &[("Content-Type", "application/json")],
            Some(body),
        )
    };
    let r = put(
        "evening",
        &format!("{{\"name\":\"Evening\",\"items\":[{{\"md5\":\"{md5}\",\"song\":3}},{{\"path\":\"first-light.sid\"}}]}}"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["count"], 2);
    let r = put("morning", "{\"name\":\"a morning\",\"items\":[]}");
    assert_eq!(r.status, 201, "{}", r.text());
    let names: Vec<String> = d.get("/api/playlists").json()["playlists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["a morning", "Evening"],
        "sorted by name, case-blind"
    );
    let p = d.get("/api/playlists/evening").json();
    assert_eq!(p["items"][0]["song"], 3);
    assert_eq!(p["items"][0]["tune"]["path"], tw["path"]);
    assert_eq!(p["items"][1]["tune"]["path"], "first-light.sid");
    assert_eq!(p["items"][1]["song"], 1, "the start song by default");

    // Bad input: every item is checked, the stored playlist is untouched.
    for (body, want) in [
        ("{\"name\":\"x\",\"items\":[{\"path\":\"nope.sid\"}]}", "item 1: no such tune nope.sid"),
        (&format!("{{\"name\":\"x\",\"items\":[{{\"path\":\"first-light.sid\"}},{{\"md5\":\"{md5}\",\"song\":9}}]}}") as &str, "item 2"),
        ("{\"name\":\"  \",\"items\":[]}", "name"),
        ("{\"items\":[]}", "bad JSON"),
    ] {
        let r = put("evening", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(r.text().contains(want), "{body}: {}", r.text());
    }
    assert_eq!(put("Bad Id", "{\"name\":\"x\",\"items\":[]}").status, 400);
    assert_eq!(
        d.get("/api/playlists/evening").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Replace (200, created kept), delete, 404s.
    let created = d.get("/api/playlists/evening").json()["created"].clone();
    let r = put(
        "evening",
        "{\"name\":\"Evening\",\"items\":[{\"path\":\"sixty-hertz.sid\"}]}",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let p = d.get("/api/playlists/evening").json();
    assert_eq!(
        (p["created"].clone(), p["items"].as_array().unwrap().len()),
        (created, 1)
    );
    let delete = || {
        d.request(
            "DELETE",
            "/api/playlists/morning",
            &[("Content-Type", "application/json")],
            Some("{}"),
        )
        .status
    };
    assert_eq!((delete(), delete()), (200, 404), "deleted, then gone");
    assert_eq!(d.get("/api/playlists/morning").status, 404);

    // A restart keeps it.
    assert!(d.terminate().success());
    let dir = d.dir.clone();
    std::mem::forget(d);
    let d = Daemon::start_in(dir, &[], &[]);
    let p = d.get("/api/playlists/evening").json();
    assert_eq!(p["items"][0]["tune"]["path"], "sixty-hertz.sid", "{p}");
}

#[test]
fn session_creation_and_feedback_are_rate_limited_per_client() {
    let d = Daemon::start("limits", &[]);
    // The defaults allow a burst of 120/min; a dedicated instance with tiny limits:
    drop(d);
    let cfg = tempdir("limits-cfg").join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[limits]\nsessions_per_minute = 3\nfeedback_per_minute = 2\n[cache]\n{ROOMY_CACHE}"
        ),
    )
    .unwrap();
    let d = Daemon::start_args("limits2", &[], &["--config", cfg.to_str().unwrap()]);
    let t = first_tune(&d);
    let p = t["path"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(
            d.post_json("/api/play", &format!("{{\"path\":\"{p}\"}}"))
                .status,
            201
        );
    }
    let r = d.post_json("/api/play", &format!("{{\"path\":\"{p}\"}}"));
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let md5 = t["md5"].as_str().unwrap();
    let body = format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"like\"}}");
    assert_eq!(d.post_json("/api/rate", &body).status, 201);
    assert_eq!(d.post_json("/api/rate", &body).status, 201);
    assert_eq!(d.post_json("/api/rate", &body).status, 429);
}

#[test]
fn static_ui_is_compressed_and_public_page_has_no_admin_words() {
    let d = Daemon::start("ui", &[]);
    let r = d.get("/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    let html = r.text().to_lowercase();
    for w in ["admin", "login", "password", "operator"] {
        assert!(!html.contains(w), "the public page says {w:?}");
    }
    // Everything the first screen loads, gzip-compressed, stays under 60 KB.
    let mut total = 0;
    for p in [
        "/",
        "/boot.js",
        "/css/app.css",
        "/js/main.js",
        "/js/shell.js",
        "/js/api.js",
        "/js/play.js",
        "/js/prefs.js",
        "/favicon.svg",
    ] {
        let r = d.request("GET", p, &[("Accept-Encoding", "gzip, br")], None);
        assert_eq!(r.status, 200, "{p}");
        if p != "/" {
            assert_eq!(r.header("content-encoding"), Some("gzip"), "{p}");
            let etag = r.header("etag").unwrap().to_string();
            assert_eq!(
                d.request("GET", p, &[("If-None-Match", &etag)], None)
                    .status,
                304
            );
        }
        total += r.body.len();
    }
    assert!(
        total < 60 * 1024,
        "first screen is {total} bytes compressed"
    );
    // The listener's scripts never mention the operator's page either.
    for p in ["/js/main.js", "/js/play.js", "/js/prefs.js", "/js/shell.js"] {
        let s = d.get(p).text().to_lowercase();
        assert!(!s.contains("admin") && !s.contains("password"), "{p}");
    }
    assert_eq!(d.get("/admin").status, 200);
    assert_eq!(d.get("/nope.js").status, 404);
}

#[test]
fn graceful_shutdown_mid_render_leaves_no_half_files() {
    let mut d = Daemon::start("shutdown", &[]);
    let t = first_tune(&d);
    let s = play(
        &d,
        t["path"].as_str().unwrap(),
        ",\"prefs\":{\"format\":\"wav\"}",
    );
    let mut a = stream(
        &d.addr,
        "GET",
        s["urls"]["audio"].as_str().unwrap(),
        &[],
        None,
    );
    assert!(!a.next_bytes().is_empty());
    let status = d.terminate();
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    assert!(d.log().contains("SIGTERM"));
    assert!(d.log().contains("stopped"));
    let files = files_under(&d.dir.join("cache"));
    assert!(
        files
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".part")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "wav")),
        "{files:?}"
    );
    // The database was closed cleanly: a new daemon opens the same folder.
    let dir = d.dir.clone();
    std::mem::forget(d); // keep the folder; the process has exited
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"));
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "restarts on the same state"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_configuration_is_refused_with_key_value_and_reason() {
    let dir = tempdir("badcfg");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "[cache]\nmp3_bitrate_kbps = 300\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    // EX_CONFIG: the unit's RestartPreventExitStatus=78 keeps systemd from retrying a typo.
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cache.mp3_bitrate_kbps") && err.contains("300") && err.contains("MPEG"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["serve", "--config", "/nonexistent/sidflow.toml"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an explicit missing file is an error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn server_sent_events_announce_what_starts_playing() {
    let d = Daemon::start("sse", &[]);
    let t = first_tune(&d);
    let mut ev = stream(&d.addr, "GET", "/api/events", &[], None);
    assert_eq!(ev.status, 200);
    assert_eq!(ev.headers["content-type"], "text/event-stream");
    let hello = String::from_utf8(ev.next_bytes()).unwrap();
    assert!(hello.contains("retry:"), "{hello}");
    play(&d, t["path"].as_str().unwrap(), "");
    let mut got = String::new();
    while !got.contains("\n\n") {
        got.push_str(&String::from_utf8(ev.next_bytes()).unwrap());
    }
    assert!(got.starts_with("event: playing\ndata: {"), "{got}");
    let data: serde_json::Value =
        serde_json::from_str(got.lines().nth(1).unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["title"], t["title"]);
    // The operator's stream needs a session.
    assert_eq!(d.get("/api/admin/events").status, 401);
}

#[test]
fn ratings_are_taken_back_or_replaced_and_sessions_say_their_length_and_voices() {
    let d = Daemon::start("rate-undo", &[]);
    let t = first_tune(&d);
    let md5 = t["md5"].as_str().unwrap();
    let rate = |extra: &str| {
        let r = d.post_json(
            "/api/rate",
            &format!("{{\"md5\":\"{md5}\",\"song\":1,{extra}}}"),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["ratings"].clone()
    };
    // A like, then a dislike that replaces it, then the dislike taken back.
    assert_eq!(rate("\"action\":\"like\"")["likes"], 1);
    let a = rate("\"action\":\"dislike\",\"replaces\":{\"action\":\"like\"}");
    assert_eq!(
        (a["likes"].as_u64(), a["dislikes"].as_u64()),
        (Some(0), Some(1))
    );
    let a = rate("\"action\":\"dislike\",\"undo\":true");
    assert_eq!(a["dislikes"], 0);
    // 4 stars replaced by 5: one rating of 5.
    rate("\"action\":\"stars\",\"stars\":4");
    let a =
        rate("\"action\":\"stars\",\"stars\":5,\"replaces\":{\"action\":\"stars\",\"stars\":4}");
    assert_eq!(
        (a["stars_sum"].as_u64(), a["stars_count"].as_u64()),
        (Some(5), Some(1))
    );
    // Never below zero; a bad replaced rating is refused and changes nothing.
    assert_eq!(rate("\"action\":\"like\",\"undo\":true")["likes"], 0);
    let r = d.post_json(
        "/api/rate",
        &format!("{{\"md5\":\"{md5}\",\"song\":1,\"action\":\"like\",\"replaces\":{{\"action\":\"nope\"}}}}"),
    );
    assert_eq!(r.status, 400);
    // The session says how long its audio lasts.
    let s = play(&d, t["path"].as_str().unwrap(), "");
    assert_eq!(s["length_ms"], t["durations_ms"][0]);
    // The per-voice data track: the SID registers at 50 frames/s for the song's length.
    let id = s["session"].as_str().unwrap();
    let v = d.get(&format!("/api/playback/{id}/voices"));
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!(&v.body[..4], b"SIDV");
    let chips = usize::from(v.body[5]);
    let frames = u32::from_le_bytes([v.body[8], v.body[9], v.body[10], v.body[11]]) as u64;
    let ms = t["durations_ms"][0].as_u64().unwrap();
    assert_eq!(frames, (ms * 50).div_ceil(1000));
    assert_eq!(v.body.len() as u64, 16 + frames * chips as u64 * 26);
    let z = d.request(
        "GET",
        &format!("/api/playback/{id}/voices"),
        &[("Accept-Encoding", "gzip")],
        None,
    );
    assert_eq!(z.header("content-encoding"), Some("gzip"));
    assert!(
        z.body.len() * 2 < v.body.len(),
        "gzip: {} of {}",
        z.body.len(),
        v.body.len()
    );
}

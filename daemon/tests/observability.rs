//! The operator can see the box (issue 17): `/metrics` parsed by an independent parser
//! (Python's `prometheus_client`, Debian's python3-prometheus-client), health that names
//! what fails, and the Status tab's overview.

mod common;

use common::{stream, Daemon, ROOMY_CACHE};
use std::collections::HashMap;
use std::process::Command;

/// Debian's Python (the one python3-prometheus-client installs for).
const PYTHON: &str = "/usr/bin/python3";

/// Family name -> (type, sample names with labels), from Python's parser.
fn parse_with_prometheus_client(text: &str) -> HashMap<String, (String, Vec<serde_json::Value>)> {
    let dir = common::tempdir("promparse");
    let input = dir.join("metrics.txt");
    std::fs::write(&input, text).unwrap();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    out[fam.name] = [fam.type, [{"name": s.name, "labels": s.labels, "value": s.value} for s in fam.samples]]
print(json.dumps(out))
"#;
    let o = Command::new(PYTHON)
        .args(["-c", script])
        .arg(&input)
        .output()
        .expect("run python3");
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("No module named 'prometheus_client'") {
            panic!("install python3-prometheus-client (./dev.sh deps does): {err}");
        }
        panic!("prometheus_client refused the output: {err}\n{text}");
    }
    let v: HashMap<String, (String, Vec<serde_json::Value>)> =
        serde_json::from_slice(&o.stdout).unwrap();
    v
}

fn value(
    fams: &HashMap<String, (String, Vec<serde_json::Value>)>,
    sample: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    fams.values().flat_map(|(_, s)| s).find_map(|s| {
        let ok = s["name"] == sample
            && labels
                .iter()
                .all(|(k, v)| s["labels"][*k].as_str() == Some(*v));
        ok.then(|| s["value"].as_f64().unwrap())
    })
}

#[test]
fn metrics_parse_with_prometheus_client_and_count_what_happened() {
    let d = Daemon::start("metrics", &[]);
    // Something to count: a render, requests, a 404.
    let tunes = d.get("/api/library/browse?path=").json()["tunes"]
        .as_array()
        .unwrap()
        .clone();
    let t = tunes
        .iter()
        .min_by_key(|t| t["durations_ms"][0].as_u64().unwrap_or(u64::MAX))
        .unwrap();
    let r = d.post_json(
        "/api/play",
        &format!("{{\"path\":\"{}\"}}", t["path"].as_str().unwrap()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.json()["urls"]["audio"].as_str().unwrap().to_string();
    let mut a = stream(&d.addr, "GET", &url, &[], None);
    assert_eq!(a.status, 200);
    assert!(!a.rest().is_empty());
    assert_eq!(d.get("/no/such/page").status, 404);
    // Wait for the render to be counted as ended (the stream ends as the render does).
    let mut text = String::new();
    for _ in 0..100 {
        let m = d.get("/metrics");
        assert_eq!(m.status, 200);
        assert!(
            m.header("content-type")
                .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
            "{:?}",
            m.header("content-type")
        );
        text = m.text();
        if text.contains("sidflow_renders_ended_total{") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let fams = parse_with_prometheus_client(&text);
    let want = [
        ("sidflow_renders_started", "counter"),
        ("sidflow_renders_ended", "counter"),
        ("sidflow_render_seconds", "histogram"),
        ("sidflow_render_queue_depth", "gauge"),
        ("sidflow_renders_in_flight", "gauge"),
        ("sidflow_cache_bytes", "gauge"),
        ("sidflow_cache_files", "gauge"),
        ("sidflow_cache_songs", "gauge"),
        ("sidflow_cache_format_caching", "gauge"),
        ("sidflow_disk_used_percent", "gauge"),
        ("sidflow_disk_max_percent", "gauge"),
        ("sidflow_library_tunes", "gauge"),
        ("sidflow_library_songs", "gauge"),
        ("sidflow_library_scan_seconds", "gauge"),
        ("sidflow_library_scans", "counter"),
        ("sidflow_play_sessions", "gauge"),
        ("sidflow_event_stream_clients", "gauge"),
        ("sidflow_http_requests", "counter"),
        ("sidflow_http_request_duration_seconds", "histogram"),
        ("sidflow_devices_online", "gauge"),
        ("sidflow_lineout_available", "gauge"),
        ("sidflow_lineout_state", "gauge"),
        ("sidflow_lineout_underruns", "counter"),
        ("sidflow_jobs", "gauge"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_cpu_seconds", "counter"),
        ("process_open_fds", "gauge"),
        ("sidflow_ready_check", "gauge"),
        ("sidflow_uptime_seconds", "gauge"),
        ("sidflow_build_info", "gauge"),
    ];
    for (name, kind) in want {
        let got = fams.get(name).map(|f| f.0.as_str());
        assert_eq!(got, Some(kind), "family {name}\n{text}");
    }
    // What happened is counted, with labels from closed sets.
    let started = value(
        &fams,
        "sidflow_renders_started_total",
        &[("engine", "sidflow"), ("format", "mp3")],
    );
    assert_eq!(started, Some(1.0), "{text}");
    assert_eq!(
        value(
            &fams,
            "sidflow_renders_ended_total",
            &[
                ("engine", "sidflow"),
                ("format", "mp3"),
                ("outcome", "finished")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &fams,
            "sidflow_render_seconds_count",
            &[("engine", "sidflow")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &fams,
            "sidflow_http_requests_total",
            &[
                ("route", "/api/play"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            &fams,
            "sidflow_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        )
        .is_some(),
        "{text}"
    );
    assert!(value(&fams, "sidflow_library_tunes", &[]).unwrap() >= 1.0);
    assert_eq!(value(&fams, "sidflow_play_sessions", &[]), Some(1.0));
    assert!(value(&fams, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(value(&fams, "process_open_fds", &[]).unwrap() >= 3.0);
    assert!(value(&fams, "sidflow_jobs", &[("state", "running")]) == Some(0.0));
    // The mp3 that was rendered is cached, and one song of the library is covered.
    assert_eq!(
        value(&fams, "sidflow_cache_files", &[("format", "mp3")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&fams, "sidflow_cache_songs", &[("format", "mp3")]),
        Some(1.0)
    );
}

#[test]
fn metrics_path_is_configurable_and_can_be_turned_off() {
    let dir = common::tempdir("metricscfg");
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        format!("[cache]\n{ROOMY_CACHE}[metrics]\npath = \"/internal/prom\"\n"),
    )
    .unwrap();
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.get("/metrics").status, 404);
    let r = d.get("/internal/prom");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("# TYPE sidflow_uptime_seconds gauge"));
    drop(d);

    let dir = common::tempdir("metricsoff");
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        format!("[cache]\n{ROOMY_CACHE}[metrics]\nenabled = false\n"),
    )
    .unwrap();
    let d = Daemon::start_in(dir, &[], &["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.get("/metrics").status, 404);

    // A path inside the API is refused with the key and the rule.
    let o = Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["serve", "--config"])
        .arg({
            let p = common::tempdir("metricsbad").join("c.toml");
            std::fs::write(&p, "[metrics]\npath = \"/api/x\"\n").unwrap();
            p
        })
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(78));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("metrics.path") && err.contains("/api"),
        "{err}"
    );
}

#[test]
fn readiness_names_the_failing_checks() {
    // The line-out is enabled but its ALSA device does not exist: not ready, and the check
    // says which device failed; liveness is unaffected.
    let dir = common::tempdir("ready");
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cache]\n{ROOMY_CACHE}[lineout]\nenabled = true\ndevice = \"sidflow_no_such_pcm\"\n"
        ),
    )
    .unwrap();
    let d = Daemon::start_in(
        dir,
        &[("SIDFLOW_ADMIN_PASSWORD", "a-good-operator-password")],
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(d.get("/api/health/live").status, 200);
    let mut r = d.get("/api/health/ready");
    for _ in 0..100 {
        // The library scan may still run for a moment after start.
        if !r.json()["failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "library")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        r = d.get("/api/health/ready");
    }
    assert_eq!(r.status, 503, "{}", r.text());
    let v = r.json();
    assert_eq!(v["ready"], false);
    assert_eq!(v["failing"], serde_json::json!(["lineout"]), "{v}");
    let lo = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lineout")
        .unwrap()
        .clone();
    assert!(
        lo["detail"]
            .as_str()
            .unwrap()
            .contains("sidflow_no_such_pcm"),
        "{lo}"
    );
    for ok in ["database", "library", "cache"] {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == ok)
            .unwrap();
        assert_eq!(c["ok"], true, "{c}");
    }
    // The same verdict in the metrics, and the warning in the Status tab's log lines.
    let m = d.get("/metrics").text();
    assert!(
        m.contains("sidflow_ready_check{check=\"lineout\"} 0"),
        "{m}"
    );
    assert!(m.contains("sidflow_lineout_failed 1"), "{m}");
    let (cookie, _csrf) = d.login("a-good-operator-password");
    let o = d.request("GET", "/api/admin/overview", &[("Cookie", &cookie)], None);
    assert_eq!(o.status, 200, "{}", o.text());
    let o = o.json();
    assert_eq!(o["lineout"]["available"], false);
    assert!(o["lineout"]["last_error"]
        .as_str()
        .unwrap()
        .contains("sidflow_no_such_pcm"));
    assert!(
        o["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["level"] == "WARN"
                && l["message"]
                    .as_str()
                    .unwrap()
                    .contains("line-out unavailable")),
        "{o}"
    );
    assert!(o["history"].as_array().is_some());
    assert!(o["cache"].as_array().unwrap().len() == 3, "{o}");
}

/// A webhook receiver on loopback: each request's (head lines, body).
/// A request the receiver got: head lines and body.
type Hook = (Vec<String>, Vec<u8>);

fn receiver() -> (String, std::sync::mpsc::Receiver<Hook>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let len = head
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send((head, body)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn alerts_reach_a_webhook_once_per_fault_as_json_and_as_ntfy_text() {
    for format in ["json", "text"] {
        let (url, rx) = receiver();
        let dir = common::tempdir("alerts");
        let cfg = dir.join("cfg.toml");
        std::fs::write(
            &cfg,
            format!(
                "[cache]\n{ROOMY_CACHE}[lineout]\nenabled = true\ndevice = \"sidflow_no_such_pcm\"\n\
                 [alerts]\nwebhook_url = \"{url}\"\nformat = \"{format}\"\n"
            ),
        )
        .unwrap();
        let d = Daemon::start_in(dir, &[], &["--config", cfg.to_str().unwrap()]);
        let (head, body) = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("an alert");
        assert!(head[0].starts_with("POST /hook "), "{head:?}");
        let header = |k: &str| {
            head.iter()
                .find_map(|h| {
                    let (n, v) = h.split_once(':')?;
                    n.eq_ignore_ascii_case(k).then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        if format == "json" {
            assert_eq!(header("content-type"), "application/json");
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["alert"], "lineout", "{v}");
            assert_eq!(v["state"], "firing");
            assert!(v["message"]
                .as_str()
                .unwrap()
                .contains("sidflow_no_such_pcm"));
        } else {
            assert!(header("content-type").starts_with("text/plain"));
            assert_eq!(header("title"), "SIDFlow sidflow: lineout alert");
            assert!(String::from_utf8_lossy(&body).contains("sidflow_no_such_pcm"));
        }
        // One fault, one message: nothing more while it lasts (within the cool-down).
        assert!(rx.recv_timeout(std::time::Duration::from_secs(2)).is_err());
        let m = d.get("/metrics").text();
        assert!(
            m.contains("sidflow_alerts_sent_total{alert=\"lineout\",result=\"sent\"} 1"),
            "{m}"
        );
    }
}

#[test]
fn settings_refuse_illogical_thresholds_and_no_format_and_list_the_encoders_rates() {
    let d = Daemon::start(
        "settingsrules",
        &[("SIDFLOW_ADMIN_PASSWORD", "a-good-operator-password")],
    );
    let (cookie, csrf) = d.login("a-good-operator-password");
    let put = |body: &str| {
        d.request(
            "PUT",
            "/api/admin/settings",
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
    };
    let r = put(
        r#"{"cache":{"formats":["mp3"],"wav_stop_percent":90,"flac_stop_percent":80,"max_disk_percent":85,"mp3_bitrate_kbps":320}}"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("wav_stop_percent <= flac_stop_percent <= max_disk_percent"),
        "{}",
        r.text()
    );
    let r = put(
        r#"{"cache":{"formats":[],"wav_stop_percent":70,"flac_stop_percent":80,"max_disk_percent":90,"mp3_bitrate_kbps":320}}"#,
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("at least one format"), "{}", r.text());
    let r = put(
        r#"{"cache":{"formats":["mp3"],"wav_stop_percent":70,"flac_stop_percent":80,"max_disk_percent":90,"mp3_bitrate_kbps":56}}"#,
    );
    assert_eq!(r.status, 400);
    // Nothing stored was lost: the settings are still the defaults.
    let s = d
        .request("GET", "/api/admin/settings", &[("Cookie", &cookie)], None)
        .json();
    assert_eq!(s["cache"]["wav_stop_percent"], 100, "{s}");
    let rates: Vec<u64> = s["mp3_bitrates_kbps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(rates.len(), 13);
    assert!(rates.contains(&320) && rates.contains(&32) && !rates.contains(&56));
}

#[test]
fn telemetry_is_counted_per_kind_and_bounded() {
    let d = Daemon::start("telemetry", &[]);
    let r = d.post_json(
        "/api/telemetry",
        r#"{"events":[{"kind":"underrun","detail":"at 12.0 s"},{"kind":"stall"},{"kind":"decode_error","detail":"3: bad"},{"kind":"made-up"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["counted"], 4);
    let m = d.get("/metrics").text();
    for k in ["underrun", "stall", "decode_error", "other"] {
        assert!(
            m.contains(&format!(
                "sidflow_telemetry_reports_total{{kind=\"{k}\"}} 1"
            )),
            "{k}: {m}"
        );
    }
    assert!(!m.contains("made-up"));
    // Too many events in one batch.
    let many = format!(
        "{{\"events\":[{}]}}",
        vec![r#"{"kind":"stall"}"#; 51].join(",")
    );
    assert_eq!(d.post_json("/api/telemetry", &many).status, 400);
    // Six batches a minute per client, then 429 with Retry-After.
    let mut refused = None;
    for _ in 0..10 {
        let r = d.post_json("/api/telemetry", r#"{"events":[]}"#);
        if r.status == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a client that reports too often is refused");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn openapi_paths_and_methods_equal_the_served_route_table() {
    let d = Daemon::start("openapi", &[]);
    let doc = d.get("/api/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_ascii_uppercase(), p.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut table: Vec<(String, String)> = d
        .get("/api/routes")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    described.sort();
    table.sort();
    assert_eq!(described, table);
}

#[test]
fn json_lines_for_log_shippers() {
    let d = Daemon::start("jsonlog", &[("SIDFLOW_LOG_FORMAT", "json")]);
    assert_eq!(d.get("/api/health/live").status, 200);
    let log = d.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        // ALSA's C library writes its own lines to stderr (no sound card here).
        .filter(|l| !l.starts_with("ALSA lib"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let start = lines
        .iter()
        .find(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("listening on http://"))
        })
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(start["level"], "INFO");
    assert_eq!(start["target"], "sidflowd::cmd::serve");
    assert!(start["timestamp"].as_str().is_some());
}

//! Operator API under `/api/admin/`. The router has already checked the session and the
//! CSRF token for every route that reaches [`handle`]; each action is audited here.

use super::{error, json, json_status, stream, too_many, Req, R};
use crate::app::App;
use crate::auth::{AdminSession, LoginError, COOKIE};
use crate::jobs::Item;
use crate::media::{format_from_ext, CachePolicy, Chip, Platform};
use serde::Deserialize;
use std::sync::Arc;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

pub const POLICY_KEY: &str = "cache_policy";

pub fn session(app: &App, req: &Req) -> Response {
    let s = req.cookie(COOKIE).and_then(|t| app.auth.session(&t));
    json(&serde_json::json!({
        "password_set": app.auth.password_set(),
        "password_from_config": app.auth.password_from_config(),
        "logged_in": s.is_some(),
        "csrf": s.map(|s| s.csrf),
    }))
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

fn check_new_password(pw: &str) -> Result<(), Response> {
    if pw.chars().count() < 8 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the password needs at least 8 characters",
        ));
    }
    if pw.len() > 1024 {
        return Err(error(StatusCode::BAD_REQUEST, "the password is too long"));
    }
    Ok(())
}

pub async fn setup(app: &Arc<App>, req: &Req) -> Response {
    let b: PasswordBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if app.auth.password_set() {
        return error(StatusCode::CONFLICT, "a password is already set: log in");
    }
    if let Err(r) = check_new_password(&b.password) {
        return r;
    }
    let a = app.clone();
    let pw = b.password.clone();
    let r = tokio::task::spawn_blocking(move || a.auth.setup(&pw)).await;
    let who = req.ip.to_string();
    match r {
        Ok(Ok(true)) => {
            app.auth
                .audit(&who, "setup password", serde_json::json!({}), "ok");
            // Log the operator in straight away.
            login_with(app, req, b.password).await
        }
        Ok(Ok(false)) => error(StatusCode::CONFLICT, "a password is already set: log in"),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not store the password",
        ),
    }
}

pub async fn login(app: &Arc<App>, req: &Req) -> Response {
    let b: PasswordBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    login_with(app, req, b.password).await
}

async fn login_with(app: &Arc<App>, req: &Req, pw: String) -> Response {
    let a = app.clone();
    let ip = req.ip;
    let r = tokio::task::spawn_blocking(move || a.auth.login(ip, &pw)).await;
    let who = ip.to_string();
    match r {
        Ok(Ok((tok, s))) => {
            app.auth.audit(&who, "login", serde_json::json!({}), "ok");
            let mut res = json(&serde_json::json!({ "logged_in": true, "csrf": s.csrf }));
            let cookie = format!(
                "{COOKIE}={tok}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                app.auth.cookie_max_age()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(Err(LoginError::Limited(wait))) => {
            app.auth.audit(
                &who,
                "login",
                serde_json::json!({}),
                "refused: rate limited",
            );
            too_many(wait, "failed logins")
        }
        Ok(Err(LoginError::Wrong)) => {
            app.auth.audit(
                &who,
                "login",
                serde_json::json!({}),
                "failed: wrong password",
            );
            error(StatusCode::UNAUTHORIZED, "wrong password")
        }
        Ok(Err(LoginError::NoPassword)) => error(
            StatusCode::CONFLICT,
            "no password is set yet: choose one first",
        ),
        Ok(Err(LoginError::Internal(e))) => {
            tracing::error!("login: {e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "login failed")
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "login failed"),
    }
}

#[derive(Deserialize)]
struct JobBody {
    /// Render every tune below this folder ("" = the whole library)...
    folder: Option<String>,
    /// ...or these tunes.
    paths: Option<Vec<String>>,
    /// `software` (default) or `hardware`.
    #[serde(default)]
    platform: Option<Platform>,
    /// `tune-6581` (default), `tune-8580`, `6581`, `8580`.
    #[serde(default)]
    chip: Option<String>,
    /// Formats to render; default: those the cache keeps.
    formats: Option<Vec<String>>,
    /// Only each tune's start song (default: every song).
    #[serde(default)]
    start_song_only: bool,
}

#[derive(Deserialize)]
struct DeleteBody {
    md5: String,
    song: u16,
    platform: Platform,
    #[serde(with = "crate::media::chip_serde")]
    chip: Chip,
    format: String,
}

fn audited(
    app: &App,
    req: &Req,
    action: &str,
    detail: serde_json::Value,
    res: Response,
) -> Response {
    let result = if res.status().is_success() {
        "ok".to_string()
    } else {
        format!("failed: {}", res.status().as_u16())
    };
    app.auth.audit(&req.ip.to_string(), action, detail, &result);
    res
}

pub async fn handle(app: &Arc<App>, req: &Req, id: R, ctx: (String, AdminSession)) -> Response {
    let (tok, _session) = ctx;
    match id {
        R::AdminLogout => {
            app.auth.logout(&tok);
            let mut res = json(&serde_json::json!({ "logged_in": false }));
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
            )) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            audited(app, req, "logout", serde_json::json!({}), res)
        }
        R::AdminPassword => {
            let b: PasswordBody = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            if let Err(r) = check_new_password(&b.password) {
                return r;
            }
            let a = app.clone();
            let res = match tokio::task::spawn_blocking(move || a.auth.change_password(&b.password))
                .await
            {
                Ok(Ok(())) => json(&serde_json::json!({ "ok": true })),
                Ok(Err(e)) => error(StatusCode::CONFLICT, &format!("{e:#}")),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(app, req, "change password", serde_json::json!({}), res)
        }
        R::AdminStatus => {
            let n = app.library.read().map(|i| i.len()).unwrap_or(0);
            json(&serde_json::json!({
                "library": { "tunes": n, "source": app.source.describe(),
                    "scanning": app.scanning.load(std::sync::atomic::Ordering::Relaxed),
                    "unreadable": app.scan_errors.load(std::sync::atomic::Ordering::Relaxed) },
                "sessions": app.sessions.len(),
                "renders_in_flight": app.media.in_flight(),
                "renders_started": app.media.renders_started(),
                "disk_used_percent": crate::media::disk_used_percent(app.media.cache_dir()),
                "uptime_secs": app.started.elapsed().as_secs(),
                "version": env!("CARGO_PKG_VERSION"),
            }))
        }
        R::AdminCache => {
            let media = app.media.clone();
            let usage = tokio::task::spawn_blocking(move || media.usage())
                .await
                .unwrap_or_default();
            let policy = app.media.policy.read().map(|p| p.clone()).ok();
            json(&serde_json::json!({
                "dir": app.media.cache_dir(),
                "usage": usage.iter().map(|(k, (bytes, files))| (k.to_string(), serde_json::json!({"bytes": bytes, "files": files}))).collect::<serde_json::Map<_, _>>(),
                "disk_used_percent": crate::media::disk_used_percent(app.media.cache_dir()),
                "policy": policy,
            }))
        }
        R::AdminCacheDelete => {
            let b: DeleteBody = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(format) = format_from_ext(&b.format) else {
                return error(StatusCode::BAD_REQUEST, "unknown format");
            };
            let Some(t) = app.tune_by_md5(&b.md5) else {
                return error(StatusCode::NOT_FOUND, "no such tune");
            };
            let res = match crate::media::variant(&t, b.song, b.platform, b.chip, format)
                .and_then(|v| app.media.delete(&v))
            {
                Ok(true) => json(&serde_json::json!({ "deleted": true })),
                Ok(false) => error(StatusCode::NOT_FOUND, "not cached"),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
            };
            audited(
                app,
                req,
                "delete cached variant",
                serde_json::json!({"path": t.path, "song": b.song, "platform": b.platform, "chip": b.chip.as_str(), "format": b.format}),
                res,
            )
        }
        R::AdminSettings => {
            let policy = app.media.policy.read().map(|p| p.clone()).ok();
            json(&serde_json::json!({ "cache": policy }))
        }
        R::AdminSettingsPut => {
            #[derive(Deserialize)]
            struct Body {
                cache: CachePolicy,
            }
            let b: Body = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let check = crate::config::Cache {
                formats: b.cache.formats.clone(),
                wav_stop_percent: b.cache.wav_stop_percent,
                flac_stop_percent: b.cache.flac_stop_percent,
                max_disk_percent: b.cache.max_disk_percent,
                mp3_bitrate_kbps: b.cache.mp3_bitrate_kbps,
            };
            let cfg = crate::config::Config {
                cache: check,
                ..Default::default()
            };
            let res = match cfg.validate() {
                Err(e) => error(StatusCode::BAD_REQUEST, &format!("{e:#}")),
                Ok(()) => match app.db.put(store::SETTINGS, POLICY_KEY, &b.cache) {
                    Ok(()) => match app.media.set_policy(b.cache.clone()) {
                        Ok(()) => json(&serde_json::json!({ "cache": b.cache })),
                        Err(e) => error(StatusCode::BAD_REQUEST, &format!("{e:#}")),
                    },
                    Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
                },
            };
            audited(
                app,
                req,
                "change settings",
                serde_json::to_value(&b.cache).unwrap_or_default(),
                res,
            )
        }
        R::AdminBackup => {
            let db = app.db.clone();
            let created = crate::util::rfc3339(crate::util::now_secs());
            let day: String = created.chars().take(10).collect();
            let res = match tokio::task::spawn_blocking(move || crate::backup::export(&db, created))
                .await
            {
                Ok(Ok((b, skipped))) => {
                    for s in &skipped {
                        tracing::warn!("backup: left out an unreadable record: {s}");
                    }
                    let mut res = json(&b);
                    if let Ok(v) = HeaderValue::from_str(&format!(
                        "attachment; filename=\"sidflow-backup-{day}.json\""
                    )) {
                        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                    }
                    res
                }
                Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}")),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(app, req, "download backup", serde_json::json!({}), res)
        }
        R::AdminRestore => {
            let b: crate::backup::Backup = match req.json() {
                Ok(b) => b,
                Err(r) => return audited(app, req, "restore backup", serde_json::json!({}), r),
            };
            let a = app.clone();
            let res = match tokio::task::spawn_blocking(move || {
                let r = crate::backup::import(&a.db, &b)?;
                // Apply what was restored: the cache settings now, the hosts on a refresh.
                if let Some(p) = &b.settings.cache_policy {
                    a.media
                        .set_policy(p.clone())
                        .map_err(|e| format!("{e:#}"))?;
                }
                if let Err(e) = a.devices.refresh(false) {
                    tracing::warn!("devices after restore: {e:#}");
                }
                Ok::<_, String>(r)
            })
            .await
            {
                Ok(Ok(r)) => json(&r),
                Ok(Err(e)) => error(StatusCode::BAD_REQUEST, &e),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(app, req, "restore backup", serde_json::json!({}), res)
        }
        R::AdminJobs => {
            let jobs: Vec<_> = app.jobs.list().iter().map(|j| j.summary()).collect();
            json(&serde_json::json!({ "jobs": jobs }))
        }
        R::AdminJob => match req.params[0]
            .parse::<u64>()
            .ok()
            .and_then(|id| app.jobs.get(id))
        {
            Some(j) => json(&j.summary()),
            None => error(StatusCode::NOT_FOUND, "no such job"),
        },
        R::AdminJobCreate => {
            let b: JobBody = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let res = create_job(app, b);
            let detail = serde_json::from_slice::<serde_json::Value>(&req.body).unwrap_or_default();
            audited(app, req, "start render job", detail, res)
        }
        R::AdminJobControl => {
            let id = req.params[0].parse::<u64>().unwrap_or(0);
            let action = req.params[1].clone();
            let res = match app.jobs.control(id, &action) {
                Ok(Some(j)) => json(&j.summary()),
                Ok(None) => error(StatusCode::NOT_FOUND, "no such job"),
                Err(e) => error(StatusCode::CONFLICT, &format!("{e:#}")),
            };
            audited(
                app,
                req,
                &format!("{action} job"),
                serde_json::json!({"job": id}),
                res,
            )
        }
        R::AdminJobDelete => {
            let id = req.params[0].parse::<u64>().unwrap_or(0);
            let res = match app.jobs.delete(id) {
                Ok(true) => json(&serde_json::json!({"deleted": true})),
                Ok(false) => error(StatusCode::NOT_FOUND, "no such job"),
                Err(e) => error(StatusCode::CONFLICT, &format!("{e:#}")),
            };
            audited(app, req, "delete job", serde_json::json!({"job": id}), res)
        }
        R::AdminEvents => stream::sse(app.admin_events.subscribe()),
        R::AdminAudit => {
            let n = req
                .query("n")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(100)
                .min(1000);
            let path = app.cfg.paths.data_dir.join("audit/admin-actions.jsonl");
            let text = tokio::fs::read_to_string(&path).await.unwrap_or_default();
            let lines: Vec<serde_json::Value> = text
                .lines()
                .rev()
                .take(n)
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            json(&serde_json::json!({ "entries": lines }))
        }
        R::AdminDevicesDiscover => {
            let a = app.clone();
            let res = match tokio::task::spawn_blocking(move || a.devices.refresh(true)).await {
                Ok(Ok(list)) => json(&serde_json::json!({ "devices": list })),
                Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(app, req, "discover devices", serde_json::json!({}), res)
        }
        R::AdminDevicesAdd => {
            #[derive(Deserialize)]
            struct Body {
                host: String,
            }
            let b: Body = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let (a, host) = (app.clone(), b.host.clone());
            let res = match tokio::task::spawn_blocking(move || a.devices.add_host(&host)).await {
                Ok(Ok(info)) => json(
                    &serde_json::json!({ "added": b.host, "info": info, "devices": app.devices.list() }),
                ),
                Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(
                app,
                req,
                "add device",
                serde_json::json!({"host": b.host}),
                res,
            )
        }
        R::AdminDeviceTest => {
            let (a, id) = (app.clone(), req.params[0].clone());
            let res = match tokio::task::spawn_blocking(move || a.devices.test(&id)).await {
                Ok(Ok(info)) => json(&serde_json::json!({ "ok": true, "info": info })),
                Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            audited(
                app,
                req,
                "test device",
                serde_json::json!({"device": req.params[0]}),
                res,
            )
        }
        R::AdminDevicesPassword => {
            let b: PasswordBody = match req.json() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let res = match app.devices.set_password(&b.password) {
                Ok(()) => json(&serde_json::json!({ "ok": true })),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
            };
            audited(app, req, "set device password", serde_json::json!({}), res)
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn create_job(app: &App, b: JobBody) -> Response {
    let platform = b.platform.unwrap_or(Platform::Software);
    if platform == Platform::Hardware && app.devices.recorder().is_none() {
        return error(
            StatusCode::CONFLICT,
            "no C64 Ultimate is available for hardware rendering",
        );
    }
    let chip = b.chip.unwrap_or_default();
    if !matches!(
        chip.as_str(),
        "" | "tune-6581" | "tune-8580" | "6581" | "8580"
    ) {
        return error(
            StatusCode::BAD_REQUEST,
            "chip must be tune-6581, tune-8580, 6581 or 8580",
        );
    }
    let formats = match b.formats {
        Some(f) => f,
        None => app
            .media
            .policy
            .read()
            .map(|p| p.formats.clone())
            .unwrap_or_default(),
    };
    if formats.is_empty() || formats.iter().any(|f| format_from_ext(f).is_none()) {
        return error(
            StatusCode::BAD_REQUEST,
            "formats must be a non-empty list of mp3, flac, wav",
        );
    }
    let folder = match library::safe_relative(b.folder.as_deref().unwrap_or("")) {
        Ok(f) => f,
        Err(_) => return error(StatusCode::BAD_REQUEST, "bad folder"),
    };
    let Ok(idx) = app.library.read() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "busy");
    };
    let mut tunes: Vec<&library::Tune> = Vec::new();
    let label;
    if let Some(paths) = &b.paths {
        for p in paths {
            match library::safe_relative(p).ok().and_then(|p| idx.get(&p)) {
                Some(t) => tunes.push(t),
                None => return error(StatusCode::NOT_FOUND, &format!("no such tune: {p}")),
            }
        }
        label = format!("{} selected tune(s)", tunes.len());
    } else {
        tunes.extend(idx.under(&folder));
        label = if folder.is_empty() {
            "whole library".into()
        } else {
            folder.clone()
        };
    }
    let items: Vec<Item> = tunes
        .iter()
        .flat_map(|t| {
            let songs: Vec<u16> = if b.start_song_only {
                vec![t.start_song]
            } else {
                (1..=t.songs).collect()
            };
            songs.into_iter().map(|s| Item {
                path: t.path.clone(),
                song: s,
            })
        })
        .collect();
    drop(idx);
    if items.is_empty() {
        return error(StatusCode::BAD_REQUEST, "nothing to render");
    }
    match app.jobs.create(label, platform, chip, formats, items) {
        Ok(j) => json_status(StatusCode::CREATED, &j.summary()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

//! The operator's own routes: first-run setup, login and logout, the password, the cache and
//! its settings, backup and restore. The router has already checked the session and the
//! CSRF token on every `Admin` route; each action is audited here.

use super::request::Req;
use super::response::{blocking, json, set_header, ApiError, Reply};
use crate::app::App;
use crate::auth::{LoginError, COOKIE};
use crate::media::{format_from_ext, CachePolicy, Chip, Platform};
use hyper::header;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Records `r`'s outcome in the audit trail and passes it on.
pub fn audited(app: &App, req: &Req, action: &str, detail: serde_json::Value, r: Reply) -> Reply {
    let result = match &r {
        Ok(res) if res.status().is_success() => "ok".to_string(),
        Ok(res) => format!("failed: {}", res.status().as_u16()),
        Err(e) => format!("failed: {}", e.status.as_u16()),
    };
    app.auth.audit(&req.who(), action, detail, &result);
    r
}

#[derive(Serialize)]
struct SessionState {
    password_set: bool,
    password_from_config: bool,
    logged_in: bool,
    csrf: Option<String>,
}

pub async fn session(app: Arc<App>, req: Req) -> Reply {
    let s = req.cookie(COOKIE).and_then(|t| app.auth.session(&t));
    json(&SessionState {
        password_set: app.auth.password_set(),
        password_from_config: app.auth.password_from_config(),
        logged_in: s.is_some(),
        csrf: s.map(|s| s.csrf),
    })
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

fn check_new_password(pw: &str) -> Result<(), ApiError> {
    if pw.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "the password needs at least 8 characters",
        ));
    }
    if pw.len() > 1024 {
        return Err(ApiError::bad_request("the password is too long"));
    }
    Ok(())
}

pub async fn setup(app: Arc<App>, req: Req) -> Reply {
    let b: PasswordBody = req.json()?;
    if app.auth.password_set() {
        return Err(ApiError::conflict("a password is already set: log in"));
    }
    check_new_password(&b.password)?;
    let (a, pw) = (app.clone(), b.password.clone());
    if !blocking(move || a.auth.setup(&pw)).await?? {
        return Err(ApiError::conflict("a password is already set: log in"));
    }
    app.auth
        .audit(&req.who(), "setup password", serde_json::json!({}), "ok");
    // Log the operator in straight away.
    login_with(&app, &req, b.password).await
}

pub async fn login(app: Arc<App>, req: Req) -> Reply {
    let b: PasswordBody = req.json()?;
    login_with(&app, &req, b.password).await
}

async fn login_with(app: &Arc<App>, req: &Req, pw: String) -> Reply {
    let (a, ip) = (app.clone(), req.ip);
    let r = blocking(move || a.auth.login(ip, &pw)).await?;
    let who = req.who();
    let audit = |result: &str| app.auth.audit(&who, "login", serde_json::json!({}), result);
    match r {
        Ok((tok, s)) => {
            audit("ok");
            #[derive(Serialize)]
            struct LoggedIn {
                logged_in: bool,
                csrf: String,
            }
            let mut res = json(&LoggedIn {
                logged_in: true,
                csrf: s.csrf,
            })?;
            let cookie = format!(
                "{COOKIE}={tok}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                app.auth.cookie_max_age()
            );
            set_header(&mut res, header::SET_COOKIE, &cookie);
            Ok(res)
        }
        Err(LoginError::Limited(wait)) => {
            audit("refused: rate limited");
            Err(ApiError::too_many(wait, "failed logins"))
        }
        Err(LoginError::Wrong) => {
            audit("failed: wrong password");
            Err(ApiError::new(
                hyper::StatusCode::UNAUTHORIZED,
                "wrong password",
            ))
        }
        Err(LoginError::NoPassword) => Err(ApiError::conflict(
            "no password is set yet: choose one first",
        )),
        Err(LoginError::Internal(e)) => Err(ApiError::internal(anyhow::anyhow!("login: {e}"))),
    }
}

pub async fn logout(app: Arc<App>, req: Req) -> Reply {
    if let Some((tok, _)) = &req.admin {
        app.auth.logout(tok);
    }
    let mut res = json(&serde_json::json!({ "logged_in": false }))?;
    set_header(
        &mut res,
        header::SET_COOKIE,
        &format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    audited(&app, &req, "logout", serde_json::json!({}), Ok(res))
}

pub async fn password(app: Arc<App>, req: Req) -> Reply {
    let b: PasswordBody = req.json()?;
    check_new_password(&b.password)?;
    let a = app.clone();
    let r = blocking(move || a.auth.change_password(&b.password))
        .await
        .and_then(|r| {
            r.map_err(|e| ApiError::conflict(format!("{e:#}")))?;
            json(&serde_json::json!({ "ok": true }))
        });
    audited(&app, &req, "change password", serde_json::json!({}), r)
}

#[derive(Serialize)]
struct Usage {
    bytes: u64,
    files: u64,
}

pub async fn cache(app: Arc<App>, _: Req) -> Reply {
    let media = app.media.clone();
    let usage = blocking(move || media.usage()).await?;
    #[derive(Serialize)]
    struct CacheState<'a> {
        dir: &'a std::path::Path,
        usage: std::collections::BTreeMap<&'static str, Usage>,
        disk_used_percent: Option<f64>,
        policy: CachePolicy,
    }
    json(&CacheState {
        dir: app.media.cache_dir(),
        usage: usage
            .into_iter()
            .map(|(k, (bytes, files))| (k, Usage { bytes, files }))
            .collect(),
        disk_used_percent: crate::media::disk_used_percent(app.media.cache_dir()),
        policy: app.media.policy(),
    })
}

#[derive(Deserialize)]
struct DeleteBody {
    md5: String,
    song: u16,
    platform: Platform,
    chip: Chip,
    format: String,
}

pub async fn cache_delete(app: Arc<App>, req: Req) -> Reply {
    let b: DeleteBody = req.json()?;
    let format =
        format_from_ext(&b.format).ok_or_else(|| ApiError::bad_request("unknown format"))?;
    let t = app
        .library
        .tune_by_md5(&b.md5)
        .ok_or_else(|| ApiError::not_found("no such tune"))?;
    let r = crate::media::variant(&t, b.song, b.platform, b.chip, format)
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        .and_then(|v| match app.media.delete(&v) {
            Ok(true) => json(&serde_json::json!({ "deleted": true })),
            Ok(false) => Err(ApiError::not_found("not cached")),
            Err(e) => Err(ApiError::internal(e)),
        });
    let detail = serde_json::json!({"path": t.path, "song": b.song, "platform": b.platform,
        "chip": b.chip.as_str(), "format": b.format});
    audited(&app, &req, "delete cached variant", detail, r)
}

#[derive(Serialize, Deserialize)]
struct Settings {
    cache: CachePolicy,
}

pub async fn settings(app: Arc<App>, _: Req) -> Reply {
    json(&Settings {
        cache: app.media.policy(),
    })
}

pub async fn settings_put(app: Arc<App>, req: Req) -> Reply {
    let b: Settings = req.json()?;
    let detail = serde_json::to_value(&b.cache).unwrap_or_default();
    let r = b
        .cache
        .validate()
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        .and_then(|()| {
            app.media
                .set_policy(b.cache.clone())
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        })
        .and_then(|()| json(&b));
    audited(&app, &req, "change settings", detail, r)
}

pub async fn backup(app: Arc<App>, req: Req) -> Reply {
    let db = app.db.clone();
    let created = crate::events::now_rfc3339();
    let day: String = created.chars().take(10).collect();
    let r = blocking(move || crate::backup::export(&db, created))
        .await
        .and_then(|r| {
            let (b, skipped) = r?;
            for s in &skipped {
                tracing::warn!("backup: left out an unreadable record: {s}");
            }
            let mut res = json(&b)?;
            set_header(
                &mut res,
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"sidflow-backup-{day}.json\""),
            );
            Ok(res)
        });
    audited(&app, &req, "download backup", serde_json::json!({}), r)
}

pub async fn restore(app: Arc<App>, req: Req) -> Reply {
    let r = match req.json::<crate::backup::Backup>() {
        Ok(b) => {
            let a = app.clone();
            blocking(move || crate::backup::restore(&a.db, &a.media, &a.devices, &b))
                .await
                .and_then(|r| json(&r.map_err(ApiError::bad_request)?))
        }
        Err(e) => Err(e),
    };
    audited(&app, &req, "restore backup", serde_json::json!({}), r)
}

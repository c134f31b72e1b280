//! The operator's own routes: first-run setup, login and logout, the password, the cache and
//! its settings, backup and restore. The router has already checked the session and the
//! CSRF token on every `Admin` route; each action is audited here.

use super::request::Req;
use super::response::{blocking, json, set_header, ApiError, Reply};
use crate::app::App;
use crate::auth::{AdminSession, LoginError, COOKIE};
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

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> ApiError {
        use hyper::StatusCode as S;
        match e {
            LoginError::Limited(wait) => ApiError::too_many(wait, "attempts"),
            LoginError::Busy => {
                ApiError::unavailable("the box is checking other passwords; try again in a moment")
                    .retry_after(std::time::Duration::from_secs(2))
            }
            LoginError::Wrong => ApiError::new(S::UNAUTHORIZED, "wrong password"),
            LoginError::WrongCode => ApiError::new(
                S::UNAUTHORIZED,
                "wrong setup code: it is in the box's log (journalctl -u sidflowd) and \
                 printed by `sidflowd setup-code`",
            ),
            LoginError::NoPassword => {
                ApiError::conflict("no password is set yet: choose one first")
            }
            LoginError::AlreadySet => ApiError::conflict("a password is already set: log in"),
            LoginError::FromConfig => ApiError::conflict(e.to_string()),
            LoginError::Internal(m) => ApiError::internal(anyhow::anyhow!("login: {m}")),
        }
    }
}

/// What the audit trail says of a refused attempt.
fn audit_result(r: &Result<(String, AdminSession), LoginError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(LoginError::Limited(_)) => "refused: rate limited".into(),
        Err(LoginError::Busy) => "refused: busy".into(),
        Err(e) => format!("failed: {e}"),
    }
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

/// The answer to a successful login: the CSRF token, and the session cookie.
fn logged_in(app: &App, tok: &str, s: AdminSession) -> Reply {
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

/// First run: the setup code (from the box's log) and the new password.
pub async fn setup(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        code: String,
        password: String,
    }
    let b: Body = req.json()?;
    if app.auth.password_set() {
        return Err(LoginError::AlreadySet.into());
    }
    check_new_password(&b.password)?;
    let r = app.auth.setup(req.ip, &b.code, b.password).await;
    app.auth.audit(
        &req.who(),
        "setup password",
        serde_json::json!({}),
        &audit_result(&r),
    );
    let (tok, s) = r?;
    logged_in(&app, &tok, s)
}

pub async fn login(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        password: String,
    }
    let b: Body = req.json()?;
    if b.password.len() > 1024 {
        return Err(ApiError::bad_request("the password is too long"));
    }
    let r = app.auth.login(req.ip, b.password).await;
    app.auth.audit(
        &req.who(),
        "login",
        serde_json::json!({}),
        &audit_result(&r),
    );
    let (tok, s) = r?;
    logged_in(&app, &tok, s)
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

/// Changes the password: the current one is required; every other session ends.
pub async fn password(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        current: String,
        password: String,
    }
    let b: Body = req.json()?;
    check_new_password(&b.password)?;
    let keep = req
        .admin
        .as_ref()
        .map(|(t, _)| t.clone())
        .unwrap_or_default();
    let r = match app
        .auth
        .change_password(req.ip, b.current, b.password, &keep)
        .await
    {
        Ok(()) => json(&serde_json::json!({ "ok": true })),
        Err(LoginError::Wrong) => Err(ApiError::new(
            hyper::StatusCode::FORBIDDEN,
            "the current password is wrong",
        )),
        Err(e) => Err(e.into()),
    };
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
    /// The settings and the MP3 rates the encoder makes (the page offers exactly those).
    #[derive(Serialize)]
    struct Out {
        cache: CachePolicy,
        mp3_bitrates_kbps: &'static [u32],
    }
    json(&Out {
        cache: app.media.policy(),
        mp3_bitrates_kbps: &encode::MP3_BITRATES_KBPS,
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

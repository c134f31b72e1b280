//! Operator authentication for `/admin`: argon2 password, session cookie, CSRF token,
//! failed-login limits, and the audit trail.
//!
//! * The password comes from the configuration (`admin.password_hash`, `admin.password`,
//!   or `SIDFLOW_ADMIN_PASSWORD`); otherwise the first visitor of `/admin` sets one and its
//!   argon2 hash is stored in the database.
//! * A login returns an opaque token, sent back as an `HttpOnly; SameSite=Strict` cookie.
//!   Only its SHA-256 is stored. Each session has its own CSRF token, which every mutating
//!   request must echo in `X-CSRF-Token`.
//! * Every admin action (logins included) is one line of `audit/admin-actions.jsonl`.

use store::{Store, SETTINGS};

/// Admin sessions (key: digest of the cookie token).
pub const ADMIN_SESSIONS: store::Table = store::Table::new("admin_sessions");
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use store::now_unix as now_secs;
use store::JsonlLog;

pub const COOKIE: &str = "sidflow_admin";

/// Where the audit trail is, below the state folder.
pub fn audit_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("audit/admin-actions.jsonl")
}

/// One line of the audit trail.
#[derive(Serialize)]
struct AuditLine<'a> {
    ts: String,
    who: &'a str,
    action: &'a str,
    detail: serde_json::Value,
    result: &'a str,
}
const HASH_KEY: &str = "admin_password_hash";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct AdminSession {
    pub csrf: String,
    pub expires: u64,
    pub client: String,
}

#[derive(Debug)]
pub enum LoginError {
    /// Too many failures from this client; try again after the duration.
    Limited(Duration),
    Wrong,
    NoPassword,
    Internal(String),
}

pub struct Auth {
    db: Arc<Store>,
    /// The hash in force (configuration first, then the database).
    hash: RwLock<Option<String>>,
    from_config: bool,
    ttl: u64,
    attempts: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    audit: Option<JsonlLog>,
}

pub fn hash_password(pw: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

fn verify(hash: &str, pw: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Lower-case hex of some bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 128 random bits as 32 hex digits (session ids, CSRF tokens).
pub fn token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Auth {
    pub fn new(
        db: Arc<Store>,
        cfg: &crate::config::Admin,
        data_dir: &Path,
    ) -> anyhow::Result<Auth> {
        let (hash, from_config) = if !cfg.password_hash.is_empty() {
            (Some(cfg.password_hash.clone()), true)
        } else if !cfg.password.is_empty() {
            (Some(hash_password(&cfg.password)?), true)
        } else {
            (db.get::<String>(SETTINGS, HASH_KEY)?, false)
        };
        Ok(Auth {
            db,
            hash: RwLock::new(hash),
            from_config,
            ttl: cfg.session_ttl_secs,
            attempts: cfg.login_attempts,
            window: Duration::from_secs(cfg.login_window_secs),
            failures: Mutex::new(HashMap::new()),
            audit: JsonlLog::open(&audit_path(data_dir))
                .map_err(|e| tracing::error!("audit log: {e}"))
                .ok(),
        })
    }

    pub fn password_set(&self) -> bool {
        self.hash.read().map(|h| h.is_some()).unwrap_or(true)
    }

    pub fn password_from_config(&self) -> bool {
        self.from_config
    }

    /// First-run: sets the password when none exists. `false` if one already does.
    pub fn setup(&self, pw: &str) -> anyhow::Result<bool> {
        let hash = hash_password(pw)?;
        let mut guard = self.hash.write().map_err(|_| anyhow::anyhow!("lock"))?;
        if guard.is_some() {
            return Ok(false);
        }
        self.db.put(SETTINGS, HASH_KEY, &hash)?;
        *guard = Some(hash);
        Ok(true)
    }

    /// Changes the stored password (only when it does not come from the configuration).
    pub fn change_password(&self, pw: &str) -> anyhow::Result<()> {
        if self.from_config {
            anyhow::bail!("the password is set in the configuration file or environment");
        }
        let hash = hash_password(pw)?;
        self.db.put(SETTINGS, HASH_KEY, &hash)?;
        if let Ok(mut g) = self.hash.write() {
            *g = Some(hash);
        }
        Ok(())
    }

    fn limited(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(ip).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.attempts as usize {
            let oldest = list.first().copied().unwrap_or(now);
            Some(self.window.saturating_sub(now.duration_since(oldest)))
        } else {
            None
        }
    }

    /// Checks the password; on success creates a session and returns `(token, csrf)`.
    /// Blocking (argon2): call from a blocking thread.
    pub fn login(&self, ip: IpAddr, pw: &str) -> Result<(String, AdminSession), LoginError> {
        if let Some(wait) = self.limited(ip) {
            return Err(LoginError::Limited(wait));
        }
        let hash = self
            .hash
            .read()
            .map_err(|_| LoginError::Internal("lock".into()))?
            .clone()
            .ok_or(LoginError::NoPassword)?;
        if !verify(&hash, pw) {
            let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(ip).or_default().push(Instant::now());
            return Err(LoginError::Wrong);
        }
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ip);
        }
        let tok = token();
        let session = AdminSession {
            csrf: token(),
            expires: now_secs() + self.ttl,
            client: ip.to_string(),
        };
        self.db
            .put(ADMIN_SESSIONS, &digest(&tok), &session)
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        Ok((tok, session))
    }

    /// The live session a cookie token names.
    pub fn session(&self, tok: &str) -> Option<AdminSession> {
        if tok.is_empty() {
            return None;
        }
        let key = digest(tok);
        let s: AdminSession = self.db.get(ADMIN_SESSIONS, &key).ok()??;
        if s.expires <= now_secs() {
            let _ = self.db.delete(ADMIN_SESSIONS, &key);
            return None;
        }
        Some(s)
    }

    pub fn logout(&self, tok: &str) {
        let _ = self.db.delete(ADMIN_SESSIONS, &digest(tok));
    }

    /// Drops expired sessions (called now and then).
    pub fn sweep(&self) {
        let now = now_secs();
        if let Ok(all) = self.db.list::<AdminSession>(ADMIN_SESSIONS, "") {
            for (k, s) in all {
                if s.expires <= now {
                    let _ = self.db.delete(ADMIN_SESSIONS, &k);
                }
            }
        }
    }

    pub fn cookie_max_age(&self) -> u64 {
        self.ttl
    }

    /// One audit line: who (client address), what, detail, result, when.
    pub fn audit(&self, who: &str, action: &str, detail: serde_json::Value, result: &str) {
        let rec = AuditLine {
            ts: crate::events::now_rfc3339(),
            who,
            action,
            detail,
            result,
        };
        if let Some(Err(e)) = self.audit.as_ref().map(|l| l.append(&rec)) {
            tracing::error!("audit log: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(tag: &str, cfg: crate::config::Admin) -> (Auth, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("sidflow-auth-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Arc::new(Store::open(&dir.join("db.redb")).unwrap());
        (Auth::new(db, &cfg, &dir).unwrap(), dir)
    }

    #[test]
    fn setup_once_then_login_and_limits() {
        let cfg = crate::config::Admin {
            login_attempts: 2,
            ..Default::default()
        };
        let (a, dir) = auth("setup", cfg);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        assert!(!a.password_set());
        assert!(matches!(a.login(ip, "x"), Err(LoginError::NoPassword)));
        assert!(a.setup("secret-pw").unwrap());
        assert!(!a.setup("other").unwrap());
        assert!(matches!(a.login(ip, "bad"), Err(LoginError::Wrong)));
        let (tok, s) = a.login(ip, "secret-pw").unwrap();
        assert_eq!(a.session(&tok).unwrap().csrf, s.csrf);
        assert!(a.session("nope").is_none());
        a.logout(&tok);
        assert!(a.session(&tok).is_none());
        assert!(matches!(a.login(ip, "bad"), Err(LoginError::Wrong)));
        assert!(matches!(a.login(ip, "bad"), Err(LoginError::Wrong)));
        // Now limited even with the right password.
        assert!(matches!(
            a.login(ip, "secret-pw"),
            Err(LoginError::Limited(_))
        ));
        a.audit("127.0.0.1", "test", serde_json::json!({}), "ok");
        let log = std::fs::read_to_string(dir.join("audit/admin-actions.jsonl")).unwrap();
        assert!(log.contains("\"action\":\"test\""));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn password_from_config_cannot_be_changed_in_ui() {
        let cfg = crate::config::Admin {
            password: "from-env".into(),
            ..Default::default()
        };
        let (a, dir) = auth("cfg", cfg);
        assert!(a.password_set());
        assert!(a.login("::1".parse().unwrap(), "from-env").is_ok());
        assert!(a.change_password("x").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

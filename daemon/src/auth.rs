//! Operator authentication for `/admin`: argon2 password, first-run setup code, session
//! cookie, CSRF token, failed-login limits, and the audit trail.
//!
//! * The password comes from the configuration (`admin.password_hash`, `admin.password`,
//!   or `SIDFLOW_ADMIN_PASSWORD`); otherwise the operator chooses one in `/admin`, which
//!   needs the **one-time setup code** the daemon writes to its log (and to
//!   `<data_dir>/setup-code`, which `sidflowd setup-code` prints) while no password is set.
//!   A visitor of the page (or a web page through DNS rebinding) cannot take the box.
//! * Password checks run on two threads of their own, at most two at a time (argon2 takes
//!   19 MiB each; on dedicated threads that memory is reused), with a short queue: past it
//!   a login is told to come back. A client's attempt is counted *before* the check, so
//!   parallel guesses get no more checks than the limit.
//! * A login returns an opaque token, sent back as an `HttpOnly; SameSite=Strict` cookie.
//!   Only its SHA-256 is stored. Each session has its own CSRF token, which every mutating
//!   request must echo in `X-CSRF-Token`. Changing the password ends every other session.
//! * Every admin action (logins included) is one line of `audit/admin-actions.jsonl`;
//!   repeated refusals from one client are written once per minute with a count, and the
//!   file is rotated at 8 MiB.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use store::{now_unix as now_secs, JsonlLog, Store, SETTINGS};

/// Admin sessions (key: digest of the cookie token).
pub const ADMIN_SESSIONS: store::Table = store::Table::new("admin_sessions");
pub const COOKIE: &str = "sidflow_admin";
const HASH_KEY: &str = "admin_password_hash";
/// Password checks at a time, and checks that may wait for one.
const CHECK_WORKERS: usize = 2;
const CHECK_QUEUE: usize = 8;
/// The audit trail is rotated (one old file kept) when it reaches this size.
const AUDIT_MAX_BYTES: u64 = 8 << 20;
/// Repeated refusals of one client are written once per this window.
const AUDIT_COALESCE: Duration = Duration::from_secs(60);

/// Where the audit trail is, below the state folder.
pub fn audit_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit/admin-actions.jsonl")
}

/// Where the one-time setup code is kept while no password is set.
pub fn setup_code_path(data_dir: &Path) -> PathBuf {
    data_dir.join("setup-code")
}

/// One line of the audit trail.
#[derive(Serialize)]
struct AuditLine<'a> {
    ts: String,
    who: &'a str,
    action: &'a str,
    detail: serde_json::Value,
    result: &'a str,
    /// How many identical refusals this line stands for (coalesced), when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    repeated: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct AdminSession {
    pub csrf: String,
    pub expires: u64,
    pub client: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many attempts from this client; try again after the duration.
    #[error("too many attempts")]
    Limited(Duration),
    /// Every password check is taken; try again in a moment.
    #[error("busy")]
    Busy,
    #[error("wrong password")]
    Wrong,
    #[error("wrong setup code")]
    WrongCode,
    #[error("no password is set yet")]
    NoPassword,
    #[error("a password is already set")]
    AlreadySet,
    #[error("the password is set in the configuration file or environment")]
    FromConfig,
    #[error("{0}")]
    Internal(String),
}

impl From<store::StoreError> for LoginError {
    fn from(e: store::StoreError) -> LoginError {
        LoginError::Internal(e.to_string())
    }
}

pub fn hash_password(pw: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Capacity of argon2's working memory, in 1 KiB blocks: above glibc's largest dynamic
/// mmap threshold (32 MiB on 64-bit), so the allocation is always a mapping of its own,
/// unmapped when dropped, and never raises the threshold. A 19 MiB buffer freed once made
/// glibc serve the next ones from an arena it kept (40 MB held after a login burst). Only
/// the pages argon2 touches (the hash's 19 MiB) count in RSS.
const ARGON2_MEM_CAPACITY_BLOCKS: usize = 33 * 1024;

/// Checks `pw` against a PHC string, with `mem` as argon2's working memory (grown to the
/// hash's size once, reused for a burst of checks, dropped by the caller afterwards).
fn verify_in(hash: &str, pw: &str, mem: &mut Vec<argon2::Block>) -> bool {
    let mut check = || -> Option<bool> {
        let h = PasswordHash::new(hash).ok()?;
        let params = argon2::Params::try_from(&h).ok()?;
        let algorithm = argon2::Algorithm::try_from(h.algorithm).ok()?;
        let version = argon2::Version::try_from(h.version.unwrap_or(0x13)).ok()?;
        let expected = h.hash?;
        let mut salt = [0u8; 64];
        let salt = h.salt?.decode_b64(&mut salt).ok()?;
        let blocks = params.block_count();
        if mem.capacity() < blocks {
            *mem = Vec::with_capacity(blocks.max(ARGON2_MEM_CAPACITY_BLOCKS));
        }
        if mem.len() < blocks {
            mem.resize(blocks, argon2::Block::default());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(pw.as_bytes(), salt, &mut out, &mut mem[..])
            .ok()?;
        // Output's comparison takes the same time whatever the bytes.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
fn verify(hash: &str, pw: &str) -> bool {
    verify_in(hash, pw, &mut Vec::new())
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

/// A new setup code: 8 characters of an alphabet without look-alikes, as `XXXX-XXXX`
/// (40 bits; guesses are rate-limited like logins).
fn new_setup_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    let c: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{}-{}", &c[..4], &c[4..])
}

/// The code as the operator may type it: case and separators do not matter.
fn normal_code(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A job for a password thread, given the thread's argon2 working memory.
type Job = Box<dyn FnOnce(&mut Vec<argon2::Block>) + Send>;

/// A kind of refusal in the audit trail: who, action, result.
type RefusalKey = (String, String, String);

/// Password checks on threads of their own, at most [`CHECK_WORKERS`] at a time.
struct Checker {
    tx: SyncSender<Job>,
}

impl Checker {
    fn start() -> Checker {
        let (tx, rx) = sync_channel::<Job>(CHECK_QUEUE);
        let rx: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(rx));
        for i in 0..CHECK_WORKERS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                            Ok(j) => j,
                            Err(_) => return,
                        };
                        // The working memory (19 MiB) serves a burst of checks and goes
                        // back to the system when the queue is empty (an allocation this
                        // large is its own mapping: freeing it unmaps it).
                        let mut mem = Vec::new();
                        job(&mut mem);
                        loop {
                            let next = rx.lock().unwrap_or_else(|p| p.into_inner()).try_recv();
                            match next {
                                Ok(job) => job(&mut mem),
                                Err(_) => break,
                            }
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password thread: {e}");
            }
        }
        Checker { tx }
    }

    /// Runs `f` on a password thread; `Busy` when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<argon2::Block>) -> T + Send + 'static,
    ) -> Result<T, LoginError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |mem| {
            let _ = tx.send(f(mem));
        });
        match self.tx.try_send(job) {
            Ok(()) => rx
                .await
                .map_err(|_| LoginError::Internal("password check".into())),
            Err(TrySendError::Full(_)) => Err(LoginError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(LoginError::Internal("no checker".into())),
        }
    }
}

pub struct Auth {
    db: Arc<Store>,
    /// The hash in force (configuration first, then the database).
    hash: RwLock<Option<String>>,
    from_config: bool,
    ttl: u64,
    attempts: u32,
    window: Duration,
    /// Attempts per client within the window (counted before each check).
    tries: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    checker: Checker,
    data_dir: PathBuf,
    audit: Option<JsonlLog>,
    /// Coalesced refusals: (who, action, result) -> (last written, suppressed since).
    refusals: Mutex<HashMap<RefusalKey, (Instant, u64)>>,
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
        let auth = Auth {
            db,
            hash: RwLock::new(hash),
            from_config,
            ttl: cfg.session_ttl_secs,
            attempts: cfg.login_attempts,
            window: Duration::from_secs(cfg.login_window_secs),
            tries: Mutex::new(HashMap::new()),
            checker: Checker::start(),
            data_dir: data_dir.to_path_buf(),
            audit: JsonlLog::open_rotating(&audit_path(data_dir), AUDIT_MAX_BYTES)
                .map_err(|e| tracing::error!("audit log: {e}"))
                .ok(),
            refusals: Mutex::new(HashMap::new()),
        };
        auth.announce_setup_code()?;
        Ok(auth)
    }

    /// While no password is set: makes sure a setup code exists and logs it; else removes it.
    fn announce_setup_code(&self) -> anyhow::Result<()> {
        let path = setup_code_path(&self.data_dir);
        if self.password_set() {
            let _ = std::fs::remove_file(&path);
            return Ok(());
        }
        let code = match self.setup_code() {
            Some(c) => c,
            None => {
                let code = new_setup_code();
                write_private(&path, &format!("{code}\n"))?;
                code
            }
        };
        tracing::warn!(
            "no operator password is set: open /admin and enter the admin setup code: {code} \
             (also printed by `sidflowd setup-code`)"
        );
        Ok(())
    }

    /// The one-time setup code, while no password is set.
    pub fn setup_code(&self) -> Option<String> {
        if self.password_set() {
            return None;
        }
        let text = std::fs::read_to_string(setup_code_path(&self.data_dir)).ok()?;
        let code = text.trim().to_string();
        (!code.is_empty()).then_some(code)
    }

    pub fn password_set(&self) -> bool {
        self.hash.read().map(|h| h.is_some()).unwrap_or(true)
    }

    pub fn password_from_config(&self) -> bool {
        self.from_config
    }

    /// Counts an attempt of `ip` now; `Limited` when it is over the limit.
    fn count_attempt(&self, ip: IpAddr) -> Result<(), LoginError> {
        let now = Instant::now();
        let mut map = self.tries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, l| l.iter().any(|t| now.duration_since(*t) < self.window));
        }
        let list = map.entry(ip).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.attempts as usize {
            let oldest = list.first().copied().unwrap_or(now);
            return Err(LoginError::Limited(
                self.window.saturating_sub(now.duration_since(oldest)),
            ));
        }
        list.push(now);
        Ok(())
    }

    fn forget_attempts(&self, ip: IpAddr) {
        self.tries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }

    fn current_hash(&self) -> Result<String, LoginError> {
        self.hash
            .read()
            .map_err(|_| LoginError::Internal("lock".into()))?
            .clone()
            .ok_or(LoginError::NoPassword)
    }

    fn new_session(&self, ip: IpAddr) -> Result<(String, AdminSession), LoginError> {
        let tok = token();
        let session = AdminSession {
            csrf: token(),
            expires: now_secs() + self.ttl,
            client: ip.to_string(),
        };
        self.db.put(ADMIN_SESSIONS, &digest(&tok), &session)?;
        Ok((tok, session))
    }

    /// First run: with the setup code, sets the password and logs the operator in.
    pub async fn setup(
        &self,
        ip: IpAddr,
        code: &str,
        pw: String,
    ) -> Result<(String, AdminSession), LoginError> {
        if self.password_set() {
            return Err(LoginError::AlreadySet);
        }
        self.count_attempt(ip)?;
        let want = self
            .setup_code()
            .map(|c| normal_code(&c))
            .unwrap_or_default();
        let given = normal_code(code);
        // Compared as digests: the time taken says nothing about the code.
        if want.is_empty() || Sha256::digest(want.as_bytes()) != Sha256::digest(given.as_bytes()) {
            return Err(LoginError::WrongCode);
        }
        let hash = self
            .checker
            .run(move |_| hash_password(&pw))
            .await?
            .map_err(|e| LoginError::Internal(format!("{e:#}")))?;
        {
            let mut guard = self
                .hash
                .write()
                .map_err(|_| LoginError::Internal("lock".into()))?;
            if guard.is_some() {
                return Err(LoginError::AlreadySet);
            }
            self.db.put(SETTINGS, HASH_KEY, &hash)?;
            *guard = Some(hash);
        }
        let _ = std::fs::remove_file(setup_code_path(&self.data_dir));
        self.forget_attempts(ip);
        self.new_session(ip)
    }

    /// Checks the password; on success creates a session and returns `(token, session)`.
    pub async fn login(
        &self,
        ip: IpAddr,
        pw: String,
    ) -> Result<(String, AdminSession), LoginError> {
        let hash = self.current_hash()?;
        self.count_attempt(ip)?;
        if !self.checker.run(move |m| verify_in(&hash, &pw, m)).await? {
            return Err(LoginError::Wrong);
        }
        self.forget_attempts(ip);
        self.new_session(ip)
    }

    /// Changes the stored password after checking the current one, and ends every other
    /// session (`keep` is the cookie token of the session that asked).
    pub async fn change_password(
        &self,
        ip: IpAddr,
        current: String,
        new: String,
        keep: &str,
    ) -> Result<(), LoginError> {
        if self.from_config {
            return Err(LoginError::FromConfig);
        }
        let hash = self.current_hash()?;
        self.count_attempt(ip)?;
        let new_hash = self
            .checker
            .run(move |m| verify_in(&hash, &current, m).then(|| hash_password(&new)))
            .await?
            .ok_or(LoginError::Wrong)?
            .map_err(|e| LoginError::Internal(format!("{e:#}")))?;
        self.forget_attempts(ip);
        self.db.put(SETTINGS, HASH_KEY, &new_hash)?;
        if let Ok(mut g) = self.hash.write() {
            *g = Some(new_hash);
        }
        let kept = digest(keep);
        for (k, _) in self.db.list::<AdminSession>(ADMIN_SESSIONS, "")? {
            if k != kept {
                self.db.delete(ADMIN_SESSIONS, &k)?;
            }
        }
        Ok(())
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

    /// Drops expired sessions and forgotten refusals (called now and then).
    pub fn sweep(&self) {
        let now = now_secs();
        if let Ok(all) = self.db.list::<AdminSession>(ADMIN_SESSIONS, "") {
            for (k, s) in all {
                if s.expires <= now {
                    let _ = self.db.delete(ADMIN_SESSIONS, &k);
                }
            }
        }
        // Refusals held back for a minute are written now, with their count.
        let due: Vec<(RefusalKey, u64)> = {
            let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            let due = r
                .iter_mut()
                .filter(|(_, (t, n))| *n > 0 && t.elapsed() >= AUDIT_COALESCE)
                .map(|(k, (t, n))| {
                    let d = (k.clone(), *n);
                    *t = Instant::now();
                    *n = 0;
                    d
                })
                .collect();
            r.retain(|_, (t, n)| *n > 0 || t.elapsed() < AUDIT_COALESCE);
            due
        };
        for ((who, action, result), n) in due {
            self.write_audit(&who, &action, serde_json::json!({}), &result, Some(n));
        }
    }

    pub fn cookie_max_age(&self) -> u64 {
        self.ttl
    }

    /// One audit line: who (client address), what, detail, result, when. A refusal that
    /// repeats (same client, action and result) is written once per minute, with the count
    /// of those it stands for.
    pub fn audit(&self, who: &str, action: &str, detail: serde_json::Value, result: &str) {
        let mut repeated = None;
        if result.starts_with("refused") || result.starts_with("failed") {
            let key = (who.to_string(), action.to_string(), result.to_string());
            let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if r.len() > 10_000 {
                r.retain(|_, (t, _)| t.elapsed() < AUDIT_COALESCE);
            }
            match r.get_mut(&key) {
                Some((t, n)) if t.elapsed() < AUDIT_COALESCE => {
                    *n += 1;
                    return;
                }
                Some((t, n)) => {
                    repeated = (*n > 0).then_some(*n + 1);
                    *t = Instant::now();
                    *n = 0;
                }
                None => {
                    r.insert(key, (Instant::now(), 0));
                }
            }
        }
        self.write_audit(who, action, detail, result, repeated);
    }

    fn write_audit(
        &self,
        who: &str,
        action: &str,
        detail: serde_json::Value,
        result: &str,
        repeated: Option<u64>,
    ) {
        let rec = AuditLine {
            ts: crate::events::now_rfc3339(),
            who,
            action,
            detail,
            result,
            repeated,
        };
        if let Some(Err(e)) = self.audit.as_ref().map(|l| l.append(&rec)) {
            tracing::error!("audit log: {e}");
        }
    }
}

/// Writes a file only its owner can read, under a temporary name renamed into place.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
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

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn setup_needs_the_code_then_login_and_limits() {
        let cfg = crate::config::Admin {
            login_attempts: 3,
            ..Default::default()
        };
        let (a, dir) = auth("setup", cfg);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        assert!(!a.password_set());
        let code = a
            .setup_code()
            .expect("a setup code while no password is set");
        assert_eq!(code.len(), 9);
        let on_disk = std::fs::read_to_string(setup_code_path(&dir)).unwrap();
        assert_eq!(on_disk.trim(), code);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(setup_code_path(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads the code");
        assert!(matches!(
            block(a.login(ip, "x".into())),
            Err(LoginError::NoPassword)
        ));
        assert!(matches!(
            block(a.setup(ip, "AAAA-AAAA", "secret-pw".into())),
            Err(LoginError::WrongCode)
        ));
        // Case and separators do not matter.
        let typed = code.to_lowercase().replace('-', " ");
        let (tok, s) = block(a.setup(ip, &typed, "secret-pw".into())).unwrap();
        assert_eq!(a.session(&tok).unwrap().csrf, s.csrf);
        assert!(a.setup_code().is_none());
        assert!(!setup_code_path(&dir).exists(), "the code is gone");
        assert!(matches!(
            block(a.setup(ip, &code, "other-pw".into())),
            Err(LoginError::AlreadySet)
        ));
        a.logout(&tok);
        assert!(a.session(&tok).is_none());
        for _ in 0..3 {
            assert!(matches!(
                block(a.login(ip, "bad".into())),
                Err(LoginError::Wrong)
            ));
        }
        // Now limited even with the right password.
        assert!(matches!(
            block(a.login(ip, "secret-pw".into())),
            Err(LoginError::Limited(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_password_change_needs_the_current_one_and_ends_other_sessions() {
        let (a, dir) = auth("change", crate::config::Admin::default());
        let ip: IpAddr = "127.0.0.7".parse().unwrap();
        let code = a.setup_code().unwrap();
        let (mine, _) = block(a.setup(ip, &code, "first-pw".into())).unwrap();
        let (other, _) = block(a.login(ip, "first-pw".into())).unwrap();
        assert!(matches!(
            block(a.change_password(ip, "wrong".into(), "second-pw".into(), &mine)),
            Err(LoginError::Wrong)
        ));
        assert!(a.session(&other).is_some(), "a refused change ends nothing");
        block(a.change_password(ip, "first-pw".into(), "second-pw".into(), &mine)).unwrap();
        assert!(
            a.session(&mine).is_some(),
            "the session that changed it stays"
        );
        assert!(a.session(&other).is_none(), "every other session ends");
        assert!(block(a.login(ip, "second-pw".into())).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn password_from_config_needs_no_code_and_cannot_be_changed_in_ui() {
        let cfg = crate::config::Admin {
            password: "from-env".into(),
            ..Default::default()
        };
        let (a, dir) = auth("cfg", cfg);
        assert!(a.password_set());
        assert!(a.setup_code().is_none());
        let ip: IpAddr = "::1".parse().unwrap();
        let (tok, _) = block(a.login(ip, "from-env".into())).unwrap();
        assert!(matches!(
            block(a.change_password(ip, "from-env".into(), "x-new-pw".into(), &tok)),
            Err(LoginError::FromConfig)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_reused_memory_check_agrees_with_argon2() {
        let phc = hash_password("the-right-one").unwrap();
        let h = PasswordHash::new(&phc).unwrap();
        use argon2::password_hash::PasswordVerifier;
        assert!(Argon2::default()
            .verify_password(b"the-right-one", &h)
            .is_ok());
        let mut mem = Vec::new();
        assert!(verify_in(&phc, "the-right-one", &mut mem));
        assert!(!verify_in(&phc, "the-wrong-one", &mut mem));
        assert!(!verify(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$nonsense",
            "x"
        ));
        // A hash with other parameters (as an operator's password_hash may have).
        let small = argon2::Params::new(64, 2, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let other = Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, small)
            .hash_password(b"pw-other-params", &salt)
            .unwrap()
            .to_string();
        assert!(verify_in(&other, "pw-other-params", &mut mem));
        assert!(!verify_in(&other, "pw-other-param", &mut mem));
    }

    #[test]
    fn repeated_refusals_are_written_once_with_a_count() {
        let (a, dir) = auth("audit", crate::config::Admin::default());
        for _ in 0..50 {
            a.audit(
                "10.0.0.1",
                "login",
                serde_json::json!({}),
                "failed: wrong password",
            );
        }
        a.audit(
            "10.0.0.2",
            "login",
            serde_json::json!({}),
            "failed: wrong password",
        );
        a.audit("10.0.0.1", "test", serde_json::json!({}), "ok");
        let log = std::fs::read_to_string(audit_path(&dir)).unwrap();
        assert_eq!(log.lines().count(), 3, "{log}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Sessions, CSRF tokens and the login rate limiter.
//!
//! A session is a random 256-bit token in the `kuzet_session` cookie (`HttpOnly;
//! SameSite=Strict; Path=/`, plus `Secure` when configured); the database keeps only its
//! SHA-256, so a leaked `sessions` table opens no session. Each login makes a new token and
//! deletes the one the browser sent (no session fixation). Each session has its own CSRF token,
//! checked on every POST (form field `csrf` or header `X-CSRF-Token`). Before login, the login
//! form is protected by a double-submit token in the `kuzet_login` cookie.
//!
//! Login rate limiting is in memory, per process: at most `login_max_failures` failed attempts
//! per (client IP, lower-cased user name) within `login_window`; further attempts are refused
//! with 429 until the window has passed since the first counted failure. A success clears the
//! counter. The client IP is the TCP peer (`X-Forwarded-For` is not trusted); behind a reverse
//! proxy all clients share the proxy's address, so the limit becomes per user name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::http::HeaderMap;
use kuzet_storage::{Db, now_ms};
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::ReporterError;
use crate::users::{Role, User};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "kuzet_session";
/// Name of the pre-login CSRF cookie.
pub const LOGIN_COOKIE: &str = "kuzet_login";

/// A logged-in user's session, as handlers see it.
#[derive(Clone)]
pub struct Session {
    /// The user.
    pub user: User,
    /// This session's CSRF token (put into every form).
    pub csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.name)
            .field("csrf", &"***")
            .finish()
    }
}

impl Session {
    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }
}

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 hex of a token (what the database stores).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time string comparison.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value for `name=value` with the session attributes.
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    match max_age {
        Some(d) => c.push_str(&format!("; Max-Age={}", d.as_secs())),
        None => c.push_str("; Max-Age=0"),
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Creates a session for `user`; returns (cookie token, CSRF token).
pub async fn create(db: &Db, user: i64, ttl: Duration) -> Result<(String, String), ReporterError> {
    let token = random_token();
    let csrf = random_token();
    let now = now_ms();
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(user)
    .bind(&csrf)
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(db.pool())
    .await?;
    Ok((token, csrf))
}

/// The live session for a cookie token (expired sessions and disabled users yield `None`).
pub async fn load(db: &Db, token: &str) -> Result<Option<Session>, ReporterError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT s.csrf_token, u.id, u.name, u.role, u.disabled, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
    )
    .bind(token_hash(token))
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let role: String = r.try_get("role")?;
    Ok(Some(Session {
        csrf: r.try_get("csrf_token")?,
        user: User {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            role: role.parse()?,
            disabled: false,
            created_at: r.try_get("created_at")?,
        },
    }))
}

/// Ends the session with this cookie token (no-op when unknown).
pub async fn delete(db: &Db, token: &str) -> Result<(), ReporterError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Most (IP, name) keys kept before stale ones are swept.
const MAX_KEYS: usize = 100_000;

/// Counts failed logins per (client IP, user name); see the module docs.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    map: Mutex<HashMap<(String, String), (u32, Instant)>>,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` failures per key within `window`.
    pub fn new(max_failures: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            max_failures,
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn key(ip: &str, name: &str) -> (String, String) {
        (ip.to_string(), name.to_lowercase())
    }

    /// May this key try to log in now?
    pub fn allowed(&self, ip: &str, name: &str) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&Self::key(ip, name)) {
            Some((n, since)) => *n < self.max_failures || since.elapsed() >= self.window,
            None => true,
        }
    }

    /// Counts a failed attempt.
    pub fn failure(&self, ip: &str, name: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            let w = self.window;
            map.retain(|_, (_, since)| since.elapsed() < w);
        }
        let e = map
            .entry(Self::key(ip, name))
            .or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        e.0 = e.0.saturating_add(1);
    }

    /// Clears the key after a successful login.
    pub fn success(&self, ip: &str, name: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(ip, name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_failures_per_key_and_success_clears() {
        let l = LoginLimiter::new(3, Duration::from_secs(600));
        for _ in 0..3 {
            assert!(l.allowed("1.2.3.4", "Aigerim"));
            l.failure("1.2.3.4", "Aigerim");
        }
        assert!(
            !l.allowed("1.2.3.4", "aigerim"),
            "names compare lower-cased"
        );
        assert!(
            l.allowed("1.2.3.5", "aigerim"),
            "other IPs are separate keys"
        );
        assert!(l.allowed("1.2.3.4", "bolat"));
        l.success("1.2.3.4", "aigerim");
        assert!(l.allowed("1.2.3.4", "aigerim"));
        let short = LoginLimiter::new(1, Duration::from_millis(0));
        short.failure("ip", "x");
        assert!(short.allowed("ip", "x"), "window over");
    }

    #[test]
    fn cookies_tokens_and_comparison() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; kuzet_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "zzz"), None);
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let c = set_cookie("k", "v", Some(Duration::from_secs(60)), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
    }
}

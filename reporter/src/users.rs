//! Accounts and roles. Passwords are stored only as argon2id PHC strings.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use crate::ReporterError;
use crate::audit;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// What a user may do; enforced on every route of the web UI and API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, sees the audit log, and can do what analysts do.
    Admin,
    /// Reviews cases.
    Analyst,
    /// Police liaison: reads confirmed cases and weekly reports.
    Liaison,
    /// Uploads street photos and sees only their own reports.
    Volunteer,
}

impl Role {
    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Liaison => "liaison",
            Role::Volunteer => "volunteer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ReporterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "liaison" => Ok(Role::Liaison),
            "volunteer" => Ok(Role::Volunteer),
            other => Err(ReporterError::UnknownRole(other.to_string())),
        }
    }
}

/// A user as listed (never with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

fn check_name(name: &str) -> Result<(), ReporterError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ReporterError::InvalidUserName(name.to_string()))
    }
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, ReporterError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ReporterError::Hash(e.to_string()))
}

/// Checks a password against a stored hash; any malformed hash is simply a mismatch.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a user; `actor` is recorded in the audit log.
pub async fn add(
    db: &Db,
    actor: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<User, ReporterError> {
    check_name(name)?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ReporterError::WeakPassword {
            min: MIN_PASSWORD_LEN,
        });
    }
    let hash = hash_password(password)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if exists > 0 {
        return Err(ReporterError::UserExists(name.to_string()));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, role, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(&hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record_in(
        &mut tx,
        actor,
        "user.add",
        &format!("user:{name}"),
        &serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(User {
        id,
        name: name.to_string(),
        role,
        disabled: false,
        created_at: now,
    })
}

/// Every user, by name.
pub async fn list(db: &Db) -> Result<Vec<User>, ReporterError> {
    let rows = sqlx::query("SELECT id, name, role, disabled, created_at FROM users ORDER BY name")
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(|r| user_from_row(&r)).collect()
}

/// Checks credentials; returns the user when the password matches and the account is enabled.
/// Always runs one argon2 verification, so timing does not reveal whether the name exists.
pub async fn authenticate(
    db: &Db,
    name: &str,
    password: &str,
) -> Result<Option<User>, ReporterError> {
    let row = sqlx::query(
        "SELECT id, name, role, disabled, created_at, password_hash FROM users WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    // A real hash of a throw-away password: verifying against it costs what a real check costs.
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("no-such-user-password").unwrap_or_default());
    match row {
        Some(r) => {
            let hash: String = r.try_get("password_hash")?;
            let user = user_from_row(&r)?;
            Ok((verify_password(password, &hash) && !user.disabled).then_some(user))
        }
        None => {
            let _ = verify_password(password, &DUMMY);
            Ok(None)
        }
    }
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, ReporterError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: role.parse()?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

/// Disables (or re-enables) a user; their sessions stop working at once. Audited.
pub async fn set_disabled(
    db: &Db,
    actor: &str,
    id: i64,
    disabled: bool,
) -> Result<(), ReporterError> {
    let mut tx = db.begin_write().await?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(name) = name else {
        return Err(ReporterError::NotFound { what: "user", id });
    };
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record_in(
        &mut tx,
        actor,
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        &format!("user:{name}"),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

//! Storage: one connection type over SQLite and PostgreSQL, the migrations, and test databases.
//!
//! # Layout
//! - [`Db`]: a connection pool over either backend (sqlx's `Any` driver), chosen by URL scheme.
//!   SQL is written once with `$1`-style parameters, which both backends accept; where the
//!   dialects differ (row locking, upserts), callers branch on [`Db::backend`].
//! - [`migrate`]: the embedded migrations (`migrations/sqlite/`, `migrations/postgres/`, the same
//!   schema in two dialects) and their status.
//! - [`testing`]: throw-away databases for tests — a temporary SQLite file, or a private schema on
//!   the PostgreSQL server named by `KUZET_TEST_DATABASE_URL`.
//!
//! This crate owns `_sqlx_migrations` and `job_runs` ([`jobs`]); each other crate writes
//! only its own tables (see `ARCHITECTURE.md`).
#![deny(missing_docs)]

mod db;
mod error;
pub mod jobs;
pub mod migrate;
pub mod testing;

pub use db::{Backend, Db, DbOptions, mask_url, now_ms};
pub use error::StorageError;
pub use sqlx;

//! The reporter: cases, review workflow, audit log, users, web UI and weekly reports.
//!
//! # Layout
//! - [`users`]: accounts and roles (argon2 password hashes); table `users`.
//! - [`audit`]: the append-only audit log; table `audit_log` (updates and deletes are refused by
//!   database triggers, so no code path can rewrite history).
//!
//! This crate is the only writer of `users`, `sessions`, `cases`, `case_pages`, `reviews`,
//! `audit_log`, `reports` and `report_deliveries`.
#![deny(missing_docs)]

pub mod audit;
mod error;
pub mod report;
pub mod users;

pub use error::ReporterError;

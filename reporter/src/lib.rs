//! The reporter: cases, review workflow, audit log, users, web UI and weekly reports.
//!
//! # Layout
//! - [`users`]: accounts and roles (argon2 password hashes); table `users`.
//! - [`audit`]: the append-only audit log; table `audit_log` (updates and deletes are refused by
//!   database triggers, so no code path can rewrite history).
//! - [`cases`]: grouping flagged pages into cases, the review state machine, queue and case
//!   queries; tables `cases`, `case_pages`, `case_apart`, `reviews`.
//! - [`takedown`]: re-checks of forwarded cases' URLs (watch list, transitions with evidence),
//!   reappearance, the weekly takedown figures; tables `watch_targets`, `watch_events`.
//! - [`web`]: the analyst web UI and JSON API (axum): sessions, CSRF, roles, rate limiting,
//!   security headers, re-encoded images; table `sessions`.
//! - [`volunteer`]: photo reports from the field, their leads and the clean-up list; tables
//!   `volunteer_reports`, `volunteer_photos`, `photo_leads`, `cleanup_tasks`.
//!
//! This crate is the only writer of `users`, `sessions`, `cases`, `case_pages`, `case_apart`,
//! `reviews`, `audit_log`, `reports`, `report_deliveries`, `watch_targets` and `watch_events`.
#![deny(missing_docs)]

pub mod audit;
pub mod cases;
mod error;
pub mod report;
pub mod takedown;
pub mod users;
pub mod volunteer;
pub mod web;

pub use error::ReporterError;

//! The crawler: frontier, politeness, fetching, parsing and evidence capture.
//!
//! # Layout
//! - [`frontier`]: the shared crawl queue in the database (seen set, leases, politeness, retries).
//! - [`store`]: what a crawl writes (runs, fetch log, pages, images, QR codes, verdicts,
//!   indicators), each fetch committed in one transaction.
#![deny(missing_docs)]

pub mod frontier;
pub mod store;

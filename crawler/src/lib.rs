//! The crawler: frontier, politeness, fetching, parsing, source adapters and evidence capture.
//!
//! # Layout
//! - [`frontier`]: the shared crawl queue in the database (seen set, leases, politeness, retries).
//! - [`ocr_runner`]: the OCR engine (Tesseract) in a separate process with time and memory
//!   limits, driving [`kuzet_classifier::ocr::Session`].
//! - [`store`]: what a crawl writes (runs, fetch log, pages, images, QR codes, verdicts,
//!   indicators), each fetch committed in one transaction.
//! - [`crawl`]: the crawl loop tying frontier, fetching, parsing, scoring, evidence and store.
//! - [`url`]: canonical URLs, the frontier key (`url_key`) and crawler-trap heuristics.
//! - [`scoring`]: [`scoring::ClassifierScorer`], the classifier's rule set as the crawl's page scorer.
//! - [`scope`]: `--scope` entries (host suffixes, address ranges), decided without DNS.
//! - [`guard`]: the SSRF guard — address classes, the guarded DNS resolver, onion detection.
//! - [`fetch`]: [`fetch::Fetcher`] — timeouts, manual redirects re-checked per hop, capped bodies and
//!   decompression, the raw exchange for evidence; failures are [`FetchError`]s with stable kinds.
//! - [`robots`]: robots.txt per host, cached with a TTL, crawl-delay.
//! - [`politeness`]: per-host minimum delay and concurrency (in memory).
//! - [`parse`]: one HTML page → links (with anchor text), images and visible text.
//! - [`telegram`]: the `t.me/s/<channel>` preview adapter: posts, pagination, leads.
//! - [`warc`]: WARC 1.1 writer (request, response, metadata records) and verifier.
//! - [`photos`]: photo folders → EXIF GPS position and time, image bytes to a decoder (QR).
//! - [`uploads`]: photos uploaded by volunteers → images, QR codes and frontier entries.
//! - [`error`]: error types.
//! - [`recheck`]: takedown re-checks — one watched URL fetched again (scope, guard, robots.txt,
//!   politeness) and classified as live, changed, blocked (configured signatures), gone-like or error.
#![deny(missing_docs)]

pub mod crawl;
pub mod error;
pub mod fetch;
pub mod frontier;
pub mod guard;
pub mod ocr_runner;
pub mod parse;
pub mod photos;
pub mod politeness;
pub mod recheck;
pub mod robots;
pub mod scope;
pub mod scoring;
pub mod store;
pub mod telegram;
pub mod uploads;
pub mod url;
pub mod warc;

pub use error::{FetchError, Trap, UrlError};
pub use fetch::{FetchConfig, FetchLimits, FetchOutcome, Fetcher};
pub use scope::{Scope, ScopeEntry};

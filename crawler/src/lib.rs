//! The crawler: frontier, politeness, fetching, parsing and evidence capture.
//!
//! # Layout
//! - [`frontier`]: the shared crawl queue in the database (seen set, leases, politeness, retries).
//! - [`ocr_runner`]: the OCR engine (Tesseract) in a separate process with time and memory
//!   limits, driving [`kuzet_classifier::ocr::Session`].
//! - [`store`]: what a crawl writes (runs, fetch log, pages, images, QR codes, verdicts,
//!   indicators), each fetch committed in one transaction.
#![deny(missing_docs)]

pub mod frontier;
pub mod ocr_runner;
pub mod store;

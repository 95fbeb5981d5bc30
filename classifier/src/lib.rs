//! The classifier: pure functions from bytes to verdicts. No IO, no database, no clock.
//!
//! # Layout
//! (modules are added as they are built; each names its job)
#![deny(missing_docs)]

pub mod qr;

//! The reporter: cases, review workflow, audit log, users, web UI and weekly reports.
#![deny(missing_docs)]

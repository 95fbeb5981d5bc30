//! End-to-end tests: the real `kuzet` binary against real local servers and databases.
//! One test binary with modules (ripgrep's habit): it links once.

mod classify;
mod cli;
mod crawl;
mod demo;
mod ocr;
mod report;
mod serve;
mod util;
mod volunteer;

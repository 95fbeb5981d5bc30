//! End-to-end tests: the real `kuzet` binary against real local servers and databases.
//! One test binary with modules (ripgrep's habit): it links once.

mod classify;
mod cli;
mod crawl;
mod crawl_stats;
mod demo;
mod fault;
mod fuzz_regressions;
mod hostile;
#[path = "../support/http_request.rs"]
mod http_request;
mod ocr;
mod qr;
mod report;
mod serve;
mod takedown;
mod util;
mod volunteer;

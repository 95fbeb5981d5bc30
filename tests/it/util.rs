//! Helpers to run the binary under test.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `kuzet` binary built for this test run, with a clean environment for configuration.
pub fn kuzet(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kuzet"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("KUZET_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c
}

/// Runs a command, feeding `stdin`, and returns its output.
pub fn run(mut c: impl std::borrow::BorrowMut<Command>, stdin: &str) -> Output {
    let c = c.borrow_mut();
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn kuzet");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for kuzet")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

//! `kuzet serve`: the UI answers `/healthz`, scheduled jobs run (a missed run once at start), and
//! SIGTERM shuts it down cleanly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::kuzet;

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn serve_runs_scheduled_jobs_answers_healthz_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("k.toml"),
        "[report]\nout_dir = \"reports\"\n\n[[schedule]]\nname = \"weekly\"\n\
         cron = \"0 6 * * 1\"\njob = \"weekly_report\"\n",
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let child = kuzet(dir.path())
        .args(["--config", "k.toml", "--db", &db, "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server if an assertion fails before the clean shutdown below.
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
    let reap = Reap(child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut health = None;
    while Instant::now() < deadline {
        if let Some(r) = get(port, "/healthz") {
            health = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = health.expect("serve never answered /healthz");
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    assert!(health.ends_with("ok\n"), "{health}");
    // The weekly job never ran, so its last scheduled time was missed: it runs once at start,
    // and its duration shows in /metrics once it has finished.
    let job_line = "kuzet_job_last_duration_ms{job=\"weekly\"}";
    let mut metrics = String::new();
    while Instant::now() < deadline {
        metrics = get(port, "/metrics").unwrap_or_default();
        if metrics.contains(job_line) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(metrics.contains(job_line), "{metrics}");
    let made = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("kuzet-report-"));
    assert!(made, "the missed weekly report was not generated");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    std::mem::forget(reap);
    assert!(
        out.status.success(),
        "serve did not stop cleanly: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

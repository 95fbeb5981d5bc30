//! `kuzet crawl` and `kuzet evidence verify` against the Telegram fixture server on loopback.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{kuzet, run, stderr, stdout};

fn shared_fixture() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Ok(dir) = std::env::var("KUZET_SHARED") {
        return PathBuf::from(dir).join("corpus/telegram-dev/serve.py");
    }
    for up in manifest.ancestors().take(3) {
        let cand = up.join("shared/corpus/telegram-dev/serve.py");
        if cand.exists() {
            return cand;
        }
    }
    PathBuf::from("/work/shared/corpus/telegram-dev/serve.py")
}

pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_fixture() -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .arg(shared_fixture())
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 serve.py");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (Server(child), port)
}

#[test]
fn crawl_a_channel_keep_evidence_and_verify_it() {
    let (_server, port) = start_fixture();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seeds.txt"),
        "# a channel\n@aqbarys_store24\n",
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}/s/");
    let crawl = |extra: &[&str]| {
        let mut c = kuzet(dir.path());
        c.args([
            "--db",
            "sqlite://k.db",
            "--format",
            "json",
            "crawl",
            "--seeds",
            "seeds.txt",
        ])
        .args([
            "--telegram-base",
            &base,
            "--scope",
            "127.0.0.0/8",
            "--allow-private-addresses",
        ])
        .args([
            "--impolite-for",
            "127.0.0.0/8",
            "--evidence",
            "all",
            "--max-depth",
            "0",
        ])
        .args(extra);
        run(c, "")
    };
    let out = crawl(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    // Three windows of the channel, followed through `before` links.
    assert_eq!(line["summary"]["pages"], 3, "{line}");
    // A second run resumes: nothing left, nothing fetched again.
    let again = crawl(&[]);
    let line: serde_json::Value = serde_json::from_str(stdout(&again).trim()).unwrap();
    assert_eq!(line["summary"]["pages"], 0, "{line}");

    let verify = run(
        kuzet(dir.path()).args([
            "--db",
            "sqlite://k.db",
            "--format",
            "json",
            "evidence",
            "verify",
            "evidence",
        ]),
        "",
    );
    assert!(verify.status.success(), "{}", stdout(&verify));
    let report: serde_json::Value =
        serde_json::from_str(stdout(&verify).lines().next().unwrap()).unwrap();
    assert_eq!(report["records"], 9);
    assert_eq!(report["mismatches"].as_array().map(Vec::len), Some(0));
    // Tamper with one byte: verify reports it and exits 1.
    let file = PathBuf::from(report["path"].as_str().unwrap());
    let file = if file.is_absolute() {
        file
    } else {
        dir.path().join(file)
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(5).position(|w| w == b"tgme_").unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let verify = run(
        kuzet(dir.path()).args(["--db", "sqlite://k.db", "evidence", "verify", "evidence"]),
        "",
    );
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        stdout(&verify).contains("WARC-Block-Digest"),
        "{}",
        stdout(&verify)
    );

    // A bad seed line is a usage error.
    std::fs::write(dir.path().join("bad.txt"), "not a seed\n").unwrap();
    let bad = run(
        kuzet(dir.path()).args(["--db", "sqlite://k.db", "crawl", "--seeds", "bad.txt"]),
        "",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

//! `kuzet crawl` over the demo web's hostile host (127.0.0.6): the run ends within its limits,
//! every failure is recorded by kind, and the process's peak memory stays under the bound stated
//! in SECURITY.md.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::util::{kuzet, run, stderr, stdout};

/// Peak resident memory allowed for a crawl of the hostile host (SECURITY.md, "Memory bound").
const PEAK_RSS_BOUND_KIB: u64 = 256 * 1024;

struct Web(Child);

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kuzet demo --web-only` on a free port; returns the server and its port.
fn demo_web(dir: &std::path::Path) -> (Web, u16) {
    let mut child = kuzet(dir)
        .args(["--format", "json", "demo", "--web-only", "--web-port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kuzet demo --web-only");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("demo web line");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect(&line);
    let url = v["demo_web"].as_str().expect("demo_web").to_string();
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    (Web(child), port)
}

#[test]
fn hostile_host_crawl_ends_records_failures_by_kind_and_stays_under_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (_web, port) = demo_web(dir.path());
    let host = format!("http://127.0.0.6:{port}");
    std::fs::write(dir.path().join("seeds.txt"), format!("{host}/\n")).unwrap();
    let out = run(
        kuzet(dir.path()).args([
            "--db",
            "sqlite://k.db",
            "--format",
            "json",
            "crawl",
            "--seeds",
            "seeds.txt",
            "--scope",
            "127.0.0.0/8",
            "--allow-private-addresses",
            "--impolite-for",
            "127.0.0.0/8",
            "--total-timeout-ms",
            "3000",
            "--max-depth",
            "2",
            "--evidence",
            "all",
        ]),
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    eprintln!("hostile crawl: {line}");
    assert_eq!(line["summary"]["interrupted"], false, "{line}");

    // Each hostile URL ended with its own failure kind, in fetch_log.
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kinds: BTreeMap<String, String> = rt.block_on(async {
        let db = kuzet_storage::Db::connect(&db, &Default::default())
            .await
            .unwrap();
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT url, error_kind FROM fetch_log")
                .fetch_all(db.pool())
                .await
                .unwrap();
        rows.into_iter()
            .map(|(u, k)| (u, k.unwrap_or_else(|| "ok".into())))
            .collect()
    });
    let kind = |path: &str| {
        kinds
            .iter()
            .find(|(u, _)| u.ends_with(path))
            .map(|(_, k)| k.as_str())
            .unwrap_or("not fetched")
    };
    let expect: &[(&str, &[&str])] = &[
        ("/slow.html", &["timeout"]),
        ("/loop/a", &["redirect_loop"]),
        ("/go-private", &["out_of_scope"]),
        ("/bomb.html", &["too_large"]),
        ("/brotli-bomb.html", &["too_large"]),
        ("/huge.html", &["too_large"]),
        ("/endless.html", &["too_large"]),
        ("/oops", &["http_status"]),
        ("127.0.0.6:1/closed.html", &["connect"]),
        ("/tls.html", &["connect", "protocol"]),
        ("/deep.html", &["ok"]),
        ("/links.html", &["ok"]),
        ("/broken-charset.html", &["ok"]),
        ("/pixel-bomb.png", &["ok"]),
        ("/truncated.jpg", &["ok"]),
    ];
    for (path, want) in expect {
        let got = kind(path);
        assert!(
            want.contains(&got),
            "{path}: {got}, want {want:?}; all: {kinds:#?}"
        );
    }
    // The link flood is one URL once fragments are dropped; the calendar trap stops at the depth cap.
    assert_eq!(
        kinds.keys().filter(|u| u.contains("/links.html")).count(),
        1
    );
    assert!(kinds.keys().filter(|u| u.contains("/calendar/")).count() <= 3);

    let peak = line["peak_rss_kib"]
        .as_u64()
        .expect("peak_rss_kib on Linux");
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB over the {PEAK_RSS_BOUND_KIB} KiB bound"
    );
}

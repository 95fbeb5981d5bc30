//! Re-check benchmark: `kuzet cases recheck` (the real binary, a child process) over N watched
//! URLs spread over H hosts on 127.0.1.x, served by this process. Reports the child's wall time
//! and peak RSS (VmHWM, polled), and, measured at the server, the most requests in flight to one
//! host and the shortest interval between two request starts on one host. Two sizes in one run:
//! the baseline (default 1,000 URLs) and the measured size (default 10,000), with their ratios.
//!
//! ```text
//! cargo bench --bench recheck
//! KUZET_BENCH_URLS=10000 KUZET_BENCH_BASE_URLS=1000 KUZET_BENCH_HOSTS=100 \
//!     KUZET_BENCH_DELAY_MS=20 cargo bench --bench recheck
//! ```
//! Politeness is the `[crawl]` one (`min_delay_ms`, `per_host_concurrency = 1`, robots.txt read);
//! `[takedown] concurrency = 32` checks run at once across hosts.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/support/http_request.rs"]
mod http_request;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Per host: requests in flight now, most in flight, last start, shortest start interval, count.
#[derive(Default)]
struct HostStats {
    in_flight: usize,
    max_in_flight: usize,
    last_start: Option<Instant>,
    min_interval: Option<Duration>,
    /// Intervals shorter than the configured delay.
    short: usize,
    requests: usize,
}

type Stats = Arc<Mutex<HashMap<Ipv4Addr, HostStats>>>;

fn host_ip(h: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1 + (h / 250) as u8, (h % 250 + 1) as u8)
}

/// Serves every host on `port`; each connection is one request on its own thread, timed from
/// its accept (a blocking accept per host, so the time is close to the client's connect).
fn serve(hosts: usize, stats: Stats, delay: Duration) -> u16 {
    let first = TcpListener::bind((host_ip(0), 0)).expect("bind");
    let port = first.local_addr().expect("addr").port();
    let mut listeners = vec![first];
    for h in 1..hosts {
        listeners.push(TcpListener::bind((host_ip(h), port)).expect("bind host"));
    }
    for l in listeners {
        let stats = stats.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let at = Instant::now();
                let Ok(s) = s else { continue };
                let stats = stats.clone();
                std::thread::spawn(move || answer(s, at, &stats, delay));
            }
        });
    }
    port
}

fn answer(mut s: TcpStream, now: Instant, stats: &Stats, delay: Duration) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(local) = s.local_addr() else { return };
    let std::net::IpAddr::V4(ip) = local.ip() else {
        return;
    };
    let Some(path) = http_request::read_request_path(&s) else {
        return;
    };
    let counted = path.starts_with("/w/");
    if counted {
        let mut all = stats.lock().unwrap_or_else(|p| p.into_inner());
        let st = all.entry(ip).or_default();
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        if let Some(last) = st.last_start {
            let d = now - last;
            st.min_interval = Some(st.min_interval.map_or(d, |m| m.min(d)));
            st.short += usize::from(d < delay);
        }
        st.last_start = Some(now);
        st.requests += 1;
    }
    // A little server time, so that requests to one host would overlap without politeness.
    std::thread::sleep(Duration::from_millis(2));
    let (status, body) = if counted {
        (
            "200 OK",
            format!(
                "<!doctype html><html><head><title>Объявление</title></head><body>\
                 <p>Продам велосипед, Алматы. Страница {path}.</p></body></html>"
            ),
        )
    } else {
        ("404 Not Found", String::new())
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    if counted {
        let mut all = stats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(st) = all.get_mut(&ip) {
            st.in_flight -= 1;
        }
    }
}

/// Peak resident set of `pid` in MiB (VmHWM), or 0 once it is gone.
fn hwm_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

struct Run {
    urls: usize,
    wall: Duration,
    peak_mib: f64,
    max_in_flight: usize,
    min_interval: Duration,
    short: usize,
    requests: usize,
    hosts_seen: usize,
}

fn kuzet(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kuzet"));
    c.current_dir(dir).env_remove("RUST_LOG");
    c
}

fn run(urls: usize, hosts: usize, delay_ms: u64, port: u16, stats: &Stats) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("kuzet.toml"),
        format!(
            "[crawl]\nmin_delay_ms = {delay_ms}\nper_host_concurrency = 1\n\
             [takedown]\nconcurrency = 32\nevidence_dir = \"ev\"\n"
        ),
    )
    .expect("config");
    let db = format!("sqlite://{}", d.join("kuzet.db").display());
    // Schema, one forwarded case, and `urls` watched URLs, URL i on host i % hosts.
    let o = kuzet(d)
        .args(["--db", &db, "cases", "list"])
        .output()
        .expect("kuzet");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seed = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO watch_targets (case_id, kind, url, added_at) \
         SELECT 1, 'web', 'http://127.0.' || (1 + (i % {hosts}) / 250) || '.' || \
         ((i % {hosts}) % 250 + 1) || ':{port}/w/' || i, 0 FROM n",
        last = urls - 1
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let db = kuzet_storage::Db::connect(&db, &kuzet_storage::DbOptions::default())
            .await
            .expect("database");
        sqlx::query(
            "INSERT INTO cases (id, status, title, created_at, updated_at) \
             VALUES (1, 'forwarded', 'bench', 0, 0)",
        )
        .execute(db.pool())
        .await
        .expect("case");
        sqlx::query(&seed)
            .execute(db.pool())
            .await
            .expect("targets");
        db.close().await;
    });
    stats.lock().unwrap().clear();

    let start = Instant::now();
    let mut child = kuzet(d)
        .args([
            "--config",
            "kuzet.toml",
            "--db",
            &db,
            "--format",
            "json",
            "cases",
            "recheck",
            "--scope",
            "127.0.0.0/8",
            "--allow-private-addresses",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kuzet recheck");
    let pid = child.id();
    let mut peak: f64 = 0.0;
    let status = loop {
        peak = peak.max(hwm_mib(pid));
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.success(), "{err}");
    let all = stats.lock().unwrap();
    Run {
        urls,
        wall,
        peak_mib: peak,
        max_in_flight: all.values().map(|s| s.max_in_flight).max().unwrap_or(0),
        min_interval: all
            .values()
            .filter_map(|s| s.min_interval)
            .min()
            .unwrap_or_default(),
        short: all.values().map(|s| s.short).sum(),
        requests: all.values().map(|s| s.requests).sum(),
        hosts_seen: all.len(),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let urls = env_usize("KUZET_BENCH_URLS", 10_000);
    let base = env_usize("KUZET_BENCH_BASE_URLS", 1_000);
    let hosts = env_usize("KUZET_BENCH_HOSTS", 100);
    let delay_ms = env_usize("KUZET_BENCH_DELAY_MS", 20) as u64;
    let stats: Stats = Arc::default();
    let port = serve(hosts, stats.clone(), Duration::from_millis(delay_ms));
    let runs: Vec<Run> = [base, urls]
        .into_iter()
        .map(|n| run(n, hosts, delay_ms, port, &stats))
        .collect();
    for r in &runs {
        println!(
            "{:>6} URLs on {} hosts: wall {:.2} s ({:.0} URLs/s; polite floor {:.2} s); peak RSS \
             {:.1} MiB; per host at the server: max in flight {}, min interval {:.1} ms \
             (min_delay_ms {delay_ms}; {} of {} intervals shorter); requests {}",
            r.urls,
            r.hosts_seen,
            r.wall.as_secs_f64(),
            r.urls as f64 / r.wall.as_secs_f64(),
            (r.urls.div_ceil(hosts) - 1) as f64 * delay_ms as f64 / 1000.0,
            r.peak_mib,
            r.max_in_flight,
            r.min_interval.as_secs_f64() * 1000.0,
            r.short,
            r.requests.saturating_sub(r.hosts_seen),
            r.requests
        );
    }
    let (b, m) = (&runs[0], &runs[1]);
    println!(
        "ratio {}/{} URLs: peak RSS ×{:.2}, wall ×{:.2}",
        m.urls,
        b.urls,
        m.peak_mib / b.peak_mib,
        m.wall.as_secs_f64() / b.wall.as_secs_f64()
    );
}

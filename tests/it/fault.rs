//! Fault tests: `kill -9` of `kuzet crawl` at seeded pseudo-random points and restarts (SQLite and
//! PostgreSQL), and several workers sharing one PostgreSQL frontier while one of them is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kuzet_storage::Db;
use kuzet_storage::sqlx::{self, Row};
use kuzet_storage::testing::TestDb;

use crate::util::{TestWeb, kuzet};

/// A reproducible pseudo-random sequence (xorshift64*): the kill points depend on the seed only.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// `kuzet crawl` of the test web as a child process (output to files, so it never blocks).
fn crawl(dir: &Path, db_url: &str, web: &TestWeb, worker: &str, extra: &[&str]) -> Child {
    std::fs::write(dir.join("seeds.txt"), format!("{}\n", web.url("/"))).unwrap();
    let log = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{worker}.{name}")))
            .unwrap()
    };
    let mut c: Command = kuzet(dir);
    c.args([
        "--db",
        db_url,
        "--format",
        "json",
        "crawl",
        "--seeds",
        "seeds.txt",
    ])
    .args(["--scope", "127.0.0.0/8", "--allow-private-addresses"])
    .args(["--impolite-for", "127.0.0.0/8", "--concurrency", "8"])
    .args(["--worker", worker])
    .args(extra)
    .stdin(Stdio::null())
    .stdout(log("out"))
    .stderr(log("err"));
    c.spawn().expect("spawn kuzet crawl")
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .expect(sql)
}

/// What is committed: pages (id, content hash), verdicts, cases and their pages.
#[derive(Debug, Default, PartialEq)]
struct Snapshot {
    pages: BTreeMap<String, (i64, String)>,
    verdicts: BTreeSet<(i64, i64, String)>,
    cases: BTreeSet<i64>,
    case_pages: BTreeSet<(i64, i64)>,
}

async fn snapshot(db: &Db) -> Snapshot {
    let mut s = Snapshot::default();
    for r in sqlx::query("SELECT url, id, content_hash FROM pages")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        s.pages.insert(
            r.get("url"),
            (r.get::<i64, _>("id"), r.get::<String, _>("content_hash")),
        );
    }
    for r in sqlx::query("SELECT id, page_id, verdict FROM verdicts WHERE page_id IS NOT NULL")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        s.verdicts
            .insert((r.get("id"), r.get("page_id"), r.get("verdict")));
    }
    for r in sqlx::query("SELECT id FROM cases")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        s.cases.insert(r.get("id"));
    }
    for r in sqlx::query("SELECT case_id, page_id FROM case_pages")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        s.case_pages.insert((r.get("case_id"), r.get("page_id")));
    }
    s
}

/// Refetches that neither took over a killed worker's lease nor a live worker's lease that
/// expired mid-fetch (that worker's late result is then logged `lease_lost`, never stored).
fn unexplained_refetches(killed: &[&str]) -> String {
    let killed: Vec<String> = killed.iter().map(|w| format!("'{w}'")).collect();
    format!(
        "SELECT COUNT(*) FROM fetch_log r WHERE r.refetch = 1 \
         AND r.expired_lease_owner NOT IN ({}) AND NOT EXISTS (SELECT 1 FROM fetch_log l \
           WHERE l.url = r.url AND l.worker = r.expired_lease_owner \
             AND l.error_kind = 'lease_lost')",
        killed.join(", ")
    )
}

/// Every row of `before` is still in `after`, unchanged.
fn assert_kept(before: &Snapshot, after: &Snapshot, when: &str) {
    for (url, row) in &before.pages {
        assert_eq!(
            after.pages.get(url),
            Some(row),
            "{when}: page {url} lost or changed"
        );
    }
    let missing: Vec<_> = before.verdicts.difference(&after.verdicts).collect();
    assert!(missing.is_empty(), "{when}: verdicts lost: {missing:?}");
    let missing: Vec<_> = before.cases.difference(&after.cases).collect();
    assert!(missing.is_empty(), "{when}: cases lost: {missing:?}");
    let missing: Vec<_> = before.case_pages.difference(&after.case_pages).collect();
    assert!(missing.is_empty(), "{when}: case pages lost: {missing:?}");
}

fn wait_exit(child: &mut Child, dir: &Path, worker: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err =
                std::fs::read_to_string(dir.join(format!("{worker}.err"))).unwrap_or_default();
            assert!(status.success(), "{worker} failed: {err}");
            return;
        }
        assert!(Instant::now() < deadline, "{worker} did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills `child` with SIGKILL once `pages` rows reach `at`. Panics if the crawl ended first.
async fn kill_at(child: &mut Child, db: &Db, at: i64, dir: &Path, worker: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if count(db, "SELECT COUNT(*) FROM pages").await >= at {
            child.kill().expect("kill -9");
            child.wait().unwrap();
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let err =
                std::fs::read_to_string(dir.join(format!("{worker}.err"))).unwrap_or_default();
            panic!("{worker} ended ({status}) before {at} pages: {err}");
        }
        assert!(Instant::now() < deadline, "{worker} made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The crawl-wide invariants once everything is done: every reachable page stored once, one
/// successful fetch per URL, one verdict per page, an empty frontier.
async fn assert_complete(db: &Db, web: &TestWeb, label: &str) {
    let want: BTreeSet<String> = web.all_paths().iter().map(|p| web.url(p)).collect();
    let got: BTreeSet<String> = sqlx::query_scalar("SELECT url FROM pages")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        got, want,
        "{label}: pages stored differ from the reachable pages"
    );
    let twice: Vec<(String, i64)> = sqlx::query(
        "SELECT url, COUNT(*) AS n FROM fetch_log WHERE error_kind IS NULL \
         GROUP BY url HAVING COUNT(*) > 1",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("url"), r.get("n")))
    .collect();
    assert!(
        twice.is_empty(),
        "{label}: results committed twice: {twice:?}"
    );
    let verdicts_twice = count(
        db,
        "SELECT COUNT(*) FROM (SELECT page_id FROM verdicts WHERE page_id IS NOT NULL \
         GROUP BY page_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(verdicts_twice, 0, "{label}: a page scored twice");
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM verdicts WHERE page_id IS NOT NULL"
        )
        .await,
        want.len() as i64,
        "{label}: not every page has its verdict"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM frontier").await,
        0,
        "{label}"
    );
}

async fn kill_and_resume(t: TestDb, seed: u64) {
    let label = format!("{:?}", t.backend());
    let web = TestWeb::start(10, 20, Duration::from_millis(20));
    let total = web.all_paths().len() as i64;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);
    // A first run that stops at a page limit and groups cases: committed cases to keep.
    let mut first = crawl(dir.path(), &t.url, &web, "run0", &["--max-pages", "60"]);
    wait_exit(&mut first, dir.path(), "run0");
    let mut before = snapshot(&t.db).await;
    assert!(
        !before.cases.is_empty(),
        "{label}: the first run made no case"
    );
    let kills = 3;
    for k in 1..=kills {
        // Kill points spread over the rest of the crawl, each at a seeded page count.
        let span = (total - 60) / (kills + 1);
        let at = 60 + span * k + rng.below(span as u64 / 2) as i64;
        let worker = format!("run{k}");
        let mut child = crawl(dir.path(), &t.url, &web, &worker, &["--lease-secs", "1"]);
        kill_at(&mut child, &t.db, at, dir.path(), &worker).await;
        let after = snapshot(&t.db).await;
        assert_kept(&before, &after, &format!("{label}: kill {k} at {at} pages"));
        assert!(
            after.pages.len() > before.pages.len(),
            "{label}: no progress before kill {k}"
        );
        before = after;
    }
    let mut last = crawl(dir.path(), &t.url, &web, "final", &["--lease-secs", "1"]);
    wait_exit(&mut last, dir.path(), "final");
    let end = snapshot(&t.db).await;
    assert_kept(&before, &end, &format!("{label}: final run"));
    assert_complete(&t.db, &web, &label).await;
    // The kills left leases behind: the URLs they held were fetched again after expiry, and each
    // such fetch says whose lease it took over.
    let refetched = count(
        &t.db,
        "SELECT COUNT(*) FROM fetch_log WHERE refetch = 1 AND expired_lease_owner LIKE 'run%'",
    )
    .await;
    eprintln!("{label}: {refetched} URLs refetched after a killed run's lease expired");
    assert!(refetched > 0, "{label}: no killed run held a lease");
    let stray = count(&t.db, &unexplained_refetches(&["run1", "run2", "run3"])).await;
    assert_eq!(stray, 0, "{label}: refetch of a lease no killed run held");
    // Evidence written by killed runs (possibly cut mid-record) still verifies for every
    // committed reference.
    let verify = crate::util::run(
        kuzet(dir.path()).args([
            "--db", &t.url, "--format", "json", "evidence", "verify", "evidence",
        ]),
        "",
    );
    assert!(
        verify.status.success(),
        "{label}: evidence verify: {}{}",
        crate::util::stdout(&verify),
        crate::util::stderr(&verify)
    );
    drop(web);
    t.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_seeded_points_loses_nothing_and_resumes_sqlite() {
    kill_and_resume(TestDb::sqlite().await.unwrap(), 0x5eed_0001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_seeded_points_loses_nothing_and_resumes_postgres() {
    let Some(t) = TestDb::postgres().await.unwrap() else {
        return;
    };
    kill_and_resume(t, 0x5eed_0002).await;
}

/// Three workers share one PostgreSQL frontier; one is killed mid-run. The survivors finish with
/// its leases once they expire. Every URL is fetched exactly once overall — counted by the server
/// — except those the killed worker held, which are fetched once more by a survivor and recorded
/// as refetches naming the killed worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_one_killed_every_url_fetched_once() {
    let Some(t) = TestDb::postgres().await.unwrap() else {
        return;
    };
    // 60 ms per page: with group commit the three workers crawl the 400 pages in about a second
    // at 20 ms, and "wb" could finish before it was caught holding leases.
    let web = TestWeb::start(10, 40, Duration::from_millis(60));
    let total = web.all_paths().len() as i64;
    let dir = tempfile::tempdir().unwrap();
    let lease = ["--lease-secs", "3"];
    let mut a = crawl(dir.path(), &t.url, &web, "wa", &lease);
    let mut victim = crawl(dir.path(), &t.url, &web, "wb", &lease);
    let mut c = crawl(dir.path(), &t.url, &web, "wc", &lease);
    // Kill "wb" once a third of the web is stored and it has fetched some of it itself, at a
    // moment when it holds leases: it is frozen (SIGSTOP) first, so what it holds cannot change
    // between the look and the kill; if it holds none, it is let go on (SIGCONT) and tried again.
    let deadline = Instant::now() + Duration::from_secs(120);
    let pid = victim.id().to_string();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    loop {
        assert!(
            victim.try_wait().unwrap().is_none(),
            "wb ended before the kill"
        );
        assert!(Instant::now() < deadline, "no progress");
        let mine = count(&t.db, "SELECT COUNT(*) FROM fetch_log WHERE worker = 'wb'").await;
        if mine > 0 && count(&t.db, "SELECT COUNT(*) FROM pages").await >= total / 3 {
            signal("-STOP");
            tokio::time::sleep(Duration::from_millis(20)).await;
            let held = count(
                &t.db,
                "SELECT COUNT(*) FROM frontier WHERE lease_owner = 'wb'",
            )
            .await;
            if held > 0 {
                break;
            }
            signal("-CONT");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    victim.kill().expect("kill -9");
    victim.wait().unwrap();
    wait_exit(&mut a, dir.path(), "wa");
    wait_exit(&mut c, dir.path(), "wc");

    assert_complete(&t.db, &web, "3 workers").await;
    let failed = count(
        &t.db,
        "SELECT COUNT(*) FROM fetch_log WHERE error_kind IS NOT NULL AND error_kind <> 'lease_lost'",
    )
    .await;
    assert_eq!(failed, 0, "no fetch failed");
    // Refetches: of the killed worker's expired leases, by a survivor (or, on an overloaded
    // machine, of a live worker's lease that expired mid-fetch, whose late result was dropped).
    assert_eq!(count(&t.db, &unexplained_refetches(&["wb"])).await, 0);
    let mut refetched = BTreeSet::new();
    let mut from_victim = 0;
    for r in sqlx::query(
        "SELECT url, worker, expired_lease_owner, attempt FROM fetch_log WHERE refetch = 1",
    )
    .fetch_all(t.db.pool())
    .await
    .unwrap()
    {
        let owner: Option<String> = r.get("expired_lease_owner");
        assert_ne!(r.get::<String, _>("worker"), "wb");
        assert!(r.get::<i64, _>("attempt") >= 2);
        from_victim += usize::from(owner.as_deref() == Some("wb"));
        refetched.insert(r.get::<String, _>("url"));
    }
    assert!(from_victim > 0, "the killed worker held no lease");
    let hits = web.hits.lock().unwrap().clone();
    for path in web.all_paths() {
        let n = hits.get(&path).copied().unwrap_or(0);
        if refetched.contains(&web.url(&path)) {
            assert!((1..=2).contains(&n), "{path}: fetched {n} times");
        } else {
            assert_eq!(n, 1, "{path}: fetched {n} times");
        }
    }
    let extra: usize = hits.values().sum::<usize>() - web.all_paths().len();
    for w in ["wa", "wb", "wc"] {
        let mine = count(
            &t.db,
            &format!("SELECT COUNT(*) FROM fetch_log WHERE worker = '{w}'"),
        )
        .await;
        assert!(mine > 0, "worker {w} fetched nothing");
    }
    eprintln!(
        "3 workers: {total} URLs, {from_victim} refetched after wb's leases expired, {} \
         refetched in all, {extra} extra requests",
        refetched.len()
    );
    drop(web);
    t.cleanup().await.unwrap();
}

//! The database frontier on both backends: dedup, claims, leases, politeness, retries.

use std::collections::HashSet;

use kuzet_crawler::frontier::{self, FrontierOptions, NewUrl};
use kuzet_crawler::store::{self, FetchRecord, PageRecord};
use kuzet_storage::sqlx;
use kuzet_storage::testing::TestDb;
use kuzet_storage::{Db, now_ms};

fn url(host: u8, path: usize) -> NewUrl {
    let u = format!("http://127.0.0.{host}:8080/p{path}");
    NewUrl {
        url_hash: format!("{:064x}", host as usize * 1_000_000 + path),
        url: u,
        host: format!("http://127.0.0.{host}:8080"),
        depth: 1,
        priority: path as f64,
        kind: "page",
        source_id: None,
        parent_page_id: None,
        host_delay_ms: 0,
    }
}

async fn add(db: &Db, urls: &[NewUrl]) -> usize {
    let mut tx = db.begin_write().await.unwrap();
    let n = frontier::enqueue(&mut tx, urls).await.unwrap();
    tx.commit().await.unwrap();
    n
}

fn opts(worker: &str) -> FrontierOptions {
    FrontierOptions {
        worker: worker.into(),
        per_host: 100,
        ..FrontierOptions::default()
    }
}

#[tokio::test]
async fn enqueue_dedups_by_url_hash_and_claims_best_first() {
    for t in TestDb::all().await.unwrap() {
        let urls: Vec<_> = (0..5).map(|i| url(1, i)).collect();
        assert_eq!(add(&t.db, &urls).await, 5);
        assert_eq!(add(&t.db, &urls).await, 0, "seen URLs are not queued again");
        let leases = frontier::claim(&t.db, &opts("w1"), 3).await.unwrap();
        let prios: Vec<f64> = leases.iter().map(|l| l.priority).collect();
        assert_eq!(prios, [4.0, 3.0, 2.0], "{:?}", t.backend());
        assert!(leases.iter().all(|l| l.attempts == 1));
        // Leased URLs are not claimed again while the lease holds.
        let rest = frontier::claim(&t.db, &opts("w2"), 10).await.unwrap();
        assert_eq!(rest.len(), 2);
        assert!(
            frontier::claim(&t.db, &opts("w3"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn completed_urls_leave_the_queue_with_their_page_and_links() {
    for t in TestDb::all().await.unwrap() {
        add(&t.db, &[url(1, 1)]).await;
        let o = opts("w1");
        let lease = frontier::claim(&t.db, &o, 1).await.unwrap().remove(0);
        let run = store::start_run(&t.db, "w1", "{}").await.unwrap();
        let mut tx = t.db.begin_write().await.unwrap();
        let page = store::save_page(
            &mut tx,
            &PageRecord {
                url: lease.url.clone(),
                url_hash: lease.url_hash.clone(),
                final_url: lease.url.clone(),
                host: "127.0.0.1".into(),
                run_id: Some(run),
                status: 200,
                content_hash: "ab".repeat(32),
                body_bytes: 10,
                ..PageRecord::default()
            },
        )
        .await
        .unwrap();
        let mut child = url(2, 7);
        child.parent_page_id = Some(page);
        frontier::enqueue(&mut tx, &[child]).await.unwrap();
        assert!(frontier::remove_in(&mut tx, &lease, "w1").await.unwrap());
        store::log_fetch(
            &mut tx,
            &FetchRecord {
                run_id: run,
                worker: "w1",
                url_hash: &lease.url_hash,
                url: &lease.url,
                status: Some(200),
                error_kind: None,
                error: None,
                attempt: lease.attempts,
                expired_lease_owner: lease.expired_owner.as_deref(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let s = frontier::stats(&t.db).await.unwrap();
        assert_eq!((s.queued, s.seen), (1, 2), "{:?}", t.backend());
        let next = frontier::claim(&t.db, &o, 5).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].parent_page_id, Some(page));
        let totals = store::totals(&t.db, Some(run)).await.unwrap();
        assert_eq!(totals.pages, 1);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn expired_leases_are_claimed_again_and_counted_as_attempts() {
    for t in TestDb::all().await.unwrap() {
        add(&t.db, &[url(1, 1)]).await;
        let short = FrontierOptions {
            lease_ms: -1, // already expired: as if the worker died long ago
            ..opts("dead")
        };
        let first = frontier::claim(&t.db, &short, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        let again = frontier::claim(&t.db, &opts("alive"), 1).await.unwrap();
        assert_eq!(
            again.len(),
            1,
            "{:?}: expired lease not reclaimed",
            t.backend()
        );
        assert_eq!(again[0].attempts, 2);
        assert_eq!(first[0].expired_owner, None);
        assert_eq!(
            again[0].expired_owner.as_deref(),
            Some("dead"),
            "{:?}: the takeover of an expired lease is not recorded",
            t.backend()
        );
        // The dead worker can no longer complete it.
        let mut tx = t.db.begin_write().await.unwrap();
        assert!(
            !frontier::holds_in(&mut tx, t.backend(), &first[0], "dead")
                .await
                .unwrap()
        );
        assert!(
            frontier::holds_in(&mut tx, t.backend(), &again[0], "alive")
                .await
                .unwrap()
        );
        assert!(
            !frontier::remove_in(&mut tx, &first[0], "dead")
                .await
                .unwrap()
        );
        assert!(
            frontier::remove_in(&mut tx, &again[0], "alive")
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        t.cleanup().await.unwrap();
    }
}

/// The writer's batched statements: a lease check for many leases that keeps only those this
/// worker still holds, pages stored together (the same URL twice in one batch: one row, the later
/// fetch wins) and enqueues that reuse host ids learnt by committed transactions only.
#[tokio::test]
async fn batched_writes_keep_only_held_leases_and_store_like_one_at_a_time() {
    for t in TestDb::all().await.unwrap() {
        let label = format!("{:?}", t.backend());
        add(&t.db, &[url(1, 1), url(1, 2), url(1, 3)]).await;
        let expired = FrontierOptions {
            lease_ms: -1,
            per_host: 1,
            ..opts("dead")
        };
        let lost = frontier::claim(&t.db, &expired, 1).await.unwrap();
        let mine = frontier::claim(&t.db, &opts("w1"), 10).await.unwrap();
        assert_eq!(mine.len(), 3, "{label}: w1 takes the expired lease too");
        let mut tx = t.db.begin_write().await.unwrap();
        let all: Vec<_> = lost.iter().chain(&mine).collect();
        let held = frontier::held_in(&mut tx, t.backend(), &all, "w1")
            .await
            .unwrap();
        let want: HashSet<i64> = mine.iter().map(|l| l.id).collect();
        assert_eq!(held, want, "{label}");
        assert!(
            frontier::held_in(&mut tx, t.backend(), &all, "dead")
                .await
                .unwrap()
                .is_empty(),
            "{label}: the dead worker's lease was taken over"
        );
        let page = |n: usize, hash: &str| PageRecord {
            url: mine[n].url.clone(),
            url_hash: mine[n].url_hash.clone(),
            final_url: mine[n].url.clone(),
            host: "127.0.0.1".into(),
            status: 200,
            content_hash: hash.repeat(32),
            ..PageRecord::default()
        };
        let (a, b, a_again) = (page(0, "aa"), page(1, "bb"), page(0, "cc"));
        let ids = store::save_pages(&mut tx, &[&a, &b, &a_again])
            .await
            .unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], ids[2], "{label}: one row per URL");
        assert_ne!(ids[0], ids[1]);
        let ids: Vec<i64> = ids[..2].to_vec();
        frontier::remove_held_in(&mut tx, &[mine[0].id, mine[1].id])
            .await
            .unwrap();
        // A host learnt in a transaction that rolls back is not reused afterwards.
        let mut hosts = frontier::HostIds::default();
        let (x, y) = (url(9, 1), url(9, 2));
        tx.commit().await.unwrap();
        let mut tx = t.db.begin_write().await.unwrap();
        assert_eq!(
            frontier::enqueue_with(&mut tx, &[&x], &mut hosts)
                .await
                .unwrap(),
            1
        );
        tx.rollback().await.unwrap();
        hosts.rolled_back();
        let mut tx = t.db.begin_write().await.unwrap();
        assert_eq!(
            frontier::enqueue_with(&mut tx, &[&x, &y, &x], &mut hosts)
                .await
                .unwrap(),
            2
        );
        tx.commit().await.unwrap();
        hosts.committed();
        let mut tx = t.db.begin_write().await.unwrap();
        assert_eq!(
            frontier::enqueue_with(&mut tx, &[&url(9, 3), &y], &mut hosts)
                .await
                .unwrap(),
            1,
            "{label}: a known host's new URL is queued under the cached id"
        );
        tx.commit().await.unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT p.url_hash, p.content_hash FROM pages p ORDER BY p.id")
                .fetch_all(t.db.pool())
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (mine[0].url_hash.clone(), "cc".repeat(32)),
                (mine[1].url_hash.clone(), "bb".repeat(32)),
            ],
            "{label}: ids {ids:?}"
        );
        let queued: Vec<(String, i64)> = sqlx::query_as(
            "SELECT f.url, h.id FROM frontier f JOIN hosts h ON h.id = f.host_id \
             WHERE h.host = 'http://127.0.0.9:8080' ORDER BY f.url",
        )
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        assert_eq!(
            queued.len(),
            3,
            "{label}: every URL of host 9 under its row"
        );
        // Of host 1, only the URL whose page was not stored is still queued.
        let left: Vec<String> = sqlx::query_scalar(
            "SELECT f.url FROM frontier f JOIN hosts h ON h.id = f.host_id \
             WHERE h.host = 'http://127.0.0.1:8080'",
        )
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        assert_eq!(left, [mine[2].url.clone()], "{label}");
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn failures_back_off_then_give_up() {
    for t in TestDb::all().await.unwrap() {
        add(&t.db, &[url(1, 1)]).await;
        let o = FrontierOptions {
            backoff_ms: 0,
            max_attempts: 2,
            ..opts("w")
        };
        let l = frontier::claim(&t.db, &o, 1).await.unwrap().remove(0);
        let mut tx = t.db.begin_write().await.unwrap();
        assert!(!frontier::fail_in(&mut tx, &l, &o, true).await.unwrap());
        tx.commit().await.unwrap();
        let l = frontier::claim(&t.db, &o, 1).await.unwrap().remove(0);
        assert_eq!(l.attempts, 2);
        let mut tx = t.db.begin_write().await.unwrap();
        assert!(
            frontier::fail_in(&mut tx, &l, &o, true).await.unwrap(),
            "gave up"
        );
        tx.commit().await.unwrap();
        assert_eq!(frontier::stats(&t.db).await.unwrap().queued, 0);

        // With a real backoff the URL is not due yet.
        add(&t.db, &[url(1, 2)]).await;
        let o = FrontierOptions {
            backoff_ms: 60_000,
            ..opts("w")
        };
        let l = frontier::claim(&t.db, &o, 1).await.unwrap().remove(0);
        let mut tx = t.db.begin_write().await.unwrap();
        frontier::fail_in(&mut tx, &l, &o, true).await.unwrap();
        tx.commit().await.unwrap();
        assert!(frontier::claim(&t.db, &o, 1).await.unwrap().is_empty());
        let due = frontier::next_due(&t.db).await.unwrap().unwrap();
        assert!(due > now_ms() + 50_000, "backoff not applied");
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn politeness_delay_spaces_claims_per_host() {
    for t in TestDb::all().await.unwrap() {
        add(&t.db, &(0..3).map(|i| url(1, i)).collect::<Vec<_>>()).await;
        add(&t.db, &[url(2, 0)]).await;
        let mut tx = t.db.begin_write().await.unwrap();
        let h = frontier::host_id(&mut tx, "http://127.0.0.1:8080")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        frontier::set_host_delay(&t.db, h, 60_000).await.unwrap();
        let o = opts("w");
        let first = frontier::claim(&t.db, &o, 10).await.unwrap();
        // One URL from the delayed host, everything due from the other.
        let from_1 = first.iter().filter(|l| l.host_id == h).count();
        assert_eq!(from_1, 1, "{:?}", t.backend());
        assert_eq!(first.len(), 2);
        assert!(frontier::claim(&t.db, &o, 10).await.unwrap().is_empty());
        t.cleanup().await.unwrap();
    }
}

/// Concurrent claimers (PostgreSQL: several connections, SKIP LOCKED; SQLite: serialised writers)
/// never receive the same URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_overlap() {
    for t in TestDb::all().await.unwrap() {
        let urls: Vec<_> = (0..400).map(|i| url((i % 20) as u8 + 1, i)).collect();
        add(&t.db, &urls).await;
        let mut tasks = Vec::new();
        for w in 0..4 {
            let db = t.db.clone();
            tasks.push(tokio::spawn(async move {
                let o = FrontierOptions {
                    worker: format!("w{w}"),
                    per_host: 3,
                    ..FrontierOptions::default()
                };
                let mut got = Vec::new();
                loop {
                    let batch = frontier::claim(&db, &o, 16).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    let mut tx = db.begin_write().await.unwrap();
                    for l in &batch {
                        assert!(frontier::remove_in(&mut tx, l, &o.worker).await.unwrap());
                    }
                    tx.commit().await.unwrap();
                    got.extend(batch.into_iter().map(|l| l.url));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 400, "{:?}: every URL claimed", t.backend());
        assert_eq!(
            unique.len(),
            400,
            "{:?}: a URL was claimed twice",
            t.backend()
        );
        t.cleanup().await.unwrap();
    }
}

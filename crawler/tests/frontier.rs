//! The database frontier on both backends: dedup, claims, leases, politeness, retries.

use std::collections::HashSet;

use kuzet_crawler::frontier::{self, FrontierOptions, NewUrl};
use kuzet_crawler::store::{self, FetchRecord, PageRecord};
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

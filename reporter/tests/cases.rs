//! Grouping and the review workflow on both backends.

mod common;

use kuzet_reporter::cases::fixture::{self, PageSpec};
use kuzet_reporter::cases::{
    self, Action, Actor, GroupingLimits, QueueFilter, Status, rebuild_or_update,
};
use kuzet_reporter::{ReporterError, audit};
use kuzet_storage::Db;
use kuzet_storage::testing::TestDb;

async fn page(db: &Db, url: &str, verdict: &str, score: f64, inds: &[(&str, &str)]) -> i64 {
    fixture::page(
        db,
        &PageSpec {
            url,
            title: url,
            text: "text",
            score,
            verdict,
            indicators: inds,
            ..PageSpec::default()
        },
    )
    .await
    .unwrap()
}

async fn case_of(db: &Db, page: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT case_id FROM case_pages WHERE page_id = $1")
        .bind(page)
        .fetch_optional(db.pool())
        .await
        .unwrap()
}

async fn status(db: &Db, case: i64) -> String {
    sqlx::query_scalar("SELECT status FROM cases WHERE id = $1")
        .bind(case)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn review_actions(db: &Db, case: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM reviews WHERE case_id = $1 ORDER BY id")
        .bind(case)
        .fetch_all(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn shared_indicators_group_pages_and_generic_ones_do_not() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let limits = GroupingLimits {
            max_pages_per_indicator: 5,
            ..GroupingLimits::default()
        };
        let a = page(
            db,
            "http://a/",
            "shop",
            0.9,
            &[("telegram", "shop1"), ("domain", "hosting.kz")],
        )
        .await;
        let b = page(
            db,
            "http://b/",
            "suspicious",
            0.6,
            &[("telegram", "shop1"), ("bitcoin", "bc1q")],
        )
        .await;
        let c = page(
            db,
            "http://c/",
            "shop",
            0.8,
            &[("bitcoin", "bc1q"), ("url", "http://x/")],
        )
        .await;
        let d = page(
            db,
            "http://d/",
            "shop",
            0.7,
            &[("telegram", "other"), ("domain", "hosting.kz")],
        )
        .await;
        let clean = page(db, "http://e/", "clean", 0.1, &[("telegram", "shop1")]).await;
        // hosting.kz is on 6 pages (> cap of 5): generic, joins nothing.
        for i in 0..4 {
            page(
                db,
                &format!("http://h{i}/"),
                "clean",
                0.0,
                &[("domain", "hosting.kz")],
            )
            .await;
        }
        // t.me is on the ignore list whatever its frequency.
        let f = page(db, "http://f/", "shop", 0.5, &[("domain", "t.me")]).await;
        let g = page(db, "http://g/", "shop", 0.5, &[("domain", "t.me")]).await;

        let s = rebuild_or_update(db, &limits).await.unwrap();
        assert_eq!(s.flagged_pages, 6);
        assert_eq!(s.created.len(), 4, "{s:?}");
        let ca = case_of(db, a).await.unwrap();
        assert_eq!(case_of(db, b).await, Some(ca));
        assert_eq!(
            case_of(db, c).await,
            Some(ca),
            "joined transitively via the wallet"
        );
        assert_ne!(
            case_of(db, d).await,
            Some(ca),
            "generic domain must not join"
        );
        assert_eq!(case_of(db, clean).await, None, "clean pages form no cases");
        assert_ne!(case_of(db, f).await, case_of(db, g).await, "ignored value");
        let score: f64 = sqlx::query_scalar("SELECT score FROM cases WHERE id = $1")
            .bind(ca)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!(
            (score - 0.9).abs() < 1e-9,
            "case score is the best page's: {score}"
        );

        let again = rebuild_or_update(db, &limits).await.unwrap();
        assert!(again.is_noop(), "idempotent: {again:?}");

        let listed = cases::list(
            db,
            &QueueFilter {
                limit: 100,
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(listed.len(), 4);
        assert_eq!(listed[0].id, ca, "sorted by score");
        assert_eq!(listed[0].urls, ["http://a/", "http://b/", "http://c/"]);
        assert!(
            listed[0]
                .indicators
                .iter()
                .any(|i| i.kind == "bitcoin" && i.value == "bc1q")
        );
        let by_ind = cases::list(
            db,
            &QueueFilter {
                indicator: Some("BC1".into()),
                limit: 100,
                ..QueueFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(by_ind.iter().map(|c| c.id).collect::<Vec<_>>(), [ca]);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn a_bridging_page_merges_cases_and_refalgging_reopens_dismissed() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let l = GroupingLimits::default();
        let users = common::users(db).await;
        let analyst = Actor::user(users[1].2, &users[1].1);
        let a = page(db, "http://a/", "shop", 0.9, &[("telegram", "one")]).await;
        let b = page(db, "http://b/", "shop", 0.8, &[("phone", "+77010000000")]).await;
        rebuild_or_update(db, &l).await.unwrap();
        let (ca, cb) = (case_of(db, a).await.unwrap(), case_of(db, b).await.unwrap());
        assert!(ca < cb);
        cases::apply(db, &analyst, cb, &Action::Dismiss("parody page".into()))
            .await
            .unwrap();
        cases::apply(db, &analyst, ca, &Action::Dismiss("not a shop".into()))
            .await
            .unwrap();

        // A new page carrying both indicators bridges the two cases.
        let bridge = page(
            db,
            "http://c/",
            "shop",
            0.7,
            &[("telegram", "one"), ("phone", "+77010000000")],
        )
        .await;
        let s = rebuild_or_update(db, &l).await.unwrap();
        assert_eq!(s.merged, vec![(cb, ca)], "keeps the older id");
        assert_eq!(s.reopened, vec![ca]);
        for p in [a, b, bridge] {
            assert_eq!(case_of(db, p).await, Some(ca));
        }
        let merged_into: Option<i64> =
            sqlx::query_scalar("SELECT merged_into FROM cases WHERE id = $1")
                .bind(cb)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(merged_into, Some(ca));
        assert_eq!(status(db, ca).await, "new");
        let hist = review_actions(db, ca).await;
        assert_eq!(
            hist,
            ["created", "dismiss", "merge", "reopen"],
            "history kept"
        );
        assert_eq!(
            review_actions(db, cb).await,
            ["created", "dismiss", "merged_into"]
        );
        let err = cases::apply(db, &analyst, cb, &Action::Note("x".into())).await;
        assert!(
            matches!(err, Err(ReporterError::Merged { into, .. }) if into == ca),
            "{err:?}"
        );
        assert!(rebuild_or_update(db, &l).await.unwrap().is_noop());
        let log = audit::recent(db, 50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "case.reopen" && e.target == format!("case:{ca}"))
        );
        assert!(log.iter().any(|e| e.action == "case.merge"));
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn four_eyes_and_the_state_machine() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let users = common::users(db).await;
        let a1 = Actor::user(users[1].2, &users[1].1);
        let a2 = Actor::user(users[2].2, &users[2].1);
        let liaison = Actor::user(users[3].2, &users[3].1);
        page(db, "http://a/", "shop", 0.9, &[]).await;
        rebuild_or_update(db, &GroupingLimits::default())
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar("SELECT id FROM cases")
            .fetch_one(db.pool())
            .await
            .unwrap();

        let err = cases::apply(db, &a1, id, &Action::Dismiss("  ".into())).await;
        assert!(
            matches!(err, Err(ReporterError::Invalid(_))),
            "dismiss needs a reason"
        );
        let err = cases::apply(db, &a1, id, &Action::Forward(String::new())).await;
        assert!(
            matches!(err, Err(ReporterError::InvalidTransition { .. })),
            "{err:?}"
        );
        assert_eq!(
            cases::apply(db, &a1, id, &Action::Assign(Some(users[1].2)))
                .await
                .unwrap(),
            Status::InReview
        );
        assert_eq!(
            cases::apply(db, &a1, id, &Action::Confirm("shop".into()))
                .await
                .unwrap(),
            Status::Confirmed
        );
        let err = cases::apply(db, &a1, id, &Action::ApproveForward(String::new())).await;
        assert!(
            matches!(err, Err(ReporterError::FourEyes { .. })),
            "own approval: {err:?}"
        );
        let err = cases::apply(db, &liaison, id, &Action::Forward(String::new())).await;
        assert!(
            matches!(err, Err(ReporterError::FourEyes { .. })),
            "no approval yet: {err:?}"
        );
        cases::apply(db, &a2, id, &Action::ApproveForward("ok".into()))
            .await
            .unwrap();
        assert_eq!(
            cases::apply(db, &liaison, id, &Action::Forward("police".into()))
                .await
                .unwrap(),
            Status::Forwarded
        );
        let err = cases::apply(db, &a1, id, &Action::Confirm(String::new())).await;
        assert!(matches!(err, Err(ReporterError::InvalidTransition { .. })));
        assert_eq!(
            review_actions(db, id).await,
            ["created", "assign", "confirm", "approve_forward", "forward"]
        );
        let log = audit::recent(db, 100).await.unwrap();
        let acts: Vec<&str> = log
            .iter()
            .map(|e| e.action.as_str())
            .filter(|a| a.starts_with("case."))
            .collect();
        assert_eq!(
            acts,
            [
                "case.forward",
                "case.approve_forward",
                "case.confirm",
                "case.assign"
            ]
        );

        // A re-confirmation after reopening needs a fresh approval.
        let d = cases::get(db, id, 1000).await.unwrap();
        assert!(d.forward_approved);
        assert_eq!(d.confirmed_by.as_deref(), Some("aigerim"));
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn split_cases_stay_apart_until_merged_by_hand() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let l = GroupingLimits::default();
        let users = common::users(db).await;
        let an = Actor::user(users[1].2, &users[1].1);
        let a = page(
            db,
            "http://a/",
            "shop",
            0.9,
            &[("telegram", "shared"), ("phone", "+77001")],
        )
        .await;
        let b = page(
            db,
            "http://b/",
            "shop",
            0.6,
            &[("telegram", "shared"), ("onion", "x.onion")],
        )
        .await;
        rebuild_or_update(db, &l).await.unwrap();
        let c = case_of(db, a).await.unwrap();
        assert_eq!(case_of(db, b).await, Some(c));
        let err = cases::split(db, &an, c, &[a, b]).await;
        assert!(
            matches!(err, Err(ReporterError::Invalid(_))),
            "cannot split every page"
        );
        let n = cases::split(db, &an, c, &[b]).await.unwrap();
        assert_eq!(case_of(db, b).await, Some(n));
        assert!(
            rebuild_or_update(db, &l).await.unwrap().is_noop(),
            "split is respected"
        );
        // A new page sharing the handle joins the oldest case, without re-merging the split pair.
        let p = page(db, "http://c/", "shop", 0.5, &[("telegram", "shared")]).await;
        let s = rebuild_or_update(db, &l).await.unwrap();
        assert!(s.merged.is_empty(), "{s:?}");
        assert_eq!(case_of(db, p).await, Some(c));
        let sn: f64 = sqlx::query_scalar("SELECT score FROM cases WHERE id = $1")
            .bind(n)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!((sn - 0.6).abs() < 1e-9);
        // Merging by hand lifts the split.
        let keep = cases::merge(db, &an, &[n, c]).await.unwrap();
        assert_eq!(keep, c);
        assert_eq!(case_of(db, b).await, Some(c));
        let apart: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_apart")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(apart, 0);
        t.cleanup().await.unwrap();
    }
}

/// The queue (`cases::list`) against a reference computed case by case from the base tables:
/// every status filter, source filter, indicator filter and sort order, with paging, on both
/// backends. Guards the queue's fast path: the same cases, in the same order, with the same data.
#[tokio::test]
async fn the_queue_filters_and_sorts_exactly_like_the_reference() {
    use cases::{CaseSummary, Fetch, IndicatorRef, Sort};
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let sources = ["web", "telegram", "onion", "photos"];
        // 24 pages; pages i and i+1 share a handle when i % 4 == 0 (so some cases have two
        // pages from different sources), scores repeat (ties are broken by age, then id).
        for i in 0..24usize {
            let url = format!("http://q{i:02}.test/p");
            let handle = format!("h{}", if i % 4 == 1 { i - 1 } else { i });
            let wallet = format!("BC1Q{i:03}");
            let inds = [("telegram", handle.as_str()), ("bitcoin", wallet.as_str())];
            fixture::page(
                db,
                &PageSpec {
                    url: &url,
                    title: &format!("shop {i}"),
                    text: "text",
                    // Awkward doubles too: the fast path must round-trip them exactly.
                    score: [0.91, 1.0 / 3.0, 0.91, 46.0 / 97.0, 0.1 + 0.2][i % 5],
                    verdict: "shop",
                    indicators: &inds[..if i % 3 == 0 { 2 } else { 1 }],
                    source: sources[i % 4],
                    ..PageSpec::default()
                },
            )
            .await
            .unwrap();
            // Different creation times for the age orders.
            if i % 6 == 5 {
                rebuild_or_update(db, &GroupingLimits::default())
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        }
        rebuild_or_update(db, &GroupingLimits::default())
            .await
            .unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert!(ids.len() >= 15, "{}", ids.len());
        let users = common::users(db).await;
        let an = Actor::user(users[1].2, &users[1].1);
        cases::apply(db, &an, ids[0], &Action::Confirm("ok".into()))
            .await
            .unwrap();
        cases::apply(db, &an, ids[1], &Action::Dismiss("no".into()))
            .await
            .unwrap();
        cases::apply(db, &an, ids[2], &Action::Assign(Some(users[1].2)))
            .await
            .unwrap();
        cases::merge(db, &an, &[ids[3], ids[4]]).await.unwrap();
        // Two high-priority cases (as QR-hijack cases are) come first in the score order.
        sqlx::query("UPDATE cases SET priority = 1 WHERE id IN ($1, $2)")
            .bind(ids[5])
            .bind(ids[ids.len() - 1])
            .execute(db.pool())
            .await
            .unwrap();

        // The reference: one case at a time, straight from the tables.
        let mut all: Vec<(CaseSummary, Vec<String>)> = Vec::new();
        for id in sqlx::query_scalar::<_, i64>("SELECT id FROM cases WHERE merged_into IS NULL")
            .fetch_all(db.pool())
            .await
            .unwrap()
        {
            let (status, score, title, created_at, updated_at, reason, priority): (
                String,
                f64,
                String,
                i64,
                i64,
                String,
                i64,
            ) = sqlx::query_as(
                "SELECT status, score, title, created_at, updated_at, reason, priority \
                     FROM cases WHERE id = $1",
            )
            .bind(id)
            .fetch_one(db.pool())
            .await
            .unwrap();
            let assigned_to: Option<String> = sqlx::query_scalar(
                "SELECT u.name FROM cases c JOIN users u ON u.id = c.assigned_to WHERE c.id = $1",
            )
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .unwrap();
            let mut urls: Vec<String> = Vec::new();
            let mut srcs: Vec<String> = Vec::new();
            let mut inds: Vec<IndicatorRef> = Vec::new();
            for pid in
                sqlx::query_scalar::<_, i64>("SELECT page_id FROM case_pages WHERE case_id = $1")
                    .bind(id)
                    .fetch_all(db.pool())
                    .await
                    .unwrap()
            {
                let (url, src): (String, String) = sqlx::query_as(
                    "SELECT p.url, s.kind FROM pages p JOIN sources s ON s.id = p.source_id WHERE p.id = $1",
                )
                .bind(pid)
                .fetch_one(db.pool())
                .await
                .unwrap();
                urls.push(url);
                srcs.push(src);
                for (kind, value) in sqlx::query_as::<_, (String, String)>(
                    "SELECT i.kind, i.value FROM page_indicators pi JOIN indicators i ON i.id = pi.indicator_id WHERE pi.page_id = $1",
                )
                .bind(pid)
                .fetch_all(db.pool())
                .await
                .unwrap()
                {
                    inds.push(IndicatorRef { kind, value });
                }
            }
            urls.sort();
            inds.sort();
            inds.dedup();
            all.push((
                CaseSummary {
                    id,
                    status: status.parse().unwrap(),
                    score,
                    title,
                    created_at,
                    updated_at,
                    assigned_to,
                    reason,
                    priority,
                    urls,
                    indicators: inds,
                },
                srcs,
            ));
        }
        assert!(
            all.iter().any(|(_, s)| s.len() > 1),
            "some cases span sources"
        );
        let status_sets: [&[Status]; 4] = [
            &[],
            &[Status::New, Status::InReview],
            &[Status::Confirmed],
            &[Status::Dismissed],
        ];
        let mut compared = 0;
        for statuses in status_sets {
            for source in [None, Some("telegram"), Some("photos")] {
                for indicator in [None, Some("bc1q0"), Some("H1"), Some("%"), Some("nothing")] {
                    for sort in [Sort::Score, Sort::Oldest, Sort::Newest] {
                        let mut want: Vec<CaseSummary> = all
                            .iter()
                            .filter(|(c, _)| statuses.is_empty() || statuses.contains(&c.status))
                            .filter(|(_, s)| source.is_none_or(|src| s.iter().any(|x| x == src)))
                            .filter(|(c, _)| {
                                indicator.is_none_or(|q| {
                                    c.indicators
                                        .iter()
                                        .any(|i| i.value.to_lowercase().contains(&q.to_lowercase()))
                                })
                            })
                            .map(|(c, _)| c.clone())
                            .collect();
                        want.sort_by(|a, b| match sort {
                            Sort::Score => b
                                .priority
                                .cmp(&a.priority)
                                .then(b.score.total_cmp(&a.score))
                                .then(a.created_at.cmp(&b.created_at))
                                .then(a.id.cmp(&b.id)),
                            Sort::Oldest => a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)),
                            Sort::Newest => b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)),
                        });
                        for (limit, offset, fetch) in [
                            (1000, 0, Fetch::Auto),
                            (4, 3, Fetch::Auto),
                            (1000, 0, Fetch::Rows),
                        ] {
                            let got = cases::list_with(
                                db,
                                &QueueFilter {
                                    statuses: statuses.to_vec(),
                                    source: source.map(str::to_string),
                                    indicator: indicator.map(str::to_string),
                                    sort,
                                    limit,
                                    offset,
                                },
                                fetch,
                            )
                            .await
                            .unwrap();
                            let want: Vec<CaseSummary> = want
                                .iter()
                                .skip(offset as usize)
                                .take(limit as usize)
                                .cloned()
                                .collect();
                            assert_eq!(
                                got,
                                want,
                                "{statuses:?} {source:?} {indicator:?} {sort:?} {limit}/{offset} {fetch:?} on {:?}",
                                db.backend()
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 4 * 3 * 5 * 3 * 3);
        t.cleanup().await.unwrap();
    }
}

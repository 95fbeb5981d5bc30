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

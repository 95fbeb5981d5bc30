//! Shared set-up: users of every role and a small crawled world with cases.
#![allow(dead_code)]

use kuzet_reporter::cases::fixture::{self, PageSpec};
use kuzet_reporter::cases::{self, GroupingLimits};
use kuzet_reporter::users::{self, Role};
use kuzet_storage::Db;

pub const PASSWORD: &str = "correct horse battery";

/// Users: admin `root`, analysts `aigerim` and `bolat`, liaison `dana`, volunteer `erlan`.
pub async fn users(db: &Db) -> Vec<(Role, String, i64)> {
    let mut out = Vec::new();
    for (name, role) in [
        ("root", Role::Admin),
        ("aigerim", Role::Analyst),
        ("bolat", Role::Analyst),
        ("dana", Role::Liaison),
        ("erlan", Role::Volunteer),
    ] {
        let u = users::add(db, "test", name, role, PASSWORD).await.unwrap();
        out.push((role, name.to_string(), u.id));
    }
    out
}

pub const XSS_TITLE: &str = "<script>alert('title')</script>";
pub const XSS_TEXT: &str = "Закладки мефедрон 24/7 <script>alert(\"text\")</script> \
     <a href=\"javascript:alert(1)\">купить</a> <svg onload=alert(1)></svg> <img src=x onerror=alert(2)>";
pub const XSS_URL: &str = "http://evil.test/?q=<script>alert('url')</script>";

/// A world: an XSS-laden shop (two pages sharing a handle), a clean-ish second shop, and a third.
/// Returns (case ids after grouping, page ids).
pub async fn world(db: &Db) -> (Vec<i64>, Vec<i64>) {
    let reasons = r#"[{"rule":"drug.mef","weight":0.6,"evidence":"мефедрон"},
                      {"rule":"xss.svg","weight":0.1,"evidence":"<svg onload=alert(1)>"}]"#;
    let p1 = fixture::page(
        db,
        &PageSpec {
            url: XSS_URL,
            title: XSS_TITLE,
            text: XSS_TEXT,
            score: 0.95,
            verdict: "shop",
            reasons_json: reasons,
            indicators: &[
                ("telegram", "<script>alert('ind')</script>"),
                ("domain", "javascript:alert(1)"),
            ],
            source: "web",
        },
    )
    .await
    .unwrap();
    let p2 = fixture::page(
        db,
        &PageSpec {
            url: "http://mirror.test/",
            title: "mirror",
            text: "мефедрон опт, пишите",
            score: 0.7,
            verdict: "suspicious",
            reasons_json: reasons,
            indicators: &[
                ("telegram", "<script>alert('ind')</script>"),
                ("bitcoin", "bc1qxyz"),
            ],
            source: "telegram",
        },
    )
    .await
    .unwrap();
    let p3 = fixture::page(
        db,
        &PageSpec {
            url: "http://other.test/",
            title: "other shop",
            text: "гашиш доставка",
            score: 0.8,
            indicators: &[("phone", "+77011234567")],
            ..PageSpec::default()
        },
    )
    .await
    .unwrap();
    let p4 = fixture::page(
        db,
        &PageSpec {
            url: "http://third.test/",
            title: "third",
            text: "соль кристаллы",
            score: 0.6,
            verdict: "suspicious",
            indicators: &[("onion", "abc.onion")],
            source: "onion",
            ..PageSpec::default()
        },
    )
    .await
    .unwrap();
    cases::rebuild_or_update(db, &GroupingLimits::default())
        .await
        .unwrap();
    let mut ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    ids.sort();
    (ids, vec![p1, p2, p3, p4])
}

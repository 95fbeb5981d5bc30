//! `kuzet demo` end to end: the bundled demo web is served on loopback, crawled, classified and
//! grouped into cases; every demo shop page must end up in a case and no non-shop page may.

use crate::util::{kuzet, run, stderr, stdout};

#[test]
fn demo_turns_every_shop_into_a_case_and_no_non_shop() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        kuzet(dir.path()).args(["--format", "json", "demo", "--no-serve", "--dir", "d"]),
        "",
    );
    assert!(out.status.success(), "demo failed: {}", stderr(&out));
    let text = stdout(&out);
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a summary line")).unwrap();
    let check = &summary["check"];
    let shops = check["shop_pages"].as_u64().unwrap();
    assert!(shops >= 5, "the demo has shops: {summary}");
    assert_eq!(
        check["shop_pages_in_cases"].as_u64(),
        Some(shops),
        "{summary}"
    );
    assert_eq!(
        check["non_shop_pages_in_cases"],
        serde_json::json!([]),
        "{summary}"
    );

    // Independently, through `kuzet cases list` on the demo's database.
    let db = format!("sqlite://{}", dir.path().join("d/demo.db").display());
    let list = run(
        kuzet(dir.path()).args(["--db", &db, "--format", "json", "cases", "list"]),
        "",
    );
    assert!(list.status.success(), "{}", stderr(&list));
    let urls: Vec<String> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .flat_map(|c| {
            c["urls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    // The QR-only shop (reachable only through the QR code in a street photo) was found.
    assert!(
        urls.iter()
            .any(|u| u.contains("127.0.0.4") && u.ends_with("/dukhen.html")),
        "{urls:?}"
    );
    // The shop's web site, mirror, forum post and Telegram channel share handles: one case.
    let cases = stdout(&list).lines().count();
    assert_eq!(
        cases, 2,
        "expected the Snezhny Bars case and the QR-only shop: {urls:?}"
    );
    // Nothing from the civic host (news, pharmacy, hair dryers, bath salt, bookmarks, clinic).
    assert!(!urls.iter().any(|u| u.contains("127.0.0.5")), "{urls:?}");
    // The hostile host's failures were recorded by kind, not fatal.
    let errors = summary["errors"].to_string();
    // robots_denied: the hostile host's 2 MiB malformed robots.txt still yields its first rules.
    for kind in [
        "redirect_loop",
        "too_large",
        "out_of_scope",
        "timeout",
        "robots_denied",
    ] {
        assert!(errors.contains(kind), "{kind} missing from {errors}");
    }
}

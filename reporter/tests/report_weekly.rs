//! The weekly report on both backends: which cases, what each writer produces, the evidence
//! package and its manifest.

mod report_support;

use std::collections::BTreeSet;

use kuzet_reporter::report::{self, GenerateOptions, IsoWeek, ReportLimits, weekly};
use kuzet_storage::testing::TestDb;
use report_support::*;
use serde_json::Value;

fn w47() -> IsoWeek {
    "2026-W47".parse().unwrap()
}

#[tokio::test]
async fn the_week_holds_exactly_its_confirmed_cases() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let fx = week(db).await;
        let r = weekly::build(db, w47(), W47 + 8 * DAY).await.unwrap();
        let ids: Vec<i64> = r.cases.iter().map(|c| c.id).collect();
        assert_eq!(ids, [fx.case_a, fx.case_b], "{:?}", t.backend());
        assert!(r.complete);
        let a = &r.cases[0];
        assert_eq!(a.status, "confirmed");
        assert_eq!(a.confirmed_at, W47 + DAY + 2 * HOUR);
        assert_eq!(a.pages.len(), 2);
        // First and last seen are the case's earliest and latest fetch.
        assert_eq!(a.first_seen, Some(W47 - 2 * DAY));
        assert_eq!(a.last_seen, Some(W47 + 3 * HOUR));
        assert_eq!(a.pages[0].title.as_deref(), Some(HOSTILE_TITLE));
        // The newest verdict counts.
        assert_eq!(a.pages[0].verdict.as_ref().map(|v| v.score), Some(0.91));
        let warc = a.pages[0].warc.as_ref().unwrap();
        assert_eq!(warc.file, "2026/crawl-1.warc");
        let kinds: Vec<(&str, &str, usize)> = a
            .indicators
            .iter()
            .map(|i| (i.kind.as_str(), i.value.as_str(), i.pages))
            .collect();
        assert_eq!(
            kinds,
            [
                ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 1),
                ("telegram", "@shop_one", 2),
                ("url", "https://shop-one.kz/", 1),
            ]
        );
        let tg = &a.indicators[1];
        assert_eq!(
            (tg.first_seen, tg.last_seen),
            (W47 - 20 * DAY, W47 + 3 * HOUR)
        );
        let decisions: Vec<(Option<&str>, &str)> = a
            .reviews
            .iter()
            .map(|r| (r.reviewer.as_deref(), r.action.as_str()))
            .collect();
        assert_eq!(
            decisions,
            [(Some("aigerim"), "start"), (Some("aigerim"), "confirm")]
        );
        let b = &r.cases[1];
        assert_eq!(b.status, "forwarded");
        // Forwarding on Friday does not move the case: it counts from its confirmation.
        assert_eq!(b.confirmed_at, W47 + 2 * DAY);
        assert_eq!(b.reviews.len(), 3);

        // The week before holds case D (confirmed then, touched later); the week after nothing.
        let w46 = weekly::build(db, "2026-W46".parse().unwrap(), W47 + 8 * DAY)
            .await
            .unwrap();
        assert_eq!(
            w46.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            [fx.case_d]
        );
        let w48 = weekly::build(db, "2026-W48".parse().unwrap(), W47 + 8 * DAY)
            .await
            .unwrap();
        assert!(w48.cases.is_empty() && !w48.complete);

        // A case with no confirm review falls back to its updated_at.
        let e = fx.case_e;
        sqlx::query("UPDATE cases SET status = 'confirmed', updated_at = $1 WHERE id = $2")
            .bind(W47 + 6 * DAY)
            .bind(e)
            .execute(db.pool())
            .await
            .unwrap();
        let r = weekly::build(db, w47(), W47 + 8 * DAY).await.unwrap();
        assert_eq!(
            r.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            [fx.case_a, fx.case_b, e]
        );
        // The time zone moves the boundary: at UTC+5 Monday 00:00 UTC of W48 is already W48,
        // and 19:00 UTC on Sunday of W46 already belongs to W47.
        let limits = ReportLimits::default();
        let kz = weekly::build_with(db, w47(), 300, W47 + 8 * DAY, &limits)
            .await
            .unwrap();
        assert_eq!(kz.period_start, W47 - 5 * HOUR);
        let too_many = weekly::build_with(
            db,
            w47(),
            0,
            W47 + 8 * DAY,
            &ReportLimits {
                max_cases: 2,
                ..ReportLimits::default()
            },
        )
        .await;
        assert!(
            matches!(too_many, Err(report::ReportError::Limit { got: 3, .. })),
            "{too_many:?}"
        );
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn html_escapes_hostile_text_and_has_no_live_content() {
    let t = TestDb::sqlite().await.unwrap();
    let fx = week(&t.db).await;
    let r = weekly::build(&t.db, w47(), W47 + 8 * DAY).await.unwrap();
    let html = report::html::render(&r).unwrap();
    // Snapshot-style: the lines that carry crawled text, exactly.
    let h2 = html
        .lines()
        .find(|l| l.starts_with(&format!("<h2>Case #{}", fx.case_a)))
        .unwrap();
    assert_eq!(
        h2,
        format!(
            "<h2>Case #{}: Shop one &#60;b&#62;bold&#60;/b&#62;</h2>",
            fx.case_a
        )
    );
    let row = html.lines().find(|l| l.contains("Дүкен")).unwrap();
    assert!(
        row.contains(
            "<td>&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; Дүкен «Ақ қар» — ә ғ қ ң ө ұ ү һ і, закладки</td>"
        ),
        "{row}"
    );
    assert!(html.contains("прайс и закладки &#60;img src=x&#62;"));
    assert!(html.contains("https://shop-one.kz/catalog?a=1&#38;b=&#60;b&#62;"));
    // Nothing live: the only <script>, <img> or link would be the ones we escaped.
    let lower = html.to_lowercase();
    for needle in ["<script", "<img", "href=", "<a ", "<iframe"] {
        assert!(!lower.contains(needle), "{needle} in the HTML");
    }
    // Every tag in the document is one the template writes.
    let allowed = [
        "!doctype", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p",
        "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "br", "section",
    ];
    for (i, _) in html.match_indices('<') {
        let name: String = html[i + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>')
            .collect();
        let name = name.trim_start_matches('/').to_lowercase();
        assert!(
            allowed.contains(&name.as_str()),
            "unexpected tag <{name}> at {i}"
        );
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
    // The dismissed case's indicator is not there.
    assert!(!html.contains("innocent_cafe"));
}

#[tokio::test]
async fn package_on_both_backends_csv_stix_manifest_evidence() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let fx = week(db).await;
        let out = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            week: w47(),
            utc_offset_minutes: 0,
            out_dir: out.path().to_path_buf(),
            evidence_dir: fx.evidence_dir.clone(),
            actor: "cli".into(),
            limits: ReportLimits::default(),
        };
        let (r, g) = report::generate(db, &opts, W47 + 8 * DAY).await.unwrap();
        assert_eq!(g.cases, 2);
        let dir = out.path().join("kuzet-report-2026-W47");
        assert_eq!(g.package.dir, dir);

        // Manifest: the real sha256sum verifies every file, and every file is listed.
        let checked = sha256sum_check(&dir);
        let listed: BTreeSet<String> = checked
            .lines()
            .map(|l| l.trim_end_matches(": OK").to_string())
            .collect();
        let expected: BTreeSet<String> = [
            "kuzet-2026-W47.html",
            "kuzet-2026-W47.pdf",
            "kuzet-2026-W47.csv",
            "kuzet-2026-W47.stix.json",
            "evidence/index.json",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(
            fx.records
                .iter()
                .map(|(p, _)| format!("evidence/page-{p}.warc")),
        )
        .collect();
        assert_eq!(listed, expected);
        // reports row: the manifest's own hash.
        let manifest = std::fs::read(dir.join("MANIFEST.sha256")).unwrap();
        let (stored, week, dir_col): (String, String, String) = {
            let row =
                sqlx::query("SELECT manifest_sha256, week, out_dir FROM reports WHERE id = $1")
                    .bind(g.report_id)
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
            use sqlx::Row;
            (row.get(0), row.get(1), row.get(2))
        };
        assert_eq!(stored, sha256_hex(&manifest));
        assert_eq!(week, "2026-W47");
        assert_eq!(dir_col, dir.display().to_string());

        // Evidence: byte-exact WARC records.
        for (page, bytes) in &fx.records {
            let got = std::fs::read(dir.join(format!("evidence/page-{page}.warc"))).unwrap();
            assert_eq!(&got, bytes, "record of page {page}");
            assert!(got.starts_with(b"WARC/1.1\r\nWARC-Type: response"));
        }
        assert_eq!(g.package.records_copied(), 3);

        // CSV: one row per page of the two cases, and the cells match the report.
        let mut rdr = csv::Reader::from_path(dir.join("kuzet-2026-W47.csv")).unwrap();
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, report::csv::HEADER);
        let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let got: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r[col("case_id")].to_string(),
                    r[col("page_url")].to_string(),
                    r[col("content_sha256")].to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String, String)> = r
            .pages()
            .map(|(c, p)| (c.id.to_string(), p.url.clone(), p.content_hash.clone()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(&rows[0][col("page_title")], HOSTILE_TITLE);
        assert_eq!(&rows[0][col("confirmed_at")], "2026-11-17T02:00:00.000Z");
        assert!(rows[0][col("indicators")].contains("telegram:@shop_one"));
        assert!(rows[0][col("decisions")].contains("confirm by aigerim: прайс"));
        assert_eq!(&rows[2][col("case_status")], "forwarded");

        // STIX: a valid 2.1 bundle with the week's indicators and none of the others.
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(dir.join("kuzet-2026-W47.stix.json")).unwrap())
                .unwrap();
        let patterns = check_stix_bundle(&bundle);
        for p in [
            "[user-account:account_type = 'telegram' AND user-account:account_login = '@shop_one']",
            "[x-kuzet-crypto-wallet:currency = 'BTC' AND x-kuzet-crypto-wallet:value = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq']",
            "[url:value = 'https://shop-one.kz/']",
            "[x-kuzet-phone-number:value = '+77011234567']",
            "[domain-name:value = '2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion']",
        ] {
            assert!(patterns.contains(p), "missing {p} in {patterns:?}");
        }
        assert_eq!(patterns.len(), 5);
        let text = bundle.to_string();
        assert!(!text.contains("innocent_cafe") && !text.contains("old_shop"));
        // Deterministic: the same data gives the same bundle.
        assert_eq!(report::stix::bundle(&r), bundle);

        // Audit.
        let log = kuzet_reporter::audit::recent(db, 5).await.unwrap();
        assert_eq!(log[0].action, "report.generate");
        assert_eq!(log[0].target, format!("report:{}", g.report_id));

        // Running it again replaces the package (no stale files) and adds a reports row.
        std::fs::write(dir.join("stale.txt"), "x").unwrap();
        let (_, g2) = report::generate(db, &opts, W47 + 9 * DAY).await.unwrap();
        assert!(g2.report_id > g.report_id);
        assert!(!dir.join("stale.txt").exists());
        sha256sum_check(&dir);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn missing_and_unsafe_evidence_is_listed_not_fatal() {
    let t = TestDb::sqlite().await.unwrap();
    let db = &t.db;
    let fx = week(db).await;
    sqlx::query("UPDATE pages SET warc_file = '../../etc/passwd' WHERE id = $1")
        .bind(fx.records[0].0)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE pages SET warc_offset = 999999 WHERE id = $1")
        .bind(fx.records[1].0)
        .execute(db.pool())
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        week: w47(),
        utc_offset_minutes: 0,
        out_dir: out.path().to_path_buf(),
        evidence_dir: fx.evidence_dir.clone(),
        actor: "cli".into(),
        limits: ReportLimits {
            max_record_bytes: 10,
            ..ReportLimits::default()
        },
    };
    let (_, g) = report::generate(db, &opts, W47 + 8 * DAY).await.unwrap();
    let status: Vec<String> = g
        .package
        .evidence
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // page 1: unsafe path, page 2: too large (limit 10 bytes), page 3: too large.
    assert_eq!(status, ["skipped", "skipped", "skipped"]);
    let opts = GenerateOptions {
        limits: ReportLimits::default(),
        ..opts
    };
    let (_, g) = report::generate(db, &opts, W47 + 8 * DAY).await.unwrap();
    let items = &g.package.evidence;
    assert!(
        matches!(items[0].status, report::evidence::EvidenceStatus::Skipped(ref s) if s.contains("unsafe"))
    );
    assert!(
        matches!(items[1].status, report::evidence::EvidenceStatus::Missing(ref s) if s.contains("ends before"))
    );
    assert_eq!(items[2].status, report::evidence::EvidenceStatus::Copied);
    let index: Value =
        serde_json::from_slice(&std::fs::read(g.package.dir.join("evidence/index.json")).unwrap())
            .unwrap();
    assert_eq!(index.as_array().unwrap().len(), 3);
    sha256sum_check(&g.package.dir);
}

#[tokio::test]
async fn pdf_text_extracts_with_cyrillic_and_kazakh_letters() {
    let t = TestDb::sqlite().await.unwrap();
    week(&t.db).await;
    let r = weekly::build(&t.db, w47(), W47 + 8 * DAY).await.unwrap();
    let pdf = report::pdf::render(&r).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = match std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(
                std::env::var("KUZET_REQUIRE_PDFTOTEXT").as_deref() != Ok("1"),
                "KUZET_REQUIRE_PDFTOTEXT=1 but pdftotext cannot run: {e}"
            );
            eprintln!(
                "SKIPPED (pdf text check): pdftotext not available ({e}); apt-get install poppler-utils"
            );
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // Whitespace may differ in extraction; compare word by word.
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    for want in [
        "Kuzet — weekly report 2026-W47",
        "Еженедельный отчёт · Апталық есеп",
        "Дүкен «Ақ қар» — ә ғ қ ң ө ұ ү һ і, закладки",
        "<script>alert('x')</script>",
        "прайс и закладки <img src=x>",
        "telegram: @shop_one",
        "+77011234567",
    ] {
        assert!(
            joined.contains(want),
            "{want:?} not in the PDF text:\n{text}"
        );
    }
    assert!(!joined.contains("innocent_cafe"));
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn is_rfc3339_ms(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        && s.ends_with('Z')
}

/// Checks the structure STIX 2.1 requires of the objects kuzet writes; returns the patterns.
fn check_stix_bundle(b: &Value) -> BTreeSet<String> {
    assert_eq!(b["type"], "bundle");
    assert!(
        b.get("spec_version").is_none(),
        "bundles have no spec_version in 2.1"
    );
    let id_ok = |id: &str, ty: &str| {
        id.strip_prefix(&format!("{ty}--"))
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .is_some()
    };
    assert!(id_ok(b["id"].as_str().unwrap(), "bundle"));
    let objects = b["objects"].as_array().unwrap();
    let ids: BTreeSet<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    let mut patterns = BTreeSet::new();
    for o in objects {
        let ty = o["type"].as_str().unwrap();
        let id = o["id"].as_str().unwrap();
        assert!(id_ok(id, ty), "{id}");
        assert_eq!(o["spec_version"], "2.1", "{id}");
        let sdo = [
            "identity",
            "indicator",
            "observed-data",
            "report",
            "extension-definition",
        ]
        .contains(&ty);
        if sdo {
            for k in ["created", "modified"] {
                assert!(is_rfc3339_ms(o[k].as_str().unwrap()), "{id} {k}");
            }
            assert!(o["created"].as_str() <= o["modified"].as_str(), "{id}");
        }
        if let Some(r) = o.get("created_by_ref") {
            assert!(
                ids.contains(r.as_str().unwrap()),
                "{id}: dangling created_by_ref"
            );
        }
        match ty {
            "indicator" => {
                assert_eq!(o["pattern_type"], "stix");
                assert!(is_rfc3339_ms(o["valid_from"].as_str().unwrap()));
                assert!(
                    o["indicator_types"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                );
                let p = o["pattern"].as_str().unwrap();
                assert!(p.starts_with('[') && p.ends_with(']'), "{p}");
                patterns.insert(p.to_string());
            }
            "observed-data" => {
                let first = o["first_observed"].as_str().unwrap();
                let last = o["last_observed"].as_str().unwrap();
                assert!(is_rfc3339_ms(first) && is_rfc3339_ms(last) && first <= last);
                assert!(o["number_observed"].as_u64().unwrap() >= 1);
                let refs = o["object_refs"].as_array().unwrap();
                assert!(!refs.is_empty());
                for r in refs {
                    assert!(ids.contains(r.as_str().unwrap()), "{id}: dangling {r}");
                }
            }
            "report" => {
                assert!(is_rfc3339_ms(o["published"].as_str().unwrap()));
                for r in o["object_refs"].as_array().unwrap() {
                    assert!(ids.contains(r.as_str().unwrap()), "{id}: dangling {r}");
                }
            }
            "identity" => assert!(o["name"].is_string()),
            "extension-definition" => {
                assert_eq!(o["extension_types"], serde_json::json!(["new-sco"]));
                assert!(o["schema"].is_string() && o["version"].is_string());
            }
            _ => {
                // Cyber-observables: no created/modified, and at least one property besides
                // type, id and spec_version.
                assert!(o.get("created").is_none(), "{id}");
                assert!(o.as_object().unwrap().len() > 3, "{id}");
                // Custom types name the extension that defines them.
                if ty.starts_with("x-") {
                    let ext = o["extensions"].as_object().unwrap();
                    assert!(ext.keys().all(|k| ids.contains(k.as_str())), "{id}");
                    assert!(ext.values().all(|v| v["extension_type"] == "new-sco"));
                }
            }
        }
    }
    patterns
}

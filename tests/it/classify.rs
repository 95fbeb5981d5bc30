//! `kuzet classify`, `kuzet rules test`, `kuzet eval pages` driving the real binary.

use crate::util::{kuzet, run, stderr, stdout};

const SHOP: &str = "<html><head><title>Зима</title></head><body><p>Кл\u{2060}aды в каждом районе: м3ф 1г — 16 000 ₸, гaш 1г — 9 000 ₸.</p><p>Адрес через 5 минут. Оплата BTC. Бот <a href=\"https://t.me/zima_shop_bot\">@zima_shop_bot</a></p></body></html>";
const NEWS: &str = "Полиция задержала закладчика: по данным следствия, он продавал «соль» и мефедрон. Возбуждено уголовное дело. Сообщите о наркотиках по номеру 102.";

fn lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn classify_walks_directories_and_reports_errors_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("pages/sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(sub.join("shop.html"), SHOP).expect("write");
    std::fs::write(dir.path().join("pages/news.txt"), NEWS).expect("write");
    std::fs::write(dir.path().join("pages/ignored.png"), [0u8; 10]).expect("write");
    std::fs::write(dir.path().join("pages/binary.html"), [0u8, 1, 2, 255, 0, 7]).expect("write");
    let out = run(
        kuzet(dir.path()).args(["classify", "--format", "json", "pages", "missing.html"]),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = lines(&stdout(&out));
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let by = |suffix: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no row for {suffix}: {rows:#?}"))
    };
    let shop = by("shop.html");
    assert_eq!(shop["verdict"], "shop");
    let score = shop["score"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&score));
    assert!(
        shop["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["rule"] == "deaddrop.klad"))
    );
    assert!(
        shop["indicators"]
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x["value"] == "@zima_shop_bot"))
    );
    assert_eq!(by("news.txt")["verdict"], "clean");
    assert!(
        by("binary.html")["error"]
            .as_str()
            .is_some_and(|e| e.contains("binary"))
    );
    assert!(by("missing.html")["error"].is_string());
}

#[test]
fn rules_test_passes_on_defaults_and_fails_loudly_on_a_bad_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = run(kuzet(dir.path()).args(["rules", "test"]), "");
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).contains("0 failed"));
    let extra = "[[rule]]\nid = \"t.bad\"\ndescription = \"x\"\ncategory = \"substance\"\nweight = 1.0\nterms = [\"зефирка\"]\nmust_match = [\"пастила\"]\n";
    std::fs::write(dir.path().join("extra.toml"), extra).expect("write");
    let bad = run(
        kuzet(dir.path()).args(["rules", "test", "--extend-rules", "extra.toml"]),
        "",
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("FAIL t.bad"), "{}", stdout(&bad));
    let broken = run(
        kuzet(dir.path()).args(["rules", "test", "--rules", "nope.toml"]),
        "",
    );
    assert_eq!(broken.status.code(), Some(2));
}

#[test]
fn eval_pages_prints_precision_recall_and_confusion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("c/pages");
    std::fs::create_dir_all(&pages).expect("mkdir");
    std::fs::write(pages.join("a.html"), SHOP).expect("write");
    std::fs::write(pages.join("b.html"), format!("<p>{NEWS}</p>")).expect("write");
    std::fs::write(
        dir.path().join("c/labels.csv"),
        "id,label,notes\na,shop,x\nb,not_shop,\"q, r\"\n",
    )
    .expect("write");
    let out = run(
        kuzet(dir.path()).args(["eval", "pages", "--corpus", "c", "--format", "json"]),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row = &lines(&stdout(&out))[0];
    assert_eq!(row["precision"], 1.0);
    assert_eq!(row["recall"], 1.0);
    assert_eq!(row["confusion"]["tp"], 1);
    assert_eq!(row["confusion"]["tn"], 1);
}

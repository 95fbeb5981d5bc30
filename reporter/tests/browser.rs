//! End-to-end review in real headless Chromium through chromedriver (WebDriver).
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (CI's `.ci/run` installs them).
//! Without `chromedriver` on PATH the test prints `SKIPPED (browser)` and passes, unless
//! `KUZET_REQUIRE_BROWSER=1`, which turns the absence into a failure. Screenshots (and the files
//! the browser downloaded) are kept in `target/test-artifacts/browser/`.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use kuzet_reporter::report::IsoWeek;
use kuzet_reporter::web::{self, AppState, WebConfig};
use kuzet_storage::testing::TestDb;

fn find_on_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|f| f.is_file())
    })
}

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("test-artifacts").join("browser"))
        .unwrap_or_else(|| PathBuf::from("test-artifacts/browser"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn review_a_case_with_the_keyboard_approve_it_and_download_the_weekly_report() {
    let Some(driver_bin) = find_on_path("chromedriver") else {
        assert!(
            std::env::var("KUZET_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "KUZET_REQUIRE_BROWSER=1 but chromedriver is not on PATH (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "SKIPPED (browser): chromedriver not found; apt-get install chromium chromium-driver"
        );
        return;
    };
    let t = TestDb::sqlite().await.unwrap();
    common::users(&t.db).await;
    let (cases, _) = common::world(&t.db).await;
    let reports = tempfile::tempdir().unwrap();
    let state = AppState::new(
        t.db.clone(),
        WebConfig {
            report_dir: Some(reports.path().to_path_buf()),
            ..WebConfig::default()
        },
    );
    let offset = state.cfg.report_utc_offset_minutes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    // chromedriver on a free loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut opts = serde_json::json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1000",
            format!("--user-data-dir={}", profile.path().display()),
        ]
    });
    // Downloads land in the artifacts folder without a prompt.
    let out = artifacts();
    let downloads = out.join("downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).unwrap();
    opts["prefs"] = serde_json::json!({
        "download.default_directory": downloads.display().to_string(),
        "download.prompt_for_download": false,
        "download.directory_upgrade": true,
        "safebrowsing.enabled": false,
    });
    if let Some(bin) = find_on_path("chromium") {
        opts["binary"] = serde_json::Value::String(bin.display().to_string());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("start a chromium session");
    let shot = |name: &'static str| {
        let c = c.clone();
        let out = out.clone();
        async move {
            let png = c.screenshot().await.unwrap();
            std::fs::write(out.join(format!("{name}.png")), png).unwrap();
        }
    };
    let login = |name: &'static str| {
        let c = c.clone();
        let base = base.clone();
        async move {
            c.goto(&format!("{base}/login")).await.unwrap();
            c.find(Locator::Id("name"))
                .await
                .unwrap()
                .send_keys(name)
                .await
                .unwrap();
            c.find(Locator::Id("password"))
                .await
                .unwrap()
                .send_keys(common::PASSWORD)
                .await
                .unwrap();
            c.find(Locator::Id("login"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            c.wait()
                .for_element(Locator::Css("table.queue"))
                .await
                .unwrap();
        }
    };
    let selected = || {
        let c = c.clone();
        async move {
            c.find(Locator::Css("tr.sel"))
                .await
                .unwrap()
                .attr("id")
                .await
                .unwrap()
                .unwrap_or_default()
        }
    };
    let key = |k: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css("body"))
                .await
                .unwrap()
                .send_keys(k)
                .await
                .unwrap();
        }
    };

    let click = |css: String| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(&css))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
    };
    let logout = || {
        let c = c.clone();
        async move {
            c.find(Locator::Css("form.logout button"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            c.wait().for_element(Locator::Id("login")).await.unwrap();
        }
    };
    // Analyst 1: log in, open the queue, move with j/k, open with Enter, confirm with c.
    login("aigerim").await;
    shot("1-queue").await;
    let first = format!("case-{}", cases[0]);
    assert_eq!(
        selected().await,
        first,
        "the top case (best score) starts selected"
    );
    key("j").await;
    assert_ne!(selected().await, first, "j moves down");
    key("k").await;
    assert_eq!(selected().await, first, "k moves up");
    key("\u{E007}").await; // Enter
    c.wait()
        .for_element(Locator::Id("form-confirm"))
        .await
        .unwrap();
    let html = c.source().await.unwrap();
    assert!(
        !html.contains("<svg onload"),
        "hostile text stays inert in the live DOM"
    );
    shot("2-case").await;
    // n focuses the note field, d the dismissal reason (Escape leaves a field).
    for (k, field) in [("n", "note-text"), ("d", "dismiss-reason")] {
        key(k).await;
        let active = c.active_element().await.unwrap().attr("id").await.unwrap();
        assert_eq!(active.as_deref(), Some(field), "{k} focuses {field}");
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E00C}")
            .await
            .unwrap();
    }
    key("c").await;
    c.wait()
        .for_element(Locator::Css("table.queue"))
        .await
        .unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM cases WHERE id = $1")
        .bind(cases[0])
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "confirmed");
    shot("3-after-confirm").await;
    // The confirming analyst gets no approve button.
    c.goto(&format!("{base}/cases/{}", cases[0])).await.unwrap();
    assert!(c.find(Locator::Id("form-approve")).await.is_err());
    logout().await;

    // Analyst 2: approve forwarding with the keyboard.
    login("bolat").await;
    c.goto(&format!("{base}/cases/{}", cases[0])).await.unwrap();
    c.wait()
        .for_element(Locator::Id("form-approve"))
        .await
        .unwrap();
    key("a").await;
    c.wait().for_element(Locator::Id("approved")).await.unwrap();
    shot("4-approved").await;
    let approvals: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews r JOIN users u ON u.id = r.user_id \
         WHERE r.case_id = $1 AND r.action = 'approve_forward' AND u.name = 'bolat'",
    )
    .bind(cases[0])
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(approvals, 1);
    logout().await;

    // Liaison: generate this week's report on the Reports page and download it.
    login("dana").await;
    c.find(Locator::LinkText("Reports"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let week_field = c
        .wait()
        .for_element(Locator::Css("form#generate input[name=week]"))
        .await
        .unwrap();
    let week = IsoWeek::containing(kuzet_storage::now_ms(), offset).to_string();
    week_field.clear().await.unwrap();
    week_field.send_keys(&week).await.unwrap();
    click("form#generate button".to_string()).await;
    c.wait()
        .for_element(Locator::Css("a.dl-package"))
        .await
        .unwrap();
    shot("5-reports").await;
    let (report_id, by): (i64, String) =
        sqlx::query_as("SELECT id, generated_by FROM reports ORDER BY id DESC LIMIT 1")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(by, "dana");
    let pkg = reports.path().join(format!("kuzet-report-{week}"));
    let stem = format!("kuzet-{week}");
    for (kind, file) in [
        ("html", format!("{stem}.html")),
        ("csv", format!("{stem}.csv")),
        ("pdf", format!("{stem}.pdf")),
        ("package", format!("kuzet-report-{week}.tar")),
    ] {
        click(format!("#report-{report_id} a.dl-{kind}")).await;
        let path = downloads.join(&file);
        let mut done = false;
        for _ in 0..200 {
            if path.is_file() && !downloads.join(format!("{file}.crdownload")).exists() {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(done, "the browser downloaded {file}");
        let got = std::fs::read(&path).unwrap();
        if kind == "package" {
            assert_eq!(&got[257..263], b"ustar\0", "a tar file");
            assert!(got.windows(15).any(|w| w == b"MANIFEST.sha256"));
        } else {
            assert_eq!(
                got,
                std::fs::read(pkg.join(&file)).unwrap(),
                "{file} as written"
            );
        }
    }
    // Open the downloaded HTML report in the browser: the confirmed case is there, inert.
    c.goto(&format!(
        "file://{}",
        downloads.join(format!("{stem}.html")).display()
    ))
    .await
    .unwrap();
    let text = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("evil.test"), "{text}");
    assert!(
        text.contains(common::XSS_TITLE),
        "the hostile title shows as text"
    );
    shot("6-report-html").await;

    c.close().await.unwrap();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

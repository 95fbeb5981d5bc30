//! Router-level tests of the web UI and API: the route × role × method matrix, CSRF, inert
//! hostile content, security headers, sessions, rate limiting, evidence downloads.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use kuzet_reporter::cases::fixture;
use kuzet_reporter::cases::{self, Action, Actor};
use kuzet_reporter::users::Role;
use kuzet_reporter::web::{self, AppState, CSP, ROUTES, WebConfig};
use kuzet_storage::testing::TestDb;
use tower::ServiceExt;

struct World {
    _t: TestDb,
    app: Router,
    state: AppState,
    cases: Vec<i64>,
    pages: Vec<i64>,
    image: i64,
    users: Vec<(Role, String, i64)>,
    _dir: tempfile::TempDir,
}

async fn world_with(cfg: WebConfig) -> World {
    let t = TestDb::sqlite().await.unwrap();
    let users = common::users(&t.db).await;
    let (cases, pages) = common::world(&t.db).await;
    let dir = tempfile::tempdir().unwrap();
    // Evidence: a WARC file and an image with HTML appended after the pixels.
    std::fs::write(
        dir.path().join("crawl.warc"),
        b"JUNKWARC/1.1\r\nWARC-Type: response\r\n\r\nbodyTAIL",
    )
    .unwrap();
    fixture::warc(&t.db, pages[0], "crawl.warc", 4, 37)
        .await
        .unwrap();
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let mut bytes = png.into_inner();
    bytes.extend_from_slice(b"<script>alert('polyglot')</script>");
    let ip = dir.path().join("qr.png");
    std::fs::write(&ip, &bytes).unwrap();
    let image = fixture::image(
        &t.db,
        pages[0],
        ip.to_str().unwrap(),
        &"a".repeat(64),
        &["<svg onload=alert('qr')>"],
    )
    .await
    .unwrap();
    // Confirm the first case so liaisons can see it.
    let a = &users[1];
    cases::apply(
        &t.db,
        &Actor::user(a.2, &a.1),
        cases[0],
        &Action::Confirm(String::new()),
    )
    .await
    .unwrap();
    let cfg = WebConfig {
        evidence_dir: Some(dir.path().to_path_buf()),
        report_dir: Some(dir.path().join("reports")),
        ..cfg
    };
    let state = AppState::new(t.db.clone(), cfg);
    World {
        app: web::app(state.clone()),
        state,
        _t: t,
        cases,
        pages,
        image,
        users,
        _dir: dir,
    }
}

async fn world() -> World {
    world_with(WebConfig::default()).await
}

async fn body(res: Response<Body>) -> String {
    String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned()
}

fn with_ip(mut req: Request<Body>, ip: [u8; 4]) -> Request<Body> {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 4000))));
    req
}

fn set_cookie_value(res: &Response<Body>, name: &str) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.to_string())
}

/// Logs in through the API; returns (cookie header value, csrf token).
async fn login(app: &Router, name: &str) -> (String, String) {
    let req = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"name":"{name}","password":"{}"}}"#,
            common::PASSWORD
        )))
        .unwrap();
    let res = app
        .clone()
        .oneshot(with_ip(req, [10, 0, 0, 1]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "login {name}");
    let c = set_cookie_value(&res, "kuzet_session").unwrap();
    let cookie = c.split(';').next().unwrap().to_string();
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    (cookie, v["csrf"].as_str().unwrap().to_string())
}

fn concrete(path: &str, w: &World) -> String {
    let id = if path.starts_with("/images/") {
        w.image
    } else if path.starts_with("/pages/") {
        w.pages[0]
    } else if path.starts_with("/admin/") || path.starts_with("/volunteer/") {
        // No such user or photo: the check is about access, not about disabling anyone.
        999_999
    } else {
        w.cases[0]
    };
    path.replace("{id}", &id.to_string())
        .replace("{kind}", "csv")
}

/// A GET with the session cookie, through the router.
async fn get(app: &Router, path: &str, cookie: &str) -> Response<Body> {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap()
}

/// A urlencoded form POST with the session cookie (the body carries the CSRF field, or not).
async fn post_form(app: &Router, path: &str, cookie: &str, form: &str) -> Response<Body> {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    app.clone().oneshot(req).await.unwrap()
}

/// A JSON POST with the session cookie and the CSRF header.
async fn post_json(
    app: &Router,
    path: &str,
    cookie: &str,
    csrf: &str,
    json: &str,
) -> Response<Body> {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json.to_string()))
        .unwrap();
    app.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn every_route_times_every_role_is_allowed_or_denied_as_the_table_says() {
    let w = world().await;
    let mut sessions = Vec::new();
    for (role, name, _) in &w.users {
        sessions.push((Some(*role), Some(login(&w.app, name).await)));
    }
    sessions.push((None, None));
    let mut checked = 0;
    for rule in ROUTES {
        for (role, sess) in &sessions {
            let path = concrete(rule.path, &w);
            // Logging out ends the session: use a throw-away one.
            let fresh;
            let sess = match (rule.path, role) {
                ("/logout", Some(r)) => {
                    let name = &w.users.iter().find(|u| u.0 == *r).unwrap().1;
                    fresh = Some(login(&w.app, name).await);
                    &fresh
                }
                _ => sess,
            };
            let mut req = Request::builder().method(rule.method).uri(&path);
            if let Some((cookie, csrf)) = sess {
                req = req
                    .header(header::COOKIE, cookie)
                    .header("x-csrf-token", csrf);
            }
            if rule.method == "POST" {
                req = req.header(header::CONTENT_TYPE, "application/json");
            }
            let res = w
                .app
                .clone()
                .oneshot(with_ip(req.body(Body::from("{}")).unwrap(), [10, 0, 0, 9]))
                .await
                .unwrap();
            let denied = res
                .headers()
                .get("x-kuzet-denied")
                .map(|v| v.to_str().unwrap().to_string());
            let what = format!("{} {} as {role:?} → {}", rule.method, path, res.status());
            if rule.roles.is_empty() {
                assert_eq!(denied, None, "public route: {what}");
            } else {
                match role {
                    None => {
                        assert_eq!(denied.as_deref(), Some("login"), "{what}");
                        assert!(
                            matches!(
                                res.status(),
                                StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER
                            ),
                            "{what}"
                        );
                    }
                    Some(r) if rule.roles.contains(r) => {
                        assert_eq!(denied, None, "allowed: {what}");
                        assert_ne!(res.status(), StatusCode::FORBIDDEN, "{what}");
                    }
                    Some(_) => {
                        assert_eq!(denied.as_deref(), Some("role"), "denied: {what}");
                        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 6);
    // A method the table does not list for a path is refused (fail closed).
    let (cookie, _) = login(&w.app, "root").await;
    let res = w
        .app
        .clone()
        .oneshot(
            Request::delete("/queue")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::FORBIDDEN
        ),
        "{}",
        res.status()
    );
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_are_refused() {
    let w = world().await;
    let (cookie, csrf) = login(&w.app, "aigerim").await;
    let url = format!("/cases/{}/note", w.cases[1]);
    let post = |body: String, extra: Option<(&'static str, String)>| {
        let mut r = Request::post(&url)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((k, v)) = extra {
            r = r.header(k, v);
        }
        r.body(Body::from(body)).unwrap()
    };
    for (req, why) in [
        (post("text=hello".into(), None), "missing"),
        (post("text=hello&csrf=0000".into(), None), "wrong field"),
        (
            post("text=hello".into(), Some(("x-csrf-token", "bad".into()))),
            "wrong header",
        ),
    ] {
        let res = w.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{why}");
        assert_eq!(res.headers()["x-kuzet-denied"], "csrf", "{why}");
    }
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE action = 'note'")
        .fetch_one(w.state.db.pool())
        .await
        .unwrap();
    assert_eq!(notes, 0, "refused posts changed nothing");
    let res = w
        .app
        .clone()
        .oneshot(post(format!("text=hello&csrf={csrf}"), None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // API: JSON without the header is refused.
    let res = w
        .app
        .clone()
        .oneshot(
            Request::post(format!("/api/cases/{}/note", w.cases[1]))
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"text":"x"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Login form without the double-submit cookie is refused.
    let res = w
        .app
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "name=aigerim&password={}&csrf=abc",
                    common::PASSWORD
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_value(&res, "kuzet_session").is_none());
}

#[tokio::test]
async fn hostile_page_content_is_shown_inert() {
    let w = world().await;
    let (cookie, _) = login(&w.app, "root").await;
    for path in [
        "/queue?status=all".to_string(),
        format!("/cases/{}", w.cases[0]),
    ] {
        let res = get(&w.app, &path, &cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        let html = body(res).await;
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only our own script tag: {path}"
        );
        assert!(html.contains(r#"<script src="/assets/app.js" defer></script>"#));
        for bad in [
            "<svg",
            "javascript:alert(1)\"",
            "href=\"javascript:",
            "<img src=x",
        ] {
            assert!(!html.contains(bad), "{bad} leaked on {path}");
        }
        for href in html.split("href=\"").skip(1) {
            assert!(
                href.starts_with('/'),
                "only our own links: {}",
                &href[..href.len().min(40)]
            );
        }
        // Entities normalised (askama writes `&#60;`); checked only for the escaped forms.
        let norm = html
            .replace("&#60;", "&lt;")
            .replace("&#62;", "&gt;")
            .replace("&#39;", "'")
            .replace("&#x27;", "'");
        assert!(
            norm.contains("&lt;script&gt;alert('ind')&lt;/script&gt;"),
            "escaped indicator on {path}"
        );
        if path.starts_with("/cases/") {
            assert!(
                norm.contains("&lt;script&gt;alert('title')&lt;/script&gt;"),
                "title escaped"
            );
            assert!(
                norm.contains("&lt;script&gt;alert(\"text\")&lt;/script&gt;")
                    || norm.contains("&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt;"),
                "text escaped"
            );
            assert!(
                norm.contains("<mark title=\"xss.svg\">&lt;svg onload=alert(1)&gt;</mark>"),
                "highlight is escaped text in <mark>"
            );
            assert!(norm.contains("<mark title=\"drug.mef\">мефедрон</mark>"));
            assert!(
                norm.contains("&lt;svg onload=alert('qr')&gt;"),
                "QR text escaped"
            );
            assert!(html.contains(&format!("<img src=\"/images/{}\"", w.image)));
        }
    }
    // The API returns JSON (not HTML) with the values as data.
    let res = get(&w.app, &format!("/api/cases/{}", w.cases[0]), &cookie).await;
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["summary"]["title"], common::XSS_TITLE);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let w = world().await;
    let (cookie, _) = login(&w.app, "root").await;
    for path in [
        "/login",
        "/queue",
        "/nope",
        "/assets/app.js",
        "/assets/app.css",
        "/api/cases",
        "/audit",
    ] {
        for auth in [true, false] {
            let mut r = Request::get(path);
            if auth {
                r = r.header(header::COOKIE, &cookie);
            }
            let res = w
                .app
                .clone()
                .oneshot(r.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let h = res.headers();
            assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP, "{path}");
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
            assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{path}");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        }
    }
    let res = w
        .app
        .clone()
        .oneshot(Request::get("/assets/app.js").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn login_rotates_the_session_token_and_stores_only_its_hash() {
    let w = world_with(WebConfig {
        secure_cookies: true,
        ..WebConfig::default()
    })
    .await;
    // The login form sets the double-submit cookie.
    let res = w
        .app
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let lc = set_cookie_value(&res, "kuzet_login").unwrap();
    let ltok = lc
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("kuzet_login=")
        .to_string();
    assert!(body(res).await.contains(&ltok));
    // An attacker plants a session cookie; logging in must not adopt it.
    let planted = "ab".repeat(32);
    let mut tokens = Vec::new();
    let mut presented = format!("kuzet_session={planted}; kuzet_login={ltok}");
    for _ in 0..2 {
        let req = Request::post("/login")
            .header(header::COOKIE, &presented)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={ltok}&name=bolat&password=correct+horse+battery"
            )))
            .unwrap();
        let res = w
            .app
            .clone()
            .oneshot(with_ip(req, [10, 1, 1, 1]))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let c = set_cookie_value(&res, "kuzet_session").unwrap();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(c.contains(attr), "{attr} in {c}");
        }
        let tok = c
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("kuzet_session=")
            .to_string();
        assert_ne!(tok, planted);
        presented = format!("kuzet_session={tok}; kuzet_login={ltok}");
        tokens.push(tok);
    }
    assert_ne!(tokens[0], tokens[1], "a new token per login");
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(w.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        hashes.len(),
        1,
        "the previous session was ended: {hashes:?}"
    );
    assert_eq!(hashes[0], web::session::token_hash(&tokens[1]));
    for (tok, ok) in [(&tokens[0], false), (&planted, false), (&tokens[1], true)] {
        let res = w
            .app
            .clone()
            .oneshot(
                Request::get("/queue")
                    .header(header::COOKIE, format!("kuzet_session={tok}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status() == StatusCode::OK, ok, "{tok}");
    }
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_ip_and_name() {
    let w = world_with(WebConfig {
        login_max_failures: 3,
        ..WebConfig::default()
    })
    .await;
    let attempt = |pw: &str, ip: [u8; 4]| {
        with_ip(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"name":"aigerim","password":"{pw}"}}"#
                )))
                .unwrap(),
            ip,
        )
    };
    for _ in 0..3 {
        let res = w
            .app
            .clone()
            .oneshot(attempt("wrong", [10, 9, 9, 9]))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = w
        .app
        .clone()
        .oneshot(attempt(common::PASSWORD, [10, 9, 9, 9]))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(set_cookie_value(&res, "kuzet_session").is_none());
    let res = w
        .app
        .clone()
        .oneshot(attempt(common::PASSWORD, [10, 9, 9, 8]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "another IP is another key");
    let log = kuzet_reporter::audit::recent(&w.state.db, 100)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "user.login_failed")
            .count(),
        3
    );
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "user.login_limited")
            .count(),
        1
    );
}

#[tokio::test]
async fn api_mirrors_the_workflow_with_four_eyes_and_liaison_visibility() {
    let w = world().await;
    let (c1, t1) = login(&w.app, "aigerim").await;
    let (c2, t2) = login(&w.app, "bolat").await;
    let (cl, tl) = login(&w.app, "dana").await;
    let (ca, _) = login(&w.app, "root").await;
    let call = |cookie: &str, csrf: &str, path: String, json: &str| {
        Request::post(path)
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string()))
            .unwrap()
    };
    let id = w.cases[1];
    // Liaisons cannot see unconfirmed cases.
    let res = get(&w.app, &format!("/api/cases/{id}"), &cl).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = w
        .app
        .clone()
        .oneshot(call(&c1, &t1, format!("/api/cases/{id}/confirm"), "{}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body(res).await.contains("\"confirmed\""));
    let res = w
        .app
        .clone()
        .oneshot(call(&c1, &t1, format!("/api/cases/{id}/approve"), "{}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "own approval refused");
    let res = w
        .app
        .clone()
        .oneshot(call(&cl, &tl, format!("/api/cases/{id}/forward"), "{}"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "no approval yet");
    let res = w
        .app
        .clone()
        .oneshot(call(
            &c2,
            &t2,
            format!("/api/cases/{id}/approve"),
            r#"{"note":"agree"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = w
        .app
        .clone()
        .oneshot(call(
            &cl,
            &tl,
            format!("/api/cases/{id}/forward"),
            r#"{"text":"KNB"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body(res).await.contains("forwarded"));
    // Liaison queue: only confirmed and forwarded.
    let res = get(&w.app, "/api/cases?status=all", &cl).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&body(res).await).unwrap();
    assert!(
        !v.is_empty()
            && v.iter()
                .all(|c| c["status"] == "confirmed" || c["status"] == "forwarded"),
        "{v:?}"
    );
    // Bulk: per-item results, a bad item does not stop the batch.
    let other = w.cases[2];
    let res = w
        .app
        .clone()
        .oneshot(call(
            &c1,
            &t1,
            "/api/cases/bulk".into(),
            &format!(r#"{{"ids":[{id},{other}],"action":"dismiss","reason":"dup"}}"#),
        ))
        .await
        .unwrap();
    let v: Vec<serde_json::Value> = serde_json::from_str(&body(res).await).unwrap();
    assert!(
        v[0]["error"].is_string(),
        "forwarded cannot be dismissed: {v:?}"
    );
    assert_eq!(v[1]["status"], "dismissed");
    // The audit log, for admins.
    let res = get(&w.app, "/api/audit?limit=200", &ca).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&body(res).await).unwrap();
    for a in [
        "case.confirm",
        "case.approve_forward",
        "case.forward",
        "case.dismiss",
        "user.login",
    ] {
        assert!(v.iter().any(|e| e["action"] == a), "{a} audited");
    }
}

#[tokio::test]
async fn images_are_reencoded_and_warc_records_served_exactly() {
    let w = world().await;
    let (cookie, _) = login(&w.app, "aigerim").await;
    let res = get(&w.app, &format!("/images/{}", w.image), &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(
        !bytes.windows(7).any(|w| w == b"<script"),
        "appended payload dropped by re-encoding"
    );
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (4, 4));
    // An SVG file is never served.
    let svg = w._dir.path().join("x.svg");
    std::fs::write(
        &svg,
        "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    )
    .unwrap();
    let sid = fixture::image(
        &w.state.db,
        w.pages[0],
        svg.to_str().unwrap(),
        &"b".repeat(64),
        &[],
    )
    .await
    .unwrap();
    let res = get(&w.app, &format!("/images/{sid}"), &cookie).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = get(&w.app, &format!("/pages/{}/warc", w.pages[0]), &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/warc");
    assert!(
        res.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        body(res).await,
        "WARC/1.1\r\nWARC-Type: response\r\n\r\nbody"
    );
}

#[tokio::test]
async fn a_real_server_serves_forms_end_to_end_and_shuts_down() {
    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, w.state.clone(), async {
        let _ = rx.await;
    }));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("name=\"csrf\""));
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// `/healthz` and `/metrics` answer without a session and report what the database holds.
#[tokio::test]
async fn healthz_and_metrics_report_the_database() {
    let w = world().await;
    let res = w
        .app
        .clone()
        .oneshot(with_ip(
            Request::get("/healthz").body(Body::empty()).unwrap(),
            [10, 0, 0, 2],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "ok\n");
    let res = w
        .app
        .clone()
        .oneshot(with_ip(
            Request::get("/metrics").body(Body::empty()).unwrap(),
            [10, 0, 0, 2],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = body(res).await;
    let pages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
        .fetch_one(w.state.db.pool())
        .await
        .unwrap();
    assert!(pages > 0);
    assert!(text.contains(&format!("kuzet_pages {pages}\n")), "{text}");
    assert!(
        text.contains("kuzet_cases{status=\"confirmed\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("kuzet_queue_urls "), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

/// Liaisons list, generate (CSRF-checked, audited) and download weekly reports; downloads are
/// attachments with their content types, served only from files recorded for the report.
#[tokio::test]
async fn liaisons_generate_and_download_weekly_reports() {
    let w = world().await;
    let (cookie, csrf) = login(&w.app, "dana").await;
    let week = kuzet_reporter::report::IsoWeek::containing(
        kuzet_storage::now_ms(),
        w.state.cfg.report_utc_offset_minutes,
    )
    .to_string();
    let res = get(&w.app, "/reports", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body(res).await;
    assert!(html.contains("id=\"generate\""), "{html}");
    assert!(html.contains("No reports yet."), "{html}");
    // No CSRF field: refused, nothing generated.
    let res = post_form(&w.app, "/reports", &cookie, &format!("week={week}")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["x-kuzet-denied"], "csrf");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(w.state.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    // A bad week is a 400.
    let res = post_form(
        &w.app,
        "/reports",
        &cookie,
        &format!("week=2026-W99&csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = post_form(
        &w.app,
        "/reports",
        &cookie,
        &format!("week={week}&csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let (id, by): (i64, String) =
        sqlx::query_as("SELECT id, generated_by FROM reports ORDER BY id DESC LIMIT 1")
            .fetch_one(w.state.db.pool())
            .await
            .unwrap();
    assert_eq!(by, "dana");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'report.generate' AND actor = 'dana' AND target = $1",
    )
    .bind(format!("report:{id}"))
    .fetch_one(w.state.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let html = body(get(&w.app, "/reports", &cookie).await).await;
    for k in ["html", "pdf", "csv", "stix", "package"] {
        assert!(
            html.contains(&format!("href=\"/reports/{id}/{k}\"")),
            "{k}: {html}"
        );
    }
    // The API lists the same report with its files and download links.
    let v: serde_json::Value =
        serde_json::from_str(&body(get(&w.app, "/api/reports", &cookie).await).await).unwrap();
    assert_eq!(v[0]["id"], id);
    assert_eq!(v[0]["week"], week.as_str());
    assert_eq!(v[0]["downloads"]["pdf"], format!("/reports/{id}/pdf"));
    let dir = w
        ._dir
        .path()
        .join("reports")
        .join(format!("kuzet-report-{week}"));
    let stem = format!("kuzet-{week}");
    for (kind, ct, file) in [
        ("html", "text/html; charset=utf-8", format!("{stem}.html")),
        ("pdf", "application/pdf", format!("{stem}.pdf")),
        ("csv", "text/csv; charset=utf-8", format!("{stem}.csv")),
        (
            "stix",
            "application/stix+json;version=2.1",
            format!("{stem}.stix.json"),
        ),
    ] {
        let res = get(&w.app, &format!("/reports/{id}/{kind}"), &cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "{kind}");
        assert_eq!(res.headers()[header::CONTENT_TYPE], ct, "{kind}");
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            res.headers()[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"{file}\"").as_str()
        );
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes, std::fs::read(dir.join(&file)).unwrap(), "{kind}");
    }
    let csv = std::fs::read_to_string(dir.join(format!("{stem}.csv"))).unwrap();
    assert!(
        csv.contains("evil.test"),
        "the confirmed case is in the report: {csv}"
    );
    // The evidence package: one tar with the manifest, the report files and the WARC record.
    let res = get(&w.app, &format!("/reports/{id}/package"), &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/x-tar");
    assert_eq!(
        res.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"kuzet-report-{week}.tar\"").as_str()
    );
    let len: usize = res.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let tar = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(tar.len(), len);
    let mut names = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        assert_eq!(&h[257..263], b"ustar\0");
        let name =
            String::from_utf8(h[..100].iter().take_while(|b| **b != 0).copied().collect()).unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&h[124..135]).unwrap(), 8).unwrap();
        let rel = name
            .strip_prefix(&format!("kuzet-report-{week}/"))
            .unwrap()
            .to_string();
        assert_eq!(
            &tar[at + 512..at + 512 + size],
            std::fs::read(dir.join(&rel)).unwrap().as_slice(),
            "{rel}"
        );
        names.push(rel);
        at += 512 + size.div_ceil(512) * 512;
    }
    assert!(names.contains(&"MANIFEST.sha256".to_string()), "{names:?}");
    assert!(
        names.contains(&format!("evidence/page-{}.warc", w.pages[0])),
        "{names:?}"
    );
    assert!(names.contains(&format!("{stem}.pdf")), "{names:?}");
    // Only recorded kinds, only recorded files, never outside the package.
    for bad in [
        "manifest",
        "evidence",
        "..%2F..%2Fcrawl.warc",
        "MANIFEST.sha256",
    ] {
        let res = get(&w.app, &format!("/reports/{id}/{bad}"), &cookie).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let res = get(&w.app, &format!("/reports/{}/csv", id + 100), &cookie).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    sqlx::query(
        "UPDATE report_files SET name = '../../crawl.warc' WHERE report_id = $1 AND kind = 'csv'",
    )
    .bind(id)
    .execute(w.state.db.pool())
    .await
    .unwrap();
    let res = get(&w.app, &format!("/reports/{id}/csv"), &cookie).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a recorded name leaving the folder is refused"
    );
    // Generating the week again (JSON API) replaces the folder: the older report's files are gone.
    let res = post_json(
        &w.app,
        "/api/reports",
        &cookie,
        &csrf,
        &format!(r#"{{"week":"{week}"}}"#),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    let id2 = v["id"].as_i64().unwrap();
    assert!(id2 > id);
    assert_eq!(v["cases"], 1);
    assert_eq!(v["downloads"]["csv"], format!("/reports/{id2}/csv"));
    // The STIX bundle carries the generation time, so the manifest changed and the older report
    // answers 410 Gone instead of serving the newer files under its name.
    let res = get(&w.app, &format!("/reports/{id}/pdf"), &cookie).await;
    assert_eq!(res.status(), StatusCode::GONE);
    let res = get(&w.app, &format!("/reports/{id2}/pdf"), &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Analysts may not open reports.
    let (ca, _) = login(&w.app, "aigerim").await;
    let res = get(&w.app, &format!("/reports/{id2}/pdf"), &ca).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// The queue's filters and sorts, merge, split and bulk actions through the HTML forms, re-flagging
/// a dismissed shop reopening it with its history, and the audit log page for admins.
#[tokio::test]
async fn forms_filter_merge_split_bulk_and_reflagging_reopens_with_history() {
    let w = world().await;
    let (c0, c1, c2) = (w.cases[0], w.cases[1], w.cases[2]);
    let (cookie, csrf) = login(&w.app, "aigerim").await;
    let rows = |html: &str| -> Vec<i64> {
        html.split("<tr data-row id=\"case-")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect()
    };
    let queue = |q: &'static str| {
        let app = w.app.clone();
        let cookie = cookie.clone();
        async move { rows(&body(get(&app, &format!("/queue?{q}"), &cookie).await).await) }
    };
    assert_eq!(queue("status=all").await, [c0, c1, c2], "by score");
    assert_eq!(queue("status=all&sort=newest").await, [c2, c1, c0]);
    assert_eq!(queue("status=all&sort=oldest").await, [c0, c1, c2]);
    assert_eq!(queue("status=all&source=onion").await, [c2]);
    assert_eq!(queue("status=all&source=telegram").await, [c0]);
    assert_eq!(queue("status=all&indicator=BC1QXYZ").await, [c0]);
    assert_eq!(queue("status=confirmed").await, [c0]);
    assert_eq!(queue("").await, [c1, c2], "open cases by default");
    // Merge c2 into c1 (the older one is kept), then split its onion page out again.
    let res = post_form(
        &w.app,
        &format!("/cases/{c2}/merge"),
        &cookie,
        &format!("cases={c1}&csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        format!("/cases/{c1}").as_str()
    );
    let merged: Option<i64> = sqlx::query_scalar("SELECT merged_into FROM cases WHERE id = $1")
        .bind(c2)
        .fetch_one(w.state.db.pool())
        .await
        .unwrap();
    assert_eq!(merged, Some(c1));
    assert_eq!(queue("").await, [c1]);
    let res = post_form(
        &w.app,
        &format!("/cases/{c1}/split"),
        &cookie,
        &format!("pages={}&csrf={csrf}", w.pages[3]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let new: i64 = sqlx::query_scalar("SELECT case_id FROM case_pages WHERE page_id = $1")
        .bind(w.pages[3])
        .fetch_one(w.state.db.pool())
        .await
        .unwrap();
    assert!(new != c1 && new != c2);
    assert_eq!(
        res.headers()[header::LOCATION],
        format!("/cases/{new}").as_str()
    );
    // Bulk dismiss both open cases from the queue form.
    let res = post_form(
        &w.app,
        "/cases/bulk",
        &cookie,
        &format!("ids={c1}&ids={new}&action=dismiss&text=duplicate&csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(queue("").await.is_empty());
    assert_eq!(queue("status=dismissed").await.len(), 2);
    // A bulk action that cannot apply says which case failed.
    let res = post_form(
        &w.app,
        "/cases/bulk",
        &cookie,
        &format!("ids={c1}&action=confirm&csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(body(res).await.contains(&format!("case {c1}")));
    // The shop is flagged again (a new page with the same phone): c1 reopens, history kept.
    fixture::page(
        &w.state.db,
        &fixture::PageSpec {
            url: "http://other-mirror.test/",
            title: "other shop again",
            text: "гашиш",
            indicators: &[("phone", "+77011234567")],
            ..fixture::PageSpec::default()
        },
    )
    .await
    .unwrap();
    let (root, root_csrf) = login(&w.app, "root").await;
    let res = post_form(
        &w.app,
        "/cases/rebuild",
        &root,
        &format!("csrf={root_csrf}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(queue("").await, [c1], "reopened");
    let html = body(get(&w.app, &format!("/cases/{c1}"), &cookie).await).await;
    let dismiss = html
        .find("duplicate")
        .expect("the dismissal reason is kept");
    let reopen = html
        .find("re-flagged")
        .expect("the reopening is in the history");
    assert!(dismiss < reopen, "history in order");
    // Admins read every one of these actions in the audit log page.
    let audit = body(get(&w.app, "/audit", &root).await).await;
    for a in ["case.merge", "case.split", "case.dismiss", "case.reopen"] {
        assert!(audit.contains(a), "{a} in the audit page");
    }
}

// ---------------------------------------------------------------- volunteers' uploads

fn multipart(files: &[(&str, &[u8])], district: &str) -> (String, Vec<u8>) {
    let boundary = "kuzetBoundary7MA4YWxkTrZu0gW";
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"district\"\r\n\r\n{district}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nnear the bus stop\r\n"
        )
        .as_bytes(),
    );
    for (name, bytes) in files {
        b.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"{name}\"\r\n\
                 Content-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A valid small PNG whose header claims 100,000 × 100,000 pixels (a decompression bomb).
fn pixel_bomb() -> Vec<u8> {
    let img = image::GrayImage::from_pixel(8, 8, image::Luma([0]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let mut b = png.into_inner();
    // IHDR data starts at 16 (8 signature + 4 length + 4 type); CRC over type + data at 29.
    b[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    b[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

fn photo(seed: u8, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 64, |x, y| {
        let v = ((x + y * 2) as u8).wrapping_add(seed);
        image::Rgb([v, 255 - v, v / 3])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

async fn upload(
    w: &World,
    sess: &(String, String),
    files: &[(&str, &[u8])],
) -> (StatusCode, serde_json::Value) {
    let (ct, b) = multipart(files, "Medeu");
    let req = Request::builder()
        .method("POST")
        .uri(format!("/volunteer/upload?csrf={}", sess.1))
        .header(header::COOKIE, &sess.0)
        .header(header::CONTENT_TYPE, ct)
        .header(header::ACCEPT, "application/json")
        .body(Body::from(b))
        .unwrap();
    let res = w
        .app
        .clone()
        .oneshot(with_ip(req, [10, 0, 0, 7]))
        .await
        .unwrap();
    let status = res.status();
    (status, serde_json::from_str(&body(res).await).unwrap())
}

#[tokio::test]
async fn hostile_uploads_get_clear_errors_duplicates_link_and_a_flood_is_limited() {
    let mut cfg = WebConfig::default();
    cfg.uploads.rate_max_photos = 9;
    let w = world_with(cfg).await;
    let vol = login(&w.app, "erlan").await;
    let jpg = photo(7, image::ImageFormat::Jpeg);
    let big = vec![0xFFu8; 50 << 20];
    let bomb = pixel_bomb();
    let files: Vec<(&str, &[u8])> = vec![
        ("bomb.png", &bomb),
        ("cut.jpg", &jpg[..200]),
        ("huge.jpg", &big),
        ("notes.jpg", b"this is not a photo at all"),
        ("wall.jpg", &jpg),
        ("wall-again.jpg", &jpg),
    ];
    let (status, v) = upload(&w, &vol, &files).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let r = v["results"].as_array().unwrap();
    let outcome = |i: usize| r[i]["outcome"].as_str().unwrap().to_string();
    assert_eq!(r.len(), 6, "{v}");
    assert!(outcome(0).contains("pixels"), "bomb: {}", outcome(0));
    assert!(outcome(1).contains("damaged"), "truncated: {}", outcome(1));
    assert!(
        outcome(2).contains("larger than 20 MB"),
        "huge: {}",
        outcome(2)
    );
    assert!(outcome(3).contains("not a photo"), "text: {}", outcome(3));
    assert_eq!(r[4]["status"], "processed", "{v}");
    assert_eq!(outcome(4), "nothing found");
    assert_eq!(r[5]["status"], "duplicate");
    assert!(outcome(5).contains("same photo"), "{}", outcome(5));
    // The same wall as PNG: another file, the same picture.
    let png = photo(7, image::ImageFormat::Png);
    let (_, v) = upload(&w, &vol, &[("wall.png", &png)]).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert!(
        v["results"][0]["outcome"]
            .as_str()
            .unwrap()
            .contains("same wall")
    );
    // Every upload is audited with its file hash; a duplicate stores no file of its own.
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT detail_json FROM audit_log WHERE action = 'volunteer.upload' ORDER BY id",
    )
    .fetch_all(w.state.db.pool())
    .await
    .unwrap();
    assert_eq!(audited.len(), 7);
    let sha = kuzet_reporter::volunteer::process::sha256_hex(&jpg);
    assert!(audited[4].contains(&sha), "{}", audited[4]);
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM volunteer_photos WHERE original_path IS NOT NULL")
            .fetch_one(w.state.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, 1);
    // The volunteer sees the re-encoded copy of their own photo (a PNG, no EXIF), analysts too;
    // a liaison does not.
    let id = r[4]["id"].as_i64().unwrap();
    let get = |sess: (String, String)| {
        let app = w.app.clone();
        async move {
            let req = Request::builder()
                .uri(format!("/volunteer/photos/{id}/image"))
                .header(header::COOKIE, sess.0)
                .body(Body::empty())
                .unwrap();
            app.oneshot(with_ip(req, [10, 0, 0, 7])).await.unwrap()
        }
    };
    let res = get(vol.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        get(login(&w.app, "aigerim").await).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(login(&w.app, "dana").await).await.status(),
        StatusCode::FORBIDDEN
    );
    // Flood: 9 photos per window; the 8th and 9th pass, the rest of this batch is refused.
    let many: Vec<(&str, &[u8])> = (0..4).map(|_| ("x.jpg", jpg.as_slice())).collect();
    let (status, v) = upload(&w, &vol, &many).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["duplicate", "duplicate", "limited", "limited"]);
    let (status, _) = upload(&w, &vol, &many[..1]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Without the CSRF token in the query, nothing is accepted.
    let (ct, b) = multipart(&[("wall.jpg", &jpg)], "");
    let req = Request::builder()
        .method("POST")
        .uri("/volunteer/upload")
        .header(header::COOKIE, &vol.0)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(b))
        .unwrap();
    let res = w
        .app
        .clone()
        .oneshot(with_ip(req, [10, 0, 0, 7]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // "My reports" lists the outcomes.
    let req = Request::builder()
        .uri("/volunteer/reports")
        .header(header::COOKIE, &vol.0)
        .body(Body::empty())
        .unwrap();
    let page = body(
        w.app
            .clone()
            .oneshot(with_ip(req, [10, 0, 0, 7]))
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("nothing found") && page.contains("Medeu"),
        "{page}"
    );
}

#[tokio::test]
async fn case_page_shows_the_takedown_timeline_and_qr_hijack_sources_escaped() {
    use kuzet_reporter::cases::Status;
    use kuzet_reporter::takedown::qr::{self, Prior, Resolution};
    use kuzet_reporter::takedown::watch::{self, Check, Evidence};
    use kuzet_reporter::takedown::{self, Seen};

    let ev = tempfile::tempdir().unwrap();
    std::fs::write(
        ev.path().join("re.warc"),
        b"XXWARC/1.1\r\nWARC-Type: response\r\n\r\ntransitionYYWARC/1.1\r\n\r\nqr",
    )
    .unwrap();
    let w = world_with(WebConfig {
        watch_evidence_dir: Some(ev.path().to_path_buf()),
        ..WebConfig::default()
    })
    .await;
    let db = &w.state.db;
    let evidence = |offset, length| Evidence {
        file: "re.warc".into(),
        offset,
        length,
        record_id: "<urn:uuid:1>".into(),
        digest: "sha256:d1g3st".into(),
    };

    // The confirmed case's URLs are watched; one check finds a block page (hostile detail).
    watch::sync(db, &[Status::Confirmed], None, "")
        .await
        .unwrap();
    let targets = watch::batch(db, 0, 10, Some(w.cases[0])).await.unwrap();
    let target = targets
        .iter()
        .find(|t| t.url == common::XSS_URL)
        .expect("the XSS page is watched");
    let decision = takedown::decide(&target.current(), Seen::Blocked, None, 3);
    let check = Check {
        at: 1_700_000_000_000,
        seen: Seen::Blocked,
        http_status: Some(200),
        final_url: Some(target.url.clone()),
        content_hash: Some("c".repeat(64)),
        text_hash: None,
        score: None,
        verdict: None,
        error_kind: None,
        detail: "block page <script>alert('detail')</script>".into(),
        evidence: Some(evidence(2, 43)),
    };
    watch::record(db, target, &check, &decision).await.unwrap();
    let event: i64 = sqlx::query_scalar("SELECT id FROM watch_events")
        .fetch_one(db.pool())
        .await
        .unwrap();

    // A QR code on the first page's image now leads to a shop: a QR-hijack case.
    let qr_url = "http://plaque.test/?q=<script>alert('qr')</script>";
    sqlx::query("INSERT INTO qr_codes (image_id, text, lead_kind) VALUES ($1, $2, 'url')")
        .bind(w.image)
        .bind(qr_url)
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(qr::sync(db, 600).await.unwrap(), 1);
    let t = qr::batch(db, 0, 10).await.unwrap().remove(0);
    let res = Resolution {
        at: 1_700_000_100_000,
        seen: "changed".into(),
        http_status: Some(200),
        redirects: vec!["http://shop.test/<b>hop</b>".into()],
        final_url: Some("http://shop.test/<b>hop</b>".into()),
        content_hash: Some("e".repeat(64)),
        score: Some(0.93),
        verdict: Some("shop".into()),
        detail: String::new(),
        evidence: Some(evidence(47, 14)),
    };
    let prior = Prior {
        verdict: Some("clean".into()),
        ..Prior::default()
    };
    assert!(qr::is_hijack(&prior, res.verdict.as_deref()));
    let hijack = qr::record(db, &t, &res, &prior, true)
        .await
        .unwrap()
        .expect("a case is opened");
    let resolution: i64 = sqlx::query_scalar("SELECT id FROM qr_resolutions")
        .fetch_one(db.pool())
        .await
        .unwrap();

    let (cookie, _) = login(&w.app, "aigerim").await;
    // The timeline: time, URL, from → to, detail, evidence link and digest, all escaped.
    let page = body(get(&w.app, &format!("/cases/{}", w.cases[0]), &cookie).await).await;
    assert!(page.contains("Takedown timeline (1)"), "{page}");
    assert!(page.contains("2023-11-14 22:13"), "{page}");
    assert!(
        page.contains("<span class=\"st\">unchecked</span> → <span class=\"st\">blocked</span>"),
        "{page}"
    );
    assert!(
        page.contains(&format!("/transitions/{event}/warc")),
        "{page}"
    );
    assert!(page.contains("sha256:d1g3st"), "{page}");
    assert!(
        page.contains("block page &#60;script&#62;alert(&#39;detail&#39;)&#60;/script&#62;")
            || page.contains("block page &lt;script&gt;alert(&#x27;detail&#x27;)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert('detail')"), "{page}");
    let res_warc = get(&w.app, &format!("/transitions/{event}/warc"), &cookie).await;
    assert_eq!(res_warc.status(), StatusCode::OK);
    assert_eq!(
        body(res_warc).await,
        "WARC/1.1\r\nWARC-Type: response\r\n\r\ntransition"
    );

    // The QR-hijack case: marked, its code's sources (the image and its page) and resolutions.
    let page = body(get(&w.app, &format!("/cases/{hijack}"), &cookie).await).await;
    assert!(page.contains("id=\"qr-hijack\""), "{page}");
    assert!(
        page.contains(&format!("href=\"/images/{}\"", w.image)),
        "{page}"
    );
    assert!(!page.contains("<script>alert('qr')"), "{page}");
    assert!(!page.contains("<script>alert('url')"), "{page}");
    assert!(!page.contains("<b>hop</b>"), "{page}");
    assert!(page.contains("plaque.test"), "{page}");
    assert!(
        page.contains("evil.test"),
        "the page the code was seen on: {page}"
    );
    assert!(page.contains("shop.test"), "{page}");
    assert!(
        page.contains(&format!("/qr-resolutions/{resolution}/warc")),
        "{page}"
    );
    assert!(page.contains("qr_hijack"), "history entry: {page}");
    let res_warc = get(
        &w.app,
        &format!("/qr-resolutions/{resolution}/warc"),
        &cookie,
    )
    .await;
    assert_eq!(res_warc.status(), StatusCode::OK);
    assert_eq!(body(res_warc).await, "WARC/1.1\r\n\r\nqr");
    // First in the queue, marked.
    let queue = body(get(&w.app, "/queue", &cookie).await).await;
    let first = queue.find("href=\"/cases/").expect("rows");
    assert!(
        queue[first..].starts_with(&format!("href=\"/cases/{hijack}\"")),
        "{queue}"
    );
    assert!(queue.contains("reason-qr_hijack"), "{queue}");
    // A liaison sees neither the new case nor its evidence.
    let (dana, _) = login(&w.app, "dana").await;
    let res = get(&w.app, &format!("/qr-resolutions/{resolution}/warc"), &dana).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

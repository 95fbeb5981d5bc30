//! Fetch → charset → parse on real responses: windows-1251 pages and malformed HTML.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use kuzet_classifier::decode::decode;
use kuzet_crawler::parse::{ParseLimits, parse_html};

use crate::{loopback_fetcher, servers, url};

fn cp1251(s: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(s).0.into_owned()
}

const RU: &str = "<html><head><title>Закладки Алматы</title></head><body><h1>Прайс</h1>\
<p>Мефедрон 1г — 15000 тг, оплата Kaspi</p><a href=\"/next\">Дальше</a></body></html>";

#[tokio::test]
async fn windows_1251_and_malformed_pages() {
    let labelled = cp1251(RU);
    let unlabelled = cp1251(RU);
    let meta = [
        b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">"
            .as_slice(),
        &cp1251(RU),
    ]
    .concat();
    let app = Router::new()
        .route("/labelled", get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=windows-1251")], labelled) }))
        .route("/unlabelled", get(move || async move { ([(header::CONTENT_TYPE, "text/html")], unlabelled) }))
        .route("/meta", get(move || async move { ([(header::CONTENT_TYPE, "text/html")], meta) }))
        .route(
            "/malformed",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    b"<html><body><div><p>\xD0\x9F\xD1\x80\xD0\xB8 \xFF\xFE broken <a href='/a'>a<a href=\"/b\">b</td></tr><script>unterminated".to_vec(),
                )
            }),
        );
    let addr = servers::serve(app).await;
    let f = loopback_fetcher();
    for path in ["/labelled", "/unlabelled", "/meta"] {
        let o = f
            .fetch(&url(&format!("http://{addr}{path}")))
            .await
            .unwrap();
        let d = decode(o.body(), o.header("content-type"));
        assert_eq!(d.encoding_name, "windows-1251", "{path}");
        let page = parse_html(&d.text, &o.final_url, &ParseLimits::default());
        assert_eq!(page.title.as_deref(), Some("Закладки Алматы"), "{path}");
        assert!(
            page.text.contains("Мефедрон 1г — 15000 тг"),
            "{path}: {}",
            page.text
        );
        assert_eq!(page.links[0].url.as_str(), format!("http://{addr}/next"));
    }
    let o = f
        .fetch(&url(&format!("http://{addr}/malformed")))
        .await
        .unwrap();
    let d = decode(o.body(), o.header("content-type"));
    assert!(d.had_errors);
    let page = parse_html(&d.text, &o.final_url, &ParseLimits::default());
    assert!(page.text.starts_with("При"), "{}", page.text);
    assert_eq!(page.links.len(), 2);
    assert!(!page.text.contains("unterminated"));
}

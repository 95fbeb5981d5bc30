//! Host 127.0.0.6 of the demo web: what a hostile shop might serve to hurt a crawler. Crawling it
//! must end within the configured limits, with each failure recorded by kind.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::stream;

/// Size of the gzip bomb once inflated (the crawler's default body cap is 5 MiB).
const BOMB_BYTES: usize = 16 << 20;
/// Size of the oversized page.
const HUGE_BYTES: usize = 50 << 20;
/// Size of the brotli bomb once inflated.
const BROTLI_BYTES: usize = 64 << 20;
/// Links on the link-flood page (all to one URL once fragments are dropped).
const FLOOD_LINKS: usize = 10_000;

pub async fn handle(port: u16, path: &str, _path_q: &str) -> Response {
    match path {
        "/" => html(format!(
            "<html><head><title>Архив ссылок</title></head><body><h1>Архив</h1><ul>\
             <li><a href=\"/slow.html\">медленная страница</a></li>\
             <li><a href=\"/loop/a\">петля редиректов</a></li>\
             <li><a href=\"/go-private\">редирект на внутренний адрес</a></li>\
             <li><a href=\"/bomb.html\">сжатая бомба</a></li>\
             <li><a href=\"/huge.html\">огромная страница</a></li>\
             <li><a href=\"/deep.html\">глубокая вложенность</a></li>\
             <li><a href=\"/calendar/2026/11\">календарь</a></li>\
             <li><a href=\"/private/trap.html\">запрещено robots.txt</a></li>\
             <li><a href=\"http://127.0.0.6:{port}/oops\">битая ссылка</a></li>\
             <li><a href=\"/brotli-bomb.html\">brotli-бомба</a></li>\
             <li><a href=\"/endless.html\">бесконечная страница</a></li>\
             <li><a href=\"/links.html\">10 000 ссылок</a></li>\
             <li><a href=\"/broken-charset.html\">битая кодировка</a></li>\
             <li><a href=\"https://127.0.0.6:{port}/tls.html\">https на порту без TLS</a></li>\
             <li><a href=\"http://127.0.0.6:1/closed.html\">закрытый порт</a></li>\
             <li><a href=\"javascript:alert(1)\">javascript</a></li>\
             <li><a href=\"file:///etc/passwd\">file</a></li>\
             </ul><img src=\"/img/qr-js.png\"><img src=\"/img/qr-private.png\">\
             <img src=\"/pixel-bomb.png\"><img src=\"/truncated.jpg\"></body></html>"
        )),
        "/slow.html" => slowloris(),
        "/loop/a" => redirect("/loop/b"),
        "/loop/b" => redirect("/loop/a"),
        "/go-private" => redirect("http://169.254.169.254/latest/meta-data/"),
        "/bomb.html" => gzip_bomb(),
        "/brotli-bomb.html" => brotli_bomb(),
        "/endless.html" => endless(),
        "/links.html" => html(format!(
            "<html><body>{}</body></html>",
            (0..FLOOD_LINKS)
                .map(|i| format!("<a href=\"/links.html#{i}\">ссылка {i}</a> "))
                .collect::<String>()
        )),
        "/broken-charset.html" => broken_charset(),
        "/huge.html" => huge(),
        "/deep.html" => html(format!(
            "<html><body>{}глубоко{}</body></html>",
            "<div>".repeat(50_000),
            "</div>".repeat(50_000)
        )),
        "/pixel-bomb.png" => bytes(pixel_bomb_png(), "image/png"),
        "/truncated.jpg" => bytes(truncated_jpeg(), "image/jpeg"),
        p if p.starts_with("/calendar/") => calendar(p),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn html(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn bytes(body: Vec<u8>, ct: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Headers at once, then one byte a second for ten minutes.
fn slowloris() -> Response {
    let s = stream::unfold(0u32, |n| async move {
        if n >= 600 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok::<_, std::io::Error>(bytes_of(" ")), n + 1))
    });
    let mut r = Response::new(Body::from_stream(s));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn bytes_of(s: &'static str) -> axum::body::Bytes {
    axum::body::Bytes::from_static(s.as_bytes())
}

static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
static BROTLI_BOMB: OnceLock<Vec<u8>> = OnceLock::new();
static ROBOTS: OnceLock<Vec<u8>> = OnceLock::new();

/// Compresses the gzip bomb once; call from a blocking thread at start-up, not from a handler.
pub fn prepare() {
    BOMB.get_or_init(|| {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..(BOMB_BYTES >> 20) {
            let _ = enc.write_all(&chunk);
        }
        enc.finish().unwrap_or_default()
    });
    BROTLI_BOMB.get_or_init(|| {
        let mut out = Vec::new();
        {
            let mut enc = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
            let chunk = vec![b' '; 1 << 20];
            for _ in 0..(BROTLI_BYTES >> 20) {
                let _ = enc.write_all(&chunk);
            }
        }
        out
    });
    ROBOTS.get_or_init(|| {
        // Valid rules first, then 2 MiB of garbage: NUL bytes, invalid UTF-8, endless lines.
        let mut r = b"User-agent: *\nDisallow: /private/\n".to_vec();
        let junk: &[u8] =
            b"Disallow \x00\xff\xfe: /\x80\x81?*$\r\rAllow::: \xc3\x28 crawl-delay: -1e309\n";
        while r.len() < 2 << 20 {
            r.extend_from_slice(junk);
            r.extend_from_slice(&[b'x'; 997]);
        }
        r
    });
}

/// A huge, malformed robots.txt (the crawler parses a bounded prefix).
pub fn robots() -> Response {
    match ROBOTS.get() {
        Some(body) => bytes(body.clone(), "text/plain"),
        None => (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response(),
    }
}

fn brotli_bomb() -> Response {
    let Some(body) = BROTLI_BOMB.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response();
    };
    let mut r = body.clone().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    r
}

/// A body that never ends, sent as fast as the client reads it.
fn endless() -> Response {
    let chunk = axum::body::Bytes::from("<p>ещё</p>".repeat(6_000));
    let s = stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
    let mut r = Response::new(Body::from_stream(s));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A charset label that does not exist, a contradicting meta tag and bytes valid in neither.
fn broken_charset() -> Response {
    let mut body = b"<html><head><meta charset=\"utf-7\"><meta http-equiv=\"Content-Type\" \
        content=\"text/html; charset=x-no-such\"></head><body>"
        .to_vec();
    body.extend_from_slice(
        b"\xff\xfe\xc3\x28\xa0\xa1 \xe2\x82 \xf0\x28\x8c\xbc \xcf\xf0\xe8\xe2\xe5\xf2",
    );
    body.extend_from_slice(b"</body></html>");
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=\"bogus-8\""),
    );
    r
}

fn gzip_bomb() -> Response {
    let Some(body) = BOMB.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response();
    };
    let mut r = body.clone().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    r
}

fn huge() -> Response {
    let chunk = axum::body::Bytes::from("<p>мусор мусор мусор</p>\n".repeat(40_000));
    let n = HUGE_BYTES / chunk.len() + 1;
    let s = stream::iter((0..n).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let mut r = Response::new(Body::from_stream(s));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// An endless calendar: every month links to the next and the previous one.
fn calendar(path: &str) -> Response {
    let parts: Vec<i64> = path
        .trim_start_matches("/calendar/")
        .split('/')
        .filter_map(|p| p.parse().ok())
        .collect();
    let (y, m) = match parts.as_slice() {
        [y, m] if (1..=12).contains(m) => (*y, *m),
        _ => return (StatusCode::NOT_FOUND, "no such month").into_response(),
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    html(format!(
        "<html><body><h1>{y}-{m:02}</h1><a href=\"/calendar/{py}/{pm}\">назад</a> \
         <a href=\"/calendar/{ny}/{nm}\">вперёд</a></body></html>"
    ))
}

/// A valid PNG header that claims 100,000 × 100,000 pixels (a decompression bomb).
fn pixel_bomb_png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// The first part of a real JPEG.
fn truncated_jpeg() -> Vec<u8> {
    let img = image::GrayImage::from_fn(64, 64, |x, y| image::Luma([((x * y) % 255) as u8]));
    let mut buf = std::io::Cursor::new(Vec::new());
    if img.write_to(&mut buf, image::ImageFormat::Jpeg).is_err() {
        return b"\xff\xd8\xff".to_vec();
    }
    let mut v = buf.into_inner();
    v.truncate(v.len() / 3);
    v
}

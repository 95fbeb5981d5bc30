//! Helpers to run the binary under test.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `kuzet` binary built for this test run, with a clean environment for configuration.
pub fn kuzet(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kuzet"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("KUZET_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c
}

/// Runs a command, feeding `stdin`, and returns its output.
pub fn run(mut c: impl std::borrow::BorrowMut<Command>, stdin: &str) -> Output {
    let c = c.borrow_mut();
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn kuzet");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for kuzet")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small web on 127.0.0.1 for crawl tests: `/` links to `sections` section pages, each
/// linking to `per_section` article pages (which link on to a sibling and the next section).
/// Every third article reads like a shop advert sharing one Telegram handle, so crawls produce
/// flagged pages, verdicts and a case. Each response waits `delay` first, so a crawl takes a
/// while; every request is counted per path.
pub struct TestWeb {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Requests served, by path.
    pub hits: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sections: usize,
    per_section: usize,
}

impl TestWeb {
    /// Starts the server on a free port.
    pub fn start(sections: usize, per_section: usize, delay: std::time::Duration) -> TestWeb {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let web = TestWeb {
            port,
            hits: Default::default(),
            stop: Default::default(),
            sections,
            per_section,
        };
        let (hits, stop) = (web.hits.clone(), web.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let hits = hits.clone();
                        std::thread::spawn(move || {
                            serve_one(stream, &hits, sections, per_section, delay)
                        });
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
        });
        web
    }

    /// Every path a complete crawl fetches.
    pub fn all_paths(&self) -> Vec<String> {
        let mut v = vec!["/".to_string()];
        for s in 0..self.sections {
            v.push(format!("/s/{s}"));
            for a in 0..self.per_section {
                v.push(format!("/p/{s}/{a}"));
            }
        }
        v
    }

    /// The entry URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TestWeb {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn serve_one(
    mut stream: std::net::TcpStream,
    hits: &std::sync::Mutex<std::collections::HashMap<String, usize>>,
    sections: usize,
    per_section: usize,
    delay: std::time::Duration,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let Some(path) = crate::http_request::read_request_path(&stream) else {
        return;
    };
    *hits
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(path.clone())
        .or_default() += 1;
    std::thread::sleep(delay);
    let parts: Vec<usize> = path.split('/').filter_map(|p| p.parse().ok()).collect();
    let body = match (path.as_str(), parts.as_slice()) {
        ("/", _) => {
            let links: String = (0..sections)
                .map(|s| format!("<li><a href=\"/s/{s}\">Раздел {s}</a></li>"))
                .collect();
            Some(format!(
                "<title>Каталог</title><h1>Городской каталог</h1><ul>{links}</ul>"
            ))
        }
        (p, [s]) if p.starts_with("/s/") && *s < sections => {
            let links: String = (0..per_section)
                .map(|a| format!("<li><a href=\"/p/{s}/{a}\">Статья {s}-{a}</a></li>"))
                .collect();
            Some(format!(
                "<title>Раздел {s}</title><p>Новости района {s}.</p><ul>{links}</ul>\
                 <a href=\"/\">на главную</a>"
            ))
        }
        (p, [s, a]) if p.starts_with("/p/") && *s < sections && *a < per_section => {
            let text = if (s * per_section + a).is_multiple_of(3) {
                format!(
                    "Ровные клады по всем районам, район {s}. Мефедрон кристалл 1 г 16 000 ₸, \
                     альфа-PVP 0,5 г 12 000 ₸. Оплата BTC, USDT. Заказ только через бота \
                     @snezhny_bars_bot. Закладки, тайник, фото и координаты после оплаты."
                )
            } else {
                format!("Городские новости {s}-{a}: ремонт дорог и расписание автобусов.")
            };
            Some(format!(
                "<title>Статья {s}-{a}</title><p>{text}</p>\
                 <a href=\"/p/{s}/{}\">дальше</a> <a href=\"/s/{}\">соседний раздел</a>",
                (a + 1) % per_section,
                (s + 1) % sections
            ))
        }
        _ => None,
    };
    let (status, body) = match body {
        Some(b) => (
            "200 OK",
            format!("<!doctype html><html><body>{b}</body></html>"),
        ),
        None => ("404 Not Found", "not found".to_string()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A PNG of a QR code holding `text` (6-pixel modules, quiet zone).
pub fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(6, 6)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

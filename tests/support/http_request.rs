//! Reading one HTTP/1.1 request head on a loopback test server: shared by the `it` tests'
//! web (`tests/it/util.rs`) and the re-check benchmark's hosts (`benches/recheck.rs`).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;

/// Reads the request line and the headers of one request on `stream` and returns the
/// request path (`/` when the line has none); `None` when the request line cannot be read.
pub fn read_request_path(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    Some(line.split_whitespace().nth(1).unwrap_or("/").to_string())
}

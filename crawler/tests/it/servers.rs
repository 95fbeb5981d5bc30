//! Real servers on 127.0.0.1:0 for the integration tests: an axum app for well-formed answers and raw
//! TCP handlers for misbehaviour. Each server lives as long as the test's runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `app` on 127.0.0.1:0 and returns its address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Serves connections with `handler` on 127.0.0.1:0; counts accepted connections.
pub async fn raw<F, Fut>(handler: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handler(stream));
        }
    });
    (addr, count)
}

/// Reads the request head (up to the blank line) and returns it.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 65536 {
        match stream.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A server that reads the request and then never answers (the connection stays open).
pub async fn hang_before_headers() -> SocketAddr {
    raw(|mut s| async move {
        let _ = read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await
    .0
}

/// A server that sends headers and part of the body, then stalls.
pub async fn hang_mid_body() -> SocketAddr {
    raw(|mut s| async move {
        let _ = read_head(&mut s).await;
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<html>",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await
    .0
}

/// A server that resets the connection right after reading the request.
pub async fn reset() -> SocketAddr {
    raw(|mut s| async move {
        let _ = read_head(&mut s).await;
        let _ = s.set_zero_linger();
        drop(s);
    })
    .await
    .0
}

/// A server that streams an endless chunked HTML body without Content-Length.
pub async fn endless_body() -> SocketAddr {
    raw(|mut s| async move {
        let _ = read_head(&mut s).await;
        if s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .is_err()
        {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192));
        for _ in 0..10_000 {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await
    .0
}

/// A server answering with a fixed raw response (bytes as given).
pub async fn fixed(response: Vec<u8>) -> SocketAddr {
    let response = Arc::new(response);
    raw(move |mut s| {
        let response = response.clone();
        async move {
            let _ = read_head(&mut s).await;
            let _ = s.write_all(&response).await;
            let _ = s.shutdown().await;
        }
    })
    .await
    .0
}

/// An address where nothing listens (bound, then closed).
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}

/// A minimal SOCKS5 server (no auth, CONNECT only) that records the requested host and answers every
/// tunnelled request with a fixed HTML page instead of connecting anywhere.
pub async fn fake_socks5(seen_hosts: Arc<std::sync::Mutex<Vec<String>>>) -> SocketAddr {
    raw(move |mut s| {
        let seen = seen_hosts.clone();
        async move {
            let mut greeting = [0u8; 2];
            if s.read_exact(&mut greeting).await.is_err() {
                return;
            }
            let mut methods = vec![0u8; greeting[1] as usize];
            let _ = s.read_exact(&mut methods).await;
            let _ = s.write_all(&[5, 0]).await;
            let mut req = [0u8; 4];
            if s.read_exact(&mut req).await.is_err() {
                return;
            }
            let host = match req[3] {
                3 => {
                    let mut len = [0u8; 1];
                    let _ = s.read_exact(&mut len).await;
                    let mut name = vec![0u8; len[0] as usize];
                    let _ = s.read_exact(&mut name).await;
                    String::from_utf8_lossy(&name).into_owned()
                }
                1 => {
                    let mut ip = [0u8; 4];
                    let _ = s.read_exact(&mut ip).await;
                    format!("ipv4:{ip:?}")
                }
                other => format!("atyp:{other}"),
            };
            let mut port = [0u8; 2];
            let _ = s.read_exact(&mut port).await;
            seen.lock().expect("lock").push(host);
            let _ = s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80]).await;
            let _ = read_head(&mut s).await;
            let body = "<html><title>onion</title><body>hidden service</body></html>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    })
    .await
    .0
}

/// A server that drips its body one byte every 200 ms: never a read timeout, only the total one.
pub async fn drip() -> SocketAddr {
    raw(|mut s| async move {
        let _ = read_head(&mut s).await;
        if s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n",
        )
        .await
        .is_err()
        {
            return;
        }
        for _ in 0..1000 {
            if s.write_all(b"x").await.is_err() || s.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .0
}

//! Forwarding on both backends: an outbox folder and SMTP to a real SMTP server this test starts
//! on 127.0.0.1:0. Each case goes once per channel and recipient; failures are retried.

mod report_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kuzet_reporter::report::forward::{self, Channels, ForwardOptions, Security, SmtpChannel};
use kuzet_reporter::report::{self, GenerateOptions, IsoWeek, ReportLimits};
use kuzet_storage::Db;
use kuzet_storage::testing::TestDb;
use mail_parser::{MessageParser, MimeHeaders};
use report_support::*;
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    rcpt: Vec<String>,
    data: Vec<u8>,
}

/// A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that
/// keeps what it receives; `reject_rcpt` makes it refuse every recipient with 550.
struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    async fn start(reject_rcpt: bool) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(sock, store, reject_rcpt).await;
                });
            }
        });
        Sink {
            port,
            received,
            task,
        }
    }

    fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    reject_rcpt: bool,
) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut from = String::new();
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                .await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RSET") {
            from.clear();
            rcpt.clear();
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_string();
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            if reject_rcpt {
                w.write_all(b"550 no such user here\r\n").await?;
            } else {
                rcpt.push(cmd[8..].trim().to_string());
                w.write_all(b"250 ok\r\n").await?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                // Undo dot-stuffing.
                let l = if l.starts_with(b"..") {
                    l[1..].to_vec()
                } else {
                    l
                };
                data.extend_from_slice(&l);
            }
            store.lock().unwrap().push(Received {
                from: std::mem::take(&mut from),
                rcpt: std::mem::take(&mut rcpt),
                data,
            });
            w.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

fn smtp(port: u16, to: &[&str]) -> SmtpChannel {
    SmtpChannel {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        from: "Kuzet <kuzet@reports.test>".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    }
}

fn opts(
    outbox: Option<&std::path::Path>,
    smtp: Option<SmtpChannel>,
    fx: &Fixture,
) -> ForwardOptions {
    ForwardOptions {
        channels: Channels {
            outbox_dir: outbox.map(|p| p.to_path_buf()),
            smtp,
        },
        evidence_dir: fx.evidence_dir.clone(),
        actor: "scheduler".into(),
        limits: ReportLimits::default(),
        stale_claim_ms: 15 * 60_000,
    }
}

async fn generate(
    db: &Db,
    fx: &Fixture,
    out: &std::path::Path,
    now: i64,
) -> (report::weekly::WeeklyReport, i64) {
    let g = GenerateOptions {
        week: "2026-W47".parse::<IsoWeek>().unwrap(),
        utc_offset_minutes: 0,
        out_dir: out.to_path_buf(),
        evidence_dir: fx.evidence_dir.clone(),
        actor: "cli".into(),
        limits: ReportLimits::default(),
    };
    let (r, g) = report::generate(db, &g, now).await.unwrap();
    (r, g.report_id)
}

async fn deliveries(db: &Db) -> Vec<(i64, String, String, String)> {
    sqlx::query(
        "SELECT case_id, channel, recipient, status FROM report_deliveries \
         ORDER BY channel, recipient, case_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[tokio::test]
async fn forwarding_twice_sends_once_per_recipient() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let fx = week(db).await;
        let sink = Sink::start(false).await;
        let dirs = tempfile::tempdir().unwrap();
        let outbox = dirs.path().join("outbox");
        let partners = ["cyber@police.test", "Duty@Police.test"];
        let o = opts(Some(&outbox), Some(smtp(sink.port, &partners)), &fx);

        let (r, report_id) = generate(db, &fx, &dirs.path().join("out"), W47 + 8 * DAY).await;
        let first = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
            .await
            .unwrap();
        let summary: Vec<(&str, &str, &[i64], &str)> = first
            .iter()
            .map(|d| {
                (
                    d.channel.as_str(),
                    d.recipient.as_str(),
                    d.cases.as_slice(),
                    d.status.as_str(),
                )
            })
            .collect();
        let both = [fx.case_a, fx.case_b];
        let outbox_text = outbox.display().to_string();
        assert_eq!(
            summary,
            [
                ("outbox", outbox_text.as_str(), &both[..], "sent"),
                ("smtp", "cyber@police.test", &both[..], "sent"),
                ("smtp", "duty@police.test", &both[..], "sent"),
            ],
            "{first:?}"
        );

        // The SMTP server got one message per partner, addressed to that partner only.
        let msgs = sink.messages();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].rcpt, ["<cyber@police.test>"]);
        assert_eq!(msgs[1].rcpt, ["<duty@police.test>"]);
        assert_eq!(msgs[0].from, "<kuzet@reports.test>");
        let m = MessageParser::default().parse(&msgs[0].data).unwrap();
        assert_eq!(m.subject(), Some("kuzet weekly report 2026-W47: 2 case(s)"));
        let body = m.body_text(0).unwrap();
        assert!(body.contains(&format!("case #{}", fx.case_a)), "{body}");
        let names: Vec<String> = m
            .attachments()
            .map(|a| a.attachment_name().unwrap_or_default().to_string())
            .collect();
        let mut want: Vec<String> = [
            "kuzet-2026-W47.html",
            "kuzet-2026-W47.pdf",
            "kuzet-2026-W47.csv",
            "kuzet-2026-W47.stix.json",
            "evidence-index.json",
            "MANIFEST.sha256",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(fx.records.iter().map(|(p, _)| format!("page-{p}.warc")))
        .collect();
        want.sort();
        let mut got = names.clone();
        got.sort();
        assert_eq!(got, want);
        // The attached CSV is the report's CSV; the WARC records are byte-exact; the attached
        // manifest verifies the attachments with the real sha256sum.
        let att = |name: &str| {
            m.attachments()
                .find(|a| a.attachment_name() == Some(name))
                .unwrap()
                .contents()
                .to_vec()
        };
        assert_eq!(att("kuzet-2026-W47.csv"), report::csv::render(&r).unwrap());
        for (p, bytes) in &fx.records {
            assert_eq!(&att(&format!("page-{p}.warc")), bytes);
        }
        let saved = tempfile::tempdir().unwrap();
        for n in &names {
            std::fs::write(saved.path().join(n), att(n)).unwrap();
        }
        let checked = sha256sum_check(saved.path());
        assert_eq!(checked.lines().count(), names.len() - 1);

        // The outbox holds a complete package, manifest and all.
        let pkg = std::path::PathBuf::from(first[0].path.as_ref().unwrap());
        assert!(pkg.starts_with(&outbox));
        sha256sum_check(&pkg);
        assert!(pkg.join("kuzet-2026-W47.pdf").exists());
        assert_eq!(
            std::fs::read_dir(&outbox).unwrap().count(),
            1,
            "no .partial left"
        );

        // Every (case, channel, recipient) is recorded as sent.
        let rows = deliveries(db).await;
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.3 == "sent"), "{rows:?}");

        // Again: nothing new for anyone, nothing sent, nothing written.
        let (r2, report_id2) = generate(db, &fx, &dirs.path().join("out"), W47 + 9 * DAY).await;
        let second = forward::forward(db, report_id2, &r2, &o, W47 + 9 * DAY)
            .await
            .unwrap();
        assert!(
            second
                .iter()
                .all(|d| d.status == "nothing_new" && d.cases.is_empty()),
            "{second:?}"
        );
        assert_eq!(sink.messages().len(), 2);
        assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);
        assert_eq!(deliveries(db).await, rows);

        // A case confirmed later in the same week goes out alone; a new partner gets all three.
        sqlx::query("UPDATE cases SET status = 'confirmed' WHERE id = $1")
            .bind(fx.case_e)
            .execute(db.pool())
            .await
            .unwrap();
        review(db, fx.case_e, None, "confirm", "", W47 + 5 * DAY).await;
        let o3 = opts(
            Some(&outbox),
            Some(smtp(sink.port, &["cyber@police.test", "new@police.test"])),
            &fx,
        );
        let (r3, report_id3) = generate(db, &fx, &dirs.path().join("out"), W47 + 10 * DAY).await;
        let third = forward::forward(db, report_id3, &r3, &o3, W47 + 10 * DAY)
            .await
            .unwrap();
        let cases: Vec<&[i64]> = third.iter().map(|d| d.cases.as_slice()).collect();
        assert_eq!(
            cases,
            [
                &[fx.case_e][..],
                &[fx.case_e][..],
                &[fx.case_a, fx.case_b, fx.case_e][..]
            ]
        );
        let msgs = sink.messages();
        assert_eq!(msgs.len(), 4);
        let m = MessageParser::default().parse(&msgs[2].data).unwrap();
        assert_eq!(m.subject(), Some("kuzet weekly report 2026-W47: 1 case(s)"));
        let csv = String::from_utf8(
            m.attachments()
                .find(|a| a.attachment_name() == Some("kuzet-2026-W47.csv"))
                .unwrap()
                .contents()
                .to_vec(),
        )
        .unwrap();
        assert_eq!(
            csv.lines().count(),
            2,
            "header and case E's one page:\n{csv}"
        );

        // The audit log has one entry per delivery attempt, naming cases and recipient.
        let log = kuzet_reporter::audit::recent(db, 50).await.unwrap();
        let fwd: Vec<_> = log
            .iter()
            .filter(|e| e.action == "report.forward")
            .collect();
        assert_eq!(
            fwd.len(),
            6,
            "three deliveries in each of two runs; nothing_new is not logged"
        );
        let newest: serde_json::Value = serde_json::from_str(&fwd[0].detail_json).unwrap();
        assert_eq!(newest["recipient"], "new@police.test");
        assert_eq!(newest["status"], "sent");
        assert_eq!(
            newest["cases"],
            serde_json::json!([fx.case_a, fx.case_b, fx.case_e])
        );
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_delivery_is_recorded_and_retried() {
    for t in TestDb::all().await.unwrap() {
        let db = &t.db;
        let fx = week(db).await;
        let dirs = tempfile::tempdir().unwrap();
        let (r, report_id) = generate(db, &fx, &dirs.path().join("out"), W47 + 8 * DAY).await;

        // The server refuses the recipient.
        let refusing = Sink::start(true).await;
        let o = opts(None, Some(smtp(refusing.port, &["cyber@police.test"])), &fx);
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].status, "failed");
        assert!(d[0].error.as_deref().unwrap().contains("550"), "{d:?}");
        assert!(refusing.messages().is_empty());
        assert!(deliveries(db).await.iter().all(|r| r.3 == "failed"));

        // Nobody listening at all: also a recorded failure, not an error of the run.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let o = opts(None, Some(smtp(closed, &["cyber@police.test"])), &fx);
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
            .await
            .unwrap();
        assert_eq!(d[0].status, "failed");

        // A working server: the failed cases go out now, once.
        let sink = Sink::start(false).await;
        let o = opts(None, Some(smtp(sink.port, &["cyber@police.test"])), &fx);
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
            .await
            .unwrap();
        assert_eq!(d[0].status, "sent");
        assert_eq!(d[0].cases, [fx.case_a, fx.case_b]);
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
            .await
            .unwrap();
        assert_eq!(d[0].status, "nothing_new");
        assert_eq!(sink.messages().len(), 1);

        // A claim left by a crashed run ('sending') is retried only once it is stale.
        sqlx::query(
            "UPDATE report_deliveries SET status = 'sending', sent_at = $1 WHERE case_id = $2",
        )
        .bind(W47 + 8 * DAY)
        .bind(fx.case_a)
        .execute(db.pool())
        .await
        .unwrap();
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY + 60_000)
            .await
            .unwrap();
        assert_eq!(
            d[0].status, "nothing_new",
            "a fresh claim belongs to another run"
        );
        let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY + 16 * 60_000)
            .await
            .unwrap();
        assert_eq!(d[0].cases, [fx.case_a]);
        assert_eq!(sink.messages().len(), 2);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn large_evidence_stays_out_of_the_mail() {
    let t = TestDb::sqlite().await.unwrap();
    let db = &t.db;
    let fx = week(db).await;
    let dirs = tempfile::tempdir().unwrap();
    let (r, report_id) = generate(db, &fx, &dirs.path().join("out"), W47 + 8 * DAY).await;
    let sink = Sink::start(false).await;
    let mut o = opts(None, Some(smtp(sink.port, &["cyber@police.test"])), &fx);
    // Room for the report files but not for the records too.
    let report_bytes: u64 = report::package::render_files(&r)
        .unwrap()
        .iter()
        .map(|f| f.bytes.len() as u64)
        .sum();
    o.limits.max_attachment_bytes = report_bytes + 1_000;
    let d = forward::forward(db, report_id, &r, &o, W47 + 8 * DAY)
        .await
        .unwrap();
    assert_eq!(d[0].status, "sent");
    let msgs = sink.messages();
    let m = MessageParser::default().parse(&msgs[0].data).unwrap();
    let names: Vec<&str> = m
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".warc")), "{names:?}");
    assert!(names.contains(&"MANIFEST.sha256"));
    assert!(
        m.body_text(0)
            .unwrap()
            .contains("exceed the mail size limit")
    );
}

#[test]
fn smtp_password_never_prints() {
    let mut s = smtp(25, &["a@b.test"]);
    s.username = Some("kuzet".into());
    s.password = Some("hunter2-secret".into());
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("***"),
        "{shown}"
    );
}

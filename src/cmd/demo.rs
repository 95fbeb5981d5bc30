//! `kuzet demo`: the whole pipeline on the bundled demo web. Serves the demo web on loopback,
//! crawls it into a fresh SQLite database (classifying pages and decoding QR codes as they
//! arrive), groups flagged pages into cases, creates two demo analysts and serves the review UI.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use kuzet_crawler::crawl::{CrawlConfig, EvidencePolicy, Seed, parse_seeds};
use kuzet_crawler::fetch::{FetchConfig, FetchLimits};
use kuzet_crawler::politeness::HostPolicy;
use kuzet_crawler::scope::{Scope, ScopeEntry};
use kuzet_reporter::cases::{self, QueueFilter};
use kuzet_reporter::users::{self, Role};
use kuzet_reporter::web::{self, AppState, WebConfig};
use kuzet_storage::{Db, DbOptions};
use serde_json::json;

use super::Context;
use crate::cli::DemoArgs;
use crate::demo::{self, DemoWeb};

pub async fn run(args: DemoArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let web = demo::start(args.web_port).await?;
    if args.web_only {
        ctx.emit(
            &json!({"demo_web": web.entry_url(), "telegram_base": web.telegram_base()}),
            || {
                format!(
                    "demo web: {}  (hosts 127.0.0.1-{} on port {}; Telegram base {})",
                    web.entry_url(),
                    demo::HOSTS,
                    web.port,
                    web.telegram_base()
                )
            },
        );
        tokio::signal::ctrl_c().await?;
        web.stop().await;
        return Ok(ExitCode::SUCCESS);
    }
    let result = pipeline(&args, ctx, &web).await;
    web.stop().await;
    result
}

async fn pipeline(args: &DemoArgs, ctx: &Context, web: &DemoWeb) -> anyhow::Result<ExitCode> {
    // A fresh database every time: the demo shows a first run, not leftovers.
    if args.dir.exists() {
        for name in ["demo.db", "demo.db-wal", "demo.db-shm"] {
            let _ = std::fs::remove_file(args.dir.join(name));
        }
        let _ = std::fs::remove_dir_all(args.dir.join("evidence"));
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let db_url = format!("sqlite://{}", args.dir.join("demo.db").display());
    let db = Db::connect(&db_url, &DbOptions::default()).await?;
    let evidence_dir = args.dir.join("evidence");

    eprintln!("kuzet demo: crawling the demo web at {} …", web.entry_url());
    let seeds = demo_seeds(web)?;
    let (run_id, summary) =
        super::crawl::crawl_and_group(&db, crawl_config(web, &evidence_dir)?, &seeds, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;

    let password = random_password();
    for name in ["analyst", "analyst2"] {
        users::add(&db, "demo", name, Role::Analyst, &password).await?;
    }
    let found = cases::list(
        &db,
        &QueueFilter {
            limit: 1000,
            ..QueueFilter::default()
        },
    )
    .await?;
    // The demo knows what each of its pages truly is: check the pipeline against it.
    let in_case: std::collections::HashSet<&str> = found
        .iter()
        .flat_map(|c| c.urls.iter().map(String::as_str))
        .collect();
    let (mut shops, mut shops_found, mut false_cases) = (0, 0, Vec::new());
    for page in demo::pages()? {
        let url = web.url_of(&page);
        let hit = in_case.contains(url.as_str());
        if page.label == "shop" {
            shops += 1;
            shops_found += usize::from(hit);
        } else if hit {
            false_cases.push(url);
        }
    }
    let case_json: Vec<_> = found
        .iter()
        .map(|c| json!({"id": c.id, "status": c.status, "score": c.score, "urls": c.urls}))
        .collect();
    ctx.emit(
        &json!({
            "demo_web": web.entry_url(), "database": db_url, "run": run_id,
            "pages": summary.pages, "images": summary.images, "flagged": summary.flagged,
            "errors": summary.errors, "cases": case_json,
            "users": ["analyst", "analyst2"], "password": password,
            "check": {"shop_pages": shops, "shop_pages_in_cases": shops_found,
                      "non_shop_pages_in_cases": false_cases},
        }),
        || {
            let mut out = format!(
                "crawled {} pages and {} images ({} flagged); {} cases:\n",
                summary.pages,
                summary.images,
                summary.flagged,
                found.len()
            );
            for c in &found {
                out.push_str(&format!(
                    "  #{} {:.2} {}\n",
                    c.id,
                    c.score,
                    c.urls.join(" ")
                ));
            }
            let errors: Vec<String> = summary
                .errors
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            out.push_str(&format!(
                "hostile host handled, failures by kind: {}\n",
                errors.join(" ")
            ));
            out.push_str(&format!(
                "check against the demo's labels: {shops_found} of {shops} shop pages are in cases, \
                 {} non-shop pages are\n",
                false_cases.len()
            ));
            out.push_str(&format!(
                "database: {db_url}\nlog in as analyst / {password} (second analyst for four-eyes: analyst2 / same password)"
            ));
            out
        },
    );
    if args.no_serve {
        db.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    eprintln!("kuzet demo: review UI on http://{addr}/ (Ctrl-C stops)");
    let cfg = WebConfig {
        evidence_dir: Some(evidence_dir),
        ..WebConfig::default()
    };
    web::serve(listener, AppState::new(db.clone(), cfg), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("web server failed")?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

fn demo_seeds(web: &DemoWeb) -> anyhow::Result<Vec<Seed>> {
    let text = format!(
        "{}\nt.me/qar_snow_demo\nt.me/qala_recipes_demo\n",
        web.entry_url()
    );
    Ok(parse_seeds(&text)?)
}

/// No delay between requests to the demo's own loopback hosts (robots.txt still obeyed), and
/// short timeouts so the hostile host's slow page does not hold the demo up.
fn crawl_config(web: &DemoWeb, evidence_dir: &std::path::Path) -> anyhow::Result<CrawlConfig> {
    let loopback: ScopeEntry = "127.0.0.0/8".parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = CrawlConfig {
        fetch: FetchConfig {
            limits: FetchLimits {
                connect_timeout: Duration::from_secs(2),
                read_timeout: Duration::from_secs(3),
                total_timeout: Duration::from_secs(5),
                ..FetchLimits::default()
            },
            scope: Scope::new(vec![loopback.clone()]),
            allow_private_addresses: true,
            // No Tor in the demo: a local port where nothing listens.
            socks_proxy: Some("socks5h://127.0.0.1:9".into()),
        },
        max_pages: Some(300),
        max_depth: 4,
        concurrency: 8,
        telegram_base: kuzet_crawler::url::parse_canonical(&web.telegram_base())?,
        evidence_dir: Some(evidence_dir.to_path_buf()),
        evidence: EvidencePolicy::All,
        ..CrawlConfig::default()
    };
    config.frontier.max_attempts = 1;
    // Fast on the demo's own hosts, but robots.txt still obeyed: the demo shows the polite crawl.
    config.politeness.overrides.push((
        loopback,
        HostPolicy {
            obey_robots: true,
            ..HostPolicy::relaxed(4)
        },
    ));
    Ok(config)
}

/// 16 hex digits (64 bits) from the operating system's random source.
fn random_password() -> String {
    kuzet_reporter::web::session::random_token()[..16].to_string()
}

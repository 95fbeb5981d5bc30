//! Operations endpoints: `/healthz` (the database answers) and `/metrics` (Prometheus text format:
//! pages, images, verdicts, fetch errors by kind, queue sizes, cases by status, job durations).
//! Both need no session (scrapers and load balancers do not log in) and expose counts only.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kuzet_storage::now_ms;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::Row;

use super::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(st): State<AppState>) -> Response {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(st.db.pool())
        .await
    {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

type Labeled = Family<Vec<(String, String)>, Gauge>;

async fn metrics(State(st): State<AppState>) -> Response {
    match render(&st).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics query failed");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response()
        }
    }
}

async fn grouped(st: &AppState, sql: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(sql).fetch_all(st.db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

async fn count(st: &AppState, sql: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql).fetch_one(st.db.pool()).await
}

fn family(registry: &mut Registry, name: &str, help: &str, label: &str, rows: &[(String, i64)]) {
    let f = Labeled::default();
    for (value, n) in rows {
        f.get_or_create(&vec![(label.to_string(), value.clone())])
            .set(*n);
    }
    registry.register(name, help, f);
}

fn single(registry: &mut Registry, name: &str, help: &str, n: i64) {
    let g = Gauge::<i64>::default();
    g.set(n);
    registry.register(name, help, g);
}

async fn render(st: &AppState) -> Result<String, sqlx::Error> {
    let mut r = Registry::with_prefix("kuzet");
    single(
        &mut r,
        "pages",
        "Pages stored",
        count(st, "SELECT COUNT(*) FROM pages").await?,
    );
    single(
        &mut r,
        "images",
        "Images stored",
        count(st, "SELECT COUNT(*) FROM images").await?,
    );
    single(
        &mut r,
        "fetches",
        "Fetch attempts recorded",
        count(st, "SELECT COUNT(*) FROM fetch_log").await?,
    );
    let errors = grouped(
        st,
        "SELECT error_kind, COUNT(*) FROM fetch_log WHERE error_kind IS NOT NULL GROUP BY error_kind",
    )
    .await?;
    family(
        &mut r,
        "fetch_errors",
        "Failed fetches by kind",
        "kind",
        &errors,
    );
    let verdicts = grouped(
        st,
        "SELECT v.verdict, COUNT(*) FROM verdicts v WHERE v.page_id IS NOT NULL AND v.id = \
         (SELECT MAX(w.id) FROM verdicts w WHERE w.page_id = v.page_id) GROUP BY v.verdict",
    )
    .await?;
    family(
        &mut r,
        "page_verdicts",
        "Pages by newest verdict",
        "verdict",
        &verdicts,
    );
    let now = now_ms();
    single(
        &mut r,
        "queue_urls",
        "URLs waiting in the frontier",
        count(st, "SELECT COUNT(*) FROM frontier").await?,
    );
    let leased: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM frontier WHERE lease_expires_at >= $1")
            .bind(now)
            .fetch_one(st.db.pool())
            .await?;
    single(
        &mut r,
        "queue_leased",
        "Frontier URLs leased by a worker",
        leased,
    );
    single(
        &mut r,
        "seen_urls",
        "URLs ever discovered",
        count(st, "SELECT COUNT(*) FROM seen_urls").await?,
    );
    let cases = grouped(
        st,
        "SELECT status, COUNT(*) FROM cases WHERE merged_into IS NULL GROUP BY status",
    )
    .await?;
    family(&mut r, "cases", "Cases by status", "status", &cases);
    let jobs = grouped(
        st,
        "SELECT j.job, j.finished_at - j.started_at FROM job_runs j WHERE j.id = \
         (SELECT MAX(k.id) FROM job_runs k WHERE k.job = j.job AND k.finished_at IS NOT NULL)",
    )
    .await?;
    family(
        &mut r,
        "job_last_duration_ms",
        "Duration of each job's last finished run",
        "job",
        &jobs,
    );
    let runs = grouped(
        st,
        "SELECT CAST(id AS TEXT), COALESCE(finished_at, 0) - started_at FROM crawl_runs \
         WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .await?;
    single(
        &mut r,
        "crawl_last_run_duration_ms",
        "Duration of the last finished crawl run",
        runs.first().map_or(0, |(_, ms)| *ms),
    );
    // Takedown tracking: watched URLs by state, forwarded cases by takedown outcome.
    let watched = grouped(
        st,
        "SELECT state, COUNT(*) FROM watch_targets GROUP BY state",
    )
    .await?;
    family(
        &mut r,
        "watch_targets",
        "Watched URLs of forwarded and confirmed cases by takedown state",
        "state",
        &watched,
    );
    let td =
        crate::takedown::stats::figures(&st.db, now, now - 7 * crate::takedown::stats::DAY_MS, 7)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let outcomes: Vec<(String, i64)> = [
        ("live", td.live),
        ("blocked", td.blocked),
        ("gone", td.gone),
        ("unknown", td.unknown),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), *n))
    .collect();
    family(
        &mut r,
        "takedown_cases",
        "Forwarded cases by takedown outcome",
        "outcome",
        &outcomes,
    );
    single(
        &mut r,
        "takedown_forwarded",
        "Cases forwarded",
        td.forwarded,
    );
    single(
        &mut r,
        "takedown_still_live_7d",
        "Forwarded cases still live 7 days or more after forwarding",
        td.still_live_after_days,
    );
    single(
        &mut r,
        "takedown_median_ms",
        "Median time from forwarding to blocked or gone (0 when none)",
        td.median_ms_to_takedown.unwrap_or(0),
    );
    single(
        &mut r,
        "takedown_p90_ms",
        "90th percentile time from forwarding to blocked or gone (0 when none)",
        td.p90_ms_to_takedown.unwrap_or(0),
    );
    single(
        &mut r,
        "qr_watched",
        "QR payload URLs on the QR watch list",
        count(st, "SELECT COUNT(*) FROM qr_watch").await?,
    );
    single(
        &mut r,
        "qr_hijack_cases",
        "Cases opened because a watched QR code started leading to a shop",
        count(
            st,
            "SELECT COUNT(*) FROM cases WHERE reason = 'qr_hijack' AND merged_into IS NULL",
        )
        .await?,
    );
    let f = crate::volunteer::store::figures(&st.db, 0, i64::MAX)
        .await
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    single(
        &mut r,
        "volunteer_photos",
        "Photos received from volunteers (duplicates and refusals included)",
        f.photos_received,
    );
    single(
        &mut r,
        "volunteer_codes_read",
        "QR codes read from volunteers' photos",
        f.codes_read,
    );
    single(
        &mut r,
        "volunteer_shops_found",
        "Pages in cases reached through volunteers' photos",
        f.shops_found,
    );
    single(
        &mut r,
        "walls_cleaned",
        "Clean-up tasks painted over",
        f.walls_cleaned,
    );
    let mut out = String::new();
    encode(&mut out, &r).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    Ok(out)
}

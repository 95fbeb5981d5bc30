//! Server-rendered pages and form actions.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use kuzet_storage::now_ms;
use serde::Deserialize;

use super::access::FormData;
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE, Session, same};
use super::time::{age, fmt_ms};
use super::{AppState, WebError};
use crate::ReporterError;
use crate::audit;
use crate::cases::query::CaseDetail;
use crate::cases::{self, Action, Actor, QueueFilter, Sort, Status};
use crate::users::{self, Role};

static APP_CSS: &str = include_str!("../../assets/app.css");
static APP_JS: &str = include_str!("../../assets/app.js");

pub(super) fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/queue", get(queue))
        .route("/cases/{id}", get(case_page))
        .route("/cases/bulk", post(bulk))
        .route("/cases/rebuild", post(rebuild))
        .route("/audit", get(audit_page))
        .route(
            "/assets/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        );
    for a in [
        "assign", "note", "confirm", "dismiss", "approve", "reopen", "merge", "split", "forward",
    ] {
        r = r.route(&format!("/cases/{{id}}/{a}"), post(case_action));
    }
    r
}

fn asset(body: &'static str, ct: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The navigation bar's data.
pub(super) struct Nav {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
    pub is_admin: bool,
    pub reports: bool,
    pub is_volunteer: bool,
    pub can_review: bool,
}

impl Nav {
    pub(super) fn of(s: &Session) -> Nav {
        Nav {
            name: s.user.name.clone(),
            role: s.role().as_str(),
            csrf: s.csrf.clone(),
            is_admin: s.role() == Role::Admin,
            reports: matches!(s.role(), Role::Admin | Role::Liaison),
            is_volunteer: s.role() == Role::Volunteer,
            can_review: may_review(s.role()),
        }
    }
}

/// Liaisons see only confirmed and forwarded cases.
pub(super) fn visible(role: Role, status: Status) -> bool {
    role != Role::Liaison || matches!(status, Status::Confirmed | Status::Forwarded)
}

pub(super) fn may_review(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Analyst)
}

// ---------------------------------------------------------------- login / logout

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    name: String,
    error: Option<String>,
}

async fn login_form(headers: HeaderMap, State(st): State<AppState>) -> Result<Response, WebError> {
    let existing = session::cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let csrf = existing.clone().unwrap_or_else(session::random_token);
    let page = LoginPage {
        nav: None,
        csrf: csrf.clone(),
        name: String::new(),
        error: None,
    }
    .render()
    .map_err(ReporterError::from)?;
    let mut res = Html(page).into_response();
    if existing.is_none() {
        set_cookie(
            &mut res,
            &session::set_cookie(
                LOGIN_COOKIE,
                &csrf,
                Some(std::time::Duration::from_secs(3600)),
                st.cfg.secure_cookies,
            ),
        );
    }
    Ok(res)
}

fn set_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(super) fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Outcome of a login attempt shared by the form and the API.
pub(super) enum LoginOutcome {
    Ok(Session, String),
    Wrong,
    Limited,
}

/// Checks the rate limit and the password; on success replaces any session the client had.
pub(super) async fn do_login(
    st: &AppState,
    ip: &str,
    old_token: Option<String>,
    name: &str,
    password: &str,
) -> Result<LoginOutcome, WebError> {
    if !st.limiter.allowed(ip, name) {
        audit::record(
            &st.db,
            name,
            "user.login_limited",
            &format!("user:{name}"),
            &serde_json::json!({ "ip": ip }),
        )
        .await?;
        return Ok(LoginOutcome::Limited);
    }
    let Some(user) = users::authenticate(&st.db, name, password).await? else {
        st.limiter.failure(ip, name);
        audit::record(
            &st.db,
            name,
            "user.login_failed",
            &format!("user:{name}"),
            &serde_json::json!({ "ip": ip }),
        )
        .await?;
        return Ok(LoginOutcome::Wrong);
    };
    st.limiter.success(ip, name);
    if let Some(old) = old_token {
        session::delete(&st.db, &old).await?;
    }
    let (token, csrf) = session::create(&st.db, user.id, st.cfg.session_ttl).await?;
    audit::record(
        &st.db,
        &user.name,
        "user.login",
        &format!("user:{}", user.name),
        &serde_json::json!({ "ip": ip }),
    )
    .await?;
    Ok(LoginOutcome::Ok(Session { user, csrf }, token))
}

async fn login_submit(State(st): State<AppState>, req: Request) -> Result<Response, WebError> {
    let ip = client_ip(&req);
    let cookie_csrf = session::cookie(req.headers(), LOGIN_COOKIE);
    let old = session::cookie(req.headers(), SESSION_COOKIE);
    let body = axum::body::to_bytes(req.into_body(), st.cfg.max_body_bytes)
        .await
        .map_err(|_| WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))?;
    let form = FormData::parse(&body);
    let csrf_ok = match (cookie_csrf.as_deref(), form.get("csrf")) {
        (Some(c), Some(f)) => same(c, f),
        _ => false,
    };
    if !csrf_ok {
        return Err(WebError::forbidden(
            "CSRF token missing or invalid: reload the login page",
        ));
    }
    let name = form.get("name").unwrap_or("").to_string();
    let password = form.get("password").unwrap_or("");
    let csrf = cookie_csrf.unwrap_or_default();
    let again = |status: StatusCode, msg: &str, name: String| -> Result<Response, WebError> {
        let page = LoginPage {
            nav: None,
            csrf: csrf.clone(),
            name,
            error: Some(msg.to_string()),
        }
        .render()
        .map_err(ReporterError::from)?;
        Ok((status, Html(page)).into_response())
    };
    match do_login(&st, &ip, old, &name, password).await? {
        LoginOutcome::Limited => again(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed attempts; try again later",
            name,
        ),
        LoginOutcome::Wrong => again(StatusCode::UNAUTHORIZED, "wrong name or password", name),
        LoginOutcome::Ok(sess, token) => {
            let home = if sess.role() == Role::Volunteer {
                "/volunteer"
            } else {
                "/queue"
            };
            let mut res = Redirect::to(home).into_response();
            set_cookie(
                &mut res,
                &session::set_cookie(
                    SESSION_COOKIE,
                    &token,
                    Some(st.cfg.session_ttl),
                    st.cfg.secure_cookies,
                ),
            );
            set_cookie(
                &mut res,
                &session::set_cookie(LOGIN_COOKIE, "", None, st.cfg.secure_cookies),
            );
            Ok(res)
        }
    }
}

async fn logout(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(t) = session::cookie(&headers, SESSION_COOKIE) {
        session::delete(&st.db, &t).await?;
    }
    audit::record(
        &st.db,
        &sess.user.name,
        "user.logout",
        &format!("user:{}", sess.user.name),
        &serde_json::json!({}),
    )
    .await?;
    let mut res = Redirect::to("/login").into_response();
    set_cookie(
        &mut res,
        &session::set_cookie(SESSION_COOKIE, "", None, st.cfg.secure_cookies),
    );
    Ok(res)
}

// ---------------------------------------------------------------- queue

/// Query string of the queue (UI and API).
#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    /// `open` (new + in_review, the default), `all`, or one status.
    #[serde(default)]
    pub status: Option<String>,
    /// Source kind.
    #[serde(default)]
    pub source: Option<String>,
    /// Indicator value substring.
    #[serde(default)]
    pub indicator: Option<String>,
    /// `score` (default), `oldest`, `newest`.
    #[serde(default)]
    pub sort: Option<String>,
    /// Page size (capped by `WebConfig::max_queue_page`).
    #[serde(default)]
    pub limit: Option<i64>,
    /// Cases skipped.
    #[serde(default)]
    pub offset: Option<i64>,
}

/// Builds the filter; `open` (default) is new + in_review, `all` is every status. Liaisons are
/// held to confirmed + forwarded whatever they ask.
pub(super) fn filter_for(
    p: &QueueParams,
    role: Role,
    st: &AppState,
) -> Result<QueueFilter, WebError> {
    let status = p
        .status
        .as_deref()
        .unwrap_or(if role == Role::Liaison { "all" } else { "open" });
    let mut statuses = match status {
        "open" | "" => vec![Status::New, Status::InReview],
        "all" => Vec::new(),
        s => vec![s.parse::<Status>()?],
    };
    if role == Role::Liaison {
        if statuses.is_empty() || status == "open" {
            statuses = vec![Status::Confirmed, Status::Forwarded];
        }
        statuses.retain(|s| visible(role, *s));
        if statuses.is_empty() {
            return Err(WebError::forbidden(
                "liaisons see confirmed and forwarded cases",
            ));
        }
    }
    Ok(QueueFilter {
        statuses,
        source: p.source.clone().filter(|s| !s.is_empty()),
        indicator: p.indicator.clone().filter(|s| !s.is_empty()),
        sort: Sort::parse(p.sort.as_deref().unwrap_or("score")),
        limit: p
            .limit
            .unwrap_or(st.cfg.queue_page)
            .clamp(1, st.cfg.max_queue_page),
        offset: p.offset.unwrap_or(0).max(0),
    })
}

pub(super) struct QueueRow {
    id: i64,
    status: &'static str,
    score: String,
    age: String,
    title: String,
    /// Why the case was opened, when it is not an ordinary flag (`reappeared`, `qr_hijack`).
    reason: String,
    urls: Vec<String>,
    more_urls: usize,
    indicators: Vec<String>,
    more_indicators: usize,
    assigned: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub(super) struct QueuePage {
    nav: Option<Nav>,
    rows: Vec<QueueRow>,
    status: String,
    source: String,
    indicator: String,
    sort: &'static str,
    can_review: bool,
    next_href: Option<String>,
    prev_href: Option<String>,
}

const STATUS_OPTIONS: [&str; 7] = [
    "open",
    "all",
    "new",
    "in_review",
    "confirmed",
    "dismissed",
    "forwarded",
];
const SOURCE_OPTIONS: [&str; 5] = ["", "web", "telegram", "onion", "photos"];

impl QueuePage {
    fn status_options(&self) -> &'static [&'static str] {
        &STATUS_OPTIONS
    }
    fn source_options(&self) -> &'static [&'static str] {
        &SOURCE_OPTIONS
    }
    fn sel_status(&self, s: &str) -> &'static str {
        if self.status == s { " selected" } else { "" }
    }
    fn sel_source(&self, s: &str) -> &'static str {
        if self.source == s { " selected" } else { "" }
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Renders the queue page's HTML for `sess` (also used by the benchmark).
pub async fn render_queue(
    st: &AppState,
    sess: &Session,
    p: &QueueParams,
) -> Result<String, WebError> {
    let f = filter_for(p, sess.role(), st)?;
    let list = cases::list(&st.db, &f).await?;
    let now = now_ms();
    let n = list.len() as i64;
    let rows = list
        .into_iter()
        .map(|c| QueueRow {
            id: c.id,
            status: c.status.as_str(),
            score: format!("{:.2}", c.score),
            age: age(now, c.created_at),
            title: c.title,
            reason: if c.reason == "flagged" {
                String::new()
            } else {
                c.reason
            },
            more_urls: c.urls.len().saturating_sub(3),
            urls: c.urls.into_iter().take(3).collect(),
            more_indicators: c.indicators.len().saturating_sub(5),
            indicators: c
                .indicators
                .into_iter()
                .take(5)
                .map(|i| format!("{}: {}", i.kind, i.value))
                .collect(),
            assigned: c.assigned_to.unwrap_or_default(),
        })
        .collect();
    let status = p.status.clone().unwrap_or_else(|| "open".into());
    let source = p.source.clone().unwrap_or_default();
    let indicator = p.indicator.clone().unwrap_or_default();
    let href = |off: i64| {
        format!(
            "/queue?status={}&source={}&indicator={}&sort={}&limit={}&offset={off}",
            enc(&status),
            enc(&source),
            enc(&indicator),
            f.sort.as_str(),
            f.limit
        )
    };
    let page = QueuePage {
        nav: Some(Nav::of(sess)),
        rows,
        next_href: (n == f.limit).then(|| href(f.offset + f.limit)),
        prev_href: (f.offset > 0).then(|| href((f.offset - f.limit).max(0))),
        status,
        source,
        indicator,
        sort: f.sort.as_str(),
        can_review: may_review(sess.role()),
    };
    Ok(page.render().map_err(ReporterError::from)?)
}

async fn queue(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Query(p): Query<QueueParams>,
) -> Result<Html<String>, WebError> {
    Ok(Html(render_queue(&st, &sess, &p).await?))
}

// ---------------------------------------------------------------- case page

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Option<Nav>,
    c: CaseDetail,
    can_review: bool,
    can_forward: bool,
    can_approve: bool,
    analysts: Vec<(i64, String)>,
    me: i64,
    photo_leads: Vec<crate::volunteer::store::CasePhotoLead>,
    /// Takedown transitions of the case's watched URLs, oldest first.
    timeline: Vec<crate::takedown::watch::Event>,
    /// The QR codes a QR-hijack case was opened for, with where they were seen.
    qr_codes: Vec<crate::takedown::qr::CaseCode>,
}

impl CasePage {
    fn opt_score(&self, s: &Option<f64>) -> String {
        s.map(|s| format!("{s:.2}")).unwrap_or_else(|| "–".into())
    }
    fn time(&self, ms: &i64) -> String {
        fmt_ms(*ms)
    }
    fn coord(&self, v: &f64) -> String {
        format!("{v:.5}")
    }
    fn score(&self, s: &f64) -> String {
        format!("{s:.2}")
    }
    fn status(&self) -> &'static str {
        self.c.summary.status.as_str()
    }
    fn csrf(&self) -> &str {
        self.nav.as_ref().map(|n| n.csrf.as_str()).unwrap_or("")
    }
    fn is(&self, s: &str) -> bool {
        self.c.summary.status.as_str() == s
    }
}

pub(super) async fn load_visible(
    st: &AppState,
    sess: &Session,
    id: i64,
) -> Result<CaseDetail, WebError> {
    let c = cases::get(&st.db, id, st.cfg.max_text_bytes).await?;
    if !visible(sess.role(), c.summary.status) {
        return Err(WebError::not_found());
    }
    Ok(c)
}

async fn case_page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let c = load_visible(&st, &sess, id).await?;
    let analysts = users::list(&st.db)
        .await?
        .into_iter()
        .filter(|u| may_review(u.role) && !u.disabled)
        .map(|u| (u.id, u.name))
        .collect();
    let can_review = may_review(sess.role()) && c.merged_into.is_none();
    let photo_leads =
        crate::volunteer::store::case_photo_leads(&st.db, id, sess.role() == Role::Admin).await?;
    let timeline = crate::takedown::watch::timeline(&st.db, id).await?;
    let qr_codes = crate::takedown::qr::case_codes(&st.db, id, st.cfg.max_qr_rows).await?;
    let confirmed_by_me = c.confirmed_by.as_deref() == Some(sess.user.name.as_str());
    let page = CasePage {
        nav: Some(Nav::of(&sess)),
        can_approve: can_review
            && c.summary.status == Status::Confirmed
            && !confirmed_by_me
            && !c.forward_approved,
        can_forward: matches!(sess.role(), Role::Admin | Role::Liaison)
            && c.summary.status == Status::Confirmed
            && c.forward_approved
            && c.merged_into.is_none(),
        can_review,
        analysts,
        me: sess.user.id,
        photo_leads,
        timeline,
        qr_codes,
        c,
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

// ---------------------------------------------------------------- actions

/// The result of one action, for redirects and JSON answers.
pub(super) struct Done {
    pub case: i64,
    pub status: Option<Status>,
}

/// Performs action `name` on case `id` with the given fields; shared by forms and the API.
pub(super) async fn perform(
    st: &AppState,
    sess: &Session,
    id: i64,
    name: &str,
    text: &str,
    user: Option<i64>,
    ids: &[i64],
) -> Result<Done, WebError> {
    let actor = Actor::user(sess.user.id, &sess.user.name);
    let text = text.trim().to_string();
    let action = match name {
        "assign" => Action::Assign(user),
        "note" => Action::Note(text),
        "start" => Action::Start,
        "confirm" => Action::Confirm(text),
        "dismiss" => Action::Dismiss(text),
        "approve" => Action::ApproveForward(text),
        "forward" => Action::Forward(text),
        "reopen" => Action::Reopen(text),
        "merge" => {
            let mut all = vec![id];
            all.extend_from_slice(ids);
            let keep = cases::merge(&st.db, &actor, &all).await?;
            return Ok(Done {
                case: keep,
                status: None,
            });
        }
        "split" => {
            let new = cases::split(&st.db, &actor, id, ids).await?;
            return Ok(Done {
                case: new,
                status: None,
            });
        }
        _ => return Err(WebError::not_found()),
    };
    let status = cases::apply(&st.db, &actor, id, &action).await?;
    Ok(Done {
        case: id,
        status: Some(status),
    })
}

pub(super) fn action_name(path: &MatchedPath) -> &str {
    path.as_str().rsplit('/').next().unwrap_or("")
}

async fn case_action(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    path: MatchedPath,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = FormData::parse(&body);
    let name = action_name(&path);
    let text = form
        .get("text")
        .or(form.get("reason"))
        .or(form.get("note"))
        .unwrap_or("");
    let user = match form.get("user") {
        Some("me") => Some(sess.user.id),
        Some(u) => u.parse().ok(),
        None => None,
    };
    let ids = if name == "split" {
        form.ids("pages")
    } else {
        form.ids("cases")
    };
    let done = perform(&st, &sess, id, name, text, user, &ids).await?;
    let to = match (name, form.get("return")) {
        ("confirm" | "dismiss", _) | (_, Some("queue")) => "/queue".to_string(),
        _ => format!("/cases/{}", done.case),
    };
    Ok(Redirect::to(&to).into_response())
}

/// One bulk item's outcome.
pub(super) struct BulkItem {
    pub id: i64,
    pub result: Result<Option<Status>, String>,
}

pub(super) async fn perform_bulk(
    st: &AppState,
    sess: &Session,
    ids: &[i64],
    action: &str,
    text: &str,
) -> Result<Vec<BulkItem>, WebError> {
    if !matches!(
        action,
        "assign" | "note" | "confirm" | "dismiss" | "reopen" | "merge"
    ) {
        return Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "bulk action must be assign, note, confirm, dismiss, reopen or merge",
        ));
    }
    if action == "merge" {
        let Some((&first, rest)) = ids.split_first() else {
            return Ok(Vec::new());
        };
        let done = perform(st, sess, first, "merge", text, None, rest).await?;
        return Ok(vec![BulkItem {
            id: done.case,
            result: Ok(None),
        }]);
    }
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let r = perform(st, sess, id, action, text, Some(sess.user.id), &[]).await;
        out.push(BulkItem {
            id,
            result: r.map(|d| d.status).map_err(|e| e.message),
        });
    }
    Ok(out)
}

async fn bulk(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = FormData::parse(&body);
    let ids = form.ids("ids");
    let action = form.get("action").unwrap_or("");
    let items = perform_bulk(&st, &sess, &ids, action, form.get("text").unwrap_or("")).await?;
    let failed: Vec<String> = items
        .iter()
        .filter_map(|i| {
            i.result
                .as_ref()
                .err()
                .map(|e| format!("case {}: {e}", i.id))
        })
        .collect();
    if failed.is_empty() {
        Ok(Redirect::to("/queue").into_response())
    } else {
        Err(WebError::new(StatusCode::CONFLICT, failed.join("; ")))
    }
}

async fn rebuild(State(st): State<AppState>) -> Result<Response, WebError> {
    cases::rebuild_or_update(&st.db, &st.cfg.grouping).await?;
    Ok(Redirect::to("/queue").into_response())
}

// ---------------------------------------------------------------- audit

pub(super) struct AuditRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    rows: Vec<AuditRow>,
}

/// Most audit entries shown.
const AUDIT_LIMIT: i64 = 1000;

async fn audit_page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
) -> Result<Html<String>, WebError> {
    let rows = audit::recent(&st.db, AUDIT_LIMIT)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            at: fmt_ms(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail_json,
        })
        .collect();
    let page = AuditPage {
        nav: Some(Nav::of(&sess)),
        rows,
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

//! The JSON API under `/api/…`, mirroring the UI's actions. Clients log in with
//! `POST /api/login` (JSON), keep the session cookie and send the returned CSRF token as
//! `X-CSRF-Token` on every POST.

use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pages::{self, LoginOutcome, QueueParams};
use super::session::{self, SESSION_COOKIE, Session};
use super::{AppState, WebError};
use crate::{audit, cases};

pub(super) fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/api/cases", get(list))
        .route("/api/cases/{id}", get(detail))
        .route("/api/cases/bulk", post(bulk))
        .route("/api/cases/rebuild", post(rebuild))
        .route("/api/audit", get(audit_log));
    for a in [
        "assign", "note", "confirm", "dismiss", "approve", "reopen", "merge", "split", "forward",
    ] {
        r = r.route(&format!("/api/cases/{{id}}/{a}"), post(action));
    }
    r
}

type ApiResult = Result<Response, WebError>;

fn j(e: impl Into<WebError>) -> WebError {
    e.into().json()
}

#[derive(Deserialize)]
struct LoginBody {
    name: String,
    password: String,
}

async fn login(State(st): State<AppState>, req: Request) -> ApiResult {
    let ip = pages::client_ip(&req);
    let old = session::cookie(req.headers(), SESSION_COOKIE);
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        // A cross-site form cannot send application/json without a CORS preflight.
        return Err(
            WebError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json").json(),
        );
    }
    let body = axum::body::to_bytes(req.into_body(), st.cfg.max_body_bytes)
        .await
        .map_err(|_| WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "body too large").json())?;
    let b: LoginBody = serde_json::from_slice(&body)
        .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()).json())?;
    match do_login_json(&st, &ip, old, &b).await? {
        Ok((sess, token)) => {
            let mut res = Json(json!({
                "name": sess.user.name, "role": sess.user.role, "csrf": sess.csrf
            }))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
                SESSION_COOKIE,
                &token,
                Some(st.cfg.session_ttl),
                st.cfg.secure_cookies,
            )) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(e) => Err(e.json()),
    }
}

async fn do_login_json(
    st: &AppState,
    ip: &str,
    old: Option<String>,
    b: &LoginBody,
) -> Result<Result<(Session, String), WebError>, WebError> {
    Ok(
        match pages::do_login(st, ip, old, &b.name, &b.password)
            .await
            .map_err(|e| e.json())?
        {
            LoginOutcome::Ok(s, t) => Ok((s, t)),
            LoginOutcome::Wrong => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                "wrong name or password",
            )),
            LoginOutcome::Limited => Err(WebError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed attempts; try again later",
            )),
        },
    )
}

async fn me(Extension(sess): Extension<Session>) -> Json<Value> {
    Json(
        json!({ "id": sess.user.id, "name": sess.user.name, "role": sess.user.role, "csrf": sess.csrf }),
    )
}

async fn list(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Query(p): Query<QueueParams>,
) -> ApiResult {
    let f = pages::filter_for(&p, sess.role(), &st).map_err(|e| e.json())?;
    let list = cases::list(&st.db, &f).await.map_err(j)?;
    Ok(Json(list).into_response())
}

async fn detail(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> ApiResult {
    let c = pages::load_visible(&st, &sess, id)
        .await
        .map_err(|e| e.json())?;
    Ok(Json(c).into_response())
}

/// Body of an action call; each action reads the fields it needs.
#[derive(Debug, Default, Deserialize)]
struct ActionBody {
    /// Note, reason (dismiss) or comment.
    #[serde(default, alias = "reason", alias = "note")]
    text: String,
    /// Assign: the user id (`null` unassigns).
    #[serde(default)]
    user: Option<i64>,
    /// Merge: the other cases.
    #[serde(default)]
    cases: Vec<i64>,
    /// Split: the pages to move out.
    #[serde(default)]
    pages: Vec<i64>,
}

fn parse_body<T: for<'a> Deserialize<'a> + Default>(bytes: &[u8]) -> Result<T, WebError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()).json())
}

async fn action(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    path: MatchedPath,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult {
    let b: ActionBody = parse_body(&body)?;
    let name = pages::action_name(&path);
    let ids = if name == "split" { &b.pages } else { &b.cases };
    let done = pages::perform(&st, &sess, id, name, &b.text, b.user, ids)
        .await
        .map_err(|e| e.json())?;
    Ok(Json(json!({ "id": done.case, "status": done.status })).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct BulkBody {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    action: String,
    #[serde(default, alias = "reason", alias = "note")]
    text: String,
}

async fn bulk(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    body: axum::body::Bytes,
) -> ApiResult {
    let b: BulkBody = parse_body(&body)?;
    let items = pages::perform_bulk(&st, &sess, &b.ids, &b.action, &b.text)
        .await
        .map_err(|e| e.json())?;
    let out: Vec<Value> = items
        .into_iter()
        .map(|i| match i.result {
            Ok(s) => json!({ "id": i.id, "status": s }),
            Err(e) => json!({ "id": i.id, "error": e }),
        })
        .collect();
    Ok(Json(out).into_response())
}

async fn rebuild(State(st): State<AppState>) -> ApiResult {
    let stats = cases::rebuild_or_update(&st.db, &st.cfg.grouping)
        .await
        .map_err(j)?;
    Ok(Json(stats).into_response())
}

#[derive(Deserialize)]
struct AuditParams {
    limit: Option<i64>,
}

async fn audit_log(State(st): State<AppState>, Query(p): Query<AuditParams>) -> ApiResult {
    let entries = audit::recent(&st.db, p.limit.unwrap_or(100).clamp(1, 10_000))
        .await
        .map_err(j)?;
    Ok(Json(entries).into_response())
}

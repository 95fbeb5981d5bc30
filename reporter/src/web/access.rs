//! Who may call what: one explicit table, one middleware.
//!
//! [`ROUTES`] lists every route with the roles allowed on it; [`guard`] runs after routing on
//! every route, looks the matched path and method up in the table (a route missing from the table
//! is refused: fail closed), loads the session, checks the role, and on POST checks the CSRF
//! token. The security tests iterate over this same table.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{self, SESSION_COOKIE, Session, same};
use super::{AppState, WebError};
use crate::users::Role;

/// One route and who may use it.
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern as registered with axum (`/cases/{id}`).
    pub path: &'static str,
    /// Roles allowed; [`PUBLIC`] for routes that need no session.
    pub roles: &'static [Role],
}

/// Marker for routes anyone may call (login, assets).
pub const PUBLIC: &[Role] = &[];
const ANY: &[Role] = &[Role::Admin, Role::Analyst, Role::Liaison, Role::Volunteer];
const STAFF: &[Role] = &[Role::Admin, Role::Analyst, Role::Liaison];
const REVIEW: &[Role] = &[Role::Admin, Role::Analyst];
const FORWARD: &[Role] = &[Role::Admin, Role::Liaison];
const ADMIN: &[Role] = &[Role::Admin];
const VOLUNTEER: &[Role] = &[Role::Volunteer];
const PHOTOS: &[Role] = &[Role::Admin, Role::Analyst, Role::Volunteer];

const fn r(method: &'static str, path: &'static str, roles: &'static [Role]) -> RouteRule {
    RouteRule {
        method,
        path,
        roles,
    }
}

/// Every route of the UI and API with its allowed roles.
///
/// Liaisons additionally see only confirmed and forwarded cases (checked in the handlers).
/// Volunteers have no access to cases: they may upload photo reports, see their own reports
/// and photos (checked in the handler), and log out.
pub const ROUTES: &[RouteRule] = &[
    r("GET", "/login", PUBLIC),
    r("POST", "/login", PUBLIC),
    r("POST", "/api/login", PUBLIC),
    r("GET", "/assets/app.css", PUBLIC),
    r("GET", "/assets/app.js", PUBLIC),
    r("GET", "/healthz", PUBLIC),
    r("GET", "/metrics", PUBLIC),
    r("POST", "/logout", ANY),
    r("GET", "/api/me", ANY),
    r("GET", "/", STAFF),
    r("GET", "/queue", STAFF),
    r("GET", "/cases/{id}", STAFF),
    r("POST", "/cases/{id}/assign", REVIEW),
    r("POST", "/cases/{id}/note", REVIEW),
    r("POST", "/cases/{id}/confirm", REVIEW),
    r("POST", "/cases/{id}/dismiss", REVIEW),
    r("POST", "/cases/{id}/approve", REVIEW),
    r("POST", "/cases/{id}/reopen", REVIEW),
    r("POST", "/cases/{id}/merge", REVIEW),
    r("POST", "/cases/{id}/split", REVIEW),
    r("POST", "/cases/{id}/forward", FORWARD),
    r("POST", "/cases/bulk", REVIEW),
    r("POST", "/cases/rebuild", ADMIN),
    r("GET", "/images/{id}", STAFF),
    r("GET", "/pages/{id}/warc", STAFF),
    r("GET", "/transitions/{id}/warc", STAFF),
    r("GET", "/qr-resolutions/{id}/warc", STAFF),
    r("GET", "/audit", ADMIN),
    r("GET", "/api/cases", STAFF),
    r("GET", "/api/cases/{id}", STAFF),
    r("POST", "/api/cases/{id}/assign", REVIEW),
    r("POST", "/api/cases/{id}/note", REVIEW),
    r("POST", "/api/cases/{id}/confirm", REVIEW),
    r("POST", "/api/cases/{id}/dismiss", REVIEW),
    r("POST", "/api/cases/{id}/approve", REVIEW),
    r("POST", "/api/cases/{id}/reopen", REVIEW),
    r("POST", "/api/cases/{id}/merge", REVIEW),
    r("POST", "/api/cases/{id}/split", REVIEW),
    r("POST", "/api/cases/{id}/forward", FORWARD),
    r("POST", "/api/cases/bulk", REVIEW),
    r("POST", "/api/cases/rebuild", ADMIN),
    r("GET", "/api/audit", ADMIN),
    r("GET", "/reports", FORWARD),
    r("POST", "/reports", FORWARD),
    r("GET", "/reports/{id}/{kind}", FORWARD),
    r("GET", "/api/reports", FORWARD),
    r("POST", "/api/reports", FORWARD),
    r("GET", "/assets/volunteer.js", PUBLIC),
    r("GET", "/volunteer", VOLUNTEER),
    r("POST", "/volunteer/upload", VOLUNTEER),
    r("GET", "/volunteer/reports", VOLUNTEER),
    r("GET", "/volunteer/photos/{id}/image", PHOTOS),
    r("GET", "/cleanup", REVIEW),
    r("GET", "/cleanup/route", REVIEW),
    r("POST", "/cleanup/{id}/status", REVIEW),
    r("GET", "/cleanup/{id}/after", REVIEW),
    r("POST", "/cleanup/{id}/after", REVIEW),
    r("GET", "/admin/volunteers", ADMIN),
    r("POST", "/admin/volunteers", ADMIN),
    r("POST", "/admin/volunteers/{id}/disable", ADMIN),
];

/// The rule for a matched path and method, if the table has one.
pub fn rule(method: &Method, path: &str) -> Option<&'static RouteRule> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

/// The access middleware; see the module docs.
pub async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let api = path.starts_with("/api/");
    // Denials carry `X-Kuzet-Denied: login|role|csrf|table` so clients (and the security tests)
    // can tell an access refusal from an application error with the same status.
    let deny_as = |why: &'static str, e: WebError| {
        let mut res = if api { e.json() } else { e }.into_response();
        res.headers_mut()
            .insert("x-kuzet-denied", axum::http::HeaderValue::from_static(why));
        res
    };
    let deny = |e: WebError| if api { e.json() } else { e }.into_response();
    let Some(rule) = rule(req.method(), &path) else {
        return deny_as(
            "table",
            WebError::forbidden("route not in the access table"),
        );
    };
    if rule.roles.is_empty() {
        return next.run(req).await;
    }
    let token = session::cookie(req.headers(), SESSION_COOKIE);
    let sess = match token {
        Some(t) => match session::load(&st.db, &t).await {
            Ok(s) => s,
            Err(e) => return deny(e.into()),
        },
        None => None,
    };
    let Some(sess) = sess else {
        if !api && req.method() == Method::GET {
            let mut res = Redirect::to("/login").into_response();
            res.headers_mut().insert(
                "x-kuzet-denied",
                axum::http::HeaderValue::from_static("login"),
            );
            return res;
        }
        return deny_as(
            "login",
            WebError::new(StatusCode::UNAUTHORIZED, "log in first"),
        );
    };
    if !rule.roles.contains(&sess.role()) {
        return deny_as("role", WebError::forbidden("your role may not do this"));
    }
    let mut req = req;
    if req.method() == Method::POST {
        match check_csrf(req, &sess, st.cfg.max_body_bytes).await {
            Ok(r) => req = r,
            Err(e) => return deny_as("csrf", e),
        }
    }
    req.extensions_mut().insert(sess);
    next.run(req).await
}

/// Accepts the request when its `X-CSRF-Token` header or urlencoded form field `csrf` equals the
/// session's token; the body is buffered (up to `max_body`) and handed on unchanged.
async fn check_csrf(req: Request, sess: &Session, max_body: usize) -> Result<Request, WebError> {
    if let Some(h) = req.headers().get("x-csrf-token") {
        return match h.to_str() {
            Ok(t) if same(t, &sess.csrf) => Ok(req),
            _ => Err(WebError::forbidden("CSRF token invalid")),
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        // File uploads without JavaScript carry the token in the query (`?csrf=…`).
        let ok = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .any(|(k, v)| k == "csrf" && same(&v, &sess.csrf));
        return if ok {
            Ok(req)
        } else {
            Err(WebError::forbidden("CSRF token missing or invalid"))
        };
    }
    if !is_form {
        return Err(WebError::forbidden("CSRF token missing"));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, max_body)
        .await
        .map_err(|_| WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))?;
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf" && same(&v, &sess.csrf));
    if !ok {
        return Err(WebError::forbidden("CSRF token missing or invalid"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Parsed urlencoded form fields, keeping repeated keys (`ids=1&ids=2`).
#[derive(Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// Parses a urlencoded body.
    pub fn parse(bytes: &[u8]) -> FormData {
        FormData(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of `key` that parses as an id (also comma/space separated lists).
    pub fn ids(&self, key: &str) -> Vec<i64> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split([',', ' ', '#']))
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }
}

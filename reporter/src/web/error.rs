//! One error type for handlers; maps to an HTTP status and never leaks internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::ReporterError;

/// A failed request: status, a message safe to show, and whether the caller wants JSON.
#[derive(Debug)]
pub struct WebError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message for the user (no internals).
    pub message: String,
    /// Answer as `{"error": …}` instead of an HTML page.
    pub json: bool,
}

impl WebError {
    /// A new error.
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
            json: false,
        }
    }
    /// 404.
    pub fn not_found() -> WebError {
        WebError::new(StatusCode::NOT_FOUND, "not found")
    }
    /// 403.
    pub fn forbidden(why: &str) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, why)
    }
    /// The same error, answered as JSON.
    pub fn json(mut self) -> WebError {
        self.json = true;
        self
    }
}

impl From<ReporterError> for WebError {
    fn from(e: ReporterError) -> WebError {
        use ReporterError as E;
        let status = match &e {
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::InvalidTransition { .. }
            | E::FourEyes { .. }
            | E::Merged { .. }
            | E::Conflict(_) => StatusCode::CONFLICT,
            E::Invalid(_) | E::UnknownStatus(_) | E::InvalidUserName(_) | E::UnknownRole(_) => {
                StatusCode::BAD_REQUEST
            }
            E::Image { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "request failed");
            "internal error (see the server log)".to_string()
        } else {
            e.to_string()
        };
        WebError::new(status, message)
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.json {
            return (
                self.status,
                Json(serde_json::json!({ "error": self.message })),
            )
                .into_response();
        }
        let page = askama::Template::render(&ErrorPage {
            status: self.status.as_u16(),
            message: &self.message,
        })
        .unwrap_or_else(|_| "error".to_string());
        (self.status, Html(page)).into_response()
    }
}

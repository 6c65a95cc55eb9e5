//! Why a page cannot be shown, as an HTML page a person can read (German), or a redirect to the
//! log-in. Internal details go to the log with the request id, never to the page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::layout;
use crate::api::error::{ApiError, REQUEST_ID};
use crate::store::StoreError;

/// A page's refusal or failure.
#[derive(Debug)]
pub enum WebError {
    /// No valid session: go to the log-in, then back to `next`.
    LoginRequired { next: String },
    /// Somewhere else first (an account that must choose a new password).
    Redirect(String),
    /// Logged in, but the role may not see this.
    Forbidden,
    /// Nothing under this address (or not for this person).
    NotFound,
    /// The form is wrong; the text says what to fix (German).
    BadRequest(String),
    /// The form was not sent from our own page (CSRF token or origin wrong).
    CsrfFailed,
    /// The request clashes with stored state (German text).
    Conflict(String),
    /// Something broke on our side; logged with the request id.
    Internal(String),
}

impl WebError {
    fn status_and_text(&self) -> (StatusCode, String) {
        match self {
            WebError::LoginRequired { .. } => {
                (StatusCode::UNAUTHORIZED, "Bitte melden Sie sich an.".into())
            }
            WebError::Redirect(_) => (StatusCode::SEE_OTHER, String::new()),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Diese Seite ist für Ihr Konto nicht freigegeben.".into(),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Diese Seite oder dieser Eintrag wurde nicht gefunden.".into(),
            ),
            WebError::BadRequest(text) => (StatusCode::BAD_REQUEST, text.clone()),
            WebError::CsrfFailed => (
                StatusCode::FORBIDDEN,
                "Das Formular war abgelaufen oder kam nicht von dieser Seite. Bitte laden Sie die \
                 Seite neu und versuchen Sie es noch einmal."
                    .into(),
            ),
            WebError::Conflict(text) => (StatusCode::CONFLICT, text.clone()),
            WebError::Internal(_) => {
                let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "Etwas ist schiefgegangen. Bitte versuchen Sie es später noch einmal \
                         (Anfrage {id})."
                    ),
                )
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::LoginRequired { next } = &self {
            let target = format!("/login?next={}", super::percent_encode(next));
            return Redirect::to(&target).into_response();
        }
        if let WebError::Redirect(target) = &self {
            return Redirect::to(target).into_response();
        }
        if let WebError::Internal(detail) = &self {
            let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
            tracing::error!(request_id = %id, "web page failed: {detail}");
        }
        let (status, text) = self.status_and_text();
        let title = match status {
            StatusCode::NOT_FOUND => "Nicht gefunden",
            StatusCode::FORBIDDEN => "Nicht erlaubt",
            StatusCode::CONFLICT => "Nicht möglich",
            StatusCode::BAD_REQUEST => "Bitte prüfen Sie die Eingabe",
            _ => "Fehler",
        };
        let body = layout::page(
            None,
            title,
            html! {
                p role="alert" { (text) }
                p { a href="/" { "Zur Startseite" } }
            },
        );
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => WebError::NotFound,
            StoreError::Invalid { field, reason } => {
                WebError::BadRequest(format!("{field}: {reason}"))
            }
            StoreError::Conflict(detail) => WebError::Conflict(detail),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound { .. } => WebError::NotFound,
            ApiError::Forbidden { .. } => WebError::Forbidden,
            ApiError::Unauthorized => WebError::LoginRequired { next: "/".into() },
            ApiError::Invalid { field, reason } => {
                WebError::BadRequest(format!("{field}: {reason}"))
            }
            ApiError::BadRequest { detail } | ApiError::Refused { detail, .. } => {
                WebError::BadRequest(detail)
            }
            ApiError::Conflict { detail } => WebError::Conflict(detail),
            ApiError::TooLarge { limit } => WebError::BadRequest(format!(
                "Die Eingabe ist zu groß (höchstens {limit} Bytes)."
            )),
            ApiError::UnsupportedMediaType | ApiError::MethodNotAllowed => {
                WebError::BadRequest("Diese Anfrage wird nicht angenommen.".into())
            }
            ApiError::Internal { detail } => WebError::Internal(detail),
        }
    }
}

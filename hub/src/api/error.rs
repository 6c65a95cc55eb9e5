//! Every client error is answered with an RFC 9457 problem document naming the field and the
//! reason; server errors are logged with the request id and answered with that id only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

tokio::task_local! {
    /// The id of the request being answered, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// Why the API refuses or fails a request.
#[derive(Debug)]
pub enum ApiError {
    /// The request cannot be read: malformed JSON or UTF-8, bad query, wrong content type.
    BadRequest { detail: String },
    /// A field is wrong.
    Invalid { field: String, reason: String },
    /// The addressed thing does not exist.
    NotFound { detail: String },
    /// The body is larger than the hub accepts.
    TooLarge { limit: usize },
    /// Not JSON.
    UnsupportedMediaType,
    /// No or wrong credentials.
    Unauthorized,
    /// Credentials fine, but the role may not do this.
    Forbidden { detail: String },
    /// The request clashes with stored state.
    Conflict { detail: String },
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// Something broke on our side.
    Internal { detail: String },
    /// Refused for a reason with its own status and title (a device certificate or an
    /// enrolment code that cannot be used, see `devices::Refusal`).
    Refused {
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request cannot be read",
            ),
            ApiError::Invalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "A field is invalid",
            ),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "The request body is too large",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The body must be JSON",
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Credentials needed",
            ),
            ApiError::Forbidden { .. } => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed for this account",
            ),
            ApiError::Conflict { .. } => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflicts with stored data",
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed here",
            ),
            ApiError::Internal { .. } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            ApiError::Refused {
                status,
                slug,
                title,
                ..
            } => (*status, slug, title),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, reason } => ApiError::Invalid { field, reason },
            StoreError::NotFound { kind, id } => ApiError::NotFound {
                detail: format!("no {kind} with id {id}"),
            },
            StoreError::Conflict(detail) => ApiError::Conflict { detail },
            StoreError::Db(e) => ApiError::Internal {
                detail: format!("database: {e}"),
            },
            StoreError::Internal(detail) => ApiError::Internal { detail },
        }
    }
}

impl From<crate::devices::DeviceError> for ApiError {
    fn from(e: crate::devices::DeviceError) -> Self {
        match e {
            crate::devices::DeviceError::Refused { refusal, detail } => ApiError::Refused {
                status: StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN),
                slug: refusal.slug(),
                title: refusal.title(),
                detail,
            },
            crate::devices::DeviceError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let request_id = REQUEST_ID.try_with(Clone::clone).ok();
        let mut body = json!({
            "type": format!("urn:dorfpunkt:problem:{slug}"),
            "title": title,
            "status": status.as_u16(),
        });
        match &self {
            ApiError::BadRequest { detail }
            | ApiError::NotFound { detail }
            | ApiError::Forbidden { detail }
            | ApiError::Conflict { detail }
            | ApiError::Refused { detail, .. } => body["detail"] = json!(detail),
            ApiError::Invalid { field, reason } => {
                body["detail"] = json!(format!("{field}: {reason}"));
                body["field"] = json!(field);
                body["reason"] = json!(reason);
            }
            ApiError::TooLarge { limit } => {
                body["detail"] = json!(format!("at most {limit} bytes are accepted"));
            }
            ApiError::UnsupportedMediaType => {
                body["detail"] = json!("send Content-Type: application/json");
            }
            ApiError::Unauthorized => body["detail"] = json!("log in with an account of this hub"),
            ApiError::MethodNotAllowed => {}
            ApiError::Internal { detail } => {
                // The cause stays in the log; the client gets the id to quote.
                tracing::error!(
                    request_id = request_id.as_deref().unwrap_or("-"),
                    "{detail}"
                );
                body["detail"] = json!("the hub failed; quote the request id when reporting it");
            }
        }
        if let Some(id) = &request_id {
            body["request_id"] = json!(id);
        }
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Dorfpunkt hub\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

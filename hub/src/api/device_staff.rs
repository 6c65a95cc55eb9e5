//! Routes of health worker mode (`crate::staff`): a kiosk opens a staff session with username and
//! PIN (mutual TLS, behind the device `gate`), and an administrator or the health worker sets the
//! kiosk PIN of a health-worker account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::Utc;
use protocol::staff::{STAFF_SESSIONS_PATH, StaffLogin};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::Caller;
use super::body::JsonObject;
use super::error::{ApiError, REQUEST_ID};
use crate::devices::DeviceIdentity;
use crate::domain::Role;
use crate::staff::{self, LoginError};
use crate::store::records;

/// The routes of health worker mode.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(STAFF_SESSIONS_PATH, post(open_session))
        .route("/api/v1/accounts/{id}/kiosk-pin", post(set_pin))
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            // The same answer for a wrong username and a wrong PIN.
            LoginError::Refused => ApiError::Refused {
                status: StatusCode::UNAUTHORIZED,
                slug: "staff-login-refused",
                title: "Username or PIN wrong",
                detail: "check both and try again".into(),
            },
            LoginError::Locked { until } => ApiError::Refused {
                status: StatusCode::LOCKED,
                slug: "staff-pin-locked",
                title: "PIN locked",
                detail: format!("too many wrong PINs; try again after {until}"),
            },
            LoginError::Store(e) => e.into(),
        }
    }
}

/// `POST` [`STAFF_SESSIONS_PATH`]: username and PIN in, a session and today's appointments at
/// the kiosk out.
async fn open_session(
    State(app): State<AppState>,
    Extension(device): Extension<DeviceIdentity>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let login: StaffLogin = records::from_object(body)?;
    let request_id = REQUEST_ID.try_with(Clone::clone).ok();
    let session = app
        .store
        .run(move |conn| Ok(staff::login(conn, &device, &login, request_id, Utc::now())))
        .await??;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    pin: String,
}

/// `POST /api/v1/accounts/{id}/kiosk-pin` `{"pin": "123456"}`: by an administrator, or by the
/// health worker for their own account.
async fn set_pin(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    if caller.role != Role::Admin && caller.account_id != id {
        return Err(ApiError::Forbidden {
            detail: "only an administrator or the account itself sets its kiosk PIN".into(),
        });
    }
    let PinBody { pin } = records::from_object(body)?;
    let who = caller.who();
    let account = id.clone();
    app.store
        .run(move |conn| staff::set_pin(conn, &who, &account, &pin))
        .await?;
    Ok(Json(json!({ "account_id": id, "kiosk_pin": "set" })).into_response())
}

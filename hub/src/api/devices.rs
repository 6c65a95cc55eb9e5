//! Routes of kiosk devices: enrolment (open, with a one-time code), rotation and heartbeats
//! (mutual TLS), and for staff enrolment codes, revocation and the device status list. The
//! [`gate`] middleware establishes the [`DeviceIdentity`] of every request under
//! `/api/v1/device/` except enrolment, so device routes added elsewhere (sync) get it too.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use axum_server::tls::TlsInfo;
use chrono::Utc;
use protocol::device::{
    ENROL_PATH, EnrolRequest, HEARTBEAT_PATH, Heartbeat, HeartbeatAnswer, ROTATE_PATH,
    RotateRequest,
};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::body::JsonObject;
use super::error::{ApiError, REQUEST_ID};
use crate::devices::{self, DeviceError, DeviceIdentity, Refusal};
use crate::domain::Role;
use crate::store::records;

/// Every path under it but enrolment needs a device certificate.
const DEVICE_PREFIX: &str = "/api/v1/device/";

/// The device and staff routes of device management.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ENROL_PATH, post(enrol))
        .route(ROTATE_PATH, post(rotate))
        .route(HEARTBEAT_PATH, post(heartbeat))
        .route("/api/v1/devices/{id}/enrolment-code", post(enrolment_code))
        .route("/api/v1/devices/{id}/revoke", post(revoke))
        .route("/api/v1/regions/{id}/devices/status", get(status))
}

/// Middleware: for device paths, the client certificate of the connection must belong to an
/// enrolled device, checked against the store on every request; its identity goes into the
/// request's extensions. Other paths pass untouched.
pub async fn gate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with(DEVICE_PREFIX) || path == ENROL_PATH {
        return next.run(req).await;
    }
    let certificate = req
        .extensions()
        .get::<Arc<TlsInfo>>()
        .and_then(|info| info.peer_certificates.first().cloned());
    let Some(der) = certificate else {
        return ApiError::from(DeviceError::Refused {
            refusal: Refusal::NoCertificate,
            detail: "device endpoints need the client certificate from enrolment".into(),
        })
        .into_response();
    };
    let checked = app
        .store
        .run(move |conn| Ok(devices::authenticate(conn, &der, Utc::now())))
        .await;
    match checked {
        Ok(Ok(identity)) => {
            req.extensions_mut().insert(identity);
            next.run(req).await
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `POST` [`ENROL_PATH`]: a one-time code and a CSR in, a client certificate out.
async fn enrol(
    State(app): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let request: EnrolRequest = records::from_object(body)?;
    let request_id = request_id();
    let enrolled = app
        .store
        .run(move |conn| Ok(devices::enrol(conn, &request, request_id, Utc::now())))
        .await??;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}

/// `POST` [`ROTATE_PATH`]: a new certificate for a device that still has a valid one.
async fn rotate(
    State(app): State<AppState>,
    Extension(identity): Extension<DeviceIdentity>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let request: RotateRequest = records::from_object(body)?;
    let request_id = request_id();
    let enrolled = app
        .store
        .run(move |conn| {
            Ok(devices::rotate(
                conn,
                &identity,
                &request,
                request_id,
                Utc::now(),
            ))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}

/// `POST` [`HEARTBEAT_PATH`]: the kiosk's state; answered with the hub's clock.
async fn heartbeat(
    State(app): State<AppState>,
    Extension(identity): Extension<DeviceIdentity>,
    JsonObject(body): JsonObject,
) -> Result<Json<HeartbeatAnswer>, ApiError> {
    let beat: Heartbeat = records::from_object(body)?;
    let request_id = request_id();
    let now = Utc::now();
    app.store
        .run(move |conn| {
            // A software update's event (checked before anything is stored).
            if let Some(report) = &beat.update {
                crate::updates::check_report(report)?;
            }
            devices::status::heartbeat(conn, &identity, &beat, request_id, now)?;
            match &beat.update {
                Some(report) => crate::updates::record_report(conn, &identity, report, now),
                None => Ok(()),
            }
        })
        .await?;
    Ok(Json(HeartbeatAnswer {
        hub_time: devices::stamp(now),
    }))
}

/// `POST /api/v1/devices/{id}/enrolment-code`: a new one-time code (shown only now).
async fn enrolment_code(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin])?;
    let who = caller.who();
    let issued = app
        .store
        .run(move |conn| Ok(devices::issue_code(conn, &who, &id, Utc::now())))
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "device_id": issued.device_id, "code": issued.code, "expires_at": issued.expires_at })),
    )
        .into_response())
}

/// `POST /api/v1/devices/{id}/revoke`: the same as cancelling the device.
async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin])?;
    let who = caller.who();
    Ok(Json(
        app.store
            .run(move |conn| Ok(devices::revoke(conn, &who, &id)))
            .await??,
    ))
}

/// `GET /api/v1/regions/{id}/devices/status`: the region's devices with online state and alerts,
/// for administrators and the region's dispatchers.
async fn status(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::Dispatcher])?;
    if caller.role != Role::Admin && caller.region_id.as_deref() != Some(region.as_str()) {
        return Err(ApiError::Forbidden {
            detail: "this account belongs to another region".into(),
        });
    }
    let items = app
        .store
        .run(move |conn| {
            if !records::exists(conn, "regions", &region)? {
                return Err(crate::store::StoreError::NotFound {
                    kind: "region",
                    id: region,
                });
            }
            devices::status::list(conn, Some(&region), Utc::now())
        })
        .await?;
    Ok(Json(json!({ "items": items })))
}

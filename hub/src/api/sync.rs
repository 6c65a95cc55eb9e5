//! `POST /api/v1/device/sync`: one kiosk sync exchange (see `crate::sync`). The device comes
//! from the mutual-TLS layer as a request extension; the body is read like every other body
//! (size limit, JSON object) and refused with a problem document when it is not a sync request.

use axum::Json;
use axum::extract::{Extension, State};
use protocol::sync::{SyncRequest, SyncResponse};

use super::AppState;
use super::body::JsonObject;
use super::error::{ApiError, REQUEST_ID};
use crate::devices::DeviceIdentity;
use crate::store::records::from_object;

/// Answers one exchange: the acks of the outbox entries and a page of the region's changes.
pub async fn sync(
    State(app): State<AppState>,
    device: Option<Extension<DeviceIdentity>>,
    JsonObject(body): JsonObject,
) -> Result<Json<SyncResponse>, ApiError> {
    let Some(Extension(device)) = device else {
        // Only the device layer (mutual TLS) puts an identity here; without it nobody speaks
        // for a village.
        return Err(ApiError::Forbidden {
            detail: "this path is for enrolled kiosks, with their client certificate".into(),
        });
    };
    let request: SyncRequest = from_object(body)?;
    let request_id = REQUEST_ID.try_with(Clone::clone).ok();
    let response = app
        .store
        .run(move |conn| {
            crate::sync::exchange_on(conn, &device, &request, request_id, chrono::Utc::now())
        })
        .await?;
    Ok(Json(response))
}

//! Routes for IMBUS tour planning: plan a region's cycle as a draft, read it, publish it, and
//! move a published visit with the reason residents read. (Cancelling a visit is the resource's
//! own cancel: `DELETE /api/v1/imbus-visits/{id}?reason=...`.)

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::body::{JsonObject, parse_object};
use super::error::ApiError;
use crate::domain::Role;
use crate::domain::common::{Instant, column_of};
use crate::store::records;

/// Adds the tour routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v1/regions/{id}/tour-plans", post(create_plan))
        .route("/api/v1/tour-plans/{id}", get(read_plan))
        .route("/api/v1/tour-plans/{id}/publish", post(publish_plan))
        .route("/api/v1/imbus-visits/{id}/move", post(move_visit))
}

/// Administrators act in every region; dispatchers in their own (as with ride planning).
fn check_region(caller: &Caller, region: &str) -> Result<(), ApiError> {
    if caller.role == Role::Admin || caller.region_id.as_deref() == Some(region) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            detail: "this account belongs to another region".into(),
        })
    }
}

const ROLES: &[Role] = &[Role::Admin, Role::Dispatcher];

/// The body of a plan creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    id: String,
    first_day: String,
    weeks: u32,
    #[serde(default = "one")]
    seed: u64,
}

fn one() -> u64 {
    1
}

/// `POST /api/v1/regions/{id}/tour-plans` `{id, first_day, weeks, seed?}`: plans the region's
/// cycle as a draft and answers the timetable (201; the same request again: 200 with the first
/// answer; the id with another request: 409).
async fn create_plan(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(ROLES)?;
    check_region(&caller, &region)?;
    let body: PlanBody = records::from_object(body)?;
    let id = Uuid::parse_str(&body.id)
        .map_err(|_| ApiError::invalid("id", format!("'{}' is not a UUID", body.id)))?;
    let first_day = NaiveDate::parse_from_str(&body.first_day, "%Y-%m-%d")
        .ok()
        .filter(|_| body.first_day.len() == 10)
        .ok_or_else(|| {
            ApiError::invalid(
                "first_day",
                format!("'{}' is not a date YYYY-MM-DD", body.first_day),
            )
        })?;
    crate::tours::check_period(first_day, body.weeks)?;
    let who = caller.who();
    let store = app.store.clone();
    let answer = tokio::task::spawn_blocking(move || {
        crate::tours::plan_cycle(&store, &region, first_day, body.weeks, body.seed, &who, id)
    })
    .await
    .map_err(|e| ApiError::Internal {
        detail: format!("planning task failed: {e}"),
    })??;
    let status = if answer.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(answer.record)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/tour-plans/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/v1/tour-plans/{id}`: the plan's timetable, figures, moves and status.
async fn read_plan(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ROLES)?;
    let plan = app
        .store
        .run(move |conn| crate::tours::get_plan(conn, &id))
        .await?;
    check_region(&caller, plan["region_id"].as_str().unwrap_or_default())?;
    Ok(Json(plan))
}

/// The body of a request that takes none: empty or `{}`.
async fn no_fields(app: &AppState, body: Body) -> Result<(), ApiError> {
    let limit = app.config.body_limit_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge { limit })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    if let Some((key, _)) = parse_object(&bytes)?.into_iter().next() {
        return Err(ApiError::invalid(key, "publishing takes no fields"));
    }
    Ok(())
}

/// `POST /api/v1/tour-plans/{id}/publish`: publishes a draft (visits, slots, kiosk shares; see
/// `tours::publish_in`). Publishing it again answers the same; a superseded plan is refused.
async fn publish_plan(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(ROLES)?;
    no_fields(&app, body).await?;
    let lookup = id.clone();
    let region = app
        .store
        .run(move |conn| crate::tours::plan_region(conn, &lookup))
        .await?;
    check_region(&caller, &region)?;
    let who = caller.who();
    let store = app.store.clone();
    let plan = tokio::task::spawn_blocking(move || {
        crate::tours::publish(&store, &who, &id, chrono::Utc::now())
    })
    .await
    .map_err(|e| ApiError::Internal {
        detail: format!("publishing task failed: {e}"),
    })??;
    Ok(Json(plan))
}

/// The body of a move.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    starts_at: Instant,
    reason: String,
}

/// `POST /api/v1/imbus-visits/{id}/move` `{starts_at, reason}`: moves a visit (length kept) with
/// its slots and appointments; the reason is shown to residents.
async fn move_visit(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require(ROLES)?;
    let body: MoveBody = records::from_object(body)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "say why the visit moves: residents read it",
        ));
    }
    let lookup = id.clone();
    let region = app
        .store
        .run(move |conn| {
            column_of::<String>(conn, "imbus_visits", "region_id", &lookup)?.ok_or(
                crate::store::StoreError::NotFound {
                    kind: "IMBUS visit",
                    id: lookup,
                },
            )
        })
        .await?;
    check_region(&caller, &region)?;
    let who = caller.who();
    let record = app
        .store
        .run(move |conn| {
            crate::tours::move_visit(conn, &who, &id, body.starts_at, body.reason.trim())
        })
        .await?;
    Ok(Json(record))
}

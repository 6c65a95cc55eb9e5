//! Routes for counselling at IMBUS visits (see `crate::counselling`): the counsellor's day view,
//! walk-ins, appointment outcomes, waiting lists, notices to caregivers and the anonymous
//! statistics (JSON, or CSV for spreadsheets).

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::body::{JsonObject, query_pairs};
use super::error::ApiError;
use crate::counselling::statistics::Month;
use crate::counselling::{
    self, CounsellingError, Created, Staff, day, notices, outcomes, statistics, waiting, walk_ins,
};
use crate::domain::Role;
use crate::store::records;

/// Adds the counselling routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/counselling/day", get(day_view))
        .route("/api/v1/counselling/walk-ins", post(walk_in))
        .route("/api/v1/appointments/{id}/outcome", post(outcome))
        .route(
            "/api/v1/regions/{id}/statistics/counselling",
            get(statistics_of),
        )
        .route(
            "/api/v1/imbus-visits/{id}/waiting-list",
            get(waiting_list).post(wait),
        )
        .route("/api/v1/waiting-list/{id}/withdraw", post(withdraw))
        .route("/api/v1/notices", get(notice_list))
        .route("/api/v1/notices/{id}/sent", post(notice_sent))
}

impl From<CounsellingError> for ApiError {
    fn from(e: CounsellingError) -> Self {
        match e {
            CounsellingError::Forbidden(detail) => ApiError::Forbidden { detail },
            CounsellingError::SlotFree { detail } => ApiError::Refused {
                status: StatusCode::CONFLICT,
                slug: "slot-free",
                title: "A slot of the visit is still free: book it instead of waiting",
                detail,
            },
            CounsellingError::Store(e) => e.into(),
        }
    }
}

fn staff(caller: &Caller) -> Staff {
    Staff {
        account_id: caller.account_id.clone(),
        role: caller.role,
        region_id: caller.region_id.clone(),
        who: caller.who(),
    }
}

/// Runs a counselling operation as the caller on the store's thread.
async fn as_staff<T, F>(app: &AppState, caller: &Caller, op: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection, &Staff) -> counselling::Result<T> + Send + 'static,
{
    let staff = staff(caller);
    Ok(app.store.run(move |conn| Ok(op(conn, &staff))).await??)
}

/// The client-made id of a create: required, a UUID.
fn take_id(body: &mut Map<String, Value>) -> Result<Uuid, ApiError> {
    match body.remove("id") {
        Some(Value::String(s)) => {
            Uuid::parse_str(&s).map_err(|_| ApiError::invalid("id", format!("'{s}' is not a UUID")))
        }
        None | Some(Value::Null) => Err(ApiError::invalid(
            "id",
            "a client-made UUID is needed, so a repeat is answered once",
        )),
        Some(_) => Err(ApiError::invalid("id", "must be a UUID string")),
    }
}

fn input<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, ApiError> {
    Ok(records::from_object(body)?)
}

fn created(created: Created, location: String) -> Response {
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(created.record)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Paths carry ids; a very long one is not an id of this hub.
fn path_id(id: &str) -> Result<(), ApiError> {
    if id.chars().count() > 100 {
        return Err(ApiError::NotFound {
            detail: "no such record".into(),
        });
    }
    Ok(())
}

/// `GET /api/v1/counselling/day?date=YYYY-MM-DD[&counsellor_id=…]`.
async fn day_view(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::HealthWorker])?;
    let mut date = None;
    let mut counsellor = None;
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "date" => {
                date = Some(
                    NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                        .ok()
                        .filter(|_| value.len() == 10)
                        .ok_or_else(|| {
                            ApiError::invalid("date", format!("'{value}' is not a date YYYY-MM-DD"))
                        })?,
                );
            }
            "counsellor_id" => counsellor = Some(value),
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    let date = date.ok_or_else(|| ApiError::invalid("date", "give the date YYYY-MM-DD"))?;
    let answer_counsellor = counsellor.clone();
    let visits = as_staff(&app, &caller, move |conn, staff| {
        day::day(conn, staff, date, counsellor.as_deref())
    })
    .await?;
    Ok(Json(json!({
        "date": date.format("%Y-%m-%d").to_string(),
        "counsellor_id": answer_counsellor,
        "visits": visits,
    })))
}

/// `POST /api/v1/counselling/walk-ins` `{id, visit_id, topic, count}`.
async fn walk_in(
    State(app): State<AppState>,
    caller: Caller,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::HealthWorker])?;
    let id = take_id(&mut body)?;
    let walk_in: walk_ins::WalkIn = input(body)?;
    let answer = as_staff(&app, &caller, move |conn, staff| {
        walk_ins::record(conn, staff, id, &walk_in, chrono::Utc::now())
    })
    .await?;
    Ok(created(
        answer,
        format!("/api/v1/counselling/walk-ins/{id}"),
    ))
}

/// `POST /api/v1/appointments/{id}/outcome` `{status, topic, referral}`.
async fn outcome(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin, Role::HealthWorker])?;
    path_id(&id)?;
    let outcome: outcomes::Outcome = input(body)?;
    let answer = as_staff(&app, &caller, move |conn, staff| {
        outcomes::record(conn, staff, &id, &outcome, chrono::Utc::now())
    })
    .await?;
    Ok(Json(answer))
}

/// `GET /api/v1/regions/{id}/statistics/counselling?from=YYYY-MM&to=YYYY-MM[&format=csv]`, or
/// CSV with `Accept: text/csv`. Administrators, and dispatchers of the region. Counts of 1 or 2
/// per month, village and topic (or referral category) are withheld (`null` with
/// `suppressed: true`; `<3` in CSV), the totals per month stay exact; the answer's `suppression`
/// says so (see `crate::counselling::statistics`).
async fn statistics_of(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::Dispatcher])?;
    if caller.role != Role::Admin && caller.region_id.as_deref() != Some(region.as_str()) {
        return Err(ApiError::Forbidden {
            detail: "this account belongs to another region".into(),
        });
    }
    let (mut from, mut to, mut csv) = (None, None, false);
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "from" => from = Some(Month::parse("from", &value)?),
            "to" => to = Some(Month::parse("to", &value)?),
            "format" => {
                csv = match value.as_str() {
                    "csv" => true,
                    "json" => false,
                    _ => return Err(ApiError::invalid("format", "must be csv or json")),
                }
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    let from = from.ok_or_else(|| ApiError::invalid("from", "give the first month YYYY-MM"))?;
    let to = to.ok_or_else(|| ApiError::invalid("to", "give the last month YYYY-MM"))?;
    csv = csv
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| {
                accept
                    .split(',')
                    .any(|t| t.split(';').next().is_some_and(|t| t.trim() == "text/csv"))
            });
    let figures = app
        .store
        .run(move |conn| statistics::counselling(conn, &region, from, to))
        .await?;
    if !csv {
        return Ok(Json(figures).into_response());
    }
    let bytes = statistics::csv(&figures)?;
    let filename = format!(
        "attachment; filename=\"beratung-{}-{}.csv\"",
        figures.from, figures.to
    );
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `POST /api/v1/imbus-visits/{id}/waiting-list` `{id, resident_id, topic, caregiver_id?}`.
/// Refused with 409: a visit cancelled or over, a resident waiting or booked there already, and
/// (problem type `slot-free`, German `detail` naming the free times) a visit that still has a
/// free slot to book.
async fn wait(
    State(app): State<AppState>,
    caller: Caller,
    Path(visit): Path<String>,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    path_id(&visit)?;
    let id = take_id(&mut body)?;
    let entry: waiting::WaitingEntry = input(body)?;
    let answer = as_staff(&app, &caller, move |conn, staff| {
        waiting::add(conn, staff, &visit, id, &entry, chrono::Utc::now())
    })
    .await?;
    Ok(created(answer, format!("/api/v1/waiting-list/{id}")))
}

/// `GET /api/v1/imbus-visits/{id}/waiting-list`: the list, oldest first.
async fn waiting_list(
    State(app): State<AppState>,
    caller: Caller,
    Path(visit): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    path_id(&visit)?;
    if let Some((key, _)) = query_pairs(raw.as_deref())?.into_iter().next() {
        return Err(ApiError::invalid(key, "unknown query parameter"));
    }
    let items = as_staff(&app, &caller, move |conn, staff| {
        waiting::list(conn, staff, &visit)
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/waiting-list/{id}/withdraw`.
async fn withdraw(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    path_id(&id)?;
    Ok(Json(
        as_staff(&app, &caller, move |conn, staff| {
            waiting::withdraw(conn, staff, &id)
        })
        .await?,
    ))
}

/// `GET /api/v1/notices[?region=…][&sent=false|true|all][&limit=N]`: unsent notices by default,
/// oldest first.
async fn notice_list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (mut region, mut which, mut limit) = (None, notices::Which::Unsent, 100u32);
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "region" => region = Some(value),
            "sent" => {
                which = match value.as_str() {
                    "false" => notices::Which::Unsent,
                    "true" => notices::Which::Sent,
                    "all" => notices::Which::All,
                    _ => return Err(ApiError::invalid("sent", "must be false, true or all")),
                }
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 1000"))?;
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    let items = as_staff(&app, &caller, move |conn, staff| {
        notices::list(conn, staff, region.as_deref(), which, limit)
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/notices/{id}/sent`: a sender passed the notice on.
async fn notice_sent(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    path_id(&id)?;
    let notice = as_staff(&app, &caller, move |conn, staff| {
        notices::mark_sent(conn, staff, &id)
    })
    .await?;
    Ok(Json(serde_json::to_value(notice).map_err(|e| {
        ApiError::Internal {
            detail: format!("notice: {e}"),
        }
    })?))
}

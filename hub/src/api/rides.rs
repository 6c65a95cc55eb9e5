//! Routes for ride planning: re-optimising a day, and the dispatcher's call-back queue.

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::body::query_pairs;
use super::error::ApiError;
use crate::domain::Role;
use crate::rides::{Effort, Replanned};
use crate::store::StoreError;
use crate::store::logs::{self, Action};

/// The longest a re-optimisation through the API may search.
const MAX_SECONDS: f64 = 60.0;

/// Adds the ride planning routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v1/regions/{id}/ride-plan", post(ride_plan))
        .route("/api/v1/regions/{id}/call-back-queue", get(call_back_queue))
}

/// Administrators act in every region; dispatchers in their own.
fn check_region(caller: &Caller, region: &str) -> Result<(), ApiError> {
    caller.require(&[Role::Admin, Role::Dispatcher])?;
    if caller.role == Role::Admin || caller.region_id.as_deref() == Some(region) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            detail: "this account belongs to another region".into(),
        })
    }
}

/// `POST /api/v1/regions/{id}/ride-plan?date=YYYY-MM-DD[&seconds=S][&seed=N]`: re-optimises the
/// region's day, keeping every promised pickup window. Without a date: tomorrow.
async fn ride_plan(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Replanned>, ApiError> {
    check_region(&caller, &region)?;
    let mut date = None;
    let mut seconds = 5.0;
    let mut seed = 1u64;
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
            "seconds" => {
                seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.1..=MAX_SECONDS).contains(s))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "seconds",
                            format!("must be a number from 0.1 to {MAX_SECONDS}"),
                        )
                    })?;
            }
            "seed" => {
                seed = value
                    .parse()
                    .map_err(|_| ApiError::invalid("seed", "must be a whole number"))?;
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    let who = caller.who();
    let store = app.store.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        let date = match date {
            Some(date) => date,
            None => crate::rides::tomorrow(&store, &region, now)?,
        };
        crate::rides::replan(
            &store,
            &who,
            &region,
            date,
            now,
            Effort::Seconds(seconds),
            seed,
        )
    })
    .await
    .map_err(|e| ApiError::Internal {
        detail: format!("planning task failed: {e}"),
    })??;
    Ok(Json(answer))
}

/// One entry of the call-back queue as a dispatcher sees it.
#[derive(Debug, Serialize)]
struct QueueEntry {
    id: String,
    kind: String,
    reason: String,
    message_de: &'static str,
    message_en: &'static str,
    created_at: String,
    /// Whom to phone: the resident or the contact given at the kiosk.
    name: Option<String>,
    phone: Option<String>,
    /// Caregivers linked to the resident, with their phones.
    caregivers: Vec<Value>,
    ride: Option<Value>,
    topic: Option<String>,
}

/// `GET /api/v1/regions/{id}/call-back-queue`: open call-backs, oldest first, with whom to phone
/// and what the planner offered. Reading it is audited (it shows names and phone numbers).
async fn call_back_queue(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    check_region(&caller, &region)?;
    if let Some((key, _)) = query_pairs(raw.as_deref())?.into_iter().next() {
        return Err(ApiError::invalid(key, "unknown query parameter"));
    }
    let who = caller.who();
    let entries = app
        .store
        .run(move |conn| {
            let tx = conn.transaction()?;
            if !crate::store::records::exists(&tx, "regions", &region)? {
                return Err(StoreError::NotFound {
                    kind: "region",
                    id: region,
                });
            }
            let entries = queue(&tx, &region)?;
            logs::audit(&tx, &who, Action::Read, "call_backs", None, Some(&region))?;
            tx.commit()?;
            Ok(entries)
        })
        .await?;
    Ok(Json(serde_json::json!({ "items": entries })))
}

fn queue(conn: &rusqlite::Connection, region: &str) -> Result<Vec<QueueEntry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.kind, c.reason, c.created_at, c.topic,
                COALESCE(res.name, c.contact_name), COALESCE(res.phone, c.contact_phone),
                c.resident_id, r.id, r.booking_code, r.appointment_at, r.pickup_at, r.planning, r.status
         FROM call_backs c
         LEFT JOIN residents res ON res.id = c.resident_id
         LEFT JOIN ride_requests r ON r.id = c.ride_request_id
         WHERE c.region_id = ?1 AND c.status = 'open'
         ORDER BY c.created_at, c.id",
    )?;
    let rows = stmt.query_map([region], |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ),
            (
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ),
            (
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
            ),
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let ((id, kind, reason, created_at, topic), (name, phone, resident), ride) = row?;
        let (message_de, message_en) = crate::rides::reason_text(&reason);
        let caregivers = match &resident {
            Some(resident) => caregivers_of(conn, resident)?,
            None => Vec::new(),
        };
        let ride = match ride {
            (Some(id), code, appointment, pickup, planning, status) => Some(serde_json::json!({
                "id": id,
                "booking_code": code,
                "appointment_at": appointment,
                "pickup_at": pickup,
                "status": status,
                "alternatives": planning
                    .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                    .map(|p| p["alternatives"].clone())
                    .unwrap_or(Value::Array(Vec::new())),
            })),
            _ => None,
        };
        entries.push(QueueEntry {
            id,
            kind,
            reason,
            message_de,
            message_en,
            created_at,
            name,
            phone,
            caregivers,
            ride,
            topic,
        });
    }
    Ok(entries)
}

fn caregivers_of(conn: &rusqlite::Connection, resident: &str) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT c.name, c.phone FROM caregiver_links l JOIN caregivers c ON c.id = l.caregiver_id
         WHERE l.resident_id = ?1 AND l.archived_at IS NULL AND c.archived_at IS NULL
         ORDER BY c.name",
    )?;
    let rows = stmt.query_map([resident], |r| {
        Ok(serde_json::json!({ "name": r.get::<_, String>(0)?, "phone": r.get::<_, Option<String>>(1)? }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

//! Caregivers at the kiosk: the kiosk PIN a caregiver sets (`POST /api/v1/caregivers/{id}/kiosk-pin`,
//! by an administrator or the caregiver's own account; `hub caregiver pin` on the command line),
//! and the kiosk's login with phone number and PIN
//! ([`protocol::people::CAREGIVER_SESSIONS_PATH`]), answered with the residents the caregiver
//! books for: id, first name and village, nothing more.
//!
//! PINs are six digits, kept only as argon2id hashes (`caregiver_kiosk_pins`, migration 0009).
//! Five wrong tries in a row lock a PIN for 15 minutes. A phone number without a PIN in the
//! kiosk's region gets the same refusal as a wrong PIN, so the kiosk cannot be used to find out
//! who is a caregiver. Hashing runs on the blocking pool, outside the store's lock.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use protocol::people::{
    CAREGIVER_SESSIONS_PATH, CaredFor, CaregiverSession, CaregiverSessionRequest, PIN_LEN,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::{Caller, verify_password};
use super::body::JsonObject;
use super::error::{ApiError, REQUEST_ID};
use crate::devices::DeviceIdentity;
use crate::domain::Role;
use crate::domain::common::check_phone;
use crate::store::logs::{self, Action, Who};
use crate::store::{Store, StoreError, StoreResult, records};

/// Wrong tries in a row before a PIN is locked.
pub const MAX_TRIES: i64 = 5;
/// How long a PIN stays locked.
pub const LOCK_MINUTES: i64 = 15;

/// The two routes; registered in `api::router`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/caregivers/{id}/kiosk-pin", post(set_pin))
        .route(CAREGIVER_SESSIONS_PATH, post(session))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinInput {
    pin: String,
}

/// Six digits, not all the same and not a plain run up or down (`123456`, `654321`).
pub fn check_pin(field: &str, pin: &str) -> StoreResult<()> {
    let digits: Vec<u32> = pin.chars().filter_map(|c| c.to_digit(10)).collect();
    if pin.chars().count() != PIN_LEN || digits.len() != PIN_LEN || !pin.is_ascii() {
        return Err(StoreError::invalid(field, "a kiosk PIN is six digits"));
    }
    let same = digits.windows(2).all(|w| w[0] == w[1]);
    let up = digits.windows(2).all(|w| w[1] == w[0] + 1);
    let down = digits.windows(2).all(|w| w[0] == w[1] + 1);
    if same || up || down {
        return Err(StoreError::invalid(
            field,
            "too easy to guess; choose six digits that are not all the same or in a row",
        ));
    }
    Ok(())
}

/// `POST /api/v1/caregivers/{id}/kiosk-pin` `{"pin": "…"}`: sets (or replaces) the caregiver's
/// kiosk PIN and unlocks it. Setting the same PIN again is harmless.
async fn set_pin(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin, Role::Caregiver])?;
    let input: PinInput = records::from_object(body)?;
    check_pin("pin", &input.pin)?;
    let (account, id_seen) = (caller.account_id.clone(), id.clone());
    let region = caller.region_id.clone();
    let role = caller.role;
    // Who may: an administrator of the caregiver's region (or of all), or the caregiver's own
    // account. Checked before the slow hash.
    app.store
        .run(move |conn| {
            let region_of: Option<(String, Option<String>)> = conn
                .query_row(
                    "SELECT region_id, archived_at FROM caregivers WHERE id = ?1",
                    [&id_seen],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((theirs, None)) = region_of else {
                return Err(StoreError::NotFound {
                    kind: "caregiver",
                    id: id_seen,
                });
            };
            let allowed = match role {
                Role::Admin => region.is_none_or(|r| r == theirs),
                _ => {
                    let own: Option<String> = conn
                        .query_row(
                            "SELECT caregiver_id FROM accounts WHERE id = ?1",
                            [&account],
                            |r| r.get(0),
                        )
                        .optional()?
                        .flatten();
                    own.as_deref() == Some(id_seen.as_str())
                }
            };
            if allowed {
                Ok(())
            } else {
                Err(StoreError::Conflict(String::new()))
            }
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::Forbidden {
                detail: "only an administrator or the caregiver themselves may set this PIN".into(),
            },
            e => e.into(),
        })?;
    let who = caller.who();
    let at = set_kiosk_pin(&app.store, &id, &input.pin, &who).await?;
    Ok((
        StatusCode::OK,
        Json(json!({ "caregiver_id": id, "pin_set_at": at })),
    )
        .into_response())
}

/// Sets the kiosk PIN of caregiver `id` on the blocking pool; see [`set_kiosk_pin_blocking`].
pub async fn set_kiosk_pin(
    store: &Store,
    id: &str,
    pin: &str,
    who: &Who,
) -> Result<String, ApiError> {
    let (store, id, pin, who) = (store.clone(), id.to_string(), pin.to_string(), who.clone());
    Ok(
        tokio::task::spawn_blocking(move || set_kiosk_pin_blocking(&store, &id, &pin, &who))
            .await
            .map_err(|e| ApiError::Internal {
                detail: format!("PIN task: {e}"),
            })??,
    )
}

/// Sets the kiosk PIN of caregiver `id` (checked with [`check_pin`]), resetting tries and lock;
/// returns when it was set. Blocks for the hash (`hub caregiver pin` calls it directly).
pub fn set_kiosk_pin_blocking(
    store: &Store,
    id: &str,
    pin: &str,
    who: &Who,
) -> StoreResult<String> {
    check_pin("pin", pin)?;
    let hash = crate::accounts::hash_password(pin)?;
    let at = stamp(Utc::now());
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        let region: Option<String> = tx
            .query_row(
                "SELECT region_id FROM caregivers WHERE id = ?1 AND archived_at IS NULL",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(region) = region else {
            return Err(StoreError::NotFound {
                kind: "caregiver",
                id: id.to_string(),
            });
        };
        tx.execute(
            "INSERT INTO caregiver_kiosk_pins (caregiver_id, pin_hash, failed_tries, locked_until,
                                               set_at, set_by)
             VALUES (?1, ?2, 0, NULL, ?3, ?4)
             ON CONFLICT (caregiver_id) DO UPDATE SET pin_hash = excluded.pin_hash,
                 failed_tries = 0, locked_until = NULL, set_at = excluded.set_at,
                 set_by = excluded.set_by",
            params![id, hash, at, who.actor],
        )?;
        logs::audit(
            &tx,
            who,
            Action::Update,
            "caregivers",
            Some(id),
            Some(&region),
        )?;
        tx.commit()?;
        Ok(())
    })?;
    Ok(at)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The digits of a phone number, `+49`/`0049` read as a leading `0`.
fn phone_key(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let international = phone.trim_start().starts_with('+') || digits.starts_with("00");
    let digits = digits.trim_start_matches("00");
    match digits.strip_prefix("49") {
        Some(rest) if international => format!("0{rest}"),
        _ => digits.to_string(),
    }
}

/// A caregiver of the region whose phone matches, with their PIN state.
struct Candidate {
    caregiver_id: String,
    pin_hash: String,
    locked_until: Option<String>,
}

fn refused_pin(detail: String) -> ApiError {
    ApiError::Refused {
        status: StatusCode::FORBIDDEN,
        slug: "wrong-pin",
        title: "Wrong phone number or PIN",
        detail,
    }
}

/// `POST` [`CAREGIVER_SESSIONS_PATH`]: phone number and PIN in, the caregiver's residents out.
async fn session(
    State(app): State<AppState>,
    Extension(device): Extension<DeviceIdentity>,
    JsonObject(body): JsonObject,
) -> Result<Json<CaregiverSession>, ApiError> {
    let request: CaregiverSessionRequest = records::from_object(body)?;
    check_phone("phone", &request.phone)?;
    if request.pin.chars().count() != PIN_LEN || !request.pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("pin", "a kiosk PIN is six digits"));
    }
    let now = Utc::now();
    let key = phone_key(&request.phone);
    let region = device.region_id.clone();
    let candidates = app
        .store
        .run(move |conn| candidates(conn, &region, &key))
        .await?;
    let (open, locked): (Vec<Candidate>, Vec<Candidate>) = candidates.into_iter().partition(|c| {
        c.locked_until
            .as_deref()
            .is_none_or(|t| t <= stamp(now).as_str())
    });
    if open.is_empty() {
        if let Some(until) = locked.iter().filter_map(|c| c.locked_until.clone()).min() {
            return Err(ApiError::Refused {
                status: StatusCode::TOO_MANY_REQUESTS,
                slug: "pin-locked",
                title: "PIN locked",
                detail: format!(
                    "{MAX_TRIES} wrong tries; the PIN works again from {until}, or set a new one"
                ),
            });
        }
        return Err(refused_pin(
            "no caregiver of this region with a kiosk PIN has this phone number and PIN".into(),
        ));
    }
    let pin = request.pin.clone();
    let hashes: Vec<(String, String)> = open
        .iter()
        .map(|c| (c.caregiver_id.clone(), c.pin_hash.clone()))
        .collect();
    let matched = tokio::task::spawn_blocking(move || {
        hashes
            .into_iter()
            .find(|(_, hash)| verify_password(&pin, hash))
            .map(|(id, _)| id)
    })
    .await
    .map_err(|e| ApiError::Internal {
        detail: format!("checking task: {e}"),
    })?;
    let who = device.who(REQUEST_ID.try_with(Clone::clone).ok());
    let open_ids: Vec<String> = open.into_iter().map(|c| c.caregiver_id).collect();
    let region = device.region_id.clone();
    let outcome = app
        .store
        .run(move |conn| record_try(conn, &who, &region, matched, &open_ids, now))
        .await?;
    match outcome {
        Tried::Right(session) => Ok(Json(session)),
        Tried::Wrong { tries_left: 0 } => Err(ApiError::Refused {
            status: StatusCode::TOO_MANY_REQUESTS,
            slug: "pin-locked",
            title: "PIN locked",
            detail: format!(
                "{MAX_TRIES} wrong tries; the PIN is locked for {LOCK_MINUTES} minutes"
            ),
        }),
        Tried::Wrong { tries_left } => Err(refused_pin(format!(
            "{tries_left} tries left before the PIN is locked for {LOCK_MINUTES} minutes"
        ))),
    }
}

fn candidates(conn: &Connection, region: &str, key: &str) -> StoreResult<Vec<Candidate>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.phone, p.pin_hash, p.locked_until
         FROM caregivers c JOIN caregiver_kiosk_pins p ON p.caregiver_id = c.id
         WHERE c.region_id = ?1 AND c.archived_at IS NULL AND c.phone IS NOT NULL",
    )?;
    let rows = stmt.query_map([region], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (caregiver_id, phone, pin_hash, locked_until) = row?;
        if phone_key(&phone) == key {
            found.push(Candidate {
                caregiver_id,
                pin_hash,
                locked_until,
            });
        }
    }
    Ok(found)
}

enum Tried {
    Right(CaregiverSession),
    Wrong { tries_left: i64 },
}

/// Records the try: a right PIN resets the count and lists the residents; a wrong one counts
/// against every caregiver the phone number matched, locking at [`MAX_TRIES`].
fn record_try(
    conn: &mut Connection,
    who: &Who,
    region: &str,
    matched: Option<String>,
    tried: &[String],
    now: DateTime<Utc>,
) -> StoreResult<Tried> {
    let tx = conn.transaction()?;
    let outcome = if let Some(caregiver_id) = matched {
        tx.execute(
            "UPDATE caregiver_kiosk_pins SET failed_tries = 0, locked_until = NULL
             WHERE caregiver_id = ?1",
            [&caregiver_id],
        )?;
        logs::audit(
            &tx,
            who,
            Action::Read,
            "caregivers",
            Some(&caregiver_id),
            Some(region),
        )?;
        let residents = cared_for(&tx, region, &caregiver_id)?;
        logs::audit(&tx, who, Action::List, "residents", None, Some(region))?;
        Tried::Right(CaregiverSession {
            caregiver_id,
            residents,
        })
    } else {
        let mut fewest = MAX_TRIES;
        for id in tried {
            let tries: i64 = tx.query_row(
                "UPDATE caregiver_kiosk_pins SET failed_tries = failed_tries + 1
                 WHERE caregiver_id = ?1 RETURNING failed_tries",
                [id],
                |r| r.get(0),
            )?;
            if tries >= MAX_TRIES {
                tx.execute(
                    "UPDATE caregiver_kiosk_pins SET failed_tries = 0, locked_until = ?2
                     WHERE caregiver_id = ?1",
                    params![id, stamp(now + Duration::minutes(LOCK_MINUTES))],
                )?;
            }
            fewest = fewest.min((MAX_TRIES - tries).max(0));
        }
        Tried::Wrong { tries_left: fewest }
    };
    tx.commit()?;
    Ok(outcome)
}

/// The live residents of the region linked to the caregiver: id, first name, village.
fn cared_for(tx: &Connection, region: &str, caregiver_id: &str) -> StoreResult<Vec<CaredFor>> {
    let mut stmt = tx.prepare(
        "SELECT r.id, r.name, v.name
         FROM caregiver_links l
         JOIN residents r ON r.id = l.resident_id
         JOIN villages v ON v.id = r.village_id
         WHERE l.caregiver_id = ?1 AND l.archived_at IS NULL AND r.archived_at IS NULL
           AND r.region_id = ?2
         ORDER BY r.name, r.id",
    )?;
    let rows = stmt.query_map(params![caregiver_id, region], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (resident_id, name, village) = row?;
        out.push(CaredFor {
            resident_id,
            first_name: name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
            village,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits_and_not_trivial() {
        assert!(check_pin("pin", "480517").is_ok());
        for bad in [
            "12345",
            "1234567",
            "12345a",
            "111111",
            "123456",
            "987654",
            "４８０５１７",
        ] {
            assert!(check_pin("pin", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_compare_by_their_digits() {
        assert_eq!(phone_key("0151 22334455"), "015122334455");
        assert_eq!(phone_key("+49 151 22334455"), "015122334455");
        assert_eq!(phone_key("0049-151-22334455"), "015122334455");
        assert_eq!(phone_key("(05332) 6120"), "053326120");
    }
}

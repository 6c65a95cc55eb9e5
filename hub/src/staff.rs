//! Health workers at kiosks: kiosk PINs, staff sessions, today's appointments at a kiosk, and the
//! appointment outcomes a kiosk sends through its outbox.
//!
//! **PINs** are six digits, stored as argon2id hashes like passwords (`accounts::hash_password`),
//! for health-worker accounts only. Five wrong tries in a row lock a PIN for 15 minutes; the
//! counter starts again after the lock, and a right PIN resets it.
//!
//! **Sessions** are opened by a kiosk (`POST /api/v1/device/staff-sessions`) with a username and a
//! PIN, last 12 hours and belong to that kiosk and account. The kiosk makes the session id; a
//! repeated login with it (and the right PIN) answers with the same session. A wrong username and
//! a wrong PIN are refused alike (and take as long), so the answer does not tell which was wrong.
//!
//! **Outcomes** (attended or no-show, topic, referral category) arrive through the sync; see
//! [`apply_outcome`]. There is no free-text field anywhere, so nothing about a person's health can
//! be written down here beyond the topic category.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use protocol::staff::{PIN_DIGITS, StaffAppointment, StaffLogin, StaffSession};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::accounts::hash_password;
use crate::api::auth::verify_password;
use crate::devices::DeviceIdentity;
use crate::domain::Appointment;
use crate::domain::common::{Instant, region_tz};
use crate::domain::counselling::Topic;
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

/// Wrong PINs in a row that lock it.
pub const MAX_TRIES: i64 = 5;
/// How long a locked PIN stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// How long a staff session lasts.
pub const SESSION_HOURS: i64 = 12;
/// How long after its session ended an outcome is still taken (a kiosk offline for a while).
pub const LATE_HOURS: i64 = 24;
/// Longest username or id a login or outcome may carry.
const MAX_NAME_CHARS: usize = 100;

/// Why a login opened no session.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown username, no PIN, another region's account, or a wrong PIN: one answer for all.
    #[error("username or PIN wrong")]
    Refused,
    /// Too many wrong PINs; try again after `until`.
    #[error("PIN locked until {until}")]
    Locked { until: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for LoginError {
    fn from(e: rusqlite::Error) -> Self {
        LoginError::Store(StoreError::Db(e))
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Refuses anything but exactly [`PIN_DIGITS`] ASCII digits.
pub fn check_pin(pin: &str) -> StoreResult<()> {
    if pin.len() == PIN_DIGITS && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::invalid("pin", "must be exactly 6 digits"))
    }
}

/// Sets the kiosk PIN of the health-worker account `account_id`, unlocking it; audited as an
/// update of `staff_pins` by `who`.
pub fn set_pin(conn: &mut Connection, who: &Who, account_id: &str, pin: &str) -> StoreResult<()> {
    check_pin(pin)?;
    let account: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT role, region_id FROM accounts WHERE id = ?1 AND archived_at IS NULL",
            [account_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((role, region)) = account else {
        return Err(StoreError::NotFound {
            kind: "account",
            id: account_id.to_string(),
        });
    };
    if role != "health_worker" {
        return Err(StoreError::invalid(
            "account",
            "only health-worker accounts have a kiosk PIN",
        ));
    }
    let hash = hash_password(pin)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO staff_pins (account_id, pin_hash, failed_tries, locked_until, set_at, set_by)
         VALUES (?1, ?2, 0, NULL, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET pin_hash = excluded.pin_hash, failed_tries = 0,
             locked_until = NULL, set_at = excluded.set_at, set_by = excluded.set_by",
        params![account_id, hash, stamp(Utc::now()), who.actor],
    )?;
    logs::audit(
        &tx,
        who,
        Action::Update,
        "staff_pins",
        Some(account_id),
        region.as_deref(),
    )?;
    tx.commit()?;
    Ok(())
}

/// The id of the live account `username`.
pub fn account_id(conn: &Connection, username: &str) -> StoreResult<String> {
    conn.query_row(
        "SELECT id FROM accounts WHERE username = ?1 AND archived_at IS NULL",
        [username],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        kind: "account",
        id: username.to_string(),
    })
}

/// A hash no PIN matches, verified when the username is unknown so that answer takes as long as
/// a wrong PIN.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-not-a-pin").unwrap_or_default())
}

/// id, username, display name, region, PIN hash, locked until.
type PinRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

/// Opens a staff session at `device` (see the module documentation), with today's appointments.
pub fn login(
    conn: &mut Connection,
    device: &DeviceIdentity,
    request: &StaffLogin,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<StaffSession, LoginError> {
    if request.username.trim().is_empty() || request.username.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid(
            "username",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        )
        .into());
    }
    check_pin(&request.pin)?;
    let session_id = request.id.to_string();
    let known: Option<(String, String, String, String)> = conn
        .query_row(
            "SELECT account_id, device_id, issued_at, expires_at FROM staff_sessions WHERE id = ?1",
            [&session_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let row: Option<PinRow> = conn
        .query_row(
            "SELECT a.id, a.username, a.display_name, a.region_id, p.pin_hash, p.locked_until
             FROM accounts a JOIN staff_pins p ON p.account_id = a.id
             WHERE a.username = ?1 AND a.archived_at IS NULL AND a.role = 'health_worker'",
            [&request.username],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    if let Some((account, known_device, ..)) = &known
        && (known_device != &device.device_id || row.as_ref().map(|r| &r.0) != Some(account))
    {
        return Err(StoreError::Conflict(
            "this session id belongs to another login; a new login needs a new id".into(),
        )
        .into());
    }
    let Some((account_id, username, display_name, region, hash, locked_until)) =
        row.filter(|r| r.3.as_deref() == Some(device.region_id.as_str()))
    else {
        verify_password(&request.pin, decoy_hash());
        return Err(LoginError::Refused);
    };
    if let Some(until) = locked_until
        && until > stamp(now)
    {
        return Err(LoginError::Locked { until });
    }
    // Argon2 is slow on purpose: no write lock is held while it runs.
    if !verify_password(&request.pin, &hash) {
        record_failure(
            conn,
            device,
            &account_id,
            region.as_deref(),
            request_id,
            now,
        )?;
        return Err(LoginError::Refused);
    }

    let who = Who {
        actor: format!("account:{username}"),
        request_id,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE staff_pins SET failed_tries = 0, locked_until = NULL WHERE account_id = ?1",
        [&account_id],
    )?;
    let expires_at = match known {
        Some((_, _, _, expires_at)) => expires_at,
        None => {
            let expires_at = stamp(now + Duration::hours(SESSION_HOURS));
            tx.execute(
                "INSERT INTO staff_sessions (id, account_id, device_id, issued_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session_id,
                    account_id,
                    device.device_id,
                    stamp(now),
                    expires_at
                ],
            )?;
            logs::audit(
                &tx,
                &who,
                Action::Create,
                "staff_sessions",
                Some(&session_id),
                Some(&device.region_id),
            )?;
            expires_at
        }
    };
    let appointments = today_at(&tx, device, now)?;
    logs::audit(
        &tx,
        &who,
        Action::List,
        "appointments",
        None,
        Some(&device.region_id),
    )?;
    tx.commit()?;
    Ok(StaffSession {
        session_id: request.id,
        expires_at,
        display_name,
        appointments,
    })
}

/// Counts a wrong PIN; the fifth in a row locks the PIN (audited) and starts the count again.
fn record_failure(
    conn: &mut Connection,
    device: &DeviceIdentity,
    account_id: &str,
    region: Option<&str>,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The right-hand sides all read the row as it was before the update.
    tx.execute(
        "UPDATE staff_pins SET
             locked_until = CASE WHEN failed_tries + 1 >= ?2 THEN ?3 ELSE locked_until END,
             failed_tries = CASE WHEN failed_tries + 1 >= ?2 THEN 0 ELSE failed_tries + 1 END
         WHERE account_id = ?1",
        params![
            account_id,
            MAX_TRIES,
            stamp(now + Duration::minutes(LOCK_MINUTES))
        ],
    )?;
    let locked: bool = tx.query_row(
        "SELECT locked_until IS NOT NULL AND locked_until > ?2 FROM staff_pins
         WHERE account_id = ?1",
        params![account_id, stamp(now)],
        |r| r.get(0),
    )?;
    if locked {
        tracing::warn!(account = account_id, device = %device.device_id, "kiosk PIN locked after {MAX_TRIES} wrong tries");
        logs::audit(
            &tx,
            &device.who(request_id),
            Action::Update,
            "staff_pins",
            Some(account_id),
            region,
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Today's appointments (the region's calendar day of `now`) in consultation hours at `device`,
/// cancelled ones left out, by time.
pub fn today_at(
    conn: &Connection,
    device: &DeviceIdentity,
    now: DateTime<Utc>,
) -> StoreResult<Vec<StaffAppointment>> {
    let tz = region_tz(conn, &device.region_id)?;
    let day = now.with_timezone(&tz).date_naive();
    let midnight = |date: chrono::NaiveDate| {
        tz.from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| stamp(t.with_timezone(&Utc)))
            .ok_or_else(|| StoreError::Internal(format!("{date} has no midnight in {tz}")))
    };
    let from = midnight(day)?;
    let to = midnight(day + chrono::Days::new(1))?;
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.starts_at, a.booking_code, a.topic, a.status, r.name
         FROM appointments a
         JOIN slots s ON s.id = a.slot_id
         JOIN consultation_hours h ON h.id = s.consultation_hours_id
         LEFT JOIN residents r ON r.id = a.resident_id
         WHERE h.device_id = ?1 AND a.status <> 'cancelled'
           AND a.starts_at >= ?2 AND a.starts_at < ?3
         ORDER BY a.starts_at, a.id",
    )?;
    let rows = stmt.query_map(params![device.device_id, from, to], |r| {
        let name: Option<String> = r.get(5)?;
        Ok(StaffAppointment {
            id: r.get(0)?,
            starts_at: r.get(1)?,
            booking_code: r.get(2)?,
            topic: r.get(3)?,
            status: r.get(4)?,
            first_name: name.and_then(|n| n.split_whitespace().next().map(str::to_string)),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Attended or no-show; the outbox body can say nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Attended,
    NoShow,
}

/// The body of an `appointment_outcome` entry (`protocol::staff::AppointmentOutcome`), with the
/// topic read as the hub's [`Topic`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    session_id: Uuid,
    appointment_id: String,
    status: Outcome,
    topic: Topic,
    #[serde(default)]
    referral: Option<String>,
}

/// Records an appointment's outcome sent by `device` inside the sync's transaction, through the
/// domain's update (referral checked against the region's categories, audit and change log) with
/// the session's health worker as actor. Refused unless the session is this kiosk's, the entry was
/// made while it ran and arrives at most [`LATE_HOURS`] after it ended, and the appointment lies
/// in this kiosk's consultation hours, not cancelled and not after the session. Answers with the
/// appointment's id and status.
pub fn apply_outcome(
    tx: &Connection,
    device: &DeviceIdentity,
    request_id: Option<String>,
    created_at: &str,
    body: Map<String, Value>,
    now: DateTime<Utc>,
) -> StoreResult<Value> {
    let outcome: OutcomeBody = records::from_object(body)?;
    if outcome.appointment_id.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid("appointment_id", "is too long"));
    }
    if let Some(referral) = &outcome.referral
        && referral.chars().count() > MAX_NAME_CHARS
    {
        return Err(StoreError::invalid("referral", "is too long"));
    }
    let session: Option<(String, String, String, String)> = tx
        .query_row(
            "SELECT s.device_id, s.issued_at, s.expires_at, a.username
             FROM staff_sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.id = ?1 AND a.archived_at IS NULL AND a.role = 'health_worker'",
            [outcome.session_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((session_device, issued_at, expires_at, username)) = session else {
        return Err(StoreError::invalid(
            "session_id",
            "no staff session with this id",
        ));
    };
    if session_device != device.device_id {
        return Err(StoreError::invalid(
            "session_id",
            "the session was opened at another kiosk",
        ));
    }
    let made = created_at
        .parse::<Instant>()
        .map_err(|reason| StoreError::Invalid {
            field: "created_at".into(),
            reason,
        })?
        .text();
    if made < issued_at || made > expires_at {
        return Err(StoreError::invalid(
            "created_at",
            "the outcome was not recorded while the session ran",
        ));
    }
    let expired: Instant = expires_at.parse().map_err(StoreError::Internal)?;
    if now > expired.0 + Duration::hours(LATE_HOURS) {
        return Err(StoreError::invalid(
            "session_id",
            format!("the session ended more than {LATE_HOURS} hours ago"),
        ));
    }
    let appointment: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT a.status, a.starts_at, h.device_id FROM appointments a
             JOIN slots s ON s.id = a.slot_id
             LEFT JOIN consultation_hours h ON h.id = s.consultation_hours_id
             WHERE a.id = ?1",
            [&outcome.appointment_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((status, starts_at, hours_device)) = appointment else {
        return Err(StoreError::NotFound {
            kind: "appointment",
            id: outcome.appointment_id,
        });
    };
    if hours_device.as_deref() != Some(device.device_id.as_str()) {
        return Err(StoreError::invalid(
            "appointment_id",
            "the appointment is not in this kiosk's consultation hours",
        ));
    }
    if status == "cancelled" {
        return Err(StoreError::Conflict("the appointment was cancelled".into()));
    }
    if starts_at >= expires_at {
        return Err(StoreError::invalid(
            "appointment_id",
            "the appointment lies after the session",
        ));
    }
    let mut patch = Map::new();
    patch.insert(
        "status".into(),
        json!(match outcome.status {
            Outcome::Attended => "attended",
            Outcome::NoShow => "no_show",
        }),
    );
    patch.insert("topic".into(), json!(outcome.topic));
    patch.insert("referral".into(), json!(outcome.referral));
    let who = Who {
        actor: format!("account:{username}"),
        request_id,
    };
    let record = records::update_in::<Appointment>(tx, &who, &outcome.appointment_id, patch)?;
    Ok(json!({"id": record["id"], "status": record["status"]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_six_ascii_digits() {
        assert!(check_pin("042917").is_ok());
        for wrong in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345"] {
            assert!(check_pin(wrong).is_err(), "{wrong:?}");
        }
    }
}

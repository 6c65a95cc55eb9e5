//! Counselling operations at IMBUS visits: the counsellor's day view (`day`), people who just came
//! by (`walk_ins`), the outcome of an appointment (`outcomes`), each visit's waiting list and the
//! hand-over of a freed slot (`waiting`), notices to caregivers (`notices`) and the anonymous
//! figures for the evaluation (`statistics`).
//!
//! Who may do what: a health-worker account sees and records the visits of the counsellor it is
//! linked to (`imbus_counsellors.account_id`); administrators act everywhere; dispatchers and
//! health workers keep the waiting lists of their region; caregiver and driver accounts are
//! refused. Everything here is blocking database work for `Store::run`.

pub mod day;
pub mod notices;
pub mod outcomes;
pub mod statistics;
pub mod waiting;
pub mod walk_ins;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::Role;
use crate::domain::common::Instant;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text};

/// The account acting, as the API's authentication layer found it.
#[derive(Clone, Debug)]
pub struct Staff {
    pub account_id: String,
    pub role: Role,
    /// `None` for hub-wide administrators.
    pub region_id: Option<String>,
    pub who: Who,
}

/// Why a counselling operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CounsellingError {
    /// The account may not do this here.
    #[error("{0}")]
    Forbidden(String),
    /// A resident asked to wait for a visit that still has a slot to book; the German text
    /// names the free times.
    #[error("{detail}")]
    SlotFree { detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CounsellingError {
    fn from(e: rusqlite::Error) -> Self {
        CounsellingError::Store(StoreError::Db(e))
    }
}

pub type Result<T> = std::result::Result<T, CounsellingError>;

fn forbidden<T>(detail: impl Into<String>) -> Result<T> {
    Err(CounsellingError::Forbidden(detail.into()))
}

/// The answer to a create with a client-made id: the record, and whether an earlier identical
/// request made it.
#[derive(Debug)]
pub struct Created {
    pub record: Value,
    pub replayed: bool,
}

/// The live counsellors linked to an account.
pub fn counsellors_of(conn: &Connection, account_id: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM imbus_counsellors WHERE account_id = ?1 AND archived_at IS NULL
         ORDER BY id",
    )?;
    let ids = stmt
        .query_map([account_id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    Ok(ids)
}

/// Administrators act in every region, other staff in their own.
fn check_region(staff: &Staff, region: &str) -> Result<()> {
    if staff.role == Role::Admin || staff.region_id.as_deref() == Some(region) {
        Ok(())
    } else {
        forbidden("this account belongs to another region")
    }
}

/// What the access rules and the checks need of a visit.
#[derive(Clone, Debug)]
pub(crate) struct VisitRow {
    pub id: String,
    pub region_id: String,
    pub village_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub counsellor_id: Option<String>,
}

/// The visit `id`, or `NotFound`.
pub(crate) fn visit(conn: &Connection, id: &str) -> StoreResult<VisitRow> {
    conn.query_row(
        "SELECT id, region_id, village_id, starts_at, ends_at, status, counsellor_id
         FROM imbus_visits WHERE id = ?1",
        [id],
        |r| {
            Ok(VisitRow {
                id: r.get(0)?,
                region_id: r.get(1)?,
                village_id: r.get(2)?,
                starts_at: r.get(3)?,
                ends_at: r.get(4)?,
                status: r.get(5)?,
                counsellor_id: r.get(6)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        kind: "IMBUS visit",
        id: id.to_string(),
    })
}

/// Only the visit's counsellor (through the linked health-worker account) or an administrator
/// records what happened at a visit.
pub(crate) fn check_counsellor(conn: &Connection, staff: &Staff, visit: &VisitRow) -> Result<()> {
    match staff.role {
        Role::Admin => Ok(()),
        Role::HealthWorker => {
            let mine = counsellors_of(conn, &staff.account_id)?;
            if visit
                .counsellor_id
                .as_ref()
                .is_some_and(|c| mine.contains(c))
            {
                Ok(())
            } else {
                forbidden("only the visit's counsellor records what happened at it")
            }
        }
        role => forbidden(format!("{role:?} accounts may not do this")),
    }
}

/// SHA-256 of the canonical form of a request, for idempotent creates.
pub(crate) fn request_hash<T: Serialize>(input: &T) -> StoreResult<String> {
    let value = serde_json::to_value(input)
        .map_err(|e| StoreError::Internal(format!("serializing input: {e}")))?;
    Ok(hex::encode(Sha256::digest(value.to_string())))
}

/// The first answer to `id` of `kind` when the same request came before; a conflict when the id
/// was used with other content.
pub(crate) fn replay(conn: &Connection, kind: &str, id: &str, hash: &str) -> Result<Option<Value>> {
    let earlier: Option<(String, String)> = conn
        .query_row(
            "SELECT request_hash, response FROM idempotent_creates WHERE kind = ?1 AND id = ?2",
            [kind, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match earlier {
        None => Ok(None),
        Some((stored, _)) if stored != hash => Err(StoreError::Conflict(format!(
            "{id} was already used with other content; a new entry needs a new id"
        ))
        .into()),
        Some((_, response)) => {
            Ok(Some(serde_json::from_str(&response).map_err(|e| {
                StoreError::Internal(format!("stored answer unreadable: {e}"))
            })?))
        }
    }
}

/// Keeps the first answer to `id` of `kind` for repeats.
pub(crate) fn remember(
    conn: &Connection,
    kind: &str,
    id: &str,
    hash: &str,
    answer: &Value,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO idempotent_creates (kind, id, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, id, hash, answer.to_string(), now_text()],
    )?;
    Ok(())
}

/// Ends a create with a client-made id: keeps the answer for repeats, writes the audit line and
/// commits.
pub(crate) fn finish_create(
    tx: rusqlite::Transaction<'_>,
    staff: &Staff,
    kind: &str,
    id: &str,
    hash: &str,
    record: Value,
    region_id: &str,
) -> Result<Created> {
    remember(&tx, kind, id, hash, &record)?;
    logs::audit(
        &tx,
        &staff.who,
        Action::Create,
        kind,
        Some(id),
        Some(region_id),
    )?;
    tx.commit()?;
    Ok(Created {
        record,
        replayed: false,
    })
}

/// Notes in the audit log that `staff` changed the record `id` of `kind`.
pub(crate) fn audit_update(
    conn: &Connection,
    staff: &Staff,
    kind: &str,
    id: &str,
    region_id: &str,
) -> StoreResult<()> {
    logs::audit(
        conn,
        &staff.who,
        Action::Update,
        kind,
        Some(id),
        Some(region_id),
    )
}

/// The region and one more column of the row `id` in `table`; `NotFound` names it `kind`.
pub(crate) fn region_and<T: rusqlite::types::FromSql>(
    conn: &Connection,
    table: &str,
    column: &str,
    kind: &'static str,
    id: &str,
) -> Result<(String, T)> {
    let row: Option<(String, T)> = conn
        .query_row(
            &format!("SELECT region_id, {column} FROM {table} WHERE id = ?1"),
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.ok_or_else(|| {
        StoreError::NotFound {
            kind,
            id: id.to_string(),
        }
        .into()
    })
}

/// A stored instant.
pub(crate) fn instant(text: &str) -> StoreResult<DateTime<Utc>> {
    text.parse::<Instant>()
        .map(|i| i.0)
        .map_err(StoreError::Internal)
}

/// `HH:MM` of a stored instant in the region's zone.
pub(crate) fn local_hm(tz: Tz, text: &str) -> StoreResult<String> {
    Ok(instant(text)?
        .with_timezone(&tz)
        .format("%H:%M")
        .to_string())
}

/// "Di 8.12." of a stored instant in the region's zone.
pub(crate) fn local_day_de(tz: Tz, text: &str) -> StoreResult<String> {
    let local = instant(text)?.with_timezone(&tz);
    const DAYS: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];
    Ok(format!(
        "{} {}.{}.",
        DAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        local.month()
    ))
}

/// The first word of a name: what a day view or a notice shows of a person.
pub(crate) fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_texts_are_german_and_in_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 09:00 UTC in December is 10:00 in Berlin; in July 11:00.
        assert_eq!(local_hm(berlin, "2026-12-08T09:00:00Z").unwrap(), "10:00");
        assert_eq!(local_hm(berlin, "2026-07-08T09:00:00Z").unwrap(), "11:00");
        assert_eq!(
            local_day_de(berlin, "2026-12-08T09:00:00Z").unwrap(),
            "Di 8.12."
        );
        assert_eq!(
            local_day_de(berlin, "2026-12-31T23:30:00Z").unwrap(),
            "Fr 1.1."
        );
        assert_eq!(first_name("Erika  Mustermann"), "Erika");
        assert_eq!(first_name(""), "");
    }
}

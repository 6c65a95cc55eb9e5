//! Personal data of residents: finding a resident, exporting everything the hub holds about them
//! (Art. 15 GDPR), erasing them (Art. 17) and removing ride details after a retention period.
//!
//! Erasure overwrites the resident row instead of deleting it: rides and appointments keep
//! pointing at it, so statistics go on counting them as anonymous rows, and foreign keys stay
//! intact. Names, phone numbers, street and resident number are also scrubbed from the JSON
//! copies the logs keep of the resident's records (change log, idempotent create answers, kiosk
//! write answers). The audit log names no person, only ids, and stays append-only.
//!
//! Retention: after a region's `retention_days` (default 90, 30 to 3650) the details of a
//! finished ride (its notice, the caregiver who booked it) and the contact data of finished
//! call-backs are removed. Ride rows carry no addresses of their own (a ride "from home" reads
//! the home from the resident) and route stops carry no names, so nothing else is there to
//! remove; counts, times, places and statuses stay for the statistics.
//!
//! Every operation is one transaction: a refusal or error changes nothing.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text};

/// Retention period of a region without a setting.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// The shortest retention period: a month, so complaints about a ride can still be checked.
pub const MIN_RETENTION_DAYS: i64 = 30;
/// The longest retention period: ten years (the longest German keeping duty).
pub const MAX_RETENTION_DAYS: i64 = 3650;
/// The name an erased resident's row carries.
pub const ERASED_NAME: &str = "Gelöscht";
/// The most residents a search lists.
const MAX_FOUND: usize = 50;

/// A resident found by a search (for the admin who must pick the right one).
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub id: String,
    pub name: String,
    pub village: String,
    pub number: Option<String>,
    pub erased: bool,
}

/// What an erasure changed.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Erased {
    /// Rides kept as anonymous rows.
    pub rides: usize,
    /// Appointments kept as anonymous rows.
    pub appointments: usize,
    /// Caregiver links archived.
    pub links: usize,
    /// Log rows whose copies of the personal data were scrubbed.
    pub log_rows: usize,
}

/// What one retention run removed in one region.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RetentionRun {
    pub region_id: String,
    pub ran_at: String,
    /// Rides before this instant were cleaned.
    pub cutoff: String,
    pub retention_days: i64,
    /// Finished rides whose details were removed in this run.
    pub rides: usize,
    /// Finished call-backs whose contact data was removed in this run.
    pub call_backs: usize,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Searches the residents of `region` by part of the name, by resident number or by id.
pub fn find(conn: &Connection, who: &Who, region: &str, query: &str) -> StoreResult<Vec<Found>> {
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 80 {
        return Err(StoreError::invalid(
            "q",
            "Bitte geben Sie einen Namen oder eine Bewohnernummer ein (höchstens 80 Zeichen).",
        ));
    }
    let pattern = format!(
        "%{}%",
        query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let number: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    let mut stmt = conn.prepare(
        "SELECT r.id, r.name, v.name, r.kiosk_number,
                EXISTS (SELECT 1 FROM erasures e WHERE e.resident_id = r.id)
         FROM residents r JOIN villages v ON v.id = r.village_id
         WHERE r.region_id = ?1
           AND (r.name LIKE ?2 ESCAPE '\\' OR r.kiosk_number = ?3 OR r.id = ?3)
         ORDER BY r.name, r.id LIMIT ?4",
    )?;
    let found = stmt
        .query_map(params![region, pattern, number, MAX_FOUND as i64], |r| {
            Ok(Found {
                id: r.get(0)?,
                name: r.get(1)?,
                village: r.get(2)?,
                number: r.get(3)?,
                erased: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    logs::audit(conn, who, Action::List, "residents", None, Some(region))?;
    Ok(found)
}

/// The region of a resident, or `NotFound`.
pub fn resident_region(conn: &Connection, resident: &str) -> StoreResult<String> {
    conn.query_row(
        "SELECT region_id FROM residents WHERE id = ?1",
        [resident],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        kind: "resident",
        id: resident.to_string(),
    })
}

/// A resident as the privacy page shows them (read with an audit line).
pub fn summary(conn: &Connection, who: &Who, resident: &str) -> StoreResult<Found> {
    let region = resident_region(conn, resident)?;
    let found = conn.query_row(
        "SELECT r.id, r.name, v.name, r.kiosk_number,
                EXISTS (SELECT 1 FROM erasures e WHERE e.resident_id = r.id)
         FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = ?1",
        [resident],
        |r| {
            Ok(Found {
                id: r.get(0)?,
                name: r.get(1)?,
                village: r.get(2)?,
                number: r.get(3)?,
                erased: r.get(4)?,
            })
        },
    )?;
    logs::audit(
        conn,
        who,
        Action::Read,
        "residents",
        Some(resident),
        Some(&region),
    )?;
    Ok(found)
}

/// A database value as JSON; text that holds a JSON object or array is given as that.
fn json_cell(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t).into_owned();
            if text.starts_with(['{', '['])
                && let Ok(parsed) = serde_json::from_str::<Value>(&text)
            {
                return parsed;
            }
            Value::String(text)
        }
        ValueRef::Blob(b) => json!(format!("({} bytes)", b.len())),
    }
}

/// Every row `sql` selects for the resident `id` (its only parameter), column names as keys.
fn rows_of(conn: &Connection, sql: &str, id: &str) -> StoreResult<Vec<Value>> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut object = Map::new();
        for (i, name) in names.iter().enumerate() {
            object.insert(name.clone(), json_cell(row.get_ref(i)?));
        }
        out.push(Value::Object(object));
    }
    Ok(out)
}

/// The ids of every record about the resident: the resident, rides, appointments, caregiver
/// links, ride series, call-backs, waiting-list entries and notices. `?1` is the resident.
const IDS_ABOUT: &str = "SELECT ?1
    UNION SELECT id FROM ride_requests WHERE resident_id = ?1
    UNION SELECT id FROM appointments WHERE resident_id = ?1
    UNION SELECT id FROM caregiver_links WHERE resident_id = ?1
    UNION SELECT id FROM ride_series WHERE resident_id = ?1
    UNION SELECT id FROM call_backs WHERE resident_id = ?1
        OR ride_request_id IN (SELECT id FROM ride_requests WHERE resident_id = ?1)
    UNION SELECT id FROM waiting_list WHERE resident_id = ?1
    UNION SELECT id FROM notices WHERE resident_id = ?1";

/// Everything the hub holds about a resident, as one JSON document; writes an `export` audit
/// line (which the document's audit part already contains).
pub fn export(conn: &mut Connection, who: &Who, resident: &str) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let region = resident_region(&tx, resident)?;
    logs::audit(
        &tx,
        who,
        Action::Export,
        "residents",
        Some(resident),
        Some(&region),
    )?;
    let part = |sql: &str| rows_of(&tx, sql, resident);
    let document = json!({
        "exported_at": now_text(),
        "resident": part("SELECT * FROM residents WHERE id = ?1")?.pop(),
        "erasure": part("SELECT * FROM erasures WHERE resident_id = ?1")?.pop(),
        "caregiver_links": part(
            "SELECT l.*, c.name AS caregiver_name, c.phone AS caregiver_phone,
                    c.email AS caregiver_email
             FROM caregiver_links l JOIN caregivers c ON c.id = l.caregiver_id
             WHERE l.resident_id = ?1 ORDER BY l.created_at, l.id")?,
        "ride_series": part(
            "SELECT * FROM ride_series WHERE resident_id = ?1 ORDER BY first_date, id")?,
        "rides": part(
            "SELECT * FROM ride_requests WHERE resident_id = ?1
             ORDER BY COALESCE(appointment_at, pickup_at), id")?,
        "route_stops": part(
            "SELECT rs.* FROM route_stops rs
             JOIN ride_requests rr ON rr.id = rs.ride_request_id
             WHERE rr.resident_id = ?1 ORDER BY rs.planned_at, rs.id")?,
        "appointments": part(
            "SELECT * FROM appointments WHERE resident_id = ?1 ORDER BY starts_at, id")?,
        "waiting_list": part(
            "SELECT * FROM waiting_list WHERE resident_id = ?1 ORDER BY created_at, id")?,
        "notices": part(
            "SELECT * FROM notices WHERE resident_id = ?1 ORDER BY created_at, id")?,
        "call_backs": part(
            "SELECT * FROM call_backs WHERE resident_id = ?1
                OR ride_request_id IN (SELECT id FROM ride_requests WHERE resident_id = ?1)
             ORDER BY created_at, id")?,
        "audit_log": part(&format!(
            "SELECT * FROM audit_log WHERE entity_id IN ({IDS_ABOUT}) ORDER BY seq"))?,
    });
    tx.commit()?;
    Ok(document)
}

/// Rides and appointments of the resident still ahead of `now` (not finished or called off).
pub fn ahead(conn: &Connection, resident: &str, now: DateTime<Utc>) -> StoreResult<(i64, i64)> {
    let now = stamp(now);
    let rides = conn.query_row(
        "SELECT count(*) FROM ride_requests WHERE resident_id = ?1
         AND (status = 'picked_up' OR (status IN ('requested', 'planned', 'confirmed')
              AND COALESCE(appointment_at, pickup_at) >= ?2))",
        params![resident, now],
        |r| r.get(0),
    )?;
    let appointments = conn.query_row(
        "SELECT count(*) FROM appointments WHERE resident_id = ?1 AND status = 'booked'
         AND starts_at >= ?2",
        params![resident, now],
        |r| r.get(0),
    )?;
    Ok((rides, appointments))
}

/// The texts to scrub from log copies: the text itself and its JSON-escaped form, when long
/// enough to be the person's and not a common fragment.
fn secrets(texts: &[Option<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for text in texts.iter().flatten() {
        let text = text.trim();
        if text.chars().count() < 3 {
            continue;
        }
        out.push(text.to_string());
        let escaped = serde_json::to_string(text).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != text {
            out.push(escaped.to_string());
        }
    }
    out
}

/// Replaces each secret in the JSON copies the logs keep of the records `ids` (a query with
/// `?1` the resident). Returns the rows changed.
fn scrub_logs(tx: &Connection, resident: &str, secrets: &[String]) -> StoreResult<usize> {
    let targets = [
        ("change_log", "body", "entity_id"),
        ("idempotent_creates", "response", "id"),
        ("device_writes", "answer", "entry_id"),
    ];
    let mut changed = 0;
    for secret in secrets {
        for (table, column, key) in targets {
            changed += tx.execute(
                &format!(
                    "UPDATE {table} SET {column} = replace({column}, ?2, '')
                     WHERE {key} IN ({IDS_ABOUT}) AND instr({column}, ?2) > 0"
                ),
                params![resident, secret],
            )?;
        }
    }
    Ok(changed)
}

/// Erases a resident's personal data (see the module documentation). Refused with a German
/// reason while rides or appointments lie ahead, or when the resident was erased already.
pub fn erase(
    conn: &mut Connection,
    who: &Who,
    resident: &str,
    now: DateTime<Utc>,
) -> StoreResult<Erased> {
    let tx = conn.transaction()?;
    let region = resident_region(&tx, resident)?;
    let erased_before: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM erasures WHERE resident_id = ?1)",
        [resident],
        |r| r.get(0),
    )?;
    if erased_before {
        return Err(StoreError::Conflict(
            "Die Daten dieser Person wurden bereits gelöscht.".into(),
        ));
    }
    let (rides_ahead, appointments_ahead) = ahead(&tx, resident, now)?;
    if rides_ahead + appointments_ahead > 0 {
        return Err(StoreError::Conflict(format!(
            "Die Person hat noch {rides_ahead} Fahrt(en) und {appointments_ahead} Termin(e) vor \
             sich. Bitte sagen Sie diese zuerst ab; erst dann können ihre Daten gelöscht werden."
        )));
    }
    let personal: [Option<String>; 4] = tx.query_row(
        "SELECT name, phone, street, kiosk_number FROM residents WHERE id = ?1",
        [resident],
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
    )?;
    let at = stamp(now);
    let mut erased = Erased {
        log_rows: scrub_logs(&tx, resident, &secrets(&personal))?,
        ..Erased::default()
    };
    tx.execute(
        "UPDATE residents SET name = ?2, phone = NULL, street = '',
             lat = (SELECT lat FROM villages WHERE id = residents.village_id),
             lon = (SELECT lon FROM villages WHERE id = residents.village_id),
             birth_year = NULL, target_groups = '[]', uses_walker = 0, uses_wheelchair = 0,
             needs_companion = 0, language = 'de', kiosk_number = NULL,
             archived_at = COALESCE(archived_at, ?3), version = version + 1, updated_at = ?3
         WHERE id = ?1",
        params![resident, ERASED_NAME, at],
    )?;
    erased.links = tx.execute(
        "UPDATE caregiver_links SET archived_at = ?2, version = version + 1, updated_at = ?2
         WHERE resident_id = ?1 AND archived_at IS NULL",
        params![resident, at],
    )?;
    tx.execute(
        "UPDATE ride_series SET caregiver_id = NULL, archived_at = COALESCE(archived_at, ?2),
             version = version + 1, updated_at = ?2
         WHERE resident_id = ?1",
        params![resident, at],
    )?;
    erased.rides = tx.execute(
        "UPDATE ride_requests SET caregiver_id = NULL, notice = NULL WHERE resident_id = ?1",
        [resident],
    )?;
    erased.appointments = tx.query_row(
        "SELECT count(*) FROM appointments WHERE resident_id = ?1",
        [resident],
        |r| r.get::<_, i64>(0),
    )? as usize;
    tx.execute(
        "UPDATE call_backs SET contact_name = NULL, contact_phone = NULL
         WHERE resident_id = ?1
            OR ride_request_id IN (SELECT id FROM ride_requests WHERE resident_id = ?1)",
        [resident],
    )?;
    tx.execute(
        "UPDATE waiting_list SET status = 'withdrawn', updated_at = ?2
         WHERE resident_id = ?1 AND status = 'waiting'",
        params![resident, at],
    )?;
    tx.execute(
        "UPDATE waiting_list SET caregiver_id = NULL WHERE resident_id = ?1",
        [resident],
    )?;
    tx.execute(
        "INSERT INTO erasures (resident_id, region_id, erased_at, erased_by)
         VALUES (?1, ?2, ?3, ?4)",
        params![resident, region, at, who.actor],
    )?;
    logs::audit(
        &tx,
        who,
        Action::Erase,
        "residents",
        Some(resident),
        Some(&region),
    )?;
    tx.commit()?;
    Ok(erased)
}

/// Checks a retention period in days.
pub fn check_retention_days(days: i64) -> StoreResult<()> {
    if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "retention_days",
            format!(
                "Die Aufbewahrungsdauer muss zwischen {MIN_RETENTION_DAYS} und \
                 {MAX_RETENTION_DAYS} Tagen liegen."
            ),
        ))
    }
}

/// The retention period of a region in days.
pub fn retention_days(conn: &Connection, region: &str) -> StoreResult<i64> {
    Ok(conn
        .query_row(
            "SELECT retention_days FROM privacy_settings WHERE region_id = ?1",
            [region],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(DEFAULT_RETENTION_DAYS))
}

/// Sets a region's retention period (audited as an update of `privacy_settings`).
pub fn set_retention_days(
    conn: &mut Connection,
    who: &Who,
    region: &str,
    days: i64,
) -> StoreResult<()> {
    check_retention_days(days)?;
    let tx = conn.transaction()?;
    if !crate::store::records::exists(&tx, "regions", region)? {
        return Err(StoreError::NotFound {
            kind: "region",
            id: region.to_string(),
        });
    }
    tx.execute(
        "INSERT INTO privacy_settings (region_id, retention_days, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (region_id) DO UPDATE SET retention_days = excluded.retention_days,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![region, days, now_text(), who.actor],
    )?;
    logs::audit(
        &tx,
        who,
        Action::Update,
        "privacy_settings",
        Some(region),
        Some(region),
    )?;
    tx.commit()?;
    Ok(())
}

/// The last retention run of a region.
pub fn last_run(conn: &Connection, region: &str) -> StoreResult<Option<RetentionRun>> {
    Ok(conn
        .query_row(
            "SELECT region_id, ran_at, cutoff, retention_days, rides, call_backs
             FROM retention_runs WHERE region_id = ?1 ORDER BY seq DESC LIMIT 1",
            [region],
            |r| {
                Ok(RetentionRun {
                    region_id: r.get(0)?,
                    ran_at: r.get(1)?,
                    cutoff: r.get(2)?,
                    retention_days: r.get(3)?,
                    rides: r.get::<_, i64>(4)? as usize,
                    call_backs: r.get::<_, i64>(5)? as usize,
                })
            },
        )
        .optional()?)
}

/// Removes the details of finished rides older than each region's retention period, as the
/// hub's daily job. Returns one run per live region.
pub fn apply_retention(
    conn: &mut Connection,
    now: DateTime<Utc>,
) -> StoreResult<Vec<RetentionRun>> {
    apply_retention_as(conn, &Who::system("retention"), now)
}

/// [`apply_retention`] on behalf of `who` (the command line names itself).
pub fn apply_retention_as(
    conn: &mut Connection,
    who: &Who,
    now: DateTime<Utc>,
) -> StoreResult<Vec<RetentionRun>> {
    let tx = conn.transaction()?;
    let regions: Vec<String> = {
        let mut stmt =
            tx.prepare("SELECT id FROM regions WHERE archived_at IS NULL ORDER BY id")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut runs = Vec::new();
    for region in regions {
        let days = retention_days(&tx, &region)?;
        let run = retain_region(&tx, &region, days, now)?;
        tx.execute(
            "INSERT INTO retention_runs (region_id, ran_at, cutoff, retention_days, rides,
                                         call_backs, ran_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                region,
                run.ran_at,
                run.cutoff,
                days,
                run.rides as i64,
                run.call_backs as i64,
                who.actor
            ],
        )?;
        logs::audit(
            &tx,
            who,
            Action::Update,
            "retention_runs",
            None,
            Some(&region),
        )?;
        runs.push(run);
    }
    tx.commit()?;
    Ok(runs)
}

/// One region's part of a retention run.
fn retain_region(
    tx: &Connection,
    region: &str,
    days: i64,
    now: DateTime<Utc>,
) -> StoreResult<RetentionRun> {
    let cutoff = stamp(now - Duration::days(days));
    let rides = tx.execute(
        "UPDATE ride_requests SET notice = NULL, caregiver_id = NULL
         WHERE region_id = ?1 AND status IN ('done', 'no_show', 'cancelled')
           AND COALESCE(appointment_at, pickup_at) < ?2
           AND (notice IS NOT NULL OR caregiver_id IS NOT NULL)",
        params![region, cutoff],
    )?;
    // A call-back about a ride goes with its ride; one without a ride (asked at a kiosk) by
    // when it was asked. Only finished ones: an open call-back still needs its number.
    let call_backs = tx.execute(
        "UPDATE call_backs SET contact_name = NULL, contact_phone = NULL
         WHERE region_id = ?1 AND status = 'done'
           AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL)
           AND COALESCE((SELECT COALESCE(rr.appointment_at, rr.pickup_at) FROM ride_requests rr
                         WHERE rr.id = call_backs.ride_request_id), created_at) < ?2",
        params![region, cutoff],
    )?;
    Ok(RetentionRun {
        region_id: region.to_string(),
        ran_at: stamp(now),
        cutoff,
        retention_days: days,
        rides,
        call_backs,
    })
}

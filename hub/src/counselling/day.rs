//! The counsellor's day view: the visits of one local date in time order, each with its slots
//! (booked or free, topic, the resident's first name only, the appointment's status and
//! referral), the walk-ins counted by topic and how many wait. Reading it is audited as a list of
//! appointments, since it shows who comes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{Result, Staff, counsellors_of, first_name, forbidden, instant, local_hm};
use crate::domain::Role;
use crate::store::logs::{self, Action};
use crate::store::{StoreError, StoreResult, records};

/// One visit of the day.
#[derive(Debug, Serialize)]
pub struct DayVisit {
    pub id: String,
    pub region_id: String,
    pub village_id: String,
    pub village: String,
    pub stop_id: String,
    pub stop: String,
    pub starts_at: String,
    pub ends_at: String,
    /// `HH:MM` in the region's zone.
    pub local_start: String,
    pub local_end: String,
    pub status: String,
    pub cancel_reason: Option<String>,
    /// Why the visit was moved, shown to residents.
    pub change_reason: Option<String>,
    /// The start before the visit was moved.
    pub moved_from: Option<String>,
    pub counsellor_id: Option<String>,
    pub counsellor: String,
    pub slots: Vec<DaySlot>,
    /// People who came without an appointment, by topic.
    pub walk_ins: BTreeMap<String, i64>,
    /// Residents on the waiting list.
    pub waiting: i64,
}

/// One slot of a visit.
#[derive(Debug, Serialize)]
pub struct DaySlot {
    pub id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub local_start: String,
    pub local_end: String,
    /// `booked`, `free` or `cancelled` (the slot itself was called off).
    pub state: &'static str,
    /// Set aside for the village's kiosk: booked there only.
    pub kiosk_share: bool,
    pub appointment: Option<DayAppointment>,
}

/// The appointment on a slot, as much as the counsellor needs.
#[derive(Debug, Serialize)]
pub struct DayAppointment {
    pub id: String,
    pub status: String,
    pub topic: String,
    pub referral: Option<String>,
    /// The resident's first name; none for an anonymous booking.
    pub first_name: Option<String>,
}

/// The day view of `date` for `staff`: a health worker sees their counsellor's visits (or one of
/// theirs by `counsellor`), an administrator one counsellor's or all.
pub fn day(
    conn: &mut Connection,
    staff: &Staff,
    date: NaiveDate,
    counsellor: Option<&str>,
) -> Result<Vec<DayVisit>> {
    let counsellors: Option<Vec<String>> = match staff.role {
        Role::HealthWorker => {
            let mine = counsellors_of(conn, &staff.account_id)?;
            if mine.is_empty() {
                return forbidden("this account is not linked to an IMBUS counsellor");
            }
            match counsellor {
                Some(c) if mine.iter().any(|m| m == c) => Some(vec![c.to_string()]),
                Some(_) => return forbidden("a health worker sees only their own visits"),
                None => Some(mine),
            }
        }
        Role::Admin => match counsellor {
            Some(c) => {
                if !records::exists(conn, "imbus_counsellors", c)? {
                    return Err(StoreError::NotFound {
                        kind: "IMBUS counsellor",
                        id: c.to_string(),
                    }
                    .into());
                }
                Some(vec![c.to_string()])
            }
            None => None,
        },
        role => return forbidden(format!("{role:?} accounts may not see the day view")),
    };

    let tx = conn.transaction()?;
    let mut visits = visits_around(&tx, date)?;
    visits.retain(|(v, tz)| {
        instant(&v.starts_at).is_ok_and(|s| s.with_timezone(tz).date_naive() == date)
            && counsellors
                .as_ref()
                .is_none_or(|cs| v.counsellor_id.as_ref().is_some_and(|c| cs.contains(c)))
    });
    let mut regions = BTreeSet::new();
    let mut day = Vec::with_capacity(visits.len());
    for (mut visit, tz) in visits {
        visit.slots = slots(&tx, &visit.id, tz)?;
        visit.walk_ins = walk_ins(&tx, &visit.id)?;
        visit.waiting = tx.query_row(
            "SELECT count(*) FROM waiting_list WHERE visit_id = ?1 AND status = 'waiting'",
            [&visit.id],
            |r| r.get(0),
        )?;
        if visit.slots.iter().any(|s| s.appointment.is_some()) {
            regions.insert(visit.region_id.clone());
        }
        day.push(visit);
    }
    for region in &regions {
        logs::audit(
            &tx,
            &staff.who,
            Action::List,
            "appointments",
            None,
            Some(region),
        )?;
    }
    tx.commit()?;
    Ok(day)
}

/// Visits starting from the day before `date` to the day after (UTC), with their region's zone;
/// the caller keeps those on `date` in their own zone.
fn visits_around(conn: &Connection, date: NaiveDate) -> StoreResult<Vec<(DayVisit, Tz)>> {
    let bound = |d: Option<NaiveDate>| {
        d.map(|d| format!("{}T00:00:00Z", d.format("%Y-%m-%d")))
            .ok_or_else(|| StoreError::invalid("date", "lies outside the calendar"))
    };
    let from = bound(date.checked_sub_days(Days::new(1)))?;
    let to = bound(date.checked_add_days(Days::new(2)))?;
    let mut stmt = conn.prepare_cached(
        "SELECT v.id, v.region_id, v.village_id, vi.name, v.stop_id, st.name, v.starts_at,
                v.ends_at, v.status, v.cancel_reason, v.change_reason, v.moved_from,
                v.counsellor_id, COALESCE(c.name, v.counsellor), r.time_zone
         FROM imbus_visits v
         JOIN villages vi ON vi.id = v.village_id
         JOIN stops st ON st.id = v.stop_id
         JOIN regions r ON r.id = v.region_id
         LEFT JOIN imbus_counsellors c ON c.id = v.counsellor_id
         WHERE v.starts_at >= ?1 AND v.starts_at < ?2
         ORDER BY v.starts_at, v.id",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((
            DayVisit {
                id: r.get(0)?,
                region_id: r.get(1)?,
                village_id: r.get(2)?,
                village: r.get(3)?,
                stop_id: r.get(4)?,
                stop: r.get(5)?,
                starts_at: r.get(6)?,
                ends_at: r.get(7)?,
                local_start: String::new(),
                local_end: String::new(),
                status: r.get(8)?,
                cancel_reason: r.get(9)?,
                change_reason: r.get(10)?,
                moved_from: r.get(11)?,
                counsellor_id: r.get(12)?,
                counsellor: r.get(13)?,
                slots: Vec::new(),
                walk_ins: BTreeMap::new(),
                waiting: 0,
            },
            r.get::<_, String>(14)?,
        ))
    })?;
    let mut visits = Vec::new();
    for row in rows {
        let (mut visit, zone) = row?;
        let tz: Tz = zone
            .parse()
            .map_err(|_| StoreError::Internal(format!("bad time zone {zone}")))?;
        visit.local_start = local_hm(tz, &visit.starts_at)?;
        visit.local_end = local_hm(tz, &visit.ends_at)?;
        visits.push((visit, tz));
    }
    Ok(visits)
}

type SlotRow = (
    (String, String, String, String, bool),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
);

fn slots(conn: &Connection, visit: &str, tz: Tz) -> StoreResult<Vec<DaySlot>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.starts_at, s.ends_at, s.status, s.reserved_for_device_id IS NOT NULL,
                a.id, a.status, a.topic, a.referral, r.name
         FROM slots s
         LEFT JOIN appointments a ON a.slot_id = s.id AND a.status <> 'cancelled'
         LEFT JOIN residents r ON r.id = a.resident_id
         WHERE s.visit_id = ?1
         ORDER BY s.starts_at, s.id",
    )?;
    let rows = stmt.query_map([visit], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
            (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
        ))
    })?;
    let mut slots = Vec::new();
    for row in rows {
        let ((id, starts_at, ends_at, status, kiosk_share), appointment): SlotRow = row?;
        let appointment = match appointment {
            (Some(id), Some(status), Some(topic), referral, name) => Some(DayAppointment {
                id,
                status,
                topic,
                referral,
                first_name: name.map(|n| first_name(&n)),
            }),
            _ => None,
        };
        let state = if status == "cancelled" {
            "cancelled"
        } else if appointment.is_some() {
            "booked"
        } else {
            "free"
        };
        slots.push(DaySlot {
            local_start: local_hm(tz, &starts_at)?,
            local_end: local_hm(tz, &ends_at)?,
            id,
            starts_at,
            ends_at,
            state,
            kiosk_share,
            appointment,
        });
    }
    Ok(slots)
}

fn walk_ins(conn: &Connection, visit: &str) -> StoreResult<BTreeMap<String, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT topic, SUM(count) FROM walk_ins WHERE visit_id = ?1 GROUP BY topic ORDER BY topic",
    )?;
    let rows = stmt.query_map([visit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

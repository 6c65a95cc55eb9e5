//! The run sheet of a shift: what the driver needs on paper, loaded from the store in one read
//! and shaped for both the JSON answer and the PDF.
//!
//! Times are given twice: the instant in UTC (as everywhere on the wire) and the wall-clock
//! `HH:MM` in the region's zone, which is what the driver reads.

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::{DispatchError, Scope};
use crate::domain::common::Instant;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult};

/// Everything printed on a driver's run sheet.
#[derive(Clone, Debug, Serialize)]
pub struct RunSheet {
    pub shift_id: String,
    pub region: SheetRegion,
    /// The local date of the shift's start, `YYYY-MM-DD`.
    pub date: String,
    /// The same date as a German reader expects it: `Montag, 23.11.2026`.
    pub date_text: String,
    pub vehicle: SheetVehicle,
    pub driver_name: Option<String>,
    pub starts_at: Instant,
    pub starts_local: String,
    pub ends_at: Instant,
    pub ends_local: String,
    /// The driver's break, when the shift has one.
    #[serde(rename = "break")]
    pub break_: Option<SheetBreak>,
    /// `planned` or `cancelled`.
    pub shift_status: String,
    /// The planned stops in driving order; cancelled stops and rides are left out.
    pub stops: Vec<SheetStop>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SheetRegion {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub time_zone: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SheetVehicle {
    pub id: String,
    pub name: String,
    pub seats: u32,
    pub wheelchair_places: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct SheetBreak {
    /// Earliest start of the break.
    pub after: Instant,
    pub after_local: String,
    pub minutes: u32,
}

/// Pickup or dropoff, with the word the driver reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetStopKind {
    Pickup,
    Dropoff,
}

impl SheetStopKind {
    /// "Abholen" or "Absetzen".
    pub fn german(self) -> &'static str {
        match self {
            SheetStopKind::Pickup => "Abholen",
            SheetStopKind::Dropoff => "Absetzen",
        }
    }
}

/// What kind of place a stop is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Home,
    Stop,
    Destination,
}

/// Where the driver stops: a name (not for a home address) and the address line.
#[derive(Clone, Debug, Serialize)]
pub struct SheetPlace {
    pub kind: PlaceKind,
    pub name: Option<String>,
    pub address: String,
}

impl SheetPlace {
    /// One line: name and address, comma-separated.
    pub fn text(&self) -> String {
        match &self.name {
            Some(name) => format!("{name}, {}", self.address),
            None => self.address.clone(),
        }
    }
}

/// One planned stop.
#[derive(Clone, Debug, Serialize)]
pub struct SheetStop {
    pub position: u32,
    pub kind: SheetStopKind,
    pub kind_text: &'static str,
    pub planned_at: Instant,
    pub planned_local: String,
    /// `planned`, `done` or `no_show`.
    pub status: String,
    pub ride_request_id: String,
    pub booking_code: String,
    pub resident_name: String,
    pub place: SheetPlace,
    /// German words the driver acts on: `Rollator`, `Rollstuhl`, `Begleitperson`.
    pub needs: Vec<&'static str>,
    /// People travelling on this booking, the resident included.
    pub passengers: u32,
    /// The number to call: the resident's, or the region's when the resident has none.
    pub contact_phone: Option<String>,
    /// Whether `contact_phone` is the region's number rather than the resident's.
    pub contact_is_region: bool,
    /// For pickups of rides to an appointment: when the appointment is.
    pub appointment_at: Option<Instant>,
    pub appointment_local: Option<String>,
}

impl SheetStop {
    /// The needs as one German phrase, passengers included (`Rollator, 2 Personen`).
    pub fn needs_text(&self) -> String {
        let mut parts: Vec<String> = self.needs.iter().map(|n| n.to_string()).collect();
        if self.passengers > 1 {
            parts.push(format!("{} Personen", self.passengers));
        }
        parts.join(", ")
    }
}

/// The German name of a weekday.
pub fn weekday_german(weekday: chrono::Weekday) -> &'static str {
    match weekday {
        chrono::Weekday::Mon => "Montag",
        chrono::Weekday::Tue => "Dienstag",
        chrono::Weekday::Wed => "Mittwoch",
        chrono::Weekday::Thu => "Donnerstag",
        chrono::Weekday::Fri => "Freitag",
        chrono::Weekday::Sat => "Samstag",
        chrono::Weekday::Sun => "Sonntag",
    }
}

/// `Montag, 23.11.2026`.
pub fn date_german(local: DateTime<Tz>) -> String {
    format!(
        "{}, {}",
        weekday_german(local.weekday()),
        local.format("%d.%m.%Y")
    )
}

fn hhmm(at: Instant, tz: Tz) -> String {
    at.local(tz).format("%H:%M").to_string()
}

fn instant(text: String) -> StoreResult<Instant> {
    text.parse::<Instant>()
        .map_err(|e| StoreError::Internal(format!("stored instant: {e}")))
}

fn time_zone(name: &str) -> Result<Tz, DispatchError> {
    name.parse()
        .map_err(|_| DispatchError::Store(StoreError::Internal(format!("bad time zone {name}"))))
}

/// The shift's row with its region and vehicle.
struct ShiftRow {
    region_id: String,
    region_name: String,
    region_phone: Option<String>,
    time_zone: String,
    vehicle_id: String,
    vehicle_name: String,
    seats: u32,
    wheelchair_places: u32,
    driver_name: Option<String>,
    starts_at: String,
    ends_at: String,
    break_after: Option<String>,
    break_minutes: u32,
    status: String,
}

/// Loads the run sheet of `shift_id` for a reader in `scope`, and logs the read in the audit
/// log: the sheet names residents, their addresses and phone numbers.
pub fn load(
    conn: &Connection,
    who: &Who,
    scope: &Scope,
    shift_id: &str,
) -> Result<RunSheet, DispatchError> {
    let shift = conn
        .query_row(
            "SELECT s.region_id, g.name, g.phone, g.time_zone, v.id, v.name, v.seats,
                    v.wheelchair_places, s.driver_name, s.starts_at, s.ends_at, s.break_after,
                    s.break_minutes, s.status
             FROM shifts s JOIN regions g ON g.id = s.region_id JOIN vehicles v ON v.id = s.vehicle_id
             WHERE s.id = ?1",
            [shift_id],
            |r| {
                Ok(ShiftRow {
                    region_id: r.get(0)?,
                    region_name: r.get(1)?,
                    region_phone: r.get(2)?,
                    time_zone: r.get(3)?,
                    vehicle_id: r.get(4)?,
                    vehicle_name: r.get(5)?,
                    seats: r.get(6)?,
                    wheelchair_places: r.get(7)?,
                    driver_name: r.get(8)?,
                    starts_at: r.get(9)?,
                    ends_at: r.get(10)?,
                    break_after: r.get(11)?,
                    break_minutes: r.get(12)?,
                    status: r.get(13)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| DispatchError::NotFound {
            kind: "shift",
            id: shift_id.to_string(),
        })?;
    scope.check(&shift.region_id)?;
    logs::audit(
        conn,
        who,
        Action::Read,
        "run_sheets",
        Some(shift_id),
        Some(&shift.region_id),
    )?;

    let tz = time_zone(&shift.time_zone)?;
    let starts_at = instant(shift.starts_at)?;
    let ends_at = instant(shift.ends_at)?;
    let break_ = match shift.break_after {
        Some(after) if shift.break_minutes > 0 => {
            let after = instant(after)?;
            Some(SheetBreak {
                after,
                after_local: hhmm(after, tz),
                minutes: shift.break_minutes,
            })
        }
        _ => None,
    };
    let stops = load_stops(conn, shift_id, tz, shift.region_phone.as_deref())?;
    Ok(RunSheet {
        shift_id: shift_id.to_string(),
        date: starts_at.local(tz).format("%Y-%m-%d").to_string(),
        date_text: date_german(starts_at.local(tz)),
        region: SheetRegion {
            id: shift.region_id,
            name: shift.region_name,
            phone: shift.region_phone,
            time_zone: shift.time_zone,
        },
        vehicle: SheetVehicle {
            id: shift.vehicle_id,
            name: shift.vehicle_name,
            seats: shift.seats,
            wheelchair_places: shift.wheelchair_places,
        },
        driver_name: shift.driver_name,
        starts_local: hhmm(starts_at, tz),
        starts_at,
        ends_local: hhmm(ends_at, tz),
        ends_at,
        break_,
        shift_status: shift.status,
        stops,
    })
}

/// One live stop of a shift as stored, joined with its ride, resident and place: what both the
/// run sheet and the driver's page (`web::driver`) are made of.
pub(crate) struct StopRow {
    pub id: String,
    pub position: u32,
    pub kind: SheetStopKind,
    pub planned_at: Instant,
    /// `planned`, `done` or `no_show`.
    pub status: String,
    pub ride_request_id: String,
    pub booking_code: String,
    /// Stored instants, as the ride has them.
    pub appointment_at: Option<String>,
    pub pickup_window: (Option<String>, Option<String>),
    pub passengers: u32,
    /// Booked for this trip, or what the resident always needs: the driver has to know both.
    pub walker: bool,
    pub wheelchair: bool,
    pub companion: bool,
    pub resident_name: String,
    pub resident_phone: Option<String>,
    pub place: SheetPlace,
    /// The phone of the caregiver who booked the ride (not archived).
    pub booker_phone: Option<String>,
    /// The phone of the first linked caregiver by name who has one.
    pub linked_phone: Option<String>,
}

/// The shift's stops in driving order, each joined with its ride, resident and place; cancelled
/// stops and rides are left out. The place of a pickup is the ride's start, that of a dropoff
/// its end.
pub(crate) fn load_stop_rows(conn: &Connection, shift_id: &str) -> StoreResult<Vec<StopRow>> {
    let mut stmt = conn.prepare(
        "SELECT rs.id, rs.position, rs.kind, rs.planned_at, rs.status, rr.id, rr.booking_code,
                rr.appointment_at, rr.pickup_window_start, rr.pickup_window_end, rr.passengers,
                rr.wheelchair, rr.walker,
                p.name, p.phone, p.street, pv.name, p.uses_walker, p.uses_wheelchair,
                p.needs_companion,
                CASE rs.kind WHEN 'pickup' THEN rr.from_home ELSE rr.to_home END,
                st.name, sv.name, d.name, d.street, d.city,
                (SELECT c.phone FROM caregivers c
                 WHERE c.id = rr.caregiver_id AND c.archived_at IS NULL),
                (SELECT c.phone FROM caregiver_links l JOIN caregivers c ON c.id = l.caregiver_id
                 WHERE l.resident_id = p.id AND l.archived_at IS NULL AND c.archived_at IS NULL
                   AND c.phone IS NOT NULL
                 ORDER BY c.name LIMIT 1)
         FROM route_stops rs
         JOIN ride_requests rr ON rr.id = rs.ride_request_id
         JOIN residents p ON p.id = rr.resident_id
         JOIN villages pv ON pv.id = p.village_id
         LEFT JOIN stops st ON st.id =
             CASE rs.kind WHEN 'pickup' THEN rr.from_stop_id ELSE rr.to_stop_id END
         LEFT JOIN villages sv ON sv.id = st.village_id
         LEFT JOIN destinations d ON d.id =
             CASE rs.kind WHEN 'pickup' THEN rr.from_destination_id ELSE rr.to_destination_id END
         WHERE rs.shift_id = ?1 AND rs.status <> 'cancelled' AND rr.status <> 'cancelled'
         ORDER BY rs.position, rs.planned_at",
    )?;
    let mut rows = stmt.query([shift_id])?;
    let mut stops = Vec::new();
    while let Some(r) = rows.next()? {
        let kind = match r.get::<_, String>(2)?.as_str() {
            "pickup" => SheetStopKind::Pickup,
            _ => SheetStopKind::Dropoff,
        };
        let place = if r.get::<_, bool>(20)? {
            SheetPlace {
                kind: PlaceKind::Home,
                name: None,
                address: format!("{}, {}", r.get::<_, String>(15)?, r.get::<_, String>(16)?),
            }
        } else if let Some(stop) = r.get::<_, Option<String>>(21)? {
            SheetPlace {
                kind: PlaceKind::Stop,
                name: Some(stop),
                address: r.get::<_, Option<String>>(22)?.unwrap_or_default(),
            }
        } else {
            SheetPlace {
                kind: PlaceKind::Destination,
                name: r.get(23)?,
                address: format!(
                    "{}, {}",
                    r.get::<_, Option<String>>(24)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(25)?.unwrap_or_default()
                ),
            }
        };
        stops.push(StopRow {
            id: r.get(0)?,
            position: r.get(1)?,
            kind,
            planned_at: instant(r.get(3)?)?,
            status: r.get(4)?,
            ride_request_id: r.get(5)?,
            booking_code: r.get(6)?,
            appointment_at: r.get(7)?,
            pickup_window: (r.get(8)?, r.get(9)?),
            passengers: r.get(10)?,
            wheelchair: r.get::<_, bool>(11)? || r.get::<_, bool>(18)?,
            walker: r.get::<_, bool>(12)? || r.get::<_, bool>(17)?,
            companion: r.get(19)?,
            resident_name: r.get(13)?,
            resident_phone: r.get(14)?,
            place,
            booker_phone: r.get(26)?,
            linked_phone: r.get(27)?,
        });
    }
    Ok(stops)
}

/// The shift's stops as the run sheet shows them.
fn load_stops(
    conn: &Connection,
    shift_id: &str,
    tz: Tz,
    region_phone: Option<&str>,
) -> Result<Vec<SheetStop>, DispatchError> {
    let mut stops = Vec::new();
    for row in load_stop_rows(conn, shift_id)? {
        let mut needs = Vec::new();
        if row.walker {
            needs.push("Rollator");
        }
        if row.wheelchair {
            needs.push("Rollstuhl");
        }
        if row.companion {
            needs.push("Begleitperson");
        }
        let appointment_at = match (row.kind, row.appointment_at) {
            (SheetStopKind::Pickup, Some(at)) => Some(instant(at)?),
            _ => None,
        };
        let contact_is_region = row.resident_phone.is_none();
        stops.push(SheetStop {
            position: row.position,
            kind: row.kind,
            kind_text: row.kind.german(),
            planned_local: hhmm(row.planned_at, tz),
            planned_at: row.planned_at,
            status: row.status,
            ride_request_id: row.ride_request_id,
            booking_code: row.booking_code,
            resident_name: row.resident_name,
            place: row.place,
            needs,
            passengers: row.passengers,
            contact_phone: row
                .resident_phone
                .or_else(|| region_phone.map(str::to_string)),
            contact_is_region,
            appointment_local: appointment_at.map(|at| hhmm(at, tz)),
            appointment_at,
        });
    }
    Ok(stops)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn dates_read_in_german_with_the_local_weekday() {
        // 23:30 UTC on Sunday is already Monday in Berlin.
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0).unwrap();
        let local = at.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(date_german(local), "Montag, 23.11.2026");
        assert_eq!(hhmm(Instant(at), chrono_tz::Europe::Berlin), "00:30");
    }

    /// A pickup at Erna Köhler's home, for tests of what is made of a stop.
    pub(crate) fn stop() -> SheetStop {
        SheetStop {
            position: 0,
            kind: SheetStopKind::Pickup,
            kind_text: "Abholen",
            planned_at: Instant(Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap()),
            planned_local: "08:00".into(),
            status: "planned".into(),
            ride_request_id: "r".into(),
            booking_code: "ABCD-EFGH-JK".into(),
            resident_name: "Erna Köhler".into(),
            place: SheetPlace {
                kind: PlaceKind::Home,
                name: None,
                address: "Lindenweg 4, Kneitlingen".into(),
            },
            needs: vec!["Rollator", "Begleitperson"],
            passengers: 2,
            contact_phone: None,
            contact_is_region: true,
            appointment_at: None,
            appointment_local: None,
        }
    }

    #[test]
    fn needs_text_adds_the_passenger_count() {
        let stop = stop();
        assert_eq!(stop.needs_text(), "Rollator, Begleitperson, 2 Personen");
        assert_eq!(stop.place.text(), "Lindenweg 4, Kneitlingen");
    }
}

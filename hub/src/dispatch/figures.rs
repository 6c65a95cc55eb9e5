//! Daily ride figures of a region: how many rides were asked for, served, not served, cancelled
//! and missed, how many shared the vehicle, and the kilometres driven against those a car per
//! passenger would have needed.
//!
//! [`compute`] is pure and works on rows [`load`] reads from the store ([`load_rows`], which the
//! console's evaluation reads too, over months instead of a day). Distances use the
//! planner's straight-line model (great circle times its detour factor), so these figures agree
//! with what the planner assumed, not with an odometer.
//!
//! Buckets (each ride of the day falls into exactly one, so they add up to `requests`):
//! - `served`: status planned, confirmed, picked_up or done, and on a shift's route;
//! - `not_served`: still requested with a reason (the planner turned it down), or cancelled with
//!   a reason (the service called it off and said why);
//! - `cancelled`: cancelled without a reason;
//! - `no_shows`: the resident was not there;
//! - `open`: everything else (requested and not yet answered, planned without a route).

use chrono::NaiveDate;
use chrono_tz::Tz;
use planner::travel::{GeoPoint, StraightLine};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

use super::{DispatchError, Scope};
use crate::domain::common::local_to_instant;
use crate::store::StoreError;

/// One ride request of the day, as the figures need it.
#[derive(Clone, Debug)]
pub struct RideRow {
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// Whom the ride is for, and their village.
    pub resident_id: String,
    pub village_id: String,
    /// The instant the ride counts at: its appointment, else its pickup time (stored form).
    pub at: String,
    /// Where the ride starts and ends.
    pub from: GeoPoint,
    pub to: GeoPoint,
    /// Whether a live (not cancelled) stop of a shift's route belongs to this ride.
    pub on_route: bool,
}

impl RideRow {
    /// Whether the ride was (or is being) carried out: a served status, on a shift's route.
    pub fn served(&self) -> bool {
        SERVED.contains(&self.status.as_str()) && self.on_route
    }

    /// What the ride takes one car alone, in metres: the trip with the passenger and the empty
    /// drive back.
    pub fn alone_meters(&self, travel: &StraightLine) -> f64 {
        2.0 * travel.meters(&self.from, &self.to)
    }
}

/// One shift of the day: its depot and its live stops in driving order.
#[derive(Clone, Debug)]
pub struct ShiftRow {
    pub id: String,
    /// When the shift starts (stored form).
    pub starts_at: String,
    pub depot: GeoPoint,
    pub stops: Vec<StopRow>,
}

/// One live stop of a route.
#[derive(Clone, Debug)]
pub struct StopRow {
    pub ride_id: String,
    pub pickup: bool,
    pub at: GeoPoint,
}

/// The figures of one region on one local date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayFigures {
    pub region_id: String,
    pub date: String,
    /// Ride requests whose appointment (or else pickup) falls on the date.
    pub requests: u32,
    pub served: u32,
    pub not_served: u32,
    pub cancelled: u32,
    pub no_shows: u32,
    pub open: u32,
    /// Served rides that had another booking on board for at least part of the way.
    pub shared: u32,
    /// `shared / served`, 0 when nothing was served.
    pub shared_share: f64,
    /// Shifts that started on the date.
    pub shifts: u32,
    /// Depot, the stops in order, back to the depot; summed over the shifts. km, 0.1 precision.
    pub vehicle_km: f64,
    /// What the served rides would have taken one car each: `2 × distance(from, to)` per ride,
    /// the trip with the passenger and the empty drive back. km, 0.1 precision.
    pub alone_km: f64,
    /// `alone_km - vehicle_km`; negative when pooling drove more than single trips would have.
    pub km_saved: f64,
}

const SERVED: [&str; 4] = ["planned", "confirmed", "picked_up", "done"];

fn round1(km: f64) -> f64 {
    (km * 10.0).round() / 10.0
}

/// Computes the day's figures from its rides and shifts.
pub fn compute(
    region_id: &str,
    date: NaiveDate,
    rides: &[RideRow],
    shifts: &[ShiftRow],
    travel: &StraightLine,
) -> DayFigures {
    let mut figures = DayFigures {
        region_id: region_id.to_string(),
        date: date.format("%Y-%m-%d").to_string(),
        requests: 0,
        served: 0,
        not_served: 0,
        cancelled: 0,
        no_shows: 0,
        open: 0,
        shared: 0,
        shared_share: 0.0,
        shifts: u32::try_from(shifts.len()).unwrap_or(u32::MAX),
        vehicle_km: 0.0,
        alone_km: 0.0,
        km_saved: 0.0,
    };
    let mut served: HashSet<&str> = HashSet::new();
    let mut alone_m = 0.0;
    for ride in rides {
        figures.requests += 1;
        let has_reason = ride
            .status_reason
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
        match ride.status.as_str() {
            _ if ride.served() => {
                figures.served += 1;
                served.insert(&ride.id);
                alone_m += ride.alone_meters(travel);
            }
            "requested" if has_reason => figures.not_served += 1,
            "cancelled" if has_reason => figures.not_served += 1,
            "cancelled" => figures.cancelled += 1,
            "no_show" => figures.no_shows += 1,
            _ => figures.open += 1,
        }
    }

    let mut vehicle_m = 0.0;
    let mut shared: HashSet<&str> = HashSet::new();
    for shift in shifts {
        vehicle_m += route_meters(shift, travel);
        shared.extend(shared_rides(shift, &served));
    }
    figures.shared = u32::try_from(shared.len()).unwrap_or(u32::MAX);
    if figures.served > 0 {
        figures.shared_share =
            (f64::from(figures.shared) / f64::from(figures.served) * 1000.0).round() / 1000.0;
    }
    figures.vehicle_km = round1(vehicle_m / 1000.0);
    figures.alone_km = round1(alone_m / 1000.0);
    // From the rounded figures, so that the three printed numbers agree.
    figures.km_saved = round1(figures.alone_km - figures.vehicle_km);
    figures
}

/// Depot → every stop in order → depot, in metres. A shift without stops stays in the depot.
pub fn route_meters(shift: &ShiftRow, travel: &StraightLine) -> f64 {
    if shift.stops.is_empty() {
        return 0.0;
    }
    let mut meters = 0.0;
    let mut here = shift.depot;
    for stop in &shift.stops {
        meters += travel.meters(&here, &stop.at);
        here = stop.at;
    }
    meters + travel.meters(&here, &shift.depot)
}

/// The served rides of a route that had another served booking on board at some point: walking
/// the stops in order, whoever boards while someone is on board shares with them. A dropoff
/// listed before a pickup at the same place means they did not meet.
pub fn shared_rides<'a>(shift: &'a ShiftRow, served: &HashSet<&str>) -> HashSet<&'a str> {
    let mut on_board: Vec<&str> = Vec::new();
    let mut shared = HashSet::new();
    for stop in &shift.stops {
        let ride = stop.ride_id.as_str();
        if !served.contains(ride) {
            continue;
        }
        if stop.pickup {
            if !on_board.is_empty() {
                shared.insert(ride);
                shared.extend(on_board.iter().copied());
            }
            on_board.push(ride);
        } else {
            on_board.retain(|r| *r != ride);
        }
    }
    shared
}

/// Loads the rows of `region_id` on the local `date` and computes the figures.
pub fn load(
    conn: &Connection,
    scope: &Scope,
    region_id: &str,
    date: NaiveDate,
) -> Result<DayFigures, DispatchError> {
    let zone: String = conn
        .query_row(
            "SELECT time_zone FROM regions WHERE id = ?1",
            [region_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| DispatchError::NotFound {
            kind: "region",
            id: region_id.to_string(),
        })?;
    scope.check(region_id)?;
    let tz: Tz = zone
        .parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {zone}")))?;
    let midnight = chrono::NaiveTime::MIN;
    let next = date.succ_opt().ok_or_else(|| {
        DispatchError::Store(StoreError::invalid("date", "lies at the end of time"))
    })?;
    // Midnight exists on every date in the zones a region may have (clocks change at night,
    // not at midnight, in Europe); a zone where it does not is refused rather than guessed.
    let from = local_to_instant(tz, date, midnight)
        .map_err(|e| StoreError::invalid("date", e))?
        .text();
    let to = local_to_instant(tz, next, midnight)
        .map_err(|e| StoreError::invalid("date", e))?
        .text();

    let (rides, shifts) = load_rows(conn, region_id, &from, &to)?;
    Ok(compute(
        region_id,
        date,
        &rides,
        &shifts,
        &StraightLine::default(),
    ))
}

/// The ride requests of `region_id` that count in `[start, end)` (appointment, else pickup time)
/// and the live shifts starting then with their live stops in driving order; `start` and `end`
/// are stored instants.
pub fn load_rows(
    conn: &Connection,
    region_id: &str,
    start: &str,
    end: &str,
) -> rusqlite::Result<(Vec<RideRow>, Vec<ShiftRow>)> {
    let mut stmt = conn.prepare(
        "SELECT rr.id, rr.status, rr.status_reason, rr.resident_id, rr.village_id,
                COALESCE(rr.appointment_at, rr.pickup_at),
                CASE WHEN rr.from_home = 1 THEN p.lat WHEN fs.id IS NOT NULL THEN fs.lat ELSE fd.lat END,
                CASE WHEN rr.from_home = 1 THEN p.lon WHEN fs.id IS NOT NULL THEN fs.lon ELSE fd.lon END,
                CASE WHEN rr.to_home = 1 THEN p.lat WHEN ts.id IS NOT NULL THEN ts.lat ELSE td.lat END,
                CASE WHEN rr.to_home = 1 THEN p.lon WHEN ts.id IS NOT NULL THEN ts.lon ELSE td.lon END,
                EXISTS (SELECT 1 FROM route_stops rs
                        WHERE rs.ride_request_id = rr.id AND rs.status <> 'cancelled')
         FROM ride_requests rr
         JOIN residents p ON p.id = rr.resident_id
         LEFT JOIN stops fs ON fs.id = rr.from_stop_id
         LEFT JOIN destinations fd ON fd.id = rr.from_destination_id
         LEFT JOIN stops ts ON ts.id = rr.to_stop_id
         LEFT JOIN destinations td ON td.id = rr.to_destination_id
         WHERE rr.region_id = ?1
           AND COALESCE(rr.appointment_at, rr.pickup_at) >= ?2
           AND COALESCE(rr.appointment_at, rr.pickup_at) < ?3
         ORDER BY rr.id",
    )?;
    let rides = stmt
        .query_map(rusqlite::params![region_id, start, end], |r| {
            Ok(RideRow {
                id: r.get(0)?,
                status: r.get(1)?,
                status_reason: r.get(2)?,
                resident_id: r.get(3)?,
                village_id: r.get(4)?,
                at: r.get(5)?,
                from: GeoPoint::new(r.get(6)?, r.get(7)?),
                to: GeoPoint::new(r.get(8)?, r.get(9)?),
                on_route: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut stmt = conn.prepare(
        "SELECT s.id, s.starts_at, v.depot_lat, v.depot_lon FROM shifts s JOIN vehicles v ON v.id = s.vehicle_id
         WHERE s.region_id = ?1 AND s.status <> 'cancelled' AND s.starts_at >= ?2 AND s.starts_at < ?3
         ORDER BY s.starts_at, s.id",
    )?;
    let mut shifts = stmt
        .query_map(rusqlite::params![region_id, start, end], |r| {
            Ok(ShiftRow {
                id: r.get(0)?,
                starts_at: r.get(1)?,
                depot: GeoPoint::new(r.get(2)?, r.get(3)?),
                stops: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let index: HashMap<String, usize> = shifts
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    // The place of a stop is where its ride starts (pickup) or ends (dropoff).
    let mut stmt = conn.prepare(
        "SELECT rs.shift_id, rs.ride_request_id, rs.kind,
                CASE WHEN (CASE rs.kind WHEN 'pickup' THEN rr.from_home ELSE rr.to_home END) = 1 THEN p.lat
                     ELSE COALESCE(st.lat, d.lat) END,
                CASE WHEN (CASE rs.kind WHEN 'pickup' THEN rr.from_home ELSE rr.to_home END) = 1 THEN p.lon
                     ELSE COALESCE(st.lon, d.lon) END
         FROM route_stops rs
         JOIN shifts s ON s.id = rs.shift_id
         JOIN ride_requests rr ON rr.id = rs.ride_request_id
         JOIN residents p ON p.id = rr.resident_id
         LEFT JOIN stops st ON st.id =
             CASE rs.kind WHEN 'pickup' THEN rr.from_stop_id ELSE rr.to_stop_id END
         LEFT JOIN destinations d ON d.id =
             CASE rs.kind WHEN 'pickup' THEN rr.from_destination_id ELSE rr.to_destination_id END
         WHERE s.region_id = ?1 AND s.status <> 'cancelled' AND s.starts_at >= ?2
           AND s.starts_at < ?3 AND rs.status <> 'cancelled'
         ORDER BY rs.shift_id, rs.position, rs.planned_at",
    )?;
    let mut rows = stmt.query(rusqlite::params![region_id, start, end])?;
    while let Some(r) = rows.next()? {
        let shift: String = r.get(0)?;
        let Some(&i) = index.get(&shift) else {
            continue;
        };
        shifts[i].stops.push(StopRow {
            ride_id: r.get(1)?,
            pickup: r.get::<_, String>(2)? == "pickup",
            at: GeoPoint::new(r.get(3)?, r.get(4)?),
        });
    }
    Ok((rides, shifts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPOT: GeoPoint = GeoPoint::new(52.0, 10.0);

    /// A point `km` north of the depot along the meridian (1° of latitude is 111.195 km).
    fn north(km: f64) -> GeoPoint {
        GeoPoint::new(52.0 + km / 111.194_93, 10.0)
    }

    fn ride(id: &str, status: &str, reason: Option<&str>, from: f64, to: f64) -> RideRow {
        RideRow {
            id: id.into(),
            status: status.into(),
            status_reason: reason.map(str::to_string),
            resident_id: format!("p-{id}"),
            village_id: "v".into(),
            at: "2026-11-23T08:00:00Z".into(),
            from: north(from),
            to: north(to),
            on_route: SERVED.contains(&status),
        }
    }

    fn stop(ride: &str, pickup: bool, km: f64) -> StopRow {
        StopRow {
            ride_id: ride.into(),
            pickup,
            at: north(km),
        }
    }

    fn shift(stops: Vec<StopRow>) -> ShiftRow {
        ShiftRow {
            id: "s".into(),
            starts_at: "2026-11-23T06:00:00Z".into(),
            depot: DEPOT,
            stops,
        }
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// No detour, so distances along the meridian are plain kilometres.
    fn straight() -> StraightLine {
        StraightLine::new(1.0, 45.0).unwrap()
    }

    #[test]
    fn buckets_add_up_to_the_requests() {
        let rides = vec![
            ride("a", "confirmed", None, 1.0, 5.0),
            ride("b", "done", None, 2.0, 5.0),
            ride("c", "requested", Some("no_seats"), 1.0, 5.0),
            ride("d", "cancelled", Some("Fahrzeug defekt"), 1.0, 5.0),
            ride("e", "cancelled", None, 1.0, 5.0),
            ride("f", "no_show", None, 1.0, 5.0),
            ride("g", "requested", None, 1.0, 5.0),
            // Planned but its stops are gone: not served, still open.
            RideRow {
                on_route: false,
                ..ride("h", "planned", None, 1.0, 5.0)
            },
        ];
        let f = compute("r", date(), &rides, &[], &straight());
        assert_eq!(f.requests, 8);
        assert_eq!(f.served, 2);
        assert_eq!(f.not_served, 2);
        assert_eq!(f.cancelled, 1);
        assert_eq!(f.no_shows, 1);
        assert_eq!(f.open, 2);
        assert_eq!(
            f.served + f.not_served + f.cancelled + f.no_shows + f.open,
            f.requests
        );
        assert_eq!(f.date, "2026-11-23");
    }

    #[test]
    fn overlapping_rides_are_shared_and_km_follow_the_route() {
        // a: 1 → 5, b: 2 → 5 (on board together from km 2 to 5), c: 5 → 9 (alone: a and b
        // leave at km 5 before c boards there).
        let rides = vec![
            ride("a", "confirmed", None, 1.0, 5.0),
            ride("b", "confirmed", None, 2.0, 5.0),
            ride("c", "confirmed", None, 5.0, 9.0),
        ];
        let shift = shift(vec![
            stop("a", true, 1.0),
            stop("b", true, 2.0),
            stop("a", false, 5.0),
            stop("b", false, 5.0),
            stop("c", true, 5.0),
            stop("c", false, 9.0),
        ]);
        let f = compute("r", date(), &rides, &[shift], &straight());
        assert_eq!(f.served, 3);
        assert_eq!(f.shared, 2);
        assert_eq!(f.shared_share, 0.667);
        // Depot → 9 km north → depot.
        assert!((f.vehicle_km - 18.0).abs() < 0.05, "{}", f.vehicle_km);
        // Alone: 2 × (4 + 3 + 4).
        assert!((f.alone_km - 22.0).abs() < 0.05, "{}", f.alone_km);
        assert!((f.km_saved - 4.0).abs() < 0.05, "{}", f.km_saved);
    }

    #[test]
    fn no_shows_do_not_make_a_ride_shared_but_their_stops_are_driven() {
        let rides = vec![
            ride("a", "confirmed", None, 1.0, 3.0),
            RideRow {
                on_route: true,
                ..ride("x", "no_show", None, 2.0, 3.0)
            },
        ];
        let shift = shift(vec![
            stop("a", true, 1.0),
            stop("x", true, 2.0),
            stop("a", false, 3.0),
            stop("x", false, 3.0),
        ]);
        let f = compute("r", date(), &rides, &[shift], &straight());
        assert_eq!((f.served, f.no_shows, f.shared), (1, 1, 0));
        assert_eq!(f.shared_share, 0.0);
        assert!((f.vehicle_km - 6.0).abs() < 0.05, "{}", f.vehicle_km);
        assert!((f.alone_km - 4.0).abs() < 0.05, "{}", f.alone_km);
        assert!((f.km_saved + 2.0).abs() < 0.05, "{}", f.km_saved);
    }

    #[test]
    fn an_empty_day_has_zero_everything_and_an_idle_shift_drives_nothing() {
        let idle = shift(Vec::new());
        let f = compute("r", date(), &[], &[idle], &StraightLine::default());
        assert_eq!(f.requests, 0);
        assert_eq!(f.shifts, 1);
        assert_eq!(f.shared_share, 0.0);
        assert_eq!(f.vehicle_km, 0.0);
        assert_eq!(f.km_saved, 0.0);
    }

    #[test]
    fn the_default_model_adds_its_detour_factor() {
        let rides = vec![ride("a", "confirmed", None, 0.0, 10.0)];
        let shift = shift(vec![stop("a", true, 0.0), stop("a", false, 10.0)]);
        let f = compute("r", date(), &rides, &[shift], &StraightLine::default());
        // 10 km there and back at detour 1.3, both for the bus and the car alone.
        assert!((f.vehicle_km - 26.0).abs() < 0.05, "{}", f.vehicle_km);
        assert!((f.alone_km - 26.0).abs() < 0.05, "{}", f.alone_km);
        assert_eq!(f.km_saved, 0.0);
    }
}

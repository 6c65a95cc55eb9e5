//! One region's ride day as the planner sees it: shifts as vehicles, ride requests as requests,
//! the stored stop sequences as the current plan, promised windows as promises.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use planner::darp::{
    Break, Instance, Matrices, Plan, Promise, Request, Route, ScheduledStop, Stop, TimeWindow,
    Vehicle, Weights,
};
use planner::travel::{GeoPoint, StraightLine, TravelTimes};
use rusqlite::{Connection, params};

use crate::domain::common::{Instant, local_to_instant, region_tz};
use crate::store::{StoreError, StoreResult, now_text};

/// Minutes a wheelchair user needs to board or alight (ramp, belts).
const WHEELCHAIR_SERVICE: f64 = 8.0;
/// Minutes with a walker.
const WALKER_SERVICE: f64 = 4.0;
/// Minutes for everyone else.
const SERVICE: f64 = 2.0;
/// Half-width of the window around a desired pickup time.
const PICKUP_SLACK: f64 = 10.0;

/// A planner instance for one region and local date, with the ids behind its indices.
#[derive(Clone, Debug)]
pub struct Day {
    pub region_id: String,
    pub date: NaiveDate,
    /// Local midnight: minute 0 of the planner's clock.
    pub origin: DateTime<Utc>,
    pub instance: Instance,
    /// Ride request id of each planner request.
    pub rides: Vec<String>,
    /// Shift id of each planner vehicle.
    pub shifts: Vec<String>,
    /// The stored plan.
    pub plan: Plan,
    /// Promised pickup windows.
    pub promises: Vec<Promise>,
    appointment: Vec<bool>,
    horizon: f64,
}

struct RideRow {
    id: String,
    from: GeoPoint,
    to: GeoPoint,
    appointment_at: Option<Instant>,
    pickup_at: Option<Instant>,
    passengers: u32,
    wheelchair: bool,
    walker: bool,
    window: Option<(Instant, Instant)>,
}

struct ShiftRow {
    id: String,
    starts_at: Instant,
    ends_at: Instant,
    break_after: Option<Instant>,
    break_minutes: u32,
    seats: u32,
    wheelchairs: u32,
    depot: GeoPoint,
    break_position: Option<usize>,
}

impl Day {
    /// Loads the day from the store.
    pub fn load(conn: &Connection, region_id: &str, date: NaiveDate) -> StoreResult<Day> {
        Self::load_with_guest(conn, region_id, date, None)
    }

    /// Loads the day with one more ride of another day, its times moved by whole `days` and
    /// without a promise: to find out whether it could go on this day instead.
    pub fn load_with_guest(
        conn: &Connection,
        region_id: &str,
        date: NaiveDate,
        guest: Option<(&str, i64)>,
    ) -> StoreResult<Day> {
        let tz = region_tz(conn, region_id)?;
        let (origin, end) = bounds(tz, date)?;
        let horizon = (end.0 - origin.0).num_minutes() as f64;
        let early = super::rules::RideRules::load(conn, region_id)?.early_minutes;
        let shifts = load_shifts(conn, region_id, &origin, &end)?;
        let mut rides = load_rides(
            conn,
            "r.region_id = ?1 AND r.status IN ('requested', 'planned', \
                 'confirmed', 'picked_up', 'done') AND COALESCE(r.appointment_at, r.pickup_at) >= ?2 \
                 AND COALESCE(r.appointment_at, r.pickup_at) < ?3",
            params![region_id, origin.text(), end.text()],
        )?;
        if let Some((ride_id, days)) = guest {
            // Local wall-clock times move with the date (also across a clock change).
            let moved = |at: Instant| -> StoreResult<Instant> {
                let local = at.local(tz).naive_local() + Duration::days(days);
                local_to_instant(tz, local.date(), local.time())
                    .map_err(|e| StoreError::invalid("date", e))
            };
            for mut ride in load_rides(conn, "r.id = ?1", params![ride_id])? {
                ride.appointment_at = ride.appointment_at.map(moved).transpose()?;
                ride.pickup_at = ride.pickup_at.map(moved).transpose()?;
                ride.window = None;
                rides.retain(|r| r.id != ride.id);
                rides.push(ride);
            }
        }

        let mut points: Vec<GeoPoint> = shifts.iter().map(|s| s.depot).collect();
        for ride in &rides {
            points.push(ride.from);
            points.push(ride.to);
        }
        let travel = StraightLine::default()
            .matrix(&points)
            .map_err(|e| StoreError::Internal(format!("travel times: {e}")))?;
        let n = points.len();
        let mut time = Vec::with_capacity(n * n);
        let mut distance = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                time.push(travel.seconds(i, j) / 60.0);
                distance.push(travel.meters(i, j) / 1000.0);
            }
        }
        let matrices = Matrices::new(n, time, distance)
            .map_err(|e| StoreError::Internal(format!("matrices: {e}")))?;
        let minutes = |i: &Instant| (i.0 - origin.0).num_seconds() as f64 / 60.0;

        let mut vehicles = Vec::new();
        for (k, shift) in shifts.iter().enumerate() {
            let start = minutes(&shift.starts_at);
            let stop = minutes(&shift.ends_at);
            let rest = shift
                .break_after
                .filter(|_| shift.break_minutes > 0)
                .map(|after| {
                    let duration = f64::from(shift.break_minutes);
                    let earliest = minutes(&after);
                    Break {
                        earliest_start: earliest,
                        latest_start: (earliest + 60.0).min(stop - duration),
                        duration,
                    }
                });
            vehicles.push(Vehicle {
                start: k,
                end: k,
                shift: TimeWindow::new(start, stop),
                max_duration: stop - start,
                seats: shift.seats,
                wheelchairs: shift.wheelchairs,
                rest,
            });
        }
        let mut requests = Vec::new();
        let mut appointment = Vec::new();
        for (i, ride) in rides.iter().enumerate() {
            let (p, d) = (shifts.len() + 2 * i, shifts.len() + 2 * i + 1);
            let direct = matrices.time(p, d);
            let max_ride = Request::default_max_ride_minutes(direct);
            let service = if ride.wheelchair {
                WHEELCHAIR_SERVICE
            } else if ride.walker {
                WALKER_SERVICE
            } else {
                SERVICE
            };
            let wheelchairs = u32::from(ride.wheelchair);
            let seats = ride.passengers.saturating_sub(wheelchairs);
            let mut request = match (ride.appointment_at, ride.pickup_at) {
                (Some(at), pickup) => {
                    let mut r = Request::appointment(
                        p,
                        d,
                        minutes(&at),
                        early,
                        seats,
                        wheelchairs,
                        service,
                        max_ride,
                    );
                    // Alighting must end by the appointment.
                    r.dropoff_window.latest -= service;
                    r.dropoff_window.earliest -= service;
                    if let Some(pickup) = pickup {
                        r.pickup_window =
                            TimeWindow::new(minutes(&pickup), r.dropoff_window.latest);
                    }
                    r
                }
                (None, Some(at)) => {
                    let t = minutes(&at);
                    let window = TimeWindow::new(t - PICKUP_SLACK, t + PICKUP_SLACK);
                    Request::pickup_between(p, d, window, seats, wheelchairs, service, max_ride)
                }
                (None, None) => {
                    return Err(StoreError::Internal(format!(
                        "ride {} has no time",
                        ride.id
                    )));
                }
            };
            // A promise narrows the pickup; keep the request's own window consistent with it.
            if let Some((start, end)) = &ride.window {
                request.pickup_window = request
                    .pickup_window
                    .intersect(&TimeWindow::new(minutes(start), minutes(end)));
                if request.pickup_window.is_empty() {
                    request.pickup_window = TimeWindow::new(minutes(start), minutes(end));
                }
            }
            requests.push(request);
            appointment.push(ride.appointment_at.is_some());
        }
        let instance = Instance::new(matrices, requests, vehicles)
            .map_err(|e| StoreError::Internal(format!("planner instance: {e}")))?
            .with_weights(Weights {
                distance: 1.0,
                driving_time: 0.0,
                vehicle: 5.0,
                ride_time: 0.05,
            });

        let index: HashMap<&str, usize> = rides
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut plan = Plan::empty(&instance);
        let mut served = vec![false; rides.len()];
        for (k, shift) in shifts.iter().enumerate() {
            let stops = load_route(conn, &shift.id)?;
            let mut route: Vec<ScheduledStop> = Vec::new();
            for (ride_id, pickup, at) in stops {
                let Some(&r) = index.get(ride_id.as_str()) else {
                    continue;
                };
                let stop = if pickup {
                    Stop::Pickup(r)
                } else {
                    Stop::Dropoff(r)
                };
                // A stop entered twice (by hand, or on two shifts) counts once.
                let seen = plan
                    .routes
                    .iter()
                    .any(|x| x.stops.iter().any(|s| s.stop == stop))
                    || route.iter().any(|s| s.stop == stop);
                if seen {
                    continue;
                }
                route.push(ScheduledStop {
                    stop,
                    time: minutes(&at),
                });
                served[r] = true;
            }
            // A ride whose pickup or drop-off went missing is replanned whole.
            let complete: Vec<usize> = (0..rides.len())
                .filter(|&r| {
                    route.iter().any(|s| s.stop == Stop::Pickup(r))
                        && route.iter().any(|s| s.stop == Stop::Dropoff(r))
                })
                .collect();
            route.retain(|s| match s.stop {
                Stop::Pickup(r) | Stop::Dropoff(r) => complete.contains(&r),
                Stop::Break => true,
            });
            if let (Some(position), Some(rest)) =
                (shift.break_position, instance.vehicles()[k].rest)
            {
                let at = route
                    .get(position.saturating_sub(1))
                    .map_or(rest.earliest_start, |s| s.time);
                route.insert(
                    position.min(route.len()),
                    ScheduledStop {
                        stop: Stop::Break,
                        time: at.max(rest.earliest_start),
                    },
                );
            }
            let v = &instance.vehicles()[k];
            plan.routes[k] = Route {
                vehicle: k,
                start: v.shift.earliest,
                stops: route,
                end: v.shift.latest,
            };
        }
        let planned: Vec<bool> = (0..rides.len())
            .map(|r| plan.position_of(r).is_some())
            .collect();
        plan.unserved = (0..rides.len())
            .filter(|&r| !planned[r] || !served[r])
            .collect();
        let promises = rides
            .iter()
            .enumerate()
            .filter_map(|(r, ride)| {
                ride.window.as_ref().map(|(start, end)| Promise {
                    request: r,
                    pickup: TimeWindow::new(minutes(start), minutes(end)),
                })
            })
            .collect();
        Ok(Day {
            region_id: region_id.to_string(),
            date,
            origin: origin.0,
            instance,
            rides: rides.into_iter().map(|r| r.id).collect(),
            shifts: shifts.into_iter().map(|s| s.id).collect(),
            plan,
            promises,
            appointment,
            horizon,
        })
    }

    /// The planner index of a ride.
    pub fn request_index(&self, ride_id: &str) -> Option<usize> {
        self.rides.iter().position(|r| r == ride_id)
    }

    /// Whether the request is an appointment ride (else a desired pickup time).
    pub fn is_appointment(&self, request: usize) -> bool {
        self.appointment.get(request).copied().unwrap_or(false)
    }

    /// Minutes of the day (to the next local midnight).
    pub fn horizon(&self) -> f64 {
        self.horizon
    }

    /// An instant on the planner's clock.
    pub fn minutes(&self, at: DateTime<Utc>) -> f64 {
        (at - self.origin).num_seconds() as f64 / 60.0
    }

    /// The instant of a planner time, to the whole minute.
    pub fn instant(&self, minutes: f64) -> Instant {
        Instant(self.origin + Duration::seconds((minutes * 60.0).round() as i64))
    }

    /// Writes route `k` of the plan: the shift's stop sequence, the planned times of its rides,
    /// and where its break lies. A stop keeps its record (id and status) from one plan to the
    /// next; stops no longer on the route are marked cancelled, never deleted.
    pub fn write_route(&self, conn: &Connection, k: usize) -> StoreResult<()> {
        let shift_id = &self.shifts[k];
        // The live record of each (ride, kind) on this shift; duplicates are surplus.
        let mut existing: HashMap<(String, String), String> = HashMap::new();
        let mut surplus: Vec<String> = Vec::new();
        {
            let mut stmt = conn.prepare(
                "SELECT id, ride_request_id, kind FROM route_stops
                 WHERE shift_id = ?1 AND status <> 'cancelled' ORDER BY position, created_at",
            )?;
            let rows = stmt.query_map([shift_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (id, ride, kind) = row?;
                if existing.contains_key(&(ride.clone(), kind.clone())) {
                    surplus.push(id);
                } else {
                    existing.insert((ride, kind), id);
                }
            }
        }
        let now = now_text();
        let route = &self.plan.routes[k];
        let mut position = 0u32;
        let mut break_at: Option<(u32, f64)> = None;
        let mut kept: Vec<String> = Vec::new();
        for stop in &route.stops {
            let (r, kind) = match stop.stop {
                Stop::Pickup(r) => (r, "pickup"),
                Stop::Dropoff(r) => (r, "dropoff"),
                Stop::Break => {
                    break_at = Some((position, stop.time));
                    continue;
                }
            };
            let ride_id = &self.rides[r];
            let at = self.instant(stop.time).text();
            match existing.get(&(ride_id.clone(), kind.to_string())) {
                Some(id) => {
                    // The version moves only when the stop really moved.
                    conn.execute(
                        "UPDATE route_stops SET
                             version = version + (position <> ?1 OR planned_at <> ?2),
                             updated_at = CASE WHEN position <> ?1 OR planned_at <> ?2
                                 THEN ?3 ELSE updated_at END,
                             position = ?1, planned_at = ?2
                         WHERE id = ?4",
                        params![position, at, now, id],
                    )?;
                    kept.push(id.clone());
                }
                None => {
                    conn.execute(
                        "INSERT INTO route_stops (id, region_id, shift_id, position, ride_request_id, kind,
                             planned_at, status, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'planned', ?8, ?8)",
                        params![
                            uuid::Uuid::now_v7().to_string(),
                            self.region_id,
                            shift_id,
                            position,
                            ride_id,
                            kind,
                            at,
                            now
                        ],
                    )?;
                }
            }
            let column = if kind == "pickup" {
                "planned_pickup_at"
            } else {
                "planned_dropoff_at"
            };
            conn.execute(
                &format!(
                    "UPDATE ride_requests SET {column} = ?1, shift_id = ?2,
                         status = CASE status WHEN 'requested' THEN 'planned' ELSE status END,
                         planning = CASE status WHEN 'requested' THEN NULL ELSE planning END,
                         status_reason = CASE status WHEN 'requested' THEN NULL ELSE status_reason END
                     WHERE id = ?3"
                ),
                params![at, shift_id, ride_id],
            )?;
            position += 1;
        }
        // What is no longer on the route: marked cancelled (it stays in the history).
        let stale: Vec<&String> = existing
            .values()
            .filter(|id| !kept.contains(id))
            .chain(surplus.iter())
            .collect();
        for id in stale {
            conn.execute(
                "UPDATE route_stops SET status = 'cancelled', updated_at = ?1, version = version + 1
                 WHERE id = ?2",
                params![now, id],
            )?;
        }
        conn.execute(
            "UPDATE shifts SET planned_break_position = ?1, planned_break_at = ?2 WHERE id = ?3",
            params![
                break_at.map(|(p, _)| p),
                break_at.map(|(_, t)| self.instant(t).text()),
                shift_id
            ],
        )?;
        Ok(())
    }
}

/// Local midnight of `date` and of the next day, as instants.
fn bounds(tz: Tz, date: NaiveDate) -> StoreResult<(Instant, Instant)> {
    let next = date
        .succ_opt()
        .ok_or_else(|| StoreError::invalid("date", "out of range"))?;
    let start =
        local_to_instant(tz, date, NaiveTime::MIN).map_err(|e| StoreError::invalid("date", e))?;
    let end =
        local_to_instant(tz, next, NaiveTime::MIN).map_err(|e| StoreError::invalid("date", e))?;
    Ok((start, end))
}

fn parse_instant(text: String) -> StoreResult<Instant> {
    text.parse().map_err(StoreError::Internal)
}

fn load_shifts(
    conn: &Connection,
    region_id: &str,
    origin: &Instant,
    end: &Instant,
) -> StoreResult<Vec<ShiftRow>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.starts_at, s.ends_at, s.break_after, s.break_minutes, v.seats, v.wheelchair_places,
                v.depot_lat, v.depot_lon, s.planned_break_position
         FROM shifts s JOIN vehicles v ON v.id = s.vehicle_id
         WHERE s.region_id = ?1 AND s.status = 'planned' AND s.starts_at >= ?2 AND s.starts_at < ?3
         ORDER BY s.starts_at, s.id",
    )?;
    let rows = stmt.query_map(params![region_id, origin.text(), end.text()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, u32>(5)?,
            r.get::<_, u32>(6)?,
            GeoPoint {
                lat: r.get(7)?,
                lon: r.get(8)?,
            },
            r.get::<_, Option<i64>>(9)?,
        ))
    })?;
    let mut shifts = Vec::new();
    for row in rows {
        let (
            id,
            starts,
            ends,
            break_after,
            break_minutes,
            seats,
            wheelchairs,
            depot,
            break_position,
        ) = row?;
        shifts.push(ShiftRow {
            id,
            starts_at: parse_instant(starts)?,
            ends_at: parse_instant(ends)?,
            break_after: break_after.map(parse_instant).transpose()?,
            break_minutes,
            seats,
            wheelchairs,
            depot,
            break_position: break_position.and_then(|p| usize::try_from(p).ok()),
        });
    }
    Ok(shifts)
}

/// The place of a ride end: home, a stop or a destination.
const PLACE_SQL: &str = "CASE WHEN r.{end}_home = 1 THEN res.{coord}
     WHEN r.{end}_stop_id IS NOT NULL THEN (SELECT {coord} FROM stops WHERE id = r.{end}_stop_id)
     ELSE (SELECT {coord} FROM destinations WHERE id = r.{end}_destination_id) END";

fn load_rides(
    conn: &Connection,
    filter: &str,
    filter_params: &[&dyn rusqlite::ToSql],
) -> StoreResult<Vec<RideRow>> {
    let place = |end: &str, coord: &str| PLACE_SQL.replace("{end}", end).replace("{coord}", coord);
    let sql = format!(
        "SELECT r.id, {}, {}, {}, {}, r.appointment_at, r.pickup_at, r.passengers, r.wheelchair, r.walker,
                r.pickup_window_start, r.pickup_window_end
         FROM ride_requests r JOIN residents res ON res.id = r.resident_id
         WHERE {filter}
         ORDER BY r.rowid",
        place("from", "lat"),
        place("from", "lon"),
        place("to", "lat"),
        place("to", "lon"),
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(filter_params, |r| {
        Ok((
            r.get::<_, String>(0)?,
            GeoPoint {
                lat: r.get(1)?,
                lon: r.get(2)?,
            },
            GeoPoint {
                lat: r.get(3)?,
                lon: r.get(4)?,
            },
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, u32>(7)?,
            r.get::<_, bool>(8)?,
            r.get::<_, bool>(9)?,
            r.get::<_, Option<String>>(10)?,
            r.get::<_, Option<String>>(11)?,
        ))
    })?;
    let mut rides = Vec::new();
    for row in rows {
        let (id, from, to, appointment, pickup, passengers, wheelchair, walker, ws, we) = row?;
        let window = match (ws, we) {
            (Some(s), Some(e)) => Some((parse_instant(s)?, parse_instant(e)?)),
            _ => None,
        };
        rides.push(RideRow {
            id,
            from,
            to,
            appointment_at: appointment.map(parse_instant).transpose()?,
            pickup_at: pickup.map(parse_instant).transpose()?,
            passengers,
            wheelchair,
            walker,
            window,
        });
    }
    Ok(rides)
}

/// The stored stop sequence of a shift: (ride id, is pickup, planned time).
fn load_route(conn: &Connection, shift_id: &str) -> StoreResult<Vec<(String, bool, Instant)>> {
    let mut stmt = conn.prepare(
        "SELECT ride_request_id, kind, planned_at FROM route_stops
         WHERE shift_id = ?1 AND status <> 'cancelled' ORDER BY position",
    )?;
    let rows = stmt.query_map([shift_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut stops = Vec::new();
    for row in rows {
        let (ride, kind, at) = row?;
        stops.push((ride, kind == "pickup", parse_instant(at)?));
    }
    Ok(stops)
}

/// The region and local date a ride belongs to.
pub fn day_of_ride(conn: &Connection, ride_id: &str) -> StoreResult<(String, NaiveDate)> {
    let (region, at): (String, String) = conn.query_row(
        "SELECT region_id, COALESCE(appointment_at, pickup_at) FROM ride_requests WHERE id = ?1",
        [ride_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let tz = region_tz(conn, &region)?;
    Ok((region, parse_instant(at)?.local(tz).date_naive()))
}

/// A value that changes whenever anything the day's plan depends on changes.
pub fn fingerprint(conn: &Connection, region_id: &str, date: NaiveDate) -> StoreResult<String> {
    let tz = region_tz(conn, region_id)?;
    let (origin, end) = bounds(tz, date)?;
    let rides: (i64, Option<String>, i64) = conn.query_row(
        "SELECT count(*), MAX(updated_at), COALESCE(SUM(version), 0) FROM ride_requests WHERE region_id = ?1
           AND COALESCE(appointment_at, pickup_at) >= ?2 AND COALESCE(appointment_at, pickup_at) < ?3",
        params![region_id, origin.text(), end.text()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let shifts: (i64, Option<String>, i64) = conn.query_row(
        "SELECT count(*), MAX(updated_at), COALESCE(SUM(version), 0) FROM shifts WHERE region_id = ?1
           AND starts_at >= ?2 AND starts_at < ?3",
        params![region_id, origin.text(), end.text()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(format!("{rides:?}{shifts:?}"))
}

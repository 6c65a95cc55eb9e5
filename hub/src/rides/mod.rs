//! Ride planning in the hub: turns a region's day (shifts, ride requests, the stored plan and
//! the promised pickup windows) into a planner instance, books new requests by instant
//! insertion, re-optimises a day, and writes the planner's answer back.
//!
//! Times inside the planner are minutes since local midnight of the day; distances are km.
//! Promised windows (`pickup_window_start/end`) are handed to the planner as hard windows every
//! time, so neither a later booking nor a re-optimisation can break them.

pub mod call_backs;
pub mod day;
pub mod evening;
pub mod outcomes;
pub mod rules;
pub mod series;

use chrono::{DateTime, NaiveDate, Utc};
use planner::darp::{self, Budget, InsertOptions, Insertion, RejectReason, SearchOptions};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::domain::common::Instant;
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text};
pub use day::Day;

/// What booking a ride request came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Booked {
    /// Planned on a shift with a promised pickup window.
    Confirmed {
        shift_id: String,
        window_start: Instant,
        window_end: Instant,
    },
    /// Not served as asked: why, and times that would work (stored in `planning`).
    NotServed { reason: &'static str },
}

/// Plans the ride request `ride_id` (already stored) into its day by instant insertion at `now`,
/// and writes the outcome: on success its shift, promised window and planned times and the
/// shift's new stop sequence; otherwise the reason and alternatives in `planning`.
pub fn book(conn: &Connection, ride_id: &str, now: DateTime<Utc>) -> StoreResult<Booked> {
    let (region_id, date) = day::day_of_ride(conn, ride_id)?;
    let mut day = Day::load(conn, &region_id, date)?;
    let Some(request) = day.request_index(ride_id) else {
        return Err(StoreError::Internal(format!(
            "ride {ride_id} is not part of its day"
        )));
    };
    if day.plan.position_of(request).is_some() {
        // Already planned (a repeat through another path): nothing to do.
        return current_booking(conn, ride_id);
    }
    let now_minutes = day.minutes(now);
    if day.instance.vehicles().is_empty() {
        let destination = appointment_destination(conn, ride_id)?;
        let alternatives = other_days(conn, &day, ride_id, destination.as_ref(), now)?
            .into_iter()
            .collect();
        let planning = rejection_json("no_shift", alternatives);
        write_not_served(conn, ride_id, &planning)?;
        return Ok(Booked::NotServed { reason: "no_shift" });
    }
    let outcome = darp::insert(
        &day.instance,
        &day.plan,
        request,
        now_minutes,
        &day.promises,
        &insert_options(),
    )
    .map_err(|e| StoreError::Internal(format!("insertion: {e}")))?;
    match outcome {
        Insertion::Inserted(inserted) => {
            let window_start = day.instant(inserted.promise.pickup.earliest);
            let window_end = day.instant(inserted.promise.pickup.latest);
            let before = day.plan.clone();
            day.plan = inserted.plan;
            day.promises.push(inserted.promise);
            keep_displaced(conn, &mut day, &before, inserted.vehicle, now_minutes)?;
            let shift_id = day.shifts[inserted.vehicle].clone();
            conn.execute(
                "UPDATE ride_requests SET status = 'confirmed', shift_id = ?1, pickup_window_start = ?2,
                     pickup_window_end = ?3, planning = NULL, status_reason = NULL, updated_at = ?4
                 WHERE id = ?5",
                params![shift_id, window_start.text(), window_end.text(), now_text(), ride_id],
            )?;
            day.write_route(conn, inserted.vehicle)?;
            call_backs::close_for_ride(conn, ride_id, "served", "hub:planner")?;
            Ok(Booked::Confirmed {
                shift_id,
                window_start,
                window_end,
            })
        }
        Insertion::Rejected(rejected) => {
            let reason = reason_code(rejected.reason);
            let alternatives = alternatives(conn, &day, request, ride_id, &rejected, now)?;
            let planning = rejection_json(reason, alternatives);
            write_not_served(conn, ride_id, &planning)?;
            Ok(Booked::NotServed { reason })
        }
    }
}

/// How the hub books: alternatives are searched across most of the day.
fn insert_options() -> InsertOptions {
    InsertOptions {
        alternative_range: 600.0,
        ..InsertOptions::default()
    }
}

/// A stored route the planner cannot keep (e.g. built by hand with other travel times) loses
/// rides when it is rebuilt. None of them may vanish: each is inserted again where possible
/// (and that route written), else marked not served and put on the call-back queue.
fn keep_displaced(
    conn: &Connection,
    day: &mut Day,
    before: &darp::Plan,
    vehicle: usize,
    now: f64,
) -> StoreResult<()> {
    let displaced: Vec<usize> = before.routes[vehicle]
        .stops
        .iter()
        .filter_map(|s| match s.stop {
            darp::Stop::Pickup(r) => Some(r),
            _ => None,
        })
        .filter(|&r| day.plan.position_of(r).is_none())
        .collect();
    for r in displaced {
        if day.plan.position_of(r).is_some() {
            continue;
        }
        let again = darp::insert(
            &day.instance,
            &day.plan,
            r,
            now,
            &day.promises,
            &insert_options(),
        )
        .map_err(|e| StoreError::Internal(format!("insertion: {e}")))?;
        match again {
            Insertion::Inserted(inserted) if inserted.vehicle != vehicle => {
                day.plan = inserted.plan;
                day.write_route(conn, inserted.vehicle)?;
            }
            Insertion::Inserted(inserted) => day.plan = inserted.plan,
            Insertion::Rejected(_) => {
                let planning = rejection_json("not_planned", Vec::new());
                write_not_served(conn, &day.rides[r], &planning)?;
            }
        }
    }
    Ok(())
}

fn current_booking(conn: &Connection, ride_id: &str) -> StoreResult<Booked> {
    let (shift, start, end): (Option<String>, Option<String>, Option<String>) = conn.query_row(
        "SELECT shift_id, pickup_window_start, pickup_window_end FROM ride_requests WHERE id = ?1",
        [ride_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    match (shift, start, end) {
        (Some(shift_id), Some(start), Some(end)) => Ok(Booked::Confirmed {
            shift_id,
            window_start: start.parse().map_err(StoreError::Internal)?,
            window_end: end.parse().map_err(StoreError::Internal)?,
        }),
        _ => Ok(Booked::NotServed {
            reason: "not_planned",
        }),
    }
}

/// Records that a ride is not served as asked and puts it on the call-back queue.
fn write_not_served(conn: &Connection, ride_id: &str, planning: &Value) -> StoreResult<()> {
    let reason = planning["reason"].as_str().unwrap_or("not_planned");
    call_backs::open_for_ride(conn, ride_id, reason)?;
    conn.execute(
        "UPDATE ride_requests SET status = 'requested', planning = ?1, status_reason = ?2, shift_id = NULL,
             planned_pickup_at = NULL, planned_dropoff_at = NULL, updated_at = ?3
         WHERE id = ?4",
        params![planning.to_string(), reason, now_text(), ride_id],
    )?;
    Ok(())
}

/// Stable codes of why a ride was not served, with the sentence a resident reads.
fn reason_code(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::NoWheelchairPlace => "no_wheelchair_place",
        RejectReason::NoSeats => "no_seats",
        RejectReason::TimeWindowImpossible => "time_window_impossible",
        RejectReason::NoCapacityAtThatTime => "no_capacity_at_that_time",
    }
}

/// German and English text of a reason code, for tickets, kiosk and web.
pub fn reason_text(code: &str) -> (&'static str, &'static str) {
    match code {
        "no_shift" => (
            "An diesem Tag fährt kein Fahrzeug.",
            "No vehicle is on duty that day.",
        ),
        "no_wheelchair_place" => (
            "Kein Fahrzeug hat dann einen freien Rollstuhlplatz.",
            "No vehicle has a free wheelchair place then.",
        ),
        "no_seats" => (
            "Kein Fahrzeug hat genug Sitzplätze.",
            "No vehicle has enough seats.",
        ),
        "time_window_impossible" => (
            "Zu dieser Zeit ist die Fahrt nicht möglich (außerhalb der Fahrzeiten oder zu knapp).",
            "The ride is not possible at that time (outside service hours or too tight).",
        ),
        "no_capacity_at_that_time" => (
            "Zu dieser Zeit sind alle Fahrzeuge belegt.",
            "All vehicles are busy at that time.",
        ),
        "time_found" => (
            "Die Fahrt ist jetzt eingeplant: bitte die Abholzeit mitteilen.",
            "The ride is planned now: please tell the pickup time.",
        ),
        _ => (
            "Die Fahrt ist noch nicht eingeplant.",
            "The ride is not planned yet.",
        ),
    }
}

/// What is stored (and answered) for a ride that is not served as asked.
fn rejection_json(reason: &str, alternatives: Vec<Value>) -> Value {
    let (de, en) = reason_text(reason);
    json!({ "reason": reason, "message_de": de, "message_en": en, "alternatives": alternatives })
}

/// How far ahead another day is looked for.
const OTHER_DAYS: i64 = 7;

/// The nearest times that would work: the same day earlier or later (a later appointment only
/// while the destination is open), else the first of the next days with a place.
fn alternatives(
    conn: &Connection,
    day: &Day,
    request: usize,
    ride_id: &str,
    rejected: &darp::Rejected,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Value>> {
    let destination = appointment_destination(conn, ride_id)?;
    let mut found = Vec::new();
    for (alt, which) in [(rejected.earlier, "earlier"), (rejected.later, "later")] {
        let Some(alt) = alt else { continue };
        let mut value = json!({
            "which": which,
            "shift_minutes": alt.shift.round() as i64,
            "pickup_window_start": day.instant(alt.pickup_window.earliest.max(0.0)).text(),
            "pickup_window_end": day.instant(alt.pickup_window.latest.min(day.horizon())).text(),
        });
        if day.is_appointment(request) {
            value["arrive_by"] = json!(day.instant(alt.dropoff_window.latest).text());
        }
        // A later appointment must be one the practice can give.
        if let (Some((dest, appointment)), "later") = (&destination, which) {
            let moved =
                Instant(appointment.0 + chrono::Duration::minutes(alt.shift.round() as i64));
            if !crate::domain::rides::open_at(conn, dest, moved)? {
                continue;
            }
        }
        found.push(value);
    }
    if found.is_empty() {
        found.extend(other_days(conn, day, ride_id, destination.as_ref(), now)?);
    }
    Ok(found)
}

/// The destination and appointment of an appointment ride to a destination.
fn appointment_destination(
    conn: &Connection,
    ride_id: &str,
) -> StoreResult<Option<(String, Instant)>> {
    let (dest, at): (Option<String>, Option<String>) = conn.query_row(
        "SELECT to_destination_id, appointment_at FROM ride_requests WHERE id = ?1",
        [ride_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match (dest, at) {
        (Some(dest), Some(at)) => Ok(Some((dest, at.parse().map_err(StoreError::Internal)?))),
        _ => Ok(None),
    }
}

/// The first of the next days on which the same ride, at the same local time, has a place
/// (and the destination is open for the appointment).
fn other_days(
    conn: &Connection,
    day: &Day,
    ride_id: &str,
    destination: Option<&(String, Instant)>,
    now: DateTime<Utc>,
) -> StoreResult<Option<Value>> {
    for days in 1..=OTHER_DAYS {
        let Some(date) = day.date.checked_add_days(chrono::Days::new(days as u64)) else {
            break;
        };
        let other = Day::load_with_guest(conn, &day.region_id, date, Some((ride_id, days)))?;
        if other.instance.vehicles().is_empty() {
            continue;
        }
        let Some(request) = other.request_index(ride_id) else {
            continue;
        };
        if let Some((dest, _)) = destination {
            // The appointment itself: alighting ends by it.
            let asked = &other.instance.requests()[request];
            let at = other.instant(asked.dropoff_window.latest + asked.dropoff_service);
            if !crate::domain::rides::open_at(conn, dest, at)? {
                continue;
            }
        }
        let outcome = darp::insert(
            &other.instance,
            &other.plan,
            request,
            other.minutes(now),
            &other.promises,
            &InsertOptions::default(),
        )
        .map_err(|e| StoreError::Internal(format!("insertion: {e}")))?;
        if let Insertion::Inserted(inserted) = outcome {
            let mut value = json!({
                "which": "another_day",
                "date": date.to_string(),
                "pickup_window_start": other.instant(inserted.promise.pickup.earliest).text(),
                "pickup_window_end": other.instant(inserted.promise.pickup.latest).text(),
            });
            if other.is_appointment(request) {
                value["arrive_by"] = json!(other.instant(inserted.dropoff_time).text());
            }
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// The result of re-optimising a day.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Replanned {
    pub date: NaiveDate,
    pub requests: usize,
    pub served: usize,
    pub unserved: usize,
    pub vehicles_used: usize,
    /// Total driving distance, metres.
    pub distance_m: u64,
    pub promises_kept: usize,
}

/// How long a re-optimisation may search.
#[derive(Clone, Copy, Debug)]
pub enum Effort {
    /// A fixed number of search iterations: the same input gives the same plan.
    Iterations(u64),
    /// Wall-clock seconds: better plans on larger days.
    Seconds(f64),
}

/// Re-optimises the day: keeps the past and every promised window, tries unserved requests
/// again, and writes the new plan. The search runs without holding the database; if the day
/// changed meanwhile, the search is repeated on the new state (at most three times).
pub fn replan(
    store: &crate::store::Store,
    who: &Who,
    region_id: &str,
    date: NaiveDate,
    now: DateTime<Utc>,
    effort: Effort,
    seed: u64,
) -> StoreResult<Replanned> {
    // Rides of series are made first, so they are planned with the rest.
    store.blocking(|conn| {
        let tx = conn.transaction()?;
        series::generate_region(&tx, who, region_id, now, date)?;
        tx.commit()?;
        Ok(())
    })?;
    for _ in 0..3 {
        let (day, fingerprint) = store.blocking(|conn| {
            Ok((
                Day::load(conn, region_id, date)?,
                day::fingerprint(conn, region_id, date)?,
            ))
        })?;
        let now_minutes = day.minutes(now);
        let mut options = SearchOptions::new(seed);
        if let Effort::Seconds(_) = effort {
            // Independent searches on every core (at most four); the best plan wins. A fixed
            // number of iterations stays on one thread.
            options.threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        }
        let started = std::time::Instant::now();
        let progress = |limit: f64| move || started.elapsed().as_secs_f64() / limit;
        let plan = match effort {
            Effort::Iterations(n) => darp::reoptimise(
                &day.instance,
                &day.plan,
                now_minutes,
                &day.promises,
                &options,
                Budget::Iterations(n),
            ),
            Effort::Seconds(s) => {
                let f = progress(s);
                darp::reoptimise(
                    &day.instance,
                    &day.plan,
                    now_minutes,
                    &day.promises,
                    &options,
                    Budget::Progress(&f),
                )
            }
        }
        .map_err(|e| StoreError::Internal(format!("re-optimisation: {e}")))?;
        let report = darp::check(&day.instance, &plan, &day.promises)
            .map_err(|v| StoreError::Internal(format!("re-optimised plan breaks a rule: {v}")))?;
        let written = store.blocking(|conn| {
            let tx = conn.transaction()?;
            if day::fingerprint(&tx, region_id, date)? != fingerprint {
                return Ok(false);
            }
            let mut day = day.clone();
            day.plan = plan.clone();
            for k in 0..day.shifts.len() {
                day.write_route(&tx, k)?;
            }
            for &r in &plan.unserved {
                // A request keeps the reason and alternatives its booking gave.
                let has_reason: bool = tx.query_row(
                    "SELECT planning IS NOT NULL FROM ride_requests WHERE id = ?1",
                    [&day.rides[r]],
                    |row| row.get(0),
                )?;
                if !has_reason {
                    let planning = rejection_json("not_planned", Vec::new());
                    write_not_served(&tx, &day.rides[r], &planning)?;
                }
            }
            for (r, ride) in day.rides.iter().enumerate() {
                if plan.unserved.contains(&r) {
                    continue;
                }
                if promise_found_window(&tx, ride, now)? {
                    // Whoever asked must learn the time: a kiosk through its change feed,
                    // everyone else by phone from the call-back queue.
                    call_backs::open_for_ride(&tx, ride, "time_found")?;
                } else {
                    call_backs::close_for_ride(&tx, ride, "served", "hub:planner")?;
                }
            }
            logs::audit(
                &tx,
                who,
                Action::Update,
                "ride_plans",
                Some(&date.to_string()),
                Some(region_id),
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        if written {
            return Ok(Replanned {
                date,
                requests: day.rides.len(),
                served: report.served,
                unserved: report.unserved,
                vehicles_used: report.vehicles_used,
                distance_m: (report.distance * 1000.0).round() as u64,
                promises_kept: day.promises.len(),
            });
        }
    }
    Err(StoreError::Conflict(
        "the day kept changing while it was re-optimised; try again".into(),
    ))
}

/// Minutes of a window promised by re-optimisation before and after the planned pickup (15 in
/// all, as booking promises).
const FOUND_WINDOW: (i64, i64) = (5, 10);

/// Gives a ride that re-optimisation served for the first time (it had no promised window) a
/// pickup window around its planned pickup and confirms it: from now on it is a promise like one
/// made at booking. Returns whether it did.
fn promise_found_window(conn: &Connection, ride_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let planned: Option<String> = conn
        .query_row(
            "SELECT planned_pickup_at FROM ride_requests
             WHERE id = ?1 AND pickup_window_start IS NULL AND status IN ('requested', 'planned')",
            [ride_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let Some(planned) = planned else {
        return Ok(false);
    };
    let planned: Instant = planned.parse().map_err(StoreError::Internal)?;
    let start = (planned.0 - chrono::Duration::minutes(FOUND_WINDOW.0)).max(now);
    let end = planned.0 + chrono::Duration::minutes(FOUND_WINDOW.1);
    conn.execute(
        "UPDATE ride_requests SET status = 'confirmed', pickup_window_start = ?1,
             pickup_window_end = ?2, planning = NULL, status_reason = NULL, updated_at = ?3,
             version = version + 1
         WHERE id = ?4",
        params![
            Instant(start).text(),
            Instant(end).text(),
            now_text(),
            ride_id
        ],
    )?;
    Ok(true)
}

/// Frees the planned stops of a ride that was cancelled or changed.
pub fn unplan(conn: &Connection, ride_id: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE route_stops SET status = 'cancelled', updated_at = ?1, version = version + 1
         WHERE ride_request_id = ?2 AND status = 'planned'",
        params![now_text(), ride_id],
    )?;
    conn.execute(
        "UPDATE ride_requests SET shift_id = NULL, planned_pickup_at = NULL, planned_dropoff_at = NULL,
             pickup_window_start = NULL, pickup_window_end = NULL
         WHERE id = ?1",
        [ride_id],
    )?;
    Ok(())
}

/// The local date after `now` in the region's time zone: the day the evening-before run plans.
pub fn tomorrow(
    store: &crate::store::Store,
    region_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<NaiveDate> {
    store.blocking(|conn| {
        let tz = crate::domain::common::region_tz(conn, region_id)?;
        now.with_timezone(&tz)
            .date_naive()
            .succ_opt()
            .ok_or_else(|| StoreError::invalid("date", "out of range"))
    })
}

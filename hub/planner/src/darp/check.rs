//! Independent feasibility checker for plans with explicit times. Deliberately shares no code
//! with the search: it reads the public [`Plan`] and [`Instance`] and tests every rule directly.

use super::model::{Instance, Plan, Promise, Stop};

/// Slack allowed for rounding in time comparisons.
const TOL: f64 = 1e-6;

/// Summary of a plan that passed [`check`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Requests served.
    pub served: usize,
    /// Requests not served.
    pub unserved: usize,
    /// Total driving distance.
    pub distance: f64,
    /// Vehicles serving at least one request.
    pub vehicles_used: usize,
}

/// The first rule a plan breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    /// The plan's shape does not fit the instance (wrong vehicle, unknown request, ...).
    #[error("malformed plan: {0}")]
    Malformed(String),
    /// A request is served twice, or listed as unserved and served.
    #[error("request {0} appears more than once")]
    Duplicate(usize),
    /// A request is neither served nor listed as unserved.
    #[error("request {0} is missing from the plan")]
    Missing(usize),
    /// Pickup and drop-off are not both on one route with the pickup first.
    #[error("request {0}: pickup and drop-off not paired in order on one route")]
    Pairing(usize),
    /// A vehicle cannot get from one stop to the next in time.
    #[error("vehicle {vehicle}: stop {position} starts before the vehicle can be there")]
    Travel { vehicle: usize, position: usize },
    /// A start of service lies outside its window (or a promise).
    #[error("vehicle {vehicle}: stop {position} at {time} outside its window")]
    Window {
        vehicle: usize,
        position: usize,
        time: f64,
    },
    /// A passenger rides longer than allowed.
    #[error("request {request}: ride time {ride} exceeds {max}")]
    RideTime { request: usize, ride: f64, max: f64 },
    /// Too many seats or wheelchair places taken.
    #[error("vehicle {vehicle}: capacity exceeded at stop {position}")]
    Capacity { vehicle: usize, position: usize },
    /// Route outside the shift or longer than allowed.
    #[error("vehicle {0}: shift window or maximum duration broken")]
    Shift(usize),
    /// A used route lacks its break, has it twice, or a vehicle without break has one.
    #[error("vehicle {0}: break missing, duplicated or not allowed")]
    Break(usize),
}

/// Checks every constraint of `plan` against `instance` and the `promises` (hard pickup
/// windows). Times are taken from the plan as given.
pub fn check(
    instance: &Instance,
    plan: &Plan,
    promises: &[Promise],
) -> Result<CheckReport, Violation> {
    let reqs = instance.requests();
    let vehicles = instance.vehicles();
    let m = instance.matrices();
    if plan.routes.len() != vehicles.len() {
        return Err(Violation::Malformed(format!(
            "{} routes for {} vehicles",
            plan.routes.len(),
            vehicles.len()
        )));
    }
    let mut seen = vec![false; reqs.len()];
    for &r in &plan.unserved {
        if r >= reqs.len() {
            return Err(Violation::Malformed(format!("unknown request {r}")));
        }
        if std::mem::replace(&mut seen[r], true) {
            return Err(Violation::Duplicate(r));
        }
    }
    let mut served = 0;
    for (k, route) in plan.routes.iter().enumerate() {
        if route.vehicle != k {
            return Err(Violation::Malformed(format!(
                "route {k} names vehicle {}",
                route.vehicle
            )));
        }
        let v = &vehicles[k];
        // Pairing and uniqueness.
        let mut picked_at: Vec<Option<usize>> = vec![None; reqs.len()];
        let mut breaks = 0;
        for (pos, s) in route.stops.iter().enumerate() {
            match s.stop {
                Stop::Pickup(r) => {
                    if r >= reqs.len() {
                        return Err(Violation::Malformed(format!("unknown request {r}")));
                    }
                    if std::mem::replace(&mut seen[r], true) {
                        return Err(Violation::Duplicate(r));
                    }
                    picked_at[r] = Some(pos);
                    served += 1;
                }
                Stop::Dropoff(r) => {
                    if r >= reqs.len() || picked_at[r].is_none() {
                        return Err(Violation::Pairing(r.min(reqs.len())));
                    }
                }
                Stop::Break => breaks += 1,
            }
        }
        for (r, p) in picked_at.iter().enumerate() {
            if p.is_some()
                && route
                    .stops
                    .iter()
                    .filter(|s| s.stop == Stop::Dropoff(r))
                    .count()
                    != 1
            {
                return Err(Violation::Pairing(r));
            }
        }
        let used = route.stops.iter().any(|s| s.stop != Stop::Break);
        if breaks > 1
            || (breaks == 1 && v.rest.is_none())
            || (used && v.rest.is_some() && breaks == 0)
        {
            return Err(Violation::Break(k));
        }
        if !used {
            continue;
        }
        // Shift and duration.
        if !v.shift.contains(route.start, TOL) || !v.shift.contains(route.end, TOL) {
            return Err(Violation::Shift(k));
        }
        if route.end - route.start > v.max_duration + TOL {
            return Err(Violation::Shift(k));
        }
        // Travel, windows, capacity.
        let (mut place, mut ready) = (v.start, route.start);
        let (mut seats, mut wheelchairs) = (0i64, 0i64);
        for (pos, s) in route.stops.iter().enumerate() {
            if s.time < ready - TOL {
                return Err(Violation::Travel {
                    vehicle: k,
                    position: pos,
                });
            }
            let window_err = Violation::Window {
                vehicle: k,
                position: pos,
                time: s.time,
            };
            match s.stop {
                Stop::Pickup(r) | Stop::Dropoff(r) => {
                    let q = &reqs[r];
                    let (at, window, service, sign) = match s.stop {
                        Stop::Pickup(_) => (q.pickup, q.pickup_window, q.pickup_service, 1),
                        _ => (q.dropoff, q.dropoff_window, q.dropoff_service, -1),
                    };
                    if s.time < ready + m.time(place, at) - TOL {
                        return Err(Violation::Travel {
                            vehicle: k,
                            position: pos,
                        });
                    }
                    if !window.contains(s.time, TOL) {
                        return Err(window_err);
                    }
                    if sign > 0
                        && promises
                            .iter()
                            .any(|p| p.request == r && !p.pickup.contains(s.time, TOL))
                    {
                        return Err(window_err);
                    }
                    seats += sign * q.seats as i64;
                    wheelchairs += sign * q.wheelchairs as i64;
                    if seats > v.seats as i64 || wheelchairs > v.wheelchairs as i64 {
                        return Err(Violation::Capacity {
                            vehicle: k,
                            position: pos,
                        });
                    }
                    place = at;
                    ready = s.time + service;
                }
                Stop::Break => {
                    let b = v.rest.ok_or(Violation::Break(k))?;
                    if s.time < b.earliest_start - TOL || s.time > b.latest_start + TOL {
                        return Err(window_err);
                    }
                    ready = s.time + b.duration;
                }
            }
        }
        if route.end < ready + m.time(place, v.end) - TOL {
            return Err(Violation::Travel {
                vehicle: k,
                position: route.stops.len(),
            });
        }
        // Ride times.
        for (pos, s) in route.stops.iter().enumerate() {
            if let Stop::Dropoff(r) = s.stop {
                let p = picked_at[r].expect("pairing was checked above");
                let q = &reqs[r];
                let ride = s.time - (route.stops[p].time + q.pickup_service);
                if ride > q.max_ride + TOL {
                    return Err(Violation::RideTime {
                        request: r,
                        ride,
                        max: q.max_ride,
                    });
                }
                let _ = pos;
            }
        }
    }
    if let Some(r) = seen.iter().position(|s| !s) {
        return Err(Violation::Missing(r));
    }
    Ok(CheckReport {
        served,
        unserved: plan.unserved.len(),
        distance: plan.distance(instance),
        vehicles_used: plan.vehicles_used(),
    })
}

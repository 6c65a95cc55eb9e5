//! Instant insertion of one new booking into a running day's plan: the past stays fixed,
//! promised pickup windows stay hard, and the answer is either a pickup window to promise or
//! the reason why not with the nearest times that would work.

use super::DarpError;
use super::insertion::{Ins, Workspace, best_in_route, splice};
use super::model::{Instance, Plan, Promise, TimeWindow};
use super::problem::{Problem, RouteState};
use super::solution::Solution;
use super::timing::Timing;

/// Settings for [`insert`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsertOptions {
    /// Width of the pickup window promised to the passenger (15 minutes in the hub).
    pub promise_width: f64,
    /// Step between alternative times tried after a rejection.
    pub alternative_step: f64,
    /// How far before and after the wanted time alternatives are searched.
    pub alternative_range: f64,
}

impl Default for InsertOptions {
    /// Minutes: a 15-minute promise, alternatives every 15 minutes up to 3 hours away.
    fn default() -> Self {
        InsertOptions {
            promise_width: 15.0,
            alternative_step: 15.0,
            alternative_range: 180.0,
        }
    }
}

/// The outcome of [`insert`].
#[derive(Debug, Clone, PartialEq)]
pub enum Insertion {
    /// The request fits; the new plan and what to promise.
    Inserted(Inserted),
    /// The request does not fit at the wanted time.
    Rejected(Rejected),
}

/// A successful insertion.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    /// The plan with the request added. Only the chosen vehicle's route changed, and on it only
    /// what lies after "now".
    pub plan: Plan,
    /// The vehicle that serves the request.
    pub vehicle: usize,
    /// The pickup window to promise; pass it back in every later call.
    pub promise: Promise,
    /// True when the plan stays feasible for a pickup at any time inside the promised window
    /// (the window lies within the range of feasible pickup times). False only when that range
    /// is narrower than the promise width; the window then covers the whole range.
    pub robust: bool,
    /// Every pickup time in this range is feasible with the rest of the plan.
    pub feasible_pickup: TimeWindow,
    /// Planned start of boarding.
    pub pickup_time: f64,
    /// Planned start of alighting.
    pub dropoff_time: f64,
    /// Increase of the weighted cost.
    pub added_cost: f64,
}

/// Why a request cannot be served at the wanted time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// No vehicle has enough wheelchair places.
    NoWheelchairPlace,
    /// No vehicle has enough seats.
    NoSeats,
    /// Even an otherwise empty vehicle could not keep the windows (too early, already past,
    /// outside every shift, or the windows contradict the ride-time limit).
    TimeWindowImpossible,
    /// The vehicles are busy at that time (capacity or time taken by other passengers).
    NoCapacityAtThatTime,
}

/// A rejection with the nearest times that would work on this plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Why it failed.
    pub reason: RejectReason,
    /// The latest feasible time before the wanted one (e.g. an earlier arrival), if any.
    pub earlier: Option<Alternative>,
    /// The earliest feasible time after the wanted one (e.g. a later appointment), if any.
    pub later: Option<Alternative>,
}

/// The request moved in time by `shift` (both windows), and what it would get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alternative {
    /// How far both windows were moved (negative: earlier).
    pub shift: f64,
    /// The moved pickup window.
    pub pickup_window: TimeWindow,
    /// The moved drop-off window.
    pub dropoff_window: TimeWindow,
    /// The vehicle that would serve it.
    pub vehicle: usize,
}

/// Inserts request `request` of `instance` (already added with
/// [`Instance::add_request`]) into `plan` at time `now`, the cheapest feasible way.
///
/// Stops that started before `now`, and the stop a vehicle is already driving to, keep their
/// place and time; all `promises` are hard pickup windows. The promised window is
/// `promise_width` wide, contains the planned pickup time, lies inside the range of pickup
/// times that keep the rest of the plan feasible whenever that range is wide enough, and is
/// centred on the planned time as far as that range allows.
///
/// Errors only on misuse (unknown request, or one the plan already serves).
pub fn insert(
    instance: &Instance,
    plan: &Plan,
    request: usize,
    now: f64,
    promises: &[Promise],
    options: &InsertOptions,
) -> Result<Insertion, DarpError> {
    let Some(req) = instance.requests().get(request) else {
        return Err(DarpError::UnknownRequest(request));
    };
    if plan.position_of(request).is_some() {
        return Err(DarpError::AlreadyPlanned(request));
    }
    if plan.routes.len() != instance.vehicles().len() {
        return Err(DarpError::PlanMismatch);
    }
    let vs = instance.vehicles();
    if !vs.iter().any(|v| v.wheelchairs >= req.wheelchairs) {
        return Ok(reject(RejectReason::NoWheelchairPlace));
    }
    if !vs
        .iter()
        .any(|v| v.wheelchairs >= req.wheelchairs && v.seats >= req.seats)
    {
        return Ok(reject(RejectReason::NoSeats));
    }
    let mut pb = Problem::new(instance, promises, now);
    let sol = Solution::from_plan(&pb, plan);
    let mut ws = Workspace::default();
    if let Some((k, ins)) = best_anywhere(&pb, &sol, request, &mut ws) {
        return Ok(Insertion::Inserted(accept(
            &pb, &sol, plan, request, k, ins, options,
        )));
    }
    let alone = pb.servable(request)
        && (0..vs.len()).any(|k| {
            best_in_route(
                &pb,
                &RouteState::new(&pb, k),
                request,
                f64::INFINITY,
                &mut ws,
            )
            .is_some()
        });
    let reason = if alone {
        RejectReason::NoCapacityAtThatTime
    } else {
        RejectReason::TimeWindowImpossible
    };
    let (mut earlier, mut later) = (None, None);
    let step = options.alternative_step.max(1e-6);
    let steps = (options.alternative_range / step).floor() as usize;
    for i in 1..=steps {
        for sign in [-1.0, 1.0] {
            if (sign < 0.0 && earlier.is_some()) || (sign > 0.0 && later.is_some()) {
                continue;
            }
            let shift = sign * step * i as f64;
            let (pw, dw) = (
                req.pickup_window.shifted(shift),
                req.dropoff_window.shifted(shift),
            );
            let promised = promises
                .iter()
                .filter(|p| p.request == request)
                .fold(pw, |w, p| w.intersect(&p.pickup));
            pb.set_request_windows(request, promised, dw);
            if let Some((k, _)) = best_anywhere(&pb, &sol, request, &mut ws) {
                let alt = Alternative {
                    shift,
                    pickup_window: pw,
                    dropoff_window: dw,
                    vehicle: k,
                };
                if sign < 0.0 {
                    earlier = Some(alt);
                } else {
                    later = Some(alt);
                }
            }
        }
        if earlier.is_some() && later.is_some() {
            break;
        }
    }
    Ok(Insertion::Rejected(Rejected {
        reason,
        earlier,
        later,
    }))
}

fn reject(reason: RejectReason) -> Insertion {
    Insertion::Rejected(Rejected {
        reason,
        earlier: None,
        later: None,
    })
}

/// The cheapest feasible insertion over all routes.
fn best_anywhere(
    pb: &Problem,
    sol: &Solution,
    r: usize,
    ws: &mut Workspace,
) -> Option<(usize, Ins)> {
    let mut best: Option<(usize, Ins)> = None;
    for (k, route) in sol.routes.iter().enumerate() {
        let bound = best.map_or(f64::INFINITY, |b| b.1.delta);
        if let Some(f) = best_in_route(pb, route, r, bound, ws)
            && f.delta < bound
        {
            best = Some((k, f));
        }
    }
    best
}

fn accept(
    pb: &Problem,
    sol: &Solution,
    plan: &Plan,
    r: usize,
    k: usize,
    ins: Ins,
    options: &InsertOptions,
) -> Inserted {
    let mut route = sol.routes[k].clone();
    let mut seq = Vec::new();
    splice(&route.stops, r, ins.i as usize, ins.j as usize, &mut seq);
    route.stops = seq;
    let mut tm = Timing::default();
    let ok = route.refresh(pb, &mut tm);
    debug_assert!(ok, "the insertion was checked exactly");
    let pos = route
        .stops
        .iter()
        .position(|&n| n == 2 * r as u32)
        .expect("just inserted")
        + 1;
    let feasible = TimeWindow::new(route.b[pos], route.u[pos]);
    let mut one = Solution {
        routes: vec![route],
        unassigned: Vec::new(),
    };
    // Export only this route; the others stay exactly as the caller has them.
    one.routes[0].vehicle = k;
    let exported = export_one(pb, &one);
    let mut new_plan = plan.clone();
    new_plan.routes[k] = exported;
    new_plan.unserved.retain(|&u| u != r);
    // Safety net: a request the old route served but the loaded route lost (only possible when
    // the given plan was infeasible for the promises) is reported unserved, never dropped.
    for s in &plan.routes[k].stops {
        if let super::model::Stop::Pickup(q) = s.stop
            && new_plan.position_of(q).is_none()
        {
            new_plan.unserved.push(q);
        }
    }
    let (_, p, d) = new_plan.position_of(r).expect("the request was inserted");
    let (pickup_time, dropoff_time) = (
        new_plan.routes[k].stops[p].time,
        new_plan.routes[k].stops[d].time,
    );
    let w = options.promise_width.max(0.0);
    let (lo, hi) = (feasible.earliest, feasible.latest);
    let centred = pickup_time - w / 2.0;
    let (start, robust) = if hi - lo >= w {
        (centred.clamp(lo, hi - w), true)
    } else {
        (centred.clamp(hi - w, lo), false)
    };
    Inserted {
        plan: new_plan,
        vehicle: k,
        promise: Promise {
            request: r,
            pickup: TimeWindow::new(start, start + w),
        },
        robust,
        feasible_pickup: feasible,
        pickup_time,
        dropoff_time,
        added_cost: ins.delta,
    }
}

fn export_one(pb: &Problem, one: &Solution) -> super::model::Route {
    let mut plan = one.to_plan(pb);
    plan.routes.swap_remove(0)
}

//! Instant insertion: reasons for rejection, alternatives, the fixed past and kept promises.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use planner::darp::{
    self, Budget, InsertOptions, Insertion, Instance, Plan, Promise, RejectReason, Request,
    SearchOptions, Stop, TimeWindow, Vehicle, check,
};

use super::{instance, line, trip, vehicle};

fn insert(inst: &Instance, plan: &Plan, r: usize, now: f64, promises: &[Promise]) -> Insertion {
    let without = Plan {
        unserved: plan.unserved.iter().copied().filter(|&u| u != r).collect(),
        ..plan.clone()
    };
    darp::insert(inst, &without, r, now, promises, &InsertOptions::default()).expect("valid call")
}

#[test]
fn wheelchair_without_any_wheelchair_place_is_rejected_with_that_reason() {
    let mut wc = trip(1, 2, 10.0, 15.0, 30.0);
    (wc.seats, wc.wheelchairs) = (0, 1);
    let inst = instance(
        line(&[0.0, 10.0, 20.0]),
        vec![wc],
        vec![vehicle(8, 0), vehicle(4, 0)],
    );
    match insert(&inst, &Plan::empty(&inst), 0, 0.0, &[]) {
        Insertion::Rejected(r) => assert_eq!(r.reason, RejectReason::NoWheelchairPlace),
        other => panic!("expected rejection, got {other:?}"),
    }
}

#[test]
fn impossible_time_window_is_rejected_with_that_reason() {
    // Pickup wanted at [10, 20] but it is already 100; and a window after the shift ends.
    let past = trip(1, 2, 10.0, 10.0, 30.0);
    let late = trip(1, 2, 2000.0, 10.0, 30.0);
    let inst = instance(
        line(&[0.0, 10.0, 20.0]),
        vec![past, late],
        vec![vehicle(8, 0)],
    );
    for (r, now) in [(0, 100.0), (1, 0.0)] {
        match insert(&inst, &Plan::empty(&inst), r, now, &[]) {
            Insertion::Rejected(rej) => assert_eq!(
                rej.reason,
                RejectReason::TimeWindowImpossible,
                "request {r}"
            ),
            other => panic!("expected rejection, got {other:?}"),
        }
    }
}

#[test]
fn busy_vehicle_gives_no_capacity_and_nearest_alternatives() {
    // One single-seat vehicle; two people want the same 30-minute trip at the same time.
    let m = line(&[0.0, 10.0, 40.0]);
    let reqs = vec![trip(1, 2, 100.0, 5.0, 35.0), trip(1, 2, 100.0, 5.0, 35.0)];
    let inst = instance(m, reqs, vec![vehicle(1, 0)]);
    let first = match insert(&inst, &Plan::empty(&inst), 0, 0.0, &[]) {
        Insertion::Inserted(i) => i,
        other => panic!("first fits: {other:?}"),
    };
    match insert(&inst, &first.plan, 1, 0.0, &[first.promise]) {
        Insertion::Rejected(rej) => {
            assert_eq!(rej.reason, RejectReason::NoCapacityAtThatTime);
            let later = rej.later.expect("a later trip fits");
            let earlier = rej.earlier.expect("an earlier trip fits");
            // One round trip takes 2 x 30 + 2 x 1 service: nothing closer than an hour fits.
            assert!(
                later.shift >= 60.0 && later.shift <= 75.0,
                "later {later:?}"
            );
            assert!(
                earlier.shift <= -60.0 && earlier.shift >= -75.0,
                "earlier {earlier:?}"
            );
            assert_eq!(
                later.pickup_window,
                TimeWindow::new(100.0 + later.shift, 105.0 + later.shift)
            );
        }
        other => panic!("expected rejection, got {other:?}"),
    }
}

/// A random rural-like instance with `n` requests (added later) and 4 vehicles.
fn day(seed: u64, n: usize) -> (Instance, Vec<Request>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pts: Vec<(f64, f64)> = (0..30)
        .map(|_| (rng.random_range(0.0..30.0), rng.random_range(0.0..30.0)))
        .collect();
    let m = planner::darp::Matrices::euclidean(&pts);
    let vehicles = (0..4)
        .map(|k| Vehicle {
            start: k,
            end: k,
            shift: TimeWindow::new(400.0, 1100.0),
            max_duration: 600.0,
            seats: 4,
            wheelchairs: u32::from(k == 0),
            rest: Some(planner::darp::Break {
                earliest_start: 690.0,
                latest_start: 780.0,
                duration: 30.0,
            }),
        })
        .collect();
    let reqs = (0..n)
        .map(|_| {
            let (p, d) = (rng.random_range(4..30), rng.random_range(4..30));
            let direct = m.time(p, d);
            let t = 480.0 + 15.0 * rng.random_range(0..32) as f64;
            let ride = Request::default_max_ride_minutes(direct);
            let wc = u32::from(rng.random_bool(0.1));
            if rng.random_bool(0.5) {
                Request::appointment(p, d, t, 30.0, 1 - wc, wc, 2.0, ride)
            } else {
                Request::pickup_between(p, d, TimeWindow::new(t, t + 30.0), 1 - wc, wc, 2.0, ride)
            }
        })
        .collect();
    (Instance::new(m, Vec::new(), vehicles).expect("valid"), reqs)
}

/// Every stop that started before `now` (with its time) is unchanged in `after`.
fn past_kept(before: &Plan, after: &Plan, now: f64) {
    for (b, a) in before.routes.iter().zip(&after.routes) {
        if !b.stops.iter().any(|s| !matches!(s.stop, Stop::Break)) || b.start >= now {
            continue;
        }
        assert_eq!(
            a.start, b.start,
            "vehicle {} left the depot at a fixed time",
            b.vehicle
        );
        for (k, s) in b.stops.iter().enumerate().filter(|(_, s)| s.time < now) {
            assert_eq!(
                a.stops.get(k),
                Some(s),
                "vehicle {} stop {k} is in the past",
                b.vehicle
            );
        }
    }
}

fn promises_hold(plan: &Plan, promises: &[Promise]) {
    for p in promises {
        let Some((k, pos, _)) = plan.position_of(p.request) else {
            panic!(
                "promised request {} lost; unserved {:?}",
                p.request, plan.unserved
            )
        };
        let t = plan.routes[k].stops[pos].time;
        assert!(
            p.pickup.contains(t, 1e-6),
            "request {} picked up at {t}, promised {:?}",
            p.request,
            p.pickup
        );
    }
}

#[test]
fn past_stays_fixed_and_promises_hold_through_insertion_and_reoptimisation() {
    let (mut inst, reqs) = day(5, 60);
    let mut plan = Plan::empty(&inst);
    let mut promises: Vec<Promise> = Vec::new();
    let mut accepted = 0;
    for (i, req) in reqs.into_iter().enumerate() {
        // The first 40 bookings the day before, the rest during the day.
        let now = if i < 40 {
            0.0
        } else {
            480.0 + 6.0 * (i - 40) as f64
        };
        let r = inst.add_request(req).expect("valid request");
        plan.unserved.push(r);
        match insert(&inst, &plan, r, now, &promises) {
            Insertion::Inserted(ins) => {
                assert!(ins.promise.pickup.contains(ins.pickup_time, 1e-9));
                assert!(
                    (ins.promise.pickup.latest - ins.promise.pickup.earliest - 15.0).abs() < 1e-9
                );
                if ins.robust {
                    assert!(ins.feasible_pickup.earliest <= ins.promise.pickup.earliest + 1e-9);
                    assert!(ins.feasible_pickup.latest >= ins.promise.pickup.latest - 1e-9);
                }
                past_kept(&plan, &ins.plan, now);
                promises.push(ins.promise);
                plan = ins.plan;
                accepted += 1;
            }
            Insertion::Rejected(_) => {}
        }
        check(&inst, &plan, &promises).unwrap_or_else(|e| panic!("booking {i}: {e}"));
        promises_hold(&plan, &promises);
    }
    assert!(accepted >= 30, "accepted only {accepted}");
    // Re-optimise at noon: the morning stays, promises hold, nobody is dropped.
    let now = 720.0;
    let better = darp::reoptimise(
        &inst,
        &plan,
        now,
        &promises,
        &SearchOptions::new(3),
        Budget::Iterations(400),
    )
    .expect("valid call");
    check(&inst, &better, &promises).expect("re-optimised plan is feasible with all promises");
    promises_hold(&better, &promises);
    past_kept(&plan, &better, now);
    assert!(better.served() >= plan.served());
    assert!(better.served() > plan.served() || better.cost(&inst) <= plan.cost(&inst) + 1e-9);
}

#[test]
fn passengers_on_board_stay_on_their_vehicle() {
    let (mut inst, reqs) = day(9, 25);
    let mut plan = Plan::empty(&inst);
    let mut promises = Vec::new();
    for req in reqs {
        let r = inst.add_request(req).expect("valid");
        plan.unserved.push(r);
        if let Insertion::Inserted(ins) = insert(&inst, &plan, r, 0.0, &promises) {
            promises.push(ins.promise);
            plan = ins.plan;
        }
    }
    // Pick a moment when someone is on board: between a pickup and its drop-off.
    let (k, now) = plan
        .routes
        .iter()
        .find_map(|r| {
            let p = r
                .stops
                .iter()
                .position(|s| matches!(s.stop, Stop::Pickup(_)))?;
            Some((r.vehicle, r.stops[p].time + 0.5))
        })
        .expect("some route is used");
    let on_board = match plan.routes[k]
        .stops
        .iter()
        .find(|s| s.time < now)
        .map(|s| s.stop)
    {
        Some(Stop::Pickup(r)) => r,
        other => panic!("expected a pickup first, got {other:?}"),
    };
    let better = darp::reoptimise(
        &inst,
        &plan,
        now,
        &promises,
        &SearchOptions::new(1),
        Budget::Iterations(300),
    )
    .expect("valid call");
    check(&inst, &better, &promises).expect("feasible");
    let (k2, _, _) = better.position_of(on_board).expect("still served");
    assert_eq!(k2, k, "a passenger on board cannot change vehicles");
    past_kept(&plan, &better, now);
}

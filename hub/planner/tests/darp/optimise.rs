//! Full optimisation: optimum on a2-16, determinism, and each constraint type binding.

use planner::darp::{self, Budget, Request, SearchOptions, Stop, TimeWindow, check, cordeau};

use super::{data, instance, line, trip, vehicle, with_break};

fn solve(inst: &planner::darp::Instance, iterations: u64) -> planner::darp::Plan {
    let plan = darp::optimise(inst, &SearchOptions::new(1), Budget::Iterations(iterations));
    check(inst, &plan, &[]).expect("every optimised plan passes the independent checker");
    plan
}

#[test]
fn a2_16_reaches_its_optimum() {
    let inst = cordeau::parse(&data("cordeau-2006/a2-16.txt")).expect("a2-16 parses");
    let plan = solve(&inst, 20_000);
    assert!(plan.unserved.is_empty());
    assert!(
        (plan.distance(&inst) - 294.25).abs() < 0.005,
        "cost {}",
        plan.distance(&inst)
    );
}

#[test]
fn same_seed_same_plan_also_with_two_threads() {
    let inst = cordeau::parse(&data("cordeau-laporte-2003/pr01.txt")).expect("pr01 parses");
    for threads in [1, 2] {
        let opts = SearchOptions {
            threads,
            ..SearchOptions::new(42)
        };
        let a = darp::optimise(&inst, &opts, Budget::Iterations(300));
        let b = darp::optimise(&inst, &opts, Budget::Iterations(300));
        assert_eq!(a, b, "threads = {threads}");
        assert!(a.unserved.is_empty());
        check(&inst, &a, &[]).expect("feasible");
    }
    let c = darp::optimise(&inst, &SearchOptions::new(43), Budget::Iterations(300));
    check(&inst, &c, &[]).expect("feasible");
}

#[test]
fn seats_force_a_second_vehicle() {
    // Three passengers at the same place and time, two seats per vehicle.
    let m = line(&[0.0, 10.0, 20.0]);
    let reqs = (0..3).map(|_| trip(1, 2, 10.0, 2.0, 15.0)).collect();
    let inst = instance(m, reqs, vec![vehicle(2, 0), vehicle(2, 0), vehicle(2, 0)]);
    let plan = solve(&inst, 200);
    assert!(plan.unserved.is_empty());
    assert_eq!(plan.vehicles_used(), 2);
}

#[test]
fn wheelchair_places_are_separate_from_seats() {
    // The wheelchair user can only ride in vehicle 1, even though vehicle 0 has free seats.
    let m = line(&[0.0, 10.0, 20.0]);
    let mut wc = trip(1, 2, 10.0, 5.0, 30.0);
    (wc.seats, wc.wheelchairs) = (0, 1);
    let inst = instance(m, vec![wc.clone(), wc], vec![vehicle(8, 0), vehicle(1, 1)]);
    let plan = solve(&inst, 200);
    assert_eq!(
        plan.unserved.len(),
        1,
        "one wheelchair place, two wheelchair users at once"
    );
    assert!(plan.routes[0].stops.is_empty());
}

#[test]
fn max_ride_time_forbids_the_shorter_shared_route() {
    // r0: 10 -> 30, r1: 20 -> 25. Sharing (0,10,20,25,30,0) drives 60 but r0 rides 22.
    let m = line(&[0.0, 10.0, 20.0, 25.0, 30.0]);
    let build = |max_ride: f64| {
        instance(
            m.clone(),
            vec![
                trip(1, 4, 0.0, 100.0, max_ride),
                trip(2, 3, 0.0, 100.0, 100.0),
            ],
            vec![vehicle(4, 0)],
        )
    };
    let loose = build(100.0);
    assert!((solve(&loose, 300).distance(&loose) - 60.0).abs() < 1e-9);
    let tight = build(20.0);
    let plan = solve(&tight, 300);
    assert!(plan.unserved.is_empty());
    assert!(
        (plan.distance(&tight) - 70.0).abs() < 1e-9,
        "got {}",
        plan.distance(&tight)
    );
}

#[test]
fn break_is_taken_in_its_window_and_can_exclude_a_request() {
    let m = line(&[0.0, 5.0, 25.0, 6.0]);
    // r0 must be picked up in [52, 54] and rides 20 with at most 25: the 30-minute break,
    // starting in [50, 55], fits nowhere around it.
    let r0 = trip(1, 2, 52.0, 2.0, 25.0);
    // r1 is easy: 5 -> 6 around time 100.
    let r1 = trip(1, 3, 100.0, 20.0, 10.0);
    let without = instance(m.clone(), vec![r0.clone(), r1.clone()], vec![vehicle(4, 0)]);
    assert!(solve(&without, 300).unserved.is_empty());
    let inst = instance(
        m,
        vec![r0, r1],
        vec![with_break(vehicle(4, 0), 50.0, 55.0, 30.0)],
    );
    let plan = solve(&inst, 300);
    assert_eq!(plan.unserved, vec![0]);
    let brk = plan.routes[0]
        .stops
        .iter()
        .find(|s| s.stop == Stop::Break)
        .expect("used route has its break");
    assert!(TimeWindow::new(50.0, 55.0).contains(brk.time, 1e-9));
}

#[test]
fn checker_catches_tampering() {
    let inst = cordeau::parse(&data("cordeau-laporte-2003/pr01.txt")).expect("pr01 parses");
    let plan = solve(&inst, 100);
    let k = plan
        .routes
        .iter()
        .position(|r| r.stops.len() > 2)
        .expect("a used route");
    let mut late = plan.clone();
    late.routes[k].stops[1].time = 5000.0;
    assert!(check(&inst, &late, &[]).is_err());
    let mut swapped = plan.clone();
    let first_drop = swapped.routes[k]
        .stops
        .iter()
        .position(|s| matches!(s.stop, Stop::Dropoff(_)))
        .expect("drop");
    swapped.routes[k].stops.swap(0, first_drop);
    assert!(check(&inst, &swapped, &[]).is_err());
    let mut lost = plan.clone();
    lost.routes[k]
        .stops
        .retain(|s| !matches!(s.stop, Stop::Pickup(_) | Stop::Dropoff(_)));
    assert!(check(&inst, &lost, &[]).is_err());
}

#[test]
fn appointment_constructor_and_default_ride_limit() {
    assert_eq!(Request::default_max_ride_minutes(10.0), 30.0);
    assert_eq!(Request::default_max_ride_minutes(60.0), 90.0);
    let r = Request::appointment(1, 2, 600.0, 30.0, 1, 0, 2.0, 30.0);
    assert_eq!(r.dropoff_window, TimeWindow::new(570.0, 600.0));
    assert_eq!(r.pickup_window, TimeWindow::ANY);
}

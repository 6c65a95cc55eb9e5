//! Plans: frequencies, working hours, breaks, closed days, counsellors, determinism, the bound.

use planner::tours::{self, UnmetReason, generate};

use super::{BUDGET, bus, counsellor, demo, input, line, plan_checked, small, village};

#[test]
fn every_frequency_is_met_on_a_small_region() {
    let (input, travel) = small();
    let plan = plan_checked(&input, &travel);
    assert!(plan.unmet.is_empty(), "{:?}", plan.unmet);
    assert_eq!(plan.figures.visits_required, 4 + 2 + 2 + 1 + 1 + 4);
    assert_eq!(plan.figures.visits_planned, plan.figures.visits_required);
    assert_eq!(plan.figures.villages_met, 6);
    assert_eq!(plan.patterns.len(), 6);
    for v in &input.villages {
        let visits: Vec<_> = plan.visits.iter().filter(|x| x.village == v.id).collect();
        assert_eq!(visits.len() as u32, 4 / v.every_weeks, "{}", v.id);
        // Regular visits keep weekday and time.
        let p = plan
            .patterns
            .iter()
            .find(|p| p.village == v.id)
            .expect("pattern");
        for x in visits.iter().filter(|x| !x.replacement) {
            assert_eq!((x.day % 7, x.start), (u32::from(p.weekday), p.start));
            assert_eq!((x.day / 7) % p.every_weeks, p.week_offset);
        }
    }
}

#[test]
fn demo_sized_counties_are_planned_in_full_and_checked() {
    for seed in 1..=4 {
        let (input, travel) = demo(seed);
        let plan = plan_checked(&input, &travel);
        assert_eq!(
            plan.figures.visits_planned, plan.figures.visits_required,
            "seed {seed}: {:?}",
            plan.unmet
        );
    }
}

#[test]
fn a_village_too_far_for_a_working_day_is_unreachable() {
    // 300 minutes out and 300 back do not fit 08:00 to 17:00.
    let travel = line(&[0.0, 10.0, 300.0]);
    let input = input(2, vec![village("Near", 1, 1, 60), village("Far", 2, 1, 30)]);
    let plan = plan_checked(&input, &travel);
    let far: Vec<_> = plan.unmet.iter().filter(|u| u.village == "Far").collect();
    assert_eq!(far.len(), 2);
    assert!(far.iter().all(|u| u.reason == UnmetReason::Unreachable));
    assert!(plan.visits.iter().all(|v| v.village != "Far"));
    assert_eq!(plan.figures.villages_met, 1);
}

#[test]
fn a_day_too_short_for_all_leaves_visits_unmet_not_a_long_tour() {
    // One working day a week; five weekly visits of two hours cannot all fit in it.
    let travel = line(&[0.0, 10.0, 12.0, 14.0, 16.0, 18.0]);
    let mut input = input(
        1,
        (1..=5)
            .map(|i| village(&format!("V{i}"), i, 1, 120))
            .collect(),
    );
    input.buses[0].weekdays = vec![2];
    let plan = plan_checked(&input, &travel);
    assert_eq!(plan.figures.visits_planned, 3);
    assert_eq!(plan.unmet.len(), 2);
    assert!(plan.unmet.iter().all(|u| u.reason == UnmetReason::NoRoom));
    let tour = &plan.tours[0];
    assert!(tour.leaves >= 480 && tour.returns <= 1020, "{tour:?}");
}

#[test]
fn the_break_is_parked_inside_its_window_between_visits() {
    // A one-hour break exactly 12:00 to 13:00 splits two visits of 220 minutes.
    let travel = line(&[0.0, 10.0, 20.0]);
    let mut input = input(1, vec![village("A", 1, 1, 220), village("B", 2, 1, 220)]);
    let b = &mut input.buses[0];
    b.weekdays = vec![0];
    (b.break_minutes, b.break_from, b.break_until) = (60, 720, 780);
    let plan = plan_checked(&input, &travel);
    assert_eq!(plan.figures.visits_planned, 2, "{:?}", plan.unmet);
    let tour = &plan.tours[0];
    assert_eq!(tour.break_start, Some(720));
    for &i in &tour.visits {
        let v = &plan.visits[i];
        assert!(v.end <= 720 || v.start >= 780, "{v:?} overlaps the break");
    }
    // Every tour of a generated county has its break in the window.
    let (input, travel) = demo(7);
    let plan = plan_checked(&input, &travel);
    for t in &plan.tours {
        let s = t.break_start.expect("a break");
        assert!((690..=780).contains(&s), "{t:?}");
    }
}

#[test]
fn a_holiday_on_a_pattern_day_gets_a_replacement_in_the_same_week() {
    // The bus works Monday and Tuesday; Tuesday of week 0 and Monday of week 1 are holidays,
    // so whichever weekday the weekly village gets, one week needs a replacement.
    let travel = line(&[0.0, 10.0]);
    let mut input = input(2, vec![village("A", 1, 1, 60)]);
    input.buses[0].weekdays = vec![0, 1];
    input.closed_days = vec![1, 7];
    let plan = plan_checked(&input, &travel);
    assert_eq!(plan.figures.visits_planned, 2);
    assert_eq!(plan.figures.replacements, 1);
    let p = &plan.patterns[0];
    let r = plan
        .visits
        .iter()
        .find(|v| v.replacement)
        .expect("a replacement");
    let week = r.day / 7;
    assert!(
        input
            .closed_days
            .contains(&(week * 7 + u32::from(p.weekday)))
    );
    assert_ne!(r.day % 7, u32::from(p.weekday));
    assert_eq!(r.start, p.start, "same time of day when there is room");
}

#[test]
fn a_closed_week_leaves_its_visits_unmet() {
    let travel = line(&[0.0, 10.0, 20.0]);
    let mut input = input(2, vec![village("A", 1, 1, 60), village("B", 2, 2, 60)]);
    input.closed_days = (7..14).collect();
    let plan = plan_checked(&input, &travel);
    // The weekly village misses week 1; the fortnightly one is put in week 0.
    assert_eq!(plan.unmet.len(), 1, "{:?}", plan.unmet);
    assert_eq!(
        (plan.unmet[0].village.as_str(), plan.unmet[0].week),
        ("A", 1)
    );
    assert_eq!(plan.unmet[0].reason, UnmetReason::NoRoom);
    assert!(plan.visits.iter().all(|v| v.day < 7));
}

#[test]
fn absent_counsellors_keep_the_bus_at_home() {
    // The only counsellor is absent on Monday, Tuesday, Thursday and Friday.
    let travel = line(&[0.0, 10.0]);
    let mut alone = input(1, vec![village("A", 1, 1, 60)]);
    alone.counsellors[0].absent_days = vec![0, 1, 3, 4];
    let plan = plan_checked(&alone, &travel);
    assert_eq!(plan.visits.len(), 1);
    assert_eq!(
        (plan.visits[0].day, plan.visits[0].counsellor.as_str()),
        (2, "C1")
    );

    // Two buses, one counsellor: never two tours on a day.
    let travel = line(&[0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
    let mut input = input(
        1,
        (1..=6)
            .map(|i| village(&format!("V{i}"), i, 1, 150))
            .collect(),
    );
    input.buses.push(bus("B2"));
    let plan = plan_checked(&input, &travel);
    let mut days: Vec<u32> = plan.tours.iter().map(|t| t.day).collect();
    days.dedup();
    assert_eq!(days.len(), plan.tours.len(), "{:?}", plan.tours);
    // With a second counsellor both buses may drive the same day.
    input.counsellors.push(counsellor("C2"));
    input.buses[1].weekdays = vec![0];
    input.buses[0].weekdays = vec![0];
    let plan = plan_checked(&input, &travel);
    assert_eq!(plan.tours.len(), 2);
    assert_ne!(plan.tours[0].counsellor, plan.tours[1].counsellor);
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let (input, travel) = generate::county(40, 2, 3);
    let a = tours::plan(&input, &travel, &[], 9, BUDGET).expect("valid");
    let b = tours::plan(&input, &travel, &[], 9, BUDGET).expect("valid");
    assert_eq!(a, b);
    assert!(tours::check(&input, &travel, &a).is_empty());
    let c = tours::plan(&input, &travel, &[], 10, BUDGET).expect("valid");
    assert!(tours::check(&input, &travel, &c).is_empty());
}

#[test]
fn the_lower_bound_is_below_the_planned_driving() {
    let mut instances = vec![small()];
    instances.extend((1..=3).map(demo));
    instances.push(generate::county(30, 1, 5));
    instances.push(generate::county(40, 2, 6));
    for (k, (input, travel)) in instances.into_iter().enumerate() {
        let plan = plan_checked(&input, &travel);
        let bound = tours::lower_bound(&input, &travel);
        assert_eq!(plan.figures.driving_lower_bound_seconds, bound);
        assert!(bound > 0.0, "instance {k}");
        if plan.unmet.is_empty() {
            assert!(
                bound <= plan.figures.driving_seconds,
                "instance {k}: bound {bound} > driving {}",
                plan.figures.driving_seconds
            );
        }
    }
    // A tight case by hand: one village 10 minutes out, weekly for 2 weeks: two round trips.
    let travel = line(&[0.0, 10.0]);
    let input = input(2, vec![village("A", 1, 1, 60)]);
    assert_eq!(tours::lower_bound(&input, &travel), 2.0 * 1200.0);
    assert_eq!(
        plan_checked(&input, &travel).figures.driving_seconds,
        2400.0
    );
}

#[test]
fn buses_without_a_break_and_with_their_own_depots() {
    // Bus B1 at place 0 (west end), B2 at place 5 (east end), neither with a break.
    let travel = line(&[0.0, 10.0, 20.0, 100.0, 110.0, 120.0]);
    let mut input = input(
        1,
        vec![
            village("W1", 1, 1, 240),
            village("W2", 2, 1, 240),
            village("E1", 3, 1, 240),
            village("E2", 4, 1, 240),
        ],
    );
    input.buses[0].break_minutes = 0;
    input.buses[0].weekdays = vec![0];
    let mut east = bus("B2");
    (east.depot, east.break_minutes, east.weekdays) = (5, 0, vec![0]);
    input.buses.push(east);
    input.counsellors.push(counsellor("C2"));
    let plan = plan_checked(&input, &travel);
    assert_eq!(plan.figures.visits_planned, 4, "{:?}", plan.unmet);
    for t in &plan.tours {
        assert_eq!(t.break_start, None);
        let west = plan.visits[t.visits[0]].village.starts_with('W');
        assert_eq!(t.bus == "B1", west, "each bus takes its own end: {t:?}");
    }
    // Two 4-hour visits with travel fill a 9-hour day only without a break: 10 + 240 + 10 +
    // 240 + 20 = 520 minutes of 540.
    assert_eq!(plan.tours.len(), 2);
}

#[test]
fn every_start_is_on_the_grid_replacements_too() {
    let mut replacements = 0;
    for (step, (mut input, travel)) in [
        (15, demo(2)),
        (20, generate::county(40, 2, 3)),
        (30, small()),
        (60, demo(5)),
    ] {
        input.start_step_minutes = step;
        let plan = plan_checked(&input, &travel);
        for p in &plan.patterns {
            assert_eq!(p.start % step, 0, "step {step}: {p:?}");
        }
        for v in &plan.visits {
            assert_eq!(v.start % step, 0, "step {step}: {v:?}");
        }
        replacements += plan.figures.replacements;
    }
    assert!(replacements > 0, "no replacement was tested");
    // Without rounding the same county has starts off the quarter hour.
    let (mut input, travel) = demo(2);
    input.start_step_minutes = 1;
    let plan = plan_checked(&input, &travel);
    assert!(plan.visits.iter().any(|v| v.start % 15 != 0));
}

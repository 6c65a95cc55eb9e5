//! The independent checker catches hand-broken plans, one rule at a time.

use planner::tours::{self, TourInput, TourPlan};
use planner::travel::TravelMatrix;

use super::{bus, counsellor, line, plan_checked, small, village};

/// A valid plan of the small region, broken by `change`; the checker's findings.
fn broken(change: impl FnOnce(&mut TourInput, &mut TourPlan)) -> Vec<String> {
    let (mut input, travel) = small();
    let mut plan = plan_checked(&input, &travel);
    change(&mut input, &mut plan);
    tours::check(&input, &travel, &plan)
}

fn finds(violations: &[String], needle: &str) {
    assert!(
        violations.iter().any(|v| v.contains(needle)),
        "no {needle:?} in {violations:#?}"
    );
}

/// The tour holding visit `i`.
fn tour_of(plan: &mut TourPlan, i: usize) -> &mut tours::DayTour {
    plan.tours
        .iter_mut()
        .find(|t| t.visits.contains(&i))
        .expect("every visit is in a tour")
}

#[test]
fn working_hours() {
    finds(
        &broken(|_, p| p.tours[0].leaves = 400),
        "before the day starts",
    );
    finds(
        &broken(|_, p| p.tours[0].returns = 1100),
        "after the day ends",
    );
}

#[test]
fn travel_between_stops() {
    // The first visit starts as the bus leaves: no time to drive there.
    let v = broken(|_, p| {
        let t = &mut p.tours[0];
        t.leaves = p.visits[t.visits[0]].start;
    });
    finds(&v, "for a leg needing");
    // Back at the depot the minute the last visit ends.
    let v = broken(|_, p| {
        let t = &mut p.tours[0];
        t.returns = p.visits[*t.visits.last().expect("visits")].end;
        t.break_start = None;
    });
    finds(&v, "for a leg needing");
}

#[test]
fn breaks() {
    finds(&broken(|_, p| p.tours[0].break_start = None), "no break");
    finds(
        &broken(|_, p| p.tours[0].break_start = Some(600)),
        "outside",
    );
    // A break on top of a visit.
    let v = broken(|_, p| {
        let first = p.tours[0].visits[0];
        let start = p.visits[first].start;
        p.tours[0].break_start = Some(start);
        p.tours[0].leaves = p.tours[0].leaves.min(start);
    });
    finds(&v, "overlaps a visit");
}

#[test]
fn closed_and_blocked_days() {
    finds(
        &broken(|i, p| i.closed_days.push(p.visits[0].day)),
        "on a closed day",
    );
    finds(
        &broken(|i, p| i.buses[0].blocked_days.push(p.visits[0].day)),
        "blocked",
    );
}

#[test]
fn counsellors() {
    finds(
        &broken(|i, p| i.counsellors[0].absent_days.push(p.visits[0].day)),
        "not available",
    );
    // Two buses on the same day with the same counsellor.
    let travel: TravelMatrix = line(&[0.0, 10.0, 20.0, 30.0, 40.0]);
    let mut input = super::input(
        1,
        (1..=4)
            .map(|i| village(&format!("V{i}"), i, 1, 200))
            .collect(),
    );
    input.buses = vec![bus("B1"), bus("B2")];
    for b in &mut input.buses {
        b.weekdays = vec![0];
    }
    input.counsellors.push(counsellor("C2"));
    let mut plan = plan_checked(&input, &travel);
    assert_eq!(plan.tours.len(), 2);
    let c = plan.tours[0].counsellor.clone();
    plan.tours[1].counsellor = c.clone();
    for &i in &plan.tours[1].visits.clone() {
        plan.visits[i].counsellor = c.clone();
    }
    finds(&tours::check(&input, &travel, &plan), "on two buses");
}

#[test]
fn patterns() {
    // A regular visit at another time than its pattern.
    let v = broken(|_, p| {
        p.visits[0].start += 5;
        p.visits[0].end += 5;
    });
    finds(&v, "differs from its pattern");
    // A second visit of a village in one week.
    let v = broken(|_, p| {
        let dup = p.visits[0].clone();
        p.visits.push(dup);
        let i = p.visits.len() - 1;
        tour_of(p, 0).visits.push(i);
    });
    finds(&v, "2 visits in week");
    // A visit in a week that is not the pattern's.
    let v = broken(|_, p| {
        let i = p
            .visits
            .iter()
            .position(|v| v.village == "Roklum")
            .expect("Roklum is visited");
        let pattern = p
            .patterns
            .iter()
            .find(|x| x.village == "Roklum")
            .expect("pattern");
        let other = (pattern.week_offset + 1) % 4;
        let day = p.visits[i].day % 7 + other * 7;
        p.visits[i].day = day;
        tour_of(p, i).day = day;
    });
    finds(&v, "not one of its pattern's weeks");
    // A replacement although the pattern day has its regular visit.
    let v = broken(|_, p| {
        let i = p
            .visits
            .iter()
            .position(|v| v.village == "Dahlum")
            .expect("Dahlum is visited");
        let mut extra = p.visits[i].clone();
        extra.replacement = true;
        extra.day = if extra.day % 7 == 4 {
            extra.day - 1
        } else {
            extra.day + 1
        };
        p.visits.push(extra);
    });
    finds(&v, "replacement in week");
    // A pattern or a visit off the start grid (15 minutes in the small region).
    let v = broken(|_, p| {
        p.patterns[0].start += 5;
        p.patterns[0].end += 5;
    });
    finds(&v, "pattern starts at");
    finds(&v, "off the 15-minute grid");
    let v = broken(|_, p| {
        p.visits[0].start += 5;
        p.visits[0].end += 5;
    });
    finds(&v, "visit 0");
    finds(&v, "off the 15-minute grid");
    // The same plan against a 30-minute grid: quarter past starts are flagged.
    let (mut input, travel) = small();
    let plan = plan_checked(&input, &travel);
    input.start_step_minutes = 30;
    let quarter = plan.visits.iter().any(|v| v.start % 30 != 0);
    assert_eq!(
        quarter,
        tours::check(&input, &travel, &plan)
            .iter()
            .any(|v| v.contains("off the 30-minute grid"))
    );
    // A pattern whose bus does not work that weekday.
    finds(&broken(|_, p| p.patterns[0].weekday = 6), "does not work");
}

#[test]
fn visits_tours_and_figures_agree() {
    // A visit dropped from the plan is neither planned nor listed as unmet.
    let v = broken(|_, p| {
        let t = &mut p.tours[0];
        let last = t.visits.pop().expect("visits");
        if t.visits.is_empty() {
            p.tours.remove(0);
        }
        p.visits[last].village = "Nowhere".into();
    });
    finds(&v, "unknown village");
    finds(&v, "unmet visits for");
    finds(
        &broken(|_, p| p.tours[0].driving_seconds += 60.0),
        "driving",
    );
    finds(
        &broken(|_, p| p.figures.driving_seconds *= 0.5),
        "figures: driving_seconds",
    );
    finds(
        &broken(|_, p| p.figures.visits_planned += 1),
        "figures: visits_planned",
    );
    finds(
        &broken(|_, p| p.figures.replacements += 1),
        "figures: replacements",
    );
    finds(&broken(|_, p| p.tours[0].visits.clear()), "no visits");
}

//! Re-plans from previous patterns: what moves, and why.

use planner::tours::{self, MoveReason, TourInput, TourPlan, generate};
use planner::travel::TravelMatrix;

use super::{BUDGET, line, plan_checked, village};

fn replan(input: &TourInput, travel: &TravelMatrix, before: &TourPlan) -> TourPlan {
    let plan = tours::plan(input, travel, &before.patterns, 1, BUDGET).expect("valid input");
    let violations = tours::check(input, travel, &plan);
    assert!(violations.is_empty(), "{violations:#?}");
    // Every listed move differs, and every village that differs is listed.
    for m in &plan.moves {
        assert_ne!(m.before, m.after, "{m:?}");
    }
    for p in &plan.patterns {
        let old = before.patterns.iter().find(|o| o.village == p.village);
        let same = old.is_some_and(|o| {
            (&o.bus, o.weekday, o.week_offset, o.start)
                == (&p.bus, p.weekday, p.week_offset, p.start)
        });
        assert_eq!(
            !same,
            plan.moves.iter().any(|m| m.village == p.village),
            "{p:?}"
        );
    }
    plan
}

#[test]
fn an_identical_replan_moves_nothing() {
    for (input, travel) in [generate::county(12, 1, 1), generate::county(40, 2, 2)] {
        let first = plan_checked(&input, &travel);
        let again = replan(&input, &travel, &first);
        assert!(again.moves.is_empty(), "{:?}", again.moves);
        assert_eq!(again.patterns, first.patterns);
    }
}

#[test]
fn a_new_village_moves_only_itself_and_few_others() {
    let (input, travel) = generate::county(30, 1, 4);
    let first = plan_checked(&input, &travel);
    assert!(first.unmet.is_empty(), "{:?}", first.unmet);
    // The same county with one more village (the generator draws villages first).
    let (full, bigger_travel) = generate::county(31, 1, 4);
    let mut bigger = input.clone();
    bigger.villages.push(full.villages[30].clone());
    bigger.buses[0].depot = 31;
    let again = replan(&bigger, &bigger_travel, &first);
    let new: Vec<_> = again
        .moves
        .iter()
        .filter(|m| m.reason == MoveReason::NewVillage)
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].village, "V031");
    assert!(new[0].before.is_none() && new[0].after.is_some());
    let others = again.moves.len() - 1;
    assert!(others <= 3, "{:?}", again.moves);
    assert!(
        again
            .moves
            .iter()
            .all(|m| m.village == "V031" || m.reason == MoveReason::MadeRoom),
        "{:?}",
        again.moves
    );
}

#[test]
fn a_lost_weekday_moves_its_villages_only() {
    let (mut input, travel) = generate::county(20, 1, 5);
    let first = plan_checked(&input, &travel);
    // Take away the weekday with the most patterns.
    let mut count = [0usize; 7];
    for p in &first.patterns {
        count[usize::from(p.weekday)] += 1;
    }
    let lost = (0..7u8)
        .max_by_key(|&d| count[usize::from(d)])
        .expect("a weekday");
    assert!(count[usize::from(lost)] > 0);
    input.buses[0].weekdays.retain(|&d| d != lost);
    let again = replan(&input, &travel, &first);
    let on_lost: Vec<&str> = first
        .patterns
        .iter()
        .filter(|p| p.weekday == lost)
        .map(|p| p.village.as_str())
        .collect();
    for v in &on_lost {
        let m = again.moves.iter().find(|m| m.village == *v).expect("moved");
        assert_eq!(m.reason, MoveReason::DayLost);
    }
    let others = again.moves.len() - on_lost.len();
    assert!(others <= 3, "{:?}", again.moves);
}

#[test]
fn a_new_holiday_keeps_the_patterns_and_replaces_the_visit() {
    let travel = line(&[0.0, 10.0, 20.0, 30.0]);
    let mut input = super::input(
        2,
        vec![
            village("A", 1, 1, 90),
            village("B", 2, 2, 60),
            village("C", 3, 1, 60),
        ],
    );
    let first = plan_checked(&input, &travel);
    assert_eq!(first.figures.replacements, 0);
    let a = first.patterns.iter().find(|p| p.village == "A").expect("A");
    input.closed_days.push(7 + u32::from(a.weekday));
    let again = replan(&input, &travel, &first);
    assert!(again.moves.is_empty(), "{:?}", again.moves);
    assert!(again.figures.replacements >= 1);
    assert_eq!(again.figures.visits_planned, again.figures.visits_required);
    let r = again
        .visits
        .iter()
        .find(|v| v.replacement && v.village == "A")
        .expect("A replaced");
    assert_eq!(r.day / 7, 1);
}

#[test]
fn removed_and_changed_villages_are_reported() {
    let travel = line(&[0.0, 10.0, 20.0, 30.0]);
    let mut input = super::input(
        4,
        vec![
            village("A", 1, 1, 90),
            village("B", 2, 2, 60),
            village("C", 3, 4, 60),
        ],
    );
    let first = plan_checked(&input, &travel);
    input.villages.retain(|v| v.id != "C");
    input.villages[1].every_weeks = 4;
    let again = replan(&input, &travel, &first);
    let reason = |id: &str| {
        again
            .moves
            .iter()
            .find(|m| m.village == id)
            .map(|m| m.reason)
    };
    assert_eq!(reason("C"), Some(MoveReason::VillageRemoved));
    // B's old pattern said every two weeks; its new one says four.
    assert_eq!(reason("B"), Some(MoveReason::VillageChanged));
    assert_eq!(reason("A"), None);
    let c = again.moves.iter().find(|m| m.village == "C").expect("C");
    assert!(c.after.is_none() && c.before.is_some());
}

//! IMBUS tour planner through its public API: plans, the checker, stability, input errors.

mod check;
mod input;
mod plan;
mod stability;

use planner::tours::{
    self, Bus, Counsellor, TourBudget, TourInput, TourPlan, TourVillage, generate,
};
use planner::travel::TravelMatrix;

/// Places on a line at these positions in minutes: travel time = |a - b| minutes.
pub fn line(minutes: &[f64]) -> TravelMatrix {
    let n = minutes.len();
    let mut secs = Vec::with_capacity(n * n);
    for &a in minutes {
        for &b in minutes {
            secs.push((a - b).abs() * 60.0);
        }
    }
    let meters = secs.iter().map(|s| s * 10.0).collect();
    TravelMatrix::new(n, secs, meters).expect("well-formed line matrix")
}

/// A bus at place 0 working Monday to Friday 08:00 to 17:00, 30-minute break in 11:30..13:30.
pub fn bus(id: &str) -> Bus {
    Bus {
        id: id.into(),
        depot: 0,
        weekdays: vec![0, 1, 2, 3, 4],
        day_start: 480,
        day_end: 1020,
        break_minutes: 30,
        break_from: 690,
        break_until: 810,
        blocked_days: Vec::new(),
    }
}

pub fn counsellor(id: &str) -> Counsellor {
    Counsellor {
        id: id.into(),
        weekdays: vec![0, 1, 2, 3, 4],
        absent_days: Vec::new(),
    }
}

pub fn village(id: &str, place: usize, every_weeks: u32, visit_minutes: u32) -> TourVillage {
    TourVillage {
        id: id.into(),
        place,
        every_weeks,
        visit_minutes,
    }
}

/// One bus, one counsellor, no closed days, no rounding of starts (the hand-made cases count
/// exact minutes).
pub fn input(weeks: u32, villages: Vec<TourVillage>) -> TourInput {
    TourInput {
        weeks,
        villages,
        buses: vec![bus("B1")],
        counsellors: vec![counsellor("C1")],
        closed_days: Vec::new(),
        start_step_minutes: 1,
    }
}

pub const BUDGET: TourBudget = TourBudget { iterations: 300 };

/// Plans with seed 1 and asserts that the independent checker finds nothing.
pub fn plan_checked(input: &TourInput, travel: &TravelMatrix) -> TourPlan {
    let plan = tours::plan(input, travel, &[], 1, BUDGET).expect("valid input");
    let violations = tours::check(input, travel, &plan);
    assert!(violations.is_empty(), "{violations:#?}");
    plan
}

/// A small feasible region: six villages on a line, weekly to four-weekly, starts on the
/// quarter hour.
pub fn small() -> (TourInput, TravelMatrix) {
    let travel = line(&[0.0, 10.0, 20.0, 25.0, 35.0, 40.0, 50.0]);
    let mut input = input(
        4,
        vec![
            village("Dahlum", 1, 1, 90),
            village("Denkte", 2, 2, 60),
            village("Hedeper", 3, 2, 60),
            village("Roklum", 4, 4, 45),
            village("Uehrde", 5, 4, 45),
            village("Wittmar", 6, 1, 90),
        ],
    );
    input.start_step_minutes = 15;
    (input, travel)
}

/// The generated county at demo size (12 villages, 1 bus, 4 weeks).
pub fn demo(seed: u64) -> (TourInput, TravelMatrix) {
    generate::county(12, 1, seed)
}

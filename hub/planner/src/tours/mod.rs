//! IMBUS tours: a cyclic timetable in which every village is visited at the same weekday and
//! time, by day tours that respect working hours, breaks, closed days and travel times.
//!
//! - [`plan`] validates the input (`validate`), searches patterns (bus, weekday, week offset,
//!   start) per village (`search`: each bus's weekday has one visiting order whose start times
//!   are shared by all its weeks, `timing`), then expands them to the period with replacements
//!   for closed pattern days (`expand`) and lists the patterns that moved against `previous`.
//! - [`check`] verifies any plan independently of the search.
//! - [`lower_bound`] bounds the driving of any plan that makes all visits.
//! - [`generate::county`] makes a rural county for tests and the bench.
//!
//! Pure: no clock, randomness only from the seed, budgets in iterations, so the same input,
//! seed and budget give the same plan.

mod bound;
mod check;
mod expand;
pub mod generate;
mod model;
mod problem;
mod search;
mod timing;
mod validate;

use std::collections::BTreeMap;

pub use bound::lower_bound;
pub use check::check;
pub use model::{
    Bus, Counsellor, DayTour, Move, MoveReason, Pattern, PlannedVisit, TourBudget, TourError,
    TourFigures, TourInput, TourPlan, TourVillage, Unmet, UnmetReason,
};

use crate::travel::TravelMatrix;
use problem::Problem;
use search::{Search, Target};

/// Plans the cycle: patterns, the period's visits and tours, what is missing, the figures and,
/// against `previous` patterns (empty for a first plan), which patterns moved and why.
pub fn plan(
    input: &TourInput,
    travel: &TravelMatrix,
    previous: &[Pattern],
    seed: u64,
    budget: TourBudget,
) -> Result<TourPlan, TourError> {
    validate::validate(input, travel)?;
    let pb = Problem::new(input, travel);
    let before = first_per_village(previous);
    let targets = input
        .villages
        .iter()
        .map(|v| {
            let p = before.get(v.id.as_str())?;
            let bus = input.buses.iter().position(|b| b.id == p.bus)?;
            let fits = p.every_weeks == v.every_weeks
                && p.week_offset < v.every_weeks
                && p.end.checked_sub(p.start) == Some(v.visit_minutes)
                && input.buses[bus].weekdays.contains(&p.weekday);
            fits.then_some(Target {
                slot: bus * 7 + usize::from(p.weekday),
                offset: p.week_offset,
                start: p.start,
            })
        })
        .collect();
    let layout = Search::new(&pb, targets, seed).run(budget.iterations);
    let mut ex = expand::expand(&pb, &layout);
    ex.figures.driving_lower_bound_seconds = lower_bound(input, travel);
    let moves = moves(&pb, previous, &ex.patterns);
    Ok(TourPlan {
        patterns: ex.patterns,
        visits: ex.visits,
        tours: ex.tours,
        unmet: ex.unmet,
        figures: ex.figures,
        moves,
    })
}

/// Each village's first pattern in `patterns`.
fn first_per_village(patterns: &[Pattern]) -> BTreeMap<&str, &Pattern> {
    let mut map = BTreeMap::new();
    for p in patterns {
        map.entry(p.village.as_str()).or_insert(p);
    }
    map
}

/// Whether a resident would notice a change: village, bus, weekday, week offset or start.
fn same_appointment(a: &Pattern, b: &Pattern) -> bool {
    (&a.village, &a.bus, a.weekday, a.week_offset, a.start)
        == (&b.village, &b.bus, b.weekday, b.week_offset, b.start)
}

/// The villages whose pattern differs from `previous`: input villages in input order, then the
/// removed ones by id.
fn moves(pb: &Problem, previous: &[Pattern], after: &[Pattern]) -> Vec<Move> {
    if previous.is_empty() {
        return Vec::new();
    }
    let input = pb.input;
    let before = first_per_village(previous);
    let after = first_per_village(after);
    let mut moves = Vec::new();
    for v in &input.villages {
        let (b, a) = (before.get(v.id.as_str()), after.get(v.id.as_str()));
        let reason = match (b, a) {
            (None, None) => continue,
            (Some(b), Some(a)) if same_appointment(b, a) => continue,
            (None, Some(_)) => MoveReason::NewVillage,
            (Some(b), _) => {
                if b.every_weeks != v.every_weeks
                    || b.end.checked_sub(b.start) != Some(v.visit_minutes)
                    || b.week_offset >= v.every_weeks
                {
                    MoveReason::VillageChanged
                } else if day_lost(pb, b) {
                    MoveReason::DayLost
                } else {
                    MoveReason::MadeRoom
                }
            }
        };
        moves.push(Move {
            village: v.id.clone(),
            before: b.map(|p| (*p).clone()),
            after: a.map(|p| (*p).clone()),
            reason,
        });
    }
    for (id, p) in &before {
        if !input.villages.iter().any(|v| v.id == *id) {
            moves.push(Move {
                village: id.to_string(),
                before: Some((*p).clone()),
                after: None,
                reason: MoveReason::VillageRemoved,
            });
        }
    }
    moves
}

/// Whether the old pattern's bus is gone, no longer works its weekday, or cannot drive on one
/// of its days.
fn day_lost(pb: &Problem, p: &Pattern) -> bool {
    let Some(bus) = pb.input.buses.iter().position(|b| b.id == p.bus) else {
        return true;
    };
    if !pb.input.buses[bus].weekdays.contains(&p.weekday) {
        return true;
    }
    let every = p.every_weeks.max(1);
    (p.week_offset..pb.weeks)
        .step_by(every as usize)
        .any(|week| !pb.usable(bus, week * 7 + u32::from(p.weekday)))
}

//! A lower bound on the driving of any plan that makes every required visit.
//!
//! Every visit is reached by exactly one arc into its village: from the depot or from the
//! previous village of the day (two visits of one tour are never in the same village, since a
//! village has at most one visit a week). So the arcs into villages cost at least
//! `sum over villages of required visits * cheapest arc into the village from any other place
//! (another village's place or a depot)`. Every tour also ends with one arc from a village back
//! to a depot, which is not an arc into a village, so each tour adds at least the cheapest arc
//! from a village to a depot. The number of tours is at least each of:
//! - `ceil(visits / floor((day_end - day_start - break) / shortest visit))`: visits do not
//!   overlap each other or the break and lie in the working day;
//! - `ceil(sum over visits of (visit minutes + cheapest arrival in whole minutes) / longest
//!   working day without its break)`: each visit's arrival leg and stay are disjoint stretches
//!   of its tour (a gap holds its leg and, if there, the break);
//! - the number of weeks, if some village is visited weekly (every week needs a tour).
//!
//! Arc sums use exact seconds; only the minute count rounds legs up, as every plan's times do.

use crate::travel::TravelMatrix;

use super::model::TourInput;

/// The bound in seconds; 0 for input the planner would refuse, or without buses.
pub fn lower_bound(input: &TourInput, travel: &TravelMatrix) -> f64 {
    if super::validate::validate(input, travel).is_err()
        || input.buses.is_empty()
        || input.villages.is_empty()
    {
        return 0.0;
    }
    let villages = &input.villages;
    let mut arrivals = 0.0;
    let mut visits = 0u64;
    let mut busy_minutes = 0u64;
    for (i, v) in villages.iter().enumerate() {
        let from_villages = villages
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, u)| travel.seconds(u.place, v.place));
        let from_depots = input.buses.iter().map(|b| travel.seconds(b.depot, v.place));
        let cheapest = from_villages
            .chain(from_depots)
            .fold(f64::INFINITY, f64::min);
        let required = u64::from(input.weeks / v.every_weeks);
        arrivals += required as f64 * cheapest;
        visits += required;
        busy_minutes +=
            required * (u64::from(v.visit_minutes) + u64::from(super::problem::minutes(cheapest)));
    }
    let shortest = villages
        .iter()
        .map(|v| v.visit_minutes)
        .min()
        .expect("villages is not empty");
    let longest_day = input
        .buses
        .iter()
        .map(|b| u64::from((b.day_end - b.day_start).saturating_sub(b.break_minutes)))
        .max()
        .unwrap_or(0);
    let per_tour = longest_day / u64::from(shortest);
    if per_tour == 0 {
        // No visit fits any working day: no plan makes the visits, any bound is valid.
        return arrivals;
    }
    let weekly = villages.iter().any(|v| v.every_weeks == 1);
    let tours = visits
        .div_ceil(per_tour)
        .max(busy_minutes.div_ceil(longest_day))
        .max(if weekly { u64::from(input.weeks) } else { 0 });
    let home = villages
        .iter()
        .flat_map(|v| input.buses.iter().map(|b| travel.seconds(v.place, b.depot)))
        .fold(f64::INFINITY, f64::min);
    arrivals + tours as f64 * home
}

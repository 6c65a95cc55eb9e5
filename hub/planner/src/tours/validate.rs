//! Input checks of the tour planner: every refusal names the offending field, e.g.
//! `villages[3].every_weeks`.

use std::collections::BTreeSet;

use crate::travel::TravelMatrix;

use super::model::{TourError, TourInput};

/// Minutes in a day: times of day lie in `0..=MINUTES_PER_DAY`.
const MINUTES_PER_DAY: u32 = 24 * 60;

/// Size limits: the planner keeps a travel table over villages and depots (quadratic memory)
/// and a county has far fewer villages and buses than this.
const MAX_VILLAGES: usize = 2000;
const MAX_BUSES: usize = 50;
const MAX_COUNSELLORS: usize = 500;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> TourError {
    TourError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(crate) fn validate(input: &TourInput, travel: &TravelMatrix) -> Result<(), TourError> {
    if !(1..=8).contains(&input.weeks) {
        return Err(invalid("weeks", "must be 1 to 8"));
    }
    let step = input.start_step_minutes;
    if !(1..=60).contains(&step) || !60u32.is_multiple_of(step) {
        return Err(invalid(
            "start_step_minutes",
            "must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)",
        ));
    }
    for (field, len, max) in [
        ("villages", input.villages.len(), MAX_VILLAGES),
        ("buses", input.buses.len(), MAX_BUSES),
        ("counsellors", input.counsellors.len(), MAX_COUNSELLORS),
    ] {
        if len > max {
            return Err(invalid(field, format!("{len} entries, at most {max}")));
        }
    }
    let days = input.weeks * 7;
    let day_in_period = |field: String, day: u32| {
        if day < days {
            Ok(())
        } else {
            Err(invalid(
                field,
                format!("day {day} is outside the period of {days} days"),
            ))
        }
    };
    let place = |field: String, place: usize| {
        if place < travel.len() {
            Ok(())
        } else {
            Err(invalid(
                field,
                format!(
                    "place {place} is not in the travel matrix of {} places",
                    travel.len()
                ),
            ))
        }
    };
    let weekdays = |field: String, weekdays: &[u8]| {
        for (j, &w) in weekdays.iter().enumerate() {
            if w > 6 {
                return Err(invalid(
                    format!("{field}[{j}]"),
                    "must be 0 (Monday) to 6 (Sunday)",
                ));
            }
            if weekdays[..j].contains(&w) {
                return Err(invalid(format!("{field}[{j}]"), "is listed twice"));
            }
        }
        Ok(())
    };
    let id = |field: String, id: &str, seen: &mut BTreeSet<String>| {
        if id.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
        if !seen.insert(id.to_string()) {
            return Err(invalid(field, format!("{id:?} is used twice")));
        }
        Ok(())
    };

    let mut seen = BTreeSet::new();
    for (i, v) in input.villages.iter().enumerate() {
        let f = |name: &str| format!("villages[{i}].{name}");
        id(f("id"), &v.id, &mut seen)?;
        place(f("place"), v.place)?;
        if v.every_weeks == 0 || !input.weeks.is_multiple_of(v.every_weeks) {
            return Err(invalid(
                f("every_weeks"),
                format!("must divide the cycle of {} weeks", input.weeks),
            ));
        }
        if v.visit_minutes == 0 || v.visit_minutes > MINUTES_PER_DAY {
            return Err(invalid(f("visit_minutes"), "must be 1 to 1440"));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, b) in input.buses.iter().enumerate() {
        let f = |name: &str| format!("buses[{i}].{name}");
        id(f("id"), &b.id, &mut seen)?;
        place(f("depot"), b.depot)?;
        weekdays(f("weekdays"), &b.weekdays)?;
        if b.day_end > MINUTES_PER_DAY {
            return Err(invalid(f("day_end"), "must be at most 1440 (midnight)"));
        }
        if b.day_start >= b.day_end {
            return Err(invalid(f("day_start"), "must be before day_end"));
        }
        if b.break_minutes > 0 {
            if b.break_until > MINUTES_PER_DAY {
                return Err(invalid(f("break_until"), "must be at most 1440 (midnight)"));
            }
            if b.break_from >= b.break_until {
                return Err(invalid(f("break_from"), "must be before break_until"));
            }
            if b.break_minutes > b.break_until - b.break_from {
                return Err(invalid(
                    f("break_minutes"),
                    "must fit between break_from and break_until",
                ));
            }
        }
        for (j, &d) in b.blocked_days.iter().enumerate() {
            day_in_period(f(&format!("blocked_days[{j}]")), d)?;
        }
    }
    let mut seen = BTreeSet::new();
    for (i, c) in input.counsellors.iter().enumerate() {
        let f = |name: &str| format!("counsellors[{i}].{name}");
        id(f("id"), &c.id, &mut seen)?;
        weekdays(f("weekdays"), &c.weekdays)?;
        for (j, &d) in c.absent_days.iter().enumerate() {
            day_in_period(f(&format!("absent_days[{j}]")), d)?;
        }
    }
    for (j, &d) in input.closed_days.iter().enumerate() {
        day_in_period(format!("closed_days[{j}]"), d)?;
    }
    let places: BTreeSet<usize> = input
        .villages
        .iter()
        .map(|v| v.place)
        .chain(input.buses.iter().map(|b| b.depot))
        .collect();
    for &a in &places {
        for &b in &places {
            let s = travel.seconds(a, b);
            if !s.is_finite() || s < 0.0 {
                return Err(invalid(
                    "travel",
                    format!("travel time from place {a} to {b} is {s}"),
                ));
            }
        }
    }
    Ok(())
}

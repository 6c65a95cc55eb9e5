//! Independent verifier of tour plans. It shares nothing with the search but the model: it reads
//! the public [`TourPlan`] and tests every rule directly, naming each violation in a sentence.

use std::collections::{BTreeMap, BTreeSet};

use crate::travel::TravelMatrix;

use super::model::{Pattern, TourInput, TourPlan};

/// Slack for comparing sums of seconds.
const TOLERANCE_SECONDS: f64 = 1e-6;

/// Every rule `plan` breaks for `input` and `travel`; empty if the plan is sound.
pub fn check(input: &TourInput, travel: &TravelMatrix, plan: &TourPlan) -> Vec<String> {
    let mut out = Vec::new();
    let days = input.weeks * 7;
    let step = input.start_step_minutes.max(1);
    let villages: BTreeMap<&str, usize> = input
        .villages
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id.as_str(), i))
        .collect();
    let buses: BTreeMap<&str, usize> = input
        .buses
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.as_str(), i))
        .collect();
    let counsellors: BTreeMap<&str, usize> = input
        .counsellors
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    // Travel between matrix places: exact seconds and whole minutes rounded up.
    let leg = |from: usize, to: usize| -> Option<(f64, u32)> {
        (from < travel.len() && to < travel.len()).then(|| {
            let s = travel.seconds(from, to);
            (s, (s / 60.0).ceil().min(f64::from(u32::MAX / 4)) as u32)
        })
    };
    let counsellor_free = |c: usize, day: u32| {
        let c = &input.counsellors[c];
        c.weekdays.contains(&((day % 7) as u8)) && !c.absent_days.contains(&day)
    };

    // Patterns.
    let mut pattern_of: BTreeMap<usize, &Pattern> = BTreeMap::new();
    for (i, p) in plan.patterns.iter().enumerate() {
        let Some(&v) = villages.get(p.village.as_str()) else {
            out.push(format!("pattern {i}: unknown village {:?}", p.village));
            continue;
        };
        let village = &input.villages[v];
        if pattern_of.insert(v, p).is_some() {
            out.push(format!("village {}: more than one pattern", village.id));
        }
        if p.every_weeks != village.every_weeks {
            out.push(format!(
                "village {}: pattern every {} weeks, village every {}",
                village.id, p.every_weeks, village.every_weeks
            ));
        }
        if p.week_offset >= village.every_weeks.max(1) {
            out.push(format!(
                "village {}: week offset {} not below every_weeks",
                village.id, p.week_offset
            ));
        }
        if p.end != p.start + village.visit_minutes {
            out.push(format!(
                "village {}: pattern {}..{} is not {} minutes long",
                village.id, p.start, p.end, village.visit_minutes
            ));
        }
        if !p.start.is_multiple_of(step) {
            out.push(format!(
                "village {}: pattern starts at {}, off the {step}-minute grid",
                village.id, p.start
            ));
        }
        match buses.get(p.bus.as_str()) {
            None => out.push(format!(
                "village {}: pattern on unknown bus {:?}",
                village.id, p.bus
            )),
            Some(&b) if !input.buses[b].weekdays.contains(&p.weekday) => out.push(format!(
                "village {}: pattern on weekday {}, when bus {} does not work",
                village.id, p.weekday, p.bus
            )),
            Some(_) => {}
        }
    }

    // Visits, one by one.
    let mut per_week: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
    for (i, visit) in plan.visits.iter().enumerate() {
        let Some(&v) = villages.get(visit.village.as_str()) else {
            out.push(format!("visit {i}: unknown village {:?}", visit.village));
            continue;
        };
        let village = &input.villages[v];
        let name = format!("visit {i} ({} on day {})", village.id, visit.day);
        if visit.day >= days {
            out.push(format!("{name}: day outside the period"));
            continue;
        }
        let (week, weekday) = (visit.day / 7, (visit.day % 7) as u8);
        per_week.entry((v, week)).or_default().push(i);
        if visit.end != visit.start + village.visit_minutes {
            out.push(format!(
                "{name}: lasts {} minutes, not {}",
                visit.end.saturating_sub(visit.start),
                village.visit_minutes
            ));
        }
        if !visit.start.is_multiple_of(step) {
            out.push(format!(
                "{name}: starts at {}, off the {step}-minute grid",
                visit.start
            ));
        }
        if input.closed_days.contains(&visit.day) {
            out.push(format!("{name}: on a closed day"));
        }
        match buses.get(visit.bus.as_str()) {
            None => out.push(format!("{name}: unknown bus {:?}", visit.bus)),
            Some(&b) => {
                let bus = &input.buses[b];
                if bus.blocked_days.contains(&visit.day) {
                    out.push(format!("{name}: bus {} is blocked that day", bus.id));
                }
                if !bus.weekdays.contains(&weekday) {
                    out.push(format!("{name}: bus {} does not work that weekday", bus.id));
                }
            }
        }
        match counsellors.get(visit.counsellor.as_str()) {
            None => out.push(format!("{name}: unknown counsellor {:?}", visit.counsellor)),
            Some(&c) if !counsellor_free(c, visit.day) => out.push(format!(
                "{name}: counsellor {} is not available that day",
                visit.counsellor
            )),
            Some(_) => {}
        }
        let Some(p) = pattern_of.get(&v) else {
            out.push(format!("{name}: the village has no pattern"));
            continue;
        };
        let pattern_week = week % p.every_weeks.max(1) == p.week_offset;
        if !pattern_week {
            out.push(format!(
                "{name}: week {week} is not one of its pattern's weeks"
            ));
        }
        if !visit.replacement
            && (visit.bus != p.bus
                || weekday != p.weekday
                || visit.start != p.start
                || visit.end != p.end)
        {
            out.push(format!(
                "{name}: regular visit differs from its pattern (bus, weekday or time)"
            ));
        }
    }
    for (&(v, week), list) in &per_week {
        let id = &input.villages[v].id;
        if list.len() > 1 {
            out.push(format!(
                "village {id}: {} visits in week {week}",
                list.len()
            ));
        }
        for &i in list {
            let visit = &plan.visits[i];
            if visit.replacement
                && let Some(p) = pattern_of.get(&v)
            {
                let pattern_day = week * 7 + u32::from(p.weekday);
                let regular = list
                    .iter()
                    .any(|&j| !plan.visits[j].replacement && plan.visits[j].day == pattern_day);
                if regular {
                    out.push(format!(
                        "village {id}: replacement in week {week} although its pattern day has its visit"
                    ));
                }
            }
        }
    }

    // Tours.
    let mut in_tour = vec![0u32; plan.visits.len()];
    let mut bus_days = BTreeSet::new();
    let mut counsellor_days = BTreeSet::new();
    for (t, tour) in plan.tours.iter().enumerate() {
        let name = format!("tour {t} (bus {} on day {})", tour.bus, tour.day);
        let Some(&b) = buses.get(tour.bus.as_str()) else {
            out.push(format!("{name}: unknown bus"));
            continue;
        };
        let bus = &input.buses[b];
        if !bus_days.insert((b, tour.day)) {
            out.push(format!("{name}: the bus has two tours that day"));
        }
        if tour.day >= days {
            out.push(format!("{name}: day outside the period"));
        }
        if input.closed_days.contains(&tour.day) {
            out.push(format!("{name}: on a closed day"));
        }
        if bus.blocked_days.contains(&tour.day) {
            out.push(format!("{name}: the bus is blocked that day"));
        }
        match counsellors.get(tour.counsellor.as_str()) {
            None => out.push(format!("{name}: unknown counsellor {:?}", tour.counsellor)),
            Some(&c) => {
                if !counsellor_free(c, tour.day) {
                    out.push(format!(
                        "{name}: counsellor {} is not available that day",
                        tour.counsellor
                    ));
                }
                if !counsellor_days.insert((c, tour.day)) {
                    out.push(format!(
                        "{name}: counsellor {} is on two buses that day",
                        tour.counsellor
                    ));
                }
            }
        }
        if tour.visits.is_empty() {
            out.push(format!("{name}: no visits"));
            continue;
        }
        // The stops in driving order: (place, arrive, depart).
        let mut stops = Vec::new();
        let mut bad = false;
        for &i in &tour.visits {
            let Some(visit) = plan.visits.get(i) else {
                out.push(format!("{name}: visit index {i} out of range"));
                bad = true;
                continue;
            };
            in_tour[i] += 1;
            if visit.bus != tour.bus || visit.day != tour.day || visit.counsellor != tour.counsellor
            {
                out.push(format!(
                    "{name}: visit {i} has another bus, day or counsellor"
                ));
            }
            match villages.get(visit.village.as_str()) {
                Some(&v) => stops.push((input.villages[v].place, visit.start, visit.end)),
                None => bad = true,
            }
        }
        if bad {
            continue;
        }
        if tour.leaves < bus.day_start {
            out.push(format!(
                "{name}: leaves at {} before the day starts",
                tour.leaves
            ));
        }
        if tour.returns > bus.day_end {
            out.push(format!(
                "{name}: returns at {} after the day ends",
                tour.returns
            ));
        }
        // Gaps: (from time, to time, minutes of travel, seconds of travel).
        let mut gaps = Vec::new();
        let mut from = (bus.depot, tour.leaves);
        for &(place, start, end) in &stops {
            let Some((secs, mins)) = leg(from.0, place) else {
                out.push(format!("{name}: place outside the travel matrix"));
                bad = true;
                break;
            };
            gaps.push((from.1, start, mins, secs));
            from = (place, end);
        }
        if bad {
            continue;
        }
        let Some((secs, mins)) = leg(from.0, bus.depot) else {
            out.push(format!("{name}: depot outside the travel matrix"));
            continue;
        };
        gaps.push((from.1, tour.returns, mins, secs));
        let brk = bus.break_minutes;
        let break_gap = match tour.break_start {
            None if brk > 0 => {
                out.push(format!("{name}: no break"));
                None
            }
            None => None,
            Some(_) if brk == 0 => {
                out.push(format!("{name}: a break for a bus without one"));
                None
            }
            Some(s) => {
                if s < bus.break_from || s + brk > bus.break_until {
                    out.push(format!(
                        "{name}: break {s}..{} outside {}..{}",
                        s + brk,
                        bus.break_from,
                        bus.break_until
                    ));
                }
                let gap = gaps.iter().position(|&(a, c, _, _)| a <= s && s + brk <= c);
                if gap.is_none() {
                    out.push(format!(
                        "{name}: break at {s} overlaps a visit or lies outside the tour"
                    ));
                }
                gap
            }
        };
        let mut driving = 0.0;
        for (g, &(a, c, mins, secs)) in gaps.iter().enumerate() {
            driving += secs;
            let need = mins + if break_gap == Some(g) { brk } else { 0 };
            if c < a || c - a < need {
                out.push(format!(
                    "{name}: {} minutes between {a} and {c} for a leg needing {need}",
                    c.saturating_sub(a)
                ));
            }
        }
        if (driving - tour.driving_seconds).abs() > TOLERANCE_SECONDS * (1.0 + driving) {
            out.push(format!(
                "{name}: driving {} s stated, {driving} s driven",
                tour.driving_seconds
            ));
        }
    }
    for (i, &count) in in_tour.iter().enumerate() {
        if count != 1 {
            out.push(format!("visit {i}: in {count} tours instead of one"));
        }
    }

    // Every required visit is planned or listed as unmet.
    let mut unmet: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for u in &plan.unmet {
        match villages.get(u.village.as_str()) {
            Some(&v) => unmet.entry(v).or_default().push(u.week),
            None => out.push(format!("unmet: unknown village {:?}", u.village)),
        }
    }
    let mut met = 0;
    for (v, village) in input.villages.iter().enumerate() {
        let required = input.weeks / village.every_weeks.max(1);
        let planned = per_week
            .iter()
            .filter(|((u, _), _)| *u == v)
            .map(|(_, l)| l.len() as u32)
            .sum::<u32>();
        let weeks = unmet.get(&v).cloned().unwrap_or_default();
        if planned + weeks.len() as u32 != required {
            out.push(format!(
                "village {}: {planned} planned and {} unmet visits for {required} required",
                village.id,
                weeks.len()
            ));
        }
        for w in &weeks {
            if per_week.contains_key(&(v, *w)) {
                out.push(format!(
                    "village {}: week {w} listed as unmet but visited",
                    village.id
                ));
            }
        }
        if planned >= required {
            met += 1;
        }
    }

    // Figures.
    let f = &plan.figures;
    let required: u32 = input
        .villages
        .iter()
        .map(|v| input.weeks / v.every_weeks.max(1))
        .sum();
    let replacements = plan.visits.iter().filter(|v| v.replacement).count() as u32;
    let driving: f64 = plan.tours.iter().map(|t| t.driving_seconds).sum();
    for (what, stated, actual) in [
        ("visits_required", f.visits_required, required),
        ("visits_planned", f.visits_planned, plan.visits.len() as u32),
        ("villages_met", f.villages_met, met),
        ("villages", f.villages, input.villages.len() as u32),
        ("replacements", f.replacements, replacements),
    ] {
        if stated != actual {
            out.push(format!(
                "figures: {what} is {stated}, the plan has {actual}"
            ));
        }
    }
    if (f.driving_seconds - driving).abs() > TOLERANCE_SECONDS * (1.0 + driving) {
        out.push(format!(
            "figures: driving_seconds is {}, the tours drive {driving}",
            f.driving_seconds
        ));
    }
    out
}

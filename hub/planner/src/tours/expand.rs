//! From patterns to the period: the regular visits of every pattern week, replacement visits
//! for pattern days a bus cannot drive, the day tours with their counsellor and break, what is
//! missing, and the figures.

use std::collections::BTreeMap;

use super::model::{DayTour, Pattern, PlannedVisit, TourFigures, Unmet, UnmetReason};
use super::problem::Problem;
use super::search::Layout;
use super::timing::{day_times, round_down, round_up};

/// A visit on a concrete day, before ids are filled in.
#[derive(Clone, Copy, Debug)]
struct Stop {
    village: usize,
    start: u32,
    end: u32,
    replacement: bool,
}

/// The parts of a [`super::TourPlan`] a layout decides (all but the moves).
pub(crate) struct Expanded {
    pub patterns: Vec<Pattern>,
    pub visits: Vec<PlannedVisit>,
    pub tours: Vec<DayTour>,
    pub unmet: Vec<Unmet>,
    pub figures: TourFigures,
}

pub(crate) fn expand(pb: &Problem, layout: &Layout) -> Expanded {
    let input = pb.input;
    let mut patterns = Vec::new();
    // (day, bus) -> stops in time order.
    let mut days: BTreeMap<(u32, usize), Vec<Stop>> = BTreeMap::new();
    // (week, village, pattern start) of pattern visits whose day the bus cannot drive.
    let mut lost = Vec::new();
    let mut unmet = Vec::new();
    for v in 0..pb.n {
        let village = &input.villages[v];
        let Some(slot) = layout.slot_of[v] else {
            let reachable = pb.reach.iter().any(|r| r[v]);
            for week in (0..pb.weeks).step_by(village.every_weeks as usize) {
                unmet.push(Unmet {
                    village: village.id.clone(),
                    week,
                    reason: if reachable {
                        UnmetReason::NoRoom
                    } else {
                        UnmetReason::Unreachable
                    },
                });
            }
            continue;
        };
        let (bus, weekday) = (slot / 7, (slot % 7) as u32);
        let pos = layout.seqs[slot]
            .iter()
            .position(|&u| u == v)
            .expect("a placed village is in its slot's sequence");
        let start = layout.evals[slot].starts[pos];
        let end = start + village.visit_minutes;
        let offset = layout.offset[v];
        patterns.push(Pattern {
            village: village.id.clone(),
            bus: input.buses[bus].id.clone(),
            weekday: weekday as u8,
            week_offset: offset,
            every_weeks: village.every_weeks,
            start,
            end,
        });
        for week in (offset..pb.weeks).step_by(village.every_weeks as usize) {
            let day = week * 7 + weekday;
            if pb.usable(bus, day) {
                days.entry((day, bus)).or_default().push(Stop {
                    village: v,
                    start,
                    end,
                    replacement: false,
                });
            } else {
                lost.push((week, v, start));
            }
        }
    }
    for stops in days.values_mut() {
        stops.sort_by_key(|s| s.start);
    }
    lost.sort_unstable();
    for (week, v, start) in lost {
        if !replace(pb, &mut days, week, v, start) {
            unmet.push(Unmet {
                village: input.villages[v].id.clone(),
                week,
                reason: UnmetReason::NoRoom,
            });
        }
    }
    unmet.sort_by(|a, b| (a.week, &a.village).cmp(&(b.week, &b.village)));

    let mut visits = Vec::new();
    let mut tours = Vec::new();
    for (&(day, bus), stops) in &days {
        if stops.is_empty() {
            continue;
        }
        let counsellor = pb.staff[bus][day as usize].expect("only staffed days get visits");
        let counsellor = input.counsellors[counsellor].id.clone();
        let plain: Vec<(usize, u32, u32)> =
            stops.iter().map(|s| (s.village, s.start, s.end)).collect();
        let depot = pb.depot(bus);
        // The search only builds days that fit; should one not, the fallback times let
        // `check` report it rather than hiding the day.
        let times = day_times(pb, bus, &plain).unwrap_or(super::timing::DayTimes {
            leaves: stops[0]
                .start
                .saturating_sub(pb.mins(depot, stops[0].village)),
            returns: stops[stops.len() - 1].end + pb.mins(stops[stops.len() - 1].village, depot),
            break_start: None,
        });
        let mut driving = 0.0;
        let mut at = depot;
        let mut indices = Vec::new();
        for s in stops {
            driving += pb.secs(at, s.village);
            at = s.village;
            indices.push(visits.len());
            visits.push(PlannedVisit {
                village: input.villages[s.village].id.clone(),
                bus: input.buses[bus].id.clone(),
                counsellor: counsellor.clone(),
                day,
                start: s.start,
                end: s.end,
                replacement: s.replacement,
            });
        }
        driving += pb.secs(at, depot);
        tours.push(DayTour {
            bus: input.buses[bus].id.clone(),
            counsellor,
            day,
            leaves: times.leaves,
            returns: times.returns,
            break_start: times.break_start,
            visits: indices,
            driving_seconds: driving,
        });
    }

    let mut planned = vec![0u32; pb.n];
    let index: BTreeMap<&str, usize> = input
        .villages
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id.as_str(), i))
        .collect();
    for visit in &visits {
        planned[index[visit.village.as_str()]] += 1;
    }
    let figures = TourFigures {
        visits_required: (0..pb.n).map(|v| pb.required(v)).sum(),
        visits_planned: visits.len() as u32,
        villages_met: (0..pb.n).filter(|&v| planned[v] >= pb.required(v)).count() as u32,
        villages: pb.n as u32,
        driving_seconds: tours.iter().map(|t| t.driving_seconds).sum(),
        driving_lower_bound_seconds: 0.0,
        replacements: visits.iter().filter(|v| v.replacement).count() as u32,
    };
    Expanded {
        patterns,
        visits,
        tours,
        unmet,
        figures,
    }
}

/// Puts a replacement for village `v`'s lost visit in `week` on some bus day of that week:
/// at the pattern's time if any day has room for it there, else at the cheapest place, always
/// starting on the start grid.
fn replace(
    pb: &Problem,
    days: &mut BTreeMap<(u32, usize), Vec<Stop>>,
    week: u32,
    v: usize,
    pattern_start: u32,
) -> bool {
    let len = pb.input.villages[v].visit_minutes;
    let step = pb.input.start_step_minutes;
    // (same time?, extra driving, day, bus, position, start); smaller is better.
    let mut best: Option<Rank> = None;
    for day in week * 7..week * 7 + 7 {
        for bus in 0..pb.input.buses.len() {
            if !pb.usable(bus, day) {
                continue;
            }
            let depot = pb.depot(bus);
            let empty = Vec::new();
            let stops = days.get(&(day, bus)).unwrap_or(&empty);
            let b = &pb.input.buses[bus];
            for pos in 0..=stops.len() {
                let (prev, prev_free) = match pos {
                    0 => (depot, b.day_start),
                    _ => (stops[pos - 1].village, stops[pos - 1].end),
                };
                let next = stops.get(pos).map_or(depot, |s| s.village);
                let extra = pb.secs(prev, v) + pb.secs(v, next) - pb.secs(prev, next);
                let earliest = round_up(prev_free + pb.mins(prev, v), step);
                let latest = stops
                    .get(pos)
                    .and_then(|s| s.start.checked_sub(pb.mins(v, s.village) + len))
                    .map(|t| round_down(t, step));
                let mut candidates = vec![pattern_start, earliest];
                candidates.extend(latest);
                for start in candidates {
                    let same = start == pattern_start;
                    let rank = (!same, extra, day, bus, pos, start);
                    if best.is_some_and(|b| !better(&rank, &b)) {
                        continue;
                    }
                    let mut plain: Vec<(usize, u32, u32)> =
                        stops.iter().map(|s| (s.village, s.start, s.end)).collect();
                    plain.insert(pos, (v, start, start + len));
                    if day_times(pb, bus, &plain).is_some() {
                        best = Some(rank);
                    }
                }
            }
        }
    }
    let Some((_, _, day, bus, pos, start)) = best else {
        return false;
    };
    days.entry((day, bus)).or_default().insert(
        pos,
        Stop {
            village: v,
            start,
            end: start + len,
            replacement: true,
        },
    );
    true
}

type Rank = (bool, f64, u32, usize, usize, u32);

fn better(a: &Rank, b: &Rank) -> bool {
    a.0.cmp(&b.0)
        .then(a.1.total_cmp(&b.1))
        .then((a.2, a.3, a.4, a.5).cmp(&(b.2, b.3, b.4, b.5)))
        .is_lt()
}

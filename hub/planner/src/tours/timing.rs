//! Times of day tours: the shared start times of one bus's weekday (a pattern starts at the same
//! time in every week it visits) and the departure, return and break of one concrete day.
//!
//! The break is taken in a gap with the bus parked: between two stops the bus first drives, then
//! parks for the break, then visits. So a gap that leaves at `dep` reaches the next visit no
//! earlier than `max(dep + travel, break_from) + break`, and the break fits iff
//! `max(dep, break_from) + break <= break_until`.
//!
//! Starts lie on the input's grid (`start_step_minutes`): each is rounded up, so the bus only
//! waits longer in the village before the visit; the day end and the break are checked after
//! rounding.

use super::problem::Problem;

/// `minutes` rounded up to a multiple of `step` (`step` 0 counts as 1).
pub(crate) fn round_up(minutes: u32, step: u32) -> u32 {
    minutes.div_ceil(step.max(1)) * step.max(1)
}

/// `minutes` rounded down to a multiple of `step` (`step` 0 counts as 1).
pub(crate) fn round_down(minutes: u32, step: u32) -> u32 {
    minutes / step.max(1) * step.max(1)
}

/// Earliest common start times for `seq` (villages in visiting order) on one bus's weekday.
///
/// `masks[i]` has bit `t` set if village `seq[i]` is visited in week `t` on a day the bus drives.
/// Each start is the latest of its weeks' earliest arrivals (and of `targets[i]`, a start to
/// keep if possible), rounded up to the start grid, so it is feasible in every week. The break goes before the first visit at
/// or after one position `p` of the sequence in each week (after the last if there is none).
/// Writes the starts to `out`; false if no position found works.
pub(crate) fn shared_starts(
    pb: &Problem,
    bus: usize,
    seq: &[usize],
    masks: &[u8],
    targets: &[Option<u32>],
    out: &mut Vec<u32>,
) -> bool {
    out.clear();
    out.resize(seq.len(), 0);
    let b = &pb.input.buses[bus];
    if seq.is_empty() {
        return true;
    }
    // Without any break the times are earliest; if even they do not fit, nothing does.
    if pass(pb, bus, seq, masks, targets, usize::MAX, out) != Pass::Fits {
        return false;
    }
    if b.break_minutes == 0 {
        return true;
    }
    // Start with the break before the first visit that would end after break_from. A later
    // break makes no visit later, so a day too long moves it later, a break too late earlier;
    // when the two demands meet, no position works.
    let n = seq.len();
    let mut p = (0..n)
        .find(|&i| out[i] + pb.input.villages[seq[i]].visit_minutes > b.break_from)
        .unwrap_or(n);
    let mut direction = 0i8;
    loop {
        match pass(pb, bus, seq, masks, targets, p, out) {
            Pass::Fits => return true,
            Pass::BreakTooLate if direction <= 0 && p > 0 => {
                direction = -1;
                p -= 1;
            }
            Pass::DayTooLong(i) if direction >= 0 && p < n && i >= p => {
                direction = 1;
                p += 1;
            }
            _ => return false,
        }
    }
}

/// The outcome of one timing pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    Fits,
    /// The break cannot be taken in its window (it comes too late).
    BreakTooLate,
    /// Visit `i` (or, for `usize::MAX`, the return) ends after the working day.
    DayTooLong(usize),
}

/// One timing pass with the break before position `p` (`usize::MAX`: no break).
fn pass(
    pb: &Problem,
    bus: usize,
    seq: &[usize],
    masks: &[u8],
    targets: &[Option<u32>],
    p: usize,
    out: &mut [u32],
) -> Pass {
    let b = &pb.input.buses[bus];
    let depot = pb.depot(bus);
    let weeks = pb.weeks as usize;
    let brk = b.break_minutes;
    let step = pb.input.start_step_minutes;
    let mut dep = [b.day_start; 8];
    let mut at = [depot; 8];
    let mut broke = [p == usize::MAX || brk == 0; 8];
    let mut used = 0u8;
    for (i, &v) in seq.iter().enumerate() {
        let m = masks[i];
        let len = pb.input.villages[v].visit_minutes;
        let mut start = targets[i].unwrap_or(0);
        if m == 0 {
            // Visited only on days the bus cannot drive: its time binds nothing.
            out[i] = round_up(start.max(b.day_start + pb.mins(depot, v)), step);
            continue;
        }
        for t in (0..weeks).filter(|t| m & (1 << t) != 0) {
            let mut arrive = dep[t] + pb.mins(at[t], v);
            if !broke[t] && i >= p {
                if dep[t].max(b.break_from) + brk > b.break_until {
                    return Pass::BreakTooLate;
                }
                arrive = arrive.max(b.break_from) + brk;
            }
            start = start.max(arrive);
        }
        let start = round_up(start, step);
        if start + len > b.day_end {
            return Pass::DayTooLong(i);
        }
        out[i] = start;
        for t in (0..weeks).filter(|t| m & (1 << t) != 0) {
            dep[t] = start + len;
            at[t] = v;
            if i >= p {
                broke[t] = true;
            }
        }
        used |= m;
    }
    for t in (0..weeks).filter(|t| used & (1 << t) != 0) {
        let mut back = dep[t] + pb.mins(at[t], depot);
        if !broke[t] {
            if dep[t].max(b.break_from) + brk > b.break_until {
                return Pass::BreakTooLate;
            }
            back = back.max(b.break_from) + brk;
        }
        if back > b.day_end {
            return Pass::DayTooLong(usize::MAX);
        }
    }
    Pass::Fits
}

/// When a concrete day tour leaves, returns and breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DayTimes {
    pub leaves: u32,
    pub returns: u32,
    pub break_start: Option<u32>,
}

/// Times of one bus's day visiting `stops` (village, start, end) in this order at these fixed
/// times, or `None` if the day does not fit working time, travel or break. Leaves as late and
/// returns as early as the break allows; the break goes in the first gap that can hold it.
pub(crate) fn day_times(pb: &Problem, bus: usize, stops: &[(usize, u32, u32)]) -> Option<DayTimes> {
    let b = &pb.input.buses[bus];
    let depot = pb.depot(bus);
    let (&(first, first_start, _), &(last, _, last_end)) = (stops.first()?, stops.last()?);
    let to_first = pb.mins(depot, first);
    let home = pb.mins(last, depot);
    if first_start < b.day_start + to_first || last_end + home > b.day_end {
        return None;
    }
    for pair in stops.windows(2) {
        let ((a, _, a_end), (c, c_start, _)) = (pair[0], pair[1]);
        if a_end + pb.mins(a, c) > c_start {
            return None;
        }
    }
    let leaves = first_start - to_first;
    let returns = last_end + home;
    let brk = b.break_minutes;
    if brk == 0 {
        return Some(DayTimes {
            leaves,
            returns,
            break_start: None,
        });
    }
    // Before the first visit: the departure may move earlier, down to day_start.
    if first_start >= b.day_start + to_first + brk {
        let latest = first_start.min(b.break_until).checked_sub(brk);
        if let Some(s) = latest.filter(|&s| s >= b.day_start.max(b.break_from)) {
            return Some(DayTimes {
                leaves: leaves.saturating_sub(brk).min(s).max(b.day_start),
                returns,
                break_start: Some(s),
            });
        }
    }
    for pair in stops.windows(2) {
        let ((a, _, a_end), (c, c_start, _)) = (pair[0], pair[1]);
        let s = a_end.max(b.break_from);
        if c_start >= a_end + pb.mins(a, c) + brk && s + brk <= c_start.min(b.break_until) {
            return Some(DayTimes {
                leaves,
                returns,
                break_start: Some(s),
            });
        }
    }
    // After the last visit: drive home, then the break; the working day ends after it.
    let s = last_end.max(b.break_from);
    let back = (last_end + home).max(b.break_from) + brk;
    if s + brk <= b.break_until && back <= b.day_end {
        return Some(DayTimes {
            leaves,
            returns: back,
            break_start: Some(s),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tours::model::{Bus, Counsellor, TourInput, TourVillage};
    use crate::travel::TravelMatrix;

    /// Depot at 0, villages at 10, 20 and 30 minutes along a line.
    fn region() -> (TourInput, TravelMatrix) {
        let xs: [f64; 4] = [0.0, 10.0, 20.0, 30.0];
        let travel = TravelMatrix::from_fn(4, |a, b| ((xs[a] - xs[b]).abs() * 60.0, 0.0));
        let village = |i: usize| TourVillage {
            id: format!("V{i}"),
            place: i,
            every_weeks: 2,
            visit_minutes: 60,
        };
        let input = TourInput {
            weeks: 2,
            villages: vec![village(1), village(2), village(3)],
            buses: vec![Bus {
                id: "B".into(),
                depot: 0,
                weekdays: vec![0],
                day_start: 480,
                day_end: 1020,
                break_minutes: 30,
                break_from: 690,
                break_until: 810,
                blocked_days: Vec::new(),
            }],
            counsellors: vec![Counsellor {
                id: "C".into(),
                weekdays: vec![0],
                absent_days: Vec::new(),
            }],
            closed_days: Vec::new(),
            start_step_minutes: 1,
        };
        (input, travel)
    }

    #[test]
    fn starts_are_shared_by_all_weeks_but_only_bound_by_each_weeks_own_visits() {
        let (input, travel) = region();
        let pb = Problem::new(&input, &travel);
        let mut out = Vec::new();
        // V1 and V3 in week 0, V2 in week 1: V2 does not wait for V1.
        assert!(shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[1, 2, 1],
            &[None; 3],
            &mut out
        ));
        assert_eq!(out, vec![490, 500, 570]);
        // All three in week 0 and V1 also in week 1: V1's start binds both weeks.
        assert!(shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[3, 1, 1],
            &[None; 3],
            &mut out
        ));
        assert_eq!(out, vec![490, 560, 630]);
        // A target later than the earliest start is kept.
        assert!(shared_starts(&pb, 0, &[0], &[1], &[Some(600)], &mut out));
        assert_eq!(out, vec![600]);
    }

    #[test]
    fn starts_are_rounded_up_to_the_grid_and_the_day_end_checked_after() {
        let (mut input, travel) = region();
        input.start_step_minutes = 15;
        let pb = Problem::new(&input, &travel);
        let mut out = Vec::new();
        // V1 08:10 -> 08:15; V2 alone in week 1 08:20 -> 08:30; V3 after V1 (09:15 + 20
        // minutes) 09:35 -> 09:45.
        assert!(shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[1, 2, 1],
            &[None; 3],
            &mut out
        ));
        assert_eq!(out, vec![495, 510, 585]);
        // A target off the grid moves to the next grid time.
        assert!(shared_starts(&pb, 0, &[0], &[1], &[Some(601)], &mut out));
        assert_eq!(out, vec![615]);
        // 58 minutes in V3 from 15:31 are back by 16:59; from 15:45 they would not be.
        input.villages[2].visit_minutes = 58;
        input.start_step_minutes = 1;
        let pb = Problem::new(&input, &travel);
        assert!(shared_starts(&pb, 0, &[2], &[1], &[Some(931)], &mut out));
        assert_eq!(out, vec![931]);
        input.start_step_minutes = 15;
        let pb = Problem::new(&input, &travel);
        assert!(!shared_starts(&pb, 0, &[2], &[1], &[Some(931)], &mut out));
    }

    #[test]
    fn the_break_goes_where_lunch_falls_and_a_full_day_fails() {
        let (mut input, travel) = region();
        for v in &mut input.villages {
            v.visit_minutes = 120;
        }
        let pb = Problem::new(&input, &travel);
        let mut out = Vec::new();
        // 08:10-10:10, then (V2 would end after 11:30) the break 11:30-12:00 before V2 at
        // 12:00-14:00, V3 14:10-16:10, back 16:40.
        assert!(shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[1, 1, 1],
            &[None; 3],
            &mut out
        ));
        assert_eq!(out, vec![490, 720, 850]);
        let stops: Vec<(usize, u32, u32)> = (0..3).map(|i| (i, out[i], out[i] + 120)).collect();
        let times = day_times(&pb, 0, &stops).expect("the day fits");
        assert_eq!(
            times,
            DayTimes {
                leaves: 480,
                returns: 1000,
                break_start: Some(690)
            }
        );
        // A visit starting at 16:00 cannot be back by 17:00 from 30 minutes out.
        assert!(day_times(&pb, 0, &[(2, 960, 1000)]).is_none());
        // V1 no earlier than 10:00: the break cannot go before V1 (the day gets too long) nor
        // after V2 (too late).
        let targets = [Some(600), None, None];
        assert!(!shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[1, 1, 1],
            &targets,
            &mut out
        ));
        // Nor may the last visit start at 15:00.
        let targets = [None, None, Some(900)];
        assert!(!shared_starts(
            &pb,
            0,
            &[0, 1, 2],
            &[1, 1, 1],
            &targets,
            &mut out
        ));
    }
}

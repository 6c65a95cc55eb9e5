//! The tour planner's view of a validated input: travel in whole minutes between its own nodes,
//! which bus may drive on which day with which counsellor, and which villages each bus can reach.

use crate::travel::TravelMatrix;

use super::model::TourInput;

/// Travel times above this many minutes are capped: no working day is that long, and the cap
/// keeps every sum of a day's times far inside `u32`.
const MAX_TRAVEL_MINUTES: u32 = 1_000_000;

/// Travel seconds rounded up to whole minutes, as the plan's times are in minutes.
pub(crate) fn minutes(seconds: f64) -> u32 {
    let m = (seconds / 60.0).ceil();
    if m >= f64::from(MAX_TRAVEL_MINUTES) {
        MAX_TRAVEL_MINUTES
    } else {
        m as u32
    }
}

/// A validated input prepared for the search. Nodes are villages `0..n`, then bus depots.
pub(crate) struct Problem<'a> {
    pub input: &'a TourInput,
    /// Number of villages.
    pub n: usize,
    pub weeks: u32,
    width: usize,
    mins: Vec<u32>,
    secs: Vec<f64>,
    /// `staff[bus][day]`: the counsellor who staffs the bus that day, if it may drive at all
    /// (works that weekday, not blocked, no closed day, a counsellor left for it).
    pub staff: Vec<Vec<Option<usize>>>,
    /// Whether any bus may drive on some day of the week (else nothing can be replaced in it).
    pub week_open: Vec<bool>,
    /// `reach[bus][village]`: a day tour to the village alone fits the bus's working time.
    pub reach: Vec<Vec<bool>>,
    /// Estimated extra driving (seconds) of a replacement visit: a round trip from the nearest
    /// depot, the price of a day of its own. Only used to rank patterns that fall on days
    /// their bus cannot drive; a cheaper guess would let the search park visits on such days.
    pub replacement_cost: Vec<f64>,
    /// Villages by increasing travel time from each village (for related removals).
    pub neighbours: Vec<Vec<usize>>,
}

impl<'a> Problem<'a> {
    pub fn new(input: &'a TourInput, travel: &TravelMatrix) -> Self {
        let n = input.villages.len();
        let place = |node: usize| {
            if node < n {
                input.villages[node].place
            } else {
                input.buses[node - n].depot
            }
        };
        let width = n + input.buses.len();
        let mut mins = Vec::with_capacity(width * width);
        let mut secs = Vec::with_capacity(width * width);
        for a in 0..width {
            for b in 0..width {
                let s = travel.seconds(place(a), place(b));
                secs.push(s);
                mins.push(minutes(s));
            }
        }
        let days = input.weeks * 7;
        let staff = staffing(input, days);
        let week_open = (0..input.weeks)
            .map(|w| (0..7).any(|d| staff.iter().any(|s| s[(w * 7 + d) as usize].is_some())))
            .collect();
        let mut pb = Problem {
            input,
            n,
            weeks: input.weeks,
            width,
            mins,
            secs,
            staff,
            week_open,
            reach: Vec::new(),
            replacement_cost: Vec::new(),
            neighbours: Vec::new(),
        };
        pb.reach = (0..input.buses.len())
            .map(|b| {
                (0..n)
                    .map(|v| {
                        let mut starts = Vec::new();
                        super::timing::shared_starts(&pb, b, &[v], &[1], &[None], &mut starts)
                    })
                    .collect()
            })
            .collect();
        pb.replacement_cost = (0..n)
            .map(|v| {
                (0..input.buses.len())
                    .map(|b| pb.secs(pb.depot(b), v) + pb.secs(v, pb.depot(b)))
                    .fold(f64::INFINITY, f64::min)
            })
            .map(|c| if c.is_finite() { c } else { 0.0 })
            .collect();
        pb.neighbours = (0..n)
            .map(|v| {
                let mut order: Vec<usize> = (0..n).filter(|&u| u != v).collect();
                order.sort_by(|&a, &b| pb.secs(v, a).total_cmp(&pb.secs(v, b)).then(a.cmp(&b)));
                order
            })
            .collect();
        pb
    }

    /// The node of a bus's depot.
    pub fn depot(&self, bus: usize) -> usize {
        self.n + bus
    }

    /// Travel minutes (rounded up) between two nodes.
    pub fn mins(&self, a: usize, b: usize) -> u32 {
        self.mins[a * self.width + b]
    }

    /// Travel seconds between two nodes.
    pub fn secs(&self, a: usize, b: usize) -> f64 {
        self.secs[a * self.width + b]
    }

    /// Whether the bus may drive on the day.
    pub fn usable(&self, bus: usize, day: u32) -> bool {
        self.staff[bus][day as usize].is_some()
    }

    /// Visits a village needs in the cycle.
    pub fn required(&self, v: usize) -> u32 {
        self.weeks / self.input.villages[v].every_weeks
    }
}

/// Which counsellor staffs which bus on each day. Any counsellor can staff any bus, so the buses
/// that may drive that day (working weekday, not blocked, not a closed day) take the present
/// counsellors in input order: when counsellors are short, the first buses drive. Deterministic.
fn staffing(input: &TourInput, days: u32) -> Vec<Vec<Option<usize>>> {
    let mut staff = vec![vec![None; days as usize]; input.buses.len()];
    for day in 0..days {
        let weekday = (day % 7) as u8;
        if input.closed_days.contains(&day) {
            continue;
        }
        let mut present = input
            .counsellors
            .iter()
            .enumerate()
            .filter(|(_, c)| c.weekdays.contains(&weekday) && !c.absent_days.contains(&day))
            .map(|(i, _)| i);
        for (b, bus) in input.buses.iter().enumerate() {
            if bus.weekdays.contains(&weekday) && !bus.blocked_days.contains(&day) {
                staff[b][day as usize] = present.next();
            }
        }
    }
    staff
}

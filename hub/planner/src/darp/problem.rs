//! The search's compiled view of an instance: stop nodes with tightened windows, combined arc
//! costs, and routes with cached timing for fast insertion tests.
//!
//! Node ids: request `r` has pickup `2r` and drop-off `2r + 1`; vehicle `k`'s break is
//! `2R + k`. Routes store node ids; the start depot is node position 0 of a route's timing
//! network and the end depot the last.

use super::model::{Instance, Promise, Stop, TimeWindow};
use super::timing::{EPS, Link, Timing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Pickup,
    Dropoff,
    Break,
}

/// One stop node with the windows the search uses (original windows, intersected with promises,
/// tightened by the ride-time limit).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Location (for a break: unused, it happens where the vehicle is).
    pub loc: u32,
    pub e: f64,
    pub l: f64,
    pub s: f64,
    pub seats: i32,
    pub wc: i32,
    /// Request index (vehicle index for a break).
    pub owner: u32,
    /// For pickups: pickup service + maximum ride time, the largest allowed
    /// `B_dropoff - B_pickup`.
    pub gap: f64,
}

/// Compiled problem shared by all search operators.
#[derive(Debug, Clone)]
pub(crate) struct Problem<'a> {
    pub inst: &'a Instance,
    pub nodes: Vec<Node>,
    pub n_req: usize,
    /// Weights of distance and driving time in the arc cost.
    wd: f64,
    wt: f64,
    pub now: f64,
    /// Largest arc cost, the scale for noise and penalties.
    pub max_arc: f64,
    /// Cost of leaving a request unserved in the scalar objective used for acceptance.
    pub penalty: f64,
    /// Requests with a promised pickup window: they must stay served.
    pub promised: Vec<bool>,
}

impl<'a> Problem<'a> {
    pub fn new(inst: &'a Instance, promises: &[Promise], now: f64) -> Problem<'a> {
        let w = inst.weights();
        let n_req = inst.requests().len();
        let mut pb = Problem {
            inst,
            nodes: Vec::with_capacity(2 * n_req + inst.vehicles().len()),
            n_req,
            wd: w.distance,
            wt: w.driving_time,
            now,
            max_arc: 0.0,
            penalty: 0.0,
            promised: vec![false; n_req],
        };
        for p in promises {
            if let Some(x) = pb.promised.get_mut(p.request) {
                *x = true;
            }
        }
        for (r, req) in inst.requests().iter().enumerate() {
            let mut pw = req.pickup_window;
            for p in promises.iter().filter(|p| p.request == r) {
                pw = pw.intersect(&p.pickup);
            }
            let (p, d) = pb.request_nodes(r, pw, req.dropoff_window);
            pb.nodes.push(p);
            pb.nodes.push(d);
        }
        for (k, v) in inst.vehicles().iter().enumerate() {
            let (e, l, s) = v.rest.map_or((f64::NEG_INFINITY, f64::INFINITY, 0.0), |b| {
                (b.earliest_start, b.latest_start, b.duration)
            });
            pb.nodes.push(Node {
                kind: Kind::Break,
                loc: u32::MAX,
                e: e.max(now),
                l,
                s,
                seats: 0,
                wc: 0,
                owner: k as u32,
                gap: 0.0,
            });
        }
        // A scale for noise and penalties without scanning the whole matrix: the longest trip
        // from a depot to any place in use and back.
        let mut max_arc: f64 = 1e-9;
        let depots: Vec<u32> = inst
            .vehicles()
            .iter()
            .map(|v| v.start as u32)
            .take(4)
            .collect();
        for req in inst.requests() {
            for &x in &[req.pickup as u32, req.dropoff as u32] {
                for &d in &depots {
                    max_arc = max_arc.max(pb.arc(d, x)).max(pb.arc(x, d));
                }
            }
            max_arc = max_arc.max(pb.arc(req.pickup as u32, req.dropoff as u32));
        }
        pb.max_arc = max_arc;
        pb.penalty = 10.0 * max_arc + 2.0 * w.vehicle + 10.0 * w.ride_time * max_arc.max(1.0);
        pb
    }

    /// Search nodes of request `r` for the given windows, tightened by the implied bounds (Cordeau 2006): each end constrains the other through the direct
    /// travel time and the ride limit. Tighter windows make the insertion filters much sharper.
    pub fn request_nodes(&self, r: usize, pickup: TimeWindow, dropoff: TimeWindow) -> (Node, Node) {
        let req = &self.inst.requests()[r];
        // "Now" is not applied here: a passenger on board was picked up in the past. Route
        // timing applies it to every stop that has not started.
        let (mut pw, mut dw) = (pickup, dropoff);
        let direct = self.inst.matrices().time(req.pickup, req.dropoff);
        let sp = req.pickup_service;
        pw.earliest = pw.earliest.max(dw.earliest - req.max_ride - sp);
        pw.latest = pw.latest.min(dw.latest - direct - sp);
        dw.earliest = dw.earliest.max(pw.earliest + sp + direct);
        dw.latest = dw.latest.min(pw.latest + sp + req.max_ride);
        let (seats, wc) = (req.seats as i32, req.wheelchairs as i32);
        let p = Node {
            kind: Kind::Pickup,
            loc: req.pickup as u32,
            e: pw.earliest,
            l: pw.latest,
            s: sp,
            seats,
            wc,
            owner: r as u32,
            gap: sp + req.max_ride,
        };
        let d = Node {
            kind: Kind::Dropoff,
            loc: req.dropoff as u32,
            e: dw.earliest,
            l: dw.latest,
            s: req.dropoff_service,
            seats: -seats,
            wc: -wc,
            owner: r as u32,
            gap: 0.0,
        };
        (p, d)
    }

    /// Replaces the windows of request `r` (used to probe alternative times).
    pub fn set_request_windows(&mut self, r: usize, pickup: TimeWindow, dropoff: TimeWindow) {
        let (p, d) = self.request_nodes(r, pickup, dropoff);
        self.nodes[2 * r] = p;
        self.nodes[2 * r + 1] = d;
    }

    #[inline]
    pub fn arc(&self, a: u32, b: u32) -> f64 {
        let m = self.inst.matrices();
        let d = self.wd * m.distance(a as usize, b as usize);
        if self.wt == 0.0 {
            d
        } else {
            d + self.wt * m.time(a as usize, b as usize)
        }
    }

    #[inline]
    pub fn time(&self, a: u32, b: u32) -> f64 {
        self.inst.matrices().time(a as usize, b as usize)
    }

    pub fn break_node(&self, vehicle: usize) -> u32 {
        (2 * self.n_req + vehicle) as u32
    }

    pub fn has_break(&self, vehicle: usize) -> bool {
        self.inst.vehicles()[vehicle].rest.is_some()
    }

    /// Whether the request could ride in some vehicle at all and its windows are not empty.
    pub fn servable(&self, r: usize) -> bool {
        let p = &self.nodes[2 * r];
        let d = &self.nodes[2 * r + 1];
        p.e <= p.l + EPS
            && d.e <= d.l + EPS
            && self
                .inst
                .vehicles()
                .iter()
                .any(|v| v.seats as i32 >= p.seats && v.wheelchairs as i32 >= p.wc)
    }

    pub fn stop_of(&self, node: u32) -> Stop {
        let n = &self.nodes[node as usize];
        match n.kind {
            Kind::Pickup => Stop::Pickup(n.owner as usize),
            Kind::Dropoff => Stop::Dropoff(n.owner as usize),
            Kind::Break => Stop::Break,
        }
    }

    pub fn node_of(&self, vehicle: usize, stop: Stop) -> u32 {
        match stop {
            Stop::Pickup(r) => 2 * r as u32,
            Stop::Dropoff(r) => 2 * r as u32 + 1,
            Stop::Break => self.break_node(vehicle),
        }
    }
}

/// One route during search, with caches refreshed by [`RouteState::refresh`].
#[derive(Debug, Clone)]
pub(crate) struct RouteState {
    pub vehicle: usize,
    /// Stop node ids (no depots).
    pub stops: Vec<u32>,
    /// Fixed start times of the leading timing nodes (index 0 = start depot) that lie in the
    /// past and must not change.
    pub fixed: Vec<f64>,
    /// Weighted cost (0 when the route serves nobody).
    pub cost: f64,
    pub used: bool,
    /// Earliest and latest start per timing node (depots included).
    pub b: Vec<f64>,
    pub u: Vec<f64>,
    /// Load after each timing node.
    pub seats: Vec<i32>,
    pub wc: Vec<i32>,
    /// Physical location of each timing node (a break is where the previous node is).
    pub loc: Vec<u32>,
    /// Physical location of the first non-break node after each timing node.
    pub next_loc: Vec<u32>,
    /// Service duration at each timing node.
    pub serv: Vec<f64>,
    pub is_break: Vec<bool>,
}

impl RouteState {
    pub fn new(pb: &Problem, vehicle: usize) -> RouteState {
        let stops = if pb.has_break(vehicle) {
            vec![pb.break_node(vehicle)]
        } else {
            Vec::new()
        };
        let mut r = RouteState {
            vehicle,
            stops,
            fixed: Vec::new(),
            cost: 0.0,
            used: false,
            b: Vec::new(),
            u: Vec::new(),
            seats: Vec::new(),
            wc: Vec::new(),
            loc: Vec::new(),
            next_loc: Vec::new(),
            serv: Vec::new(),
            is_break: Vec::new(),
        };
        let mut tm = Timing::default();
        let ok = r.refresh(pb, &mut tm);
        debug_assert!(ok, "an empty route is always feasible");
        r
    }

    /// Number of leading stops that may not move (the start depot excluded).
    pub fn frozen_stops(&self) -> usize {
        self.fixed.len().saturating_sub(1)
    }

    /// Recomputes every cache; false if the route is infeasible (caches then undefined).
    pub fn refresh(&mut self, pb: &Problem, tm: &mut Timing) -> bool {
        self.used = self
            .stops
            .iter()
            .any(|&n| pb.nodes[n as usize].kind != Kind::Break);
        let Some(cost) = evaluate(pb, self.vehicle, &self.stops, &self.fixed, tm, true) else {
            return false;
        };
        self.cost = cost;
        let m = self.stops.len() + 2;
        let v = &pb.inst.vehicles()[self.vehicle];
        self.b.clear();
        self.u.clear();
        if self.used {
            let ok = tm.latest();
            debug_assert!(ok, "greatest solution exists when the least does");
            self.b.extend_from_slice(&tm.b);
            self.u.extend_from_slice(&tm.u);
        } else {
            // An unused vehicle stays at the depot; any insertion starts from scratch.
            self.b
                .extend(std::iter::repeat_n(v.shift.earliest.max(pb.now), m));
            self.u.extend(std::iter::repeat_n(v.shift.latest, m));
            if let Some(&t0) = self.fixed.first() {
                self.b[0] = t0;
                self.u[0] = t0;
            }
        }
        self.seats.clear();
        self.wc.clear();
        self.loc.clear();
        self.serv.clear();
        self.is_break.clear();
        let (mut s, mut w) = (0, 0);
        self.seats.push(0);
        self.wc.push(0);
        self.loc.push(v.start as u32);
        self.serv.push(0.0);
        self.is_break.push(false);
        let mut at = v.start as u32;
        for &n in &self.stops {
            let node = &pb.nodes[n as usize];
            s += node.seats;
            w += node.wc;
            self.seats.push(s);
            self.wc.push(w);
            if node.kind != Kind::Break {
                at = node.loc;
            }
            self.loc.push(at);
            self.serv.push(node.s);
            self.is_break.push(node.kind == Kind::Break);
        }
        self.seats.push(0);
        self.wc.push(0);
        self.loc.push(v.end as u32);
        self.serv.push(0.0);
        self.is_break.push(false);
        self.next_loc.clear();
        self.next_loc.resize(m, v.end as u32);
        let mut next = v.end as u32;
        for k in (0..m - 1).rev() {
            if !self.is_break[k + 1] {
                next = self.loc[k + 1];
            }
            self.next_loc[k] = next;
        }
        true
    }
}

/// Fills `tm` with the timing network of `stops` on `vehicle`; false when capacity or pairing
/// already fails.
pub(crate) fn build(
    pb: &Problem,
    vehicle: usize,
    stops: &[u32],
    fixed: &[f64],
    tm: &mut Timing,
) -> bool {
    let v = &pb.inst.vehicles()[vehicle];
    tm.clear();
    let lo = |i: usize, e: f64| {
        if i < fixed.len() {
            fixed[i]
        } else {
            e.max(pb.now)
        }
    };
    let hi = |i: usize, l: f64| if i < fixed.len() { fixed[i] } else { l };
    let mut at = v.start as u32;
    let (e0, l0) = (lo(0, v.shift.earliest), hi(0, v.shift.latest));
    let (mut seats, mut wc) = (0i32, 0i32);
    let mut pending_travel_from = at;
    // Node 0 (the depot) is pushed with a placeholder travel that is fixed once the next
    // physical location is known.
    tm.push(e0, l0, 0.0, 0.0);
    for (k, &n) in stops.iter().enumerate() {
        let i = k + 1;
        let node = &pb.nodes[n as usize];
        seats += node.seats;
        wc += node.wc;
        if seats > v.seats as i32 || wc > v.wheelchairs as i32 {
            return false;
        }
        let travel = if node.kind == Kind::Break {
            0.0
        } else {
            pb.time(pending_travel_from, node.loc)
        };
        *tm.t.last_mut().expect("the depot node was pushed first") = travel;
        tm.push(lo(i, node.e), hi(i, node.l), node.s, 0.0);
        match node.kind {
            Kind::Break => {}
            Kind::Pickup => {
                at = node.loc;
                pending_travel_from = at;
            }
            Kind::Dropoff => {
                at = node.loc;
                pending_travel_from = at;
                // Find the pickup; routes are short, so a backwards scan is cheapest.
                let pick = n - 1;
                let Some(kp) = stops[..k].iter().rposition(|&x| x == pick) else {
                    return false;
                };
                // A ride that ended entirely in the past is history, not a constraint.
                if i >= fixed.len() {
                    let gap = pb.nodes[pick as usize].gap;
                    tm.links.push(Link {
                        from: (kp + 1) as u32,
                        to: i as u32,
                        gap,
                    });
                }
            }
        }
    }
    if seats != 0 || wc != 0 {
        return false;
    }
    let travel = pb.time(at, v.end as u32);
    *tm.t.last_mut().expect("the depot node was pushed first") = travel;
    let last = stops.len() + 1;
    tm.push(
        lo(last, v.shift.earliest),
        hi(last, v.shift.latest),
        0.0,
        0.0,
    );
    if v.max_duration.is_finite() && fixed.len() <= last {
        tm.links.push(Link {
            from: 0,
            to: last as u32,
            gap: v.max_duration,
        });
    }
    true
}

/// Exact feasibility and weighted cost of a route. Leaves the earliest schedule in `tm.b`
/// (or, with a ride-time weight, the delayed schedule). An unused route costs nothing.
pub(crate) fn evaluate(
    pb: &Problem,
    vehicle: usize,
    stops: &[u32],
    fixed: &[f64],
    tm: &mut Timing,
    keep_earliest: bool,
) -> Option<f64> {
    let used = stops
        .iter()
        .any(|&n| pb.nodes[n as usize].kind != Kind::Break);
    if !used && fixed.len() <= 1 {
        return Some(0.0);
    }
    if !build(pb, vehicle, stops, fixed, tm) || !tm.earliest() {
        return None;
    }
    let w = pb.inst.weights();
    let v = &pb.inst.vehicles()[vehicle];
    let mut cost = if used { w.vehicle } else { 0.0 };
    let mut at = v.start as u32;
    for &n in stops {
        let node = &pb.nodes[n as usize];
        if node.kind != Kind::Break {
            cost += pb.arc(at, node.loc);
            at = node.loc;
        }
    }
    cost += pb.arc(at, v.end as u32);
    if w.ride_time > 0.0 {
        let saved = if keep_earliest {
            Some(tm.b.clone())
        } else {
            None
        };
        schedule(pb, stops, fixed, tm);
        cost += w.ride_time * ride_time(pb, stops, &tm.b);
        if let Some(b) = saved {
            tm.b = b;
        }
    }
    Some(cost)
}

/// Delays the start and the pickups (outside the fixed past) to cut waiting on board.
pub(crate) fn schedule(pb: &Problem, stops: &[u32], fixed: &[f64], tm: &mut Timing) {
    let mut delayable = Vec::with_capacity(stops.len() / 2 + 1);
    if fixed.is_empty() {
        delayable.push(0);
    }
    for (k, &n) in stops.iter().enumerate() {
        if k + 1 >= fixed.len() && pb.nodes[n as usize].kind == Kind::Pickup {
            delayable.push(k + 1);
        }
    }
    tm.delay(&delayable);
}

/// Total ride time of the requests on a route under the schedule `b` (timing node indices).
pub(crate) fn ride_time(pb: &Problem, stops: &[u32], b: &[f64]) -> f64 {
    let mut total = 0.0;
    for (k, &n) in stops.iter().enumerate() {
        let node = &pb.nodes[n as usize];
        match node.kind {
            Kind::Pickup => total -= b[k + 1] + node.s,
            Kind::Dropoff => total += b[k + 1],
            Kind::Break => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::darp::model::{Plan, Route, ScheduledStop};
    use crate::darp::{check, testkit};

    /// Feasibility of the timing network by Floyd-Warshall negative-cycle detection on the
    /// difference-constraint graph: a different algorithm from the evaluator's propagation.
    fn reference_feasible(tm: &Timing) -> bool {
        let m = tm.e.len();
        let z = m; // the zero node: B_i - Z <= l_i, Z - B_i <= -e_i
        let n = m + 1;
        let mut d = vec![f64::INFINITY; n * n];
        let edge = |a: usize, b: usize, w: f64, d: &mut Vec<f64>| {
            // B_b - B_a <= w
            if w < d[a * n + b] {
                d[a * n + b] = w;
            }
        };
        for i in 0..n {
            d[i * n + i] = 0.0;
        }
        for i in 0..m {
            edge(z, i, tm.l[i], &mut d);
            edge(i, z, -tm.e[i], &mut d);
            if i + 1 < m {
                edge(i + 1, i, -(tm.s[i] + tm.t[i]), &mut d);
            }
        }
        for k in &tm.links {
            edge(k.from as usize, k.to as usize, k.gap, &mut d);
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = d[i * n + k] + d[k * n + j];
                    if via < d[i * n + j] {
                        d[i * n + j] = via;
                    }
                }
            }
        }
        (0..n).all(|i| d[i * n + i] > -1e-6)
    }

    /// A random valid stop order for `reqs` (pickup before drop-off), break somewhere.
    fn random_route(rng: &mut ChaCha8Rng, reqs: &[usize], brk: Option<u32>) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut todo: Vec<usize> = reqs.to_vec();
        while !todo.is_empty() || !open.is_empty() {
            if !todo.is_empty() && (open.is_empty() || rng.random_bool(0.5)) {
                let r = todo.swap_remove(rng.random_range(0..todo.len()));
                out.push(2 * r as u32);
                open.push(r);
            } else {
                let r = open.swap_remove(rng.random_range(0..open.len()));
                out.push(2 * r as u32 + 1);
            }
        }
        if let Some(b) = brk {
            out.insert(rng.random_range(0..=out.len()), b);
        }
        out
    }

    #[test]
    fn evaluator_agrees_with_reference_and_checker_on_random_routes() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut feasible, mut infeasible) = (0, 0);
        for case in 0..400u64 {
            let breaks = case % 3 == 0;
            let inst = testkit::random_instance(case, 6, 2, breaks);
            let pb = Problem::new(&inst, &[], f64::NEG_INFINITY);
            let count = rng.random_range(1..=4);
            let reqs: Vec<usize> = (0..count)
                .map(|i| (i * 2 + case as usize) % 6)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let vehicle = (case % 2) as usize;
            let stops = random_route(&mut rng, &reqs, breaks.then(|| pb.break_node(vehicle)));
            let mut tm = Timing::default();
            let capacity_ok = build(&pb, vehicle, &stops, &[], &mut tm);
            let ours = capacity_ok && tm.earliest();
            if capacity_ok {
                assert_eq!(
                    ours,
                    reference_feasible(&tm),
                    "case {case}: propagation disagrees with Floyd-Warshall"
                );
                assert_eq!(
                    tm.clone().latest(),
                    ours,
                    "case {case}: greatest solution disagrees"
                );
            }
            if !ours {
                infeasible += 1;
                continue;
            }
            feasible += 1;
            schedule(&pb, &stops, &[], &mut tm);
            // Export as a plan and let the independent checker judge the schedule.
            let mut plan = Plan::empty(&inst);
            plan.routes[vehicle] = Route {
                vehicle,
                start: tm.b[0],
                stops: stops
                    .iter()
                    .enumerate()
                    .map(|(k, &n)| ScheduledStop {
                        stop: pb.stop_of(n),
                        time: tm.b[k + 1],
                    })
                    .collect(),
                end: tm.b[stops.len() + 1],
            };
            plan.unserved.retain(|r| !reqs.contains(r));
            let report = check(&inst, &plan, &[]);
            assert!(
                report.is_ok(),
                "case {case}: checker rejects evaluator schedule: {report:?}"
            );
            // The delayed schedule never has more ride time than the earliest one.
            let delayed = ride_time(&pb, &stops, &tm.b);
            assert!(tm.earliest());
            assert!(
                delayed <= ride_time(&pb, &stops, &tm.b) + 1e-6,
                "case {case}"
            );
        }
        assert!(
            feasible > 40 && infeasible > 40,
            "both outcomes covered: {feasible} / {infeasible}"
        );
    }
}

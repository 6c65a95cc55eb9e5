//! A search solution (routes of node ids plus the request bank) and its conversion from and to
//! the public [`Plan`], including which part of a plan lies in the fixed past.

use super::model::{Plan, Route, ScheduledStop, Stop};
use super::problem::{Kind, Problem, RouteState, build, schedule};
use super::timing::Timing;

/// Routes and unserved requests as the search sees them.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    pub routes: Vec<RouteState>,
    /// Requests not served (the request bank).
    pub unassigned: Vec<u32>,
}

impl Solution {
    pub fn empty(pb: &Problem) -> Solution {
        Solution {
            routes: (0..pb.inst.vehicles().len())
                .map(|k| RouteState::new(pb, k))
                .collect(),
            unassigned: (0..pb.n_req as u32).collect(),
        }
    }

    /// Weighted cost of the routes.
    pub fn cost(&self) -> f64 {
        self.routes.iter().map(|r| r.cost).sum()
    }

    /// The scalar objective used for acceptance: cost plus a penalty per unserved request.
    pub fn objective(&self, pb: &Problem) -> f64 {
        self.cost() + pb.penalty * self.unassigned.len() as f64
    }

    /// Promised requests in the bank (a search never accepts more of them than it started with).
    pub fn missing_promised(&self, pb: &Problem) -> usize {
        self.unassigned
            .iter()
            .filter(|&&r| pb.promised[r as usize])
            .count()
    }

    /// Lexicographic comparison: fewer promised requests unserved, fewer unserved, lower cost.
    pub fn better_than(&self, other: &Solution, pb: &Problem) -> bool {
        let (a, b) = (self.missing_promised(pb), other.missing_promised(pb));
        if a != b {
            return a < b;
        }
        match self.unassigned.len().cmp(&other.unassigned.len()) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => self.cost() < other.cost() - 1e-9,
        }
    }

    /// Route index of every request (`u32::MAX` when unserved).
    pub fn route_of(&self, pb: &Problem) -> Vec<u32> {
        let mut at = vec![u32::MAX; pb.n_req];
        for (k, r) in self.routes.iter().enumerate() {
            for &n in &r.stops {
                if pb.nodes[n as usize].kind == Kind::Pickup {
                    at[pb.nodes[n as usize].owner as usize] = k as u32;
                }
            }
        }
        at
    }

    /// Builds the public plan with schedules that keep waiting off the vehicle where possible.
    pub fn to_plan(&self, pb: &Problem) -> Plan {
        let mut tm = Timing::default();
        let routes = self
            .routes
            .iter()
            .map(|r| export_route(pb, r, &mut tm))
            .collect();
        let mut unserved: Vec<usize> = self.unassigned.iter().map(|&r| r as usize).collect();
        unserved.sort_unstable();
        Plan { routes, unserved }
    }

    /// Loads a plan: stops that started before `now` (and the stop a vehicle is already driving
    /// to) are fixed with their times. Requests of `pb` that the plan does not serve, and those
    /// of routes that are no longer feasible (e.g. after new promises), go to the bank.
    pub fn from_plan(pb: &Problem, plan: &Plan) -> Solution {
        let mut sol = Solution::empty(pb);
        let mut served = vec![false; pb.n_req];
        let mut tm = Timing::default();
        for route in &plan.routes {
            let k = route.vehicle;
            if k >= sol.routes.len() {
                continue;
            }
            let mut st = RouteState::new(pb, k);
            st.stops = route.stops.iter().map(|s| pb.node_of(k, s.stop)).collect();
            let has_break = st.stops.contains(&pb.break_node(k));
            if pb.has_break(k) && !has_break {
                st.stops.insert(0, pb.break_node(k));
            }
            st.fixed = fixed_prefix(pb, route);
            // Keep the break where the plan had it; when the plan had none, it leads the route
            // unless that is in the fixed past.
            if pb.has_break(k) && !has_break && st.fixed.len() > 1 {
                st.stops.remove(0);
                let at = st.fixed.len() - 1;
                st.stops.insert(at, pb.break_node(k));
            }
            if !st.refresh(pb, &mut tm) {
                // Keep only the fixed part; everything else is replanned.
                let keep = st.frozen_stops();
                let locked: Vec<u32> = st.stops[..keep].to_vec();
                let mut stops = locked.clone();
                for &n in &st.stops[keep..] {
                    let node = &pb.nodes[n as usize];
                    let partner_locked = node.kind == Kind::Dropoff && locked.contains(&(n - 1));
                    if node.kind == Kind::Break || partner_locked {
                        stops.push(n);
                    }
                }
                st.stops = stops;
                if !st.refresh(pb, &mut tm) {
                    st.fixed.clear();
                    st.stops
                        .retain(|&n| pb.nodes[n as usize].kind == Kind::Break);
                    let ok = st.refresh(pb, &mut tm);
                    debug_assert!(ok, "an empty route is feasible");
                }
            }
            for &n in &st.stops {
                if pb.nodes[n as usize].kind == Kind::Pickup {
                    served[pb.nodes[n as usize].owner as usize] = true;
                }
            }
            sol.routes[k] = st;
        }
        sol.unassigned = (0..pb.n_req as u32)
            .filter(|&r| !served[r as usize])
            .collect();
        sol
    }
}

/// Times of the leading timing nodes (start depot first) of `route` that are in the past at
/// `pb.now`: started stops, plus the next stop when the vehicle is already driving there.
pub(crate) fn fixed_prefix(pb: &Problem, route: &Route) -> Vec<f64> {
    let now = pb.now;
    if !route.is_used() || route.start >= now {
        return Vec::new();
    }
    let mut fixed = vec![route.start];
    let mut last_end = route.start;
    for s in &route.stops {
        if s.time < now {
            fixed.push(s.time);
            last_end = s.time + service(pb, route.vehicle, s.stop);
        } else {
            // The vehicle left the previous place already: it is on its way to this stop.
            if last_end < now {
                fixed.push(s.time);
            }
            break;
        }
    }
    fixed
}

fn service(pb: &Problem, vehicle: usize, stop: Stop) -> f64 {
    pb.nodes[pb.node_of(vehicle, stop) as usize].s
}

fn export_route(pb: &Problem, r: &RouteState, tm: &mut Timing) -> Route {
    let v = &pb.inst.vehicles()[r.vehicle];
    if !r.used && r.fixed.len() <= 1 {
        let start = r
            .fixed
            .first()
            .copied()
            .unwrap_or(v.shift.earliest.max(pb.now));
        return Route {
            vehicle: r.vehicle,
            start,
            stops: Vec::new(),
            end: start,
        };
    }
    let ok = build(pb, r.vehicle, &r.stops, &r.fixed, tm) && tm.earliest();
    debug_assert!(ok, "routes in a solution are feasible");
    schedule(pb, &r.stops, &r.fixed, tm);
    let stops = r
        .stops
        .iter()
        .enumerate()
        .map(|(k, &n)| ScheduledStop {
            stop: pb.stop_of(n),
            time: tm.b[k + 1],
        })
        .collect();
    Route {
        vehicle: r.vehicle,
        start: tm.b[0],
        stops,
        end: tm.b[r.stops.len() + 1],
    }
}

//! Exact timing of one route as a simple temporal network (STN).
//!
//! Every constraint on a route's service start times `B` is a difference constraint:
//! windows `e_i <= B_i <= l_i`, travel `B_{i+1} >= B_i + s_i + t_i`, and "links"
//! `B_to - B_from <= gap` for maximum ride times and the maximum route duration. Such a system
//! is feasible exactly when longest-path propagation of the lower bounds converges below every
//! upper bound (Bellman-Ford on the constraint graph). Because a route is a path plus a few
//! backward links, one forward sweep relaxes every travel edge, so a feasible system converges
//! within `links + 1` sweeps; needing more proves a positive cycle, i.e. infeasibility. This is
//! exact, unlike a single greedy earliest-time pass.
//!
//! The least solution gives the earliest schedule, the greatest solution the latest; every value
//! between the two for one variable extends to a full feasible schedule (a property of STNs),
//! which the booking code uses to promise pickup windows.

/// Tolerance for time comparisons; the independent checker allows a little more.
pub(crate) const EPS: f64 = 1e-7;

/// `B[to] - B[from] <= gap`, with `from < to`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub from: u32,
    pub to: u32,
    pub gap: f64,
}

/// Reusable buffers for one route's network; fill with [`Timing::clear`] and [`Timing::push`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Timing {
    pub e: Vec<f64>,
    pub l: Vec<f64>,
    /// Service duration at each node.
    pub s: Vec<f64>,
    /// Travel time from each node to the next (the last entry is unused).
    pub t: Vec<f64>,
    pub links: Vec<Link>,
    /// Least solution after [`Timing::earliest`], then the schedule after [`Timing::delay`].
    pub b: Vec<f64>,
    /// Greatest solution after [`Timing::latest`].
    pub u: Vec<f64>,
    bound: Vec<f64>,
    saved: Vec<f64>,
}

impl Timing {
    pub fn clear(&mut self) {
        self.e.clear();
        self.l.clear();
        self.s.clear();
        self.t.clear();
        self.links.clear();
    }

    /// Appends a node; `travel` is the time to the node pushed next.
    #[inline]
    pub fn push(&mut self, e: f64, l: f64, s: f64, travel: f64) {
        self.e.push(e);
        self.l.push(l);
        self.s.push(s);
        self.t.push(travel);
    }

    /// Computes the least solution into `b`; false if the network is infeasible.
    pub fn earliest(&mut self) -> bool {
        let m = self.e.len();
        self.bound.clear();
        self.bound.extend_from_slice(&self.e);
        self.b.resize(m, 0.0);
        let mut from = 0;
        let mut sweeps = 0;
        loop {
            for i in from..m {
                let mut v = self.bound[i];
                if i > 0 {
                    let a = self.b[i - 1] + self.s[i - 1] + self.t[i - 1];
                    if a > v {
                        v = a;
                    }
                }
                if v > self.l[i] + EPS {
                    return false;
                }
                self.b[i] = v;
            }
            let mut next = usize::MAX;
            for k in &self.links {
                let (p, d) = (k.from as usize, k.to as usize);
                let need = self.b[d] - k.gap;
                if need > self.b[p] + EPS {
                    if need > self.l[p] + EPS {
                        return false;
                    }
                    self.bound[p] = need;
                    next = next.min(p);
                }
            }
            if next == usize::MAX {
                return true;
            }
            sweeps += 1;
            if sweeps > self.links.len() + 1 {
                return false;
            }
            from = next;
        }
    }

    /// Computes the greatest solution into `u`; false if the network is infeasible.
    pub fn latest(&mut self) -> bool {
        let m = self.e.len();
        if m == 0 {
            return true;
        }
        self.bound.clear();
        self.bound.extend_from_slice(&self.l);
        self.u.resize(m, 0.0);
        let mut from = m - 1;
        let mut sweeps = 0;
        loop {
            for i in (0..=from).rev() {
                let mut v = self.bound[i];
                if i + 1 < m {
                    let a = self.u[i + 1] - self.s[i] - self.t[i];
                    if a < v {
                        v = a;
                    }
                }
                if v < self.e[i] - EPS {
                    return false;
                }
                self.u[i] = v;
            }
            let mut next: Option<usize> = None;
            for k in &self.links {
                let (p, d) = (k.from as usize, k.to as usize);
                let cap = self.u[p] + k.gap;
                if self.u[d] > cap + EPS {
                    if cap < self.e[d] - EPS {
                        return false;
                    }
                    self.bound[d] = cap;
                    next = Some(next.map_or(d, |n| n.max(d)));
                }
            }
            let Some(n) = next else { return true };
            sweeps += 1;
            if sweeps > self.links.len() + 1 {
                return false;
            }
            from = n;
        }
    }

    /// Turns the earliest schedule in `b` into one with less waiting on board, in the spirit of
    /// Cordeau and Laporte's eight-step scheme: each node in `delayable` (in route order; the
    /// start depot and the pickups) is moved as late as the forward slack allows, but not later
    /// than the waiting after it, so waiting happens before passengers board instead of while
    /// they ride. The slack is exact: the greatest feasible value with all earlier nodes fixed.
    /// Requires a successful [`Timing::earliest`].
    pub fn delay(&mut self, delayable: &[usize]) {
        let m = self.e.len();
        for &idx in delayable {
            let mut wait = 0.0;
            for k in idx + 1..m {
                wait += (self.b[k] - (self.b[k - 1] + self.s[k - 1] + self.t[k - 1])).max(0.0);
            }
            if wait <= EPS {
                continue;
            }
            self.saved.clear();
            self.saved.extend_from_slice(&self.l[..idx]);
            self.l[..idx].copy_from_slice(&self.b[..idx]);
            let ok = self.latest();
            self.l[..idx].copy_from_slice(&self.saved);
            if !ok {
                continue;
            }
            let d = (self.u[idx] - self.b[idx]).min(wait);
            if d <= EPS {
                continue;
            }
            self.b[idx] += d;
            for k in idx + 1..m {
                let a = self.b[k - 1] + self.s[k - 1] + self.t[k - 1];
                if a > self.b[k] {
                    self.b[k] = a;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(nodes: &[(f64, f64, f64, f64)]) -> Timing {
        let mut t = Timing::default();
        for &(e, l, s, tr) in nodes {
            t.push(e, l, s, tr);
        }
        t
    }

    #[test]
    fn ride_link_pushes_pickup_later() {
        // Pickup with a wide window, drop-off window late: the ride limit forces a late pickup.
        let mut t = chain(&[(0.0, 100.0, 0.0, 10.0), (0.0, 100.0, 0.0, 0.0)]);
        t.e[1] = 60.0;
        t.links.push(Link {
            from: 0,
            to: 1,
            gap: 20.0,
        });
        assert!(t.earliest());
        assert!((t.b[0] - 40.0).abs() < 1e-9);
        assert!((t.b[1] - 60.0).abs() < 1e-9);
        assert!(t.latest());
        assert!((t.u[0] - 90.0).abs() < 1e-9);
    }

    #[test]
    fn positive_cycle_is_infeasible() {
        // Travel 30 but ride at most 20.
        let mut t = chain(&[(0.0, 100.0, 0.0, 30.0), (0.0, 100.0, 0.0, 0.0)]);
        t.links.push(Link {
            from: 0,
            to: 1,
            gap: 20.0,
        });
        assert!(!t.earliest());
        assert!(!t.latest());
    }

    #[test]
    fn delay_removes_waiting_on_board() {
        // Depot -> pickup -> drop-off (window late) -> depot: the pickup should move late.
        let mut t = chain(&[
            (0.0, 500.0, 0.0, 5.0),
            (0.0, 500.0, 1.0, 10.0),
            (100.0, 110.0, 1.0, 5.0),
            (0.0, 500.0, 0.0, 0.0),
        ]);
        t.links.push(Link {
            from: 1,
            to: 2,
            gap: 1.0 + 60.0,
        });
        assert!(t.earliest());
        assert!(
            (t.b[1] - 39.0).abs() < 1e-9,
            "ride limit pushes pickup to 39, got {}",
            t.b[1]
        );
        t.delay(&[0, 1]);
        assert!(
            (t.b[1] - 89.0).abs() < 1e-9,
            "pickup just in time, got {}",
            t.b[1]
        );
        assert!((t.b[0] - 84.0).abs() < 1e-9);
        assert!((t.b[2] - 100.0).abs() < 1e-9);
    }
}

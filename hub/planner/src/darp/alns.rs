//! Adaptive large neighbourhood search (Ropke and Pisinger 2006) for the DARP: destroy
//! operators (random, worst, related, route), greedy and regret-k repair with optional noise,
//! simulated-annealing acceptance, adaptive operator weights, and a request-relocation local
//! search on every new best solution.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::insertion::{Ins, Workspace, best_in_route, splice};
use super::problem::{Kind, Problem};
use super::solution::Solution;
use super::timing::Timing;

/// How long a search may run.
#[derive(Clone, Copy)]
pub enum Budget<'a> {
    /// A fixed number of iterations (deterministic for a seed).
    Iterations(u64),
    /// Runs while the closure returns less than 1.0; it reports the fraction of the time used
    /// (e.g. elapsed / limit from a clock the caller owns). Searches on several threads call it
    /// concurrently.
    Progress(&'a (dyn Fn() -> f64 + Sync)),
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Iterations(n) => write!(f, "Iterations({n})"),
            Budget::Progress(_) => write!(f, "Progress(..)"),
        }
    }
}

impl Budget<'_> {
    fn progress(&self, iteration: u64) -> f64 {
        match self {
            Budget::Iterations(n) => iteration as f64 / (*n).max(1) as f64,
            Budget::Progress(f) => f(),
        }
    }
}

/// Tuning of the search. The defaults suit instances of 20 to 300 requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    /// Seed of all randomness.
    pub seed: u64,
    /// Independent searches run in parallel (each with its own seed); the best wins.
    pub threads: usize,
    /// Start temperature: a solution this fraction worse than the first is accepted with
    /// probability one half.
    pub start_worse: f64,
    /// End temperature as a fraction of the start temperature.
    pub cooling: f64,
    /// Noise amplitude in insertion costs, as a fraction of the largest arc cost.
    pub noise: f64,
    /// At most this fraction of the requests is removed per iteration ...
    pub removal_fraction: f64,
    /// ... and never more than this many (but up to 8 on small instances).
    pub removal_cap: usize,
    /// Iterations without a new best after which the search returns to the best solution.
    pub restart_after: u64,
}

impl SearchOptions {
    /// Default tuning with the given seed, one thread.
    pub fn new(seed: u64) -> Self {
        SearchOptions {
            seed,
            threads: 1,
            start_worse: 0.02,
            cooling: 0.01,
            noise: 0.025,
            removal_fraction: 0.25,
            removal_cap: 40,
            restart_after: 3000,
        }
    }
}

const DESTROYS: usize = 4;
const REPAIRS: usize = 6;

pub(crate) struct Search<'p, 'a> {
    pb: &'p Problem<'a>,
    rng: ChaCha8Rng,
    ws: Workspace,
    tm: Timing,
    /// Vehicle class per route: routes of one class are interchangeable when empty.
    class: Vec<usize>,
    opts: SearchOptions,
}

impl<'p, 'a> Search<'p, 'a> {
    pub fn new(pb: &'p Problem<'a>, opts: SearchOptions, seed: u64) -> Self {
        let vs = pb.inst.vehicles();
        let class = (0..vs.len())
            .map(|k| (0..=k).find(|&j| vs[j] == vs[k]).unwrap_or(k))
            .collect();
        Search {
            pb,
            rng: ChaCha8Rng::seed_from_u64(seed),
            ws: Workspace::default(),
            tm: Timing::default(),
            class,
            opts,
        }
    }

    /// Runs the search from `start` and returns the best solution found.
    pub fn run(&mut self, mut start: Solution, budget: Budget) -> Solution {
        self.repair(&mut start, 2, false);
        self.local_search(&mut start);
        let mut best = start.clone();
        let mut cur = start;
        let n_free = self.removable(&cur).len() + cur.unassigned.len();
        if n_free == 0 {
            return best;
        }
        let t0 =
            (self.opts.start_worse * cur.objective(self.pb).max(1e-9)) / std::f64::consts::LN_2;
        let mut wd = [1.0; DESTROYS];
        let mut wr = [1.0; REPAIRS];
        let mut sd = [0.0; DESTROYS];
        let mut sr = [0.0; REPAIRS];
        let mut nd = [0u32; DESTROYS];
        let mut nr = [0u32; REPAIRS];
        let q_min = 2.min(n_free);
        let q_max = ((n_free as f64 * self.opts.removal_fraction) as usize)
            .min(self.opts.removal_cap)
            .max(8.min(n_free))
            .max(q_min);
        let mut since_best = 0u64;
        let mut it = 0u64;
        loop {
            let progress = budget.progress(it);
            if progress >= 1.0 {
                break;
            }
            it += 1;
            let temp = t0 * self.opts.cooling.powf(progress);
            let d = roulette(&mut self.rng, &wd);
            let r = roulette(&mut self.rng, &wr);
            let q = self.rng.random_range(q_min..=q_max);
            let mut cand = cur.clone();
            self.destroy(&mut cand, d, q);
            let (k, noise) = match r {
                0 => (1, false),
                1 => (1, true),
                2 => (2, false),
                3 => (2, true),
                4 => (3, false),
                _ => (usize::MAX, false),
            };
            self.repair(&mut cand, k, noise);
            let (oc, on) = (cur.objective(self.pb), cand.objective(self.pb));
            let mut score = 0.0;
            if cand.missing_promised(self.pb) > cur.missing_promised(self.pb) {
                // Never trade a promised passenger for anything.
                since_best += 1;
            } else if cand.better_than(&best, self.pb) {
                self.local_search(&mut cand);
                best = cand.clone();
                cur = cand;
                score = 33.0;
                since_best = 0;
            } else {
                since_best += 1;
                let accept = on < oc - 1e-9 || {
                    let p = (-(on - oc) / temp.max(1e-12)).exp();
                    self.rng.random::<f64>() < p
                };
                if accept {
                    score = if on < oc - 1e-9 { 9.0 } else { 13.0 };
                    cur = cand;
                }
            }
            sd[d] += score;
            sr[r] += score;
            nd[d] += 1;
            nr[r] += 1;
            if it.is_multiple_of(100) {
                update_weights(&mut wd, &mut sd, &mut nd);
                update_weights(&mut wr, &mut sr, &mut nr);
            }
            // Long stagnation: go back to the best solution.
            if since_best > self.opts.restart_after {
                cur = best.clone();
                since_best = 0;
            }
        }
        best
    }

    /// Requests that may be removed: served and not locked by the fixed past.
    fn removable(&self, sol: &Solution) -> Vec<u32> {
        let mut out = Vec::new();
        for r in &sol.routes {
            let f = r.frozen_stops();
            for (k, &n) in r.stops.iter().enumerate() {
                if k >= f && self.pb.nodes[n as usize].kind == Kind::Pickup {
                    out.push(self.pb.nodes[n as usize].owner);
                }
            }
        }
        out
    }

    fn destroy(&mut self, sol: &mut Solution, op: usize, q: usize) {
        let pool = self.removable(sol);
        if pool.is_empty() {
            return;
        }
        let q = q.min(pool.len());
        let chosen = match op {
            0 => self.pick_random(&pool, q),
            1 => self.pick_worst(sol, &pool, q),
            2 => self.pick_related(sol, &pool, q),
            _ => self.pick_route(sol, &pool, q),
        };
        self.remove(sol, &chosen);
    }

    fn pick_random(&mut self, pool: &[u32], q: usize) -> Vec<u32> {
        let mut p = pool.to_vec();
        for i in 0..q {
            let j = self.rng.random_range(i..p.len());
            p.swap(i, j);
        }
        p.truncate(q);
        p
    }

    /// Requests whose removal saves most, with randomisation (Ropke and Pisinger's p = 3).
    fn pick_worst(&mut self, sol: &Solution, pool: &[u32], q: usize) -> Vec<u32> {
        let pb = self.pb;
        let at = sol.route_of(pb);
        let mut saving: Vec<(f64, u32)> = pool
            .iter()
            .map(|&r| {
                let route = &sol.routes[at[r as usize] as usize];
                (removal_saving(pb, &route.stops, &route.loc, r), r)
            })
            .collect();
        saving.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut out = Vec::with_capacity(q);
        while out.len() < q && !saving.is_empty() {
            let y: f64 = self.rng.random();
            let idx = ((y.powi(3) * saving.len() as f64) as usize).min(saving.len() - 1);
            out.push(saving.remove(idx).1);
        }
        out
    }

    /// Shaw removal: requests close in space and time to already chosen ones.
    fn pick_related(&mut self, sol: &Solution, pool: &[u32], q: usize) -> Vec<u32> {
        let pb = self.pb;
        let mut times = vec![(0.0, 0.0); pb.n_req];
        for route in &sol.routes {
            for (k, &n) in route.stops.iter().enumerate() {
                let node = &pb.nodes[n as usize];
                match node.kind {
                    Kind::Pickup => times[node.owner as usize].0 = route.b[k + 1],
                    Kind::Dropoff => times[node.owner as usize].1 = route.b[k + 1],
                    Kind::Break => {}
                }
            }
        }
        let m = pb.inst.matrices();
        let horizon = pb.max_arc * 10.0;
        let relate = |a: u32, b: u32| {
            let (ra, rb) = (
                &pb.inst.requests()[a as usize],
                &pb.inst.requests()[b as usize],
            );
            let dist = m.distance(ra.pickup, rb.pickup) + m.distance(ra.dropoff, rb.dropoff);
            let (ta, tb) = (times[a as usize], times[b as usize]);
            9.0 * dist / pb.max_arc.max(1e-9)
                + 3.0 * ((ta.0 - tb.0).abs() + (ta.1 - tb.1).abs()) / horizon
        };
        let mut rest = pool.to_vec();
        let first = rest.swap_remove(self.rng.random_range(0..rest.len()));
        let mut out = vec![first];
        while out.len() < q && !rest.is_empty() {
            let from = out[self.rng.random_range(0..out.len())];
            rest.sort_by(|&a, &b| relate(from, a).total_cmp(&relate(from, b)));
            let y: f64 = self.rng.random();
            let idx = ((y.powi(6) * rest.len() as f64) as usize).min(rest.len() - 1);
            out.push(rest.remove(idx));
        }
        out
    }

    /// All removable requests of one random used route, topped up at random.
    fn pick_route(&mut self, sol: &Solution, pool: &[u32], q: usize) -> Vec<u32> {
        let at = sol.route_of(self.pb);
        let used: Vec<usize> = (0..sol.routes.len())
            .filter(|&k| sol.routes[k].used)
            .collect();
        if used.is_empty() {
            return self.pick_random(pool, q);
        }
        let k = used[self.rng.random_range(0..used.len())] as u32;
        let mut out: Vec<u32> = pool
            .iter()
            .copied()
            .filter(|&r| at[r as usize] == k)
            .collect();
        if out.len() < q / 2 {
            let others: Vec<u32> = pool
                .iter()
                .copied()
                .filter(|&r| at[r as usize] != k)
                .collect();
            let extra = self.pick_random(&others, (q / 2 - out.len()).min(others.len()));
            out.extend(extra);
        }
        out
    }

    /// Removes requests; a route that would become infeasible (possible only without the
    /// triangle inequality) keeps its requests.
    fn remove(&mut self, sol: &mut Solution, reqs: &[u32]) {
        let pb = self.pb;
        let mut gone = vec![false; pb.n_req];
        for &r in reqs {
            gone[r as usize] = true;
        }
        for route in &mut sol.routes {
            let before = route.stops.len();
            let saved = route.stops.clone();
            route.stops.retain(|&n| {
                let node = &pb.nodes[n as usize];
                node.kind == Kind::Break || !gone[node.owner as usize]
            });
            if route.stops.len() == before {
                continue;
            }
            if route.refresh(pb, &mut self.tm) {
                for &n in &saved {
                    let node = &pb.nodes[n as usize];
                    if node.kind == Kind::Pickup && gone[node.owner as usize] {
                        sol.unassigned.push(node.owner);
                    }
                }
            } else {
                route.stops = saved;
                let ok = route.refresh(pb, &mut self.tm);
                debug_assert!(ok, "the route was feasible before");
            }
        }
    }

    /// Inserts `r` into route `k` at `ins` and refreshes the route.
    fn apply(&mut self, sol: &mut Solution, k: usize, r: usize, ins: Ins) {
        let route = &mut sol.routes[k];
        splice(
            &route.stops,
            r,
            ins.i as usize,
            ins.j as usize,
            &mut self.ws.seq,
        );
        std::mem::swap(&mut route.stops, &mut self.ws.seq);
        let ok = route.refresh(self.pb, &mut self.tm);
        debug_assert!(ok, "insertions are checked exactly");
    }

    /// Whether route `k` is worth evaluating: used, or the first unused one of its class.
    fn representative(&self, sol: &Solution, k: usize) -> bool {
        let r = &sol.routes[k];
        if r.used || !r.fixed.is_empty() {
            return true;
        }
        !(0..k).any(|j| {
            self.class[j] == self.class[k] && !sol.routes[j].used && sol.routes[j].fixed.is_empty()
        })
    }

    /// Regret-k insertion of the bank (`k == 1`: greedy; `usize::MAX`: regret over all routes).
    pub fn repair(&mut self, sol: &mut Solution, k: usize, noise: bool) {
        let pb = self.pb;
        let mut pending: Vec<u32> = std::mem::take(&mut sol.unassigned);
        let nr = sol.routes.len();
        let amp = if noise {
            self.opts.noise * pb.max_arc
        } else {
            0.0
        };
        // Per pending request and route: the best insertion and its (noisy) cost.
        let mut ins: Vec<Option<Ins>> = vec![None; pending.len() * nr];
        let mut cost = vec![f64::INFINITY; pending.len() * nr];
        for a in 0..pending.len() {
            for rt in 0..nr {
                self.eval_cell(sol, &pending, a, rt, amp, &mut ins, &mut cost);
            }
        }
        let mut left = Vec::new();
        while !pending.is_empty() {
            let mut pick: Option<(usize, f64, f64)> = None; // (index, regret, best cost)
            for a in 0..pending.len() {
                let row = &cost[a * nr..(a + 1) * nr];
                let (c1, regret) = regret_of(row, k, pb.penalty);
                if !c1.is_finite() {
                    continue;
                }
                let better = match pick {
                    None => true,
                    Some((_, rg, cb)) => {
                        regret > rg + 1e-9 || ((regret - rg).abs() <= 1e-9 && c1 < cb)
                    }
                };
                if better {
                    pick = Some((a, regret, c1));
                }
            }
            let Some((a, _, _)) = pick else {
                left.append(&mut pending);
                break;
            };
            let row = &cost[a * nr..(a + 1) * nr];
            let rt = (0..nr)
                .min_by(|&x, &y| row[x].total_cmp(&row[y]))
                .expect("routes exist");
            let chosen = ins[a * nr + rt].expect("finite cost means an insertion");
            let was_used = sol.routes[rt].used;
            self.apply(sol, rt, pending[a] as usize, chosen);
            // Drop row a (swap with the last row).
            let last = pending.len() - 1;
            pending.swap(a, last);
            for rr in 0..nr {
                ins.swap(a * nr + rr, last * nr + rr);
                cost.swap(a * nr + rr, last * nr + rr);
            }
            pending.pop();
            ins.truncate(pending.len() * nr);
            cost.truncate(pending.len() * nr);
            // Refresh the column of the changed route, and of the next empty route of its class.
            let mut cols = vec![rt];
            if !was_used
                && let Some(next) = (0..nr).find(|&j| {
                    j != rt
                        && self.class[j] == self.class[rt]
                        && !sol.routes[j].used
                        && sol.routes[j].fixed.is_empty()
                })
            {
                cols.push(next);
            }
            for &c in &cols {
                for a2 in 0..pending.len() {
                    self.eval_cell(sol, &pending, a2, c, amp, &mut ins, &mut cost);
                }
            }
        }
        left.sort_unstable();
        sol.unassigned = left;
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_cell(
        &mut self,
        sol: &Solution,
        pending: &[u32],
        a: usize,
        rt: usize,
        amp: f64,
        ins: &mut [Option<Ins>],
        cost: &mut [f64],
    ) {
        let nr = sol.routes.len();
        let cell = a * nr + rt;
        if !self.representative(sol, rt) {
            ins[cell] = None;
            cost[cell] = f64::INFINITY;
            return;
        }
        let found = best_in_route(
            self.pb,
            &sol.routes[rt],
            pending[a] as usize,
            f64::INFINITY,
            &mut self.ws,
        );
        ins[cell] = found;
        cost[cell] = match found {
            Some(f) if amp > 0.0 => (f.delta + self.rng.random_range(-amp..=amp)).max(0.0),
            Some(f) => f.delta,
            None => f64::INFINITY,
        };
    }

    /// Moves single requests to their best position anywhere while that lowers the cost.
    pub fn local_search(&mut self, sol: &mut Solution) {
        let pb = self.pb;
        for _pass in 0..3 {
            let mut improved = false;
            let mut order = self.removable(sol);
            for i in (1..order.len()).rev() {
                let j = self.rng.random_range(0..=i);
                order.swap(i, j);
            }
            let at = sol.route_of(pb);
            let mut at = at;
            for &r in &order {
                let k = at[r as usize] as usize;
                let old_cost = sol.routes[k].cost;
                let saved = sol.routes[k].stops.clone();
                let route = &mut sol.routes[k];
                route.stops.retain(|&n| {
                    pb.nodes[n as usize].kind == Kind::Break || pb.nodes[n as usize].owner != r
                });
                if !route.refresh(pb, &mut self.tm) {
                    route.stops = saved;
                    let ok = route.refresh(pb, &mut self.tm);
                    debug_assert!(ok, "restored route is feasible");
                    continue;
                }
                let saving = old_cost - sol.routes[k].cost;
                let mut best: Option<(usize, Ins)> = None;
                let mut bound = saving - 1e-7;
                for rt in 0..sol.routes.len() {
                    if !self.representative(sol, rt) {
                        continue;
                    }
                    if let Some(f) =
                        best_in_route(pb, &sol.routes[rt], r as usize, bound, &mut self.ws)
                        && f.delta < bound
                    {
                        bound = f.delta;
                        best = Some((rt, f));
                    }
                }
                match best {
                    Some((rt, f)) => {
                        self.apply(sol, rt, r as usize, f);
                        at[r as usize] = rt as u32;
                        improved = true;
                    }
                    None => {
                        let route = &mut sol.routes[k];
                        route.stops = saved;
                        let ok = route.refresh(pb, &mut self.tm);
                        debug_assert!(ok, "restored route is feasible");
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
}

/// Best cost in `row` and the regret-k value (sum of differences to the next k-1 best).
fn regret_of(row: &[f64], k: usize, big: f64) -> (f64, f64) {
    let mut c1 = f64::INFINITY;
    for &c in row {
        if c < c1 {
            c1 = c;
        }
    }
    if k <= 1 || !c1.is_finite() {
        return (c1, -c1);
    }
    let mut sorted: Vec<f64> = row.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut regret = 0.0;
    for &c in sorted.iter().take(k.min(sorted.len())).skip(1) {
        regret += if c.is_finite() { c - c1 } else { big };
    }
    (c1, regret)
}

/// Distance saved (in arc cost) by taking request `r` out of a route.
fn removal_saving(pb: &Problem, stops: &[u32], loc: &[u32], r: u32) -> f64 {
    let path = |skip: bool| {
        let mut at = loc[0];
        let mut c = 0.0;
        for &n in stops {
            let node = &pb.nodes[n as usize];
            if node.kind == Kind::Break || (skip && node.owner == r) {
                continue;
            }
            c += pb.arc(at, node.loc);
            at = node.loc;
        }
        c + pb.arc(at, loc[loc.len() - 1])
    };
    path(false) - path(true)
}

fn roulette(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, &wi) in w.iter().enumerate() {
        if x < wi {
            return i;
        }
        x -= wi;
    }
    w.len() - 1
}

fn update_weights(w: &mut [f64], score: &mut [f64], count: &mut [u32]) {
    const REACTION: f64 = 0.1;
    for i in 0..w.len() {
        if count[i] > 0 {
            w[i] = (w[i] * (1.0 - REACTION) + REACTION * score[i] / count[i] as f64).max(0.05);
        }
        score[i] = 0.0;
        count[i] = 0;
    }
}

/// Runs `opts.threads` independent searches and returns the best solution (ties: lowest thread).
pub(crate) fn search(
    pb: &Problem,
    start: Solution,
    opts: SearchOptions,
    budget: Budget,
) -> Solution {
    let threads = opts.threads.max(1);
    let seed_of = |t: usize| opts.seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if threads == 1 {
        return Search::new(pb, opts, seed_of(0)).run(start, budget);
    }
    let results: Vec<Solution> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let st = start.clone();
                s.spawn(move || Search::new(pb, opts, seed_of(t)).run(st, budget))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("search threads do not panic"))
            .collect()
    });
    let mut best: Option<Solution> = None;
    for r in results {
        if best.as_ref().is_none_or(|b| r.better_than(b, pb)) {
            best = Some(r);
        }
    }
    best.expect("at least one thread ran")
}

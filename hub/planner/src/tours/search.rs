//! The pattern search: which bus, weekday, week offset and position in that weekday's visiting
//! order each village gets. Greedy cheapest insertion (least flexible villages first), then
//! ruin and recreate (related, random or whole-weekday removals, best reinsertion) with
//! simulated-annealing acceptance, all randomness from the caller's seed.
//!
//! Plans are ranked by (visits missing, patterns moved, cost): moves before driving because a
//! re-plan must keep residents' appointments wherever they still fit. The cost is the driving
//! of all regular tours plus, for a pattern visit on a day its bus cannot drive, an estimate of
//! its replacement's extra driving (a round trip from the depot).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::problem::Problem;
use super::timing::shared_starts;

/// A previous pattern the search tries to keep: slot (`bus * 7 + weekday`), offset and start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub slot: usize,
    pub offset: u32,
    pub start: u32,
}

/// The figures of one slot (one bus's weekday) under a layout.
#[derive(Clone, Debug, Default)]
pub(crate) struct SlotEval {
    /// Driving of the slot's regular tours over the cycle, seconds.
    pub driving: f64,
    /// Estimated replacement driving of its pattern visits on days the bus cannot drive.
    pub lost: f64,
    /// Pattern visits in weeks where no bus drives at all (cannot be replaced).
    pub missing: u32,
    /// Villages of the slot that keep their previous pattern exactly.
    pub unmoved: u32,
    /// Start time of each village of the slot, in visiting order.
    pub starts: Vec<u32>,
}

/// Where every village's pattern sits.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Per slot (`bus * 7 + weekday`): villages in visiting order.
    pub seqs: Vec<Vec<usize>>,
    pub evals: Vec<SlotEval>,
    /// Per village: its slot, if it has a pattern, and its week offset.
    pub slot_of: Vec<Option<usize>>,
    pub offset: Vec<u32>,
}

/// Lexicographic rank of a layout (or of a change to one): smaller is better.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    missing: i64,
    moved: i64,
    cost: f64,
}

impl Key {
    fn better(&self, other: &Key) -> bool {
        (self.missing, self.moved) < (other.missing, other.moved)
            || ((self.missing, self.moved) == (other.missing, other.moved)
                && self.cost < other.cost - 1e-9)
    }
}

/// A slot's figures before its times are known (times only decide feasibility and moves).
struct Quick {
    driving: f64,
    lost: f64,
    missing: u32,
    /// Villages that could keep their previous pattern if the times allow.
    keepable: u32,
}

pub(crate) struct Search<'p, 'a> {
    pb: &'p Problem<'a>,
    targets: Vec<Option<Target>>,
    /// Whether the slot's bus works on its weekday.
    slot_ok: Vec<bool>,
    rng: ChaCha8Rng,
    masks: Vec<u8>,
    targs: Vec<Option<u32>>,
    starts: Vec<u32>,
    seq: Vec<usize>,
}

impl<'p, 'a> Search<'p, 'a> {
    pub fn new(pb: &'p Problem<'a>, targets: Vec<Option<Target>>, seed: u64) -> Self {
        let slot_ok = (0..pb.input.buses.len() * 7)
            .map(|s| pb.input.buses[s / 7].weekdays.contains(&((s % 7) as u8)))
            .collect();
        Search {
            pb,
            targets,
            slot_ok,
            rng: ChaCha8Rng::seed_from_u64(seed),
            masks: Vec::new(),
            targs: Vec::new(),
            starts: Vec::new(),
            seq: Vec::new(),
        }
    }

    /// Builds a first layout and improves it for `iterations` ruin-and-recreate steps.
    pub fn run(&mut self, iterations: u32) -> Layout {
        let mut cur = self.construct();
        let mut cur_key = self.key(&cur);
        let mut best = cur.clone();
        let mut best_key = cur_key;
        let n = self.pb.n;
        let placeable: Vec<usize> = (0..n)
            .filter(|&v| self.pb.reach.iter().any(|r| r[v]))
            .collect();
        if placeable.is_empty() || iterations == 0 {
            return best;
        }
        // A change this many seconds worse is accepted with probability 1/2 at the start.
        let t0 = (0.005 * cur_key.cost).max(1.0) / std::f64::consts::LN_2;
        for it in 0..iterations {
            let temperature = t0 * 0.01f64.powf(f64::from(it) / f64::from(iterations));
            let mut cand = cur.clone();
            let removed = self.ruin(&mut cand, &placeable);
            self.recreate(&mut cand, removed);
            let key = self.key(&cand);
            let accept = key.better(&cur_key)
                || ((key.missing, key.moved) == (cur_key.missing, cur_key.moved)
                    && self.rng.random::<f64>() < (-(key.cost - cur_key.cost) / temperature).exp());
            if accept {
                cur = cand;
                cur_key = key;
                if cur_key.better(&best_key) {
                    best = cur.clone();
                    best_key = cur_key;
                }
            }
        }
        best
    }

    fn empty(&self) -> Layout {
        Layout {
            seqs: vec![Vec::new(); self.slot_ok.len()],
            evals: vec![SlotEval::default(); self.slot_ok.len()],
            slot_of: vec![None; self.pb.n],
            offset: vec![0; self.pb.n],
        }
    }

    /// The previous patterns that still fit (dropping the latest of a weekday until it fits),
    /// then every other village by cheapest insertion, least flexible first.
    fn construct(&mut self) -> Layout {
        let mut layout = self.empty();
        let mut rest = Vec::new();
        for slot in 0..self.slot_ok.len() {
            let mut seq: Vec<(u32, usize)> = (0..self.pb.n)
                .filter_map(|v| match self.targets[v] {
                    Some(t) if t.slot == slot => Some((t.start, v)),
                    _ => None,
                })
                .collect();
            seq.sort_unstable();
            let mut seq: Vec<usize> = seq.into_iter().map(|(_, v)| v).collect();
            for &v in &seq {
                layout.offset[v] = self.targets[v].map_or(0, |t| t.offset);
                layout.slot_of[v] = Some(slot);
            }
            loop {
                if let Some(eval) = self.evaluate(&layout.offset, slot, &seq) {
                    layout.evals[slot] = eval;
                    break;
                }
                let v = seq.pop().expect("an empty weekday always fits");
                layout.slot_of[v] = None;
                rest.push(v);
            }
            layout.seqs[slot] = seq;
        }
        rest.extend((0..self.pb.n).filter(|&v| self.targets[v].is_none()));
        rest.sort_unstable();
        self.recreate(&mut layout, rest);
        layout
    }

    /// How hard a village is to place: more visit time per cycle first.
    fn weight(&self, v: usize) -> f64 {
        f64::from(self.pb.required(v) * self.pb.input.villages[v].visit_minutes)
    }

    /// Inserts `villages` and every other unplaced one, heaviest first (with some noise once
    /// the search runs), each at its cheapest place.
    fn recreate(&mut self, layout: &mut Layout, mut villages: Vec<usize>) {
        villages.extend((0..self.pb.n).filter(|&v| layout.slot_of[v].is_none()));
        villages.sort_unstable();
        villages.dedup();
        let mut order: Vec<(f64, usize)> = villages
            .into_iter()
            .map(|v| (self.weight(v) * (0.8 + 0.4 * self.rng.random::<f64>()), v))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, v) in order {
            if let Some((slot, offset, pos, eval)) = self.best_insertion(layout, v) {
                layout.seqs[slot].insert(pos, v);
                layout.slot_of[v] = Some(slot);
                layout.offset[v] = offset;
                layout.evals[slot] = eval;
            }
        }
    }

    /// Removes a few villages: a village and its nearest placed neighbours, random ones, or a
    /// whole weekday of one bus. Returns them.
    fn ruin(&mut self, layout: &mut Layout, placeable: &[usize]) -> Vec<usize> {
        let n = placeable.len();
        let v0 = placeable[self.rng.random_range(0..n)];
        let most = (n / 4).clamp(1, 14);
        let count = self.rng.random_range(1..=most);
        let mode = self.rng.random_range(0..20);
        let mut removed = vec![v0];
        if mode < 3 {
            if let Some(slot) = layout.slot_of[v0] {
                removed = layout.seqs[slot].clone();
            }
        } else if mode < 8 {
            while removed.len() < count {
                let v = placeable[self.rng.random_range(0..n)];
                if !removed.contains(&v) {
                    removed.push(v);
                }
            }
        } else {
            for &u in &self.pb.neighbours[v0] {
                if removed.len() >= count {
                    break;
                }
                if layout.slot_of[u].is_some() && self.rng.random::<f64>() < 0.7 {
                    removed.push(u);
                }
            }
        }
        let mut touched = Vec::new();
        for &v in &removed {
            if let Some(slot) = layout.slot_of[v].take() {
                layout.seqs[slot].retain(|&u| u != v);
                touched.push(slot);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for slot in touched {
            let seq = layout.seqs[slot].clone();
            match self.evaluate(&layout.offset, slot, &seq) {
                Some(eval) => layout.evals[slot] = eval,
                None => {
                    // Removing visits only makes times earlier, so this does not happen; if it
                    // did, the weekday is emptied rather than kept infeasible.
                    for v in seq {
                        layout.slot_of[v] = None;
                        removed.push(v);
                    }
                    layout.seqs[slot].clear();
                    layout.evals[slot] = SlotEval::default();
                }
            }
        }
        removed
    }

    fn key(&self, layout: &Layout) -> Key {
        let mut missing = 0i64;
        let mut unmoved = 0i64;
        let mut cost = 0.0;
        for e in &layout.evals {
            missing += i64::from(e.missing);
            unmoved += i64::from(e.unmoved);
            cost += e.driving + e.lost;
        }
        for v in 0..self.pb.n {
            if layout.slot_of[v].is_none() {
                missing += i64::from(self.pb.required(v));
            }
        }
        let targets = self.targets.iter().filter(|t| t.is_some()).count() as i64;
        Key {
            missing,
            moved: targets - unmoved,
            cost,
        }
    }

    /// The best slot, offset and position for unplaced village `v`, with the slot's new figures.
    /// Candidates are ranked by their figures without times first; times (the expensive part)
    /// are computed best-first until no remaining candidate can beat the best feasible one.
    fn best_insertion(
        &mut self,
        layout: &Layout,
        v: usize,
    ) -> Option<(usize, u32, usize, SlotEval)> {
        let pb = self.pb;
        let every = pb.input.villages[v].every_weeks;
        let required = i64::from(pb.required(v));
        let mut offsets = layout.offset.clone();
        let mut candidates: Vec<(Key, usize, u32, usize)> = Vec::new();
        let mut seq = std::mem::take(&mut self.seq);
        for slot in 0..self.slot_ok.len() {
            if !self.slot_ok[slot] || !pb.reach[slot / 7][v] {
                continue;
            }
            let base = &layout.evals[slot];
            for offset in 0..every {
                offsets[v] = offset;
                for pos in 0..=layout.seqs[slot].len() {
                    insert_into(&mut seq, &layout.seqs[slot], pos, v);
                    let q = self.quick(&offsets, slot, &seq);
                    let optimistic = Key {
                        missing: i64::from(q.missing) - i64::from(base.missing) - required,
                        moved: i64::from(base.unmoved) - i64::from(q.keepable),
                        cost: q.driving + q.lost - base.driving - base.lost,
                    };
                    candidates.push((optimistic, slot, offset, pos));
                }
            }
        }
        candidates.sort_by(|a, b| {
            (a.0.missing, a.0.moved)
                .cmp(&(b.0.missing, b.0.moved))
                .then(a.0.cost.total_cmp(&b.0.cost))
                .then((a.1, a.2, a.3).cmp(&(b.1, b.2, b.3)))
        });
        let mut best: Option<(Key, usize, u32, usize, SlotEval)> = None;
        for (optimistic, slot, offset, pos) in candidates {
            if best.as_ref().is_some_and(|b| !optimistic.better(&b.0)) {
                break;
            }
            offsets[v] = offset;
            insert_into(&mut seq, &layout.seqs[slot], pos, v);
            let q = self.quick(&offsets, slot, &seq);
            let base = &layout.evals[slot];
            if let Some((unmoved, starts)) = self.timed(slot, &seq) {
                let key = Key {
                    moved: i64::from(base.unmoved) - i64::from(unmoved),
                    ..optimistic
                };
                if best.as_ref().is_none_or(|b| key.better(&b.0)) {
                    let eval = SlotEval {
                        driving: q.driving,
                        lost: q.lost,
                        missing: q.missing,
                        unmoved,
                        starts,
                    };
                    best = Some((key, slot, offset, pos, eval));
                }
            }
        }
        self.seq = seq;
        best.map(|(_, slot, offset, pos, eval)| (slot, offset, pos, eval))
    }

    /// The full figures of a slot with villages `seq`, or `None` if no times fit.
    pub fn evaluate(&mut self, offsets: &[u32], slot: usize, seq: &[usize]) -> Option<SlotEval> {
        let q = self.quick(offsets, slot, seq);
        let (unmoved, starts) = self.timed(slot, seq)?;
        Some(SlotEval {
            driving: q.driving,
            lost: q.lost,
            missing: q.missing,
            unmoved,
            starts,
        })
    }

    /// Driving, replacements and keepable patterns of a slot; leaves the week masks and
    /// targets of `seq` in `self.masks` and `self.targs` for [`Self::timed`].
    fn quick(&mut self, offsets: &[u32], slot: usize, seq: &[usize]) -> Quick {
        let pb = self.pb;
        let (bus, weekday) = (slot / 7, (slot % 7) as u32);
        let mut q = Quick {
            driving: 0.0,
            lost: 0.0,
            missing: 0,
            keepable: 0,
        };
        self.masks.clear();
        self.targs.clear();
        for &v in seq {
            let every = pb.input.villages[v].every_weeks;
            let offset = offsets[v];
            let mut mask = 0u8;
            let mut week = offset;
            while week < pb.weeks {
                if pb.usable(bus, week * 7 + weekday) {
                    mask |= 1 << week;
                } else if pb.week_open[week as usize] {
                    q.lost += pb.replacement_cost[v];
                } else {
                    q.missing += 1;
                }
                week += every;
            }
            self.masks.push(mask);
            let target = match self.targets[v] {
                Some(t) if t.slot == slot && t.offset == offset => {
                    q.keepable += 1;
                    Some(t.start)
                }
                _ => None,
            };
            self.targs.push(target);
        }
        let depot = pb.depot(bus);
        for week in 0..pb.weeks {
            let bit = 1u8 << week;
            let mut at = depot;
            for (i, &v) in seq.iter().enumerate() {
                if self.masks[i] & bit != 0 {
                    q.driving += pb.secs(at, v);
                    at = v;
                }
            }
            if at != depot {
                q.driving += pb.secs(at, depot);
            }
        }
        q
    }

    /// Start times for the slot whose masks and targets [`Self::quick`] left: keeping the
    /// previous starts if possible, else the earliest. Returns the kept count and the starts.
    fn timed(&mut self, slot: usize, seq: &[usize]) -> Option<(u32, Vec<u32>)> {
        let bus = slot / 7;
        let mut starts = std::mem::take(&mut self.starts);
        let mut ok = shared_starts(self.pb, bus, seq, &self.masks, &self.targs, &mut starts);
        if !ok && self.targs.iter().any(Option::is_some) {
            let none = vec![None; seq.len()];
            ok = shared_starts(self.pb, bus, seq, &self.masks, &none, &mut starts);
        }
        let result = ok.then(|| {
            let kept = self
                .targs
                .iter()
                .zip(&starts)
                .filter(|(t, s)| **t == Some(**s))
                .count() as u32;
            (kept, starts.clone())
        });
        self.starts = starts;
        result
    }
}

/// `seq` becomes `base` with `v` inserted at `pos`.
fn insert_into(seq: &mut Vec<usize>, base: &[usize], pos: usize, v: usize) {
    seq.clear();
    seq.extend_from_slice(&base[..pos]);
    seq.push(v);
    seq.extend_from_slice(&base[pos..]);
}

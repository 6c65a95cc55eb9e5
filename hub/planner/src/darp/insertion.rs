//! Best feasible insertion of one request into one route: cheap necessary tests prune the
//! position pairs, the survivors are tried in order of cost with the exact timing network.

use super::problem::{Problem, RouteState, evaluate};
use super::timing::{EPS, Timing};

/// Where to insert: the pickup goes after timing node `i`, the drop-off after timing node `j`
/// of the current route (`j == i`: right after the pickup). Timing node 0 is the start depot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ins {
    pub delta: f64,
    pub i: u32,
    pub j: u32,
}

/// Scratch buffers reused across insertion tests.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    pub tm: Timing,
    pub seq: Vec<u32>,
    cands: Vec<(f64, u32, u32)>,
}

/// Builds the stop sequence of `route` with request `r` inserted at (`i`, `j`) into `out`.
pub(crate) fn splice(stops: &[u32], r: usize, i: usize, j: usize, out: &mut Vec<u32>) {
    out.clear();
    out.extend_from_slice(&stops[..i]);
    out.push(2 * r as u32);
    out.extend_from_slice(&stops[i..j]);
    out.push(2 * r as u32 + 1);
    out.extend_from_slice(&stops[j..]);
}

/// The cheapest feasible insertion of request `r` into `route` whose cost increase is below
/// `bound`, or None. With a ride-time weight the cost of a few feasible candidates is
/// evaluated exactly and the best kept.
pub(crate) fn best_in_route(
    pb: &Problem,
    route: &RouteState,
    r: usize,
    bound: f64,
    ws: &mut Workspace,
) -> Option<Ins> {
    let v = &pb.inst.vehicles()[route.vehicle];
    let p = &pb.nodes[2 * r];
    let d = &pb.nodes[2 * r + 1];
    let (cap_s, cap_w) = (v.seats as i32, v.wheelchairs as i32);
    if p.seats > cap_s || p.wc > cap_w {
        return None;
    }
    let m = route.stops.len(); // timing nodes 0..=m+1
    let fixed_cost = if route.used {
        0.0
    } else {
        pb.inst.weights().vehicle
    };
    let bound = bound - fixed_cost;
    let max_ride = p.gap - p.s;
    let t_pd = pb.time(p.loc, d.loc);
    if t_pd > max_ride + EPS {
        return None;
    }
    let (b, u) = (&route.b, &route.u);
    let (loc, nl, sv) = (&route.loc, &route.next_loc, &route.serv);
    ws.cands.clear();
    let i_min = route.fixed.len().max(1) - 1;
    for i in i_min..=m {
        let depart_i = b[i] + sv[i];
        if depart_i > p.l + EPS {
            break;
        }
        if route.seats[i] + p.seats > cap_s || route.wc[i] + p.wc > cap_w {
            continue;
        }
        let li = loc[i];
        let bp = p.e.max(depart_i + pb.time(li, p.loc));
        if bp > p.l + EPS {
            continue;
        }
        let nli = nl[i];
        let base = pb.arc(li, p.loc) - pb.arc(li, nli);
        // Drop-off right after the pickup.
        {
            let bd = d.e.max(bp + p.s + t_pd);
            if bd <= d.l + EPS {
                let to_next = if route.is_break[i + 1] {
                    0.0
                } else {
                    pb.time(d.loc, loc[i + 1])
                };
                if bd + d.s + to_next <= u[i + 1] + EPS {
                    let delta = base + pb.arc(p.loc, d.loc) + pb.arc(d.loc, nli);
                    if delta < bound {
                        ws.cands.push((delta, i as u32, i as u32));
                    }
                }
            }
        }
        if i == m {
            continue;
        }
        // Drop-off after a later node k: walk k forward with the push the pickup causes.
        let t_first = if route.is_break[i + 1] {
            0.0
        } else {
            pb.time(p.loc, loc[i + 1])
        };
        let mut bk = b[i + 1].max(bp + p.s + t_first);
        if bk > u[i + 1] + EPS {
            continue;
        }
        let delta_p = base + pb.arc(p.loc, nli);
        let mut path = t_first;
        let mut at = if route.is_break[i + 1] {
            p.loc
        } else {
            loc[i + 1]
        };
        let mut k = i + 1;
        while k <= m {
            if route.seats[k] + p.seats > cap_s || route.wc[k] + p.wc > cap_w {
                break;
            }
            let depart_k = bk + sv[k];
            if depart_k > d.l + EPS || path + sv[k] > max_ride + EPS {
                break;
            }
            let tkd = pb.time(at, d.loc);
            let ride_lb = path + sv[k] + tkd;
            let bd = d.e.max(depart_k + tkd);
            if bd <= d.l + EPS && ride_lb <= max_ride + EPS {
                let to_next = if route.is_break[k + 1] {
                    0.0
                } else {
                    pb.time(d.loc, loc[k + 1])
                };
                if bd + d.s + to_next <= u[k + 1] + EPS {
                    let delta =
                        delta_p + pb.arc(at, d.loc) + pb.arc(d.loc, nl[k]) - pb.arc(at, nl[k]);
                    if delta < bound {
                        ws.cands.push((delta, i as u32, k as u32));
                    }
                }
            }
            if k == m {
                break;
            }
            let t_next = if route.is_break[k + 1] {
                0.0
            } else {
                pb.time(at, loc[k + 1])
            };
            path += sv[k] + t_next;
            bk = b[k + 1].max(bk + sv[k] + t_next);
            if bk > u[k + 1] + EPS {
                break;
            }
            if !route.is_break[k + 1] {
                at = loc[k + 1];
            }
            k += 1;
        }
    }
    let ride_weighted = pb.inst.weights().ride_time > 0.0;
    let mut best: Option<Ins> = None;
    let mut exact_tries = 0;
    // Try candidates cheapest first; selecting the minimum repeatedly beats sorting because
    // the first one or two usually pass.
    while !ws.cands.is_empty() {
        let (pos, _) = ws
            .cands
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .expect("candidates are not empty");
        let (delta, i, j) = ws.cands.swap_remove(pos);
        if best.is_some_and(|b| delta >= b.delta) {
            break;
        }
        splice(&route.stops, r, i as usize, j as usize, &mut ws.seq);
        if let Some(cost) = evaluate(pb, route.vehicle, &ws.seq, &route.fixed, &mut ws.tm, false) {
            if !ride_weighted {
                return Some(Ins {
                    delta: delta + fixed_cost,
                    i,
                    j,
                });
            }
            let exact = cost - route.cost;
            if best.is_none_or(|b| exact < b.delta) && exact < bound + fixed_cost {
                best = Some(Ins { delta: exact, i, j });
            }
            exact_tries += 1;
            if exact_tries >= 6 {
                break;
            }
        }
    }
    best
}

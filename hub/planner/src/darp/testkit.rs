//! Random small instances for the unit tests (compiled only for tests).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Break, Instance, Matrices, Request, TimeWindow, Vehicle};

/// A random instance on a 20 x 20 plane: `n` requests with windows at one end, `k` vehicles
/// with small capacities, some wheelchair places, optional breaks.
pub(crate) fn random_instance(seed: u64, n: usize, k: usize, breaks: bool) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points = vec![(10.0, 10.0)];
    for _ in 0..2 * n {
        points.push((rng.random_range(0.0..20.0), rng.random_range(0.0..20.0)));
    }
    let m = Matrices::euclidean(&points);
    let mut requests = Vec::new();
    for r in 0..n {
        let (p, d) = (1 + 2 * r, 2 + 2 * r);
        let direct = m.time(p, d);
        let t = rng.random_range(20.0..200.0);
        let wc = u32::from(rng.random_bool(0.2));
        let seats = if wc == 1 { 0 } else { rng.random_range(1..=2) };
        let max_ride = (1.5 * direct).max(direct + 8.0);
        requests.push(if rng.random_bool(0.5) {
            Request::appointment(p, d, t + direct, 15.0, seats, wc, 1.0, max_ride)
        } else {
            Request::pickup_between(p, d, TimeWindow::new(t, t + 15.0), seats, wc, 1.0, max_ride)
        });
    }
    let vehicles = (0..k)
        .map(|i| Vehicle {
            start: 0,
            end: 0,
            shift: TimeWindow::new(0.0, 300.0),
            max_duration: 240.0,
            seats: 3,
            wheelchairs: u32::from(i % 2 == 0),
            rest: breaks.then_some(Break {
                earliest_start: 80.0,
                latest_start: 140.0,
                duration: 15.0,
            }),
        })
        .collect();
    Instance::new(m, requests, vehicles).expect("valid random instance")
}

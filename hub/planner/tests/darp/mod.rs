//! Dial-a-ride planner through its public API: optimisation, booking, checker, reader.

mod booking;
mod cordeau;
mod optimise;

use planner::darp::{Break, Instance, Matrices, Request, TimeWindow, Vehicle};

/// Points on a line (x only): travel time = distance = |a - b|.
pub fn line(xs: &[f64]) -> Matrices {
    Matrices::euclidean(&xs.iter().map(|&x| (x, 0.0)).collect::<Vec<_>>())
}

/// A plain vehicle at location 0 with a long shift.
pub fn vehicle(seats: u32, wheelchairs: u32) -> Vehicle {
    Vehicle {
        start: 0,
        end: 0,
        shift: TimeWindow::new(0.0, 1000.0),
        max_duration: f64::INFINITY,
        seats,
        wheelchairs,
        rest: None,
    }
}

/// A request from `p` to `d` wanting pickup in `[t, t + width]`.
pub fn trip(p: usize, d: usize, t: f64, width: f64, max_ride: f64) -> Request {
    Request::pickup_between(p, d, TimeWindow::new(t, t + width), 1, 0, 1.0, max_ride)
}

pub fn with_break(mut v: Vehicle, earliest: f64, latest: f64, duration: f64) -> Vehicle {
    v.rest = Some(Break {
        earliest_start: earliest,
        latest_start: latest,
        duration,
    });
    v
}

pub fn instance(m: Matrices, requests: Vec<Request>, vehicles: Vec<Vehicle>) -> Instance {
    Instance::new(m, requests, vehicles).expect("valid test instance")
}

/// The Cordeau files shipped beside the repository.
pub fn data(rel: &str) -> String {
    let path = format!(
        "{}/../../../shared/data/darp/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

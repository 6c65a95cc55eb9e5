//! The public model of the dial-a-ride problem: travel matrices, requests, vehicles and plans.
//!
//! All times and distances are plain `f64` in the instance's own unit (the hub uses minutes and
//! kilometres; Cordeau's benchmark files use minutes and Euclidean distance). Nothing here knows
//! about calendars or clocks.

use super::DarpError;

/// A closed time interval `[earliest, latest]` for the start of service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeWindow {
    /// Earliest allowed start of service.
    pub earliest: f64,
    /// Latest allowed start of service.
    pub latest: f64,
}

impl TimeWindow {
    /// A window that never binds.
    pub const ANY: TimeWindow = TimeWindow {
        earliest: f64::NEG_INFINITY,
        latest: f64::INFINITY,
    };

    /// The window `[earliest, latest]`.
    pub fn new(earliest: f64, latest: f64) -> Self {
        TimeWindow { earliest, latest }
    }

    /// Whether `t` lies in the window, allowing `eps` of rounding on both sides.
    pub fn contains(&self, t: f64, eps: f64) -> bool {
        t >= self.earliest - eps && t <= self.latest + eps
    }

    /// The intersection of both windows (may be empty, see [`TimeWindow::is_empty`]).
    pub fn intersect(&self, other: &TimeWindow) -> TimeWindow {
        TimeWindow::new(
            self.earliest.max(other.earliest),
            self.latest.min(other.latest),
        )
    }

    /// Whether no time lies in the window.
    pub fn is_empty(&self) -> bool {
        self.earliest
            .partial_cmp(&self.latest)
            .is_none_or(|o| o.is_gt())
    }

    /// The window moved by `delta` (negative = earlier).
    pub fn shifted(&self, delta: f64) -> TimeWindow {
        TimeWindow::new(self.earliest + delta, self.latest + delta)
    }
}

/// Travel time and distance between all pairs of locations, row-major, indexed by location index.
///
/// The hub fills these from its travel-time source; the benchmarks from Euclidean coordinates.
#[derive(Debug, Clone)]
pub struct Matrices {
    size: usize,
    time: Vec<f64>,
    distance: Vec<f64>,
}

impl Matrices {
    /// Square `size` x `size` matrices given row by row (`time[a * size + b]` is a -> b).
    pub fn new(size: usize, time: Vec<f64>, distance: Vec<f64>) -> Result<Self, DarpError> {
        if time.len() != size * size || distance.len() != size * size {
            return Err(DarpError::Matrix(format!(
                "expected {} entries for {size} locations, got {} times and {} distances",
                size * size,
                time.len(),
                distance.len()
            )));
        }
        if let Some(bad) = time
            .iter()
            .chain(&distance)
            .find(|v| !v.is_finite() || **v < 0.0)
        {
            return Err(DarpError::Matrix(format!(
                "entry {bad} is not a finite non-negative number"
            )));
        }
        Ok(Matrices {
            size,
            time,
            distance,
        })
    }

    /// Matrices where travel time and distance both equal the Euclidean distance of the points.
    pub fn euclidean(points: &[(f64, f64)]) -> Self {
        let size = points.len();
        let mut d = Vec::with_capacity(size * size);
        for a in points {
            for b in points {
                d.push(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt());
            }
        }
        Matrices {
            size,
            time: d.clone(),
            distance: d,
        }
    }

    /// Number of locations.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Travel time from `a` to `b`.
    #[inline]
    pub fn time(&self, a: usize, b: usize) -> f64 {
        self.time[a * self.size + b]
    }

    /// Driving distance from `a` to `b`.
    #[inline]
    pub fn distance(&self, a: usize, b: usize) -> f64 {
        self.distance[a * self.size + b]
    }
}

/// One passenger trip: from `pickup` to `dropoff`, with windows at both ends.
///
/// Usually one end has a real window and the other is [`TimeWindow::ANY`]: an appointment
/// (see [`Request::appointment`]) constrains the drop-off, a desired departure the pickup.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Location index of the pickup.
    pub pickup: usize,
    /// Location index of the drop-off.
    pub dropoff: usize,
    /// Allowed start of service (boarding) at the pickup.
    pub pickup_window: TimeWindow,
    /// Allowed start of service (alighting) at the drop-off.
    pub dropoff_window: TimeWindow,
    /// Seats taken (the passenger plus companions); wheelchair users take a wheelchair place instead.
    pub seats: u32,
    /// Wheelchair places taken.
    pub wheelchairs: u32,
    /// Boarding time at the pickup.
    pub pickup_service: f64,
    /// Alighting time at the drop-off.
    pub dropoff_service: f64,
    /// Maximum ride time: start of service at the drop-off minus end of service at the pickup.
    pub max_ride: f64,
}

impl Request {
    /// The hub's default maximum ride time for a direct travel time in minutes:
    /// `max(1.5 x direct, direct + 20 min)`.
    pub fn default_max_ride_minutes(direct: f64) -> f64 {
        (1.5 * direct).max(direct + 20.0)
    }

    /// An appointment trip: arrive at `dropoff` not later than `appointment` and not more than
    /// `early` before it. The pickup has no window of its own (the ride time limits it).
    #[allow(clippy::too_many_arguments)]
    pub fn appointment(
        pickup: usize,
        dropoff: usize,
        appointment: f64,
        early: f64,
        seats: u32,
        wheelchairs: u32,
        service: f64,
        max_ride: f64,
    ) -> Self {
        Request {
            pickup,
            dropoff,
            pickup_window: TimeWindow::ANY,
            dropoff_window: TimeWindow::new(appointment - early, appointment),
            seats,
            wheelchairs,
            pickup_service: service,
            dropoff_service: service,
            max_ride,
        }
    }

    /// A trip with a desired pickup window (e.g. the way home after an appointment).
    #[allow(clippy::too_many_arguments)]
    pub fn pickup_between(
        pickup: usize,
        dropoff: usize,
        window: TimeWindow,
        seats: u32,
        wheelchairs: u32,
        service: f64,
        max_ride: f64,
    ) -> Self {
        Request {
            pickup,
            dropoff,
            pickup_window: window,
            dropoff_window: TimeWindow::ANY,
            seats,
            wheelchairs,
            pickup_service: service,
            dropoff_service: service,
            max_ride,
        }
    }
}

/// A driver's break: starts within `[earliest_start, latest_start]` and lasts `duration`.
/// It may be taken anywhere on the route (at the place of the stop before it); the vehicle does
/// not move during it, and passengers on board count it as ride time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Break {
    /// Earliest start of the break.
    pub earliest_start: f64,
    /// Latest start of the break.
    pub latest_start: f64,
    /// Length of the break.
    pub duration: f64,
}

/// A vehicle with its driver's shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    /// Location index where the shift starts.
    pub start: usize,
    /// Location index where the shift ends.
    pub end: usize,
    /// The vehicle leaves `start` and returns to `end` within this window.
    pub shift: TimeWindow,
    /// Longest allowed time from leaving `start` to arriving at `end` (`f64::INFINITY` if none).
    pub max_duration: f64,
    /// Passenger seats.
    pub seats: u32,
    /// Wheelchair places.
    pub wheelchairs: u32,
    /// The driver's break, if the shift has one. It is only taken on a route that serves someone.
    pub rest: Option<Break>,
}

/// How the objective weighs its parts. Serving requests always comes first (lexicographically);
/// these weights combine the rest into one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Per unit of driving distance.
    pub distance: f64,
    /// Per unit of driving time (excluding waiting and service).
    pub driving_time: f64,
    /// Per vehicle that serves at least one request.
    pub vehicle: f64,
    /// Per unit of passengers' total ride time.
    pub ride_time: f64,
}

impl Default for Weights {
    /// Total distance only, as in the academic benchmarks.
    fn default() -> Self {
        Weights {
            distance: 1.0,
            driving_time: 0.0,
            vehicle: 0.0,
            ride_time: 0.0,
        }
    }
}

/// A complete problem: where things are, who wants to go where, which vehicles are there.
#[derive(Debug, Clone)]
pub struct Instance {
    matrices: Matrices,
    requests: Vec<Request>,
    vehicles: Vec<Vehicle>,
    weights: Weights,
}

impl Instance {
    /// Builds and validates an instance. Request and vehicle indices are their positions here.
    pub fn new(
        matrices: Matrices,
        requests: Vec<Request>,
        vehicles: Vec<Vehicle>,
    ) -> Result<Self, DarpError> {
        let mut instance = Instance {
            matrices,
            requests: Vec::new(),
            vehicles: Vec::new(),
            weights: Weights::default(),
        };
        for v in vehicles {
            instance.add_vehicle(v)?;
        }
        for r in requests {
            instance.add_request(r)?;
        }
        Ok(instance)
    }

    /// The same instance with other objective weights.
    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Adds a request (e.g. a new booking before [`super::insert`]) and returns its index.
    pub fn add_request(&mut self, request: Request) -> Result<usize, DarpError> {
        let n = self.matrices.size();
        let index = self.requests.len();
        if request.pickup >= n || request.dropoff >= n {
            return Err(DarpError::Request {
                index,
                message: "location index out of range".into(),
            });
        }
        let numbers = [
            request.pickup_service,
            request.dropoff_service,
            request.max_ride,
        ];
        if numbers.iter().any(|v| v.is_nan() || *v < 0.0)
            || request.pickup_window.earliest.is_nan()
            || request.pickup_window.latest.is_nan()
            || request.dropoff_window.earliest.is_nan()
            || request.dropoff_window.latest.is_nan()
        {
            return Err(DarpError::Request {
                index,
                message: "negative or NaN time".into(),
            });
        }
        if request.seats + request.wheelchairs == 0 {
            return Err(DarpError::Request {
                index,
                message: "carries nobody".into(),
            });
        }
        self.requests.push(request);
        Ok(index)
    }

    /// Adds a vehicle and returns its index.
    pub fn add_vehicle(&mut self, vehicle: Vehicle) -> Result<usize, DarpError> {
        let index = self.vehicles.len();
        let n = self.matrices.size();
        if vehicle.start >= n || vehicle.end >= n {
            return Err(DarpError::Vehicle {
                index,
                message: "depot location out of range".into(),
            });
        }
        if vehicle.shift.is_empty() || vehicle.max_duration.is_nan() || vehicle.max_duration < 0.0 {
            return Err(DarpError::Vehicle {
                index,
                message: "empty shift or bad duration".into(),
            });
        }
        if let Some(b) = vehicle.rest
            && (b.earliest_start.is_nan()
                || b.earliest_start > b.latest_start
                || b.duration.is_nan()
                || b.duration < 0.0)
        {
            return Err(DarpError::Vehicle {
                index,
                message: "bad break".into(),
            });
        }
        self.vehicles.push(vehicle);
        Ok(index)
    }

    /// Travel matrices.
    pub fn matrices(&self) -> &Matrices {
        &self.matrices
    }

    /// All requests, indexed by request id.
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// All vehicles, indexed by vehicle id.
    pub fn vehicles(&self) -> &[Vehicle] {
        &self.vehicles
    }

    /// Objective weights.
    pub fn weights(&self) -> Weights {
        self.weights
    }
}

/// What happens at a stop of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// Boarding of the request with this index.
    Pickup(usize),
    /// Alighting of the request with this index.
    Dropoff(usize),
    /// The driver's break (at the place of the previous stop).
    Break,
}

/// A stop with its planned (or, once it happened, actual) start of service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledStop {
    /// What happens.
    pub stop: Stop,
    /// Start of service.
    pub time: f64,
}

/// One vehicle's route: leave the start depot at `start`, serve `stops` in order, arrive at the
/// end depot at `end`. A vehicle waits at a stop (before service) when it is early; it leaves
/// every stop as soon as service ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Index of the vehicle driving it.
    pub vehicle: usize,
    /// Departure time from the start depot.
    pub start: f64,
    /// The stops in order, with start of service.
    pub stops: Vec<ScheduledStop>,
    /// Arrival time at the end depot.
    pub end: f64,
}

impl Route {
    /// Whether the route serves at least one request.
    pub fn is_used(&self) -> bool {
        self.stops.iter().any(|s| !matches!(s.stop, Stop::Break))
    }
}

/// A plan for the whole instance: one route per vehicle (same order as the instance's vehicles)
/// and the requests that could not be served.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One route per vehicle, `routes[k].vehicle == k`.
    pub routes: Vec<Route>,
    /// Requests served by no route.
    pub unserved: Vec<usize>,
}

impl Plan {
    /// A plan that serves nobody yet (every request of `instance` unserved).
    pub fn empty(instance: &Instance) -> Plan {
        Plan {
            routes: instance
                .vehicles()
                .iter()
                .enumerate()
                .map(|(k, v)| Route {
                    vehicle: k,
                    start: v.shift.earliest,
                    stops: Vec::new(),
                    end: v.shift.earliest,
                })
                .collect(),
            unserved: (0..instance.requests().len()).collect(),
        }
    }

    /// Total driving distance of all routes.
    pub fn distance(&self, instance: &Instance) -> f64 {
        self.routes
            .iter()
            .map(|r| route_metric(instance, r, |m, a, b| m.distance(a, b)))
            .sum()
    }

    /// Total driving time of all routes (without waiting, service and breaks).
    pub fn driving_time(&self, instance: &Instance) -> f64 {
        self.routes
            .iter()
            .map(|r| route_metric(instance, r, |m, a, b| m.time(a, b)))
            .sum()
    }

    /// Number of vehicles serving at least one request.
    pub fn vehicles_used(&self) -> usize {
        self.routes.iter().filter(|r| r.is_used()).count()
    }

    /// Number of requests served.
    pub fn served(&self) -> usize {
        self.routes
            .iter()
            .flat_map(|r| &r.stops)
            .filter(|s| matches!(s.stop, Stop::Pickup(_)))
            .count()
    }

    /// Sum over served requests of (drop-off start - pickup end).
    pub fn total_ride_time(&self, instance: &Instance) -> f64 {
        let mut total = 0.0;
        for route in &self.routes {
            for s in &route.stops {
                match s.stop {
                    Stop::Pickup(r) => total -= s.time + instance.requests()[r].pickup_service,
                    Stop::Dropoff(_) => total += s.time,
                    Stop::Break => {}
                }
            }
        }
        total
    }

    /// The weighted objective (without the unserved count, which comes first).
    pub fn cost(&self, instance: &Instance) -> f64 {
        let w = instance.weights();
        w.distance * self.distance(instance)
            + w.driving_time * self.driving_time(instance)
            + w.vehicle * self.vehicles_used() as f64
            + w.ride_time * self.total_ride_time(instance)
    }

    /// Where request `r` is served: (route index, pickup position, drop-off position).
    pub fn position_of(&self, r: usize) -> Option<(usize, usize, usize)> {
        for (k, route) in self.routes.iter().enumerate() {
            let p = route.stops.iter().position(|s| s.stop == Stop::Pickup(r));
            let d = route.stops.iter().position(|s| s.stop == Stop::Dropoff(r));
            if let (Some(p), Some(d)) = (p, d) {
                return Some((k, p, d));
            }
        }
        None
    }
}

/// Sums `f` over the physical legs of a route (a break sits where the vehicle already is).
fn route_metric(
    instance: &Instance,
    route: &Route,
    f: impl Fn(&Matrices, usize, usize) -> f64,
) -> f64 {
    if !route.is_used() {
        return 0.0;
    }
    let v = &instance.vehicles()[route.vehicle];
    let m = instance.matrices();
    let mut at = v.start;
    let mut sum = 0.0;
    for s in &route.stops {
        let next = match s.stop {
            Stop::Pickup(r) => instance.requests()[r].pickup,
            Stop::Dropoff(r) => instance.requests()[r].dropoff,
            Stop::Break => continue,
        };
        sum += f(m, at, next);
        at = next;
    }
    sum + f(m, at, v.end)
}

/// A pickup window promised to a passenger. Every later planning step treats it as a hard window
/// for the start of boarding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Promise {
    /// The request the promise was made for.
    pub request: usize,
    /// The promised window for the start of boarding.
    pub pickup: TimeWindow,
}

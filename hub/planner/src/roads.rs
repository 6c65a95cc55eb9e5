//! Road travel times from an OpenStreetMap extract: the car road graph, snapping, contraction
//! hierarchies and the path cache behind [`RoadNetwork`].
//!
//! The graph is built once from a caller-supplied PBF byte stream (this module never opens
//! files). Every OSM node on a car-drivable way becomes a graph node, every way segment one or
//! two directed edges weighted by travel time in milliseconds. Only the largest strongly
//! connected component is kept, so every snapped pair of points has a route in both directions;
//! the rest (roads cut off by the extract border, one-way stubs) would only produce
//! "unreachable" surprises. `fast_paths` then prepares contraction hierarchies, after which one
//! shortest-path query takes microseconds.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::sync::{Mutex, PoisonError};

use fast_paths::{FastGraph, InputGraph};
use osmpbf::{Element, ElementReader};

use crate::travel::{
    EARTH_RADIUS_M, GeoPoint, ParameterError, TravelError, TravelMatrix, TravelTimes,
    validate_points,
};

/// Tuning of a [`RoadNetwork`]; the defaults suit a rural district.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RoadConfig {
    /// A point farther than this (metres) from every road node is outside the network.
    pub max_snap_m: f64,
    /// Speed (km/h) on the unmapped stretch between a point and its nearest road node: a
    /// farm track or yard entrance, taken slowly.
    pub access_speed_kmh: f64,
    /// Most node pairs the path cache keeps; the oldest entries are dropped first.
    pub cache_capacity: usize,
    /// Threads that compute missing paths of one matrix (the graph is shared, each thread has
    /// its own search state). The caller decides, since only it knows the machine's load.
    pub threads: usize,
}

impl Default for RoadConfig {
    fn default() -> Self {
        Self {
            max_snap_m: 1_000.0,
            access_speed_kmh: 20.0,
            // 250 000 pairs cover a 500-point matrix and take about 10 MB.
            cache_capacity: 250_000,
            threads: 1,
        }
    }
}

impl RoadConfig {
    /// Checks that distances and speeds are positive and finite and that `threads` >= 1.
    pub fn validate(&self) -> Result<(), ParameterError> {
        if !(self.max_snap_m.is_finite() && self.max_snap_m > 0.0) {
            return Err(ParameterError {
                name: "max_snap_m",
                value: self.max_snap_m,
                requirement: "must be finite and positive",
            });
        }
        if !(self.access_speed_kmh.is_finite() && self.access_speed_kmh > 0.0) {
            return Err(ParameterError {
                name: "access_speed_kmh",
                value: self.access_speed_kmh,
                requirement: "must be finite and positive",
            });
        }
        if self.threads == 0 {
            return Err(ParameterError {
                name: "threads",
                value: 0.0,
                requirement: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// Why a road network could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RoadError {
    /// The byte stream is not a readable OpenStreetMap PBF file.
    #[error("cannot read the OpenStreetMap PBF extract")]
    Pbf(#[from] osmpbf::Error),
    /// The extract holds no connected car-drivable roads.
    #[error("the extract contains no connected car-drivable roads")]
    NoRoads,
    /// The configuration is invalid.
    #[error("invalid road network configuration")]
    Config(#[from] ParameterError),
}

/// The kind of a named settlement (`place=*` in OpenStreetMap).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum PlaceKind {
    /// `place=city`.
    City,
    /// `place=town`.
    Town,
    /// `place=village`.
    Village,
    /// `place=hamlet`.
    Hamlet,
}

/// A named settlement of the extract, e.g. a village the ride service stops in.
#[derive(Clone, PartialEq, Debug)]
pub struct Place {
    /// The `name` tag.
    pub name: String,
    /// City, town, village or hamlet.
    pub kind: PlaceKind,
    /// The place node's position (usually the village centre).
    pub point: GeoPoint,
}

/// Counters for tests and monitoring; none of them depends on timing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RoadStats {
    /// Car-drivable ways read from the extract.
    pub road_ways: usize,
    /// Nodes in the routing graph (the largest strongly connected component).
    pub graph_nodes: usize,
    /// Directed edges in the routing graph.
    pub graph_edges: usize,
    /// Road nodes left out because they are not in the largest strongly connected component.
    pub dropped_nodes: usize,
    /// Node pairs currently in the path cache.
    pub cached_pairs: usize,
    /// Node pairs answered from the cache, over the network's lifetime.
    pub cache_hits: u64,
    /// Shortest paths computed on the graph, over the network's lifetime.
    pub paths_computed: u64,
}

/// A car road network with contraction hierarchies and a path cache; implements [`TravelTimes`].
pub struct RoadNetwork {
    config: RoadConfig,
    /// Position of each graph node.
    coords: Vec<GeoPoint>,
    /// Outgoing edges of node `n` are `edges[edge_start[n]..edge_start[n + 1]]`, sorted by target.
    edge_start: Vec<usize>,
    edges: Vec<Edge>,
    graph: FastGraph,
    grid: SnapGrid,
    places: Vec<Place>,
    road_ways: usize,
    dropped_nodes: usize,
    cache: Mutex<PathCache>,
}

impl fmt::Debug for RoadNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoadNetwork")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RoadNetwork {
    /// Builds the network from an OpenStreetMap PBF byte stream (a file the caller opened, or
    /// `&bytes[..]`). All node positions are held while reading, which suits district-sized
    /// extracts (tens of MB), not whole countries.
    pub fn from_pbf_reader<R: Read + Send>(
        reader: R,
        config: RoadConfig,
    ) -> Result<Self, RoadError> {
        config.validate()?;
        let data = read_pbf(reader)?;
        build(data, config)
    }

    /// The named cities, towns, villages and hamlets of the extract, sorted by name.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The first place called `name` (exact match), if any.
    pub fn place(&self, name: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.name == name)
    }

    /// The configuration the network was built with.
    pub fn config(&self) -> &RoadConfig {
        &self.config
    }

    /// The nearest routable road node to `point` and its distance in metres, if one lies within
    /// the snapping distance.
    pub fn nearest_road_node(&self, point: GeoPoint) -> Option<(GeoPoint, f64)> {
        self.snap(point)
            .map(|s| (self.coords[s.node as usize], s.access_m))
    }

    /// Graph sizes and cache counters.
    pub fn stats(&self) -> RoadStats {
        let cache = self.lock_cache();
        RoadStats {
            road_ways: self.road_ways,
            graph_nodes: self.coords.len(),
            graph_edges: self.edges.len(),
            dropped_nodes: self.dropped_nodes,
            cached_pairs: cache.entries.len(),
            cache_hits: cache.hits,
            paths_computed: cache.computed,
        }
    }

    fn snap(&self, point: GeoPoint) -> Option<Snapped> {
        self.grid
            .nearest(point, &self.coords, self.config.max_snap_m)
            .map(|(node, access_m)| Snapped { node, access_m })
    }

    /// The cache only ever holds complete entries, so a panic in another thread cannot leave
    /// it inconsistent and a poisoned lock is safe to use.
    fn lock_cache(&self) -> std::sync::MutexGuard<'_, PathCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Legs between all ordered pairs of distinct `nodes` (row-major, `nodes.len()` squared;
    /// the diagonal stays zero). Cached legs are reused; the others are computed outside the
    /// lock so that concurrent callers are not serialised behind one long computation.
    fn legs(&self, nodes: &[u32]) -> Result<Vec<Leg>, (u32, u32)> {
        let k = nodes.len();
        let mut legs = vec![Leg::default(); k * k];
        let mut missing = Vec::new();
        {
            let mut cache = self.lock_cache();
            for (a, &from) in nodes.iter().enumerate() {
                for (b, &to) in nodes.iter().enumerate() {
                    if from == to {
                        continue;
                    }
                    match cache.entries.get(&(from, to)) {
                        Some(leg) => {
                            legs[a * k + b] = *leg;
                            cache.hits += 1;
                        }
                        None => missing.push((a * k + b, from, to)),
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(legs);
        }

        let computed = self.compute_legs(&missing)?;
        let mut cache = self.lock_cache();
        cache.computed += computed.len() as u64;
        for (&(slot, from, to), leg) in missing.iter().zip(computed) {
            legs[slot] = leg;
            cache.insert((from, to), leg);
        }
        Ok(legs)
    }

    /// Shortest paths for `(slot, from, to)` requests, split over the configured threads.
    fn compute_legs(&self, requests: &[(usize, u32, u32)]) -> Result<Vec<Leg>, (u32, u32)> {
        let threads = self.config.threads.min(requests.len().div_ceil(64)).max(1);
        if threads == 1 {
            return self.compute_legs_serial(requests);
        }
        let chunk = requests.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = requests
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.compute_legs_serial(part)))
                .collect();
            let mut legs = Vec::with_capacity(requests.len());
            for handle in handles {
                match handle.join() {
                    Ok(part) => legs.extend(part?),
                    // A panic in a worker is a bug in this module; pass it on unchanged.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(legs)
        })
    }

    fn compute_legs_serial(&self, requests: &[(usize, u32, u32)]) -> Result<Vec<Leg>, (u32, u32)> {
        let mut calculator = fast_paths::create_calculator(&self.graph);
        requests
            .iter()
            .map(|&(_, from, to)| {
                let path = calculator
                    .calc_path(&self.graph, from as usize, to as usize)
                    .ok_or((from, to))?;
                let meters = path
                    .get_nodes()
                    .windows(2)
                    .map(|pair| self.edge_meters(pair[0], pair[1]))
                    .sum();
                Ok(Leg {
                    millis: path.get_weight() as u64,
                    meters,
                })
            })
            .collect()
    }

    /// Length of the edge `from -> to` of an unpacked path. Parallel edges were merged when the
    /// graph was built, so there is exactly one; should the edge be missing all the same, the
    /// straight line between its ends is the best available stand-in.
    fn edge_meters(&self, from: usize, to: usize) -> f64 {
        let out = &self.edges[self.edge_start[from]..self.edge_start[from + 1]];
        match out.binary_search_by_key(&(to as u32), |e| e.to) {
            Ok(i) => f64::from(out[i].meters),
            Err(_) => self.coords[from].haversine_m(&self.coords[to]),
        }
    }
}

impl TravelTimes for RoadNetwork {
    /// Each point is snapped to its nearest road node and reaches it along a straight access
    /// stretch at `access_speed_kmh`; the trip between the two nodes is the fastest road path.
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError> {
        validate_points(points)?;
        let snapped = points
            .iter()
            .enumerate()
            .map(|(index, p)| {
                self.snap(*p).ok_or(TravelError::OutsideNetwork {
                    index,
                    lat: p.lat,
                    lon: p.lon,
                    max_snap_m: self.config.max_snap_m,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        // Several points may share a road node (two doctors in one street); route between
        // distinct nodes only, in a stable order.
        let mut nodes: Vec<u32> = snapped.iter().map(|s| s.node).collect();
        nodes.sort_unstable();
        nodes.dedup();
        // `nodes` is built from the snapped nodes, so every search below finds its node; the
        // fallbacks only satisfy the types.
        let slot: Vec<usize> = snapped
            .iter()
            .map(|s| nodes.binary_search(&s.node).unwrap_or_else(|i| i))
            .collect();
        let point_at = |node: u32| {
            snapped
                .iter()
                .position(|s| s.node == node)
                .unwrap_or_default()
        };
        let legs = self
            .legs(&nodes)
            .map_err(|(from, to)| TravelError::Unreachable {
                from: point_at(from),
                to: point_at(to),
            })?;

        let k = nodes.len();
        let access_speed_ms = self.config.access_speed_kmh / 3.6;
        Ok(TravelMatrix::from_fn(points.len(), |i, j| {
            if i == j {
                return (0.0, 0.0);
            }
            let (a, b) = (&snapped[i], &snapped[j]);
            let leg = legs[slot[i] * k + slot[j]];
            let access_m = a.access_m + b.access_m;
            (
                leg.millis as f64 / 1000.0 + access_m / access_speed_ms,
                leg.meters + access_m,
            )
        }))
    }
}

/// A point attached to the graph.
#[derive(Clone, Copy, Debug)]
struct Snapped {
    node: u32,
    /// Straight-line distance from the point to the node.
    access_m: f64,
}

/// A directed road segment.
#[derive(Clone, Copy, Debug)]
struct Edge {
    to: u32,
    meters: f32,
}

/// The fastest path between two graph nodes.
#[derive(Clone, Copy, Default, Debug)]
struct Leg {
    millis: u64,
    meters: f64,
}

/// Node-pair legs, bounded: once full, the oldest pair is evicted (first in, first out keeps
/// the bookkeeping trivial; a matrix re-requested soon is still served).
#[derive(Debug)]
struct PathCache {
    entries: HashMap<(u32, u32), Leg>,
    order: VecDeque<(u32, u32)>,
    capacity: usize,
    hits: u64,
    computed: u64,
}

impl PathCache {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity,
            hits: 0,
            computed: 0,
        }
    }

    fn insert(&mut self, key: (u32, u32), leg: Leg) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key, leg).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
    }
}

/// Road nodes bucketed into square cells of an equirectangular projection around the
/// network's mean latitude, for nearest-node lookups without scanning every node.
#[derive(Debug)]
struct SnapGrid {
    cos_lat0: f64,
    cells: HashMap<(i64, i64), Vec<u32>>,
}

/// Cell edge in metres: a few hundred road nodes per cell in villages, and a 1 km snapping
/// radius needs only a handful of rings.
const CELL_M: f64 = 250.0;

impl SnapGrid {
    fn new(coords: &[GeoPoint]) -> Self {
        let mean_lat = coords.iter().map(|p| p.lat).sum::<f64>() / coords.len().max(1) as f64;
        let mut grid = Self {
            cos_lat0: mean_lat.to_radians().cos(),
            cells: HashMap::new(),
        };
        for (node, point) in coords.iter().enumerate() {
            let cell = grid.cell(grid.project(*point));
            grid.cells.entry(cell).or_default().push(node as u32);
        }
        grid
    }

    fn project(&self, p: GeoPoint) -> (f64, f64) {
        (
            p.lon.to_radians() * EARTH_RADIUS_M * self.cos_lat0,
            p.lat.to_radians() * EARTH_RADIUS_M,
        )
    }

    fn cell(&self, (x, y): (f64, f64)) -> (i64, i64) {
        ((x / CELL_M).floor() as i64, (y / CELL_M).floor() as i64)
    }

    /// Searches rings of cells outward from the point's cell. After ring `r` every unseen node
    /// is at least `r * CELL_M` away, so the search stops once the best node is that close.
    fn nearest(&self, point: GeoPoint, coords: &[GeoPoint], max_m: f64) -> Option<(u32, f64)> {
        let (x, y) = self.project(point);
        let (cx, cy) = self.cell((x, y));
        let max_ring = (max_m / CELL_M).ceil() as i64 + 1;
        let mut best: Option<(u32, f64)> = None;
        for r in 0..=max_ring {
            for dx in -r..=r {
                for dy in -r..=r {
                    if dx.abs() != r && dy.abs() != r {
                        continue;
                    }
                    let Some(nodes) = self.cells.get(&(cx + dx, cy + dy)) else {
                        continue;
                    };
                    for &node in nodes {
                        let (nx, ny) = self.project(coords[node as usize]);
                        let d = (nx - x).hypot(ny - y);
                        // Ties go to the lower node id so that results never depend on order.
                        if best.is_none_or(|(b, bd)| d < bd || (d == bd && node < b)) {
                            best = Some((node, d));
                        }
                    }
                }
            }
            if best.is_some_and(|(_, d)| d <= r as f64 * CELL_M) {
                break;
            }
        }
        let (node, _) = best?;
        let distance = point.haversine_m(&coords[node as usize]);
        (distance <= max_m).then_some((node, distance))
    }
}

/// Which directions of a way cars may use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    Both,
    /// Only in the order of the way's nodes.
    Forward,
    /// Only against the order of the way's nodes (`oneway=-1`).
    Backward,
}

/// How a car travels along one way.
#[derive(Clone, Copy, PartialEq, Debug)]
struct WayProfile {
    speed_kmh: f64,
    direction: Direction,
}

/// Share of the posted limit a car averages: curves, junctions, farm traffic and village
/// crossings keep real speeds below the sign.
const LIMIT_SHARE: f64 = 0.9;

/// Typical speed (km/h) by road class where no `maxspeed` is tagged, for rural Germany
/// (limits: 100 outside, 50 inside villages, residential streets often 30 zones).
fn class_speed_kmh(highway: &str) -> Option<f64> {
    Some(match highway {
        "motorway" => 120.0,
        "trunk" => 90.0,
        "primary" => 80.0,
        "secondary" => 70.0,
        "tertiary" => 60.0,
        "motorway_link" => 60.0,
        "trunk_link" | "primary_link" | "secondary_link" => 50.0,
        "tertiary_link" => 40.0,
        "unclassified" => 45.0,
        "residential" => 30.0,
        "service" => 15.0,
        "living_street" => 7.0,
        _ => return None,
    })
}

/// The posted limit in km/h, or `None` when absent or not a fixed number (`signals`,
/// `variable`, `none`); the class speed is used then.
fn parse_maxspeed(value: &str) -> Option<f64> {
    let value = value.trim();
    let limit = match value {
        "DE:urban" => 50.0,
        "DE:rural" => 100.0,
        "DE:zone30" | "DE:zone:30" => 30.0,
        "DE:living_street" | "walk" => 7.0,
        _ => {
            let mut parts = value.split_whitespace();
            let number: f64 = parts.next()?.parse().ok()?;
            match parts.next() {
                None | Some("km/h") | Some("kmh") => number,
                Some("mph") => number * 1.609_344,
                Some(_) => return None,
            }
        }
    };
    (limit.is_finite() && limit > 0.0).then_some(limit)
}

/// The car profile of a way from its tags, or `None` when cars may not (or need not) use it.
fn way_profile<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<WayProfile> {
    let (mut highway, mut maxspeed, mut oneway, mut junction) = (None, None, None, None);
    let (mut access, mut motor_vehicle, mut area) = (None, None, None);
    for (key, value) in tags {
        match key {
            "highway" => highway = Some(value),
            "maxspeed" => maxspeed = Some(value),
            "oneway" => oneway = Some(value),
            "junction" => junction = Some(value),
            "access" => access = Some(value),
            // motorcar is the more specific tag and wins over motor_vehicle.
            "motor_vehicle" if motor_vehicle.is_none() => motor_vehicle = Some(value),
            "motorcar" => motor_vehicle = Some(value),
            "area" => area = Some(value),
            _ => {}
        }
    }
    let highway = highway?;
    let class_speed = class_speed_kmh(highway)?;
    if area == Some("yes") {
        return None;
    }
    let closed =
        |v: Option<&str>| matches!(v, Some("no" | "private" | "agricultural" | "forestry"));
    // A specific motor-vehicle permission overrides a general `access=no`.
    let closed_to_cars = match motor_vehicle {
        Some(_) => closed(motor_vehicle),
        None => closed(access),
    };
    if closed_to_cars {
        return None;
    }

    // OSM convention: motorways, their slip roads and roundabouts are one-way unless tagged.
    let implied_oneway = matches!(highway, "motorway" | "motorway_link")
        || matches!(junction, Some("roundabout" | "circular"));
    let direction = match oneway {
        Some("yes" | "true" | "1") => Direction::Forward,
        Some("-1" | "reverse") => Direction::Backward,
        Some("no" | "false" | "0") => Direction::Both,
        // Direction changes during the day; a planner cannot rely on it.
        Some("reversible" | "alternating") => return None,
        _ if implied_oneway => Direction::Forward,
        _ => Direction::Both,
    };
    let speed_kmh = maxspeed
        .and_then(parse_maxspeed)
        .map_or(class_speed, |limit| limit * LIMIT_SHARE);
    Some(WayProfile {
        speed_kmh,
        direction,
    })
}

/// The place kind of a node's `place` tag, for the kinds a ride can go to.
fn place_kind(value: &str) -> Option<PlaceKind> {
    match value {
        "city" => Some(PlaceKind::City),
        "town" => Some(PlaceKind::Town),
        "village" => Some(PlaceKind::Village),
        "hamlet" => Some(PlaceKind::Hamlet),
        _ => None,
    }
}

/// A car-drivable way as read from the extract.
#[derive(Clone, PartialEq, Debug)]
struct RoadWay {
    nodes: Vec<i64>,
    profile: WayProfile,
}

/// What the graph build needs from an extract.
#[derive(Default, Debug)]
struct OsmData {
    node_positions: HashMap<i64, GeoPoint>,
    ways: Vec<RoadWay>,
    places: Vec<Place>,
}

impl OsmData {
    fn add_node<'a>(
        &mut self,
        id: i64,
        point: GeoPoint,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) {
        self.node_positions.insert(id, point);
        let (mut kind, mut name) = (None, None);
        for (key, value) in tags {
            match key {
                "place" => kind = place_kind(value),
                "name" => name = Some(value),
                _ => {}
            }
        }
        if let (Some(kind), Some(name)) = (kind, name) {
            self.places.push(Place {
                name: name.to_owned(),
                kind,
                point,
            });
        }
    }
}

fn read_pbf<R: Read + Send>(reader: R) -> Result<OsmData, osmpbf::Error> {
    let mut data = OsmData::default();
    ElementReader::new(reader).for_each(|element| match element {
        Element::Node(node) => data.add_node(
            node.id(),
            GeoPoint::new(node.lat(), node.lon()),
            node.tags(),
        ),
        Element::DenseNode(node) => data.add_node(
            node.id(),
            GeoPoint::new(node.lat(), node.lon()),
            node.tags(),
        ),
        Element::Way(way) => {
            if let Some(profile) = way_profile(way.tags()) {
                data.ways.push(RoadWay {
                    nodes: way.refs().collect(),
                    profile,
                });
            }
        }
        Element::Relation(_) => {}
    })?;
    Ok(data)
}

/// A directed segment during the build, between dense node indices.
#[derive(Clone, Copy, Debug)]
struct RawEdge {
    from: u32,
    to: u32,
    millis: u32,
    meters: f32,
}

fn build(data: OsmData, config: RoadConfig) -> Result<RoadNetwork, RoadError> {
    // Dense indices in order of first use, so that the same extract always gives the same graph.
    let mut index: HashMap<i64, u32> = HashMap::new();
    let mut coords: Vec<GeoPoint> = Vec::new();
    let mut raw_edges: Vec<RawEdge> = Vec::new();
    for way in &data.ways {
        let speed_ms = way.profile.speed_kmh / 3.6;
        for pair in way.nodes.windows(2) {
            // Ways crossing the extract border reference nodes it does not contain.
            let (Some(&a), Some(&b)) = (
                data.node_positions.get(&pair[0]),
                data.node_positions.get(&pair[1]),
            ) else {
                continue;
            };
            if pair[0] == pair[1] {
                continue;
            }
            let mut intern = |id: i64, point: GeoPoint| {
                *index.entry(id).or_insert_with(|| {
                    coords.push(point);
                    (coords.len() - 1) as u32
                })
            };
            let (from, to) = (intern(pair[0], a), intern(pair[1], b));
            let meters = a.haversine_m(&b);
            // Milliseconds keep short village segments from rounding to zero, which contraction
            // hierarchies do not accept; u32 holds 49 days of driving per segment.
            let millis = ((meters / speed_ms * 1000.0).round() as u32).max(1);
            let forward = RawEdge {
                from,
                to,
                millis,
                meters: meters as f32,
            };
            let backward = RawEdge {
                from: to,
                to: from,
                ..forward
            };
            match way.profile.direction {
                Direction::Forward => raw_edges.push(forward),
                Direction::Backward => raw_edges.push(backward),
                Direction::Both => raw_edges.extend([forward, backward]),
            }
        }
    }

    // Parallel segments (a lane split mapped twice, a way drawn over another) become one edge,
    // the fastest, so that an unpacked path identifies its edges by their end nodes.
    raw_edges.sort_unstable_by_key(|e| (e.from, e.to, e.millis));
    raw_edges.dedup_by_key(|e| (e.from, e.to));

    let keep = largest_strongly_connected(coords.len(), &raw_edges);
    let mut new_id = vec![u32::MAX; coords.len()];
    let mut kept_coords = Vec::new();
    for (old, point) in coords.iter().enumerate() {
        if keep[old] {
            new_id[old] = kept_coords.len() as u32;
            kept_coords.push(*point);
        }
    }
    // Renumbering preserves order, so the edges stay sorted by (from, to).
    let kept_edges: Vec<RawEdge> = raw_edges
        .iter()
        .filter(|e| keep[e.from as usize] && keep[e.to as usize])
        .map(|e| RawEdge {
            from: new_id[e.from as usize],
            to: new_id[e.to as usize],
            ..*e
        })
        .collect();
    if kept_edges.is_empty() {
        return Err(RoadError::NoRoads);
    }

    let mut input = InputGraph::new();
    for e in &kept_edges {
        input.add_edge(e.from as usize, e.to as usize, e.millis as usize);
    }
    input.freeze();
    let graph = fast_paths::prepare(&input);

    let mut edge_start = vec![0usize; kept_coords.len() + 1];
    for e in &kept_edges {
        edge_start[e.from as usize + 1] += 1;
    }
    for n in 0..kept_coords.len() {
        edge_start[n + 1] += edge_start[n];
    }
    let edges = kept_edges
        .iter()
        .map(|e| Edge {
            to: e.to,
            meters: e.meters,
        })
        .collect();

    let mut places = data.places;
    places.sort_by(|a, b| a.name.cmp(&b.name));

    Ok(RoadNetwork {
        config,
        grid: SnapGrid::new(&kept_coords),
        dropped_nodes: coords.len() - kept_coords.len(),
        coords: kept_coords,
        edge_start,
        edges,
        graph,
        places,
        road_ways: data.ways.len(),
        cache: Mutex::new(PathCache::new(config.cache_capacity)),
    })
}

/// Marks the nodes of the largest strongly connected component (Kosaraju's algorithm, with
/// explicit stacks because a long rural road would overflow the call stack).
fn largest_strongly_connected(n: usize, edges: &[RawEdge]) -> Vec<bool> {
    let forward = adjacency(n, edges.iter().map(|e| (e.from, e.to)));
    let backward = adjacency(n, edges.iter().map(|e| (e.to, e.from)));

    // Pass 1: nodes in order of finishing a depth-first search on the forward graph.
    let mut visited = vec![false; n];
    let mut finished = Vec::with_capacity(n);
    let mut stack: Vec<(u32, usize)> = Vec::new();
    for start in 0..n {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        stack.push((start as u32, forward.0[start]));
        while let Some((node, next)) = stack.last_mut() {
            let node_ix = *node as usize;
            if *next < forward.0[node_ix + 1] {
                let target = forward.1[*next];
                *next += 1;
                if !visited[target as usize] {
                    visited[target as usize] = true;
                    stack.push((target, forward.0[target as usize]));
                }
            } else {
                finished.push(*node);
                stack.pop();
            }
        }
    }

    // Pass 2: in reverse finishing order, each search on the reversed graph finds one component.
    let mut component = vec![u32::MAX; n];
    let mut sizes: Vec<usize> = Vec::new();
    let mut todo: Vec<u32> = Vec::new();
    for &start in finished.iter().rev() {
        if component[start as usize] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        component[start as usize] = id;
        todo.push(start);
        let mut size = 0;
        while let Some(node) = todo.pop() {
            size += 1;
            let ix = node as usize;
            for &next in &backward.1[backward.0[ix]..backward.0[ix + 1]] {
                if component[next as usize] == u32::MAX {
                    component[next as usize] = id;
                    todo.push(next);
                }
            }
        }
        sizes.push(size);
    }
    // The first of equally large components, for determinism.
    let largest = sizes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        .map_or(u32::MAX, |(id, _)| id as u32);
    component.iter().map(|&c| c == largest).collect()
}

/// Compressed adjacency lists: targets of node `n` are `targets[start[n]..start[n + 1]]`.
fn adjacency(n: usize, arcs: impl Iterator<Item = (u32, u32)> + Clone) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n + 1];
    for (from, _) in arcs.clone() {
        start[from as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut targets = vec![0u32; start[n]];
    for (from, to) in arcs {
        targets[fill[from as usize]] = to;
        fill[from as usize] += 1;
    }
    (start, targets)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::travel::StraightLine;

    const EXTRACT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/osm/north-bayreuth.osm.pbf"
    );
    const KRAUTSAND: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/osm/krautsand.osm.pbf"
    );

    fn extract_bytes() -> &'static [u8] {
        static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
        BYTES.get_or_init(|| std::fs::read(EXTRACT).expect("shared/ lies beside the checkout"))
    }

    fn load(config: RoadConfig) -> RoadNetwork {
        RoadNetwork::from_pbf_reader(extract_bytes(), config).expect("extract loads")
    }

    /// One network for the read-only tests; tests that count cache use build their own.
    fn shared() -> &'static RoadNetwork {
        static NETWORK: OnceLock<RoadNetwork> = OnceLock::new();
        NETWORK.get_or_init(|| load(RoadConfig::default()))
    }

    fn village(network: &RoadNetwork, name: &str) -> GeoPoint {
        network
            .place(name)
            .unwrap_or_else(|| panic!("{name} is in the extract"))
            .point
    }

    const VILLAGES: [&str; 5] = [
        "Neudrossenfeld",
        "Harsdorf",
        "Altenplos",
        "Waldau",
        "Zettlitz",
    ];

    fn villages(network: &RoadNetwork) -> Vec<GeoPoint> {
        VILLAGES.iter().map(|name| village(network, name)).collect()
    }

    /// A hand-made way: node ids and tags.
    type TestWay<'a> = (&'a [i64], &'a [(&'a str, &'a str)]);

    /// A network from hand-made nodes `(id, lat, lon)` and ways `(node ids, tags)`.
    fn synthetic(nodes: &[(i64, f64, f64)], ways: &[TestWay]) -> RoadNetwork {
        let mut data = OsmData::default();
        for &(id, lat, lon) in nodes {
            data.add_node(id, GeoPoint::new(lat, lon), std::iter::empty());
        }
        for (refs, tags) in ways {
            data.ways.push(RoadWay {
                nodes: refs.to_vec(),
                profile: way_profile(tags.iter().copied()).expect("a car road"),
            });
        }
        build(data, RoadConfig::default()).expect("synthetic network builds")
    }

    #[test]
    fn extract_loads_with_plausible_counts() {
        let network = shared();
        let stats = network.stats();
        // The extract has 58.6k nodes and 7.8k ways, most of them buildings and paths.
        assert!((500..7_800).contains(&stats.road_ways), "{stats:?}");
        assert!((2_000..58_631).contains(&stats.graph_nodes), "{stats:?}");
        // Road graphs have about two directed edges per node (chains, few junctions).
        assert!(stats.graph_edges > stats.graph_nodes, "{stats:?}");
        assert!(stats.graph_edges < 4 * stats.graph_nodes, "{stats:?}");
        // Only fragments (border cut-offs, one-way stubs) fall outside the main component.
        assert!(stats.dropped_nodes < stats.graph_nodes / 5, "{stats:?}");
        assert_eq!(
            (stats.cached_pairs, stats.cache_hits, stats.paths_computed),
            (0, 0, 0)
        );

        let places = network.places();
        assert!(places.len() >= 60, "{} places", places.len());
        assert!(
            places.windows(2).all(|w| w[0].name <= w[1].name),
            "sorted by name"
        );
        for name in VILLAGES {
            let place = network.place(name).expect("village of the extract");
            assert_eq!(place.kind, PlaceKind::Village, "{name}");
            // Inside the extract's bounding box 11.3993,49.8832 - 11.6747,50.0959.
            assert!((49.8832..50.0959).contains(&place.point.lat), "{name}");
            assert!((11.3993..11.6747).contains(&place.point.lon), "{name}");
        }
        assert!(places.iter().any(|p| p.kind == PlaceKind::Hamlet));
    }

    #[test]
    fn village_routes_are_plausible() {
        let network = shared();
        let points = villages(network);
        let m = network
            .matrix(&points)
            .expect("all villages are on the network");
        let n = points.len();
        assert_eq!(m.len(), n);
        for i in 0..n {
            assert_eq!((m.seconds(i, i), m.meters(i, i)), (0.0, 0.0));
            for j in (0..n).filter(|&j| j != i) {
                let (from, to) = (VILLAGES[i], VILLAGES[j]);
                let seconds = m.seconds(i, j);
                let meters = m.meters(i, j);
                assert!(seconds > 0.0, "{from} -> {to}");
                let crow = points[i].haversine_m(&points[j]);
                assert!(
                    meters >= crow,
                    "{from} -> {to}: road {meters} m < straight {crow} m"
                );
                // Rural roads wind, but not absurdly.
                assert!(
                    meters <= 3.0 * crow,
                    "{from} -> {to}: road {meters} m, straight {crow} m"
                );
                let kmh = meters / seconds * 3.6;
                assert!((15.0..=100.0).contains(&kmh), "{from} -> {to}: {kmh} km/h");
                // The roads between villages are two-way: both directions take about as long.
                let back = m.seconds(j, i);
                assert!(
                    (seconds - back).abs() <= 0.15 * seconds.max(back),
                    "{from} <-> {to}: {seconds} s vs {back} s"
                );
                // Going through a third village is never faster than the fastest path.
                for (k, via) in VILLAGES.iter().enumerate() {
                    assert!(
                        seconds <= m.seconds(i, k) + m.seconds(k, j) + 1e-6,
                        "{from} -> {to} slower than via {via}"
                    );
                }
            }
        }
        // Neudrossenfeld - Harsdorf: 5.1 km apart as the crow flies; by road a few minutes.
        let (nd, hd) = (0, 1);
        assert!(
            (300.0..900.0).contains(&m.seconds(nd, hd)),
            "{}",
            m.seconds(nd, hd)
        );
    }

    #[test]
    fn road_and_straight_line_models_agree_roughly() {
        let network = shared();
        let points = villages(network);
        let road = network
            .matrix(&points)
            .expect("villages are on the network");
        let line = StraightLine::default().matrix(&points).expect("valid");
        for (i, from) in VILLAGES.iter().enumerate() {
            for (j, to) in VILLAGES.iter().enumerate().filter(|&(j, _)| j != i) {
                let ratio = road.seconds(i, j) / line.seconds(i, j);
                assert!((0.4..2.5).contains(&ratio), "{from} -> {to}: ratio {ratio}");
            }
        }
    }

    #[test]
    fn cache_serves_repeated_and_subset_requests() {
        let network = load(RoadConfig::default());
        let points = villages(&network);
        let first = network
            .matrix(&points)
            .expect("villages are on the network");
        let after_first = network.stats();
        // Five villages snap to five distinct nodes: 5 * 4 ordered pairs, all computed.
        assert_eq!(after_first.paths_computed, 20);
        assert_eq!(after_first.cache_hits, 0);
        assert_eq!(after_first.cached_pairs, 20);

        let second = network.matrix(&points).expect("same request");
        let after_second = network.stats();
        assert_eq!(second, first);
        assert_eq!(after_second.paths_computed, 20, "nothing recomputed");
        assert_eq!(after_second.cache_hits, 20);

        // A subset in another order: 3 * 2 pairs, all from the cache, same values.
        let subset = [points[3], points[0], points[2]];
        let sub = network.matrix(&subset).expect("subset");
        let after_subset = network.stats();
        assert_eq!(after_subset.paths_computed, 20, "nothing recomputed");
        assert_eq!(after_subset.cache_hits, 26);
        for (a, &i) in [3, 0, 2].iter().enumerate() {
            for (b, &j) in [3, 0, 2].iter().enumerate() {
                assert_eq!(sub.seconds(a, b), first.seconds(i, j));
                assert_eq!(sub.meters(a, b), first.meters(i, j));
            }
        }

        // A new point needs only its own pairs: 2 * 5 new ones.
        let mut more = points.clone();
        more.push(village(&network, "Gemein"));
        network.matrix(&more).expect("Gemein is on the network");
        assert_eq!(network.stats().paths_computed, 30);

        // The build is deterministic: a second network gives the very same figures.
        assert_eq!(shared().matrix(&points).expect("same villages"), first);
    }

    #[test]
    fn cache_stays_within_its_capacity() {
        let network = load(RoadConfig {
            cache_capacity: 5,
            ..RoadConfig::default()
        });
        let points = villages(&network);
        let first = network
            .matrix(&points)
            .expect("villages are on the network");
        assert_eq!(network.stats().cached_pairs, 5);
        // Most pairs were evicted, so the repeat recomputes them, with the same result.
        let second = network.matrix(&points).expect("same request");
        assert_eq!(second, first);
        assert!(network.stats().paths_computed > 20, "{:?}", network.stats());
        assert_eq!(network.stats().cached_pairs, 5);
    }

    #[test]
    fn parallel_queries_give_the_same_matrix() {
        let network = load(RoadConfig {
            threads: 2,
            ..RoadConfig::default()
        });
        // All 71 places: 4 970 pairs, enough to be split over both threads.
        let points: Vec<GeoPoint> = network.places().iter().map(|p| p.point).collect();
        let parallel = network
            .matrix(&points)
            .expect("all places are on the network");
        let serial = shared()
            .matrix(&points)
            .expect("all places are on the network");
        assert_eq!(parallel, serial);
    }

    #[test]
    fn points_outside_the_extract_are_reported() {
        let network = shared();
        let berlin = GeoPoint::new(52.52, 13.405);
        let err = network
            .matrix(&[village(network, "Harsdorf"), berlin])
            .expect_err("Berlin is far outside");
        assert!(
            matches!(err, TravelError::OutsideNetwork { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("point 1"), "{err}");

        // 3 km north of the extract's northern edge, 50.0959.
        let beyond = GeoPoint::new(50.123, 11.55);
        let err = network.matrix(&[beyond]).expect_err("beyond the border");
        assert!(
            matches!(err, TravelError::OutsideNetwork { index: 0, .. }),
            "{err}"
        );
        assert!(network.nearest_road_node(beyond).is_none());

        let err = network
            .matrix(&[village(network, "Harsdorf"), GeoPoint::new(f64::NAN, 11.5)])
            .expect_err("NaN");
        assert!(
            matches!(err, TravelError::InvalidPoint { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn points_snap_to_a_nearby_road() {
        let network = shared();
        let centre = village(network, "Neudrossenfeld");
        let (node, distance) = network
            .nearest_road_node(centre)
            .expect("a road in the village");
        assert!(distance < 200.0, "{distance} m");
        assert!((centre.haversine_m(&node) - distance).abs() < 1e-6);
        // A point on a road node snaps to itself.
        let (again, zero) = network.nearest_road_node(node).expect("on the road");
        assert_eq!((again, zero), (node, 0.0));
        // The access stretch counts: centre to node is the snap distance at access speed.
        let m = network
            .matrix(&[centre, node])
            .expect("both on the network");
        assert!((m.meters(0, 1) - distance).abs() < 1e-6);
        let access_s = distance / (network.config().access_speed_kmh / 3.6);
        assert!((m.seconds(0, 1) - access_s).abs() < 1e-6);
    }

    /// A square of 715 m x 556 m at 50 N: 1 (SW), 2 (SE), 3 (NE), 4 (NW).
    const SQUARE: [(i64, f64, f64); 4] = [
        (1, 50.000, 11.500),
        (2, 50.000, 11.510),
        (3, 50.005, 11.510),
        (4, 50.005, 11.500),
    ];

    fn square_point(id: usize) -> GeoPoint {
        GeoPoint::new(SQUARE[id - 1].1, SQUARE[id - 1].2)
    }

    #[test]
    fn oneway_streets_are_driven_one_way() {
        let south = square_point(1).haversine_m(&square_point(2));
        let side = square_point(2).haversine_m(&square_point(3));
        let around = side + square_point(3).haversine_m(&square_point(4)) + side;
        let ring: TestWay = (&[2, 3, 4, 1], &[("highway", "residential")]);
        let points = [square_point(1), square_point(2)];
        for (refs, tags) in [
            (
                &[1i64, 2][..],
                &[("highway", "residential"), ("oneway", "yes")][..],
            ),
            (
                &[2, 1][..],
                &[("highway", "residential"), ("oneway", "-1")][..],
            ),
            (
                &[1, 2][..],
                &[("highway", "residential"), ("junction", "roundabout")][..],
            ),
        ] {
            let network = synthetic(&SQUARE, &[(refs, tags), ring]);
            let m = network.matrix(&points).expect("corners are road nodes");
            // 1 -> 2 along the south side, 2 -> 1 the long way round.
            assert!(
                (m.meters(0, 1) - south).abs() < 0.01,
                "{tags:?}: {}",
                m.meters(0, 1)
            );
            assert!(
                (m.meters(1, 0) - around).abs() < 0.01,
                "{tags:?}: {}",
                m.meters(1, 0)
            );
            // Residential streets without a limit are driven at 30 km/h.
            assert!(
                (m.seconds(0, 1) - south / (30.0 / 3.6)).abs() < 0.01,
                "{tags:?}"
            );
        }
        // Without the oneway tag both directions use the south side.
        let network = synthetic(&SQUARE, &[(&[1, 2], &[("highway", "residential")]), ring]);
        let m = network.matrix(&points).expect("corners are road nodes");
        assert!((m.meters(1, 0) - south).abs() < 0.01);
    }

    #[test]
    fn only_the_largest_connected_part_is_routed() {
        // The square, plus an island road 20 km east that no road joins.
        let mut nodes = SQUARE.to_vec();
        nodes.extend([(10, 50.0, 11.8), (11, 50.0, 11.801)]);
        let network = synthetic(
            &nodes,
            &[
                (&[1, 2, 3, 4, 1], &[("highway", "tertiary")]),
                (&[10, 11], &[("highway", "tertiary")]),
                // A one-way stub leaving the square: reachable, but no way back.
                (&[3, 5], &[("highway", "service"), ("oneway", "yes")]),
            ],
        );
        let stats = network.stats();
        assert_eq!(
            (stats.graph_nodes, stats.graph_edges, stats.dropped_nodes),
            (4, 8, 2)
        );
        let err = network
            .matrix(&[square_point(1), GeoPoint::new(50.0, 11.8)])
            .expect_err("the island is not routed");
        assert!(
            matches!(err, TravelError::OutsideNetwork { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn way_tags_decide_access_speed_and_direction() {
        let profile = |tags: &[(&str, &str)]| way_profile(tags.iter().copied());
        let both = |speed_kmh| {
            Some(WayProfile {
                speed_kmh,
                direction: Direction::Both,
            })
        };
        assert_eq!(profile(&[("highway", "residential")]), both(30.0));
        assert_eq!(
            profile(&[("highway", "secondary"), ("maxspeed", "100")]),
            both(90.0)
        );
        assert_eq!(
            profile(&[("highway", "primary"), ("maxspeed", "DE:urban")]),
            both(45.0)
        );
        assert_eq!(
            profile(&[("highway", "tertiary"), ("maxspeed", "signals")]),
            both(60.0)
        );
        let mph = profile(&[("highway", "tertiary"), ("maxspeed", "30 mph")]).expect("road");
        assert!((mph.speed_kmh - 30.0 * 1.609_344 * 0.9).abs() < 1e-9);

        let direction = |tags: &[(&str, &str)]| profile(tags).map(|p| p.direction);
        assert_eq!(
            direction(&[("highway", "tertiary"), ("oneway", "yes")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            direction(&[("highway", "tertiary"), ("oneway", "-1")]),
            Some(Direction::Backward)
        );
        assert_eq!(
            direction(&[("highway", "motorway")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            direction(&[("highway", "primary"), ("junction", "roundabout")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            direction(&[
                ("highway", "primary"),
                ("junction", "roundabout"),
                ("oneway", "no")
            ]),
            Some(Direction::Both)
        );

        for not_for_cars in [
            &[("highway", "footway")][..],
            &[("highway", "track")],
            &[("highway", "cycleway")],
            &[("building", "yes")],
            &[("highway", "service"), ("access", "private")],
            &[("highway", "residential"), ("motor_vehicle", "no")],
            &[
                ("highway", "unclassified"),
                ("access", "yes"),
                ("motorcar", "no"),
            ],
            &[("highway", "pedestrian"), ("area", "yes")],
            &[("highway", "residential"), ("area", "yes")],
            &[("highway", "tertiary"), ("oneway", "reversible")],
        ] {
            assert_eq!(profile(not_for_cars), None, "{not_for_cars:?}");
        }
        // A specific permission overrides a general ban.
        assert!(
            profile(&[
                ("highway", "service"),
                ("access", "no"),
                ("motor_vehicle", "yes")
            ])
            .is_some()
        );
    }

    #[test]
    fn other_extracts_and_bad_input() {
        let bytes = std::fs::read(KRAUTSAND).expect("shared/ lies beside the checkout");
        let network = RoadNetwork::from_pbf_reader(&bytes[..], RoadConfig::default())
            .expect("the Krautsand extract loads");
        let stats = network.stats();
        // 1 157 nodes and 33 ways in all.
        assert!(
            stats.graph_nodes > 10 && stats.graph_nodes < 1_157,
            "{stats:?}"
        );
        assert!(stats.road_ways <= 33, "{stats:?}");

        let err =
            RoadNetwork::from_pbf_reader(&b"definitely not a PBF file"[..], RoadConfig::default())
                .expect_err("garbage");
        assert!(matches!(err, RoadError::Pbf(_)), "{err}");
        let err = RoadNetwork::from_pbf_reader(&[][..], RoadConfig::default()).expect_err("empty");
        assert!(matches!(err, RoadError::NoRoads), "{err}");
    }

    #[test]
    fn configuration_is_validated() {
        for (config, name) in [
            (
                RoadConfig {
                    max_snap_m: 0.0,
                    ..RoadConfig::default()
                },
                "max_snap_m",
            ),
            (
                RoadConfig {
                    max_snap_m: f64::NAN,
                    ..RoadConfig::default()
                },
                "max_snap_m",
            ),
            (
                RoadConfig {
                    access_speed_kmh: -5.0,
                    ..RoadConfig::default()
                },
                "access_speed_kmh",
            ),
            (
                RoadConfig {
                    threads: 0,
                    ..RoadConfig::default()
                },
                "threads",
            ),
        ] {
            let err =
                RoadNetwork::from_pbf_reader(extract_bytes(), config).expect_err("invalid config");
            assert!(
                matches!(&err, RoadError::Config(e) if e.name == name),
                "{err}"
            );
        }
    }

    #[test]
    fn maxspeed_values_parse() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert_eq!(parse_maxspeed(" 70 km/h"), Some(70.0));
        assert_eq!(parse_maxspeed("DE:rural"), Some(100.0));
        assert_eq!(parse_maxspeed("DE:zone30"), Some(30.0));
        assert_eq!(parse_maxspeed("walk"), Some(7.0));
        for unusable in ["none", "variable", "50;30", "0", "-20", "fast", ""] {
            assert_eq!(parse_maxspeed(unusable), None, "{unusable}");
        }
    }
}

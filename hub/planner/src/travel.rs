//! Travel times between places: the `TravelTimes` trait, its matrix, and the straight-line model.
//!
//! Planners only ever ask "how long and how far from every point to every other point", so the
//! whole interface is one n x n [`TravelMatrix`]. Two models answer it: [`StraightLine`]
//! (haversine distance times a detour factor, used where no road extract exists, e.g. Elm-Asse)
//! and [`crate::roads::RoadNetwork`] (shortest paths on an OpenStreetMap road graph).

use std::sync::Arc;

/// Mean Earth radius in metres (IUGG), the radius the haversine formula uses.
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// A position in WGS84 degrees.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct GeoPoint {
    /// Latitude in degrees, -90 (south) to 90 (north).
    pub lat: f64,
    /// Longitude in degrees, -180 (west) to 180 (east).
    pub lon: f64,
}

impl GeoPoint {
    /// A point from latitude and longitude in degrees (not validated; see [`GeoPoint::is_valid`]).
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// Whether both coordinates are finite and within the WGS84 ranges.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    /// Great-circle distance to `other` in metres (haversine formula on a sphere of
    /// [`EARTH_RADIUS_M`]). Over the distances of a rural district the spherical error (< 0.5 %)
    /// is far below what the detour factor or the road graph adds.
    pub fn haversine_m(&self, other: &GeoPoint) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_phi = phi2 - phi1;
        let d_lambda = (other.lon - self.lon).to_radians();
        let a =
            (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
        // `min(1.0)` guards asin against rounding just above 1 for antipodal points.
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// Travel times (seconds) and distances (metres) between every ordered pair of `len()` points.
///
/// Entry `(i, j)` is the trip from point `i` to point `j`; it need not equal `(j, i)` on roads
/// with one-way streets. The diagonal is zero. Storage is row-major: index `i * len + j`.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct TravelMatrix {
    len: usize,
    seconds: Vec<f64>,
    meters: Vec<f64>,
}

impl TravelMatrix {
    /// A matrix from row-major seconds and metres, each `len * len` long, finite and
    /// non-negative. Useful for benchmark instances that come with their own distances.
    pub fn new(len: usize, seconds: Vec<f64>, meters: Vec<f64>) -> Result<Self, ParameterError> {
        let cells = len.checked_mul(len).ok_or(ParameterError {
            name: "len",
            value: len as f64,
            requirement: "len * len must fit in memory",
        })?;
        for (name, values) in [("seconds", &seconds), ("meters", &meters)] {
            if values.len() != cells {
                return Err(ParameterError {
                    name,
                    value: values.len() as f64,
                    requirement: "must hold len * len entries",
                });
            }
            if let Some(bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
                return Err(ParameterError {
                    name,
                    value: *bad,
                    requirement: "entries must be finite and non-negative",
                });
            }
        }
        Ok(Self {
            len,
            seconds,
            meters,
        })
    }

    /// A matrix whose entry `(i, j)` is `cell(i, j) = (seconds, meters)`. The caller vouches that
    /// the values are finite and non-negative (a planner-internal constructor, hence no checks).
    pub fn from_fn(len: usize, mut cell: impl FnMut(usize, usize) -> (f64, f64)) -> Self {
        let mut seconds = Vec::with_capacity(len * len);
        let mut meters = Vec::with_capacity(len * len);
        for i in 0..len {
            for j in 0..len {
                let (s, m) = cell(i, j);
                seconds.push(s);
                meters.push(m);
            }
        }
        Self {
            len,
            seconds,
            meters,
        }
    }

    /// Number of points (rows, and columns).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the matrix covers no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Travel time from point `from` to point `to` in seconds. Panics if an index is out of range,
    /// like slice indexing: a planner asking for a point it did not pass in is a bug.
    pub fn seconds(&self, from: usize, to: usize) -> f64 {
        self.seconds[self.index(from, to)]
    }

    /// Driving distance from point `from` to point `to` in metres. Panics like [`Self::seconds`].
    pub fn meters(&self, from: usize, to: usize) -> f64 {
        self.meters[self.index(from, to)]
    }

    /// All travel times, row-major.
    pub fn seconds_row_major(&self) -> &[f64] {
        &self.seconds
    }

    /// All distances, row-major.
    pub fn meters_row_major(&self) -> &[f64] {
        &self.meters
    }

    fn index(&self, from: usize, to: usize) -> usize {
        assert!(
            from < self.len && to < self.len,
            "travel matrix index ({from}, {to}) out of range for {} points",
            self.len
        );
        from * self.len + to
    }
}

/// A source of travel times; shared between planner threads, hence `Send + Sync`.
pub trait TravelTimes: Send + Sync {
    /// Travel times and distances between every pair of points (in order).
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError>;
}

impl<T: TravelTimes + ?Sized> TravelTimes for Arc<T> {
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError> {
        (**self).matrix(points)
    }
}

impl<T: TravelTimes + ?Sized> TravelTimes for Box<T> {
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError> {
        (**self).matrix(points)
    }
}

impl<T: TravelTimes + ?Sized> TravelTimes for &T {
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError> {
        (**self).matrix(points)
    }
}

/// A model parameter outside its valid range.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
#[error("invalid {name} = {value}: {requirement}")]
pub struct ParameterError {
    /// Which parameter.
    pub name: &'static str,
    /// The rejected value.
    pub value: f64,
    /// What the value must satisfy.
    pub requirement: &'static str,
}

/// Why a travel matrix could not be computed. Indices refer to the `points` slice passed in.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum TravelError {
    /// A coordinate is NaN, infinite or outside the WGS84 range.
    #[error("point {index} has invalid coordinates (lat {lat}, lon {lon})")]
    InvalidPoint {
        /// Index of the point.
        index: usize,
        /// Its latitude.
        lat: f64,
        /// Its longitude.
        lon: f64,
    },
    /// No road node lies within the snapping distance: the point is outside the road network.
    #[error(
        "point {index} (lat {lat}, lon {lon}) is not within {max_snap_m} m of any road in the network"
    )]
    OutsideNetwork {
        /// Index of the point.
        index: usize,
        /// Its latitude.
        lat: f64,
        /// Its longitude.
        lon: f64,
        /// The snapping distance that was searched, in metres.
        max_snap_m: f64,
    },
    /// The road graph has no route between the two points.
    #[error("no road route from point {from} to point {to}")]
    Unreachable {
        /// Index of the start point.
        from: usize,
        /// Index of the destination point.
        to: usize,
    },
    /// The model itself is misconfigured (its public fields were set to invalid values).
    #[error(transparent)]
    InvalidParameter(#[from] ParameterError),
}

/// Checks every point, so that no model computes with NaN or out-of-range coordinates.
pub(crate) fn validate_points(points: &[GeoPoint]) -> Result<(), TravelError> {
    match points.iter().position(|p| !p.is_valid()) {
        Some(index) => Err(TravelError::InvalidPoint {
            index,
            lat: points[index].lat,
            lon: points[index].lon,
        }),
        None => Ok(()),
    }
}

/// Travel along the great circle, lengthened by a detour factor, at a constant speed.
///
/// The estimate for regions without a road extract. The defaults (detour 1.3, 45 km/h) fit rural
/// roads through villages: typical German rural circuity is 1.2 to 1.4, and a car averages well
/// under the 100 km/h limit once village 50 zones, junctions and farm traffic are counted.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct StraightLine {
    /// Road distance divided by great-circle distance; at least 1.
    pub detour_factor: f64,
    /// Average speed in km/h; positive and finite.
    pub speed_kmh: f64,
}

impl Default for StraightLine {
    fn default() -> Self {
        Self {
            detour_factor: 1.3,
            speed_kmh: 45.0,
        }
    }
}

impl StraightLine {
    /// A validated model: `detour_factor` finite and >= 1, `speed_kmh` finite and > 0.
    pub fn new(detour_factor: f64, speed_kmh: f64) -> Result<Self, ParameterError> {
        let model = Self {
            detour_factor,
            speed_kmh,
        };
        model.validate()?;
        Ok(model)
    }

    /// Checks the public fields (they may have been changed after construction).
    pub fn validate(&self) -> Result<(), ParameterError> {
        // `!(x >= 1.0)` rather than `x < 1.0` so that NaN is rejected too.
        if !(self.detour_factor.is_finite() && self.detour_factor >= 1.0) {
            return Err(ParameterError {
                name: "detour_factor",
                value: self.detour_factor,
                requirement: "must be finite and at least 1 (roads are never shorter than the straight line)",
            });
        }
        if !(self.speed_kmh.is_finite() && self.speed_kmh > 0.0) {
            return Err(ParameterError {
                name: "speed_kmh",
                value: self.speed_kmh,
                requirement: "must be finite and positive",
            });
        }
        Ok(())
    }

    /// Estimated road distance in metres.
    pub fn meters(&self, from: &GeoPoint, to: &GeoPoint) -> f64 {
        from.haversine_m(to) * self.detour_factor
    }

    /// Estimated travel time in seconds.
    pub fn seconds(&self, from: &GeoPoint, to: &GeoPoint) -> f64 {
        self.meters(from, to) / (self.speed_kmh / 3.6)
    }
}

impl TravelTimes for StraightLine {
    fn matrix(&self, points: &[GeoPoint]) -> Result<TravelMatrix, TravelError> {
        self.validate()?;
        validate_points(points)?;
        let speed_ms = self.speed_kmh / 3.6;
        Ok(TravelMatrix::from_fn(points.len(), |i, j| {
            let meters = self.meters(&points[i], &points[j]);
            (meters / speed_ms, meters)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn haversine_matches_hand_computed_figures() {
        // One degree along a meridian is 2 * pi * R / 360 = 111 194.93 m.
        let d = GeoPoint::new(49.0, 11.5).haversine_m(&GeoPoint::new(50.0, 11.5));
        assert!(close(d, 111_194.93, 0.01), "{d}");
        // One degree of longitude at 50 deg N: a = cos^2(50 deg) * sin^2(0.5 deg), so
        // d = 2 R asin(cos 50 deg * sin 0.5 deg) = 2 * 6 371 000 * asin(0.642788 * 0.00872654)
        //   = 71 474.19 m.
        let d = GeoPoint::new(50.0, 11.0).haversine_m(&GeoPoint::new(50.0, 12.0));
        assert!(close(d, 71_474.19, 0.05), "{d}");
        assert_eq!(
            GeoPoint::new(50.0, 11.0).haversine_m(&GeoPoint::new(50.0, 11.0)),
            0.0
        );
    }

    #[test]
    fn straight_line_applies_detour_and_speed() {
        let model = StraightLine::default();
        let a = GeoPoint::new(49.0, 11.5);
        let b = GeoPoint::new(50.0, 11.5);
        let m = model.matrix(&[a, b]).expect("valid model and points");
        assert_eq!(m.len(), 2);
        // 111 194.93 m * 1.3 = 144 553.40 m; at 45 km/h = 12.5 m/s that takes 11 564.27 s.
        assert!(
            close(m.meters(0, 1), 144_553.40, 0.05),
            "{}",
            m.meters(0, 1)
        );
        assert!(
            close(m.seconds(0, 1), 11_564.27, 0.01),
            "{}",
            m.seconds(0, 1)
        );
        assert_eq!(m.seconds(0, 1), m.seconds(1, 0));
        assert_eq!(m.seconds(0, 0), 0.0);
        assert_eq!(m.meters(1, 1), 0.0);
        assert_eq!(m.seconds_row_major().len(), 4);
    }

    #[test]
    fn straight_line_rejects_bad_parameters() {
        for (detour, speed, name) in [
            (1.3, 0.0, "speed_kmh"),
            (1.3, -45.0, "speed_kmh"),
            (1.3, f64::NAN, "speed_kmh"),
            (1.3, f64::INFINITY, "speed_kmh"),
            (0.9, 45.0, "detour_factor"),
            (f64::NAN, 45.0, "detour_factor"),
        ] {
            let err = StraightLine::new(detour, speed).expect_err("parameters are invalid");
            assert_eq!(err.name, name, "detour {detour}, speed {speed}");
        }
        assert!(StraightLine::new(1.0, 30.0).is_ok());

        // A model whose public fields were broken after construction refuses to compute.
        let broken = StraightLine {
            speed_kmh: 0.0,
            ..StraightLine::default()
        };
        let err = broken
            .matrix(&[GeoPoint::new(50.0, 11.5)])
            .expect_err("speed 0");
        assert!(matches!(
            err,
            TravelError::InvalidParameter(ParameterError {
                name: "speed_kmh",
                ..
            })
        ));
    }

    #[test]
    fn invalid_coordinates_name_the_point() {
        let model = StraightLine::default();
        for bad in [
            GeoPoint::new(f64::NAN, 11.5),
            GeoPoint::new(50.0, f64::NAN),
            GeoPoint::new(91.0, 11.5),
            GeoPoint::new(50.0, -181.0),
        ] {
            let err = model
                .matrix(&[GeoPoint::new(50.0, 11.5), bad])
                .expect_err("second point is invalid");
            assert!(
                matches!(err, TravelError::InvalidPoint { index: 1, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn matrix_constructor_checks_shape_and_values() {
        let m = TravelMatrix::new(2, vec![0.0, 5.0, 6.0, 0.0], vec![0.0, 50.0, 60.0, 0.0])
            .expect("well-formed");
        assert_eq!(
            (m.seconds(0, 1), m.seconds(1, 0), m.meters(1, 0)),
            (5.0, 6.0, 60.0)
        );
        assert!(TravelMatrix::new(2, vec![0.0; 3], vec![0.0; 4]).is_err());
        assert!(TravelMatrix::new(2, vec![0.0; 4], vec![0.0, -1.0, 0.0, 0.0]).is_err());
        assert!(TravelMatrix::new(1, vec![f64::NAN], vec![0.0]).is_err());
        assert!(
            TravelMatrix::new(0, vec![], vec![])
                .expect("empty is fine")
                .is_empty()
        );
    }

    #[test]
    fn models_work_behind_shared_pointers() {
        let shared: Arc<dyn TravelTimes> = Arc::new(StraightLine::default());
        let m = shared
            .matrix(&[GeoPoint::new(50.0, 11.0), GeoPoint::new(50.0, 12.0)])
            .expect("valid");
        assert!(m.seconds(0, 1) > 0.0);
    }
}

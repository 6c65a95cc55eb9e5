//! A generated rural county for tests and benchmarks: villages scattered over about 40 x 40 km
//! around a county town with the bus depot, weekly large, fortnightly middle and four-weekly
//! small villages, buses Monday to Friday 08:00 to 17:00 with a 30-minute break between 11:30
//! and 13:30, counsellors with a few absences, two public holidays, and starts on the quarter
//! hour.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::travel::{GeoPoint, StraightLine, TravelMatrix, TravelTimes};

use super::model::{Bus, Counsellor, TourInput, TourVillage};

/// The county town (Schöppenstedt, the demo region's centre).
const CENTRE: GeoPoint = GeoPoint::new(52.145, 10.778);

/// A county with `villages` villages and `buses` buses over a 4-week cycle.
pub fn county(villages: usize, buses: usize, seed: u64) -> (TourInput, TravelMatrix) {
    county_weeks(villages, buses, 4, seed)
}

/// A county over a cycle of `weeks` (1 to 8) weeks; frequencies that do not divide the cycle
/// fall back to the largest divisor below them.
pub fn county_weeks(
    villages: usize,
    buses: usize,
    weeks: u32,
    seed: u64,
) -> (TourInput, TravelMatrix) {
    let weeks = weeks.clamp(1, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let half_lat = 20.0 / 111.2;
    let half_lon = 20.0 / (111.2 * CENTRE.lat.to_radians().cos());
    let mut points = Vec::with_capacity(villages + 1);
    let mut list = Vec::with_capacity(villages);
    for i in 0..villages {
        points.push(GeoPoint::new(
            CENTRE.lat + rng.random_range(-half_lat..half_lat),
            CENTRE.lon + rng.random_range(-half_lon..half_lon),
        ));
        // About 10 % large (weekly, 90 min), 30 % middle (fortnightly, 60 min), the rest small
        // (every four weeks, 45 min): with two buses per 100 villages about half of the working
        // time is visits.
        let size = rng.random::<f64>();
        let (every, minutes) = if size < 0.1 {
            (1, 90)
        } else if size < 0.4 {
            (2, 60)
        } else {
            (4, 45)
        };
        let every = (1..=every)
            .rev()
            .find(|k| weeks.is_multiple_of(*k))
            .unwrap_or(1);
        list.push(TourVillage {
            id: format!("V{:03}", i + 1),
            place: i,
            every_weeks: every,
            visit_minutes: minutes,
        });
    }
    points.push(CENTRE);
    let depot = villages;
    let days = weeks * 7;
    let bus_list = (0..buses)
        .map(|b| Bus {
            id: format!("IMBUS {}", b + 1),
            depot,
            weekdays: vec![0, 1, 2, 3, 4],
            day_start: 8 * 60,
            day_end: 17 * 60,
            break_minutes: 30,
            break_from: 11 * 60 + 30,
            break_until: 13 * 60 + 30,
            // One workshop day per bus in the cycle.
            blocked_days: vec![rng.random_range(0..weeks) * 7 + rng.random_range(0..5)],
        })
        .collect();
    // One counsellor more than buses, each working four or five weekdays with two absences.
    let counsellors = (0..=buses)
        .map(|c| {
            let mut weekdays = vec![0, 1, 2, 3, 4];
            if c % 2 == 1 {
                weekdays.remove(rng.random_range(0..5));
            }
            let absent_days = (0..2)
                .map(|_| rng.random_range(0..weeks) * 7 + rng.random_range(0..5))
                .collect();
            Counsellor {
                id: format!("C{}", c + 1),
                weekdays,
                absent_days,
            }
        })
        .collect();
    // Two public holidays on weekdays of different weeks (one if the cycle is a week).
    let mut closed_days = vec![rng.random_range(0..5)];
    if weeks > 1 {
        closed_days.push(rng.random_range(1..weeks) * 7 + rng.random_range(0..5));
    }
    closed_days.retain(|&d| d < days);
    let model = StraightLine {
        detour_factor: 1.3,
        speed_kmh: 50.0,
    };
    let travel = model
        .matrix(&points)
        .expect("generated points and model parameters are valid");
    let input = TourInput {
        weeks,
        villages: list,
        buses: bus_list,
        counsellors,
        closed_days,
        start_step_minutes: 15,
    };
    (input, travel)
}

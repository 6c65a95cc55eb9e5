//! Benchmark of the IMBUS tour planner: plans a generated county (or a region from a CSV file)
//! and prints visits, frequencies met, driving per cycle against the lower bound, replacements
//! and time taken; then adds one village and re-plans from the patterns to count moves.
//! Prints the figures; asserts nothing.
//!
//! `tours-bench [--villages 100] [--buses 2] [--weeks 4] [--seed 1] [--iterations N] [--input FILE]`
//!
//! `--input FILE` reads a CSV `kind,name,lat,lon,every_weeks,visit_minutes` with one `depot`
//! row (its last two fields empty) and `village` rows; lines starting with `#` are comments.
//! Its buses work Monday to Friday 08:00 to 17:00 with a 30-minute break in 11:30 to 13:30,
//! each with a counsellor, no closed days, starts on the quarter hour; travel is the straight
//! line at 50 km/h.

use std::time::Instant;

use planner::tours::{
    self, Bus, Counsellor, TourBudget, TourInput, TourPlan, TourVillage, generate,
};
use planner::travel::{GeoPoint, StraightLine, TravelMatrix, TravelTimes};

struct Args {
    villages: usize,
    buses: usize,
    weeks: u32,
    seed: u64,
    iterations: u32,
    input: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        villages: 100,
        buses: 2,
        weeks: 4,
        seed: 1,
        iterations: TourBudget::default().iterations,
        input: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag}: {e}");
        match flag.as_str() {
            "--villages" => a.villages = value.parse().map_err(bad)?,
            "--buses" => a.buses = value.parse().map_err(bad)?,
            "--weeks" => a.weeks = value.parse().map_err(bad)?,
            "--seed" => a.seed = value.parse().map_err(bad)?,
            "--iterations" => a.iterations = value.parse().map_err(bad)?,
            "--input" => a.input = Some(value.clone()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("tours-bench: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let budget = TourBudget {
        iterations: args.iterations,
    };
    let (input, travel, name, points) = match &args.input {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
            let (input, travel, points) = read_region(&text, args.buses, args.weeks)?;
            (input, travel, path.clone(), Some(points))
        }
        None => {
            let (input, travel) =
                generate::county_weeks(args.villages, args.buses, args.weeks, args.seed);
            (input, travel, "generated county".to_string(), None)
        }
    };
    println!(
        "{name}: {} villages, {} buses, {} weeks, seed {}, {} iterations",
        input.villages.len(),
        input.buses.len(),
        input.weeks,
        args.seed,
        args.iterations
    );
    let started = Instant::now();
    let plan =
        tours::plan(&input, &travel, &[], args.seed, budget).map_err(|e| format!("plan: {e}"))?;
    let took = started.elapsed();
    report(&input, &travel, &plan);
    println!("time taken: {:.3} s", took.as_secs_f64());

    // Stability: one more village (the first village's place shifted, or a new random point),
    // re-planned from the patterns just made.
    let (bigger, bigger_travel) = match points {
        Some(mut points) => {
            let p = points[0];
            points.push(GeoPoint::new(p.lat + 0.02, p.lon + 0.03));
            let mut bigger = input.clone();
            bigger.villages.push(TourVillage {
                id: "new village".into(),
                place: points.len() - 1,
                every_weeks: 1.min(input.weeks),
                visit_minutes: 60,
            });
            (bigger, straight_line(&points)?)
        }
        None => {
            let (mut bigger, travel) =
                generate::county_weeks(args.villages + 1, args.buses, args.weeks, args.seed);
            // Same county plus one village: the generator draws villages first, so the first
            // ones are the same; keep the old ones' frequencies and the old calendar.
            let new = bigger.villages[args.villages].clone();
            bigger.villages = input.villages.clone();
            bigger.villages.push(new);
            for (b, old) in bigger.buses.iter_mut().zip(&input.buses) {
                b.depot = args.villages + 1;
                b.blocked_days = old.blocked_days.clone();
            }
            bigger.counsellors = input.counsellors.clone();
            bigger.closed_days = input.closed_days.clone();
            (bigger, travel)
        }
    };
    let started = Instant::now();
    let again = tours::plan(&bigger, &bigger_travel, &plan.patterns, args.seed, budget)
        .map_err(|e| format!("re-plan: {e}"))?;
    let took = started.elapsed();
    let moved_old = again
        .moves
        .iter()
        .filter(|m| m.reason != tours::MoveReason::NewVillage)
        .count();
    println!(
        "stability: one village added, {} of {} existing patterns moved ({} move entries), \
         visits {}/{}, violations {}, time {:.3} s",
        moved_old,
        plan.patterns.len(),
        again.moves.len(),
        again.figures.visits_planned,
        again.figures.visits_required,
        tours::check(&bigger, &bigger_travel, &again).len(),
        took.as_secs_f64()
    );
    Ok(())
}

fn report(input: &TourInput, travel: &TravelMatrix, plan: &TourPlan) {
    let f = &plan.figures;
    let violations = tours::check(input, travel, plan);
    println!(
        "visits required {}, planned {}; villages meeting their frequency {}/{}",
        f.visits_required, f.visits_planned, f.villages_met, f.villages
    );
    println!(
        "driving per cycle {:.2} h, lower bound {:.2} h, ratio {:.3}",
        f.driving_seconds / 3600.0,
        f.driving_lower_bound_seconds / 3600.0,
        if f.driving_lower_bound_seconds > 0.0 {
            f.driving_seconds / f.driving_lower_bound_seconds
        } else {
            f64::NAN
        }
    );
    println!(
        "replacements {}, unmet {}, day tours {}, violations {}",
        f.replacements,
        plan.unmet.len(),
        plan.tours.len(),
        violations.len()
    );
    for v in violations.iter().take(5) {
        println!("  violation: {v}");
    }
}

fn straight_line(points: &[GeoPoint]) -> Result<TravelMatrix, String> {
    let model = StraightLine::new(1.3, 50.0).map_err(|e| e.to_string())?;
    model.matrix(points).map_err(|e| e.to_string())
}

/// A region from the bench's CSV format (see the file's documentation).
fn read_region(
    text: &str,
    buses: usize,
    weeks: u32,
) -> Result<(TourInput, TravelMatrix, Vec<GeoPoint>), String> {
    let mut points = Vec::new();
    let mut villages = Vec::new();
    let mut depot = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("kind,") {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", n + 1);
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 6 {
            return Err(at(format!("{} fields, expected 6", f.len())));
        }
        let lat: f64 = f[2].parse().map_err(|e| at(format!("lat: {e}")))?;
        let lon: f64 = f[3].parse().map_err(|e| at(format!("lon: {e}")))?;
        points.push(GeoPoint::new(lat, lon));
        match f[0] {
            "depot" if depot.is_none() => depot = Some(points.len() - 1),
            "depot" => return Err(at("a second depot".into())),
            "village" => villages.push(TourVillage {
                id: f[1].to_string(),
                place: points.len() - 1,
                every_weeks: f[4].parse().map_err(|e| at(format!("every_weeks: {e}")))?,
                visit_minutes: f[5]
                    .parse()
                    .map_err(|e| at(format!("visit_minutes: {e}")))?,
            }),
            other => return Err(at(format!("kind {other:?}, expected depot or village"))),
        }
    }
    let depot = depot.ok_or("no depot row")?;
    let input = TourInput {
        weeks,
        villages,
        buses: (0..buses)
            .map(|b| Bus {
                id: format!("IMBUS {}", b + 1),
                depot,
                weekdays: vec![0, 1, 2, 3, 4],
                day_start: 8 * 60,
                day_end: 17 * 60,
                break_minutes: 30,
                break_from: 11 * 60 + 30,
                break_until: 13 * 60 + 30,
                blocked_days: Vec::new(),
            })
            .collect(),
        counsellors: (0..buses)
            .map(|c| Counsellor {
                id: format!("C{}", c + 1),
                weekdays: vec![0, 1, 2, 3, 4],
                absent_days: Vec::new(),
            })
            .collect(),
        closed_days: Vec::new(),
        start_step_minutes: 15,
    };
    let travel = straight_line(&points)?;
    Ok((input, travel, points))
}

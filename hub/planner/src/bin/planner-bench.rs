//! Benchmarks of the ride planner: Cordeau DARP instances under a time limit, and instant
//! insertion latency on a synthetic rural day. Prints the figures; asserts nothing.
//!
//! `planner-bench darp --time-limit-s T --seed S [--threads N] FILE...`
//! `planner-bench insertion --seed S`

use std::time::Instant;

use planner::darp::{
    self, Break, Budget, InsertOptions, Insertion, Instance, Matrices, Plan, Promise, RejectReason,
    Request, SearchOptions, TimeWindow, Vehicle,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("darp") => run_darp(&args[1..]),
        Some("insertion") => run_insertion(&args[1..]),
        _ => Err("usage: planner-bench darp --time-limit-s T --seed S [--threads N] FILE... | insertion --seed S".into()),
    };
    if let Err(e) = result {
        eprintln!("planner-bench: {e}");
        std::process::exit(2);
    }
}

struct Args {
    time_limit: f64,
    seed: u64,
    threads: usize,
    iterations: Option<u64>,
    tune: Vec<(String, f64)>,
    files: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        time_limit: 10.0,
        seed: 1,
        threads: 1,
        iterations: None,
        tune: Vec::new(),
        files: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match x.as_str() {
            "--time-limit-s" => {
                a.time_limit = value(x)?
                    .parse()
                    .map_err(|e| format!("--time-limit-s: {e}"))?
            }
            "--seed" => a.seed = value(x)?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--threads" => a.threads = value(x)?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--tune" => {
                let kv = value(x)?;
                let (k, v) = kv.split_once('=').ok_or("--tune needs key=value")?;
                let v: f64 = v.parse().map_err(|e| format!("--tune {k}: {e}"))?;
                a.tune.push((k.to_string(), v));
            }
            "--iterations" => {
                a.iterations = Some(
                    value(x)?
                        .parse()
                        .map_err(|e| format!("--iterations: {e}"))?,
                )
            }
            f if !f.starts_with("--") => a.files.push(f.to_string()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn run_darp(args: &[String]) -> Result<(), String> {
    let a = parse_args(args)?;
    for file in &a.files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("reading {file}: {e}"))?;
        let instance = darp::cordeau::parse(&text).map_err(|e| format!("{file}: {e}"))?;
        let name = std::path::Path::new(file)
            .file_stem()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        let start = Instant::now();
        let limit = a.time_limit;
        let clock = move || start.elapsed().as_secs_f64() / limit;
        let budget = match a.iterations {
            Some(n) => Budget::Iterations(n),
            None => Budget::Progress(&clock),
        };
        let mut options = SearchOptions {
            threads: a.threads,
            ..SearchOptions::new(a.seed)
        };
        for (k, v) in &a.tune {
            match k.as_str() {
                "start_worse" => options.start_worse = *v,
                "cooling" => options.cooling = *v,
                "noise" => options.noise = *v,
                "removal_fraction" => options.removal_fraction = *v,
                "removal_cap" => options.removal_cap = *v as usize,
                "restart_after" => options.restart_after = *v as u64,
                other => return Err(format!("unknown tuning key {other}")),
            }
        }
        let plan = darp::optimise(&instance, &options, budget);
        let seconds = start.elapsed().as_secs_f64();
        let feasible = match darp::check(&instance, &plan, &[]) {
            Ok(report) => report.unserved == 0,
            Err(v) => {
                eprintln!("{name}: checker rejects the plan: {v}");
                false
            }
        };
        println!(
            "instance={name} cost={:.2} vehicles={} feasible={feasible} seconds={seconds:.2}",
            plan.distance(&instance),
            plan.vehicles_used()
        );
    }
    Ok(())
}

/// A synthetic rural district of about 30 x 30 km (a Samtgemeinde and its neighbours): villages, three small towns with practices,
/// roads 30 % longer than the straight line at 50 km/h. Times in minutes, distances in km.
fn rural_day(rng: &mut ChaCha8Rng, requests: usize) -> (Instance, Vec<Request>) {
    let mut points: Vec<(f64, f64)> = Vec::new();
    let towns = [(8.0, 9.0), (22.0, 19.0), (13.0, 25.0)];
    for &t in &towns {
        points.push(t); // depot in each town
    }
    let mut doctors = Vec::new();
    for &(x, y) in &towns {
        for _ in 0..4 {
            doctors.push(points.len());
            points.push((
                x + rng.random_range(-1.5..1.5),
                y + rng.random_range(-1.5..1.5),
            ));
        }
    }
    let villages: Vec<usize> = (0..45)
        .map(|_| {
            points.push((rng.random_range(0.0..30.0), rng.random_range(0.0..30.0)));
            points.len() - 1
        })
        .collect();
    let n = points.len();
    let (mut time, mut dist) = (Vec::with_capacity(n * n), Vec::with_capacity(n * n));
    for a in &points {
        for b in &points {
            let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() * 1.3;
            dist.push(d);
            time.push(d / 50.0 * 60.0);
        }
    }
    let matrices = Matrices::new(n, time.clone(), dist).expect("square matrices");
    let vehicles = (0..15)
        .map(|k| Vehicle {
            start: k % 3,
            end: k % 3,
            shift: TimeWindow::new(420.0, 1140.0),
            max_duration: 600.0,
            seats: 8,
            wheelchairs: u32::from(k % 3 == 0),
            rest: Some(Break {
                earliest_start: 690.0,
                latest_start: 810.0,
                duration: 30.0,
            }),
        })
        .collect();
    let mut reqs = Vec::new();
    for _ in 0..requests {
        let village = villages[rng.random_range(0..villages.len())];
        let doctor = doctors[rng.random_range(0..doctors.len())];
        let wheelchair = rng.random_bool(0.08);
        let (seats, wc, service) = if wheelchair {
            (0, 1, 5.0)
        } else {
            (1 + u32::from(rng.random_bool(0.1)), 0, 2.0)
        };
        let direct = time[village * n + doctor];
        let max_ride = Request::default_max_ride_minutes(direct);
        // Appointments on the quarter hour between 8:00 and 16:45; trips home likewise.
        let t = 480.0 + 15.0 * rng.random_range(0..36) as f64;
        reqs.push(if rng.random_bool(0.5) {
            Request::appointment(village, doctor, t, 30.0, seats, wc, service, max_ride)
        } else {
            Request::pickup_between(
                doctor,
                village,
                TimeWindow::new(t, t + 30.0),
                seats,
                wc,
                service,
                max_ride,
            )
        });
    }
    let instance = Instance::new(matrices, Vec::new(), vehicles).expect("valid synthetic instance");
    (instance, reqs)
}

fn run_insertion(args: &[String]) -> Result<(), String> {
    let a = parse_args(args)?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let (mut instance, requests) = rural_day(&mut rng, 300);
    let mut plan = Plan::empty(&instance);
    let mut promises: Vec<Promise> = Vec::new();
    let mut latencies = Vec::new();
    let (mut accepted, mut reasons) = (0, std::collections::BTreeMap::<String, usize>::new());
    let options = InsertOptions::default();
    // The first 200 bookings arrive the day before (nothing fixed yet); the last 100 during the
    // day, with "now" moving from 7:00 to 15:00 and only trips at least 45 minutes ahead.
    for (i, mut req) in requests.into_iter().enumerate() {
        let now = if i < 200 {
            0.0
        } else {
            420.0 + (i - 200) as f64 * 4.8
        };
        let wanted = req.pickup_window.earliest.max(req.dropoff_window.earliest);
        if wanted < now + 45.0 {
            let shift = now + 45.0 - wanted + 15.0;
            req.pickup_window = req.pickup_window.shifted(shift);
            req.dropoff_window = req.dropoff_window.shifted(shift);
        }
        let r = instance.add_request(req).map_err(|e| e.to_string())?;
        plan.unserved.push(r);
        let start = Instant::now();
        let plan_without = Plan {
            unserved: plan.unserved.iter().copied().filter(|&u| u != r).collect(),
            ..plan.clone()
        };
        let outcome = darp::insert(&instance, &plan_without, r, now, &promises, &options)
            .map_err(|e| e.to_string())?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        match outcome {
            Insertion::Inserted(ins) => {
                accepted += 1;
                promises.push(ins.promise);
                plan = ins.plan;
            }
            Insertion::Rejected(rej) => {
                let key = match rej.reason {
                    RejectReason::NoWheelchairPlace => "no-wheelchair-place",
                    RejectReason::NoSeats => "no-seats",
                    RejectReason::TimeWindowImpossible => "time-window-impossible",
                    RejectReason::NoCapacityAtThatTime => "no-capacity-at-that-time",
                };
                *reasons.entry(key.to_string()).or_default() += 1;
            }
        }
    }
    let checked = darp::check(&instance, &plan, &promises);
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "insertion requests={} accepted={accepted} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} vehicles={} distance_km={:.1} feasible={} rejected={reasons:?}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        plan.vehicles_used(),
        plan.distance(&instance),
        checked.is_ok()
    );
    if let Err(v) = checked {
        eprintln!("checker: {v}");
    }
    Ok(())
}

//! How many kiosks one hub carries: N enrolled kiosks (real client certificates, mutual TLS)
//! each sync every `--period-s` seconds, spread evenly over the period, against a `hub`
//! process serving the demo region; prints the sync latency per level and the largest level
//! whose p99 stays under 100 ms with no errors.
//!
//! ```text
//! cargo build --release -p hub
//! cargo run --release -p tests --bin sync-load -- [--kiosks 250,500,1000] [--period-s 30]
//!     [--rounds 2] [--booking-share 0.002]
//! ```
//!
//! Every sync sends the kiosk's cursor and, with probability `--booking-share` (seeded), one
//! ride booking (which the hub plans by instant insertion); the answer's changes move the
//! cursor. Kiosks first catch up with the region's change log (not measured). Connections are
//! kept alive between syncs (reqwest's pool), as a kiosk on a steady line would. The clients run
//! in this process, on the same machine as the hub.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, Utc};
use kiosk::hub_client::{HubClient, Timeouts};
use kiosk::sync::Transport;
use protocol::API_VERSION;
use protocol::sync::{OutboxEntry, OutboxKind, SyncRequest};
use serde_json::json;

struct Args {
    kiosks: Vec<usize>,
    period_s: f64,
    rounds: usize,
    booking_share: f64,
}

fn parse() -> anyhow::Result<Args> {
    let mut args = Args {
        kiosks: vec![250, 500, 1000],
        period_s: 30.0,
        rounds: 2,
        booking_share: 0.002,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--kiosks" => {
                args.kiosks = value
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse()
                            .context("--kiosks: numbers, comma-separated")
                    })
                    .collect::<anyhow::Result<_>>()?
            }
            "--period-s" => args.period_s = value.parse().context("--period-s")?,
            "--rounds" => args.rounds = value.parse().context("--rounds")?,
            "--booking-share" => args.booking_share = value.parse().context("--booking-share")?,
            _ => bail!(
                "usage: sync-load [--kiosks N,N,..] [--period-s S] [--rounds R] [--booking-share P]"
            ),
        }
    }
    if args.kiosks.is_empty() || args.kiosks.contains(&0) {
        bail!("--kiosks: at least one level, each above 0");
    }
    if !(args.period_s.is_finite() && args.period_s > 0.0)
        || args.rounds == 0
        || !(0.0..=1.0).contains(&args.booking_share)
    {
        bail!("--period-s above 0, --rounds at least 1, --booking-share within 0..1");
    }
    Ok(args)
}

/// The `hub` binary next to this one (`cargo build --release -p hub`).
fn hub_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("binary directory")?.join("hub");
    if !path.exists() {
        bail!(
            "{} is missing: cargo build --release -p hub",
            path.display()
        );
    }
    Ok(path)
}

/// Resident memory of a process, MiB (Linux).
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A small seeded generator, one per kiosk.
fn next(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

struct Kiosk {
    client: HubClient,
    region_id: String,
    cursor: u64,
    rng: u64,
}

/// What the demo offers to book: a resident and a destination.
struct Booking {
    resident_id: String,
    destination_id: String,
    /// Times to choose from (UTC), so bookings spread over days like real ones.
    appointment_at: Vec<String>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("hub");
    let mut hub = Command::new(hub_binary()?)
        .env("DORFPUNKT_LOG", "error")
        .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0")
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the hub")?;
    let result = run(&args, &data, &mut hub).await;
    let _ = hub.kill();
    let _ = hub.wait();
    result
}

async fn run(args: &Args, data: &Path, hub: &mut std::process::Child) -> anyhow::Result<()> {
    use std::io::BufRead;
    let stdout = hub.stdout.take().context("hub stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().context("the hub stopped before listening")??;
        if let Some(rest) = line.split("hub listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string();
        }
    };
    // Keep draining the hub's stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let url = url.replace("localhost", "127.0.0.1");
    let ca = std::fs::read_to_string(data.join("tls/hub-cert.pem"))?;
    let most = *args.kiosks.iter().max().unwrap_or(&1);

    // Devices and their codes straight into the hub's store (as `hub device add` does).
    let store = hub::store::Store::open(&data.join("hub.db"))?;
    let who = hub::store::logs::Who::cli("sync-load");
    let (stops, booking) = store.blocking(|c| {
        let stops: Vec<String> = c
            .prepare("SELECT id FROM stops ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let resident_id: String =
            c.query_row("SELECT id FROM residents ORDER BY name LIMIT 1", [], |r| {
                r.get(0)
            })?;
        let destination_id: String = c.query_row(
            "SELECT id FROM destinations WHERE category = 'general_practice' ORDER BY name LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        Ok((stops, (resident_id, destination_id)))
    })?;
    // Appointments spread over the weekday mornings of the next four weeks.
    let mut appointments = Vec::new();
    for ahead in 1..=28 {
        let day = Utc::now().date_naive() + chrono::Days::new(ahead);
        if day.weekday().number_from_monday() <= 5 {
            for hour in 8..=10 {
                appointments.push(format!("{day}T{hour:02}:30:00Z"));
            }
        }
    }
    let booking = Arc::new(Booking {
        resident_id: booking.0,
        destination_id: booking.1,
        appointment_at: appointments,
    });
    let started = Instant::now();
    let mut codes = Vec::with_capacity(most);
    for i in 0..most {
        let stop = &stops[i % stops.len()];
        let (_, code) = store
            .blocking(|c| {
                hub::devices::add_device(
                    c,
                    &who,
                    &format!("Last-Kiosk {i}"),
                    stop,
                    Default::default(),
                    Utc::now(),
                )
                .map_err(|e| hub::store::StoreError::Internal(e.to_string()))
            })
            .map_err(|e| anyhow::anyhow!("device {i}: {e}"))?;
        codes.push(code.code);
    }
    // Enrol every kiosk over the network with its own key pair.
    let kiosk_dirs = tempfile::tempdir()?;
    let mut kiosks = Vec::with_capacity(most);
    for chunk in codes.chunks(32).enumerate() {
        let (c, codes) = chunk;
        let mut tasks = Vec::new();
        for (j, code) in codes.iter().enumerate() {
            let i = c * 32 + j;
            let (url, ca, code) = (url.clone(), ca.clone(), code.clone());
            let dir = kiosk_dirs.path().join(format!("k{i}"));
            tasks.push(tokio::spawn(async move {
                std::fs::create_dir_all(&dir)?;
                let identity = kiosk::identity::enrol(&url, &ca, &code, &dir).await?;
                let client = HubClient::for_device(&identity, Timeouts::default())?;
                anyhow::Ok(Kiosk {
                    client,
                    region_id: identity.region_id.clone(),
                    cursor: 0,
                    rng: 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1),
                })
            }));
        }
        for task in tasks {
            kiosks.push(task.await??);
        }
    }
    println!(
        "enrolled {most} kiosks in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let pid = hub.id();
    let mut carried = 0;
    let mut kiosks: Vec<Kiosk> = kiosks;
    for &n in &args.kiosks {
        // The kiosks of this level catch up first (not measured).
        let mut waiting: Vec<Kiosk> = std::mem::take(&mut kiosks);
        let mut idle = waiting.split_off(n.min(waiting.len()));
        let mut pool = Vec::new();
        for mut kiosk in waiting {
            pool.push(tokio::spawn(async move {
                loop {
                    let answer = kiosk
                        .client
                        .exchange(request(kiosk.cursor, Vec::new()))
                        .await
                        .map_err(|e| anyhow::anyhow!("catch-up: {e}"))?;
                    kiosk.cursor = answer.cursor;
                    if !answer.more {
                        break;
                    }
                }
                anyhow::Ok(kiosk)
            }));
            if pool.len() >= 64 {
                for task in pool.drain(..) {
                    kiosks.push(task.await??);
                }
            }
        }
        for task in pool {
            kiosks.push(task.await??);
        }
        kiosks.append(&mut idle);

        let period = Duration::from_secs_f64(args.period_s);
        let start = tokio::time::Instant::now() + Duration::from_millis(200);
        let mut tasks = Vec::new();
        let mut rest = kiosks.split_off(n.min(kiosks.len()));
        for (i, mut kiosk) in kiosks.drain(..).enumerate() {
            let phase = period.mul_f64(i as f64 / n as f64);
            let (rounds, share, booking) = (args.rounds, args.booking_share, booking.clone());
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(rounds);
                let mut errors = 0usize;
                for round in 0..rounds {
                    tokio::time::sleep_until(start + phase + period * round as u32).await;
                    let books = next(&mut kiosk.rng) < share;
                    let outbox = if books {
                        vec![OutboxEntry {
                            id: uuid::Uuid::new_v4(),
                            kind: OutboxKind::RideRequest,
                            created_at: Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            body: json!({
                                "region_id": kiosk.region_id,
                                "resident_id": booking.resident_id,
                                "from_home": true,
                                "to_destination_id": booking.destination_id,
                                "appointment_at": booking.appointment_at[
                                    (next(&mut kiosk.rng) * booking.appointment_at.len() as f64) as usize
                                    % booking.appointment_at.len()],
                                "passengers": 1, "wheelchair": false, "walker": false,
                                "channel": "kiosk",
                            }),
                        }]
                    } else {
                        Vec::new()
                    };
                    let t0 = Instant::now();
                    match kiosk.client.exchange(request(kiosk.cursor, outbox)).await {
                        Ok(answer) => {
                            samples.push((t0.elapsed().as_secs_f64() * 1000.0, books));
                            kiosk.cursor = answer.cursor;
                        }
                        Err(_) => errors += 1,
                    }
                }
                (kiosk, samples, errors)
            }));
        }
        let mut all = Vec::new();
        let mut with_booking = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (kiosk, samples, e) = task.await?;
            kiosks.push(kiosk);
            errors += e;
            for (ms, booked) in samples {
                all.push(ms);
                if booked {
                    with_booking.push(ms);
                }
            }
        }
        kiosks.append(&mut rest);
        all.sort_by(f64::total_cmp);
        with_booking.sort_by(f64::total_cmp);
        let p99 = percentile(&all, 0.99);
        println!(
            "kiosks={n} period_s={} syncs={} errors={errors} syncs_per_s={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} bookings={} booking_p99_ms={:.2} hub_rss_mib={:.0}",
            args.period_s,
            all.len(),
            n as f64 / args.period_s,
            percentile(&all, 0.50),
            p99,
            all.last().copied().unwrap_or(0.0),
            with_booking.len(),
            percentile(&with_booking, 0.99),
            rss_mib(pid),
        );
        if p99 < 100.0 && errors == 0 {
            carried = carried.max(n);
        }
    }
    println!("carried={carried} (largest level with p99 < 100 ms and no errors)");
    Ok(())
}

fn request(cursor: u64, outbox: Vec<OutboxEntry>) -> SyncRequest {
    SyncRequest {
        api_version: API_VERSION,
        cursor,
        outbox,
        limit: protocol::sync::MAX_CHANGES,
    }
}

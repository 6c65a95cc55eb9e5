//! The `hub` command line: serve, migrate, import, and the demo region.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hub::config::Config;
use hub::store::Store;

#[derive(Parser)]
#[command(
    name = "hub",
    version,
    about = "Dorfpunkt hub: rides, counselling and kiosks of a region"
)]
struct Cli {
    /// TOML configuration file (keys: data_dir, listen, tls_cert, tls_key, body_limit_bytes, log_format).
    #[arg(long, global = true, env = "DORFPUNKT_HUB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Where {
    /// Directory of the database, TLS files and credentials.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over HTTPS until SIGTERM or Ctrl-C.
    Serve {
        #[command(flatten)]
        place: Where,
        /// Address to listen on, e.g. 127.0.0.1:8443.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        place: Where,
        /// First copy an existing database into this directory (`hub-<time>.db`, a consistent
        /// snapshot even while the hub runs), keeping the newest five copies. The Debian
        /// package's postinst does this on every upgrade.
        #[arg(long)]
        backup_dir: Option<PathBuf>,
    },
    /// Import region data (villages, stops, destinations, vehicles, shifts, residents, caregivers,
    /// caregiver links) from CSV or GeoJSON.
    /// The kind of each file comes from its name, e.g. villages.csv or stops.geojson. A file set
    /// with one bad row imports nothing.
    Import {
        #[command(flatten)]
        place: Where,
        /// The region (its id) the data belongs to.
        #[arg(long)]
        region: String,
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Ride planning: re-optimise a day while keeping every promised pickup window.
    Rides {
        #[command(subcommand)]
        command: RidesCommand,
    },
    /// IMBUS tours: plan a region's cycle of visits, print it, and publish it.
    Tours {
        #[command(subcommand)]
        command: ToursCommand,
    },
    /// Kiosk devices: add one (printing its one-time enrolment code), issue a new code, list
    /// them with their state, revoke one.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Hub accounts: set a health worker's kiosk PIN.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Caregivers (Kümmerer:innen): set the kiosk PIN they book with for others.
    Caregiver {
        #[command(subcommand)]
        command: CaregiverCommand,
    },
    /// Personal data: apply the retention rules of every region now (`hub serve` does it daily).
    Privacy {
        #[command(subcommand)]
        command: PrivacyCommand,
    },
    /// Kiosk software updates: make the release key, sign a package, add a signed release.
    Update {
        #[command(subcommand)]
        command: hub::updates::Command,
    },
    /// Create the demo region Elm-Asse in DATA_DIR (unless it is there already) and serve it.
    Demo {
        /// Directory of the demo database.
        #[arg(long, default_value = "demo-data")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Attach a demo kiosk: the `kiosk` program beside this one is enrolled (once) into
        /// `<data-dir>/kiosk/` and run, in a window when a display is there.
        #[arg(long)]
        with_kiosk: bool,
    },
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Remove the details of finished rides older than each region's retention period.
    Retention {
        #[command(flatten)]
        place: Where,
    },
}

#[derive(Subcommand)]
enum RidesCommand {
    /// Re-optimise one day of a region (by default tomorrow, the evening-before run).
    Plan {
        #[command(flatten)]
        place: Where,
        /// The region (its id).
        #[arg(long)]
        region: String,
        /// The local date, YYYY-MM-DD; default tomorrow.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Search time in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Random seed of the search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum ToursCommand {
    /// Plan the region's IMBUS cycle as a draft and print the timetable and the figures.
    Plan {
        #[command(flatten)]
        place: Where,
        /// Length of the cycle in weeks (1 to 8).
        #[arg(long, default_value_t = 4)]
        weeks: u32,
        /// The first day, a Monday, YYYY-MM-DD; default the next Monday.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Random seed of the search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The region (its id); needed only when the hub holds several.
        #[arg(long)]
        region: Option<String>,
        /// Publish the plan at once: visits, slots and the kiosks' share.
        #[arg(long)]
        publish: bool,
    },
}

#[derive(Subcommand)]
enum CaregiverCommand {
    /// Set the kiosk PIN (6 digits, read from stdin) of a caregiver; unlocks it.
    Pin {
        #[command(flatten)]
        place: Where,
        /// The caregiver's id.
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Give an account a new one-time password (printed as `password=…`); it must be changed at
    /// the next log-in. Unlocks the account and ends its sessions.
    Password {
        #[command(flatten)]
        place: Where,
        /// The account's username.
        #[arg(long)]
        username: String,
    },
    /// Set the kiosk PIN (6 digits, read from stdin) of a health-worker account; unlocks it.
    Pin {
        #[command(flatten)]
        place: Where,
        /// The account's username.
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Add a kiosk at a stop (the stop decides region and village); prints its id and a one-time
    /// enrolment code, valid 24 hours.
    Add {
        #[command(flatten)]
        place: Where,
        /// The kiosk's name, e.g. "Kiosk Edeka Kneitlingen".
        #[arg(long)]
        name: String,
        /// The stop (its id) the kiosk stands at.
        #[arg(long)]
        stop: String,
        /// Remote settings as a JSON object.
        #[arg(long)]
        settings: Option<String>,
    },
    /// Issue a new one-time enrolment code for a device (re-enrols a revoked one).
    Code {
        #[command(flatten)]
        place: Where,
        /// The device (its id).
        #[arg(long)]
        device: String,
    },
    /// List the devices: name, id, status, online or silent, last seen, alerts.
    List {
        #[command(flatten)]
        place: Where,
    },
    /// Revoke a device: its certificates are refused at once.
    Revoke {
        #[command(flatten)]
        place: Where,
        /// The device (its id).
        #[arg(long)]
        device: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    init_logging(&config.log_format);
    match cli.command {
        Command::Serve { place, listen } => {
            apply(&mut config, &place, listen)?;
            let store = open(&config)?;
            announce_admin(&store, &config)?;
            serve(store, config)
        }
        Command::Migrate { place, backup_dir } => {
            apply(&mut config, &place, None)?;
            if let Some(dir) = backup_dir {
                backup_database(&config.database(), &dir)?;
            }
            let store = open(&config)?;
            println!("database {} is up to date", store.path().display());
            Ok(())
        }
        Command::Import {
            place,
            region,
            files,
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            import(&store, &region, &files)
        }
        Command::Rides {
            command:
                RidesCommand::Plan {
                    place,
                    region,
                    date,
                    seconds,
                    seed,
                },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            plan_rides(&store, &region, date, seconds, seed)
        }
        Command::Tours {
            command:
                ToursCommand::Plan {
                    place,
                    weeks,
                    from,
                    seed,
                    region,
                    publish,
                },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            plan_tours(&store, region, from, weeks, seed, publish)
        }
        Command::Device { command } => device(&mut config, command),
        Command::Update { command } => hub::updates::run_command(command, &mut config),
        Command::Account {
            command: AccountCommand::Pin { place, username },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            kiosk_pin(&store, &username)
        }
        Command::Account {
            command: AccountCommand::Password { place, username },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            let password = hub::accounts::reset_password(&store, &username)
                .with_context(|| format!("resetting the password of {username}"))?;
            println!("password={password}");
            println!("{username} must choose a new password at the next log-in");
            Ok(())
        }
        Command::Caregiver {
            command: CaregiverCommand::Pin { place, id },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the PIN from stdin")?;
            let who = hub::store::logs::Who::cli("caregiver-pin");
            let pin = line.trim_end_matches(['\r', '\n']);
            hub::api::device_caregivers::set_kiosk_pin_blocking(&store, &id, pin, &who)
                .with_context(|| format!("setting the kiosk PIN of caregiver {id}"))?;
            println!("kiosk PIN of caregiver {id} set");
            Ok(())
        }
        Command::Privacy {
            command: PrivacyCommand::Retention { place },
        } => {
            apply(&mut config, &place, None)?;
            let store = open(&config)?;
            retention(&store)
        }
        Command::Demo {
            data_dir,
            listen,
            with_kiosk,
        } => {
            config.data_dir = data_dir;
            config.listen = listen;
            config.check()?;
            let store = open(&config)?;
            let today = chrono::Utc::now()
                .with_timezone(&chrono_tz::Europe::Berlin)
                .date_naive();
            let summary = hub::demo::create_demo(&store, today)?;
            if summary.created {
                println!("demo region Elm-Asse created for the week after {today}");
            } else {
                println!("demo region Elm-Asse already there; serving it unchanged");
            }
            let counts: Vec<String> = summary
                .counts
                .iter()
                .map(|(table, n)| format!("{table} {n}"))
                .collect();
            println!("demo region {}: {}", summary.region_id, counts.join(", "));
            announce_admin(&store, &config)?;
            if !with_kiosk {
                return serve(store, config);
            }
            let program = hub::demo_kiosk::kiosk_program().context("locating the kiosk program")?;
            let kiosk = hub::demo_kiosk::prepare(&store, &config.data_dir, program)?;
            let cert = hub::server::tls_files(&config)?.cert;
            let running = hub::demo_kiosk::start(kiosk, config.listen, cert);
            let served = serve(store, config);
            running.stop(std::time::Duration::from_secs(10));
            served
        }
    }
}

fn apply(config: &mut Config, place: &Where, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    if let Some(dir) = &place.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(listen) = listen {
        config.listen = listen;
    }
    config.check()?;
    Ok(())
}

fn open(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let path = config.database();
    Store::open(&path).with_context(|| format!("opening {}", path.display()))
}

/// How many copies `hub migrate --backup-dir` keeps.
const BACKUPS_KEPT: usize = 5;

/// Copies the database at `db` (if there is one) into `dir` before it is migrated, and removes
/// all but the newest [`BACKUPS_KEPT`] copies there. `VACUUM INTO` writes one consistent file
/// (the WAL included) without applying any migration.
fn backup_database(db: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<()> {
    if !db.exists() {
        println!("no database at {} yet: nothing to back up", db.display());
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let copy = dir.join(format!("hub-{stamp}.db"));
    let conn =
        rusqlite::Connection::open(db).with_context(|| format!("opening {}", db.display()))?;
    // Absent on a database no hub has opened yet: nothing applied.
    let applied: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .and_then(|found: i64| match found {
            0 => Ok(0),
            _ => conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)),
        })
        .with_context(|| format!("reading the migrations of {}", db.display()))?;
    let target = copy.to_str().context("the backup path is not UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("backing up {} to {}", db.display(), copy.display()))?;
    println!(
        "backup of {} ({applied} of {} migrations applied): {}",
        db.display(),
        hub::store::migrations::MIGRATIONS.len(),
        copy.display()
    );
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("hub-") && n.ends_with(".db"))
        })
        .collect();
    // The names sort by time; the newest stay.
    copies.sort();
    let surplus = copies.len().saturating_sub(BACKUPS_KEPT);
    for old in &copies[..surplus] {
        std::fs::remove_file(old).with_context(|| format!("removing {}", old.display()))?;
        println!("removed the old backup {}", old.display());
    }
    Ok(())
}

fn announce_admin(store: &Store, config: &Config) -> anyhow::Result<()> {
    match hub::accounts::ensure_admin(store, &config.data_dir)? {
        Some(path) => println!("administrator credentials: {}", path.display()),
        None => println!("administrator exists; its credentials file was removed"),
    }
    Ok(())
}

fn import(store: &Store, region: &str, files: &[PathBuf]) -> anyhow::Result<()> {
    let who = hub::store::logs::Who::cli("import");
    match hub::import::import_files(store, region, files, &who) {
        Ok(report) => {
            print!("{report}");
            println!(
                "imported: {} created, {} unchanged",
                report.created(),
                report.unchanged()
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn plan_rides(
    store: &Store,
    region: &str,
    date: Option<chrono::NaiveDate>,
    seconds: f64,
    seed: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds.is_finite() && (0.1..=3600.0).contains(&seconds),
        "--seconds must lie between 0.1 and 3600"
    );
    let now = chrono::Utc::now();
    let date = match date {
        Some(date) => date,
        None => hub::rides::tomorrow(store, region, now)?,
    };
    let who = hub::store::logs::Who::cli("rides-plan");
    let done = hub::rides::replan(
        store,
        &who,
        region,
        date,
        now,
        hub::rides::Effort::Seconds(seconds),
        seed,
    )?;
    println!(
        "{}: {} requests, {} served, {} not served, {} vehicles, {:.1} km, {} promised windows kept",
        done.date,
        done.requests,
        done.served,
        done.unserved,
        done.vehicles_used,
        done.distance_m as f64 / 1000.0,
        done.promises_kept
    );
    Ok(())
}

/// Plans (and publishes) a region's IMBUS cycle through the same code as the API.
fn plan_tours(
    store: &Store,
    region: Option<String>,
    from: Option<chrono::NaiveDate>,
    weeks: u32,
    seed: u64,
    publish: bool,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let region = match region {
        Some(region) => region,
        None => store.blocking(hub::tours::only_region)?,
    };
    let first_day = match from {
        Some(day) => day,
        None => store.blocking(|c| hub::tours::next_monday(c, &region, now))?,
    };
    let who = hub::store::logs::Who::cli("tours-plan");
    let id = uuid::Uuid::new_v4();
    let mut plan = hub::tours::plan_cycle(store, &region, first_day, weeks, seed, &who, id)
        .with_context(|| format!("planning the IMBUS cycle of region {region}"))?
        .record;
    if publish {
        plan = hub::tours::publish(store, &who, &id.to_string(), now)
            .context("publishing the plan")?;
    }
    print!("{}", hub::tours::timetable_text(&plan));
    Ok(())
}

/// The device commands, through the same code as the API.
/// Reads a PIN from the first line of stdin (so it is not in the shell history) and sets it.
/// Applies the retention rules now and prints what each region lost.
fn retention(store: &Store) -> anyhow::Result<()> {
    let who = hub::store::logs::Who::cli("privacy-retention");
    let runs = store
        .blocking(|c| hub::privacy::apply_retention_as(c, &who, chrono::Utc::now()))
        .context("applying the retention rules")?;
    for run in runs {
        println!(
            "region {}: details of {} rides and {} call-backs removed (before {}, {} days)",
            run.region_id, run.rides, run.call_backs, run.cutoff, run.retention_days
        );
    }
    Ok(())
}

fn kiosk_pin(store: &Store, username: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the PIN from stdin")?;
    let pin = line.trim_end_matches(['\r', '\n']);
    let who = hub::store::logs::Who::cli("account-pin");
    store
        .blocking(|c| {
            let id = hub::staff::account_id(c, username)?;
            hub::staff::set_pin(c, &who, &id, pin)
        })
        .with_context(|| format!("setting the kiosk PIN of {username}"))?;
    println!("kiosk PIN of {username} set");
    Ok(())
}

fn device(config: &mut Config, command: DeviceCommand) -> anyhow::Result<()> {
    use hub::store::logs::Who;
    let now = chrono::Utc::now();
    match command {
        DeviceCommand::Add {
            place,
            name,
            stop,
            settings,
        } => {
            apply(config, &place, None)?;
            let settings = match settings {
                None => serde_json::Map::new(),
                Some(text) => match serde_json::from_str(&text) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => anyhow::bail!("--settings must be a JSON object"),
                },
            };
            let store = open(config)?;
            let (record, code) = store
                .blocking(|c| {
                    Ok(hub::devices::add_device(
                        c,
                        &Who::cli("device-add"),
                        &name,
                        &stop,
                        settings,
                        now,
                    ))
                })?
                .context("adding the device")?;
            println!(
                "device {} added: {} (region {}, village {})",
                code.device_id,
                name,
                record["region_id"].as_str().unwrap_or("-"),
                record["village_id"].as_str().unwrap_or("-")
            );
            print_code(&code);
        }
        DeviceCommand::Code { place, device } => {
            apply(config, &place, None)?;
            let store = open(config)?;
            let code = store
                .blocking(|c| {
                    Ok(hub::devices::issue_code(
                        c,
                        &Who::cli("device-code"),
                        &device,
                        now,
                    ))
                })?
                .context("issuing an enrolment code")?;
            print_code(&code);
        }
        DeviceCommand::List { place } => {
            apply(config, &place, None)?;
            let store = open(config)?;
            let devices = store.blocking(|c| hub::devices::status::list(c, None, now))?;
            if devices.is_empty() {
                println!("no devices");
            }
            for d in devices {
                let state = if d.online {
                    "online"
                } else if d.last_seen_at.is_some() {
                    "silent"
                } else {
                    "never-seen"
                };
                let alerts: Vec<&str> = d.alerts.iter().map(|a| a.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\tlast_seen={}\talerts={}",
                    d.name,
                    d.id,
                    d.status,
                    state,
                    d.last_seen_at.as_deref().unwrap_or("never"),
                    if alerts.is_empty() {
                        "none".to_string()
                    } else {
                        alerts.join(",")
                    }
                );
            }
        }
        DeviceCommand::Revoke { place, device } => {
            apply(config, &place, None)?;
            let store = open(config)?;
            store
                .blocking(|c| Ok(hub::devices::revoke(c, &Who::cli("device-revoke"), &device)))?
                .context("revoking the device")?;
            println!("device {device} revoked: its certificates are refused from now on");
        }
    }
    Ok(())
}

fn print_code(code: &hub::devices::IssuedCode) {
    println!("code={}", code.code);
    println!(
        "valid until {} (once); enter it on the kiosk: kiosk enroll --hub URL --code {}",
        code.expires_at, code.code
    );
}

fn serve(store: Store, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
        // Before anything else: a SIGTERM from here on stops the hub gracefully.
        let stop = hub::server::shutdown_signal();
        let files = hub::server::tls_files(&config)?;
        if files.created {
            println!(
                "made a self-signed TLS certificate for localhost: {}",
                files.cert.display()
            );
        } else {
            println!("TLS certificate: {}", files.cert.display());
        }
        let running = hub::server::start(store, config).await?;
        println!(
            "hub listening on https://{}/ (API: /api/v1/openapi.json)",
            running.addr
        );
        if let Some((ntp_addr, _)) = &running.ntp {
            println!("hub answers SNTP (time for kiosks) on udp {ntp_addr}");
        }
        tracing::info!(addr = %running.addr, "serving");
        stop.await;
        tracing::info!("shutting down");
        running.shutdown().await?;
        println!("hub stopped");
        Ok(())
    });
    // An evening re-optimisation still searching is left behind; it runs again on the next start.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DORFPUNKT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

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
    },
    /// Import region data (villages, stops, destinations, vehicles, shifts) from CSV or GeoJSON.
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
    /// Create the demo region Elm-Asse in DATA_DIR (unless it is there already) and serve it.
    Demo {
        /// Directory of the demo database.
        #[arg(long, default_value = "demo-data")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
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
        Command::Migrate { place } => {
            apply(&mut config, &place, None)?;
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
        Command::Demo { data_dir, listen } => {
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
            serve(store, config)
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

fn serve(store: Store, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async move {
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
        tracing::info!(addr = %running.addr, "serving");
        hub::server::shutdown_signal().await;
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

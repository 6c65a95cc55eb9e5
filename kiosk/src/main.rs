//! The kiosk appliance binary: a thin command line over the library (`kiosk::identity`,
//! `kiosk::core`, `kiosk::sync`, `kiosk::heartbeat`, `kiosk::sim`, `kiosk::appliance`). The touch
//! UI arrives with the kiosk issues; until then an admin enrols, tests and inspects a kiosk from
//! here, and `kiosk run` is the appliance's background service.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use kiosk::Store;
use kiosk::appliance::Schedule;
use kiosk::heartbeat::{self, Readings, VcGenCmd};
use kiosk::hub_client::{HubClient, Timeouts};
use kiosk::identity::{self, Identity};
use kiosk::sim::{SimKiosk, SimOptions};
use protocol::device::PrinterState;
use slint::ComponentHandle;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(name = "kiosk", version, about = "Dorfpunkt village kiosk")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the software version and the kiosk-hub contract version.
    Version,
    /// Enrol this kiosk with its hub using the one-time code an admin was given.
    Enroll {
        /// The hub's address, `https://host:port`.
        #[arg(long)]
        hub: String,
        /// The one-time enrolment code (`K7QM-2XPA-9RTD`).
        #[arg(long)]
        code: String,
        #[arg(long)]
        data_dir: PathBuf,
        /// The hub's certificate (PEM), the only one trusted for the hub.
        #[arg(long)]
        hub_ca: PathBuf,
        /// Give up outbox entries the hub has not answered if the kiosk becomes another device
        /// (without it, enrolment is refused while there are any).
        #[arg(long)]
        discard_pending: bool,
    },
    /// The appliance's background loop until SIGTERM: sync, heartbeats, certificate rotation.
    Run {
        #[arg(long)]
        data_dir: PathBuf,
        /// Seconds between syncs (backing off up to 5 minutes while the hub is unreachable).
        #[arg(long, default_value_t = 30)]
        sync_every_s: u64,
        /// Seconds between heartbeats.
        #[arg(long, default_value_t = 300)]
        heartbeat_every_s: u64,
        /// Seconds between checks whether the certificate is due for rotation.
        #[arg(long, default_value_t = 3600, hide = true)]
        rotation_check_every_s: u64,
        /// The touch UI: `auto` shows it when a display can be opened (a window on a PC, full
        /// screen on the Pi) and runs without it otherwise; `on` requires it; `off` never shows it.
        #[arg(long, value_enum, default_value_t = Screen::Auto)]
        screen: Screen,
        /// Every time limit of the screen ten times longer ("Mehr Zeit?" after 10 minutes).
        #[arg(long)]
        slow: bool,
        /// The hub a kiosk that is not enrolled yet joins from its setup screen (`https://host:port`).
        #[arg(long, env = "KIOSK_HUB")]
        hub: Option<String>,
        /// That hub's certificate (PEM), the only one trusted for it.
        #[arg(long, env = "KIOSK_HUB_CA")]
        hub_ca: Option<PathBuf>,
    },
    /// Book rides as a simulated resident through the kiosk's real booking core.
    Sim {
        #[arg(long)]
        data_dir: PathBuf,
        /// How many rides to book.
        #[arg(long)]
        bookings: u32,
        /// The longest wait for an empty outbox after the last booking, in seconds.
        #[arg(long, default_value_t = 120)]
        wait_s: u64,
        /// Seconds between syncs while waiting.
        #[arg(long, default_value_t = 5)]
        sync_every_s: u64,
        /// The resident (hub id) the rides are booked for.
        #[arg(long, default_value = "sim-resident")]
        resident: String,
    },
    /// Sync once with the hub and print what happened.
    Sync {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Send one heartbeat to the hub.
    Heartbeat {
        #[arg(long)]
        data_dir: PathBuf,
        /// The printer's state until the printer driver reports it.
        #[arg(long, value_enum, default_value_t = Printer::Ok)]
        printer: Printer,
    },
    /// Replace the client certificate if it expires within 30 days.
    Rotate {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Draw every screen in every language to PNG files (`start-de.png`), without a display.
    Screenshots {
        /// The directory the pictures are written to (made if missing).
        #[arg(long)]
        out: PathBuf,
        /// The high-contrast colours.
        #[arg(long)]
        high_contrast: bool,
        /// The larger text.
        #[arg(long)]
        large_text: bool,
        /// Only this picture, by file name without `.png` (`--only start-de`); repeatable.
        #[arg(long)]
        only: Vec<String>,
    },
    /// Install a kiosk package as root: one request on stdin (a connection systemd accepted on
    /// /run/dorfpunkt-kiosk-install.sock), the answer on stdout. Checks the package again first.
    InstallServer {
        /// The kiosk's data directory, where it keeps downloaded packages and their offers.
        #[arg(long, default_value = kiosk::install_server::KIOSK_DATA_DIR)]
        data_dir: PathBuf,
        /// Root's store of checked packages.
        #[arg(long, default_value = kiosk::install_server::STORE_DIR)]
        store: PathBuf,
        /// The pinned release public key.
        #[arg(long, default_value = kiosk::update::DEFAULT_KEY)]
        key: PathBuf,
        /// The mount table that says whether / is read-only (tests give their own).
        #[arg(long, default_value = "/proc/self/mountinfo", hide = true)]
        mountinfo: PathBuf,
    },
    /// Ask the root-side installer to install PACKAGE as $KIOSK_UPDATE_VERSION (the kiosk
    /// service's KIOSK_INSTALLER); the socket is $KIOSK_INSTALL_SOCKET or
    /// /run/dorfpunkt-kiosk-install.sock.
    InstallRequest { package: PathBuf },
}

/// Whether `kiosk run` shows the touch UI.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Screen {
    Auto,
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum Printer {
    Ok,
    PaperLow,
    Out,
    Offline,
}

impl From<Printer> for PrinterState {
    fn from(p: Printer) -> Self {
        match p {
            Printer::Ok => PrinterState::Ok,
            Printer::PaperLow => PrinterState::PaperLow,
            Printer::Out => PrinterState::Out,
            Printer::Offline => PrinterState::Offline,
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("{}", version_line());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::InstallServer {
        data_dir,
        store,
        key,
        mountinfo,
    } = cli.command
    {
        log_to_stderr();
        kiosk::install_server::limit_request_time();
        let server = kiosk::install_server::Server {
            data_dir,
            store,
            key,
            mountinfo,
            ..kiosk::install_server::Server::from_env()
        };
        server.serve(std::io::stdin().lock(), std::io::stdout().lock());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::InstallRequest { package } = &cli.command {
        let version = std::env::var("KIOSK_UPDATE_VERSION")
            .context("KIOSK_UPDATE_VERSION names the version to install")?;
        let socket = std::env::var_os("KIOSK_INSTALL_SOCKET").map_or_else(
            || PathBuf::from(kiosk::install_server::SOCKET),
            PathBuf::from,
        );
        let package = std::path::absolute(package).context("the package path")?;
        return match kiosk::install_server::request(&socket, version.trim(), &package) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("{e}");
                if e.contains(kiosk::install_server::BUSY) {
                    Ok(ExitCode::from(kiosk::update::RESTART_EXIT_CODE))
                } else {
                    Ok(ExitCode::FAILURE)
                }
            }
        };
    }
    // The UI runs on this thread, outside any Tokio runtime.
    if let Command::Screenshots {
        out,
        high_contrast,
        large_text,
        only,
    } = &cli.command
    {
        let scene = kiosk::ui::screenshots::Scene {
            high_contrast: *high_contrast,
            large_text: *large_text,
            only: only.clone(),
            ..Default::default()
        };
        let written =
            kiosk::ui::screenshots::write_all(out, &scene).context("drawing the screens")?;
        if written.is_empty() {
            anyhow::bail!("no picture is called {}", only.join(" or "));
        }
        for path in written {
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    if let Command::Run {
        data_dir,
        sync_every_s,
        heartbeat_every_s,
        rotation_check_every_s,
        screen,
        slow,
        hub,
        hub_ca,
    } = cli.command
    {
        let schedule = Schedule {
            sync_every: Duration::from_secs(sync_every_s.max(1)),
            heartbeat_every: Duration::from_secs(heartbeat_every_s.max(1)),
            rotation_check_every: Duration::from_secs(rotation_check_every_s.max(1)),
            ..Schedule::default()
        };
        let setup = kiosk::setup::SetupHub::from_settings(hub.as_deref(), hub_ca.as_deref());
        return run_appliance(&runtime, &data_dir, &schedule, screen, slow, setup);
    }
    runtime.block_on(run(cli.command))
}

/// `kiosk run`: the background loop (sync, heartbeats, rotation) on the runtime and, when a
/// display can be opened, the touch UI on this thread. SIGTERM or SIGINT ends both; closing the
/// window (on a PC) ends the loop too.
fn run_appliance(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    schedule: &Schedule,
    screen: Screen,
    slow: bool,
    setup: Result<kiosk::setup::SetupHub, kiosk::setup::SetupError>,
) -> anyhow::Result<ExitCode> {
    // One line per event on stderr (systemd keeps it in the journal); `KIOSK_LOG` sets the
    // level (default info).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    // A pending software update counts this start; one that never came up is rolled back here,
    // before the screen or anything else of the new version can fail again.
    let updates = kiosk::update::Settings::from_env();
    match kiosk::update::on_start(data_dir, &updates) {
        Ok(kiosk::update::Start::Run) => {}
        Ok(kiosk::update::Start::Restart) => {
            return Ok(ExitCode::from(kiosk::update::RESTART_EXIT_CODE));
        }
        Err(e) => tracing::error!(error = %e, "the software update state could not be checked"),
    }
    // Installed before anything starts, so a SIGTERM from then on ends the kiosk cleanly.
    let (mut term, mut interrupt) = {
        let _inside = runtime.enter();
        (
            signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            signal(SignalKind::interrupt()).context("listening for SIGINT")?,
        )
    };
    // dpkg stops the kiosk while it installs an update or a roll-back (the package's prerm),
    // and the kiosk waits for that install: with the pending record on disk it ends at once
    // instead of after systemd's stop timeout. The next start carries on.
    {
        let _inside = runtime.enter();
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        runtime.spawn(async move {
            while term.recv().await.is_some() {
                if kiosk::update::installing() {
                    tracing::info!("SIGTERM while an update installs: stopping now");
                    std::process::exit(0);
                }
            }
        });
    }
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping after the task under way"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping after the task under way"),
            _ = closed_rx => tracing::info!("the screen was closed: stopping"),
        }
        // Ends the UI's event loop too, if there is one (nothing happens without).
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    };
    // Shared by the wait for enrolment and the loop after it.
    let mut stop = Box::pin(stop);

    let window = match screen {
        Screen::Off => None,
        Screen::On => Some(kiosk::ui::AppWindow::new().context("the screen could not be opened")?),
        Screen::Auto if !display_expected() => {
            tracing::info!(
                "no display (DISPLAY, WAYLAND_DISPLAY unset): running without the touch UI"
            );
            None
        }
        Screen::Auto => match kiosk::ui::AppWindow::new() {
            Ok(app) => Some(app),
            Err(e) => {
                tracing::info!(reason = %e, "no screen: running without the touch UI");
                None
            }
        },
    };
    let enrolled = kiosk::identity::Identity::path(data_dir).exists();
    if !enrolled {
        let Some(app) = window else {
            tracing::info!(
                "not enrolled: waiting for `kiosk enroll --data-dir {}`",
                data_dir.display()
            );
            if !runtime.block_on(kiosk::setup::wait_for_identity(data_dir, &mut stop)) {
                return Ok(ExitCode::SUCCESS);
            }
            tracing::info!("enrolled: starting");
            let summary = runtime
                .block_on(kiosk::appliance::run(data_dir, schedule, stop))
                .context("the kiosk could not start")?;
            return Ok(exit_code(&summary));
        };
        if let Err(e) = &setup {
            tracing::warn!("not enrolled, and the setup screen cannot enrol: {e}");
        }
        return run_setup_screen(runtime, data_dir, &app, setup, stop, closed_tx);
    }
    let Some(app) = window else {
        let summary = runtime
            .block_on(kiosk::appliance::run(data_dir, schedule, stop))
            .context("the kiosk could not start")?;
        return Ok(exit_code(&summary));
    };

    let identity = Identity::load(data_dir).context("the kiosk is not enrolled")?;
    let (for_store, dir) = (identity.clone(), data_dir.to_path_buf());
    let (store, _) = runtime
        .block_on(runtime.spawn_blocking(move || for_store.open_store(&dir)))
        .context("opening the kiosk database")?
        .context("opening the kiosk database")?;
    kiosk::ui::init(&app, "");
    if slow {
        kiosk::ui::watch_idle(&app, kiosk::ui::idle::Limits::new(true));
    }
    // Tickets go to the CUPS queue the image sets up (`KIOSK_PRINTER`, default "dorfpunkt").
    let settings = kiosk::printing::TicketSettings {
        hub_phone: std::env::var("KIOSK_HUB_PHONE").unwrap_or_default(),
        tz: kiosk::staff::region_zone(&store, &identity.region_id)
            .unwrap_or(chrono_tz::Europe::Berlin),
    };
    let queue = std::env::var("KIOSK_PRINTER").unwrap_or_else(|_| "dorfpunkt".into());
    let printer = kiosk::printing::PrintWorker::spawn(
        store.clone(),
        kiosk::printing::Backend::Cups { queue },
        settings,
    )
    .context("starting the print worker")?;
    kiosk::ui::printing::init(&app, &printer);
    kiosk::staff::attach(
        &app,
        store.clone(),
        Arc::new(kiosk::staff::IdentityHub::new(data_dir.to_path_buf())),
        identity.region_id.clone(),
        runtime.handle().clone(),
    );
    let backend = Arc::new(kiosk::frontend::Backend {
        store,
        transport: Arc::new(kiosk::frontend::CurrentHub::new(data_dir.to_path_buf())),
        region_id: identity.region_id.clone(),
        device_id: identity.device_id.clone(),
        runtime: runtime.handle().clone(),
        answer_within: kiosk::frontend::ANSWER_WITHIN,
    });
    let _attached = kiosk::frontend::attach(&app, backend);
    // Speech mode and the physical buttons. The ALSA devices of the loudspeaker and the
    // headphone jack come from the image (`KIOSK_LOUDSPEAKER`, `KIOSK_HEADPHONES`).
    let mut board = kiosk::board::Board::open();
    let output = kiosk::speech::Output::Alsa {
        loudspeaker: std::env::var("KIOSK_LOUDSPEAKER").unwrap_or_else(|_| "default".into()),
        headphones: std::env::var("KIOSK_HEADPHONES").unwrap_or_else(|_| "default".into()),
    };
    match kiosk::speech::Speaker::new(output, board.audio) {
        Ok(speaker) => kiosk::ui::buttons::init(&app, speaker),
        Err(e) => tracing::error!(error = %e, "no speech: 'Vorlesen' stays silent"),
    }
    kiosk::ui::buttons::listen(&app, board.buttons.as_mut());
    // A new version's health check waits for this screen's event loop to run.
    kiosk::update::watch_ui();
    let (dir, schedule) = (data_dir.to_path_buf(), *schedule);
    let beats_printer = printer.clone();
    let background = runtime.spawn(async move {
        kiosk::appliance::run_with_printer(&dir, &schedule, stop, Some(beats_printer)).await
    });
    tracing::info!("the touch UI is up");
    let shown = app.run();
    // The window is gone (closed, or the loop was told to stop): the background loop ends too.
    let _ = closed_tx.send(());
    let summary = runtime
        .block_on(background)
        .context("the background loop panicked")?;
    shown.context("the touch UI failed")?;
    let summary = summary.context("the kiosk could not start")?;
    Ok(exit_code(&summary))
}

/// The setup screen of a kiosk that is not enrolled, until it is (or SIGTERM): the code typed
/// there is sent to the hub the image names. Once `identity.json` is there (from this screen, or
/// from `kiosk enroll` or the first boot meanwhile) the kiosk says so for a moment and exits; the
/// service manager starts it again as enrolled (`Restart=always`), on a PC it is started again by
/// hand.
fn run_setup_screen(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    app: &kiosk::ui::AppWindow,
    setup: Result<kiosk::setup::SetupHub, kiosk::setup::SetupError>,
    stop: std::pin::Pin<Box<impl Future<Output = ()> + Send + 'static>>,
    closed_tx: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<ExitCode> {
    let shown_hub = match &setup {
        Ok(hub) => Ok(hub.url.clone()),
        Err(e) => Err(e.to_string()),
    };
    let (weak, handle, dir) = (
        app.as_weak(),
        runtime.handle().clone(),
        data_dir.to_path_buf(),
    );
    let chosen = setup.ok();
    kiosk::ui::setup::init(
        app,
        shown_hub.as_deref().map_err(Clone::clone),
        move |code| {
            let Some(hub) = chosen.clone() else { return };
            let (weak, dir) = (weak.clone(), dir.clone());
            handle.spawn(async move {
                let answer = kiosk::setup::enrol(&hub, &code, &dir).await;
                tracing::info!(?answer, "enrolment from the setup screen");
                let _ = weak.upgrade_in_event_loop(move |app| {
                    kiosk::ui::setup::show_answer(&app, &answer);
                });
            });
        },
    );
    let dir = data_dir.to_path_buf();
    let waiting = runtime.spawn(async move {
        let enrolled = kiosk::setup::wait_for_identity(&dir, stop).await;
        if enrolled {
            // "Eingerichtet" stays on the screen a moment before the kiosk starts again.
            tokio::time::sleep(SETUP_DONE_SHOWN).await;
        }
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
        enrolled
    });
    tracing::info!("not enrolled: the setup screen is up");
    let shown = app.run();
    let _ = closed_tx.send(());
    let enrolled = runtime
        .block_on(waiting)
        .context("the wait for enrolment panicked")?;
    shown.context("the touch UI failed")?;
    if enrolled {
        tracing::info!("enrolled: the kiosk starts again");
    }
    Ok(ExitCode::SUCCESS)
}

/// How long "Eingerichtet" is shown before the kiosk starts again as enrolled.
const SETUP_DONE_SHOWN: Duration = Duration::from_secs(3);

/// Success, or the status that has the service manager start the kiosk again after a software
/// update was installed or rolled back.
fn exit_code(summary: &kiosk::appliance::RunSummary) -> ExitCode {
    if summary.restart {
        ExitCode::from(kiosk::update::RESTART_EXIT_CODE)
    } else {
        ExitCode::SUCCESS
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Version => println!("{}", version_line()),
        Command::Screenshots { .. } => unreachable!("drawn before the runtime starts"),
        Command::InstallServer { .. } | Command::InstallRequest { .. } => {
            unreachable!("run before the runtime starts")
        }
        Command::Enroll {
            hub,
            code,
            data_dir,
            hub_ca,
            discard_pending,
        } => {
            let pem = std::fs::read_to_string(&hub_ca)
                .with_context(|| format!("reading the hub certificate {}", hub_ca.display()))?;
            let enrolment = identity::enrol_with(&hub, &pem, &code, &data_dir, discard_pending)
                .await
                .context("enrolment failed")?;
            let (identity, adoption) = (&enrolment.identity, &enrolment.adoption);
            if let Some(old) = adoption.previous.as_ref().filter(|_| adoption.reset) {
                eprintln!(
                    "the kiosk was device {} of region {}: its copy of the region was removed",
                    old.device_id, old.region_id
                );
            }
            if adoption.discarded > 0 {
                eprintln!(
                    "{} unanswered outbox entries of the old device were given up",
                    adoption.discarded
                );
            }
            println!(
                "enrolled device={} region={} until={}",
                identity.device_id, identity.region_id, identity.not_after
            );
        }
        Command::Run { .. } => unreachable!("run by run_appliance"),
        Command::Sim {
            data_dir,
            bookings,
            wait_s,
            sync_every_s,
            resident,
        } => {
            let (identity, store, client) = open(&data_dir).await?;
            let options = SimOptions {
                bookings,
                wait: Duration::from_secs(wait_s),
                sync_every: Duration::from_secs(sync_every_s.max(1)),
                answer_within: Duration::from_secs(10),
                resident_id: resident,
            };
            let kiosk = SimKiosk {
                region_id: identity.region_id.clone(),
                device_id: identity.device_id.clone(),
            };
            let left = kiosk::sim::run(
                &store,
                &client,
                &kiosk,
                &options,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )
            .await?;
            if left > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Sync { data_dir } => {
            let (_, store, client) = open(&data_dir).await?;
            let summary =
                kiosk::sync::sync_once(&store, &client, kiosk::core::CHANGES_PER_EXCHANGE)
                    .await
                    .context("sync failed")?;
            let left = tokio::task::spawn_blocking(move || store.pending_count())
                .await
                .context("reading the outbox")??;
            println!(
                "exchanges={} sent={} accepted={} refused={} changes={} cursor={} outbox={}",
                summary.exchanges,
                summary.sent,
                summary.accepted,
                summary.refused,
                summary.changes_applied,
                summary.cursor,
                left
            );
        }
        Command::Heartbeat { data_dir, printer } => {
            let (_, store, client) = open(&data_dir).await?;
            let dir = data_dir.clone();
            let beat = tokio::task::spawn_blocking(move || {
                heartbeat::gather(
                    &store,
                    &dir,
                    &VcGenCmd,
                    Readings {
                        printer: printer.into(),
                        ..Readings::default()
                    },
                )
            })
            .await
            .context("gathering the heartbeat")??;
            let answer = client
                .heartbeat(&beat)
                .await
                .context("sending the heartbeat")?;
            println!(
                "heartbeat sent outbox={} hub_time={}",
                beat.outbox_len, answer.hub_time
            );
        }
        Command::Rotate { data_dir } => {
            match identity::rotate_if_due(&data_dir, chrono::Utc::now())
                .await
                .context("rotation failed")?
            {
                Some(new) => println!("rotated until={}", new.not_after),
                None => println!("not due"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The identity, database and mutual-TLS client of an enrolled kiosk. A certificate close to
/// expiry is rotated first; a failed rotation is reported and the current one used on.
async fn open(data_dir: &Path) -> anyhow::Result<(Identity, Store, HubClient)> {
    let mut identity = Identity::load(data_dir)?;
    match identity::rotate_if_due(data_dir, chrono::Utc::now()).await {
        Ok(Some(new)) => identity = new,
        Ok(None) => {}
        Err(e) => eprintln!("certificate rotation failed, trying again later: {e}"),
    }
    let (for_store, dir) = (identity.clone(), data_dir.to_path_buf());
    let (store, adoption) = tokio::task::spawn_blocking(move || for_store.open_store(&dir))
        .await
        .context("opening the kiosk database")?
        .context("opening the kiosk database")?;
    if adoption.reset {
        eprintln!(
            "the kiosk database belonged to another device: its copy of the region was removed"
        );
    }
    let client = HubClient::for_device(&identity, Timeouts::default())?;
    Ok((identity, store, client))
}

/// Whether a screen may be there: on the Pi (linuxkms draws on the display itself) always, on a PC
/// only inside a desktop session. Without one the window backend would print its own error.
fn display_expected() -> bool {
    cfg!(feature = "pi")
        || ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// One log line per event on stderr (the journal), at the level of `KIOSK_LOG` (default info).
fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn version_line() -> String {
    format!(
        "kiosk {} protocol v{}",
        env!("CARGO_PKG_VERSION"),
        protocol::API_VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_line_names_the_protocol() {
        assert!(version_line().ends_with(&format!("protocol v{}", protocol::API_VERSION)));
    }
}

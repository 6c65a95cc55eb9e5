//! Serving the API over TLS: certificate loading or first-start self-signed certificate, the
//! listener, and graceful shutdown on SIGTERM or Ctrl-C.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::api::{self, AppState};
use crate::config::Config;
use crate::store::Store;

/// Installs the ring crypto provider for rustls once per process.
pub fn install_crypto() {
    // Fails only if a provider is installed already, which is what we want either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificate and key files in use, and whether they were made now.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub created: bool,
}

/// The configured certificate, or a self-signed one for localhost in `data_dir/tls/`, made on
/// first start and reused afterwards.
pub fn tls_files(config: &Config) -> anyhow::Result<TlsFiles> {
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        return Ok(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            created: false,
        });
    }
    let dir = config.data_dir.join("tls");
    let cert = dir.join("hub-cert.pem");
    let key = dir.join("hub-key.pem");
    if cert.exists() && key.exists() {
        return Ok(TlsFiles {
            cert,
            key,
            created: false,
        });
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let certified =
        rcgen::generate_simple_self_signed(names).context("making a self-signed certificate")?;
    std::fs::write(&cert, certified.cert.pem())
        .with_context(|| format!("writing {}", cert.display()))?;
    write_key(&key, &certified.signing_key.serialize_pem())?;
    Ok(TlsFiles {
        cert,
        key,
        created: true,
    })
}

fn write_key(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

/// A rustls server configuration from PEM files: TLS 1.2 and 1.3 only, HTTP/2 and 1.1.
pub fn rustls_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("opening {}", cert.display()))?,
    ))
    .collect::<Result<_, _>>()
    .with_context(|| format!("reading certificates from {}", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut BufReader::new(
        std::fs::File::open(key).with_context(|| format!("opening {}", key.display()))?,
    ))
    .with_context(|| format!("reading the key from {}", key.display()))?
    .with_context(|| format!("{} holds no private key", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_protocol_versions(&[
        &rustls::version::TLS13,
        &rustls::version::TLS12,
    ])
    // Client certificates are asked for, optional, and checked per request (devices::tls).
    .with_client_cert_verifier(crate::devices::tls::client_verifier())
    .with_single_cert(certs, key)
    .context("certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A running hub: its address and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: Handle<SocketAddr>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The evening re-optimisation loop, when turned on.
    pub planning: Option<tokio::task::JoinHandle<()>>,
    /// The reminder loop, when e-mail is configured.
    pub reminders: Option<tokio::task::JoinHandle<()>>,
    /// The daily retention run (`privacy::apply_retention`), with the evening loop.
    pub retention: Option<tokio::task::JoinHandle<()>>,
    /// The SNTP server's bound address and task, when `ntp_listen` is set.
    pub ntp: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to 10 s), and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        if let Some(planning) = &self.planning {
            // A run cut off here is claimed but not finished: it runs again on the next start.
            planning.abort();
        }
        if let Some(retention) = &self.retention {
            // A run is one transaction: cut off, it leaves nothing half done.
            retention.abort();
        }
        if let Some(reminders) = &self.reminders {
            // A reminder claimed but not sent is tried again once its claim runs out.
            reminders.abort();
        }
        if let Some((_, ntp)) = self.ntp {
            // Stateless: each datagram is answered at once. Waiting closes the socket now.
            ntp.abort();
            let _ = ntp.await;
        }
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        self.task.await.context("server task")?.context("server")?;
        Ok(())
    }
}

/// Starts serving `store` on the configured address; returns once the port is bound.
pub async fn start(store: Store, config: Config) -> anyhow::Result<Running> {
    install_crypto();
    let files = tls_files(&config)?;
    let tls = RustlsConfig::from_config(Arc::new(rustls_config(&files.cert, &files.key)?));
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    // Bound before anything starts, so that a port in use or refused fails the start cleanly.
    let ntp_socket = config.ntp_listen.map(crate::ntp::bind).transpose()?;
    let planning = (config.planning_check_seconds > 0).then(|| {
        tokio::spawn(evening_planning(
            store.clone(),
            Duration::from_secs(config.planning_check_seconds),
        ))
    });
    let mailer = crate::reminders::SmtpMailer::from_config(&config)
        .map_err(|e| anyhow::anyhow!("e-mail configuration: {e}"))?;
    let reminders = mailer
        .filter(|_| config.reminder_check_seconds > 0)
        .map(|mailer| {
            tokio::spawn(reminder_loop(
                store.clone(),
                mailer,
                Duration::from_secs(config.reminder_check_seconds),
            ))
        });
    // Scheduled jobs run where the evening planning does (tests turn both off).
    let retention =
        (config.planning_check_seconds > 0).then(|| tokio::spawn(daily_retention(store.clone())));
    let ntp = match ntp_socket {
        Some(socket) => {
            let ntp_addr = socket.local_addr()?;
            Some((
                ntp_addr,
                tokio::spawn(crate::ntp::serve(socket, config.ntp_stratum)),
            ))
        }
        None => None,
    };
    let app = api::router(AppState::new(store, config));
    let handle = Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
    let task = tokio::spawn(server.serve(app.into_make_service()));
    Ok(Running {
        addr,
        handle,
        task,
        planning,
        reminders,
        retention,
        ntp,
    })
}

/// Every `every`, makes tomorrow's reminders and sends the due ones (see `reminders`).
async fn reminder_loop(store: Store, mailer: crate::reminders::SmtpMailer, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = chrono::Utc::now();
        if let Err(e) = store
            .run(move |conn| crate::reminders::schedule(conn, now))
            .await
        {
            tracing::warn!(error = %e, "reminders: scheduling");
        }
        match crate::reminders::send_due(&store, &mailer, now).await {
            Ok(sent) if sent.failed > 0 => {
                tracing::warn!(
                    failed = sent.failed,
                    "reminders: some could not be delivered"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reminders: sending"),
        }
    }
}

/// Every `every`, runs the evening re-optimisations that are due (see `rides::evening`).
async fn evening_planning(store: Store, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = store.clone();
        let ran = tokio::task::spawn_blocking(move || {
            crate::rides::evening::run_due(&store, chrono::Utc::now(), None)
        })
        .await;
        match ran {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "evening re-optimisation: store"),
            Err(e) => tracing::warn!(error = %e, "evening re-optimisation: task"),
        }
    }
}

/// Once at start and then once a day, removes ride details past each region's retention period.
async fn daily_retention(store: Store) {
    let mut ticks = tokio::time::interval(Duration::from_secs(24 * 60 * 60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let store = store.clone();
        let ran = tokio::task::spawn_blocking(move || {
            store.blocking(|c| crate::privacy::apply_retention(c, chrono::Utc::now()))
        })
        .await;
        match ran {
            Ok(Ok(runs)) => tracing::info!(regions = runs.len(), "retention applied"),
            Ok(Err(e)) => tracing::warn!(error = %e, "retention: store"),
            Err(e) => tracing::warn!(error = %e, "retention: task"),
        }
    }
}

/// A future that resolves on SIGTERM or Ctrl-C. The handlers are installed by this call (inside
/// the runtime), not when the future is first polled: a signal that comes while the hub is still
/// starting then stops it gracefully too.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(interrupt) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

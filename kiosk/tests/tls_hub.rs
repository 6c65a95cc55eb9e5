//! A small hub on loopback that speaks the device endpoints over real TLS: a self-signed server
//! certificate (what the admin copies to the kiosk), a region device CA made with rcgen that
//! signs the certificate request on enrolment and rotation, client certificates optional at the
//! handshake and required per route (as the real hub does it), and sync answered by the
//! in-process stand-in of `hub.rs`. Errors are RFC 9457 problem documents.
//!
//! The server can be stopped and started again on the same port, to be "down" for a while.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use axum_server::Handle;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::RustlsConfig;
use chrono::{Datelike, Utc};
use kiosk::sync::Transport;
use protocol::device::{
    ENROL_PATH, EnrolRequest, Enrolled, HEARTBEAT_PATH, Heartbeat, HeartbeatAnswer, ROTATE_PATH,
    RotateRequest, SYNC_PATH,
};
use protocol::sync::SyncRequest;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, CertifiedIssuer,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::hub::Hub;

pub const REGION: &str = "r-elm";

/// What the hub holds besides the sync stand-in.
pub struct Shared {
    pub hub: Hub,
    /// While set, sync requests are read and then never answered: a connection that went quiet.
    pub stall: AtomicBool,
    ca: CertifiedIssuer<'static, KeyPair>,
    state: Mutex<DeviceState>,
}

#[derive(Default)]
pub struct DeviceState {
    /// Unused enrolment codes.
    pub codes: HashSet<String>,
    /// Valid client certificates (DER) and their device.
    pub certificates: HashMap<Vec<u8>, String>,
    pub devices: u32,
    /// Days a certificate made at enrolment is valid (rotation always gives a year).
    pub enrol_days: i64,
    pub heartbeats: Vec<(String, Heartbeat)>,
    pub syncs: Vec<String>,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, DeviceState> {
        self.state
            .lock()
            .expect("a test panicked while holding the hub")
    }
}

/// A running (or stopped) TLS hub.
pub struct TlsHub {
    pub shared: Arc<Shared>,
    pub addr: SocketAddr,
    /// The hub's self-signed server certificate, PEM.
    pub hub_cert_pem: String,
    server_key_der: Vec<u8>,
    running: Option<(Handle<SocketAddr>, JoinHandle<std::io::Result<()>>)>,
}

impl TlsHub {
    /// Starts a hub on a free loopback port with one enrolment code, `code`.
    pub async fn start(code: &str) -> TlsHub {
        kiosk::hub_client::install_crypto();
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "Elm-Asse device CA");
        ca_params.distinguished_name = name;
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("a self-signed CA");

        let server = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("a server certificate");
        let shared = Arc::new(Shared {
            hub: Hub::new(),
            stall: AtomicBool::new(false),
            ca,
            state: Mutex::new(DeviceState {
                enrol_days: 365,
                ..DeviceState::default()
            }),
        });
        shared.state().codes.insert(code.to_string());
        let mut hub = TlsHub {
            shared,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            hub_cert_pem: server.cert.pem(),
            server_key_der: server.signing_key.serialize_der(),
            running: None,
        };
        hub.up().await;
        hub
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// The region CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.shared.ca.pem()
    }

    /// Starts serving (again, on the same port once it had one).
    pub async fn up(&mut self) {
        assert!(self.running.is_none(), "the hub is running already");
        let mut roots = RootCertStore::empty();
        roots
            .add(self.shared.ca.der().clone())
            .expect("the CA is a valid root");
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()
            .expect("a client verifier");
        let certificate = CertificateDer::from(
            rustls_pem_to_der(&self.hub_cert_pem).expect("the server certificate reads"),
        );
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![certificate], key)
            .expect("certificate and key match");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let listener = std::net::TcpListener::bind(self.addr).expect("the port is free");
        listener.set_nonblocking(true).expect("non-blocking");
        self.addr = listener.local_addr().expect("a local address");
        let app = Router::new()
            .route(ENROL_PATH, post(enrol))
            .route(ROTATE_PATH, post(rotate))
            .route(SYNC_PATH, post(sync))
            .route(HEARTBEAT_PATH, post(heartbeat))
            .with_state(self.shared.clone());
        let handle = Handle::new();
        let server =
            axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(Arc::new(config)))
                .expect("a server on the listener")
                .handle(handle.clone());
        let task = tokio::spawn(server.serve(app.into_make_service()));
        handle.listening().await.expect("the hub listens");
        self.running = Some((handle, task));
    }

    /// Stops serving: connections are closed, new ones refused.
    pub async fn down(&mut self) {
        if let Some((handle, task)) = self.running.take() {
            handle.shutdown();
            let _ = task.await;
        }
    }
}

fn rustls_pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .ok()
        .map(|c| c.to_vec())
}

/// An RFC 9457 problem document.
struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({"type": "about:blank", "title": self.title,
                          "status": self.status.as_u16(), "detail": self.detail});
        (
            self.status,
            [("content-type", "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn problem(status: StatusCode, title: &'static str, detail: &str) -> Problem {
    Problem {
        status,
        title,
        detail: detail.to_string(),
    }
}

/// The device behind the request's client certificate, or the problem answer.
fn device_of(shared: &Shared, tls: &TlsInfo) -> Result<String, Problem> {
    let Some(certificate) = tls.peer_certificates.first() else {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Client certificate required",
            "this endpoint is for enrolled kiosks only",
        ));
    };
    shared
        .state()
        .certificates
        .get(certificate)
        .cloned()
        .ok_or_else(|| {
            problem(
                StatusCode::FORBIDDEN,
                "Certificate not valid",
                "the certificate is unknown or was replaced",
            )
        })
}

/// Signs a certificate request for `device`, valid `days`.
fn sign(shared: &Shared, csr_pem: &str, device: &str, days: i64) -> Result<Enrolled, Problem> {
    let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| {
        problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            &format!("csr_pem: {e}"),
        )
    })?;
    let until = Utc::now() + chrono::Duration::days(days);
    let since = Utc::now() - chrono::Duration::days(1);
    let ymd =
        |t: chrono::DateTime<Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);
    csr.params.not_before = ymd(since);
    csr.params.not_after = ymd(until);
    csr.params.is_ca = IsCa::NoCa;
    csr.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, device);
    csr.params.distinguished_name = name;
    let certificate = csr.signed_by(&shared.ca).map_err(|e| {
        problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            &e.to_string(),
        )
    })?;
    shared
        .state()
        .certificates
        .insert(certificate.der().to_vec(), device.to_string());
    Ok(Enrolled {
        device_id: device.to_string(),
        region_id: REGION.to_string(),
        certificate_pem: certificate.pem(),
        ca_pem: shared.ca.pem(),
        not_after: format!("{}T00:00:00Z", until.format("%Y-%m-%d")),
    })
}

async fn enrol(State(shared): State<Arc<Shared>>, Json(request): Json<EnrolRequest>) -> Response {
    let (fresh, days, number) = {
        let mut state = shared.state();
        let fresh = state.codes.remove(request.code.trim());
        state.devices += u32::from(fresh);
        (fresh, state.enrol_days, state.devices)
    };
    if !fresh {
        return problem(
            StatusCode::FORBIDDEN,
            "Enrolment code refused",
            "the code is unknown, has expired or was used already",
        )
        .into_response();
    }
    match sign(&shared, &request.csr_pem, &format!("dev-{number}"), days) {
        Ok(enrolled) => Json(enrolled).into_response(),
        Err(problem) => problem.into_response(),
    }
}

async fn rotate(
    State(shared): State<Arc<Shared>>,
    Extension(tls): Extension<Arc<TlsInfo>>,
    Json(request): Json<RotateRequest>,
) -> Response {
    let device = match device_of(&shared, &tls) {
        Ok(device) => device,
        Err(problem) => return problem.into_response(),
    };
    match sign(&shared, &request.csr_pem, &device, 365) {
        Ok(enrolled) => {
            // The old certificate is replaced: it no longer opens a device endpoint.
            if let Some(old) = tls.peer_certificates.first() {
                shared.state().certificates.remove(old);
            }
            Json(enrolled).into_response()
        }
        Err(problem) => problem.into_response(),
    }
}

async fn sync(
    State(shared): State<Arc<Shared>>,
    Extension(tls): Extension<Arc<TlsInfo>>,
    Json(request): Json<SyncRequest>,
) -> Response {
    let device = match device_of(&shared, &tls) {
        Ok(device) => device,
        Err(problem) => return problem.into_response(),
    };
    shared.state().syncs.push(device);
    if shared.stall.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
    match shared.hub.exchange(request).await {
        Ok(response) => Json(response).into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            &e.to_string(),
        )
        .into_response(),
    }
}

async fn heartbeat(
    State(shared): State<Arc<Shared>>,
    Extension(tls): Extension<Arc<TlsInfo>>,
    Json(beat): Json<Heartbeat>,
) -> Response {
    let device = match device_of(&shared, &tls) {
        Ok(device) => device,
        Err(problem) => return problem.into_response(),
    };
    shared.state().heartbeats.push((device, beat));
    Json(HeartbeatAnswer {
        hub_time: Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
    .into_response()
}

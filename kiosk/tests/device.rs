//! The kiosk as a device against the TLS hub on loopback: enrolment, mutual TLS for sync,
//! rotation, heartbeats and the booking core online and offline.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use kiosk::core::{BookingStatus, Place, RideAsk, When, book_ride};
use kiosk::heartbeat::{self, PowerFlags, PowerMonitor, Readings};
use kiosk::hub_client::{HubClient, Timeouts};
use kiosk::identity::{self, IDENTITY_FILE, Identity, IdentityError};
use kiosk::store::BookingState;
use kiosk::sync::{SyncStop, TransportError, sync_once};
use kiosk::{DATABASE_FILE, Store};
use protocol::device::PrinterState;
use protocol::sync::{AckOutcome, ChangeOp};
use serde_json::json;

use crate::tls_hub::{REGION, TlsHub};

const CODE: &str = "K7QM-2XPA-9RTD";

async fn enrolled(hub: &TlsHub, dir: &Path) -> Identity {
    identity::enrol(&hub.url(), &hub.hub_cert_pem, CODE, dir)
        .await
        .expect("enrolment with a fresh code works")
}

fn store(dir: &Path) -> Store {
    Store::open(&dir.join(DATABASE_FILE)).expect("the kiosk database opens")
}

fn client(identity: &Identity) -> HubClient {
    HubClient::for_device(identity, Timeouts::default()).expect("a device client")
}

#[tokio::test]
async fn enrolment_writes_the_identity_and_a_refused_code_says_why() {
    let hub = TlsHub::start(CODE).await;
    let dir = tempfile::tempdir().unwrap();

    let err = identity::enrol(&hub.url(), &hub.hub_cert_pem, "WRONG-CODE-0000", dir.path())
        .await
        .unwrap_err();
    let IdentityError::Refused {
        status,
        ref title,
        ref detail,
    } = err
    else {
        panic!("refused by the hub: {err}")
    };
    assert_eq!((status, title.as_str()), (403, "Enrolment code refused"));
    assert!(detail.contains("unknown"), "{detail}");
    assert!(err.to_string().contains("Enrolment code refused"), "{err}");
    assert!(!dir.path().join(IDENTITY_FILE).exists(), "nothing written");

    let identity = enrolled(&hub, dir.path()).await;
    assert_eq!(
        (identity.device_id.as_str(), identity.region_id.as_str()),
        ("dev-1", REGION)
    );
    assert_eq!(identity.hub_url, hub.url());
    assert_eq!(identity.hub_ca_pem, hub.hub_cert_pem);
    assert_eq!(identity.region_ca_pem, hub.ca_pem());
    assert!(identity.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        identity
            .certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(Identity::load(dir.path()).unwrap(), identity);
    let mode = std::fs::metadata(dir.path().join(IDENTITY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key is private");

    // The code was single use: a second kiosk is refused and the first keeps its identity.
    let other = tempfile::tempdir().unwrap();
    let again = identity::enrol(&hub.url(), &hub.hub_cert_pem, CODE, other.path()).await;
    assert!(matches!(
        again,
        Err(IdentityError::Refused { status: 403, .. })
    ));
    assert!(Identity::load(other.path()).is_err());
}

#[tokio::test]
async fn enrolment_trusts_only_the_given_hub_certificate() {
    let hub = TlsHub::start(CODE).await;
    let impostor = TlsHub::start(CODE).await;
    let dir = tempfile::tempdir().unwrap();
    // The certificate of another hub: the TLS handshake fails before the code is sent.
    let err = identity::enrol(&hub.url(), &impostor.hub_cert_pem, CODE, dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Hub(_)), "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(
        hub.shared.state().codes.contains(CODE),
        "the code is not used up"
    );
}

#[tokio::test]
async fn sync_works_over_mutual_tls_and_a_kiosk_without_certificate_is_refused() {
    let hub = TlsHub::start(CODE).await;
    hub.shared.hub.publish(
        "stops",
        "s1",
        ChangeOp::Upsert,
        json!({"name": "Dorfplatz"}),
    );
    let dir = tempfile::tempdir().unwrap();

    // Not enrolled: only the hub's server certificate, no client certificate.
    let anonymous =
        HubClient::anonymous(&hub.url(), &hub.hub_cert_pem, Timeouts::default()).unwrap();
    let store = store(dir.path());
    let err = sync_once(&store, &anonymous, 100).await.unwrap_err();
    let SyncStop::Transport(TransportError::Status { status, detail }) = err.cause else {
        panic!("refused by the hub: {err}")
    };
    assert_eq!(status, 401);
    assert!(
        detail.starts_with("Client certificate required"),
        "{detail}"
    );
    assert_eq!(store.cursor().unwrap(), 0);

    let identity = enrolled(&hub, dir.path()).await;
    let summary = sync_once(&store, &client(&identity), 100).await.unwrap();
    assert_eq!((summary.changes_applied, summary.cursor), (1, 1));
    assert_eq!(
        store.replica_list("stops").unwrap()[0].body["name"],
        "Dorfplatz"
    );
    assert_eq!(hub.shared.state().syncs, ["dev-1"]);
    assert!(store.last_sync_at().unwrap().is_some());
}

#[tokio::test]
async fn rotation_swaps_key_and_certificate_when_expiry_is_near() {
    let hub = TlsHub::start(CODE).await;
    hub.shared.state().enrol_days = 10;
    let dir = tempfile::tempdir().unwrap();
    let old = enrolled(&hub, dir.path()).await;
    assert!(old.rotation_due(Utc::now()).unwrap());

    let new = identity::rotate_if_due(dir.path(), Utc::now())
        .await
        .unwrap()
        .expect("ten days left: rotated");
    assert_ne!(new.certificate_pem, old.certificate_pem);
    assert_ne!(new.key_pem, old.key_pem, "a fresh key pair");
    assert_eq!(
        (new.device_id.as_str(), new.hub_url.as_str()),
        ("dev-1", old.hub_url.as_str())
    );
    assert!(new.expires_at().unwrap() > old.expires_at().unwrap());
    assert_eq!(Identity::load(dir.path()).unwrap(), new, "stored");
    assert!(
        identity::rotate_if_due(dir.path(), Utc::now())
            .await
            .unwrap()
            .is_none(),
        "a year left: not due"
    );

    let store = store(dir.path());
    sync_once(&store, &client(&new), 100)
        .await
        .expect("the new certificate works");
    // This hub invalidates the replaced certificate at once.
    let err = sync_once(&store, &client(&old), 100).await.unwrap_err();
    assert!(
        matches!(
            err.cause,
            SyncStop::Transport(TransportError::Status { status: 403, .. })
        ),
        "{err}"
    );
}

/// A Pi that reports under-voltage.
struct Brownout;

impl PowerMonitor for Brownout {
    fn flags(&self) -> PowerFlags {
        PowerFlags {
            under_voltage: true,
            throttled: false,
        }
    }
}

#[tokio::test]
async fn a_heartbeat_carries_every_field() {
    let hub = TlsHub::start(CODE).await;
    let dir = tempfile::tempdir().unwrap();
    let identity = enrolled(&hub, dir.path()).await;
    let store = store(dir.path());
    let client = client(&identity);
    sync_once(&store, &client, 100).await.unwrap();
    store
        .enqueue(
            protocol::sync::OutboxKind::CallBack,
            json!({"phone": "0921"}),
        )
        .unwrap();

    let beat = heartbeat::gather(
        &store,
        dir.path(),
        &Brownout,
        Readings {
            printer: PrinterState::PaperLow,
            storage: "ok".into(),
        },
    )
    .unwrap();
    let answer = client.heartbeat(&beat).await.unwrap();

    assert!(answer.hub_time.ends_with('Z'), "{}", answer.hub_time);
    let received = hub.shared.state().heartbeats.clone();
    assert_eq!(received.len(), 1);
    let (device, sent) = &received[0];
    assert_eq!(device, "dev-1");
    assert_eq!(sent, &beat, "every field arrives as sent");
    assert_eq!(sent.api_version, protocol::API_VERSION);
    assert_eq!(sent.software_version, env!("CARGO_PKG_VERSION"));
    assert!(sent.uptime_s > 0 && sent.disk_free_bytes > 0);
    assert!(sent.under_voltage && !sent.throttled);
    assert_eq!(sent.printer, PrinterState::PaperLow);
    assert_eq!(sent.outbox_len, 1);
    assert_eq!(sent.last_sync_at, store.last_sync_at().unwrap());
    assert!(sent.last_sync_at.is_some());
}

fn ride(minute: u32) -> RideAsk {
    RideAsk {
        region_id: REGION.into(),
        resident_id: "p-1".into(),
        from: Place::Stop("s1".into()),
        to: Place::Destination("d-arzt".into()),
        when: When::Pickup(Utc.with_ymd_and_hms(2030, 11, 25, 8, minute, 0).unwrap()),
        passengers: 1,
        wheelchair: false,
        walker: false,
    }
}

#[tokio::test]
async fn a_booking_is_confirmed_online_and_a_request_offline_until_the_hub_is_back() {
    let mut hub = TlsHub::start(CODE).await;
    let dir = tempfile::tempdir().unwrap();
    let identity = enrolled(&hub, dir.path()).await;
    let store = store(dir.path());
    let client = client(&identity);

    let online = book_ride(&store, &client, &ride(0), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        online.status,
        BookingStatus::Confirmed {
            window_start: "2030-11-25T08:00:00Z".into(),
            window_end: "2030-11-25T08:00:00Z".into()
        }
    );
    let sent = &hub.shared.hub.requests()[0].outbox[0];
    assert_eq!(sent.id, online.id);
    assert_eq!(sent.body["channel"], "kiosk");
    assert_eq!(sent.body["region_id"], REGION);

    hub.down().await;
    let offline = book_ride(&store, &client, &ride(5), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(offline.status, BookingStatus::Requested { reason: None });
    let pending = store.booking_by_code(&offline.code).unwrap().unwrap();
    assert_eq!(
        pending.state,
        BookingState::Requested,
        "on disk, not yet answered"
    );
    assert_eq!(store.pending_count().unwrap(), 1);

    hub.up().await;
    sync_once(&store, &client, 100)
        .await
        .expect("the hub is back");
    let answered = store.booking_by_code(&offline.code).unwrap().unwrap();
    let BookingState::Answered {
        outcome: AckOutcome::Accepted { record },
        ..
    } = answered.state
    else {
        panic!("answered: {:?}", answered.state)
    };
    assert_eq!(record["pickup_window_start"], "2030-11-25T08:05:00Z");
    assert_eq!(hub.shared.hub.bookings().len(), 2, "each booking once");
}

#[tokio::test]
async fn a_connection_that_goes_quiet_ends_in_a_transport_error_not_a_hang() {
    let hub = TlsHub::start(CODE).await;
    let dir = tempfile::tempdir().unwrap();
    let identity = enrolled(&hub, dir.path()).await;
    let store = store(dir.path());
    let id = store
        .enqueue(
            protocol::sync::OutboxKind::CallBack,
            json!({"phone": "0921"}),
        )
        .unwrap();
    hub.shared
        .stall
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let quick = Timeouts {
        connect: Duration::from_millis(500),
        total: Duration::from_secs(1),
    };
    let client = HubClient::for_device(&identity, quick).unwrap();

    let started = std::time::Instant::now();
    let err = sync_once(&store, &client, 100).await.unwrap_err();
    assert!(
        matches!(
            err.cause,
            SyncStop::Transport(TransportError::Unreachable(_))
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    assert_eq!(store.pending(10).unwrap()[0].id, id, "still pending");

    // A hub that accepts the connection but never says a word (no TLS handshake).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut mute = identity.clone();
    mute.hub_url = format!("https://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let client = HubClient::for_device(&mute, quick).unwrap();
    let err = sync_once(&store, &client, 100).await.unwrap_err();
    assert!(
        matches!(
            err.cause,
            SyncStop::Transport(TransportError::Unreachable(_))
        ),
        "{err}"
    );
    assert_eq!(store.pending_count().unwrap(), 1);
}

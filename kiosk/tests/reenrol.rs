//! Enrolling a kiosk again as another device against the TLS hub: refused before the code is
//! spent while entries wait, and with `--discard-pending` the old device's entries are given up
//! and its copy of the region removed, so the next sync starts from 0 as the new device.

use kiosk::hub_client::{HubClient, Timeouts};
use kiosk::identity::{self, Identity, IdentityError};
use kiosk::store::{BookingState, DISCARDED, Owner};
use kiosk::sync::sync_once;
use protocol::BookingCode;
use protocol::sync::{AckOutcome, ChangeOp, OutboxKind};
use serde_json::json;

use crate::tls_hub::{REGION, TlsHub};

const FIRST: &str = "FIRS-TCOD-E001";
const SECOND: &str = "SECO-NDCO-DE02";

#[tokio::test]
async fn enrolling_as_another_device_resets_the_replica_and_refuses_while_entries_wait() {
    let hub = TlsHub::start(FIRST).await;
    hub.shared.hub.publish(
        "stops",
        "s1",
        ChangeOp::Upsert,
        json!({"name": "Dorfplatz"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let first = identity::enrol(&hub.url(), &hub.hub_cert_pem, FIRST, dir.path())
        .await
        .unwrap();
    let (store, adoption) = first.open_store(dir.path()).unwrap();
    assert!(!adoption.reset);
    assert_eq!(store.owner().unwrap(), Some(first.owner()));
    let client = HubClient::for_device(&first, Timeouts::default()).unwrap();
    sync_once(&store, &client, 100).await.unwrap();
    assert_eq!(
        (
            store.cursor().unwrap(),
            store.replica_list("stops").unwrap().len()
        ),
        (1, 1)
    );
    // A booking the hub has not seen yet.
    let waiting = store
        .enqueue(
            OutboxKind::RideRequest,
            json!({"resident_id": "p-17", "pickup_at": "2030-01-07T08:00:00Z", "walker": true}),
        )
        .unwrap();

    hub.shared.state().codes.insert(SECOND.to_string());
    let err = identity::enrol(&hub.url(), &hub.hub_cert_pem, SECOND, dir.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::PendingEntries { pending: 1 }),
        "{err}"
    );
    assert!(err.to_string().contains("--discard-pending"), "{err}");
    assert!(
        hub.shared.state().codes.contains(SECOND),
        "the code is not spent"
    );
    assert_eq!(Identity::load(dir.path()).unwrap(), first);
    assert_eq!(store.pending_count().unwrap(), 1);

    let enrolment = identity::enrol_with(&hub.url(), &hub.hub_cert_pem, SECOND, dir.path(), true)
        .await
        .unwrap();
    let second = enrolment.identity;
    assert_eq!(
        (second.device_id.as_str(), second.region_id.as_str()),
        ("dev-2", REGION)
    );
    assert_eq!(enrolment.adoption.previous, Some(first.owner()));
    assert!(enrolment.adoption.reset);
    assert_eq!(enrolment.adoption.discarded, 1);
    assert_eq!(Identity::load(dir.path()).unwrap(), second);

    // Nothing of the old copy stays; the entry is answered locally and keeps no personal data.
    assert_eq!(store.cursor().unwrap(), 0);
    assert!(store.replica_list("stops").unwrap().is_empty());
    assert_eq!(store.pending_count().unwrap(), 0);
    let booking = store
        .booking_by_code(&BookingCode::from_uuid(waiting))
        .unwrap()
        .unwrap();
    let BookingState::Answered {
        outcome: AckOutcome::Refused { title, detail, .. },
        ..
    } = &booking.state
    else {
        panic!("given up: {:?}", booking.state)
    };
    assert_eq!(title, DISCARDED);
    assert!(
        detail.contains("dev-1") && detail.contains("dev-2"),
        "{detail}"
    );
    assert_eq!(booking.body, json!({"pickup_at": "2030-01-07T08:00:00Z"}));

    // The new device fetches the region from 0 and opens its database without another reset.
    let (store, adoption) = second.open_store(dir.path()).unwrap();
    assert!(!adoption.reset);
    let client = HubClient::for_device(&second, Timeouts::default()).unwrap();
    let summary = sync_once(&store, &client, 100).await.unwrap();
    assert_eq!(
        (summary.sent, summary.changes_applied, summary.cursor),
        (0, 1, 1)
    );
    assert_eq!(hub.shared.state().syncs, ["dev-1", "dev-2"]);
}

#[tokio::test]
async fn a_database_of_another_device_is_emptied_on_open_or_refused_while_its_entries_wait() {
    let (dir, _path, store) = crate::open_store();
    let old = Owner {
        device_id: "dev-1".into(),
        region_id: "r-old".into(),
    };
    store.adopt(&old, false).unwrap();
    store
        .apply(&protocol::sync::SyncResponse {
            acks: vec![],
            changes: vec![protocol::sync::Change {
                seq: 1,
                kind: "stops".into(),
                id: "s-old".into(),
                op: ChangeOp::Upsert,
                body: json!({"name": "Alt"}),
            }],
            cursor: 1,
            more: false,
            update: None,
        })
        .unwrap();
    let id = store
        .enqueue(OutboxKind::CallBack, json!({"contact_phone": "0921 1234"}))
        .unwrap();

    // Same region, other device (say identity.json was swapped by hand): refused, untouched.
    let other = Owner {
        device_id: "dev-2".into(),
        region_id: "r-old".into(),
    };
    let err = store.adopt(&other, false).unwrap_err();
    assert!(
        matches!(err, kiosk::StoreError::PendingOfAnotherDevice { pending: 1, ref device_id } if device_id == "dev-1"),
        "{err}"
    );
    assert_eq!(
        (store.cursor().unwrap(), store.pending_count().unwrap()),
        (1, 1)
    );
    assert_eq!(store.owner().unwrap(), Some(old.clone()));

    // Once the entry is answered, another region's identity empties the copy on open.
    store
        .apply(&protocol::sync::SyncResponse {
            acks: vec![protocol::sync::Ack {
                id,
                outcome: AckOutcome::Accepted {
                    record: json!({"id": id.to_string(), "status": "open"}),
                },
            }],
            changes: vec![],
            cursor: 1,
            more: false,
            update: None,
        })
        .unwrap();
    let moved = Owner {
        device_id: "dev-1".into(),
        region_id: "r-new".into(),
    };
    let adoption = store.adopt(&moved, false).unwrap();
    assert!(adoption.reset);
    assert_eq!(adoption.discarded, 0);
    assert!(store.replica_list("stops").unwrap().is_empty());
    assert_eq!(store.cursor().unwrap(), 0);
    assert_eq!(store.last_sync_at().unwrap(), None);
    assert!(
        store
            .booking_by_code(&BookingCode::from_uuid(id))
            .unwrap()
            .is_some(),
        "answered bookings stay for reprint"
    );
    // The same owner again changes nothing.
    assert!(!store.adopt(&moved, false).unwrap().reset);
    drop(dir);
}

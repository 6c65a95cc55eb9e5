//! `sync_once` against the in-process hub: paging, repeats, lost responses, an unreachable hub.

use std::collections::BTreeMap;

use kiosk::Store;
use kiosk::store::BookingState;
use kiosk::sync::{SyncStop, SyncSummary, Transport, TransportError, sync_once};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, ChangeOp, OutboxKind, SyncRequest, SyncResponse};
use serde_json::{Value, json};

use crate::hub::{Fault, Hub};
use crate::{dump, open_store};

fn ride(n: usize) -> Value {
    json!({
        "pickup_at": format!("2026-11-24T08:{:02}:00Z", n % 60),
        "to_destination_id": "d-arzt",
        "resident": {"name": format!("Person {n}"), "phone": "0921 1234"}
    })
}

/// Everything the kiosk replica holds, in the hub's `live()` shape.
fn replica(store: &Store, kinds: &[&str]) -> BTreeMap<(String, String), Value> {
    let mut all = BTreeMap::new();
    for kind in kinds {
        for row in store.replica_list(kind).expect("the replica reads") {
            all.insert((kind.to_string(), row.id), row.body);
        }
    }
    all
}

fn state_of(store: &Store, id: uuid::Uuid) -> BookingState {
    store
        .booking_by_code(&BookingCode::from_uuid(id))
        .expect("the outbox reads")
        .expect("the booking is on the kiosk")
        .state
}

#[tokio::test]
async fn a_first_sync_sends_the_outbox_and_fetches_the_region() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    hub.publish("villages", "v1", ChangeOp::Upsert, json!({"name": "Elm"}));
    hub.publish(
        "stops",
        "s1",
        ChangeOp::Upsert,
        json!({"name": "Dorfplatz"}),
    );
    hub.publish(
        "slots",
        "sl1",
        ChangeOp::Upsert,
        json!({"starts_at": "2026-11-25T09:00:00Z"}),
    );
    let booked = store.enqueue(OutboxKind::RideRequest, ride(1)).unwrap();
    let no_time = store
        .enqueue(
            OutboxKind::RideRequest,
            json!({"to_destination_id": "d-arzt"}),
        )
        .unwrap();

    let summary = sync_once(&store, &hub, 100).await.unwrap();

    assert_eq!(
        summary,
        SyncSummary {
            exchanges: 1,
            sent: 2,
            accepted: 1,
            refused: 1,
            changes_applied: 3,
            cursor: 3
        }
    );
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(replica(&store, &["villages", "stops", "slots"]), hub.live());
    let BookingState::Answered {
        outcome: AckOutcome::Accepted { record },
        ..
    } = state_of(&store, booked)
    else {
        panic!("accepted")
    };
    assert_eq!(
        record["booking_code"],
        BookingCode::from_uuid(booked).to_string()
    );
    assert_eq!(record["pickup_window_start"], "2026-11-24T08:01:00Z");
    assert!(record.get("resident_id").is_none(), "minimised: {record}");
    assert!(matches!(
        state_of(&store, no_time),
        BookingState::Answered {
            outcome: AckOutcome::Refused { status: 422, .. },
            ..
        }
    ));

    // Answered entries are not sent again; a quiet second sync is one empty exchange.
    let quiet = sync_once(&store, &hub, 100).await.unwrap();
    assert_eq!(
        (quiet.exchanges, quiet.sent, quiet.changes_applied),
        (1, 0, 0)
    );
    assert!(hub.requests()[1].outbox.is_empty());
}

#[tokio::test]
async fn a_week_offline_catches_up_in_pages_with_order_preserved() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    for s in 0..20 {
        hub.publish(
            "stops",
            &format!("s{s:02}"),
            ChangeOp::Upsert,
            json!({"version": 0}),
        );
    }
    sync_once(&store, &hub, 1000).await.unwrap();
    assert_eq!(store.cursor().unwrap(), 20);

    // A week of edits while the kiosk is off: every stop renamed again and again, slots
    // published and some cancelled, so only applying them in order gives the hub's state.
    for n in 1..=3000u64 {
        let stop = format!("s{:02}", n % 20);
        hub.publish("stops", &stop, ChangeOp::Upsert, json!({ "version": n }));
        if n % 7 == 0 {
            hub.publish(
                "slots",
                &format!("sl{n}"),
                ChangeOp::Upsert,
                json!({ "n": n }),
            );
        }
        if n % 21 == 0 {
            hub.publish(
                "slots",
                &format!("sl{}", n - 7),
                ChangeOp::Cancel,
                json!({}),
            );
        }
    }
    let total = 20 + 3000 + 3000 / 7 + 3000 / 21;
    let waiting = store.enqueue(OutboxKind::RideRequest, ride(7)).unwrap();

    let summary = sync_once(&store, &hub, 250).await.unwrap();

    let behind = total - 20;
    assert_eq!(summary.changes_applied, behind);
    assert_eq!(summary.exchanges as usize, behind.div_ceil(250));
    assert_eq!(summary.cursor, total as u64);
    assert_eq!(store.cursor().unwrap(), total as u64);
    assert_eq!(replica(&store, &["stops", "slots"]), hub.live());
    assert_eq!(
        store.replica_list("stops").unwrap()[0].body,
        json!({"version": 3000})
    );
    // Each page starts where the one before ended.
    let requests = hub.requests();
    let responses = hub.responses();
    for (request, previous) in requests[2..].iter().zip(&responses[1..]) {
        assert_eq!(request.cursor, previous.cursor);
        assert!(
            request.outbox.is_empty(),
            "the entry went with the first page"
        );
    }
    assert_eq!(requests[1].outbox[0].id, waiting);
    assert!(!responses.last().unwrap().more);
    assert!(matches!(
        state_of(&store, waiting),
        BookingState::Answered { .. }
    ));
}

#[tokio::test]
async fn a_response_delivered_twice_changes_nothing() {
    let (_dir, path, store) = open_store();
    let hub = Hub::new();
    for s in 0..30 {
        hub.publish("stops", &format!("s{s}"), ChangeOp::Upsert, json!({"v": 1}));
    }
    hub.publish("stops", "s3", ChangeOp::Cancel, json!({}));
    let ids: Vec<_> = (0..3)
        .map(|n| store.enqueue(OutboxKind::RideRequest, ride(n)).unwrap())
        .collect();
    sync_once(&store, &hub, 10).await.unwrap();
    let before = dump(&path);
    assert!(before.contains("cursor 31"), "{before}");

    for response in hub.responses() {
        let again = store.apply(&response).unwrap();
        assert_eq!(again.changes_applied, 0);
        assert_eq!(again.accepted + again.refused, 0);
        assert!(again.conflicting_acks.is_empty());
    }
    assert_eq!(dump(&path), before);
    assert_eq!(hub.bookings().len(), ids.len());
}

#[tokio::test]
async fn a_lost_response_is_sent_again_and_gets_the_first_answer() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    hub.publish(
        "stops",
        "s1",
        ChangeOp::Upsert,
        json!({"name": "Dorfplatz"}),
    );
    let id = store.enqueue(OutboxKind::RideRequest, ride(5)).unwrap();
    hub.fail_at(1, Fault::LoseResponse);

    let err = sync_once(&store, &hub, 100).await.unwrap_err();
    assert!(
        matches!(
            err.cause,
            SyncStop::Transport(TransportError::Unreachable(_))
        ),
        "{err}"
    );
    assert_eq!(err.progress.exchanges, 0);
    // The hub stored the booking; the kiosk does not know and keeps it pending.
    assert_eq!(hub.bookings().len(), 1);
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.cursor().unwrap(), 0);
    assert_eq!(state_of(&store, id), BookingState::Requested);

    let summary = sync_once(&store, &hub, 100).await.unwrap();
    assert_eq!((summary.sent, summary.accepted, summary.cursor), (1, 1, 1));
    let requests = hub.requests();
    assert_eq!(
        requests[1].outbox, requests[0].outbox,
        "the same entry, unchanged"
    );
    let bookings = hub.bookings();
    assert_eq!(bookings.len(), 1, "exactly one booking on the hub");
    let BookingState::Answered {
        outcome: AckOutcome::Accepted { record },
        ..
    } = state_of(&store, id)
    else {
        panic!("accepted")
    };
    // The first answer, as the hub gave it when it stored the booking (minimised on the kiosk).
    assert_eq!(bookings[0].0, id);
    assert_eq!(record["booking_code"], bookings[0].1["booking_code"]);
    assert_eq!(
        record["pickup_window_start"],
        bookings[0].1["pickup_window_start"]
    );
    assert_eq!(hub.responses()[0].acks, hub.responses()[1].acks);
}

#[tokio::test]
async fn an_unreachable_hub_loses_nothing_and_a_later_sync_resumes() {
    let (_dir, path, store) = open_store();
    let hub = Hub::new();
    for s in 0..1000 {
        hub.publish(
            "stops",
            &format!("s{s:04}"),
            ChangeOp::Upsert,
            json!({ "s": s }),
        );
    }
    let ids: Vec<_> = (0..3)
        .map(|n| store.enqueue(OutboxKind::RideRequest, ride(n)).unwrap())
        .collect();
    hub.fail_at(1, Fault::Down);
    let before = dump(&path);

    let err = sync_once(&store, &hub, 100).await.unwrap_err();
    assert!(matches!(err.cause, SyncStop::Transport(_)), "{err}");
    assert_eq!(dump(&path), before, "nothing changed");
    assert!(hub.bookings().is_empty());

    // Down again in the middle of paging: what arrived stays, the rest comes next time.
    hub.fail_at(4, Fault::Down);
    let err = sync_once(&store, &hub, 100).await.unwrap_err();
    assert_eq!(err.progress.exchanges, 2);
    assert_eq!((err.progress.accepted, err.progress.cursor), (3, 200));
    assert_eq!(store.cursor().unwrap(), 200);

    let summary = sync_once(&store, &hub, 100).await.unwrap();
    assert_eq!((summary.exchanges, summary.changes_applied), (8, 800));
    assert_eq!(replica(&store, &["stops"]), hub.live());
    for id in ids {
        assert!(matches!(
            state_of(&store, id),
            BookingState::Answered { .. }
        ));
    }
}

#[tokio::test]
async fn many_pending_entries_go_fifty_at_a_time_oldest_first() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    let ids: Vec<_> = (0..120)
        .map(|n| store.enqueue(OutboxKind::RideRequest, ride(n)).unwrap())
        .collect();

    let summary = sync_once(&store, &hub, 100).await.unwrap();

    assert_eq!(
        (summary.exchanges, summary.sent, summary.accepted),
        (3, 120, 120)
    );
    let sent: Vec<_> = hub
        .requests()
        .iter()
        .inspect(|r| assert!(r.outbox.len() <= 50))
        .flat_map(|r| r.outbox.iter().map(|e| e.id).collect::<Vec<_>>())
        .collect();
    assert_eq!(sent, ids);
    assert_eq!(hub.bookings().len(), 120);
}

#[tokio::test]
async fn the_hub_refuses_a_reused_id_and_the_kiosk_keeps_its_first_answer() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    let id = store.enqueue(OutboxKind::RideRequest, ride(1)).unwrap();
    sync_once(&store, &hub, 100).await.unwrap();

    // Something sends the same id with other content (a damaged or hand-edited outbox).
    let mut entry = hub.requests()[0].outbox[0].clone();
    entry.body["to_destination_id"] = json!("d-elsewhere");
    let response = hub
        .exchange(SyncRequest {
            api_version: protocol::API_VERSION,
            cursor: 0,
            outbox: vec![entry],
            limit: 10,
        })
        .await
        .unwrap();
    assert!(matches!(
        response.acks[0].outcome,
        AckOutcome::Refused { status: 409, .. }
    ));
    assert_eq!(hub.bookings().len(), 1);

    let applied = store.apply(&response).unwrap();
    assert_eq!(applied.conflicting_acks, vec![id]);
    assert!(matches!(
        state_of(&store, id),
        BookingState::Answered {
            outcome: AckOutcome::Accepted { .. },
            ..
        }
    ));
}

/// A broken hub that never answers the outbox.
struct Deaf;

impl Transport for Deaf {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        Ok(SyncResponse {
            acks: vec![],
            changes: vec![],
            cursor: request.cursor,
            more: false,
            update: None,
        })
    }
}

#[tokio::test]
async fn a_hub_that_ignores_the_outbox_stops_the_sync_instead_of_looping() {
    let (_dir, _path, store) = open_store();
    store
        .enqueue(OutboxKind::CallBack, json!({"phone": "0921 1234"}))
        .unwrap();
    let err = sync_once(&store, &Deaf, 100).await.unwrap_err();
    assert!(matches!(err.cause, SyncStop::Stalled), "{err}");
    assert_eq!((err.progress.exchanges, err.progress.sent), (1, 1));
    assert_eq!(store.pending_count().unwrap(), 1);
}

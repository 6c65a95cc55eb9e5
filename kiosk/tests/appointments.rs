//! Counselling appointments through the booking core against the in-process hub: a slot set aside
//! for this kiosk is confirmed offline and never given twice by the kiosk, other slots are
//! requests, and the hub's later "slot taken" is shown for the booking's code.

use std::time::Duration;

use kiosk::core::{
    AppointmentAsk, BookingStatus, SLOT_TAKEN, Topic, book_appointment, booking_status,
};
use kiosk::store::BookingState;
use kiosk::sync::sync_once;
use protocol::BookingCode;

use crate::hub::Hub;
use crate::open_store;

const DEVICE: &str = "dev-1";
const START: &str = "2030-11-25T09:00:00Z";
const END: &str = "2030-11-25T09:30:00Z";
const WAIT: Duration = Duration::from_secs(5);

fn ask(slot: &str) -> AppointmentAsk {
    AppointmentAsk {
        region_id: "r-elm".into(),
        slot_id: slot.into(),
        topic: Some(Topic::Money),
        resident_id: Some("p-17".into()),
    }
}

fn confirmed() -> BookingStatus {
    BookingStatus::Confirmed {
        window_start: START.into(),
        window_end: END.into(),
    }
}

fn status(store: &kiosk::Store, code: &BookingCode) -> BookingStatus {
    booking_status(store, code)
        .expect("the outbox reads")
        .expect("the booking is on the kiosk")
        .1
}

/// A hub with slots `sl-own` (set aside for this kiosk), `sl-free` (for no kiosk) and `sl-other`
/// (for another kiosk), and a kiosk that has synced them.
async fn region() -> (tempfile::TempDir, kiosk::Store, Hub) {
    let (dir, _path, store) = open_store();
    let hub = Hub::new();
    hub.slot("sl-own", START, END, Some(DEVICE));
    hub.slot(
        "sl-own-2",
        "2030-11-25T10:00:00Z",
        "2030-11-25T10:30:00Z",
        Some(DEVICE),
    );
    hub.slot("sl-free", START, END, None);
    hub.slot("sl-other", START, END, Some("dev-9"));
    hub.slot(
        "sl-past",
        "2020-01-01T09:00:00Z",
        "2020-01-01T09:30:00Z",
        Some(DEVICE),
    );
    sync_once(&store, &hub, 100).await.expect("the first sync");
    assert_eq!(
        store
            .replica_list("slots")
            .expect("the replica reads")
            .len(),
        5
    );
    (dir, store, hub)
}

#[tokio::test]
async fn a_slot_set_aside_for_this_kiosk_is_confirmed_offline_and_delivered_later() {
    let (_dir, store, hub) = region().await;
    hub.set_down(true);
    let tried = hub.requests().len();

    let result = book_appointment(&store, &hub, &ask("sl-own"), DEVICE, WAIT)
        .await
        .unwrap();

    assert_eq!(result.status, confirmed());
    assert_eq!(
        hub.requests().len(),
        tried,
        "confirmed without asking the hub"
    );
    assert_eq!(
        store.pending_count().unwrap(),
        1,
        "on disk, waiting for the hub"
    );
    let (booking, shown) = booking_status(&store, &result.code).unwrap().unwrap();
    assert_eq!(shown, confirmed());
    assert_eq!(booking.state, BookingState::Requested);
    assert_eq!(
        booking.confirmed_offline.as_ref().unwrap().slot_id,
        "sl-own"
    );
    assert_eq!(booking.body["topic"], "money", "sent as asked");

    hub.set_down(false);
    sync_once(&store, &hub, 100).await.unwrap();
    assert_eq!(hub.slot_holder("sl-own"), Some(Some(result.id)));
    let (booking, shown) = booking_status(&store, &result.code).unwrap().unwrap();
    assert_eq!(shown, confirmed(), "the hub's answer agrees");
    assert!(matches!(booking.state, BookingState::Answered { .. }));
    for personal in ["topic", "resident_id", "money", "p-17"] {
        assert!(
            !booking.body.to_string().contains(personal),
            "{personal} kept"
        );
    }
}

#[tokio::test]
async fn other_slots_offline_are_requests_and_online_get_the_hubs_answer() {
    let (_dir, store, hub) = region().await;
    hub.set_down(true);
    for slot in ["sl-free", "sl-other", "sl-past", "sl-unknown"] {
        let result = book_appointment(&store, &hub, &ask(slot), DEVICE, WAIT)
            .await
            .unwrap();
        assert_eq!(
            result.status,
            BookingStatus::Requested { reason: None },
            "{slot}"
        );
        assert_eq!(status(&store, &result.code), result.status, "{slot}");
    }
    assert_eq!(store.pending_count().unwrap(), 4);

    hub.set_down(false);
    let (_dir, store, hub) = region().await;
    let online = book_appointment(&store, &hub, &ask("sl-free"), DEVICE, WAIT)
        .await
        .unwrap();
    assert_eq!(online.status, confirmed(), "the hub booked it at once");
    assert_eq!(store.pending_count().unwrap(), 0);
}

#[tokio::test]
async fn the_kiosk_never_gives_its_own_slot_twice() {
    let (_dir, store, hub) = region().await;
    hub.set_down(true);
    let first = book_appointment(&store, &hub, &ask("sl-own"), DEVICE, WAIT)
        .await
        .unwrap();
    assert_eq!(first.status, confirmed());

    let second = book_appointment(&store, &hub, &ask("sl-own"), DEVICE, WAIT)
        .await
        .unwrap();
    let BookingStatus::Refused { title, detail } = &second.status else {
        panic!("refused on the spot: {:?}", second.status)
    };
    assert_eq!(title, SLOT_TAKEN);
    assert!(detail.contains(&first.code.to_string()), "{detail}");
    assert_eq!(
        store.pending_count().unwrap(),
        1,
        "nothing stored for the second"
    );
    assert!(booking_status(&store, &second.code).unwrap().is_none());

    // Another slot of its share is still its own to give.
    let other = book_appointment(&store, &hub, &ask("sl-own-2"), DEVICE, WAIT)
        .await
        .unwrap();
    assert!(matches!(other.status, BookingStatus::Confirmed { .. }));

    // Once the hub has it, the accepted booking still holds the slot.
    hub.set_down(false);
    sync_once(&store, &hub, 100).await.unwrap();
    let third = book_appointment(&store, &hub, &ask("sl-own"), DEVICE, WAIT)
        .await
        .unwrap();
    assert!(
        matches!(third.status, BookingStatus::Refused { ref title, .. } if title == SLOT_TAKEN)
    );
    assert_eq!(hub.slot_holder("sl-own"), Some(Some(first.id)));
    assert_eq!(store.pending_count().unwrap(), 0);
}

#[tokio::test]
async fn a_refusal_arriving_later_is_shown_for_the_booking_code() {
    let (_dir, store, hub) = region().await;
    hub.set_down(true);
    let request = book_appointment(&store, &hub, &ask("sl-free"), DEVICE, WAIT)
        .await
        .unwrap();
    assert_eq!(request.status, BookingStatus::Requested { reason: None });
    // The kiosk's own confirmation, should the hub have given the slot away meanwhile.
    let own = book_appointment(&store, &hub, &ask("sl-own"), DEVICE, WAIT)
        .await
        .unwrap();
    assert_eq!(own.status, confirmed());
    hub.book_elsewhere("sl-free");
    hub.book_elsewhere("sl-own");

    hub.set_down(false);
    let summary = sync_once(&store, &hub, 100).await.unwrap();
    assert_eq!(summary.refused, 2);

    for code in [&request.code, &own.code] {
        let BookingStatus::Refused { title, detail } = status(&store, code) else {
            panic!("refused: {code}")
        };
        assert_eq!(title, "slot taken");
        assert!(detail.contains("no longer free"), "{detail}");
    }
    // A refused booking holds nothing: the slot goes to the hub again, which says no.
    let again = book_appointment(&store, &hub, &ask("sl-free"), DEVICE, WAIT)
        .await
        .unwrap();
    assert!(
        matches!(again.status, BookingStatus::Refused { ref title, .. } if title == "slot taken")
    );
    assert!(
        booking_status(&store, &again.code).unwrap().is_some(),
        "sent, answered, kept"
    );
}

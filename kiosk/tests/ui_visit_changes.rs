//! IMBUS visits changed after publication, from the hub's change-log lines to the screens: a
//! cancel line keeps the visit in the replica (status and reason) while a cancelled slot goes; a
//! cancelled visit's slots are never offered nor confirmed offline; the timetable and the
//! counselling list say "Fällt aus" with the reason (not tappable), "Verlegt" with the reason and
//! the earlier time, "Ersatztermin", in German and Arabic; "Meine Buchung" says when the
//! appointment's visit was called off; what has ended drops off.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::requests::{BookingView, Standing, What};
use kiosk::store::SlotClaim;
use kiosk::ui::counselling::{self, Here, Host, Rows, VisitChange};
use kiosk::ui::{AppWindow, Navigation, Page};
use kiosk::{Store, ui::booking};
use protocol::BookingCode;
use protocol::sync::{Ack, AckOutcome, Change, ChangeOp, SyncResponse};
use serde_json::{Value, json};
use slint::ComponentHandle;

use crate::open_store;
use crate::ui::{bounds, button, buttons_labelled, kiosk_window, tap};

const TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;
const DEVICE: &str = "k-vahlberg";
const HERE: Here<'static> = Here {
    device_id: DEVICE,
    village_id: "v-vahlberg",
};
const WORKSHOP: &str = "Der Bus ist in der Werkstatt";
const MARKET: &str = "Am Montag ist Markt";

/// Wednesday, 2 December 2026, 08:00 in Berlin.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0)
        .single()
        .expect("a valid instant")
}

/// A published visit to the Dorfplatz of Groß Vahlberg, 09:00–12:00 local on `day` December.
fn visit(day: u32) -> Value {
    json!({"region_id": "r-elm", "village_id": "v-vahlberg", "stop_id": "s-dorfplatz",
           "starts_at": format!("2026-12-{day:02}T08:00:00Z"),
           "ends_at": format!("2026-12-{day:02}T11:00:00Z"),
           "counsellor": "Frau Özdemir", "status": "published", "cancel_reason": null,
           "moved_from": null, "change_reason": null, "replacement": 0})
}

/// An open slot of `visit` at 09:00 local on `day`, set aside for this kiosk.
fn slot(visit: &str, day: u32) -> Value {
    json!({"region_id": "r-elm", "village_id": "v-vahlberg", "visit_id": visit,
           "starts_at": format!("2026-12-{day:02}T08:00:00Z"),
           "ends_at": format!("2026-12-{day:02}T08:20:00Z"),
           "reserved_for_device_id": DEVICE, "status": "open"})
}

fn change(seq: u64, kind: &str, id: &str, op: ChangeOp, body: Value) -> Change {
    Change {
        seq,
        kind: kind.into(),
        id: id.into(),
        op,
        body,
    }
}

fn apply(store: &Store, acks: Vec<Ack>, changes: Vec<Change>) {
    let cursor = changes
        .iter()
        .map(|c| c.seq)
        .max()
        .unwrap_or(0)
        .max(store.cursor().expect("the cursor reads"));
    store
        .apply(&SyncResponse {
            acks,
            changes,
            cursor,
            more: false,
            update: None,
        })
        .expect("the response applies");
}

fn replica(store: &Store, kind: &str, id: &str) -> Option<Value> {
    store
        .replica_list(kind)
        .expect("the replica reads")
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| r.body)
}

/// A kiosk's replica with the village, its stop, and visits on 3 December (published) and on
/// 5 December (cancelled by the hub: the line carries the record), each with a slot set aside
/// for this kiosk; the 5 December slot cancelled too.
fn synced() -> (tempfile::TempDir, Store) {
    let (dir, _path, store) = open_store();
    let mut cancelled = visit(5);
    cancelled["status"] = json!("cancelled");
    cancelled["cancel_reason"] = json!(WORKSHOP);
    let mut slot_off = slot("vis-5", 5);
    slot_off["status"] = json!("cancelled");
    apply(
        &store,
        vec![],
        vec![
            change(
                1,
                "villages",
                "v-vahlberg",
                ChangeOp::Upsert,
                json!({"name": "Groß Vahlberg", "lat": 52.107, "lon": 10.679}),
            ),
            change(
                2,
                "stops",
                "s-dorfplatz",
                ChangeOp::Upsert,
                json!({"name": "Dorfplatz", "village_id": "v-vahlberg"}),
            ),
            change(3, "imbus_visits", "vis-3", ChangeOp::Upsert, visit(3)),
            change(4, "imbus_visits", "vis-5", ChangeOp::Upsert, visit(5)),
            change(5, "slots", "sl-3", ChangeOp::Upsert, slot("vis-3", 3)),
            change(6, "slots", "sl-5", ChangeOp::Upsert, slot("vis-5", 5)),
            change(7, "imbus_visits", "vis-5", ChangeOp::Cancel, cancelled),
            change(8, "slots", "sl-5", ChangeOp::Cancel, slot_off),
        ],
    );
    (dir, store)
}

#[test]
fn a_cancel_line_keeps_the_visit_with_status_and_reason_and_drops_the_slot() {
    let (_dir, store) = synced();
    let kept = replica(&store, "imbus_visits", "vis-5").expect("the cancelled visit stays");
    assert_eq!(kept["status"], "cancelled");
    assert_eq!(kept["cancel_reason"], WORKSHOP);
    assert_eq!(kept["starts_at"], "2026-12-05T08:00:00Z");
    assert!(
        replica(&store, "slots", "sl-5").is_none(),
        "a cancelled slot goes"
    );
    assert!(replica(&store, "slots", "sl-3").is_some());

    // A cancel line without the record still leaves the visit marked cancelled.
    apply(
        &store,
        vec![],
        vec![change(
            9,
            "imbus_visits",
            "vis-3",
            ChangeOp::Cancel,
            json!({}),
        )],
    );
    assert_eq!(
        replica(&store, "imbus_visits", "vis-3").expect("kept"),
        json!({"status": "cancelled"})
    );
    // A later upsert replaces the cancelled copy whole.
    let mut again = visit(5);
    again["change_reason"] = json!("Doch wieder da");
    apply(
        &store,
        vec![],
        vec![change(
            10,
            "imbus_visits",
            "vis-5",
            ChangeOp::Upsert,
            again.clone(),
        )],
    );
    assert_eq!(replica(&store, "imbus_visits", "vis-5"), Some(again));
    // Other kinds still go on a cancel line.
    apply(
        &store,
        vec![],
        vec![change(
            11,
            "stops",
            "s-dorfplatz",
            ChangeOp::Cancel,
            json!({}),
        )],
    );
    assert!(replica(&store, "stops", "s-dorfplatz").is_none());
}

#[test]
fn no_slot_of_a_cancelled_visit_is_offered_or_confirmed_offline() {
    let (_dir, store) = synced();
    // The hub cancelled the visit but left its slot open (a slot change may come later).
    apply(
        &store,
        vec![],
        vec![change(
            9,
            "slots",
            "sl-5b",
            ChangeOp::Upsert,
            slot("vis-5", 5),
        )],
    );
    let rows = Rows::read(&store).expect("the rows read");
    let offer = counselling::offer(&rows, HERE, &HashSet::new(), now(), TZ);
    let offered: Vec<&str> = offer
        .sessions
        .iter()
        .flat_map(|s| s.slots.iter().map(|o| o.id.as_str()))
        .collect();
    assert_eq!(offered, ["sl-3"]);
    // The cancelled visit is listed, without slots, with its reason.
    let off: Vec<_> = offer
        .sessions
        .iter()
        .filter(|s| s.change.cancelled.is_some())
        .collect();
    assert_eq!(off.len(), 1);
    assert_eq!(
        (off[0].host, off[0].place.as_str(), off[0].slots.len()),
        (Host::Imbus, "Dorfplatz", 0)
    );
    assert_eq!(off[0].change.cancelled.as_deref(), Some(WORKSHOP));
    let lines: Vec<Option<&str>> = offer
        .visits
        .iter()
        .map(|l| l.change.cancelled.as_deref())
        .collect();
    assert_eq!(lines, [None, Some(WORKSHOP)]);

    // Booked anyway (a stale screen): a request for the hub, not a confirmation.
    let claim = store
        .enqueue_appointment(json!({"slot_id": "sl-5b"}), DEVICE, now())
        .expect("stored");
    assert!(matches!(claim, SlotClaim::Requested { .. }), "{claim:?}");
    let claim = store
        .enqueue_appointment(json!({"slot_id": "sl-3"}), DEVICE, now())
        .expect("stored");
    assert!(matches!(claim, SlotClaim::Confirmed { .. }), "{claim:?}");
}

#[test]
fn moved_and_replacement_visits_carry_their_change_and_ended_ones_drop_off() {
    let (_dir, store) = synced();
    let mut moved = visit(8);
    moved["moved_from"] = json!("2026-12-07T08:00:00Z");
    moved["change_reason"] = json!(MARKET);
    let mut extra = visit(11);
    extra["replacement"] = json!(1);
    apply(
        &store,
        vec![],
        vec![
            change(9, "imbus_visits", "vis-8", ChangeOp::Upsert, moved),
            change(10, "imbus_visits", "vis-11", ChangeOp::Upsert, extra),
            change(11, "slots", "sl-8", ChangeOp::Upsert, slot("vis-8", 8)),
        ],
    );
    let rows = Rows::read(&store).expect("the rows read");
    let offer = counselling::offer(&rows, HERE, &HashSet::new(), now(), TZ);
    let changes: Vec<(u32, &VisitChange)> = offer
        .visits
        .iter()
        .map(|l| (chrono::Datelike::day(&l.date), &l.change))
        .collect();
    let before = NaiveDate::from_ymd_opt(2026, 12, 7)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("a valid time");
    assert_eq!(
        changes,
        [
            (3, &VisitChange::default()),
            (
                5,
                &VisitChange {
                    cancelled: Some(WORKSHOP.into()),
                    ..VisitChange::default()
                }
            ),
            (
                8,
                &VisitChange {
                    moved_from: Some(before),
                    reason: MARKET.into(),
                    ..VisitChange::default()
                }
            ),
            (
                11,
                &VisitChange {
                    replacement: true,
                    ..VisitChange::default()
                }
            ),
        ]
    );
    let moved_session = offer
        .sessions
        .iter()
        .find(|s| s.slots.iter().any(|o| o.id == "sl-8"))
        .expect("the moved visit's slot is offered");
    assert_eq!(moved_session.change.moved_from, Some(before));

    // On 5 December at 12:00 local the cancelled visit has ended: gone from both lists.
    let later = Utc
        .with_ymd_and_hms(2026, 12, 5, 11, 0, 0)
        .single()
        .expect("a valid instant");
    let offer = counselling::offer(&rows, HERE, &HashSet::new(), later, TZ);
    assert!(offer.sessions.iter().all(|s| s.change.cancelled.is_none()));
    assert!(offer.visits.iter().all(|l| l.change.cancelled.is_none()));
    assert_eq!(offer.visits.len(), 2);
}

#[test]
fn my_booking_knows_when_its_visit_was_called_off() {
    let (_dir, store) = synced();
    let SlotClaim::Confirmed { id, .. } = store
        .enqueue_appointment(json!({"slot_id": "sl-3", "topic": "money"}), DEVICE, now())
        .expect("stored")
    else {
        panic!("the kiosk's own open slot is confirmed offline");
    };
    let code = BookingCode::from_uuid(id);
    assert_eq!(
        counselling::cancelled_visit_of(&store, &code).unwrap(),
        None
    );
    // The hub accepts it, then calls the visit off and cancels its slot: the slot leaves the
    // replica, the visit in the appointment's village at its time is found.
    let mut off = visit(3);
    off["status"] = json!("cancelled");
    off["cancel_reason"] = json!(WORKSHOP);
    apply(
        &store,
        vec![Ack {
            id,
            outcome: AckOutcome::Accepted {
                record: json!({"id": id.to_string(), "booking_code": code.to_string(),
                               "status": "booked", "slot_id": "sl-3", "village_id": "v-vahlberg",
                               "starts_at": "2026-12-03T08:00:00Z"}),
            },
        }],
        vec![
            change(9, "imbus_visits", "vis-3", ChangeOp::Cancel, off),
            change(10, "slots", "sl-3", ChangeOp::Cancel, slot("vis-3", 3)),
        ],
    );
    assert_eq!(
        counselling::cancelled_visit_of(&store, &code).unwrap(),
        Some(WORKSHOP.to_string())
    );
    // An appointment waiting for the hub on a slot still open of a cancelled visit: found
    // through the slot.
    apply(
        &store,
        vec![],
        vec![change(
            11,
            "slots",
            "sl-5b",
            ChangeOp::Upsert,
            slot("vis-5", 5),
        )],
    );
    let SlotClaim::Requested { id: waiting } = store
        .enqueue_appointment(json!({"slot_id": "sl-5b"}), DEVICE, now())
        .expect("stored")
    else {
        panic!("a cancelled visit's slot is not confirmed offline");
    };
    assert_eq!(
        counselling::cancelled_visit_of(&store, &BookingCode::from_uuid(waiting)).unwrap(),
        Some(WORKSHOP.to_string())
    );
    // A code this kiosk does not hold, or no appointment: nothing to say.
    let elsewhere = BookingCode::from_uuid(uuid::Uuid::from_u128(7));
    assert_eq!(
        counselling::cancelled_visit_of(&store, &elsewhere).unwrap(),
        None
    );
}

/// A kiosk showing the replica's offer of [`synced`] with a moved visit on 8 December (its slot
/// offered) and a replacement on 11 December (with a slot).
fn changed_kiosk() -> (AppWindow, tempfile::TempDir) {
    let (dir, store) = synced();
    let mut moved = visit(8);
    moved["moved_from"] = json!("2026-12-07T08:00:00Z");
    moved["change_reason"] = json!(MARKET);
    let mut extra = visit(11);
    extra["replacement"] = json!(true);
    apply(
        &store,
        vec![],
        vec![
            change(9, "imbus_visits", "vis-8", ChangeOp::Upsert, moved),
            change(10, "imbus_visits", "vis-11", ChangeOp::Upsert, extra),
            change(11, "slots", "sl-8", ChangeOp::Upsert, slot("vis-8", 8)),
            change(12, "slots", "sl-11", ChangeOp::Upsert, slot("vis-11", 11)),
        ],
    );
    let rows = Rows::read(&store).expect("the rows read");
    let offer = counselling::offer(&rows, HERE, &HashSet::new(), now(), TZ);
    let app = kiosk_window();
    counselling::init(&app, now, |_| {});
    counselling::set_offer(&app, &offer);
    (app, dir)
}

/// Whether an element labelled `label` is on screen as a text (not a button).
fn shows(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .any(|e| e.accessible_role() == Some(AccessibleRole::Text))
}

/// Whether anything labelled `label` is on screen (a row's drawn line has no role of its own).
fn drawn(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .next()
        .is_some()
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

const CANCELLED_DE: &str = "Samstag, 05.12., 09:00–12:00, Dorfplatz. Fällt aus: \
                            Der Bus ist in der Werkstatt";
const MOVED_DE: &str = "Dienstag, 08.12., 09:00–12:00, Dorfplatz. Verlegt: Am Montag ist Markt. \
                        vorher Montag, 07.12., 09:00";
const REPLACEMENT_DE: &str = "Freitag, 11.12., 09:00–12:00, Dorfplatz. Ersatztermin";

#[test]
fn the_timetable_says_cancelled_moved_and_replacement_in_german() {
    let (app, _dir) = changed_kiosk();
    tap(&app, "Wann kommt der IMBUS?");
    assert_eq!(page(&app), Page::Imbus);
    // Page one: the visit of 3 December; the cancelled one with its long reason (four lines)
    // does not fit beside it.
    assert!(shows(&app, "Donnerstag, 03.12., 09:00–12:00, Dorfplatz"));
    assert!(!shows(&app, CANCELLED_DE));
    tap(&app, "Nach unten");
    assert!(shows(&app, CANCELLED_DE));
    assert!(drawn(&app, "Fällt aus: Der Bus ist in der Werkstatt"));
    assert_eq!(buttons_labelled(&app, CANCELLED_DE), 0, "nothing to tap");
    assert!(!shows(&app, MOVED_DE), "five more lines do not fit");
    // Then the moved visit alone, then the replacement.
    tap(&app, "Nach unten");
    assert!(shows(&app, MOVED_DE), "the moved visit");
    assert!(drawn(&app, "Verlegt: Am Montag ist Markt"));
    assert!(drawn(&app, "vorher Montag, 07.12., 09:00"));
    assert!(!shows(&app, CANCELLED_DE));
    tap(&app, "Nach unten");
    assert!(shows(&app, REPLACEMENT_DE));
    assert!(drawn(&app, "Ersatztermin"));
    assert_eq!(buttons_labelled(&app, "Nach unten"), 0, "that was all");
    // Back up one page at a time, each row whole.
    tap(&app, "Nach oben");
    assert!(shows(&app, MOVED_DE));
    tap(&app, "Nach oben");
    assert!(shows(&app, CANCELLED_DE));
    tap(&app, "Nach oben");
    assert!(shows(&app, "Donnerstag, 03.12., 09:00–12:00, Dorfplatz"));
    assert_eq!(buttons_labelled(&app, "Nach oben"), 0);
}

#[test]
fn a_cancelled_visit_cannot_be_chosen_for_booking_but_a_moved_one_can() {
    let (app, _dir) = changed_kiosk();
    tap(&app, "Beratung buchen");
    assert_eq!(page(&app), Page::CounsellingWhen);
    let thursday = "Donnerstag, 03.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz";
    let off = "Samstag, 05.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz. Fällt aus: \
               Der Bus ist in der Werkstatt";
    button(&app, thursday);
    tap(&app, "Nach unten");
    assert!(shows(&app, off), "the cancelled visit is said");
    assert_eq!(buttons_labelled(&app, off), 0, "and cannot be tapped");
    // The struck line is still the time, readable; the reason under it.
    let (row, size) = bounds(
        &ElementHandle::find_by_accessible_label(&app, off)
            .next()
            .expect("the row"),
    );
    assert!(size.height >= 4.0 * 56.0, "four lines: {size:?}");
    assert!(row.x < 640.0, "German reads left to right: {row:?}");
    tap(&app, "Nach unten");
    let moved = "Dienstag, 08.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz. Verlegt: Am Montag \
                 ist Markt. vorher Montag, 07.12., 09:00";
    let (_, size) = bounds(&button(&app, moved));
    assert!(size.width >= 95.0 && size.height >= 95.0);
    tap(&app, moved);
    assert_eq!(page(&app), Page::CounsellingSlot);
    button(&app, "09:00");
    tap(&app, "Zurück");
    // The list starts again at the top: the replacement is three pages down.
    for _ in 0..3 {
        tap(&app, "Nach unten");
    }
    tap(
        &app,
        "Freitag, 11.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz. Ersatztermin",
    );
    assert_eq!(page(&app), Page::CounsellingSlot);
}

#[test]
fn changed_visits_are_said_in_arabic_and_mirrored() {
    let (app, _dir) = changed_kiosk();
    tap(&app, "Sprache");
    tap(&app, "العربية");
    tap(&app, "متى يأتي IMBUS؟");
    tap(&app, "إلى الأسفل");
    let off = "السبت, 05.12., 09:00–12:00, Dorfplatz. ملغى: Der Bus ist in der Werkstatt";
    assert!(shows(&app, off));
    let (row, _) = bounds(
        &ElementHandle::find_by_accessible_label(&app, off)
            .next()
            .expect("the row"),
    );
    let (down, _) = bounds(&button(&app, "إلى الأسفل"));
    assert!(
        down.x < row.x,
        "the arrows are on the left, the list on the right"
    );
    tap(&app, "إلى الأسفل");
    assert!(shows(
        &app,
        "الثلاثاء, 08.12., 09:00–12:00, Dorfplatz. تغيّر الموعد: Am Montag ist Markt. كان \
         الاثنين, 07.12., 09:00"
    ));
    tap(&app, "إلى الأسفل");
    assert!(shows(
        &app,
        "الجمعة, 11.12., 09:00–12:00, Dorfplatz. موعد بديل"
    ));
}

#[test]
fn my_booking_shows_the_visit_called_off_and_the_reset_forgets_it() {
    let (app, _dir) = changed_kiosk();
    booking::init(&app, |_| {}, |_| {});
    let code = BookingCode::from_uuid(uuid::Uuid::from_u128(0x5eed));
    tap(&app, "Meine Buchung");
    let view = BookingView {
        code,
        what: What::Appointment,
        from: Some("2026-12-05T08:00:00Z".into()),
        until: Some("2026-12-05T08:20:00Z".into()),
        place: Some("Groß Vahlberg".into()),
        home: false,
        standing: Standing::Confirmed,
    };
    booking::show(&app, &code, Some(&view), TZ);
    assert_eq!(page(&app), Page::BookingShown);
    button(&app, "Absagen");
    counselling::show_booking_visit(&app, Some(WORKSHOP));
    assert!(shows(
        &app,
        "Der IMBUS-Besuch fällt aus: Der Bus ist in der Werkstatt"
    ));
    assert!(shows(&app, "Stand: Bestätigt"));
    assert_eq!(buttons_labelled(&app, "Absagen"), 0);
    assert_eq!(buttons_labelled(&app, "Nochmal drucken"), 0);
    // Without a reason it still says so.
    counselling::show_booking_visit(&app, Some(""));
    assert!(shows(&app, "Der IMBUS-Besuch fällt aus."));
    // The idle reset forgets it with the rest.
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    booking::show(&app, &code, Some(&view), TZ);
    assert!(!shows(&app, "Der IMBUS-Besuch fällt aus."));
    button(&app, "Absagen");
}

#[test]
fn a_cancelled_visit_drops_off_once_it_has_ended() {
    let (app, _dir) = changed_kiosk();
    // 5 December 11:59 local: still said; at 12:00 it has ended.
    let at = |h, m| {
        Utc.with_ymd_and_hms(2026, 12, 5, h, m, 0)
            .single()
            .expect("a valid instant")
    };
    counselling::drop_past(&app, at(10, 59));
    tap(&app, "Wann kommt der IMBUS?");
    assert!(drawn(&app, "Fällt aus: Der Bus ist in der Werkstatt"));
    tap(&app, "Zurück");
    counselling::drop_past(&app, at(11, 0));
    tap(&app, "Wann kommt der IMBUS?");
    assert!(!drawn(&app, "Fällt aus: Der Bus ist in der Werkstatt"));
    assert!(shows(&app, MOVED_DE), "the moved visit leads now");
}

#[test]
fn with_larger_text_a_changed_visit_keeps_within_the_list() {
    let (app, _dir) = changed_kiosk();
    app.global::<kiosk::ui::Settings>().set_large_text(true);
    tap(&app, "Wann kommt der IMBUS?");
    // Every row, the moved one with five lines too, ends above the bottom bar (y 675).
    for label in [
        "Donnerstag, 03.12., 09:00–12:00, Dorfplatz",
        CANCELLED_DE,
        MOVED_DE,
        REPLACEMENT_DE,
    ] {
        let (at, size) = bounds(
            &ElementHandle::find_by_accessible_label(&app, label)
                .next()
                .unwrap_or_else(|| panic!("{label:?} is on this page")),
        );
        assert!(at.y + size.height <= 675.0, "{label:?}: {at:?} {size:?}");
        if label != REPLACEMENT_DE {
            tap(&app, "Nach unten");
        }
    }
}

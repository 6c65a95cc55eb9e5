//! "Meine Buchung" on Slint's testing backend, every element found by its accessible label, in
//! German and Arabic, over a real kiosk store: the code typed on the keypad, the booking shown
//! (what, when, where, where it stands), printed again, and cancelled after a second question,
//! the cancellation queued in the outbox while the hub is out of reach ("Absage gesendet") or
//! answered by it. A mistyped code is explained and changes nothing; a code booked elsewhere can
//! still be cancelled; the idle reset forgets the code.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use kiosk::Store;
use kiosk::requests::{booking_view, cancel_booking};
use kiosk::sync::{Transport, TransportError};
use kiosk::ui::booking;
use kiosk::ui::{AppWindow, BookingScreen, Navigation, Page, Printing};
use protocol::BookingCode;
use protocol::sync::{Ack, AckOutcome, Change, ChangeOp, OutboxKind, SyncRequest, SyncResponse};
use serde_json::json;
use slint::ComponentHandle;
use tempfile::TempDir;
use uuid::Uuid;

use crate::ui::{bounds, button, buttons_labelled, kiosk_window, tap};
use crate::ui_help::{Offline, shows};
use crate::{dump, open_store};

/// A hub that answers every entry with `outcome`, or is out of reach.
enum Hub {
    Answers(AckOutcome),
    Offline,
}

impl Transport for Hub {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        match self {
            Hub::Offline => Offline.exchange(request).await,
            Hub::Answers(outcome) => Ok(SyncResponse {
                acks: request
                    .outbox
                    .iter()
                    .map(|e| Ack {
                        id: e.id,
                        outcome: outcome.clone(),
                    })
                    .collect(),
                changes: vec![],
                cursor: request.cursor,
                more: false,
                update: None,
            }),
        }
    }
}

fn cancelled() -> AckOutcome {
    AckOutcome::Accepted {
        record: json!({"status": "cancelled", "cancelled": "ride_requests", "outcome": "cancelled"}),
    }
}

struct BookingKiosk {
    app: AppWindow,
    store: Store,
    path: std::path::PathBuf,
    _dir: TempDir,
    /// The code of the ride this kiosk booked.
    code: BookingCode,
    reprints: Rc<RefCell<Vec<String>>>,
    finds: Rc<RefCell<usize>>,
}

/// A kiosk that booked a ride to Praxis Dr. Weber, confirmed by the hub for 09:10–09:30.
fn booking_kiosk(hub: Hub) -> BookingKiosk {
    let app = kiosk_window();
    let (dir, path, store) = open_store();
    let id = store
        .enqueue(
            OutboxKind::RideRequest,
            json!({"resident_id": "p-1", "from_home": true, "to_destination_id": "d-weber",
                   "appointment_at": "2026-12-03T08:45:00Z", "walker": true, "channel": "kiosk"}),
        )
        .expect("the ride is stored");
    let code = BookingCode::from_uuid(id);
    store
        .apply(&SyncResponse {
            acks: vec![Ack {
                id,
                outcome: AckOutcome::Accepted {
                    record: json!({"id": id.to_string(), "booking_code": code.to_string(),
                                   "status": "confirmed", "to_destination_id": "d-weber",
                                   "pickup_window_start": "2026-12-03T08:10:00Z",
                                   "pickup_window_end": "2026-12-03T08:30:00Z"}),
                },
            }],
            changes: vec![Change {
                seq: 1,
                kind: "destinations".into(),
                id: "d-weber".into(),
                op: ChangeOp::Upsert,
                body: json!({"name": "Praxis Dr. Weber", "category": "general_practice"}),
            }],
            cursor: 1,
            more: false,
            update: None,
        })
        .expect("the answer is stored");

    let finds = Rc::new(RefCell::new(0));
    let (weak, look, counted) = (app.as_weak(), store.clone(), finds.clone());
    let (weak2, queue) = (app.as_weak(), store.clone());
    let hub = Rc::new(hub);
    booking::init(
        &app,
        move |code| {
            *counted.borrow_mut() += 1;
            let view = booking_view(&look, &code).expect("the store reads");
            let app = weak.upgrade().expect("the window is open");
            booking::show(&app, &code, view.as_ref(), chrono_tz::Europe::Berlin);
        },
        move |code| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let (_, sent) = runtime
                .block_on(cancel_booking(
                    &queue,
                    hub.as_ref(),
                    &code,
                    Duration::from_millis(500),
                ))
                .expect("the store takes it");
            let app = weak2.upgrade().expect("the window is open");
            booking::show_cancelled(&app, &sent);
        },
    );
    let reprints = Rc::new(RefCell::new(Vec::new()));
    let printed = reprints.clone();
    app.global::<Printing>()
        .on_print_booking(move |code| printed.borrow_mut().push(code.to_string()));
    BookingKiosk {
        app,
        store,
        path,
        _dir: dir,
        code,
        reprints,
        finds,
    }
}

fn press(app: &AppWindow, label: &str) {
    let (_, size) = bounds(&button(app, label));
    assert!(
        size.width >= 95.0 && size.height >= 95.0,
        "{label:?} is {size:?}"
    );
    tap(app, label);
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// Types a code on the keypad, dashes left out as a resident would.
fn type_code(app: &AppWindow, code: &str) {
    for c in code.chars().filter(|c| *c != '-') {
        press(app, &c.to_string());
    }
}

/// `code` with its check character changed: one character mistyped.
fn mistyped(code: &BookingCode) -> String {
    let text = code.to_string();
    let last = text.chars().last().expect("a code");
    format!(
        "{}{}",
        &text[..text.len() - 1],
        if last == '2' { '3' } else { '2' }
    )
}

struct Words {
    my_booking: &'static str,
    show: &'static str,
    reprint: &'static str,
    cancel: &'static str,
    yes: &'static str,
    no: &'static str,
    done: &'static str,
    what: &'static str,
    when: &'static str,
    place: &'static str,
    confirmed: &'static str,
    cancel_sent: &'static str,
    sent: &'static str,
    cancelled: &'static str,
    wrong: &'static str,
    code: &'static str,
}

const DE: Words = Words {
    my_booking: "Meine Buchung",
    show: "Anzeigen",
    reprint: "Nochmal drucken",
    cancel: "Absagen",
    yes: "Ja, absagen",
    no: "Nein",
    done: "Fertig",
    what: "Was: Fahrt",
    when: "Wann: 03.12. 09:10–09:30",
    place: "Wo: Praxis Dr. Weber",
    confirmed: "Stand: Bestätigt",
    cancel_sent: "Stand: Absage gesendet",
    sent: "Absage gesendet. Sie wird bald bestätigt.",
    cancelled: "Abgesagt.",
    wrong: "Dieser Code stimmt nicht. Bitte prüfen Sie ihn.",
    code: "Buchungscode: ",
};

const AR: Words = Words {
    my_booking: "حجزي",
    show: "اعرض",
    reprint: "اطبع مرة أخرى",
    cancel: "ألغِ",
    yes: "نعم، ألغِ",
    no: "لا",
    done: "انتهى",
    what: "ماذا: رحلة",
    when: "متى: 03.12. 09:10–09:30",
    place: "أين: Praxis Dr. Weber",
    confirmed: "الحالة: مؤكد",
    cancel_sent: "الحالة: تم إرسال الإلغاء",
    sent: "تم إرسال الإلغاء. سيتم تأكيده قريبًا.",
    cancelled: "تم الإلغاء.",
    wrong: "هذا الرمز غير صحيح. تحقق منه من فضلك.",
    code: "رمز الحجز: ",
};

/// From the start screen to the booking shown, reprinted.
fn find(k: &BookingKiosk, w: &Words) {
    let app = &k.app;
    press(app, w.my_booking);
    assert_eq!(page(app), Page::BookingCode);
    type_code(app, &k.code.to_string());
    assert!(
        shows(app, &format!("{}{}_", w.code, k.code)),
        "typed like the ticket"
    );
    press(app, w.show);
    assert_eq!(page(app), Page::BookingShown);
    for line in [w.what, w.when, w.place, w.confirmed] {
        assert!(shows(app, line), "{line:?}");
    }
    press(app, w.reprint);
    assert_eq!(k.reprints.borrow().as_slice(), [k.code.to_string()]);
}

/// "Absagen", "Nein" (nothing happens), "Absagen", "Ja, absagen".
fn cancel(k: &BookingKiosk, w: &Words) {
    let app = &k.app;
    press(app, w.cancel);
    assert_eq!(page(app), Page::BookingConfirm);
    press(app, w.no);
    assert_eq!(page(app), Page::BookingShown);
    assert_eq!(
        k.store.pending_count().expect("count"),
        0,
        "one tap cancels nothing"
    );
    press(app, w.cancel);
    press(app, w.yes);
    assert_eq!(page(app), Page::BookingCancelled);
}

fn queued_cancel(store: &Store) -> Vec<serde_json::Value> {
    store
        .pending(10)
        .expect("the outbox")
        .into_iter()
        .filter(|e| e.kind == OutboxKind::Cancel)
        .map(|e| e.body)
        .collect()
}

fn offline_cancel_walk(w: &Words) {
    let k = booking_kiosk(Hub::Offline);
    find(&k, w);
    cancel(&k, w);
    assert!(shows(&k.app, w.sent));
    assert_eq!(
        queued_cancel(&k.store),
        [json!({"booking_code": k.code.to_string()})]
    );
    // Looked up again, the booking says its cancellation is on its way.
    press(&k.app, w.done);
    press(&k.app, w.my_booking);
    type_code(&k.app, &k.code.to_string());
    press(&k.app, w.show);
    assert!(shows(&k.app, w.cancel_sent));
    assert_eq!(buttons_labelled(&k.app, w.cancel), 0, "not cancelled twice");
}

#[test]
fn a_booking_is_shown_reprinted_and_its_cancellation_queued_in_german() {
    offline_cancel_walk(&DE);
}

#[test]
fn a_booking_is_shown_reprinted_and_its_cancellation_queued_in_arabic() {
    let k = booking_kiosk(Hub::Offline);
    tap(&k.app, "Sprache");
    tap(&k.app, "العربية");
    find(&k, &AR);
    // "Nochmal drucken" starts the row: on the right in Arabic.
    let (reprint, _) = bounds(&button(&k.app, AR.reprint));
    let (cancel_at, _) = bounds(&button(&k.app, AR.cancel));
    assert!(cancel_at.x < reprint.x, "the row is mirrored");
    cancel(&k, &AR);
    assert!(shows(&k.app, AR.sent));
    assert_eq!(
        queued_cancel(&k.store),
        [json!({"booking_code": k.code.to_string()})]
    );
}

#[test]
fn the_hubs_answer_shows_the_booking_cancelled() {
    let k = booking_kiosk(Hub::Answers(cancelled()));
    find(&k, &DE);
    cancel(&k, &DE);
    assert!(shows(&k.app, DE.cancelled));
    assert!(
        queued_cancel(&k.store).is_empty(),
        "answered, nothing waits"
    );
    press(&k.app, DE.done);
    assert_eq!(page(&k.app), Page::Start);
}

#[test]
fn a_mistyped_or_short_code_is_explained_and_changes_nothing() {
    let k = booking_kiosk(Hub::Offline);
    let before = dump(&k.path);
    let app = &k.app;
    press(app, DE.my_booking);
    type_code(app, &mistyped(&k.code));
    press(app, DE.show);
    assert_eq!(page(app), Page::BookingCode);
    assert!(shows(app, DE.wrong));
    // One character less: too short. "Löschen" takes the last one away.
    press(app, "Löschen");
    press(app, DE.show);
    assert!(shows(app, "Ein Buchungscode hat 9 Zeichen."));
    assert_eq!(page(app), Page::BookingCode);
    assert_eq!(*k.finds.borrow(), 0, "nothing was looked up");
    assert_eq!(dump(&k.path), before, "nothing changed");
    // Arabic says so too.
    tap(app, "Zurück");
    assert_eq!(page(app), Page::Start);
    tap(app, "Sprache");
    tap(app, "العربية");
    press(app, AR.my_booking);
    type_code(app, &mistyped(&k.code));
    press(app, AR.show);
    assert!(shows(app, AR.wrong));
    assert_eq!(dump(&k.path), before, "nothing changed");
}

#[test]
fn a_code_booked_elsewhere_can_still_be_cancelled() {
    let k = booking_kiosk(Hub::Offline);
    let elsewhere = BookingCode::from_uuid(Uuid::from_u128(0xE15E));
    press(&k.app, DE.my_booking);
    type_code(&k.app, &elsewhere.to_string());
    press(&k.app, DE.show);
    assert_eq!(page(&k.app), Page::BookingShown);
    assert!(shows(
        &k.app,
        "Diese Buchung ist nicht auf diesem Gerät gespeichert. Sie können sie trotzdem absagen."
    ));
    assert_eq!(
        buttons_labelled(&k.app, DE.reprint),
        0,
        "nothing to reprint here"
    );
    cancel(&k, &DE);
    assert!(shows(&k.app, DE.sent));
    assert_eq!(
        queued_cancel(&k.store),
        [json!({"booking_code": elsewhere.to_string()})]
    );
}

#[test]
fn the_idle_reset_forgets_the_code() {
    let k = booking_kiosk(Hub::Offline);
    press(&k.app, DE.my_booking);
    type_code(&k.app, &k.code.to_string());
    press(&k.app, DE.show);
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(page(&k.app), Page::Start);
    let screen = k.app.global::<BookingScreen>();
    assert!(screen.get_typed().is_empty() && screen.get_code().is_empty());
    assert!(screen.get_place().is_empty() && screen.get_when().is_empty());
}

/// A standing booking of tomorrow says when it is, as the hub's e-mail reminder to caregivers
/// does; one further ahead or cancelled says nothing of it.
#[test]
fn a_booking_of_tomorrow_shows_a_reminder_line() {
    use chrono::TimeZone;
    use kiosk::requests::{BookingView, Standing, What};
    let app = kiosk_window();
    let tz = chrono_tz::Europe::Berlin;
    let at = |days: i64| {
        let date =
            chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(days);
        tz.from_local_datetime(&date.and_hms_opt(9, 30, 0).expect("a time"))
            .earliest()
            .expect("9:30 exists")
            .to_rfc3339()
    };
    let code = BookingCode::from_uuid(Uuid::new_v4());
    let mut view = BookingView {
        code,
        what: What::Ride,
        from: Some(at(1)),
        until: None,
        place: Some("Praxis Dr. Weber".into()),
        home: false,
        standing: Standing::Confirmed,
    };
    let line = "Erinnerung: morgen um 9:30 Uhr";
    booking::show(&app, &code, Some(&view), tz);
    assert_eq!(page(&app), Page::BookingShown);
    assert!(shows(&app, line), "the reminder line");
    view.standing = Standing::Cancelled;
    booking::show(&app, &code, Some(&view), tz);
    assert!(!shows(&app, line), "not for a cancelled booking");
    view.standing = Standing::Confirmed;
    view.from = Some(at(2));
    booking::show(&app, &code, Some(&view), tz);
    assert!(!shows(&app, line) && !shows(&app, "Erinnerung: heute um 9:30 Uhr"));
}

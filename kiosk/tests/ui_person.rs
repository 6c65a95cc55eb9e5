//! "Für wen?" on Slint's testing backend, every element found by its accessible label, in German
//! and Arabic: a new resident (name on the letter keys, phone, street from the village's list,
//! house number, consent) to a booked ride; a known resident by the number on their tickets (a
//! mistyped one caught by its check digit); a caregiver with phone and PIN choosing a person,
//! and the login's refusals (wrong PIN, locked, offline with the hub's phone number); the idle
//! reset forgetting everything typed.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk::core::{BookingResult, BookingStatus, Rider};
use kiosk::ui::person::{self, LoginAnswer, PersonPlace};
use kiosk::ui::ride::{self, DestinationChoice, RideDraft};
use kiosk::ui::{AppWindow, Navigation, Page, PersonScreen};
use protocol::people::{CaredFor, CaregiverSession, NewResident};
use protocol::{BookingCode, ResidentNumber};
use slint::{ComponentHandle, Model};
use uuid::Uuid;

use crate::ui::{bounds, button, kiosk_window, tap};

type Logins = Rc<RefCell<Vec<(String, String)>>>;

/// A kiosk whose bookings are confirmed at once; the drafts and caregiver logins are kept.
fn person_kiosk() -> (AppWindow, Rc<RefCell<Vec<RideDraft>>>, Logins) {
    let app = kiosk_window();
    let drafts = Rc::new(RefCell::new(Vec::new()));
    let logins: Logins = Rc::new(RefCell::new(Vec::new()));
    let seen = logins.clone();
    person::init(
        &app,
        PersonPlace {
            streets: vec!["Am Kamp".into(), "Hauptstraße".into(), "Lindenweg".into()],
            service: "Fahrdienst Elm-Asse".into(),
            hub_phone: "05332 1234".into(),
        },
        move |phone, pin| seen.borrow_mut().push((phone, pin)),
    );
    let places = vec![DestinationChoice {
        id: "d-weber".into(),
        name: "Praxis Dr. Weber".into(),
        category: "Arzt".into(),
        note: "Lange Str. 1, Salzgitter".into(),
    }];
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date");
    let (weak, kept) = (app.as_weak(), drafts.clone());
    ride::init(&app, places, today, move |draft| {
        kept.borrow_mut().push(draft);
        let id = Uuid::from_u128(7);
        let result = BookingResult {
            id,
            code: BookingCode::from_uuid(id),
            status: BookingStatus::Confirmed {
                window_start: "2026-12-03T08:10:00Z".into(),
                window_end: "2026-12-03T08:30:00Z".into(),
            },
        };
        let app = weak.upgrade().expect("the window is open");
        ride::show_result(&app, &result, chrono_tz::Europe::Berlin);
    });
    (app, drafts, logins)
}

/// Taps the button `label` after checking it is a big enough target.
fn press(app: &AppWindow, label: &str) {
    let (_, size) = bounds(&button(app, label));
    assert!(
        size.width >= 95.0 && size.height >= 95.0,
        "{label:?} is {size:?}"
    );
    tap(app, label);
}

fn shows(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .any(|e| e.accessible_role() == Some(AccessibleRole::Text))
}

/// Whether a text containing `part` is on screen.
fn shows_part(app: &AppWindow, part: &str) -> bool {
    let part = part.to_string();
    !ElementQuery::from_root(app)
        .match_descendants()
        .match_predicate(move |e| {
            e.accessible_role() == Some(AccessibleRole::Text)
                && e.accessible_label()
                    .is_some_and(|l| l.contains(part.as_str()))
        })
        .find_all()
        .is_empty()
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// The labels the flows tap, in one language.
struct Words {
    ride: &'static str,
    me: &'static str,
    other: &'static str,
    new: &'static str,
    known: &'static str,
    next: &'static str,
    space: &'static str,
    agree: &'static str,
    book: &'static str,
    again: &'static str,
    language: &'static str,
}

const DE: Words = Words {
    ride: "Fahrt buchen",
    me: "Für mich",
    other: "Für jemand anderen",
    new: "Ich bin neu",
    known: "Ich war schon dabei",
    next: "Weiter",
    space: "Leerzeichen",
    agree: "Ich bin einverstanden",
    book: "Buchen",
    again: "Nochmal",
    language: "de",
};

const AR: Words = Words {
    ride: "حجز رحلة",
    me: "لي أنا",
    other: "لشخص آخر",
    new: "أنا جديد",
    known: "ركبت من قبل",
    next: "التالي",
    space: "مسافة",
    agree: "أنا موافق",
    book: "احجز",
    again: "مرة أخرى",
    language: "ar",
};

fn in_language(app: &AppWindow, w: &Words) {
    if w.language == "ar" {
        tap(app, "Sprache");
        tap(app, "العربية");
    }
}

fn type_text(app: &AppWindow, w: &Words, text: &str) {
    for c in text.chars() {
        match c {
            ' ' => press(app, w.space),
            c => press(app, &c.to_string()),
        }
    }
}

/// From "Wohin?" to the booked ride.
fn book(app: &AppWindow, w: &Words) {
    assert_eq!(page(app), Page::RideWhere);
    press(app, "Arzt");
    press(app, "Praxis Dr. Weber");
    press(app, w.next);
    press(app, w.next);
    press(app, w.book);
    assert_eq!(page(app), Page::RideResult);
}

fn new_resident_books(w: &Words) {
    let (app, drafts, _) = person_kiosk();
    in_language(&app, w);
    press(&app, w.ride);
    assert_eq!(page(&app), Page::Person);
    press(&app, w.me);
    press(&app, w.new);
    // "Weiter" without a name says what is missing and stays.
    press(&app, w.next);
    assert_eq!(
        app.global::<PersonScreen>().get_step(),
        kiosk::ui::PersonStep::Name
    );
    type_text(&app, w, "HANNELORE WIESE");
    assert_eq!(app.global::<PersonScreen>().get_name(), "Hannelore Wiese");
    press(&app, w.next);
    type_text(&app, w, "0533244");
    press(&app, w.next);
    press(&app, "Lindenweg");
    type_text(&app, w, "7");
    press(&app, w.next);
    // The consent says who gets the data.
    assert!(
        shows_part(&app, "Fahrdienst Elm-Asse"),
        "the consent names the service"
    );
    press(&app, w.agree);
    book(&app, w);
    let drafts = drafts.borrow();
    assert_eq!(drafts.len(), 1);
    assert_eq!(
        drafts[0].rider,
        Rider::New(NewResident {
            name: "Hannelore Wiese".into(),
            phone: Some("0533244".into()),
            street: "Lindenweg".into(),
            house_number: "7".into(),
            language: w.language.into(),
            consent: true,
        })
    );
}

#[test]
fn a_new_resident_books_in_german() {
    new_resident_books(&DE);
}

#[test]
fn a_new_resident_books_in_arabic() {
    new_resident_books(&AR);
}

fn known_resident_books(w: &Words) {
    let (app, drafts, _) = person_kiosk();
    in_language(&app, w);
    press(&app, w.ride);
    press(&app, w.me);
    press(&app, w.known);
    let number = ResidentNumber::from_body(482_913);
    let digits: Vec<char> = number.compact().chars().collect();
    // The last digit mistyped: the check digit catches it, and the screen stays.
    let wrong = if digits[6] == '9' { '8' } else { '9' };
    for c in digits[..6].iter().chain(std::iter::once(&wrong)) {
        press(&app, &c.to_string());
    }
    press(&app, w.next);
    assert_eq!(page(&app), Page::Person);
    assert!(app.global::<PersonScreen>().get_number_wrong());
    // "Löschen" and the right digit.
    let erase = if w.language == "ar" {
        "حذف"
    } else {
        "Löschen"
    };
    press(&app, erase);
    press(&app, &digits[6].to_string());
    press(&app, w.next);
    book(&app, w);
    assert_eq!(drafts.borrow()[0].rider, Rider::Number(number));
}

#[test]
fn a_known_resident_books_by_number_in_german() {
    known_resident_books(&DE);
}

#[test]
fn a_known_resident_books_by_number_in_arabic() {
    known_resident_books(&AR);
}

fn session() -> CaregiverSession {
    CaregiverSession {
        caregiver_id: "c-jonas".into(),
        residents: vec![
            CaredFor {
                resident_id: "p-erna".into(),
                first_name: "Erna".into(),
                village: "Kneitlingen".into(),
            },
            CaredFor {
                resident_id: "p-karl".into(),
                first_name: "Karl".into(),
                village: "Uehrde".into(),
            },
        ],
    }
}

fn caregiver_books(w: &Words) {
    let (app, drafts, logins) = person_kiosk();
    in_language(&app, w);
    press(&app, w.ride);
    press(&app, w.other);
    type_text(&app, w, "01712345678");
    press(&app, w.next);
    type_text(&app, w, "111222");
    // The PIN is never shown, only its dots.
    assert_eq!(app.global::<PersonScreen>().get_pin_dots(), "••••••");
    press(&app, w.next);
    assert_eq!(
        logins.borrow().as_slice(),
        [("01712345678".to_string(), "111222".to_string())]
    );
    // A wrong PIN: try again.
    person::show_login(&app, LoginAnswer::WrongPin);
    press(&app, w.again);
    type_text(&app, w, "480517");
    press(&app, w.next);
    assert_eq!(logins.borrow().len(), 2);
    assert_eq!(logins.borrow()[1].1, "480517");
    assert_eq!(
        app.global::<PersonScreen>().get_pin(),
        "",
        "the PIN is not kept"
    );
    person::show_login(&app, LoginAnswer::Session(session()));
    press(&app, "Karl (Uehrde)");
    book(&app, w);
    assert_eq!(
        drafts.borrow()[0].rider,
        Rider::CaredFor {
            caregiver_id: "c-jonas".into(),
            resident_id: "p-karl".into()
        }
    );
}

#[test]
fn a_caregiver_books_for_a_person_in_german() {
    caregiver_books(&DE);
}

#[test]
fn a_caregiver_books_for_a_person_in_arabic() {
    caregiver_books(&AR);
}

#[test]
fn offline_or_locked_the_caregiver_is_told_plainly() {
    let (app, drafts, _) = person_kiosk();
    press(&app, DE.ride);
    press(&app, DE.other);
    type_text(&app, &DE, "01712345678");
    press(&app, DE.next);
    type_text(&app, &DE, "480517");
    press(&app, DE.next);
    person::show_login(&app, LoginAnswer::Offline);
    assert!(shows_part(&app, "braucht der Kiosk eine Verbindung"));
    assert!(
        shows_part(&app, "05332 1234"),
        "the hub's phone number is shown"
    );
    person::show_login(&app, LoginAnswer::Locked);
    assert!(shows(
        &app,
        "Zu viele falsche Versuche. Die PIN ist 15 Minuten gesperrt."
    ));
    assert!(person::rider(&app).is_none());
    assert!(drafts.borrow().is_empty());
}

#[test]
fn the_idle_reset_forgets_everything_typed() {
    let (app, _, _) = person_kiosk();
    press(&app, DE.ride);
    press(&app, DE.me);
    press(&app, DE.new);
    type_text(&app, &DE, "HANNELORE");
    press(&app, DE.next);
    type_text(&app, &DE, "0533244");
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    let screen = app.global::<PersonScreen>();
    assert_eq!(screen.get_name(), "");
    assert_eq!(screen.get_phone(), "");
    assert_eq!(screen.get_kind(), "");
    assert!(person::rider(&app).is_none());
    // A caregiver's list goes too.
    press(&app, DE.ride);
    press(&app, DE.other);
    type_text(&app, &DE, "01712345678");
    press(&app, DE.next);
    type_text(&app, &DE, "480517");
    press(&app, DE.next);
    person::show_login(&app, LoginAnswer::Session(session()));
    assert!(
        ElementHandle::find_by_accessible_label(&app, "Erna (Kneitlingen)")
            .next()
            .is_some()
    );
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    assert_eq!(screen.get_people().row_count(), 0);
    assert_eq!(screen.get_caregiver_id(), "");
}

/// A new resident's details travel in the entry until the hub answers, then leave the kiosk's
/// store (`store/personal.rs`); offline they wait in the outbox, unchanged.
#[tokio::test(flavor = "current_thread")]
async fn a_new_residents_details_leave_the_store_with_the_hubs_answer() {
    use kiosk::core::{Place, RideAsk, When};
    let (_dir, path, store) = crate::open_store();
    let hub = crate::hub::Hub::new();
    let ask = RideAsk {
        region_id: "r1".into(),
        resident_id: String::new(),
        from: Place::Home,
        to: Place::Destination("d-weber".into()),
        when: When::Appointment(chrono::Utc::now() + chrono::Duration::days(1)),
        passengers: 1,
        wheelchair: false,
        walker: false,
    };
    let rider = Rider::New(NewResident {
        name: "Hannelore Wiese".into(),
        phone: Some("0533244".into()),
        street: "Lindenweg".into(),
        house_number: "7".into(),
        language: "de".into(),
        consent: true,
    });
    hub.set_down(true);
    let within = std::time::Duration::from_secs(2);
    let (offline, number) = kiosk::core::book_ride_for(&store, &hub, &ask, &rider, within)
        .await
        .expect("stored");
    assert_eq!(offline.status.word(), "requested");
    assert!(number.is_none());
    assert!(
        crate::dump(&path).contains("Hannelore Wiese"),
        "kept until answered"
    );
    hub.set_down(false);
    kiosk::core::sync_within(&store, &hub, within)
        .await
        .expect("synced")
        .expect("in time");
    let sent = hub.requests();
    let body = &sent.last().expect("a request").outbox[0].body;
    assert_eq!(body["new_resident"]["street"], "Lindenweg");
    assert!(
        body.get("resident_id").is_none(),
        "the rider replaces the id"
    );
    let after = crate::dump(&path);
    for personal in ["Hannelore", "0533244", "Lindenweg", "new_resident"] {
        assert!(!after.contains(personal), "{personal} stayed: {after}");
    }
}

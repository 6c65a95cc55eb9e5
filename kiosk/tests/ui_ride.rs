//! The ride flow on Slint's testing backend, every element found by its accessible label: in
//! German and in Arabic to a confirmed ride and to an offline request (the resident known by the
//! number on their tickets), "Zurück" one step back from every screen, the choices arriving as a
//! `RideDraft`, the rows mirrored in Arabic, and every text of the day and needs rows in the
//! body size. The other ways of saying who the ride is for are in `ui_person.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{NaiveDate, NaiveTime};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::core::{BookingResult, BookingStatus, Rider};
use kiosk::ui::person::{self, PersonPlace};
use kiosk::ui::ride::{self, DestinationChoice, RideDraft};
use kiosk::ui::{AppWindow, Navigation, Page, RideScreen};
use protocol::{BookingCode, ResidentNumber};
use slint::ComponentHandle;
use uuid::Uuid;

use crate::ui::{bounds, button, kiosk_window, tap};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date")
}

fn places() -> Vec<DestinationChoice> {
    let place = |id: &str, name: &str, category: &str| DestinationChoice {
        id: id.into(),
        name: name.into(),
        category: category.into(),
        note: "Lange Str. 1, Salzgitter".into(),
    };
    vec![
        place("d-weber", "Praxis Dr. Weber", "Arzt"),
        place("d-markt", "Apotheke am Markt", "Apotheke"),
        place("d-klinik", "Klinikum Salzgitter", "Arzt"),
    ]
}

/// A kiosk whose booking answers at once with `status`; the drafts it was given are kept.
fn ride_kiosk(status: BookingStatus) -> (AppWindow, Rc<RefCell<Vec<RideDraft>>>, BookingCode) {
    let app = kiosk_window();
    let drafts = Rc::new(RefCell::new(Vec::new()));
    let id = Uuid::from_u128(0x5eed);
    let code = BookingCode::from_uuid(id);
    let result = BookingResult { id, code, status };
    person::init(&app, PersonPlace::default(), |_, _| {});
    let (weak, seen) = (app.as_weak(), drafts.clone());
    ride::init(&app, places(), today(), move |draft| {
        seen.borrow_mut().push(draft);
        let app = weak.upgrade().expect("the window is open");
        ride::show_result(&app, &result, chrono_tz::Europe::Berlin);
    });
    (app, drafts, code)
}

fn confirmed() -> BookingStatus {
    BookingStatus::Confirmed {
        window_start: "2026-12-03T08:10:00Z".into(),
        window_end: "2026-12-03T08:30:00Z".into(),
    }
}

fn offline() -> BookingStatus {
    BookingStatus::Requested { reason: None }
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

/// Whether a text labelled `label` is on screen.
fn shows(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .any(|e| e.accessible_role() == Some(AccessibleRole::Text))
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// The labels the flow taps, in one language.
struct Words {
    ride: &'static str,
    me: &'static str,
    known: &'static str,
    day_later: &'static str,
    later: &'static str,
    next: &'static str,
    walker: &'static str,
    return_trip: &'static str,
    book: &'static str,
    print: &'static str,
    back: &'static str,
}

const DE: Words = Words {
    ride: "Fahrt buchen",
    me: "Für mich",
    known: "Ich war schon dabei",
    day_later: "Einen Tag später",
    later: "15 Minuten später",
    next: "Weiter",
    walker: "Rollator",
    return_trip: "Rückfahrt",
    book: "Buchen",
    print: "Drucken",
    back: "Zurück",
};

const AR: Words = Words {
    ride: "حجز رحلة",
    me: "لي أنا",
    known: "ركبت من قبل",
    day_later: "يوم أبعد",
    later: "أتأخر بـ 15 دقيقة",
    next: "التالي",
    walker: "مشاية",
    return_trip: "رحلة العودة",
    book: "احجز",
    print: "اطبع",
    back: "رجوع",
};

/// The resident number the walks type.
fn number() -> ResidentNumber {
    ResidentNumber::from_body(482_913)
}

/// "Für mich", "Ich war schon dabei", the number on the digit keys, "Weiter".
fn say_who(app: &AppWindow, w: &Words) {
    assert_eq!(page(app), Page::Person);
    press(app, w.me);
    press(app, w.known);
    for digit in number().compact().chars() {
        press(app, &digit.to_string());
    }
    press(app, w.next);
}

/// Walks from the start screen to the result: a doctor tomorrow at 09:30 with a walker and a
/// ride back.
fn walk(app: &AppWindow, w: &Words) {
    press(app, w.ride);
    say_who(app, w);
    assert_eq!(page(app), Page::RideWhere);
    press(app, "Arzt");
    assert_eq!(page(app), Page::RideDestination);
    // The places of that category only, in the order given.
    button(app, "Klinikum Salzgitter");
    assert!(
        ElementHandle::find_by_accessible_label(app, "Apotheke am Markt")
            .next()
            .is_none()
    );
    press(app, "Praxis Dr. Weber");
    assert_eq!(page(app), Page::RideWhen);
    press(app, w.day_later);
    assert_eq!(app.global::<RideScreen>().get_day(), 1);
    press(app, w.later);
    press(app, w.later);
    press(app, w.next);
    assert_eq!(page(app), Page::RideNeeds);
    press(app, w.walker);
    press(app, w.return_trip);
    assert_eq!(button(app, w.walker).accessible_checked(), Some(true));
    press(app, w.next);
    assert_eq!(page(app), Page::RideSummary);
    press(app, w.book);
    assert_eq!(page(app), Page::RideResult);
}

fn assert_draft(drafts: &RefCell<Vec<RideDraft>>) {
    assert_eq!(
        drafts.borrow().as_slice(),
        [RideDraft {
            rider: Rider::Number(number()),
            destination_id: "d-weber".into(),
            destination_name: "Praxis Dr. Weber".into(),
            date: NaiveDate::from_ymd_opt(2026, 12, 3).expect("a date"),
            appointment: NaiveTime::from_hms_opt(9, 30, 0).expect("a time"),
            walker: true,
            wheelchair: false,
            companion: false,
            return_trip: true,
        }]
    );
}

#[test]
fn a_ride_is_booked_in_german_and_the_pickup_window_shown() {
    let (app, drafts, code) = ride_kiosk(confirmed());
    walk(&app, &DE);
    assert_draft(&drafts);
    assert!(shows(&app, "Gebucht. Abholung: 09:10–09:30"));
    assert!(shows(&app, &format!("Buchungscode: {code}")));
    press(&app, DE.print);
    press(&app, "Fertig");
    assert_eq!(page(&app), Page::Start);
}

#[test]
fn an_offline_ride_is_a_stored_request_in_german() {
    let (app, drafts, code) = ride_kiosk(offline());
    walk(&app, &DE);
    assert_draft(&drafts);
    assert!(shows(&app, "Anfrage gespeichert – wir melden uns"));
    assert!(shows(&app, &format!("Buchungscode: {code}")));
    button(&app, DE.print);
}

fn to_arabic(app: &AppWindow) {
    tap(app, "Sprache");
    tap(app, "العربية");
}

#[test]
fn a_ride_is_booked_in_arabic_with_mirrored_rows() {
    let (app, drafts, code) = ride_kiosk(confirmed());
    to_arabic(&app);
    press(&app, AR.ride);
    // "For me" is on the right in Arabic.
    let (me, _) = bounds(&button(&app, AR.me));
    let (other, _) = bounds(&button(&app, "لشخص آخر"));
    assert!(other.x < me.x, "the choices are mirrored");
    say_who(&app, &AR);
    press(&app, "Arzt");
    press(&app, "Praxis Dr. Weber");
    // The day's stepper is mirrored like the time's.
    let (day_earlier, _) = bounds(&button(&app, "يوم أبكر"));
    let (day_later, _) = bounds(&button(&app, AR.day_later));
    assert!(day_later.x < day_earlier.x, "days run right to left");
    let (earlier, _) = bounds(&button(&app, "أبكر بـ 15 دقيقة"));
    let (later, _) = bounds(&button(&app, AR.later));
    assert!(later.x < earlier.x, "the stepper is mirrored");
    let (next, _) = bounds(&button(&app, AR.next));
    assert!(next.x < 640.0, "\"next\" is on the left: {next:?}");
    tap(&app, AR.back);
    assert_eq!(page(&app), Page::RideDestination);
    press(&app, "Praxis Dr. Weber");
    press(&app, AR.day_later);
    press(&app, AR.later);
    press(&app, AR.later);
    press(&app, AR.next);
    press(&app, AR.walker);
    press(&app, AR.return_trip);
    press(&app, AR.next);
    press(&app, AR.book);
    assert_draft(&drafts);
    assert!(shows(&app, "تم الحجز. نأتي لأخذك: 09:10–09:30"));
    assert!(shows(&app, &format!("رمز الحجز: {code}")));
    button(&app, AR.print);
}

#[test]
fn an_offline_ride_is_a_stored_request_in_arabic() {
    let (app, drafts, _) = ride_kiosk(offline());
    to_arabic(&app);
    walk(&app, &AR);
    assert_draft(&drafts);
    assert!(shows(&app, "تم حفظ الطلب – سنتصل بك"));
}

#[test]
fn back_returns_one_step_from_every_ride_screen() {
    let (app, drafts, _) = ride_kiosk(confirmed());
    press(&app, DE.ride);
    say_who(&app, &DE);
    press(&app, "Arzt");
    press(&app, "Praxis Dr. Weber");
    press(&app, DE.next);
    press(&app, DE.next);
    assert_eq!(page(&app), Page::RideSummary);
    // Back through the ride, then the number, "Für mich" and "Für wen?".
    for expected in [
        Page::RideNeeds,
        Page::RideWhen,
        Page::RideDestination,
        Page::RideWhere,
        Page::Person,
        Page::Person,
        Page::Person,
        Page::Start,
    ] {
        press(&app, DE.back);
        assert_eq!(page(&app), expected);
    }
    assert!(drafts.borrow().is_empty(), "nothing was booked");
    // A new ride starts with nothing chosen.
    press(&app, DE.ride);
    say_who(&app, &DE);
    press(&app, "Arzt");
    assert_eq!(
        button(&app, "Praxis Dr. Weber").accessible_checked(),
        Some(false)
    );
}

#[test]
fn the_idle_reset_forgets_the_ride() {
    let (app, drafts, _) = ride_kiosk(confirmed());
    press(&app, DE.ride);
    say_who(&app, &DE);
    press(&app, "Arzt");
    press(&app, "Praxis Dr. Weber");
    press(&app, DE.later);
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    assert!(ride::draft(&app, today()).is_none(), "nothing chosen stays");
    assert!(person::rider(&app).is_none(), "nor who it was for");
    assert!(drafts.borrow().is_empty());
}

/// The texts of the day and needs rows are in the body size (capitals at least 7 mm), in the
/// longest of the languages too.
#[test]
fn the_day_and_needs_rows_use_the_body_size() {
    let (app, _, _) = ride_kiosk(confirmed());
    tap(&app, "Sprache");
    tap(&app, "English");
    press(&app, "Book a ride");
    press(&app, "For me");
    press(&app, "I have ridden before");
    for digit in number().compact().chars() {
        press(&app, &digit.to_string());
    }
    press(&app, "Next");
    press(&app, "Arzt");
    press(&app, "Praxis Dr. Weber");
    press(&app, "Next");
    assert_eq!(page(&app), Page::RideNeeds);
    // "Someone comes with me" wraps to two lines instead of shrinking: the button is tall enough
    // for two lines of body text.
    let (_, size) = bounds(&button(&app, "Someone comes with me"));
    assert!(size.height >= 2.0 * 56.0 * 1.1, "{size:?}");
}

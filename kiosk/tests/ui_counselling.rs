//! The counselling flow and the IMBUS timetable on Slint's testing backend, every element found
//! by its accessible label: in German and in Arabic to a confirmed appointment and to an offline
//! request, a slot taken meanwhile, "Zurück" one step back from every screen, the timetable with
//! a cancelled visit and its (short, one-line) reason, the choices arriving as an
//! `AppointmentDraft`, rows mirrored in Arabic, and the idle reset forgetting the choices.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::core::{BookingResult, BookingStatus, SLOT_TAKEN, Topic};
use kiosk::ui::counselling::{
    self, AppointmentDraft, Host, Offer, Session, SlotOffer, VisitChange, VisitLine,
};
use kiosk::ui::{AppWindow, Navigation, Page, Printing};
use protocol::BookingCode;
use slint::ComponentHandle;
use uuid::Uuid;

use crate::ui::{bounds, button, buttons_labelled, kiosk_window, tap};

/// The kiosk's clock in these tests: Wednesday, 2 December 2026, 08:00 in Berlin.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0)
        .single()
        .expect("a valid instant")
}

fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, minute, 0)
        .single()
        .expect("a valid instant")
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time")
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, day).expect("a valid date")
}

fn slot(id: &str, day: u32, hour: u32, minute: u32) -> SlotOffer {
    SlotOffer {
        id: id.into(),
        starts_at: utc(day, hour, minute),
        ends_at: utc(day, hour, minute) + chrono::Duration::minutes(20),
        time: time(hour + 1, minute),
    }
}

/// An IMBUS visit on Thursday with three slots, this kiosk's consultation hours the same day,
/// an IMBUS visit on Monday, and one this morning that has passed by the time the screen opens.
fn offer() -> Offer {
    let session = |host, day, from, to, place: &str, slots| Session {
        host,
        date: date(day),
        from,
        to,
        ends_at: utc(day, 11, 0),
        place: place.into(),
        slots,
        change: VisitChange::default(),
    };
    Offer {
        sessions: vec![
            session(
                Host::Imbus,
                2,
                time(7, 0),
                time(8, 0),
                "Dorfplatz",
                vec![slot("sl-gone", 2, 6, 0)],
            ),
            session(
                Host::Imbus,
                3,
                time(9, 0),
                time(12, 0),
                "Dorfplatz",
                vec![
                    slot("sl-0900", 3, 8, 0),
                    slot("sl-0920", 3, 8, 20),
                    slot("sl-0940", 3, 8, 40),
                ],
            ),
            session(
                Host::Kiosk,
                3,
                time(14, 0),
                time(16, 0),
                "",
                vec![slot("sl-1430", 3, 13, 30)],
            ),
            session(
                Host::Imbus,
                7,
                time(9, 0),
                time(12, 0),
                "Dorfplatz",
                vec![slot("sl-mon", 7, 8, 0)],
            ),
        ],
        visits: vec![
            visit(3, "Dorfplatz", "Groß Vahlberg", true, None),
            visit(5, "Dorfplatz", "Groß Vahlberg", true, Some("Bus defekt")),
            visit(3, "Kirche", "Remlingen", false, None),
        ],
    }
}

fn visit(day: u32, stop: &str, village: &str, here: bool, cancelled: Option<&str>) -> VisitLine {
    VisitLine {
        date: date(day),
        from: time(9, 0),
        to: time(12, 0),
        ends_at: utc(day, 11, 0),
        stop: stop.into(),
        village: village.into(),
        here,
        change: VisitChange {
            cancelled: cancelled.map(String::from),
            ..VisitChange::default()
        },
    }
}

type Drafts = Rc<RefCell<Vec<AppointmentDraft>>>;

/// A kiosk whose booking answers at once with `status`; the drafts it was given and the codes
/// sent to the printer are kept.
fn counselling_kiosk(
    status: BookingStatus,
) -> (AppWindow, Drafts, BookingCode, Rc<RefCell<Vec<String>>>) {
    let app = kiosk_window();
    let drafts = Rc::new(RefCell::new(Vec::new()));
    let id = Uuid::from_u128(0xbe7a);
    let code = BookingCode::from_uuid(id);
    let result = BookingResult { id, code, status };
    let (weak, seen) = (app.as_weak(), drafts.clone());
    counselling::init(&app, now, move |draft| {
        seen.borrow_mut().push(draft);
        let app = weak.upgrade().expect("the window is open");
        counselling::show_result(&app, &result);
    });
    counselling::set_offer(&app, &offer());
    let printed = Rc::new(RefCell::new(Vec::new()));
    let jobs = printed.clone();
    app.global::<Printing>()
        .on_print_booking(move |code| jobs.borrow_mut().push(code.to_string()));
    (app, drafts, code, printed)
}

fn confirmed() -> BookingStatus {
    BookingStatus::Confirmed {
        window_start: "2026-12-03T08:20:00Z".into(),
        window_end: "2026-12-03T08:40:00Z".into(),
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

/// The labels the flow taps and reads, in one language.
struct Words {
    tile: &'static str,
    thursday_visit: &'static str,
    topic: &'static str,
    book: &'static str,
    when: &'static str,
    place: &'static str,
    about: &'static str,
    confirmed: &'static str,
    requested: &'static str,
    code: &'static str,
    print: &'static str,
    done: &'static str,
}

const DE: Words = Words {
    tile: "Beratung buchen",
    thursday_visit: "Donnerstag, 03.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz",
    topic: "Einsamkeit",
    book: "Buchen",
    when: "Wann: Donnerstag, 03.12., 09:20",
    place: "Wo: IMBUS, Haltestelle Dorfplatz",
    about: "Thema: Einsamkeit",
    confirmed: "Ihr Termin ist gebucht: Donnerstag, 03.12., 09:20",
    requested: "Anfrage gespeichert – wir melden uns",
    code: "Buchungscode: ",
    print: "Drucken",
    done: "Fertig",
};

const AR: Words = Words {
    tile: "حجز استشارة",
    thursday_visit: "الخميس, 03.12., 09:00–12:00, حافلة IMBUS، محطة Dorfplatz",
    topic: "الوحدة",
    book: "احجز",
    when: "متى: الخميس, 03.12., 09:20",
    place: "أين: حافلة IMBUS، محطة Dorfplatz",
    about: "الموضوع: الوحدة",
    confirmed: "تم حجز موعدك: الخميس, 03.12., 09:20",
    requested: "تم حفظ الطلب – سنتصل بك",
    code: "رمز الحجز: ",
    print: "اطبع",
    done: "انتهى",
};

/// Walks from the start screen to the result: the IMBUS on Thursday at 09:20, about loneliness.
fn walk(app: &AppWindow, w: &Words) {
    press(app, w.tile);
    assert_eq!(page(app), Page::CounsellingWhen);
    press(app, w.thursday_visit);
    assert_eq!(page(app), Page::CounsellingSlot);
    press(app, "09:20");
    assert_eq!(page(app), Page::CounsellingTopic);
    press(app, w.topic);
    assert_eq!(page(app), Page::CounsellingSummary);
    for line in [w.when, w.place, w.about] {
        assert!(shows(app, line), "{line:?} is on the summary");
    }
    press(app, w.book);
    assert_eq!(page(app), Page::CounsellingResult);
}

fn assert_draft(drafts: &RefCell<Vec<AppointmentDraft>>) {
    assert_eq!(
        drafts.borrow().as_slice(),
        [AppointmentDraft {
            slot_id: "sl-0920".into(),
            starts_at: utc(3, 8, 20),
            ends_at: utc(3, 8, 40),
            host: Host::Imbus,
            topic: Topic::Loneliness,
        }]
    );
}

#[test]
fn counselling_is_booked_in_german_and_printed() {
    let (app, drafts, code, printed) = counselling_kiosk(confirmed());
    walk(&app, &DE);
    assert_draft(&drafts);
    assert!(shows(&app, DE.confirmed));
    assert!(shows(&app, &format!("{}{code}", DE.code)));
    press(&app, DE.print);
    assert_eq!(printed.borrow().as_slice(), [code.to_string()]);
    press(&app, DE.done);
    assert_eq!(page(&app), Page::Start);
    // The booked slot is offered no more.
    press(&app, DE.tile);
    press(&app, DE.thursday_visit);
    assert_eq!(buttons_labelled(&app, "09:20"), 0);
    button(&app, "09:40");
}

#[test]
fn offline_counselling_is_a_stored_request_in_german() {
    let (app, drafts, code, _) = counselling_kiosk(offline());
    walk(&app, &DE);
    assert_draft(&drafts);
    assert!(shows(&app, DE.requested));
    assert!(shows(&app, &format!("{}{code}", DE.code)));
    button(&app, DE.print);
}

#[test]
fn what_has_passed_is_not_offered_and_more_sessions_are_a_tap_away() {
    let (app, _, _, _) = counselling_kiosk(confirmed());
    press(&app, DE.tile);
    // This morning's visit has passed by the kiosk's clock.
    assert_eq!(
        buttons_labelled(
            &app,
            "Mittwoch, 02.12., 07:00–08:00, IMBUS, Haltestelle Dorfplatz"
        ),
        0
    );
    let hours = "Donnerstag, 03.12., 14:00–16:00, Sprechstunde hier im Dorfpunkt";
    button(&app, DE.thursday_visit);
    button(&app, hours);
    let monday = "Montag, 07.12., 09:00–12:00, IMBUS, Haltestelle Dorfplatz";
    assert_eq!(buttons_labelled(&app, monday), 0, "a page shows two");
    assert_eq!(buttons_labelled(&app, "Nach oben"), 0);
    press(&app, "Nach unten");
    button(&app, monday);
    assert_eq!(buttons_labelled(&app, DE.thursday_visit), 0);
    press(&app, "Nach oben");
    // The consultation hours at this kiosk: their one slot, then a topic.
    press(&app, hours);
    press(&app, "14:30");
    press(&app, "Etwas anderes");
    assert!(shows(&app, "Wo: Sprechstunde hier im Dorfpunkt"));
    assert!(shows(&app, "Thema: Etwas anderes"));
    let draft = counselling::draft(&app).expect("a complete draft");
    assert_eq!((draft.host, draft.topic), (Host::Kiosk, Topic::Other));
    assert_eq!(draft.slot_id, "sl-1430");
}

#[test]
fn a_slot_taken_meanwhile_is_said_and_another_can_be_chosen() {
    let (app, drafts, code, _) = counselling_kiosk(BookingStatus::Refused {
        title: SLOT_TAKEN.into(),
        detail: "this kiosk gave the slot already".into(),
    });
    walk(&app, &DE);
    assert_eq!(drafts.borrow().len(), 1);
    assert!(shows(&app, "Diese Zeit ist leider schon vergeben."));
    assert!(
        !shows(&app, &format!("{}{code}", DE.code)),
        "no code: nothing was booked"
    );
    assert_eq!(buttons_labelled(&app, DE.print), 0);
    press(&app, "Andere Zeit wählen");
    assert_eq!(page(&app), Page::CounsellingWhen);
    press(&app, DE.thursday_visit);
    assert_eq!(buttons_labelled(&app, "09:20"), 0, "the taken slot is gone");
    press(&app, "09:40");
    // The topic chosen before is still ticked.
    assert_eq!(button(&app, DE.topic).accessible_checked(), Some(true));
}

fn to_arabic(app: &AppWindow) {
    tap(app, "Sprache");
    tap(app, "العربية");
}

#[test]
fn counselling_is_booked_in_arabic_with_mirrored_rows() {
    let (app, drafts, code, printed) = counselling_kiosk(confirmed());
    to_arabic(&app);
    press(&app, AR.tile);
    // The list is on the right, its arrows on the left.
    let (visit, _) = bounds(&button(&app, AR.thursday_visit));
    let (down, _) = bounds(&button(&app, "إلى الأسفل"));
    assert!(down.x < visit.x, "the arrows are on the left: {down:?}");
    press(&app, AR.thursday_visit);
    // The first time is on the right.
    let (first, _) = bounds(&button(&app, "09:00"));
    let (second, _) = bounds(&button(&app, "09:20"));
    assert!(second.x < first.x, "times run right to left");
    press(&app, "09:20");
    let (health, _) = bounds(&button(&app, "الصحة"));
    let (care, _) = bounds(&button(&app, "الرعاية"));
    assert!(care.x < health.x, "topics run right to left");
    let question = ElementHandle::find_by_accessible_label(&app, "ما الموضوع؟")
        .next()
        .expect("the question is on screen");
    assert!(
        question.absolute_position().x > health.x,
        "the question comes first, on the right"
    );
    tap(&app, "رجوع");
    assert_eq!(page(&app), Page::CounsellingSlot);
    press(&app, "09:20");
    press(&app, AR.topic);
    for line in [AR.when, AR.place, AR.about] {
        assert!(shows(&app, line), "{line:?} is on the summary");
    }
    press(&app, AR.book);
    assert_draft(&drafts);
    assert!(shows(&app, AR.confirmed));
    assert!(shows(&app, &format!("{}{code}", AR.code)));
    press(&app, AR.print);
    assert_eq!(printed.borrow().len(), 1);
    let (print, _) = bounds(&button(&app, AR.print));
    let (done, _) = bounds(&button(&app, AR.done));
    assert!(done.x < print.x, "\"done\" is on the left");
}

#[test]
fn offline_counselling_is_a_stored_request_in_arabic() {
    let (app, drafts, code, _) = counselling_kiosk(offline());
    to_arabic(&app);
    walk(&app, &AR);
    assert_draft(&drafts);
    assert!(shows(&app, AR.requested));
    assert!(shows(&app, &format!("{}{code}", AR.code)));
}

#[test]
fn back_returns_one_step_from_every_counselling_screen() {
    let (app, drafts, _, _) = counselling_kiosk(confirmed());
    press(&app, DE.tile);
    press(&app, DE.thursday_visit);
    press(&app, "09:20");
    press(&app, DE.topic);
    assert_eq!(page(&app), Page::CounsellingSummary);
    for expected in [
        Page::CounsellingTopic,
        Page::CounsellingSlot,
        Page::CounsellingWhen,
        Page::Start,
    ] {
        press(&app, "Zurück");
        assert_eq!(page(&app), expected);
    }
    assert!(drafts.borrow().is_empty(), "nothing was booked");
    // From the IMBUS timetable into the flow and back out the same way.
    press(&app, "Wann kommt der IMBUS?");
    press(&app, "Termin buchen");
    assert_eq!(page(&app), Page::CounsellingWhen);
    press(&app, "Zurück");
    assert_eq!(page(&app), Page::Imbus);
    press(&app, "Zurück");
    assert_eq!(page(&app), Page::Start);
    // A new booking starts with nothing chosen.
    press(&app, DE.tile);
    press(&app, DE.thursday_visit);
    assert_eq!(button(&app, "09:20").accessible_checked(), Some(false));
}

#[test]
fn the_imbus_timetable_lists_this_village_first_and_a_cancelled_visit_with_its_reason() {
    let (app, _, _, _) = counselling_kiosk(confirmed());
    press(&app, "Wann kommt der IMBUS?");
    assert_eq!(page(&app), Page::Imbus);
    assert!(shows(&app, "Donnerstag, 03.12., 09:00–12:00, Dorfplatz"));
    assert!(shows(
        &app,
        "Samstag, 05.12., 09:00–12:00, Dorfplatz. Fällt aus: Bus defekt"
    ));
    let neighbour = "Donnerstag, 03.12., 09:00–12:00, Remlingen, Kirche";
    assert!(
        !shows(&app, neighbour),
        "the neighbours come on the next page"
    );
    press(&app, "Nach unten");
    assert!(shows(&app, neighbour));
    assert!(!shows(&app, "Donnerstag, 03.12., 09:00–12:00, Dorfplatz"));

    press(&app, "Zurück");
    to_arabic(&app);
    press(&app, "متى يأتي IMBUS؟");
    assert!(shows(
        &app,
        "السبت, 05.12., 09:00–12:00, Dorfplatz. ملغى: Bus defekt"
    ));
    let (book, _) = bounds(&button(&app, "احجز موعدًا"));
    assert!(
        book.x < 640.0,
        "\"book\" is on the left in Arabic: {book:?}"
    );
}

#[test]
fn the_idle_reset_forgets_the_counselling_choices() {
    let (app, drafts, _, _) = counselling_kiosk(confirmed());
    press(&app, DE.tile);
    press(&app, DE.thursday_visit);
    press(&app, "09:20");
    press(&app, DE.topic);
    assert!(counselling::draft(&app).is_some());
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_secs(1));
    }
    assert_eq!(page(&app), Page::Start);
    assert!(counselling::draft(&app).is_none(), "nothing chosen stays");
    assert!(drafts.borrow().is_empty());
    // The offer is the region's, not the resident's: it stays.
    press(&app, DE.tile);
    button(&app, DE.thursday_visit);
}

//! The physical buttons and speech mode on Slint's testing backend: a ride booked from the start
//! screen to the summary and the result with button presses only, in German and in Arabic (the
//! language chosen with the buttons too); the focus ring; back and help; what "Vorlesen" reads on
//! the start screen in both languages, spoken by the real espeak-ng into WAV files; personal data
//! marked; "Mehr Zeit?" spoken in speech mode, and speech mode ended by the idle reset.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use hardware::simulated::{SimAudio, SimButtons};
use hardware::{Button, Buttons};
use i_slint_backend_testing::mock_elapsed_time;
use kiosk::core::{BookingResult, BookingStatus, Rider};
use kiosk::speech::{Output, Part, Speaker};
use kiosk::ui::buttons::{self, press};
use kiosk::ui::person::{self, PersonPlace};
use kiosk::ui::ride::{self, DestinationChoice, RideDraft};
use kiosk::ui::{AppWindow, Assist, Focus, Navigation, Page, RideScreen, Settings};
use protocol::{BookingCode, ResidentNumber};
use slint::ComponentHandle;
use tempfile::TempDir;
use uuid::Uuid;

use crate::ui::{bounds, button, kiosk_window, tap};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date")
}

/// A kiosk with two doctors and a pharmacy whose booking is confirmed at once; the drafts booked
/// are kept.
struct Kiosk {
    app: AppWindow,
    drafts: Rc<RefCell<Vec<RideDraft>>>,
    code: BookingCode,
}

fn kiosk() -> Kiosk {
    let app = kiosk_window();
    let place = |id: &str, name: &str, category: &str| DestinationChoice {
        id: id.into(),
        name: name.into(),
        category: category.into(),
        note: "Lange Str. 1, Salzgitter".into(),
    };
    let places = vec![
        place("d-weber", "Praxis Dr. Weber", "Arzt"),
        place("d-markt", "Apotheke am Markt", "Apotheke"),
        place("d-klinik", "Klinikum Salzgitter", "Arzt"),
    ];
    let id = Uuid::from_u128(0xb077);
    let code = BookingCode::from_uuid(id);
    let result = BookingResult {
        id,
        code,
        status: BookingStatus::Confirmed {
            window_start: "2026-12-03T08:10:00Z".into(),
            window_end: "2026-12-03T08:30:00Z".into(),
        },
    };
    let drafts = Rc::new(RefCell::new(Vec::new()));
    person::init(&app, PersonPlace::default(), |_, _| {});
    let (weak, seen) = (app.as_weak(), drafts.clone());
    ride::init(&app, places, today(), move |draft| {
        seen.borrow_mut().push(draft);
        let app = weak.upgrade().expect("the window is open");
        ride::show_result(&app, &result, chrono_tz::Europe::Berlin);
    });
    Kiosk { app, drafts, code }
}

impl Kiosk {
    fn page(&self) -> Page {
        self.app.global::<Navigation>().get_page()
    }

    /// The label of the control with the focus.
    fn focused(&self) -> String {
        self.app.global::<Focus>().get_label().into()
    }

    /// Presses `button` (down or up) until `label` has the focus; at most 60 presses.
    fn focus(&self, label: &str, button: Button) {
        for _ in 0..60 {
            if self.focused() == label {
                return;
            }
            press(&self.app, button);
        }
        panic!(
            "{label:?} never got the focus; the last was {:?}",
            self.focused()
        );
    }

    /// Moves down to `label` and presses select.
    fn choose(&self, label: &str) {
        self.focus(label, Button::Down);
        press(&self.app, Button::Select);
    }
}

/// The labels the walk chooses, in one language.
struct Words {
    ride: &'static str,
    me: &'static str,
    known: &'static str,
    day_later: &'static str,
    earlier: &'static str,
    later: &'static str,
    next: &'static str,
    walker: &'static str,
    return_trip: &'static str,
    book: &'static str,
    done: &'static str,
}

const DE: Words = Words {
    ride: "Fahrt buchen",
    me: "Für mich",
    known: "Ich war schon dabei",
    day_later: "Einen Tag später",
    earlier: "15 Minuten früher",
    later: "15 Minuten später",
    next: "Weiter",
    walker: "Rollator",
    return_trip: "Rückfahrt",
    book: "Buchen",
    done: "Fertig",
};

const AR: Words = Words {
    ride: "حجز رحلة",
    me: "لي أنا",
    known: "ركبت من قبل",
    day_later: "يوم أبعد",
    earlier: "أبكر بـ 15 دقيقة",
    later: "أتأخر بـ 15 دقيقة",
    next: "التالي",
    walker: "مشاية",
    return_trip: "رحلة العودة",
    book: "احجز",
    done: "انتهى",
};

/// The resident number the walks type.
fn number() -> ResidentNumber {
    ResidentNumber::from_body(482_913)
}

/// From the start screen to "Wohin?": for me, known, the number on the digit keys.
fn to_where(k: &Kiosk, w: &Words) {
    k.choose(w.ride);
    assert_eq!(k.page(), Page::Person);
    k.choose(w.me);
    k.choose(w.known);
    for digit in number().compact().chars() {
        k.choose(&digit.to_string());
    }
    k.choose(w.next);
    assert_eq!(k.page(), Page::RideWhere);
}

/// From the start screen to the booked ride with button presses only: a doctor tomorrow at 09:30
/// with a walker and a ride back, with one step back on the way.
fn walk(k: &Kiosk, w: &Words) {
    to_where(k, w);
    k.choose("Arzt");
    assert_eq!(k.page(), Page::RideDestination);
    k.choose("Praxis Dr. Weber");
    assert_eq!(k.page(), Page::RideWhen);
    k.choose(w.day_later);
    assert_eq!(k.app.global::<RideScreen>().get_day(), 1);
    // Up goes back to the control before, down forward again.
    k.focus(w.later, Button::Down);
    press(&k.app, Button::Up);
    assert_eq!(k.focused(), w.earlier);
    press(&k.app, Button::Down);
    assert_eq!(k.focused(), w.later);
    press(&k.app, Button::Select);
    press(&k.app, Button::Select);
    k.choose(w.next);
    assert_eq!(k.page(), Page::RideNeeds);
    k.choose(w.walker);
    k.choose(w.return_trip);
    assert_eq!(button(&k.app, w.walker).accessible_checked(), Some(true));
    k.choose(w.next);
    assert_eq!(k.page(), Page::RideSummary);
    // Back is the screen's "Zurück", wherever the focus is.
    press(&k.app, Button::Back);
    assert_eq!(k.page(), Page::RideNeeds);
    assert_eq!(
        button(&k.app, w.return_trip).accessible_checked(),
        Some(true)
    );
    k.choose(w.next);
    assert_eq!(k.page(), Page::RideSummary);
    k.choose(w.book);
    assert_eq!(k.page(), Page::RideResult);
    assert_eq!(
        k.drafts.borrow().as_slice(),
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
    k.choose(w.done);
    assert_eq!(k.page(), Page::Start);
}

#[test]
fn a_ride_is_booked_with_the_buttons_only_in_german() {
    let k = kiosk();
    walk(&k, &DE);
}

#[test]
fn a_ride_is_booked_with_the_buttons_only_in_arabic() {
    let k = kiosk();
    // The language too: the last tile, then Arabic.
    k.choose("Sprache");
    assert_eq!(k.page(), Page::Language);
    k.choose("العربية");
    assert_eq!(k.page(), Page::Start);
    assert!(k.app.global::<Settings>().get_rtl());
    walk(&k, &AR);
}

#[test]
fn the_focus_ring_shows_where_the_buttons_are() {
    let k = kiosk();
    let (tile, _) = bounds(&button(&k.app, DE.ride));
    // Just outside the tile's left edge, inside the gap: the page background until focused.
    let (x, y) = ((tile.x - 8.0) as usize, (tile.y + 60.0) as usize);
    assert_eq!(pixel(&k.app, x, y), [0xf4, 0xf1, 0xea]);
    k.focus(DE.ride, Button::Down);
    assert_eq!(pixel(&k.app, x, y), [0x00, 0x50, 0xb3], "the ring");
    // Select with nothing focused on a new screen focuses its first control, and presses nothing.
    press(&k.app, Button::Select);
    assert_eq!(k.page(), Page::Person);
    press(&k.app, Button::Select);
    assert_eq!(k.page(), Page::Person);
    assert_eq!(k.focused(), DE.me);
}

fn pixel(app: &AppWindow, x: usize, y: usize) -> [u8; 3] {
    let shot = app.window().take_snapshot().expect("a snapshot");
    let p = shot.as_slice()[y * shot.width() as usize + x];
    [p.r, p.g, p.b]
}

#[test]
fn help_and_back_work_from_the_buttons_and_from_the_simulated_backend() {
    let k = kiosk();
    let helped = Rc::new(Cell::new(0));
    let count = helped.clone();
    k.app
        .global::<Assist>()
        .on_help(move || count.set(count.get() + 1));
    press(&k.app, Button::Help);
    assert_eq!(helped.get(), 1);
    k.choose("Sprache");
    press(&k.app, Button::Back);
    assert_eq!(k.page(), Page::Start);
    // On the start screen there is no way back: nothing happens.
    press(&k.app, Button::Back);
    assert_eq!(k.page(), Page::Start);

    // Presses from the simulated backend arrive as the same calls.
    let sim = SimButtons::default();
    let mut device: Box<dyn Buttons> = Box::new(sim.clone());
    let (on_press, presses) = hardware::channel();
    device.listen(on_press);
    sim.press(Button::Help);
    for button in presses.try_iter() {
        press(&k.app, button);
    }
    assert_eq!(helped.get(), 2);
}

/// A speaker writing WAV files, with its headphone jack.
fn speaking(app: &AppWindow) -> (TempDir, Speaker, SimAudio) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let jack = SimAudio::default();
    let speaker = Speaker::new(Output::Wav(dir.path().into()), Box::new(jack.clone()))
        .expect("the speaker starts");
    buttons::init(app, speaker.clone());
    (dir, speaker, jack)
}

fn quiet(speaker: &Speaker) {
    assert!(speaker.wait_quiet(Duration::from_secs(60)), "speech ends");
}

/// The texts of `parts`, in order.
fn texts(parts: &[Part]) -> Vec<String> {
    parts.iter().map(|p| p.text.clone()).collect()
}

/// Whether `want` appear in `have` in this order.
fn in_order(have: &[String], want: &[&str]) -> bool {
    let mut rest = have.iter();
    want.iter().all(|w| rest.any(|h| h == w))
}

#[test]
fn vorlesen_reads_the_start_screen_in_german_and_arabic() {
    let k = kiosk();
    let de = texts(&buttons::screen(&k.app));
    assert!(
        in_order(
            &de,
            &[
                "Groß Vahlberg",
                "Fahrt buchen, Taste",
                "Beratung buchen, Taste",
                "Wann kommt der IMBUS?, Taste",
                "Hilfe finden, Taste",
                "Meine Buchung, Taste",
                "Sprache, Taste",
                "Vorlesen, Taste",
                "Hilfe, Taste",
            ]
        ),
        "{de:?}"
    );

    let (_dir, speaker, _jack) = speaking(&k.app);
    press(&k.app, Button::Speech);
    assert!(k.app.global::<Assist>().get_speech_mode());
    quiet(&speaker);
    let said = speaker.said();
    let first = said.last().expect("something was said");
    assert!(first.text.starts_with("Groß Vahlberg"), "{:?}", first.text);
    assert!(first.text.contains("Fahrt buchen, Taste"));
    assert!(first.text.contains("Mit den Tasten Hoch und Runter"));
    let file = first.file.as_ref().expect("a WAV file");
    assert!(std::fs::metadata(file).expect("the WAV file").len() > 10_000);

    // In Arabic (chosen by taps), read in Arabic, in reading order.
    tap(&k.app, "Sprache");
    tap(&k.app, "العربية");
    let ar = texts(&buttons::screen(&k.app));
    assert!(
        in_order(
            &ar,
            &[
                "حجز رحلة, زر",
                "حجز استشارة, زر",
                "البحث عن مساعدة, زر",
                "حجزي, زر",
                "اللغة, زر",
                "اقرأ لي, زر, مختار",
                "مساعدة, زر",
            ]
        ),
        "{ar:?}"
    );
    // The watch reads the new screen by itself in speech mode.
    mock_elapsed_time(Duration::from_millis(300));
    quiet(&speaker);
    let arabic = speaker.said().last().expect("spoken").clone();
    assert!(arabic.text.contains("حجز رحلة, زر"), "{:?}", arabic.text);
    assert!(!arabic.text.contains("Fahrt buchen"));
}

#[test]
fn speech_mode_speaks_focus_changes_and_the_booking_code_only_into_headphones() {
    let k = kiosk();
    let (_dir, speaker, jack) = speaking(&k.app);
    press(&k.app, Button::Speech);
    quiet(&speaker);
    press(&k.app, Button::Down);
    quiet(&speaker);
    assert_eq!(
        speaker.said().last().expect("spoken").text,
        "Fahrt buchen, Taste"
    );

    to_where(&k, &DE);
    k.choose("Arzt");
    k.choose("Praxis Dr. Weber");
    // The watch reads the new screen, then only news on it: a new time.
    mock_elapsed_time(Duration::from_millis(300));
    quiet(&speaker);
    assert!(
        speaker
            .said()
            .last()
            .expect("spoken")
            .text
            .starts_with("Groß Vahlberg")
    );
    k.focus(DE.later, Button::Down);
    press(&k.app, Button::Select);
    mock_elapsed_time(Duration::from_millis(300));
    quiet(&speaker);
    assert_eq!(
        speaker.said().last().expect("spoken").text,
        "Termin um 09:15"
    );

    k.choose(DE.next);
    k.choose(DE.next);
    // The summary: where to is personal.
    let summary = buttons::screen(&k.app);
    assert!(summary.contains(&Part::personal("Ziel: Praxis Dr. Weber")));
    k.choose(DE.book);
    mock_elapsed_time(Duration::from_millis(300));
    quiet(&speaker);
    let code = format!("Buchungscode: {}", k.code);
    assert!(buttons::screen(&k.app).contains(&Part::personal(code.clone())));
    let loud = speaker.said().last().expect("spoken").clone();
    assert!(loud.text.contains("Gebucht. Abholung: 09:10–09:30"));
    assert!(!loud.text.contains(&code), "{:?}", loud.text);
    assert!(loud.text.contains("Das hören Sie nur mit Kopfhörern."));

    // With headphones, the speech button reads it all, the code too.
    jack.plug(true);
    press(&k.app, Button::Speech);
    quiet(&speaker);
    let private = speaker.said().last().expect("spoken").clone();
    assert!(private.text.contains(&code));
    assert_eq!(private.route, hardware::audio::Route::Headphones);
}

#[test]
fn more_time_is_spoken_and_the_idle_reset_ends_speech_mode() {
    let k = kiosk();
    let (_dir, speaker, _jack) = speaking(&k.app);
    press(&k.app, Button::Speech);
    quiet(&speaker);
    for _ in 0..61 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    quiet(&speaker);
    let asked = speaker.said().last().expect("spoken").clone();
    assert_eq!(asked.text, "Mehr Zeit?\nJa, mehr Zeit, Taste");
    for _ in 0..31 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(k.page(), Page::Start);
    assert!(!k.app.global::<Assist>().get_speech_mode());
    assert!(speaker.said().is_empty(), "nothing said is kept");
}

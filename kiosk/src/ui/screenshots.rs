//! `kiosk screenshots`: every screen in every language drawn by Slint's software renderer into a
//! buffer and written as PNG, without a display or a GPU.

use std::cell::Cell;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};

use super::counselling::SampleChange;
use super::ride::{self, DestinationChoice};
use super::{
    Activity, AppWindow, BookingScreen, HelpNeed, HelpScreen, LANGUAGES, Navigation, Page,
    RideScreen, Settings, Status, UiError,
};
use super::{booking, help};
use crate::core::{BookingResult, BookingStatus};

/// The kiosk's screen: 10.1 inch, 1280 x 800.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// What a picture shows: a screen, the ride's two answers, or "Mehr Zeit?" over the start screen.
#[derive(Debug, Clone, Copy)]
enum Shot {
    Screen(Page),
    /// A step of "Für wen?" (`ui/person.slint`).
    Person(super::PersonStep),
    RideConfirmed,
    RideRequested,
    MoreTime,
    /// The printer problem dialog over the start screen.
    NoPaper,
    /// The counselling booking's three answers.
    CounsellingConfirmed,
    CounsellingRequested,
    CounsellingTaken,
    /// A list led by a changed IMBUS visit (`counselling::sample_changes`).
    VisitChange(super::counselling::SampleChange, Page),
    /// "Meine Buchung": an appointment whose IMBUS visit was called off.
    BookingVisitCancelled,
    /// A kiosk that is not enrolled: part of its code typed, or no hub named by the image.
    Setup,
    SetupNoHub,
}

/// The pictures drawn, with the first part of their file names.
const SCREENS: [(Shot, &str); 53] = [
    (Shot::Screen(Page::Start), "start"),
    (Shot::Screen(Page::Language), "language"),
    (Shot::Person(super::PersonStep::Who), "person-who"),
    (Shot::Person(super::PersonStep::Me), "person-me"),
    (Shot::Person(super::PersonStep::Number), "person-number"),
    (Shot::Person(super::PersonStep::Name), "person-name"),
    (Shot::Person(super::PersonStep::Street), "person-street"),
    (Shot::Person(super::PersonStep::Consent), "person-consent"),
    (
        Shot::Person(super::PersonStep::CaregiverPin),
        "person-caregiver-pin",
    ),
    (Shot::Person(super::PersonStep::Choose), "person-choose"),
    (Shot::Person(super::PersonStep::Offline), "person-offline"),
    (Shot::Screen(Page::RideWhere), "ride-where"),
    (Shot::Screen(Page::RideDestination), "ride-destination"),
    (Shot::Screen(Page::RideWhen), "ride-when"),
    (Shot::Screen(Page::RideNeeds), "ride-needs"),
    (Shot::Screen(Page::RideSummary), "ride-summary"),
    (Shot::RideConfirmed, "ride-confirmed"),
    (Shot::RideRequested, "ride-requested"),
    (Shot::Screen(Page::HelpNeeds), "help-needs"),
    (Shot::Screen(Page::HelpPlaces), "help-places"),
    (Shot::Screen(Page::HelpPlace), "help-place"),
    (Shot::Screen(Page::HelpName), "help-name"),
    (Shot::Screen(Page::HelpPhone), "help-phone"),
    (Shot::Screen(Page::HelpSent), "help-sent"),
    (Shot::Screen(Page::BookingCode), "booking-code"),
    (Shot::Screen(Page::BookingShown), "booking-shown"),
    (Shot::Screen(Page::BookingConfirm), "booking-confirm"),
    (Shot::Screen(Page::BookingCancelled), "booking-cancelled"),
    (Shot::Screen(Page::Imbus), "imbus"),
    (Shot::Screen(Page::CounsellingWhen), "counselling-when"),
    (Shot::Screen(Page::CounsellingSlot), "counselling-slot"),
    (Shot::Screen(Page::CounsellingTopic), "counselling-topic"),
    (
        Shot::Screen(Page::CounsellingSummary),
        "counselling-summary",
    ),
    (Shot::CounsellingConfirmed, "counselling-confirmed"),
    (Shot::CounsellingRequested, "counselling-requested"),
    (Shot::CounsellingTaken, "counselling-taken"),
    (
        Shot::VisitChange(SampleChange::Cancelled, Page::Imbus),
        "imbus-cancelled",
    ),
    (
        Shot::VisitChange(SampleChange::Moved, Page::Imbus),
        "imbus-moved",
    ),
    (
        Shot::VisitChange(SampleChange::Replacement, Page::Imbus),
        "imbus-replacement",
    ),
    (
        Shot::VisitChange(SampleChange::Cancelled, Page::CounsellingWhen),
        "counselling-when-cancelled",
    ),
    (
        Shot::VisitChange(SampleChange::Moved, Page::CounsellingWhen),
        "counselling-when-moved",
    ),
    (
        Shot::VisitChange(SampleChange::Replacement, Page::CounsellingWhen),
        "counselling-when-replacement",
    ),
    (Shot::BookingVisitCancelled, "booking-visit-cancelled"),
    (Shot::MoreTime, "more-time"),
    (Shot::NoPaper, "print-no-paper"),
    (Shot::Screen(Page::StaffName), "staff-name"),
    (Shot::Screen(Page::StaffPin), "staff-pin"),
    (Shot::Screen(Page::StaffList), "staff-list"),
    (Shot::Screen(Page::StaffStatus), "staff-status"),
    (Shot::Screen(Page::StaffTopic), "staff-topic"),
    (Shot::Screen(Page::StaffReferral), "staff-referral"),
    (Shot::Setup, "setup"),
    (Shot::SetupNoHub, "setup-no-hub"),
];

/// What the pictures show, so they are the same on every run.
#[derive(Debug, Clone)]
pub struct Scene {
    pub village: String,
    pub clock: String,
    pub high_contrast: bool,
    pub large_text: bool,
    /// The first day the ride screens offer.
    pub today: chrono::NaiveDate,
    /// Only the pictures with these names (`start-de`: the file name without `.png`); every
    /// picture when empty. The others are still staged, so a picture is the same either way.
    pub only: Vec<String>,
}

impl Default for Scene {
    fn default() -> Self {
        Scene {
            village: "Groß Vahlberg".into(),
            clock: "09:30".into(),
            high_contrast: false,
            large_text: false,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default(),
            only: Vec::new(),
        }
    }
}

/// A platform with one window that exists only as pixels in memory.
struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    taken: Cell<bool>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        if self.taken.replace(true) {
            return Err(slint::PlatformError::Other(
                "the screenshot platform has a single window".into(),
            ));
        }
        Ok(self.window.clone())
    }
}

/// Draws every screen in every language into `out` as `<screen>-<language>.png` and returns the
/// files written. Installs the headless platform, so it runs once per process and before any
/// other Slint window.
pub fn write_all(out: &Path, scene: &Scene) -> Result<Vec<PathBuf>, UiError> {
    std::fs::create_dir_all(out).map_err(|source| UiError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
        taken: Cell::new(false),
    }))
    .map_err(|e| slint::PlatformError::Other(format!("installing the headless platform: {e}")))?;

    let app = AppWindow::new()?;
    super::init_screens(&app, &scene.village);
    app.global::<Status>()
        .set_clock(scene.clock.as_str().into());
    let settings = app.global::<Settings>();
    settings.set_high_contrast(scene.high_contrast);
    settings.set_large_text(scene.large_text);
    ride::init(&app, sample_places(), scene.today, |_| {});
    choose_sample_ride(&app);
    sample_person(&app);
    super::counselling::sample(&app);
    sample_help_and_booking(&app, scene.today);
    super::staff::init(&app, |_, _| {}, |_| {});
    sample_staff_session(&app);
    app.show()?;

    let mut written = Vec::new();
    for lang in LANGUAGES {
        super::set_language(&app, lang.code)?;
        for (shot, screen) in SCREENS {
            stage(&app, shot);
            let name = format!("{screen}-{}", lang.code);
            if scene.only.is_empty() || scene.only.contains(&name) {
                let pixels = draw(&window);
                let path = out.join(format!("{name}.png"));
                write_png(&path, &pixels)?;
                written.push(path);
            }
            unstage(&app, shot);
        }
    }
    app.hide()?;
    Ok(written)
}

/// Places of the demo region's kind, the most used first.
fn sample_places() -> Vec<DestinationChoice> {
    let place = |id: &str, name: &str, category: &str, note: &str| DestinationChoice {
        id: id.into(),
        name: name.into(),
        category: category.into(),
        note: note.into(),
    };
    vec![
        place(
            "weber",
            "Praxis Dr. Weber",
            "Arzt",
            "Lange Straße 4, Salzgitter",
        ),
        place(
            "markt",
            "Apotheke am Markt",
            "Apotheke",
            "Markt 2, Wolfenbüttel",
        ),
        place(
            "klinikum",
            "Klinikum Salzgitter",
            "Krankenhaus",
            "Kattowitzer Str. 191, Salzgitter",
        ),
        place(
            "yilmaz",
            "Praxis Dr. Yılmaz",
            "Arzt",
            "Bahnhofstraße 9, Wolfenbüttel",
        ),
        place(
            "caritas",
            "Caritas-Beratung",
            "Beratung",
            "Kornmarkt 1, Wolfenbüttel",
        ),
        place("rathaus", "Rathaus", "Amt", "Stadtmarkt 3, Wolfenbüttel"),
    ]
}

/// A health worker logged in as "hanna" with two appointments, recording the first.
fn sample_staff_session(app: &AppWindow) {
    use protocol::staff::{StaffAppointment, StaffSession};
    let appointment = |id: &str, at: &str, topic: &str, name: Option<&str>| StaffAppointment {
        id: id.into(),
        starts_at: at.into(),
        booking_code: "7KQM-2XHD-R".into(),
        topic: topic.into(),
        status: "booked".into(),
        first_name: name.map(Into::into),
    };
    let session = StaffSession {
        session_id: uuid::Uuid::from_u128(0x5747),
        expires_at: "2026-12-02T20:00:00Z".into(),
        display_name: "Hanna Demir".into(),
        appointments: vec![
            appointment("a1", "2026-12-02T08:00:00Z", "health", Some("Erna")),
            appointment("a2", "2026-12-02T08:30:00Z", "money", Some("Kurt")),
            appointment("a3", "2026-12-02T09:00:00Z", "care", None),
        ],
    };
    let referrals = ["Arzt", "Apotheke", "Beratung", "Amt"];
    super::staff::show_session(
        app,
        &session,
        referrals.iter().map(|r| r.to_string()).collect(),
        chrono_tz::Europe::Berlin,
    );
    let screen = app.global::<super::StaffScreen>();
    for key in ["h", "a", "n", "n", "a"] {
        screen.invoke_type_name(key.into());
    }
    for digit in ["2", "4", "6"] {
        screen.invoke_type_pin(digit.into());
    }
    screen.set_current(0);
    screen.set_status(1);
    screen.set_topic(2);
    screen.set_referral(2);
}

/// "Hilfe finden" with alcohol chosen (the addiction counselling open until 12:00, a name and a
/// number typed, the request stored) and "Meine Buchung" with a confirmed ride, its cancellation
/// sent.
fn sample_help_and_booking(app: &AppWindow, today: chrono::NaiveDate) {
    use crate::requests::{HelpService, Need, Opening, Sent};
    let time = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let at_ten = today.and_time(time(10, 0));
    let service = HelpService {
        id: "sucht".into(),
        name: "Suchtberatung Wolfenbüttel".into(),
        address: "Harzstraße 24, 38300 Wolfenbüttel".into(),
        phone: Some("05331 881910".into()),
        hours: vec![Opening {
            weekday: chrono::Datelike::weekday(&today),
            open: time(9, 0),
            close: time(12, 0),
        }],
        helps_with: vec![Need::Alcohol],
    };
    help::init(app, vec![service], move || at_ten, |_| {});
    let screen = app.global::<HelpScreen>();
    screen.set_need(HelpNeed::Alcohol);
    screen.invoke_choose_need(HelpNeed::Alcohol);
    screen.set_chosen(0);
    screen.set_name("Erna Köhler".into());
    screen.set_phone("05332 1234".into());
    help::show_sent(app, &Sent::Stored);

    booking::init(app, |_| {}, |_| {});
    let code = sample_code();
    app.global::<BookingScreen>()
        .set_typed(code.to_string().into());
    booking::show(
        app,
        &code,
        Some(&sample_ride_view()),
        chrono_tz::Europe::Berlin,
    );
    booking::show_cancelled(app, &Sent::Stored);
}

/// The booking code of the pictures' bookings.
fn sample_code() -> protocol::BookingCode {
    protocol::BookingCode::from_uuid(uuid::Uuid::from_u128(0x2026_1202))
}

/// "Meine Buchung" of the pictures: a confirmed ride to the doctor.
fn sample_ride_view() -> crate::requests::BookingView {
    use crate::requests::{BookingView, Standing, What};
    BookingView {
        code: sample_code(),
        what: What::Ride,
        from: Some("2026-12-03T08:10:00Z".into()),
        until: Some("2026-12-03T08:30:00Z".into()),
        place: Some("Praxis Dr. Weber".into()),
        home: false,
        standing: Standing::Confirmed,
    }
}

/// A new resident half way, a caregiver's two people: what the "Für wen?" steps show.
fn sample_person(app: &AppWindow) {
    use protocol::people::{CaredFor, CaregiverSession};
    super::person::init(
        app,
        super::person::PersonPlace {
            streets: ["Am Kamp", "Hauptstraße", "Lindenweg", "Schulstraße"]
                .map(String::from)
                .to_vec(),
            service: "Fahrdienst Elm-Asse".into(),
            hub_phone: "05332 1234".into(),
        },
        |_, _| {},
    );
    super::person::show_login(
        app,
        super::person::LoginAnswer::Session(CaregiverSession {
            caregiver_id: "c".into(),
            residents: vec![
                CaredFor {
                    resident_id: "p1".into(),
                    first_name: "Erna".into(),
                    village: "Kneitlingen".into(),
                },
                CaredFor {
                    resident_id: "p2".into(),
                    first_name: "Karl".into(),
                    village: "Uehrde".into(),
                },
            ],
        }),
    );
    let screen = app.global::<super::PersonScreen>();
    screen.set_number("482913".into());
    screen.set_name("Hannelore Wie".into());
    screen.set_street("Lindenweg".into());
    screen.set_pin_dots("•••".into());
}

/// A doctor tomorrow at 09:30 with a walker and a ride back: what the ride screens show.
fn choose_sample_ride(app: &AppWindow) {
    let screen = app.global::<RideScreen>();
    screen.set_category_name("Arzt".into());
    screen.invoke_choose_category("Arzt".into());
    screen.set_destination_id("weber".into());
    screen.set_destination_name("Praxis Dr. Weber".into());
    screen.set_day(1);
    screen.set_minutes(9 * 60 + 30);
    screen.set_walker(true);
    screen.set_return_trip(true);
}

fn stage(app: &AppWindow, shot: Shot) {
    app.global::<Activity>().set_asking(false);
    super::printing::forget(app);
    let id = uuid::Uuid::from_u128(0x2026_1202);
    let answer = |status| BookingResult {
        id,
        code: protocol::BookingCode::from_uuid(id),
        status,
    };
    match shot {
        Shot::Screen(page) => app.global::<Navigation>().set_page(page),
        Shot::Person(step) => {
            app.global::<super::PersonScreen>().set_step(step);
            app.global::<Navigation>().set_page(Page::Person);
        }
        Shot::RideConfirmed => ride::show_result(
            app,
            &answer(BookingStatus::Confirmed {
                window_start: "2026-12-03T08:10:00Z".into(),
                window_end: "2026-12-03T08:30:00Z".into(),
            }),
            chrono_tz::Europe::Berlin,
        ),
        Shot::RideRequested => ride::show_result(
            app,
            &answer(BookingStatus::Requested { reason: None }),
            chrono_tz::Europe::Berlin,
        ),
        Shot::CounsellingConfirmed => super::counselling::show_result(
            app,
            &answer(BookingStatus::Confirmed {
                window_start: "2026-12-03T08:20:00Z".into(),
                window_end: "2026-12-03T08:40:00Z".into(),
            }),
        ),
        Shot::CounsellingRequested => {
            super::counselling::show_result(app, &answer(BookingStatus::Requested { reason: None }))
        }
        Shot::CounsellingTaken => super::counselling::show_result(
            app,
            &answer(BookingStatus::Refused {
                title: crate::core::SLOT_TAKEN.into(),
                detail: String::new(),
            }),
        ),
        Shot::MoreTime => {
            app.global::<Navigation>().set_page(Page::Start);
            app.global::<Activity>().set_asking(true);
        }
        Shot::VisitChange(first, page) => {
            super::counselling::sample_changes(app, first);
            app.global::<Navigation>().set_page(page);
        }
        Shot::BookingVisitCancelled => {
            use crate::requests::{BookingView, Standing, What};
            let view = BookingView {
                code: sample_code(),
                what: What::Appointment,
                from: Some("2026-12-10T08:20:00Z".into()),
                until: Some("2026-12-10T08:40:00Z".into()),
                place: Some("Groß Vahlberg".into()),
                home: false,
                standing: Standing::Confirmed,
            };
            booking::show(app, &sample_code(), Some(&view), chrono_tz::Europe::Berlin);
            super::counselling::show_booking_visit(app, Some("Der Bus ist in der Werkstatt."));
        }
        Shot::Setup => sample_setup(app, Ok(SAMPLE_HUB)),
        Shot::SetupNoHub => sample_setup(app, Err(crate::setup::SetupError::NoHub.to_string())),
        Shot::NoPaper => {
            app.global::<Navigation>().set_page(Page::Start);
            let printing = app.global::<super::Printing>();
            printing.set_state(super::PrintState::NoPaper);
            printing.set_code(protocol::BookingCode::from_uuid(id).to_string().into());
        }
    }
}

/// The hub of the setup pictures.
const SAMPLE_HUB: &str = "https://hub.elm-asse.example:8443";

/// The setup screen for `hub` with the first seven characters of a code typed.
fn sample_setup(app: &AppWindow, hub: Result<&str, String>) {
    super::setup::init(app, hub, |_| {});
    let screen = app.global::<super::SetupScreen>();
    for key in ["K", "7", "Q", "M", "2", "X", "P"] {
        screen.invoke_key(key.into());
    }
}

/// Puts back what a picture of a changed visit changed, for the pictures after it.
fn unstage(app: &AppWindow, shot: Shot) {
    match shot {
        Shot::VisitChange(..) => super::counselling::sample(app),
        Shot::BookingVisitCancelled => {
            booking::show(
                app,
                &sample_code(),
                Some(&sample_ride_view()),
                chrono_tz::Europe::Berlin,
            );
            booking::show_cancelled(app, &crate::requests::Sent::Stored);
            super::counselling::show_booking_visit(app, None);
        }
        _ => {}
    }
}

/// One full frame of the window.
fn draw(window: &MinimalSoftwareWindow) -> Vec<Rgb8Pixel> {
    slint::platform::update_timers_and_animations();
    window.request_redraw();
    let mut buffer = vec![Rgb8Pixel::default(); (WIDTH * HEIGHT) as usize];
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, WIDTH as usize);
    });
    buffer
}

fn write_png(path: &Path, pixels: &[Rgb8Pixel]) -> Result<(), UiError> {
    let write_error = |source| UiError::Write {
        path: path.to_path_buf(),
        source,
    };
    let png_error = |source| UiError::Png {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(write_error)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_error)?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer.write_image_data(&bytes).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(())
}

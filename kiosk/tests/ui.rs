//! The touch UI under Slint's testing backend: the start screen's tiles found by their accessible
//! labels in German and Arabic, the switch to Arabic by taps (texts translated, rows mirrored), and
//! `kiosk screenshots` run as a process. The helpers here serve `ui_idle.rs` and `ui_ride.rs` too.

use std::path::Path;
use std::process::Command;

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::ui::{AppWindow, Navigation, Page, Settings};
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, LogicalPosition, LogicalSize, PhysicalSize};

/// The pictures `kiosk screenshots` draws of each language.
const SCREENS: [&str; 53] = [
    "imbus",
    "imbus-cancelled",
    "imbus-moved",
    "imbus-replacement",
    "counselling-when-cancelled",
    "counselling-when-moved",
    "counselling-when-replacement",
    "booking-visit-cancelled",
    "counselling-when",
    "counselling-slot",
    "counselling-topic",
    "counselling-summary",
    "counselling-confirmed",
    "counselling-requested",
    "counselling-taken",
    "start",
    "language",
    "person-who",
    "person-me",
    "person-number",
    "person-name",
    "person-street",
    "person-consent",
    "person-caregiver-pin",
    "person-choose",
    "person-offline",
    "ride-where",
    "ride-destination",
    "ride-when",
    "ride-needs",
    "ride-summary",
    "ride-confirmed",
    "ride-requested",
    "more-time",
    "print-no-paper",
    "staff-name",
    "staff-pin",
    "staff-list",
    "staff-status",
    "staff-topic",
    "staff-referral",
    "help-needs",
    "help-places",
    "help-place",
    "help-name",
    "help-phone",
    "help-sent",
    "booking-code",
    "booking-shown",
    "booking-confirm",
    "booking-cancelled",
    "setup",
    "setup-no-hub",
];

/// The start screen's tiles in German and Arabic, in reading order.
const TILES_DE: [&str; 6] = [
    "Fahrt buchen",
    "Beratung buchen",
    "Wann kommt der IMBUS?",
    "Hilfe finden",
    "Meine Buchung",
    "Sprache",
];
const TILES_AR: [&str; 6] = [
    "حجز رحلة",
    "حجز استشارة",
    "متى يأتي IMBUS؟",
    "البحث عن مساعدة",
    "حجزي",
    "اللغة",
];

/// A kiosk window on the testing backend of this test's thread, 1280 x 800, in German. The
/// backend draws with the software renderer, so snapshots have real pixels and texts real sizes.
pub fn kiosk_window() -> AppWindow {
    let backend = TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    });
    slint::platform::set_platform(Box::new(backend)).expect("a fresh test thread has no platform");
    let app = AppWindow::new().expect("the kiosk window is made");
    kiosk::ui::init(&app, "Groß Vahlberg");
    app.window().set_size(PhysicalSize::new(1280, 800));
    app.show().expect("the window shows");
    app
}

/// The one button labelled `label`.
pub fn button(app: &AppWindow, label: &str) -> ElementHandle {
    let found: Vec<_> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one button labelled {label:?}, found {}",
        found.len()
    );
    found.into_iter().next().expect("checked above")
}

pub fn buttons_labelled(app: &AppWindow, label: &str) -> usize {
    ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .count()
}

pub fn tap(app: &AppWindow, label: &str) {
    button(app, label).mock_single_click(PointerEventButton::Left);
}

pub fn bounds(e: &ElementHandle) -> (LogicalPosition, LogicalSize) {
    (e.absolute_position(), e.size())
}

#[test]
fn start_screen_tiles_are_large_apart_and_labelled_in_german() {
    let app = kiosk_window();
    let tiles: Vec<_> = TILES_DE.iter().map(|l| bounds(&button(&app, l))).collect();
    for (label, (_, size)) in TILES_DE.iter().zip(&tiles) {
        assert!(
            size.width >= 95.0 && size.height >= 95.0,
            "{label:?} is {size:?}"
        );
    }
    // Reading order left to right: the first tile of a row is on the left, 4 mm (25 px) apart.
    let ((first, first_size), (second, _)) = (tiles[0], tiles[1]);
    assert!(first.x < 640.0, "the first tile is on the left: {first:?}");
    assert!(second.x - (first.x + first_size.width) >= 25.0);
    let (below, _) = tiles[3];
    assert!(below.y - (first.y + first_size.height) >= 25.0);
    for label in ["Vorlesen", "Hilfe"] {
        let (_, size) = bounds(&button(&app, label));
        assert!(
            size.width >= 95.0 && size.height >= 95.0,
            "{label:?} is {size:?}"
        );
    }
    assert!(!app.global::<Settings>().get_rtl());
}

#[test]
fn choosing_arabic_by_taps_translates_and_mirrors_the_start_screen() {
    let app = kiosk_window();
    tap(&app, "Sprache");
    assert_eq!(app.global::<Navigation>().get_page(), Page::Language);
    // Every language by its own name; German is ticked.
    for name in ["Deutsch", "English", "Українська", "العربية", "Türkçe"] {
        button(&app, name);
    }
    assert_eq!(button(&app, "Deutsch").accessible_checked(), Some(true));

    tap(&app, "العربية");
    assert_eq!(app.global::<Navigation>().get_page(), Page::Start);
    let settings = app.global::<Settings>();
    assert!(settings.get_rtl(), "Arabic is right to left");
    assert_eq!(settings.get_language(), "ar");
    for (german, arabic) in TILES_DE.iter().zip(TILES_AR) {
        assert_eq!(buttons_labelled(&app, german), 0, "{german:?} is gone");
        button(&app, arabic);
    }
    button(&app, "اقرأ لي");
    button(&app, "مساعدة");
    // Mirrored: the first tile of the row is now on the right.
    let (ride, _) = bounds(&button(&app, TILES_AR[0]));
    let (counselling, _) = bounds(&button(&app, TILES_AR[1]));
    assert!(ride.x > 640.0, "the first tile is on the right: {ride:?}");
    assert!(counselling.x < ride.x);

    // And back to German from the Arabic screen.
    tap(&app, "اللغة");
    assert_eq!(button(&app, "العربية").accessible_checked(), Some(true));
    tap(&app, "Deutsch");
    assert!(!app.global::<Settings>().get_rtl());
    let (ride, _) = bounds(&button(&app, "Fahrt buchen"));
    assert!(ride.x < 640.0);
}

#[test]
fn high_contrast_and_larger_text_are_settings() {
    let app = kiosk_window();
    let (place, normal) = bounds(&button(&app, "Fahrt buchen"));
    // A point inside the ride tile, clear of its text and its border.
    let (x, y) = ((place.x + 10.0) as usize, (place.y + 10.0) as usize);
    assert_eq!(pixel(&app, x, y), [0x0b, 0x3b, 0x75], "white on dark blue");

    let settings = app.global::<Settings>();
    settings.set_high_contrast(true);
    settings.set_large_text(true);
    assert_eq!(pixel(&app, x, y), [0, 0, 0], "yellow on black");
    // Larger text takes two columns of wider tiles (the third row scrolls into view); the
    // bottom bar stays where it was.
    let (_, large) = bounds(&button(&app, "Fahrt buchen"));
    assert!(
        large.width > normal.width && large.height >= 95.0,
        "{large:?}"
    );
    let (first, _) = bounds(&button(&app, "Fahrt buchen"));
    let (second, _) = bounds(&button(&app, "Beratung buchen"));
    assert!(second.x - (first.x + large.width) >= 25.0);
    let (help, _) = bounds(&button(&app, "Hilfe"));
    assert!(
        help.x > 640.0 && help.y > 600.0,
        "help stays bottom right: {help:?}"
    );
}

/// The colour the window shows at (x, y).
fn pixel(app: &AppWindow, x: usize, y: usize) -> [u8; 3] {
    let shot = app
        .window()
        .take_snapshot()
        .expect("the software renderer draws");
    let p = shot.as_slice()[y * shot.width() as usize + x];
    [p.r, p.g, p.b]
}

#[test]
fn screenshots_draws_every_screen_in_five_languages() {
    let out = tempfile::tempdir().expect("a temporary directory");
    let run = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["screenshots", "--out"])
        .arg(out.path())
        .output()
        .expect("kiosk screenshots runs");
    assert!(
        run.status.success(),
        "kiosk screenshots failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).lines().count(),
        SCREENS.len() * 5
    );
    let mut sizes = Vec::new();
    for screen in SCREENS {
        for lang in ["de", "en", "uk", "ar", "tr"] {
            let path = out.path().join(format!("{screen}-{lang}.png"));
            sizes.push((path.clone(), png_size(&path)));
        }
    }
    for (path, (width, height, distinct)) in &sizes {
        assert_eq!((*width, *height), (1280, 800), "{}", path.display());
        assert!(*distinct > 2, "{} is not blank", path.display());
    }
    assert_eq!(
        std::fs::read_dir(out.path())
            .expect("the directory")
            .count(),
        SCREENS.len() * 5
    );
    let start_de = std::fs::read(out.path().join("start-de.png")).expect("start-de.png");
    let start_ar = std::fs::read(out.path().join("start-ar.png")).expect("start-ar.png");
    assert_ne!(start_de, start_ar, "Arabic looks different");
    // The two answers of a ride and the question over the start screen are pictures of their own.
    let read = |name: &str| std::fs::read(out.path().join(name)).expect(name);
    assert_ne!(read("ride-confirmed-de.png"), read("ride-requested-de.png"));
    assert_ne!(read("more-time-de.png"), start_de);
}

/// Width, height and the number of distinct colours of a PNG.
fn png_size(path: &Path) -> (u32, u32, usize) {
    let file = std::fs::File::open(path).expect("the PNG exists");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a buffer size")];
    let info = reader.next_frame(&mut pixels).expect("the PNG's pixels");
    let colours: std::collections::HashSet<&[u8]> =
        pixels[..info.buffer_size()].chunks(3).collect();
    (info.width, info.height, colours.len())
}

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

use super::ride::{self, DestinationChoice};
use super::{
    Activity, AppWindow, LANGUAGES, Navigation, Page, RideScreen, Settings, Status, UiError,
};
use crate::core::{BookingResult, BookingStatus};

/// The kiosk's screen: 10.1 inch, 1280 x 800.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// What a picture shows: a screen, the ride's two answers, or "Mehr Zeit?" over the start screen.
#[derive(Debug, Clone, Copy)]
enum Shot {
    Screen(Page),
    RideConfirmed,
    RideRequested,
    MoreTime,
}

/// The pictures drawn, with the first part of their file names.
const SCREENS: [(Shot, &str); 10] = [
    (Shot::Screen(Page::Start), "start"),
    (Shot::Screen(Page::Language), "language"),
    (Shot::Screen(Page::RideWhere), "ride-where"),
    (Shot::Screen(Page::RideDestination), "ride-destination"),
    (Shot::Screen(Page::RideWhen), "ride-when"),
    (Shot::Screen(Page::RideNeeds), "ride-needs"),
    (Shot::Screen(Page::RideSummary), "ride-summary"),
    (Shot::RideConfirmed, "ride-confirmed"),
    (Shot::RideRequested, "ride-requested"),
    (Shot::MoreTime, "more-time"),
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
}

impl Default for Scene {
    fn default() -> Self {
        Scene {
            village: "Groß Vahlberg".into(),
            clock: "09:30".into(),
            high_contrast: false,
            large_text: false,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default(),
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
    app.show()?;

    let mut written = Vec::new();
    for lang in LANGUAGES {
        super::set_language(&app, lang.code)?;
        for (shot, screen) in SCREENS {
            stage(&app, shot);
            let pixels = draw(&window);
            let path = out.join(format!("{screen}-{}.png", lang.code));
            write_png(&path, &pixels)?;
            written.push(path);
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
    let id = uuid::Uuid::from_u128(0x2026_1202);
    let answer = |status| BookingResult {
        id,
        code: protocol::BookingCode::from_uuid(id),
        status,
    };
    match shot {
        Shot::Screen(page) => app.global::<Navigation>().set_page(page),
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
        Shot::MoreTime => {
            app.global::<Navigation>().set_page(Page::Start);
            app.global::<Activity>().set_asking(true);
        }
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

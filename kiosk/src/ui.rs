//! The touch UI: the Slint screens under `kiosk/ui/` (compiled by `build.rs`), the languages they
//! speak, and [`screenshots`] (every screen in every language as PNG, without a display).
//!
//! Rust talks to the UI only through its globals: `Settings` (language, right to left, contrast,
//! text size), `Status` (village and clock), `Navigation` (the screen shown), and one global per
//! screen (`StartScreen`, `LanguageScreen`) plus `Assist` (read aloud, help) and `Activity` (every
//! tap, and the "Mehr Zeit?" question of the [`idle`] reset). The UI thread never waits for
//! anything here: callbacks hand work on and return.

pub mod booking;
pub mod buttons;
pub mod counselling;
pub mod help;
pub mod idle;
pub mod person;
pub mod printing;
pub mod ride;
pub mod screenshots;
pub mod setup;
pub mod staff;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

pub use generated::*;

/// The generated code of `ui/app.slint`: `AppWindow` and the globals named above. It is Slint's
/// code, not ours: it unwraps what Slint itself set up and has `todo!()` arms for paths a
/// compiled UI never takes, so the house lints against those do not apply to it.
#[allow(clippy::unwrap_used, clippy::todo, clippy::all)]
mod generated {
    slint::include_modules!();
}

/// A language the kiosk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang {
    /// The code of its bundled translation (`ui/translations/<code>/`).
    pub code: &'static str,
    /// Its name in itself, as the language screen shows it.
    pub name: &'static str,
    /// Written right to left: the screens mirror their rows.
    pub right_to_left: bool,
}

/// The kiosk's languages, German first (the texts in the `.slint` files are German).
pub const LANGUAGES: [Lang; 5] = [
    Lang {
        code: "de",
        name: "Deutsch",
        right_to_left: false,
    },
    Lang {
        code: "en",
        name: "English",
        right_to_left: false,
    },
    Lang {
        code: "uk",
        name: "Українська",
        right_to_left: false,
    },
    Lang {
        code: "ar",
        name: "العربية",
        right_to_left: true,
    },
    Lang {
        code: "tr",
        name: "Türkçe",
        right_to_left: false,
    },
];

/// The kiosk's first language, whose texts are the source texts.
pub const SOURCE_LANGUAGE: &str = "de";

/// What can go wrong setting up or switching the UI.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("the kiosk has no language {0:?}")]
    UnknownLanguage(String),
    #[error("the translation {code:?} is not bundled: {reason}")]
    Translation { code: String, reason: String },
    #[error("the UI platform failed: {0}")]
    Platform(#[from] slint::PlatformError),
    #[error("writing {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("encoding {path}: {source}")]
    Png {
        path: std::path::PathBuf,
        source: png::EncodingError,
    },
}

/// The language with this code.
pub fn language(code: &str) -> Option<Lang> {
    LANGUAGES.iter().copied().find(|l| l.code == code)
}

/// Connects a new window to the kiosk: the village's name, the languages offered, and what the
/// language screen does when a language is tapped (switch, then back to the start screen).
pub fn init(app: &AppWindow, village: &str) {
    init_screens(app, village);
    watch_idle(app, idle::Limits::STANDARD);
}

/// The screens and their callbacks without the idle watch: for pictures of a fixed state, where
/// a tick of the watch would take the "Mehr Zeit?" question away again.
pub(crate) fn init_screens(app: &AppWindow, village: &str) {
    app.global::<Status>().set_village(village.into());
    let languages: Vec<Language> = LANGUAGES
        .iter()
        .map(|l| Language {
            code: l.code.into(),
            name: l.name.into(),
        })
        .collect();
    app.global::<LanguageScreen>()
        .set_languages(ModelRc::from(Rc::new(VecModel::from(languages))));

    let weak = app.as_weak();
    app.global::<LanguageScreen>()
        .on_choose(move |code: SharedString| {
            let Some(app) = weak.upgrade() else { return };
            match set_language(&app, &code) {
                Ok(()) => app.global::<Navigation>().set_page(Page::Start),
                // Only codes from LANGUAGES are offered, so this is a build without them.
                Err(e) => tracing::error!("switching the language: {e}"),
            }
        });
    let weak = app.as_weak();
    app.global::<StartScreen>().on_open(move |tile| {
        tracing::info!(?tile, "start tile tapped");
        let Some(app) = weak.upgrade() else { return };
        match tile {
            StartTile::Ride => ride::start(&app),
            StartTile::Counselling => counselling::start(&app),
            StartTile::Imbus => counselling::show_imbus(&app),
            StartTile::Help => help::start(&app),
            StartTile::Booking => booking::start(&app),
            _ => {}
        }
    });
}

/// How often the idle watch looks at the time. Its clock counts these ticks, so it runs on Slint's
/// timers (mocked time in tests included); a tick the event loop delivers late only lengthens a
/// limit, never shortens it.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// The settings a resident may change for themselves, as the kiosk was set up.
#[derive(Debug, Clone)]
struct OwnSettings {
    language: SharedString,
    high_contrast: bool,
    large_text: bool,
}

/// Starts (or restarts, with other limits) the idle reset of `app`: "Mehr Zeit?" after
/// `limits.idle` without a tap, and after `limits.answer` more without one everything the
/// resident typed or chose is forgotten and the start screen returns in the settings the window
/// has now (language, contrast, text size). [`init`] starts it with the standard limits; a kiosk
/// set up as `slow` calls it again with `idle::Limits::new(true)`.
pub fn watch_idle(app: &AppWindow, limits: idle::Limits) {
    let settings = app.global::<Settings>();
    let own = OwnSettings {
        language: settings.get_language(),
        high_contrast: settings.get_high_contrast(),
        large_text: settings.get_large_text(),
    };
    let machine = Rc::new(RefCell::new(idle::Idle::new(limits)));
    // The watch's clock: the ticks of its timer so far.
    let clock = Rc::new(std::cell::Cell::new(Duration::ZERO));
    app.global::<Activity>().set_asking(false);

    let timer = Timer::default();
    let (weak, tick_machine, tick_clock) = (app.as_weak(), machine.clone(), clock.clone());
    timer.start(TimerMode::Repeated, IDLE_TICK, move || {
        let Some(app) = weak.upgrade() else { return };
        tick_clock.set(tick_clock.get() + IDLE_TICK);
        let show = tick_machine.borrow_mut().tick(tick_clock.get());
        apply_idle(&app, show, &own);
    });

    // The timer lives as long as the callback that holds it, that is as long as the window (or
    // until the next `watch_idle` replaces both).
    let weak = app.as_weak();
    app.global::<Activity>().on_touched(move || {
        let _running = &timer;
        let Some(app) = weak.upgrade() else { return };
        let show = machine.borrow_mut().touch(clock.get());
        app.global::<Activity>().set_asking(show == idle::Show::Ask);
    });
}

fn apply_idle(app: &AppWindow, show: idle::Show, own: &OwnSettings) {
    let activity = app.global::<Activity>();
    match show {
        idle::Show::Nothing => activity.set_asking(false),
        idle::Show::Ask => activity.set_asking(true),
        idle::Show::Reset => {
            activity.set_asking(false);
            forget_resident(app, own);
        }
    }
}

/// Back to the start screen as the kiosk was set up: nothing of the last resident stays.
fn forget_resident(app: &AppWindow, own: &OwnSettings) {
    if let Err(e) = set_language(app, &own.language) {
        tracing::error!("resetting the language: {e}");
    }
    let settings = app.global::<Settings>();
    settings.set_high_contrast(own.high_contrast);
    settings.set_large_text(own.large_text);
    ride::forget(app);
    person::forget(app);
    help::forget(app);
    booking::forget(app);
    printing::forget(app);
    staff::forget(app);
    counselling::forget(app);
    buttons::forget(app);
    app.global::<Navigation>().set_page(Page::Start);
}

/// Shows every text in `code`'s language and mirrors the screens for right-to-left languages.
pub fn set_language(app: &AppWindow, code: &str) -> Result<(), UiError> {
    let lang = language(code).ok_or_else(|| UiError::UnknownLanguage(code.into()))?;
    // The source language is selected by the empty name (Slint's rule for untranslated text).
    let bundle = if lang.code == SOURCE_LANGUAGE {
        ""
    } else {
        lang.code
    };
    slint::select_bundled_translation(bundle).map_err(|e| UiError::Translation {
        code: code.into(),
        reason: e.to_string(),
    })?;
    let settings = app.global::<Settings>();
    settings.set_language(lang.code.into());
    settings.set_rtl(lang.right_to_left);
    Ok(())
}

/// A code without dashes grouped in fours, as tickets and the hub show codes: `7KQM-2XHD-R`.
pub(crate) fn grouped(compact: &str) -> String {
    let chars: Vec<char> = compact.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code's keypad line after a key: `Some(key)` adds it while fewer than `max` characters are
/// typed, `None` ("Löschen") takes the last one away; grouped again.
pub(crate) fn keyed(typed: &str, key: Option<&str>, max: usize) -> String {
    let mut compact = ungrouped(typed);
    match key {
        Some(key) if compact.chars().count() < max => compact.push_str(key),
        Some(_) => {}
        None => {
            compact.pop();
        }
    }
    grouped(&compact)
}

/// A code as a keypad line shows it, without its dashes.
pub(crate) fn ungrouped(typed: &str) -> String {
    typed.chars().filter(|c| *c != '-').collect()
}

/// Shows `now` as the clock at the top of every screen.
pub fn set_clock<Tz: chrono::TimeZone>(app: &AppWindow, now: &chrono::DateTime<Tz>)
where
    Tz::Offset: std::fmt::Display,
{
    app.global::<Status>()
        .set_clock(now.format("%H:%M").to_string().into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_but_the_source_has_a_bundled_translation() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/translations");
        for lang in LANGUAGES.iter().filter(|l| l.code != SOURCE_LANGUAGE) {
            let po = root.join(lang.code).join("LC_MESSAGES/kiosk.po");
            assert!(po.is_file(), "{} is missing", po.display());
        }
        assert_eq!(language("ar").map(|l| l.right_to_left), Some(true));
        assert!(language("fr").is_none());
    }

    #[test]
    fn typed_codes_are_grouped_like_the_ticket_and_read_back() {
        assert_eq!(grouped(""), "");
        assert_eq!(grouped("7KQ"), "7KQ");
        assert_eq!(grouped("7KQM2"), "7KQM-2");
        assert_eq!(grouped("7KQM2XHDR"), "7KQM-2XHD-R");
        assert_eq!(grouped("K7QM2XPA9RTD"), "K7QM-2XPA-9RTD");
        assert_eq!(ungrouped("K7QM-2XPA-9RTD"), "K7QM2XPA9RTD");
        assert_eq!(ungrouped(""), "");
        assert_eq!(keyed("7KQM-2", Some("X"), 9), "7KQM-2X");
        assert_eq!(keyed("7KQM-2XHD-R", Some("X"), 9), "7KQM-2XHD-R");
        assert_eq!(keyed("7KQM-2", None, 9), "7KQM");
        assert_eq!(keyed("", None, 9), "");
    }
}

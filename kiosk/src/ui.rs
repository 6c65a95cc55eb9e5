//! The touch UI: the Slint screens under `kiosk/ui/` (compiled by `build.rs`), the languages they
//! speak, and [`screenshots`] (every screen in every language as PNG, without a display).
//!
//! Rust talks to the UI only through its globals: `Settings` (language, right to left, contrast,
//! text size), `Status` (village and clock), `Navigation` (the screen shown), and one global per
//! screen (`StartScreen`, `LanguageScreen`) plus `Assist` (read aloud, help). The UI thread never
//! waits for anything here: callbacks hand work on and return.

pub mod screenshots;

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

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
    app.global::<StartScreen>().on_open(|tile| {
        tracing::info!(?tile, "start tile tapped");
    });
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
}

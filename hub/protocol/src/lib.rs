//! The wire contract between Dorfpunkt kiosks and their hub.
//!
//! Both sides depend on this crate and on nothing of each other. Every type that crosses the
//! network is versioned by [`API_VERSION`]; a change that old kiosks cannot read needs a new version.

pub mod booking_code;
pub mod device;
pub mod people;
pub mod staff;
pub mod sync;
pub mod update;

pub use booking_code::{BookingCode, BookingCodeError};
pub use people::{ResidentNumber, ResidentNumberError};

/// Version of the kiosk-hub contract spoken by this build.
pub const API_VERSION: u32 = 1;

/// Languages the resident-facing surfaces speak, German first.
pub const LANGUAGES: [&str; 5] = ["de", "en", "uk", "ar", "tr"];

/// Whether `tag` is one of the [`LANGUAGES`].
pub fn is_supported_language(tag: &str) -> bool {
    LANGUAGES.contains(&tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_is_the_first_language() {
        assert_eq!(LANGUAGES[0], "de");
        assert!(is_supported_language("ar"));
        assert!(!is_supported_language("fr"));
    }
}

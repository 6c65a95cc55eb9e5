//! The kiosk's own hardware for `kiosk run`: the Raspberry Pi's lines (the `pi` feature) or, on a
//! PC, the simulated backend (no buttons pressed, no headphones plugged in, so personal data is
//! never spoken aloud there).

use hardware::{AudioOut, Buttons};

/// The buttons and the audio jack the screen uses.
pub struct Board {
    pub buttons: Box<dyn Buttons>,
    pub audio: Box<dyn AudioOut>,
}

impl Board {
    /// The Pi's lines as `hardware::pi::PiConfig::default()` names them; a line that cannot be
    /// opened is logged and simulated instead, so the touch screen still works.
    #[cfg(feature = "pi")]
    pub fn open() -> Board {
        let config = hardware::pi::PiConfig::default();
        let buttons: Box<dyn Buttons> = match hardware::pi::PiButtons::open(&config) {
            Ok(b) => Box::new(b),
            Err(e) => {
                tracing::error!(error = %e, "the physical buttons cannot be read");
                Box::new(hardware::simulated::SimButtons::default())
            }
        };
        let audio: Box<dyn AudioOut> = match hardware::pi::PiAudio::open(&config) {
            Ok(a) => Box::new(a),
            Err(e) => {
                tracing::error!(error = %e, "the headphone jack cannot be read");
                Box::new(hardware::simulated::SimAudio::default())
            }
        };
        Board { buttons, audio }
    }

    /// A PC has none of the kiosk's buttons and no jack switch.
    #[cfg(not(feature = "pi"))]
    pub fn open() -> Board {
        Board {
            buttons: Box::new(hardware::simulated::SimButtons::default()),
            audio: Box::new(hardware::simulated::SimAudio::default()),
        }
    }
}

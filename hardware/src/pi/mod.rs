//! The Raspberry Pi backend: buttons, presence sensor, headphone jack switch and status LED on
//! GPIO lines looked up by name (chip numbers changed between Pi OS releases), the receipt
//! printer on a serial device, the volume through ALSA's `amixer`.
//!
//! Compiled only with the `pi` feature. Every input line is watched on one thread per device,
//! debounced there, and reported through the device's listener.

mod gpio;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use gpiocdev::Request;
use gpiocdev::line::{Offset, Value};

use crate::audio::DEFAULT_VOLUME;
use crate::debounce::BUTTON_SETTLE;
use crate::escpos::EscPosPrinter;
use crate::{
    AudioOut, Button, Buttons, Callback, HardwareError, LedState, Listener, PresenceSensor,
    StatusLed,
};

pub use gpio::InputLine;
use gpio::Watcher;

/// Which line does what. Names are the kernel's line names (`gpioinfo`), e.g. `GPIO17`.
#[derive(Clone, Debug)]
pub struct PiConfig {
    pub buttons: Vec<(Button, InputLine)>,
    pub presence: InputLine,
    /// The jack's switch contact; without one, headphones are never assumed to be plugged in,
    /// so personal data is never spoken.
    pub headphone_detect: Option<InputLine>,
    /// A two-colour LED: green for ok, red for fault, both for attention.
    pub led_green: String,
    pub led_red: String,
    pub button_settle: Duration,
    /// PIR sensors hold their output for seconds; this only filters glitches.
    pub presence_settle: Duration,
    /// The ALSA mixer control `amixer` sets.
    pub mixer_control: String,
}

impl Default for PiConfig {
    fn default() -> Self {
        let button = |b, name: &str| (b, InputLine::active_low(name));
        Self {
            buttons: vec![
                button(Button::Up, "GPIO5"),
                button(Button::Down, "GPIO6"),
                button(Button::Select, "GPIO13"),
                button(Button::Back, "GPIO19"),
                button(Button::Help, "GPIO26"),
                button(Button::Speech, "GPIO16"),
            ],
            presence: InputLine::active_high("GPIO17"),
            headphone_detect: Some(InputLine::active_low("GPIO22")),
            led_green: "GPIO23".into(),
            led_red: "GPIO24".into(),
            button_settle: BUTTON_SETTLE,
            presence_settle: Duration::from_millis(200),
            mixer_control: "PCM".into(),
        }
    }
}

/// The buttons, each press debounced.
pub struct PiButtons {
    listener: Listener<Button>,
    _watcher: Watcher,
}

impl PiButtons {
    pub fn open(config: &PiConfig) -> Result<Self, HardwareError> {
        let listener = Listener::default();
        let lines: Vec<InputLine> = config.buttons.iter().map(|(_, l)| l.clone()).collect();
        let buttons: Vec<Button> = config.buttons.iter().map(|(b, _)| *b).collect();
        let emit = listener.clone();
        let (watcher, _) = Watcher::spawn(
            "buttons",
            &lines,
            config.button_settle,
            Box::new(move |index, pressed| {
                if pressed {
                    emit.emit(buttons[index]);
                }
            }),
        )?;
        Ok(Self {
            listener,
            _watcher: watcher,
        })
    }
}

impl Buttons for PiButtons {
    fn listen(&mut self, on_press: Callback<Button>) {
        self.listener.set(on_press);
    }
}

/// A two-state input (presence, headphone jack): its last level and a listener for changes.
struct Switch {
    level: Arc<AtomicBool>,
    listener: Listener<bool>,
    _watcher: Watcher,
}

impl Switch {
    fn open(name: &str, line: &InputLine, settle: Duration) -> Result<Self, HardwareError> {
        let level = Arc::new(AtomicBool::new(false));
        let listener = Listener::default();
        let (shared, emit) = (Arc::clone(&level), listener.clone());
        let (watcher, initial) = Watcher::spawn(
            name,
            std::slice::from_ref(line),
            settle,
            Box::new(move |_, active| {
                shared.store(active, Ordering::SeqCst);
                emit.emit(active);
            }),
        )?;
        level.store(initial[0], Ordering::SeqCst);
        Ok(Self {
            level,
            listener,
            _watcher: watcher,
        })
    }
}

/// The presence sensor (a PIR module's output, active high).
pub struct PiPresence(Switch);

impl PiPresence {
    pub fn open(config: &PiConfig) -> Result<Self, HardwareError> {
        Switch::open("presence", &config.presence, config.presence_settle).map(Self)
    }
}

impl PresenceSensor for PiPresence {
    fn someone_there(&self) -> bool {
        self.0.level.load(Ordering::SeqCst)
    }

    fn listen(&mut self, on_change: Callback<bool>) {
        self.0.listener.set(on_change);
    }
}

/// The headphone jack's switch and the ALSA mixer.
pub struct PiAudio {
    jack: Option<Switch>,
    mixer_control: String,
}

impl PiAudio {
    pub fn open(config: &PiConfig) -> Result<Self, HardwareError> {
        let jack = config
            .headphone_detect
            .as_ref()
            .map(|line| Switch::open("headphones", line, config.button_settle))
            .transpose()?;
        Ok(Self {
            jack,
            mixer_control: config.mixer_control.clone(),
        })
    }
}

impl AudioOut for PiAudio {
    fn headphones_plugged(&self) -> bool {
        self.jack
            .as_ref()
            .is_some_and(|jack| jack.level.load(Ordering::SeqCst))
    }

    fn listen(&mut self, on_change: Callback<bool>) {
        if let Some(jack) = &self.jack {
            jack.listener.set(on_change);
        }
    }

    fn reset_volume(&mut self) -> Result<(), HardwareError> {
        self.set_volume(DEFAULT_VOLUME)
    }

    fn set_volume(&mut self, percent: u8) -> Result<(), HardwareError> {
        let control = self.mixer_control.clone();
        let level = format!("{}%", percent.min(100));
        // amixer takes tens of milliseconds; the UI thread does not wait for it.
        thread::Builder::new()
            .name("amixer".into())
            .spawn(move || {
                match Command::new("amixer")
                    .args(["-q", "sset", &control, &level])
                    .status()
                {
                    Ok(status) if status.success() => {}
                    Ok(status) => tracing::warn!(%status, control, "amixer failed"),
                    Err(error) => tracing::warn!(%error, "amixer could not run"),
                }
            })
            .map(drop)
            .map_err(|e| HardwareError::Device(e.to_string()))
    }
}

/// The two-colour status LED.
pub struct PiLed {
    request: Request,
    green: Offset,
    red: Offset,
}

impl PiLed {
    pub fn open(config: &PiConfig) -> Result<Self, HardwareError> {
        let green = gpio::find(&config.led_green)?;
        let red = gpio::find(&config.led_red)?;
        let request = Request::builder()
            .with_consumer("dorfpunkt-led")
            .with_found_line(&green)
            .as_output(Value::Inactive)
            .with_found_line(&red)
            .as_output(Value::Inactive)
            .request()
            .map_err(gpio::device)?;
        Ok(Self {
            request,
            green: green.info.offset,
            red: red.info.offset,
        })
    }
}

impl StatusLed for PiLed {
    fn set(&mut self, state: LedState) -> Result<(), HardwareError> {
        let (green, red) = match state {
            LedState::Off => (false, false),
            LedState::Ok => (true, false),
            LedState::Attention => (true, true),
            LedState::Fault => (false, true),
        };
        let value = |on| if on { Value::Active } else { Value::Inactive };
        self.request
            .set_value(self.green, value(green))
            .and_then(|_| self.request.set_value(self.red, value(red)))
            .map_err(gpio::device)
    }
}

/// The ESC/POS printer on a serial device (`/dev/ttyUSB0`, `/dev/ttyACM0`, `/dev/serial0`),
/// with its paper state polled every `poll_every`.
pub fn serial_printer(
    path: &Path,
    baud_rate: u32,
    poll_every: Duration,
) -> Result<EscPosPrinter, HardwareError> {
    let path = path.to_string_lossy().into_owned();
    // Printers answer the status query within a few milliseconds; a second is "offline".
    let open = move || {
        serialport::new(path.as_str(), baud_rate)
            .timeout(Duration::from_secs(1))
            .open()
            .map_err(std::io::Error::from)
    };
    EscPosPrinter::spawn(Box::new(open), poll_every)
        .map_err(|e| HardwareError::Device(e.to_string()))
}

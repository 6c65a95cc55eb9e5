//! What the kiosk touches: status LED, buttons, presence sensor and printer state, as traits.
//!
//! The kiosk only talks to these traits. The simulated backend is always compiled, so tests and
//! a developer's PC never need a board; the Raspberry Pi backend comes with the kiosk appliance.

pub mod simulated;

/// Colours the status LED shows to staff: all good, attention needed, out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedState {
    Off,
    Ok,
    Attention,
    Fault,
}

/// The physical buttons beside the screen; they drive every flow for blind residents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Up,
    Down,
    Select,
    Back,
    Help,
}

/// What the receipt printer reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinterState {
    Ok,
    PaperLow,
    PaperOut,
    Offline,
}

/// A hardware line or device could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HardwareError {
    #[error("hardware line {0} not found")]
    LineNotFound(String),
    #[error("device error: {0}")]
    Device(String),
}

/// The status LED.
pub trait StatusLed {
    fn set(&mut self, state: LedState) -> Result<(), HardwareError>;
}

/// Physical buttons, polled without blocking.
pub trait Buttons {
    /// The next press since the last call, if any. Never blocks.
    fn poll(&mut self) -> Result<Option<Button>, HardwareError>;
}

/// The presence sensor that wakes the screen.
pub trait PresenceSensor {
    fn someone_there(&mut self) -> Result<bool, HardwareError>;
}

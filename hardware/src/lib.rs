//! What the kiosk touches: printer, buttons, status LED, presence sensor and audio out, as traits.
//!
//! The kiosk only talks to these traits. Nothing here blocks the caller: input arrives through
//! callbacks (or a channel made with [`channel`]) from the backend's own thread, printing runs on
//! the printer's thread and reports back through a callback, and state queries return the last
//! known value without touching the device.
//!
//! The simulated backend is always compiled, so tests and a developer's PC never need a board; the
//! Raspberry Pi backend (`pi` module) is behind the cargo feature `pi`. The pure logic both
//! backends and the kiosk share (debounce, ESC/POS status, screen dimming, speech routing) lives
//! in its own modules and is tested without hardware.

pub mod audio;
pub mod debounce;
pub mod escpos;
#[cfg(feature = "pi")]
pub mod pi;
pub mod screen;
pub mod simulated;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

/// Colours the status LED shows to staff: all good, attention needed, out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedState {
    Off,
    Ok,
    Attention,
    Fault,
}

/// The physical buttons beside the screen; they drive every flow for blind residents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Button {
    Up,
    Down,
    Select,
    Back,
    Help,
    /// The tactile button that starts (or repeats) speech mode.
    Speech,
}

impl Button {
    pub const ALL: [Button; 6] = [
        Button::Up,
        Button::Down,
        Button::Select,
        Button::Back,
        Button::Help,
        Button::Speech,
    ];
}

/// What the receipt printer reports about itself.
///
/// The same four states as `protocol::device::PrinterState`; the kiosk maps one onto the other
/// (`kiosk::heartbeat::printer_state`) so this crate stays beside `protocol`, not above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinterState {
    Ok,
    PaperLow,
    PaperOut,
    Offline,
}

/// What the kiosk hands to a printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintJob {
    /// Raw ESC/POS bytes, written as they are.
    EscPos(Vec<u8>),
    /// A finished PDF file (a CUPS queue prints it; an ESC/POS printer cannot).
    Pdf(PathBuf),
}

/// Why a print job did not (certainly) come out whole. The booking stays reprintable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer does not answer")]
    Offline,
    #[error("this printer cannot print {0}")]
    Unsupported(&'static str),
    #[error("printer error: {0}")]
    Device(String),
}

/// A hardware line or device could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HardwareError {
    #[error("hardware line {0} not found")]
    LineNotFound(String),
    #[error("device error: {0}")]
    Device(String),
}

/// Called with each event on the thread that saw it (a backend's input thread; for the simulated
/// backend, the thread that pressed or toggled). It must return quickly (send on a channel or
/// post to the UI's event loop) and must not call `listen` on its own device, whose listener is
/// locked while it runs.
pub type Callback<T> = Box<dyn FnMut(T) + Send + 'static>;

/// Called once when a print job has been written (or has failed).
pub type PrintDone = Box<dyn FnOnce(Result<(), PrintError>) + Send + 'static>;

/// A callback that forwards into a channel, for callers that prefer a receiver.
pub fn channel<T: Send + 'static>() -> (Callback<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::channel();
    let callback = Box::new(move |value: T| {
        // A dropped receiver means nobody listens any more; the event is dropped too.
        let _ = tx.send(value);
    });
    (callback, rx)
}

/// The status LED.
pub trait StatusLed: Send {
    /// Sets the colour. Writing a GPIO line is immediate, so this may run on the UI thread.
    fn set(&mut self, state: LedState) -> Result<(), HardwareError>;
}

/// The five navigation buttons and the speech button.
pub trait Buttons: Send {
    /// Every debounced press from now on goes to `on_press` (replacing an earlier listener).
    fn listen(&mut self, on_press: Callback<Button>);
}

/// The presence sensor that wakes the screen.
pub trait PresenceSensor: Send {
    /// The last debounced reading; no device access.
    fn someone_there(&self) -> bool;
    /// Every change of the reading from now on goes to `on_change`.
    fn listen(&mut self, on_change: Callback<bool>);
}

/// Speech output: the loudspeaker, or the headphone jack when something is plugged in.
pub trait AudioOut: Send {
    /// Whether headphones are plugged in now (last known); see [`audio::route`].
    fn headphones_plugged(&self) -> bool;
    /// Every plug or unplug from now on goes to `on_change`.
    fn listen(&mut self, on_change: Callback<bool>);
    /// Back to the default volume (after idle reset). Returns at once; the mixer runs elsewhere.
    fn reset_volume(&mut self) -> Result<(), HardwareError>;
    /// Sets the volume in percent (0..=100). Returns at once.
    fn set_volume(&mut self, percent: u8) -> Result<(), HardwareError>;
}

/// The ticket printer.
pub trait Printer: Send {
    /// Queues `job`; `done` is called once it has been written or has failed. Never blocks.
    fn print(&mut self, job: PrintJob, done: PrintDone);
    /// The last known state; no device access.
    fn state(&self) -> PrinterState;
}

/// One listener a backend's thread calls, shared with the object the kiosk holds.
pub(crate) struct Listener<T> {
    slot: Arc<Mutex<Option<Callback<T>>>>,
}

impl<T> Clone for Listener<T> {
    fn clone(&self) -> Self {
        Self {
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<T> Default for Listener<T> {
    fn default() -> Self {
        Self {
            slot: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T> Listener<T> {
    pub(crate) fn set(&self, callback: Callback<T>) {
        *lock(&self.slot) = Some(callback);
    }

    /// Calls the listener if there is one; events before `listen` are dropped, like a button
    /// pressed before the kiosk started.
    pub(crate) fn emit(&self, value: T) {
        if let Some(callback) = lock(&self.slot).as_mut() {
            callback(value);
        }
    }
}

/// Locks a mutex, taking the value even if a callback panicked while holding it: the data
/// behind these locks (a callback, a state, a list) is valid at every point.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_forwards_and_survives_a_dropped_receiver() {
        let (mut callback, rx) = channel();
        callback(Button::Help);
        assert_eq!(rx.try_recv().unwrap(), Button::Help);
        drop(rx);
        callback(Button::Up);
    }
}

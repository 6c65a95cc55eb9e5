//! The simulated backend: records what the kiosk asked of the hardware and replays scripted input.
//!
//! Each device is a cheap handle (`Clone` shares the device): the kiosk gets one as a trait
//! object, the test or `kiosk sim` keeps another to press buttons, walk past the sensor, plug in
//! headphones, or run the printer out of paper. Events are delivered on the thread that causes
//! them (the test's), so tests need no waiting; [`SimButtons::play`] replays a timed script on a
//! thread of its own, like real buttons.

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::audio::DEFAULT_VOLUME;
use crate::{
    AudioOut, Button, Buttons, Callback, HardwareError, LedState, Listener, PresenceSensor,
    PrintDone, PrintError, PrintJob, Printer, PrinterState, StatusLed, lock,
};

/// A status LED that remembers every state it was set to.
#[derive(Clone, Default)]
pub struct SimLed {
    history: Arc<Mutex<Vec<LedState>>>,
}

impl SimLed {
    /// Every state set, repeats dropped.
    pub fn history(&self) -> Vec<LedState> {
        lock(&self.history).clone()
    }
}

impl StatusLed for SimLed {
    fn set(&mut self, state: LedState) -> Result<(), HardwareError> {
        // A real LED ignores a repeat; so does the transcript, keeping it readable.
        let mut history = lock(&self.history);
        if history.last() != Some(&state) {
            history.push(state);
        }
        Ok(())
    }
}

/// Buttons a test presses.
#[derive(Clone, Default)]
pub struct SimButtons {
    listener: Listener<Button>,
}

impl SimButtons {
    /// One press, delivered at once to the listener (dropped if nobody listens yet).
    pub fn press(&self, button: Button) {
        self.listener.emit(button);
    }

    /// Replays `script` (pause before each press, then the press) on its own thread.
    pub fn play(&self, script: Vec<(Duration, Button)>) -> JoinHandle<()> {
        let buttons = self.clone();
        thread::spawn(move || {
            for (pause, button) in script {
                thread::sleep(pause);
                buttons.press(button);
            }
        })
    }
}

impl Buttons for SimButtons {
    fn listen(&mut self, on_press: Callback<Button>) {
        self.listener.set(on_press);
    }
}

/// A presence sensor a test toggles.
#[derive(Clone, Default)]
pub struct SimPresence {
    present: Arc<Mutex<bool>>,
    listener: Listener<bool>,
}

impl SimPresence {
    /// Someone arrives (`true`) or leaves; the listener hears only changes, like a debounced line.
    pub fn set(&self, present: bool) {
        let changed = std::mem::replace(&mut *lock(&self.present), present) != present;
        if changed {
            self.listener.emit(present);
        }
    }
}

impl PresenceSensor for SimPresence {
    fn someone_there(&self) -> bool {
        *lock(&self.present)
    }

    fn listen(&mut self, on_change: Callback<bool>) {
        self.listener.set(on_change);
    }
}

/// A headphone jack a test plugs into, and a mixer that remembers its volume.
#[derive(Clone)]
pub struct SimAudio {
    plugged: Arc<Mutex<bool>>,
    volume: Arc<Mutex<u8>>,
    listener: Listener<bool>,
}

impl Default for SimAudio {
    fn default() -> Self {
        Self {
            plugged: Arc::default(),
            volume: Arc::new(Mutex::new(DEFAULT_VOLUME)),
            listener: Listener::default(),
        }
    }
}

impl SimAudio {
    /// Plugs headphones in (`true`) or pulls them out; the listener hears only changes.
    pub fn plug(&self, plugged: bool) {
        let changed = std::mem::replace(&mut *lock(&self.plugged), plugged) != plugged;
        if changed {
            self.listener.emit(plugged);
        }
    }

    pub fn volume(&self) -> u8 {
        *lock(&self.volume)
    }
}

impl AudioOut for SimAudio {
    fn headphones_plugged(&self) -> bool {
        *lock(&self.plugged)
    }

    fn listen(&mut self, on_change: Callback<bool>) {
        self.listener.set(on_change);
    }

    fn reset_volume(&mut self) -> Result<(), HardwareError> {
        self.set_volume(DEFAULT_VOLUME)
    }

    fn set_volume(&mut self, percent: u8) -> Result<(), HardwareError> {
        *lock(&self.volume) = percent.min(100);
        Ok(())
    }
}

/// A printer whose state a test sets and which keeps every job it printed.
#[derive(Clone)]
pub struct SimPrinter {
    state: Arc<Mutex<PrinterState>>,
    printed: Arc<Mutex<Vec<PrintJob>>>,
}

impl Default for SimPrinter {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(PrinterState::Ok)),
            printed: Arc::default(),
        }
    }
}

impl SimPrinter {
    /// Paper low, out, offline or fine again.
    pub fn set_state(&self, state: PrinterState) {
        *lock(&self.state) = state;
    }

    /// Every job that came out, in order.
    pub fn printed(&self) -> Vec<PrintJob> {
        lock(&self.printed).clone()
    }
}

impl Printer for SimPrinter {
    fn print(&mut self, job: PrintJob, done: PrintDone) {
        let result = match self.state() {
            PrinterState::PaperOut => Err(PrintError::PaperOut),
            PrinterState::Offline => Err(PrintError::Offline),
            PrinterState::Ok | PrinterState::PaperLow => {
                lock(&self.printed).push(job);
                Ok(())
            }
        };
        done(result);
    }

    fn state(&self) -> PrinterState {
        *lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Route, Speech, route};
    use crate::channel;
    use crate::screen::{Screen, ScreenPower};
    use std::time::Instant;

    #[test]
    fn led_transcript_drops_repeats() {
        let led = SimLed::default();
        let mut device: Box<dyn StatusLed> = Box::new(led.clone());
        for state in [
            LedState::Ok,
            LedState::Ok,
            LedState::Attention,
            LedState::Ok,
        ] {
            device.set(state).unwrap();
        }
        assert_eq!(
            led.history(),
            vec![LedState::Ok, LedState::Attention, LedState::Ok]
        );
    }

    #[test]
    fn presses_reach_the_listener_in_order() {
        let buttons = SimButtons::default();
        buttons.press(Button::Help); // nobody listens yet: dropped
        let mut device: Box<dyn Buttons> = Box::new(buttons.clone());
        let (on_press, presses) = channel();
        device.listen(on_press);
        buttons.press(Button::Down);
        buttons.press(Button::Select);
        buttons.press(Button::Speech);
        assert_eq!(
            presses.try_iter().collect::<Vec<_>>(),
            vec![Button::Down, Button::Select, Button::Speech]
        );
    }

    #[test]
    fn a_played_script_arrives_from_another_thread() {
        let buttons = SimButtons::default();
        let mut device = buttons.clone();
        let (on_press, presses) = channel();
        device.listen(on_press);
        let script = Button::ALL
            .iter()
            .map(|&b| (Duration::from_millis(1), b))
            .collect();
        buttons.play(script).join().unwrap();
        assert_eq!(presses.try_iter().collect::<Vec<_>>(), Button::ALL);
    }

    #[test]
    fn presence_toggles_drive_the_screen() {
        let sensor = SimPresence::default();
        let mut device: Box<dyn PresenceSensor> = Box::new(sensor.clone());
        let (on_change, changes) = channel();
        device.listen(on_change);
        let t0 = Instant::now();
        let mut screen = ScreenPower::new(Duration::from_secs(60), t0);
        assert_eq!(
            screen.tick(t0 + Duration::from_secs(60)),
            Some(Screen::Dimmed)
        );

        sensor.set(true);
        sensor.set(true);
        assert!(device.someone_there());
        let seen: Vec<bool> = changes.try_iter().collect();
        assert_eq!(seen, vec![true], "repeats are no change");
        assert_eq!(
            screen.presence(t0 + Duration::from_secs(70), seen[0]),
            Some(Screen::Awake)
        );
        sensor.set(false);
        assert_eq!(changes.try_iter().collect::<Vec<_>>(), vec![false]);
    }

    #[test]
    fn headphones_decide_where_personal_data_is_spoken() {
        let jack = SimAudio::default();
        let mut device: Box<dyn AudioOut> = Box::new(jack.clone());
        let (on_change, changes) = channel();
        device.listen(on_change);
        assert_eq!(
            route(Speech::Personal, device.headphones_plugged()),
            Route::Withhold
        );
        jack.plug(true);
        assert_eq!(
            route(Speech::Personal, device.headphones_plugged()),
            Route::Headphones
        );
        jack.plug(false);
        assert_eq!(changes.try_iter().collect::<Vec<_>>(), vec![true, false]);
    }

    #[test]
    fn volume_resets_to_the_default() {
        let jack = SimAudio::default();
        let mut device: Box<dyn AudioOut> = Box::new(jack.clone());
        device.set_volume(250).unwrap();
        assert_eq!(jack.volume(), 100, "capped");
        device.reset_volume().unwrap();
        assert_eq!(jack.volume(), DEFAULT_VOLUME);
    }

    fn print(device: &mut dyn Printer, job: PrintJob) -> Result<(), PrintError> {
        let (done, result) = channel();
        device.print(job, Box::new(done));
        result.try_recv().unwrap()
    }

    #[test]
    fn the_printer_keeps_what_it_printed_and_refuses_without_paper() {
        let printer = SimPrinter::default();
        let mut device: Box<dyn Printer> = Box::new(printer.clone());
        let ticket = PrintJob::EscPos(b"\x1b@Ticket".to_vec());
        let pdf = PrintJob::Pdf("/tmp/ticket.pdf".into());
        assert_eq!(print(device.as_mut(), ticket.clone()), Ok(()));

        printer.set_state(PrinterState::PaperLow);
        assert_eq!(device.state(), PrinterState::PaperLow);
        assert_eq!(
            print(device.as_mut(), pdf.clone()),
            Ok(()),
            "low still prints"
        );

        printer.set_state(PrinterState::PaperOut);
        assert_eq!(
            print(device.as_mut(), ticket.clone()),
            Err(PrintError::PaperOut)
        );
        printer.set_state(PrinterState::Offline);
        assert_eq!(
            print(device.as_mut(), ticket.clone()),
            Err(PrintError::Offline)
        );

        assert_eq!(printer.printed(), vec![ticket, pdf]);
    }
}

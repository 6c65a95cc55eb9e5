//! The simulated backend: records what the kiosk asked of the hardware and replays scripted input.

use std::collections::VecDeque;

use crate::{Button, Buttons, HardwareError, LedState, PresenceSensor, StatusLed};

/// A status LED that remembers every state it was set to.
#[derive(Default)]
pub struct SimLed {
    pub history: Vec<LedState>,
}

impl StatusLed for SimLed {
    fn set(&mut self, state: LedState) -> Result<(), HardwareError> {
        // A real LED ignores a repeat; so does the transcript, keeping it readable.
        if self.history.last() != Some(&state) {
            self.history.push(state);
        }
        Ok(())
    }
}

/// Buttons that replay presses a test queued.
#[derive(Default)]
pub struct SimButtons {
    queued: VecDeque<Button>,
}

impl SimButtons {
    pub fn press(&mut self, button: Button) {
        self.queued.push_back(button);
    }
}

impl Buttons for SimButtons {
    fn poll(&mut self) -> Result<Option<Button>, HardwareError> {
        Ok(self.queued.pop_front())
    }
}

/// A presence sensor whose reading a test sets.
#[derive(Default)]
pub struct SimPresence {
    pub present: bool,
}

impl PresenceSensor for SimPresence {
    fn someone_there(&mut self) -> Result<bool, HardwareError> {
        Ok(self.present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn led_transcript_drops_repeats() {
        let mut led = SimLed::default();
        for state in [
            LedState::Ok,
            LedState::Ok,
            LedState::Attention,
            LedState::Ok,
        ] {
            led.set(state).unwrap();
        }
        assert_eq!(
            led.history,
            vec![LedState::Ok, LedState::Attention, LedState::Ok]
        );
    }

    #[test]
    fn buttons_replay_in_order_then_report_nothing() {
        let mut buttons = SimButtons::default();
        buttons.press(Button::Down);
        buttons.press(Button::Select);
        assert_eq!(buttons.poll().unwrap(), Some(Button::Down));
        assert_eq!(buttons.poll().unwrap(), Some(Button::Select));
        assert_eq!(buttons.poll().unwrap(), None);
    }
}

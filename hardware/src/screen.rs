//! When the screen is awake and when it dims: presence wakes it, and it dims once nobody has been
//! there and nothing has been touched for a while.
//!
//! A pure state machine: the kiosk feeds presence readings, touches and button presses with their
//! time, and calls [`ScreenPower::tick`] by [`ScreenPower::deadline`]. No clock is read here.

use std::time::{Duration, Instant};

/// What the screen should show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Awake,
    Dimmed,
}

/// The screen's power state from presence and touches.
#[derive(Clone, Debug)]
pub struct ScreenPower {
    dim_after: Duration,
    state: Screen,
    present: bool,
    last_activity: Instant,
}

impl ScreenPower {
    /// Starts awake, as if touched at `now`, with nobody there.
    pub fn new(dim_after: Duration, now: Instant) -> Self {
        Self {
            dim_after,
            state: Screen::Awake,
            present: false,
            last_activity: now,
        }
    }

    pub fn state(&self) -> Screen {
        self.state
    }

    /// A new presence reading. Someone arriving wakes the screen; someone leaving starts the
    /// countdown. Returns the new state if it changed.
    pub fn presence(&mut self, now: Instant, present: bool) -> Option<Screen> {
        let arrived = present && !self.present;
        let left = !present && self.present;
        self.present = present;
        if left {
            self.last_activity = now;
        }
        if arrived { self.wake() } else { None }
    }

    /// A touch or a button press: wakes the screen and restarts the countdown.
    pub fn touch(&mut self, now: Instant) -> Option<Screen> {
        self.last_activity = now;
        self.wake()
    }

    /// Dims once nobody is there and nothing was touched for `dim_after`.
    pub fn tick(&mut self, now: Instant) -> Option<Screen> {
        match self.deadline() {
            Some(deadline) if now >= deadline => {
                self.state = Screen::Dimmed;
                Some(Screen::Dimmed)
            }
            _ => None,
        }
    }

    /// When the screen dims unless something happens first; `None` while it stays as it is.
    pub fn deadline(&self) -> Option<Instant> {
        (self.state == Screen::Awake && !self.present).then(|| self.last_activity + self.dim_after)
    }

    fn wake(&mut self) -> Option<Screen> {
        (self.state == Screen::Dimmed).then(|| {
            self.state = Screen::Awake;
            Screen::Awake
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn dims_after_the_time_without_anybody_and_wakes_on_presence() {
        let t0 = Instant::now();
        let mut screen = ScreenPower::new(s(60), t0);
        assert_eq!(screen.deadline(), Some(t0 + s(60)));
        assert_eq!(screen.tick(t0 + s(59)), None);
        assert_eq!(screen.tick(t0 + s(60)), Some(Screen::Dimmed));
        assert_eq!(screen.tick(t0 + s(61)), None, "dims once");
        assert_eq!(screen.deadline(), None);
        assert_eq!(screen.presence(t0 + s(90), true), Some(Screen::Awake));
        assert_eq!(screen.state(), Screen::Awake);
    }

    #[test]
    fn stays_awake_while_someone_is_there_and_counts_from_when_they_left() {
        let t0 = Instant::now();
        let mut screen = ScreenPower::new(s(60), t0);
        assert_eq!(screen.presence(t0 + s(1), true), None, "already awake");
        assert_eq!(screen.tick(t0 + s(600)), None, "someone reads slowly");
        assert_eq!(screen.deadline(), None);
        assert_eq!(screen.presence(t0 + s(700), false), None);
        assert_eq!(screen.tick(t0 + s(759)), None);
        assert_eq!(screen.tick(t0 + s(760)), Some(Screen::Dimmed));
    }

    #[test]
    fn a_touch_wakes_and_restarts_the_countdown() {
        let t0 = Instant::now();
        let mut screen = ScreenPower::new(s(30), t0);
        assert_eq!(screen.touch(t0 + s(20)), None);
        assert_eq!(screen.tick(t0 + s(40)), None, "touched at 20 s");
        assert_eq!(screen.tick(t0 + s(50)), Some(Screen::Dimmed));
        // A sensor that misses someone sitting still: a touch still wakes the screen.
        assert_eq!(screen.touch(t0 + s(55)), Some(Screen::Awake));
        assert_eq!(screen.deadline(), Some(t0 + s(85)));
    }

    #[test]
    fn a_repeated_reading_changes_nothing() {
        let t0 = Instant::now();
        let mut screen = ScreenPower::new(s(30), t0);
        screen.presence(t0, false);
        assert_eq!(screen.deadline(), Some(t0 + s(30)));
        screen.presence(t0 + s(10), false);
        assert_eq!(screen.deadline(), Some(t0 + s(30)), "no one left at 10 s");
    }
}

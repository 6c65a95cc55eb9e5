//! The idle reset as a pure state machine: after a while without a touch the kiosk asks "Mehr
//! Zeit?", and when nobody answers it forgets the resident (what was typed, their own settings)
//! and shows the start screen again.
//!
//! Time is whatever the caller says it is (a [`Duration`] since any fixed start), so the rules are
//! tested with a fake clock; `kiosk::ui` drives it from a Slint timer.

use std::time::Duration;

/// How long the kiosk waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Without a touch this long, the kiosk asks whether the resident needs more time.
    pub idle: Duration,
    /// The question stays this long before the kiosk resets.
    pub answer: Duration,
}

impl Limits {
    /// 60 s without a touch, then 30 s to answer.
    pub const STANDARD: Limits = Limits {
        idle: Duration::from_secs(60),
        answer: Duration::from_secs(30),
    };

    /// The standard limits, or ten times longer for residents who need more time (`slow`).
    pub fn new(slow: bool) -> Limits {
        if slow {
            Limits {
                idle: Limits::STANDARD.idle * 10,
                answer: Limits::STANDARD.answer * 10,
            }
        } else {
            Limits::STANDARD
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::STANDARD
    }
}

/// What the screen should show after a tick or a touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Nothing changes: the resident is using the kiosk, or nobody is.
    Nothing,
    /// "Mehr Zeit?" with its big button.
    Ask,
    /// Forget everything and show the start screen in the kiosk's own settings.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nobody has touched the kiosk since it started or last reset: there is nothing to forget,
    /// so it never asks an empty room.
    Dormant,
    /// Last touched at this time.
    Active { since: Duration },
    /// Asking since this time.
    Asking { since: Duration },
}

/// The idle watch of one window.
#[derive(Debug, Clone)]
pub struct Idle {
    limits: Limits,
    phase: Phase,
    extensions: u32,
}

impl Idle {
    pub fn new(limits: Limits) -> Idle {
        Idle {
            limits,
            phase: Phase::Dormant,
            extensions: 0,
        }
    }

    /// A touch anywhere. While the question is shown it is the answer "more time": another full
    /// idle limit, as often as the resident asks for it.
    pub fn touch(&mut self, now: Duration) -> Show {
        if matches!(self.phase, Phase::Asking { .. }) {
            self.extensions += 1;
        }
        self.phase = Phase::Active { since: now };
        Show::Nothing
    }

    /// Time passes. Call it often (every second); a late call only makes the limits longer.
    pub fn tick(&mut self, now: Duration) -> Show {
        match self.phase {
            Phase::Dormant => Show::Nothing,
            Phase::Active { since } if now.saturating_sub(since) >= self.limits.idle => {
                self.phase = Phase::Asking { since: now };
                Show::Ask
            }
            Phase::Active { .. } => Show::Nothing,
            Phase::Asking { since } if now.saturating_sub(since) >= self.limits.answer => {
                self.phase = Phase::Dormant;
                self.extensions = 0;
                Show::Reset
            }
            Phase::Asking { .. } => Show::Ask,
        }
    }

    /// Whether the question is on screen.
    pub fn asking(&self) -> bool {
        matches!(self.phase, Phase::Asking { .. })
    }

    /// How often the resident asked for more time since the last reset.
    pub fn extensions(&self) -> u32 {
        self.extensions
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn an_untouched_kiosk_never_asks() {
        let mut idle = Idle::new(Limits::STANDARD);
        for t in 0..1000 {
            assert_eq!(idle.tick(s(t)), Show::Nothing);
        }
    }

    #[test]
    fn asks_after_a_minute_and_resets_thirty_seconds_later() {
        let mut idle = Idle::new(Limits::STANDARD);
        idle.touch(s(10));
        assert_eq!(idle.tick(s(69)), Show::Nothing);
        assert_eq!(idle.tick(s(70)), Show::Ask);
        assert!(idle.asking());
        // The question stays for at least 30 s.
        assert_eq!(idle.tick(s(99)), Show::Ask);
        assert_eq!(idle.tick(s(100)), Show::Reset);
        assert!(!idle.asking());
        // After the reset there is nobody to ask.
        assert_eq!(idle.tick(s(500)), Show::Nothing);
    }

    #[test]
    fn every_touch_starts_the_minute_again() {
        let mut idle = Idle::new(Limits::STANDARD);
        idle.touch(s(0));
        idle.touch(s(50));
        assert_eq!(idle.tick(s(100)), Show::Nothing);
        assert_eq!(idle.tick(s(110)), Show::Ask);
    }

    #[test]
    fn more_time_can_be_asked_for_again_and_again() {
        let mut idle = Idle::new(Limits::STANDARD);
        let mut now = s(0);
        idle.touch(now);
        for round in 1..=12 {
            now += s(60);
            assert_eq!(idle.tick(now), Show::Ask, "round {round}");
            now += s(29);
            assert_eq!(idle.tick(now), Show::Ask);
            assert_eq!(idle.touch(now), Show::Nothing);
            assert!(!idle.asking());
            assert_eq!(idle.extensions(), round);
        }
        now += s(60);
        assert_eq!(idle.tick(now), Show::Ask);
        now += s(30);
        assert_eq!(idle.tick(now), Show::Reset);
        assert_eq!(idle.extensions(), 0);
    }

    #[test]
    fn slow_makes_every_limit_ten_times_longer() {
        let limits = Limits::new(true);
        assert_eq!(limits.idle, s(600));
        assert_eq!(limits.answer, s(300));
        assert_eq!(Limits::new(false), Limits::STANDARD);
        let mut idle = Idle::new(limits);
        idle.touch(s(0));
        assert_eq!(idle.tick(s(599)), Show::Nothing);
        assert_eq!(idle.tick(s(600)), Show::Ask);
        assert_eq!(idle.tick(s(899)), Show::Ask);
        assert_eq!(idle.tick(s(900)), Show::Reset);
    }

    #[test]
    fn a_late_tick_never_shortens_the_question() {
        let mut idle = Idle::new(Limits::STANDARD);
        idle.touch(s(0));
        // The event loop was busy: the first tick after the limit comes very late. The question
        // still gets its full 30 s from when it was shown.
        assert_eq!(idle.tick(s(200)), Show::Ask);
        assert_eq!(idle.tick(s(229)), Show::Ask);
        assert_eq!(idle.tick(s(230)), Show::Reset);
    }
}

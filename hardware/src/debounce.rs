//! Debouncing a contact from its edges: a new level counts once the line has kept it for a while.
//!
//! A button contact bounces for a few milliseconds on press and release. Taking the first edge
//! and locking out the rest loses a release that falls inside the lockout (and then the next
//! press looks like no change), so instead a level is accepted only after the line has been
//! quiet for `settle`. The caller feeds edges with their time and calls [`Debouncer::poll`] at
//! the latest by [`Debouncer::deadline`]. No clock is read here.

use std::time::{Duration, Instant};

/// Typical settle time for tactile buttons.
pub const BUTTON_SETTLE: Duration = Duration::from_millis(30);

/// The debounced level of one input line (`true` = active).
#[derive(Clone, Debug)]
pub struct Debouncer {
    settle: Duration,
    stable: bool,
    raw: bool,
    last_edge: Option<Instant>,
}

impl Debouncer {
    pub fn new(settle: Duration, initial: bool) -> Self {
        Self {
            settle,
            stable: initial,
            raw: initial,
            last_edge: None,
        }
    }

    /// The line changed to `level` at `at`.
    pub fn edge(&mut self, at: Instant, level: bool) {
        self.raw = level;
        self.last_edge = Some(at);
    }

    /// The new debounced level, once, if the line has settled on a level other than before.
    pub fn poll(&mut self, now: Instant) -> Option<bool> {
        let last = self.last_edge?;
        if now.saturating_duration_since(last) < self.settle {
            return None;
        }
        self.last_edge = None;
        if self.raw == self.stable {
            return None;
        }
        self.stable = self.raw;
        Some(self.stable)
    }

    /// When `poll` can next give a result; `None` while the line is quiet.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_edge.map(|at| at + self.settle)
    }

    /// The debounced level.
    pub fn level(&self) -> bool {
        self.stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_bouncing_press_counts_once_after_it_settles() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        for (at, level) in [(0, true), (2, false), (3, true), (5, false), (6, true)] {
            d.edge(t0 + ms(at), level);
        }
        assert_eq!(d.deadline(), Some(t0 + ms(36)));
        assert_eq!(d.poll(t0 + ms(20)), None, "still bouncing");
        assert_eq!(d.poll(t0 + ms(36)), Some(true));
        assert_eq!(d.poll(t0 + ms(100)), None, "reported once");
        assert!(d.level());
    }

    #[test]
    fn a_glitch_that_returns_to_the_old_level_is_nothing() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        d.edge(t0, true);
        d.edge(t0 + ms(1), false);
        assert_eq!(d.poll(t0 + ms(50)), None);
        assert_eq!(d.deadline(), None);
        assert!(!d.level());
    }

    #[test]
    fn a_quick_release_inside_the_settle_time_does_not_swallow_the_next_press() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(30), false);
        d.edge(t0, true);
        assert_eq!(d.poll(t0 + ms(30)), Some(true));
        d.edge(t0 + ms(35), false);
        assert_eq!(d.poll(t0 + ms(70)), Some(false));
        d.edge(t0 + ms(500), true);
        assert_eq!(d.poll(t0 + ms(530)), Some(true), "second press seen");
    }

    #[test]
    fn nothing_without_edges() {
        let mut d = Debouncer::new(BUTTON_SETTLE, true);
        assert_eq!(d.poll(Instant::now()), None);
        assert_eq!(d.deadline(), None);
        assert!(d.level());
    }
}

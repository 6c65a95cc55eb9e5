//! GPIO input lines found by name and watched on a thread: edges in, debounced levels out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, Value};
use gpiocdev::{FoundLine, Request};

use crate::HardwareError;
use crate::debounce::Debouncer;

/// How long the thread waits for an edge before it looks whether it should stop.
const IDLE_WAIT: Duration = Duration::from_millis(250);

/// An input line by its kernel name, and whether it is active when pulled low.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputLine {
    pub name: String,
    /// Active low lines (a button to ground) get the internal pull-up.
    pub active_low: bool,
}

impl InputLine {
    pub fn active_low(name: &str) -> Self {
        Self {
            name: name.into(),
            active_low: true,
        }
    }

    pub fn active_high(name: &str) -> Self {
        Self {
            name: name.into(),
            active_low: false,
        }
    }
}

pub(super) fn find(name: &str) -> Result<FoundLine, HardwareError> {
    gpiocdev::find_named_line(name).ok_or_else(|| HardwareError::LineNotFound(name.into()))
}

pub(super) fn device(error: gpiocdev::Error) -> HardwareError {
    HardwareError::Device(error.to_string())
}

/// Called on the watcher's thread with the line's index and its new debounced level.
pub(super) type OnLevel = Box<dyn FnMut(usize, bool) + Send + 'static>;

/// A thread watching some input lines; it stops when this is dropped.
pub(super) struct Watcher {
    stop: Arc<AtomicBool>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Watcher {
    /// Requests `lines` (all on one chip, as on every Pi) with edge detection and starts the
    /// thread. Returns the watcher and the lines' levels at the start.
    pub(super) fn spawn(
        name: &str,
        lines: &[InputLine],
        settle: Duration,
        mut on_level: OnLevel,
    ) -> Result<(Self, Vec<bool>), HardwareError> {
        let mut builder = Request::builder();
        builder.with_consumer(format!("dorfpunkt-{name}"));
        let mut offsets = Vec::with_capacity(lines.len());
        for line in lines {
            let found = find(&line.name)?;
            builder
                .with_found_line(&found)
                .as_input()
                .with_edge_detection(EdgeDetection::BothEdges);
            if line.active_low {
                builder.as_active_low().with_bias(Bias::PullUp);
            }
            offsets.push(found.info.offset);
        }
        let request = builder.request().map_err(device)?;
        let initial = offsets
            .iter()
            .map(|&offset| Ok(request.value(offset).map_err(device)? == Value::Active))
            .collect::<Result<Vec<bool>, HardwareError>>()?;
        let mut debouncers: Vec<Debouncer> = initial
            .iter()
            .map(|&level| Debouncer::new(settle, level))
            .collect();

        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread_name = format!("gpio-{name}");
        thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || {
                while !stopped.load(Ordering::SeqCst) {
                    let now = Instant::now();
                    let wait = debouncers
                        .iter()
                        .filter_map(Debouncer::deadline)
                        .min()
                        .map_or(IDLE_WAIT, |d| d.saturating_duration_since(now))
                        .min(IDLE_WAIT);
                    match request.wait_edge_event(wait) {
                        Ok(true) => match request.read_edge_event() {
                            Ok(event) => {
                                if let Some(i) = offsets.iter().position(|&o| o == event.offset) {
                                    debouncers[i]
                                        .edge(Instant::now(), event.kind == EdgeKind::Rising);
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, thread = thread_name, "gpio read");
                                thread::sleep(IDLE_WAIT);
                            }
                        },
                        Ok(false) => {}
                        Err(error) => {
                            tracing::warn!(%error, thread = thread_name, "gpio wait");
                            thread::sleep(IDLE_WAIT);
                        }
                    }
                    let now = Instant::now();
                    for (i, debouncer) in debouncers.iter_mut().enumerate() {
                        if let Some(level) = debouncer.poll(now) {
                            on_level(i, level);
                        }
                    }
                }
            })
            .map_err(|e| HardwareError::Device(e.to_string()))?;
        Ok((Self { stop }, initial))
    }
}

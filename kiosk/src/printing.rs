//! The print worker: one thread that takes print jobs (a booking's ticket by its code, a help
//! slip of a "find help" service), builds the ticket from the store and the replica, and prints
//! it on a CUPS queue (a PDF receipt through `lp`) or an ESC/POS printer (the receipt as a raster
//! image: the printers' character sets have no Arabic). The printer's paper and online state is
//! checked before and after each job.
//!
//! The UI thread never waits here: [`PrintWorker::submit`] only queues, and every change of
//! [`Report`] goes to the listener (the UI posts it to its event loop). Nothing is lost when a job
//! fails: a booking is on disk before its ticket is printed, and "Meine Buchung" prints it again
//! by its code. The heartbeat reads [`PrintWorker::printer_state`].

use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use hardware::{PrintError, PrintJob, Printer};
use protocol::BookingCode;
use protocol::device::PrinterState;
use protocol::sync::OutboxKind;
use serde_json::Value;

use crate::core::{self, BookingStatus};
use crate::store::{BookingState, Store};
use crate::ticket::{self, HelpDetails, Language, Raster, Standing, Ticket, TicketKind};

/// Dots across an 80 mm thermal receipt printer's 72 mm print width, at 8 dots per mm.
pub const ESCPOS_WIDTH_DOTS: u32 = 576;
pub const ESCPOS_DOTS_PER_MM: f32 = 8.0;
/// How long an ESC/POS printer may take to answer a job before it counts as offline.
const ESCPOS_ANSWER_WITHIN: Duration = Duration::from_secs(60);
/// Rows per raster command: small enough for the input buffer of common printers.
const RASTER_BAND_ROWS: usize = 256;

/// What the worker is doing or last did; the UI shows the last three as a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintState {
    Idle,
    Printing,
    Printed,
    NoPaper,
    Offline,
    /// Anything else: the booking or service was not found, rendering or CUPS failed.
    Failed,
}

/// The worker's state and the booking code of the job it is about (`None` for a help slip).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub state: PrintState,
    pub code: Option<BookingCode>,
}

/// A print job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// The ticket of the booking with this code, German and `language`.
    Booking {
        code: BookingCode,
        language: Language,
    },
    /// The slip of the destination (a service of "find help") with this replica id.
    HelpSlip {
        destination_id: String,
        language: Language,
    },
}

impl Job {
    fn code(&self) -> Option<BookingCode> {
        match self {
            Job::Booking { code, .. } => Some(*code),
            Job::HelpSlip { .. } => None,
        }
    }
}

/// Where tickets go.
pub enum Backend {
    /// A CUPS queue, sent an 80 mm PDF receipt with `lp`.
    Cups { queue: String },
    /// An ESC/POS printer (its own thread, `hardware::escpos::EscPosPrinter` or the simulated
    /// one), sent the receipt as a raster image.
    EscPos(Box<dyn Printer>),
}

/// What every ticket carries besides the booking.
#[derive(Clone, Debug)]
pub struct TicketSettings {
    pub hub_phone: String,
    /// The region's time zone: tickets show wall-clock times.
    pub tz: Tz,
}

type Listener = Box<dyn Fn(Report) + Send + 'static>;

struct Shared {
    report: Report,
    printer: PrinterState,
    listener: Option<Listener>,
}

/// A handle on the print worker; clones share it. The thread ends when every handle is gone.
#[derive(Clone)]
pub struct PrintWorker {
    jobs: mpsc::Sender<Job>,
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for PrintWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintWorker")
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // Every field is valid at every point, so a panic elsewhere leaves nothing half-written.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PrintWorker {
    /// Starts the worker's thread.
    pub fn spawn(
        store: Store,
        backend: Backend,
        settings: TicketSettings,
    ) -> std::io::Result<PrintWorker> {
        let (jobs, queue) = mpsc::channel();
        let shared = Arc::new(Mutex::new(Shared {
            report: Report {
                state: PrintState::Idle,
                code: None,
            },
            printer: PrinterState::Ok,
            listener: None,
        }));
        let worker = Worker {
            store,
            backend,
            settings,
            shared: Arc::clone(&shared),
        };
        thread::Builder::new()
            .name("print-worker".into())
            .spawn(move || worker.run(queue))?;
        Ok(PrintWorker { jobs, shared })
    }

    /// Every report from now on goes to `listener`, on the worker's thread: it must return
    /// quickly (post to the UI's event loop).
    pub fn listen(&self, listener: impl Fn(Report) + Send + 'static) {
        lock(&self.shared).listener = Some(Box::new(listener));
    }

    /// Queues a job; returns at once.
    pub fn submit(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            // The thread ends only when it panicked: say so rather than wait for nothing.
            tracing::error!("the print worker has stopped");
            set(&self.shared, PrintState::Failed, None, None);
        }
    }

    /// The last report.
    pub fn report(&self) -> Report {
        lock(&self.shared).report.clone()
    }

    /// The resident has read the problem: back to idle (the job stays reprintable).
    pub fn acknowledge(&self) {
        set(&self.shared, PrintState::Idle, None, None);
    }

    /// The printer as the worker last saw it, for the heartbeat.
    pub fn printer_state(&self) -> PrinterState {
        lock(&self.shared).printer
    }
}

/// Records a report (and the printer's state when seen) and tells the listener.
fn set(
    shared: &Mutex<Shared>,
    state: PrintState,
    code: Option<BookingCode>,
    printer: Option<PrinterState>,
) {
    let mut shared = lock(shared);
    shared.report = Report { state, code };
    if let Some(printer) = printer {
        shared.printer = printer;
    }
    if let Some(listener) = &shared.listener {
        listener(shared.report.clone());
    }
}

/// Why a job did not print.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("the printer is out of paper")]
    NoPaper,
    #[error("the printer is offline")]
    Offline,
    #[error("{0}")]
    Other(String),
}

impl Failure {
    fn state(&self) -> PrintState {
        match self {
            Failure::NoPaper => PrintState::NoPaper,
            Failure::Offline => PrintState::Offline,
            Failure::Other(_) => PrintState::Failed,
        }
    }
}

struct Worker {
    store: Store,
    backend: Backend,
    settings: TicketSettings,
    shared: Arc<Mutex<Shared>>,
}

impl Worker {
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        for job in queue {
            let code = job.code();
            set(&self.shared, PrintState::Printing, code, None);
            let state = match self.print(&job) {
                Ok(()) => PrintState::Printed,
                Err(failure) => {
                    tracing::warn!(?job, %failure, "a ticket did not print; it can be printed again");
                    failure.state()
                }
            };
            set(&self.shared, state, code, None);
        }
    }

    fn print(&mut self, job: &Job) -> Result<(), Failure> {
        self.check()?;
        let ticket = match job {
            Job::Booking { code, language } => {
                booking_ticket(&self.store, code, *language, &self.settings)?
            }
            Job::HelpSlip {
                destination_id,
                language,
            } => help_ticket(&self.store, destination_id, *language, &self.settings)?,
        };
        match &mut self.backend {
            Backend::Cups { queue } => {
                let pdf =
                    ticket::render_receipt(&ticket).map_err(|e| Failure::Other(e.to_string()))?;
                ticket::print(&pdf, queue).map_err(|e| match e {
                    ticket::TicketError::UnknownQueue(_) | ticket::TicketError::Spawn { .. } => {
                        Failure::Offline
                    }
                    other => Failure::Other(other.to_string()),
                })?;
            }
            Backend::EscPos(printer) => {
                let raster = ticket::render_raster(&ticket, ESCPOS_WIDTH_DOTS, ESCPOS_DOTS_PER_MM)
                    .map_err(|e| Failure::Other(e.to_string()))?;
                let (done, answer) = mpsc::channel();
                printer.print(
                    PrintJob::EscPos(escpos_raster(&raster)),
                    Box::new(move |result| {
                        // The worker waits for this answer; a late one after the timeout is dropped.
                        let _ = done.send(result);
                    }),
                );
                match answer.recv_timeout(ESCPOS_ANSWER_WITHIN) {
                    Ok(Ok(())) => {}
                    Ok(Err(PrintError::PaperOut)) => return Err(self.seen(Failure::NoPaper)),
                    Ok(Err(PrintError::Offline)) | Err(_) => {
                        return Err(self.seen(Failure::Offline));
                    }
                    Ok(Err(other)) => return Err(Failure::Other(other.to_string())),
                }
            }
        }
        // Paper that ran out during the job may have cut the ticket short.
        self.check()
    }

    /// Notes the printer state a failure shows, for the heartbeat.
    fn seen(&self, failure: Failure) -> Failure {
        let printer = match failure {
            Failure::NoPaper => PrinterState::Out,
            Failure::Offline => PrinterState::Offline,
            Failure::Other(_) => return failure,
        };
        lock(&self.shared).printer = printer;
        failure
    }

    /// Asks the printer how it is, records it, and refuses when it cannot print.
    fn check(&self) -> Result<(), Failure> {
        let state = match &self.backend {
            Backend::Cups { queue } => ticket::printer_state(queue).unwrap_or_else(|e| {
                tracing::warn!(%e, "asking CUPS for the printer");
                PrinterState::Offline
            }),
            Backend::EscPos(printer) => crate::heartbeat::printer_state(printer.state()),
        };
        lock(&self.shared).printer = state;
        match state {
            PrinterState::Out => Err(Failure::NoPaper),
            PrinterState::Offline => Err(Failure::Offline),
            PrinterState::Ok | PrinterState::PaperLow => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tickets from the store

/// The ticket of the booking with `code`: the hub's answer when there is one, else the request
/// as stored. A refused booking has no ticket.
fn booking_ticket(
    store: &Store,
    code: &BookingCode,
    language: Language,
    settings: &TicketSettings,
) -> Result<Ticket, Failure> {
    let store_failure = |e: crate::StoreError| Failure::Other(format!("the store: {e}"));
    let (booking, status) = core::booking_status(store, code)
        .map_err(store_failure)?
        .ok_or_else(|| Failure::Other(format!("no booking with the code {code}")))?;
    let kind = match booking.kind {
        OutboxKind::RideRequest => TicketKind::Ride,
        OutboxKind::Appointment => TicketKind::Appointment,
        other => {
            return Err(Failure::Other(format!(
                "a {} has no ticket",
                other.as_str()
            )));
        }
    };
    // The hub's record where it answered, the stored request for what it does not say.
    let record = match &booking.state {
        BookingState::Answered {
            outcome: protocol::sync::AckOutcome::Accepted { record },
            ..
        } => Some(record.clone()),
        _ => None,
    };
    let field = |name: &str| -> Option<String> {
        record
            .as_ref()
            .and_then(|r| r.get(name))
            .or_else(|| booking.body.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let local = |instant: &str| {
        DateTime::parse_from_rfc3339(instant)
            .ok()
            .map(|t| t.with_timezone(&settings.tz).naive_local())
    };
    let (standing, window) = match &status {
        BookingStatus::Confirmed {
            window_start,
            window_end,
        } => (
            Standing::Confirmed,
            local(window_start).zip(local(window_end)),
        ),
        BookingStatus::Requested { .. } => (Standing::Request, None),
        BookingStatus::Refused { .. } => {
            return Err(Failure::Other(format!(
                "the booking {code} was refused: no ticket"
            )));
        }
    };
    let (when, pickup) = match kind {
        TicketKind::Appointment => (
            window
                .map(|(start, _)| start)
                .or_else(|| field("starts_at").and_then(|t| local(&t))),
            None,
        ),
        _ => (
            field("appointment_at")
                .or_else(|| field("pickup_at"))
                .and_then(|t| local(&t)),
            window.map(|(start, end)| (start.time(), end.time())),
        ),
    };
    let place = |end: &str| -> Result<Option<String>, Failure> {
        let flag = record
            .as_ref()
            .and_then(|r| r.get(format!("{end}_home")))
            .or_else(|| booking.body.get(format!("{end}_home")));
        if flag.and_then(Value::as_bool) == Some(true) {
            return Ok(Some("Zuhause".to_string()));
        }
        if let Some(id) = field(&format!("{end}_stop_id")) {
            return Ok(replica_body(store, "stops", &id)?
                .and_then(|b| text(&b, "name"))
                .or(Some(id)));
        }
        if let Some(id) = field(&format!("{end}_destination_id")) {
            return Ok(replica_body(store, "destinations", &id)?
                .map(|b| {
                    let name = text(&b, "name").unwrap_or_default();
                    match address(&b) {
                        Some(address) => format!("{name}, {address}"),
                        None => name,
                    }
                })
                .or(Some(id)));
        }
        Ok(None)
    };
    Ok(Ticket {
        kind,
        standing,
        language,
        when,
        from: place("from")?,
        to: place("to")?,
        pickup,
        notes: Vec::new(),
        code: Some(*code),
        hub_phone: settings.hub_phone.clone(),
        help: None,
    })
}

/// The slip of a "find help" service from the replica.
fn help_ticket(
    store: &Store,
    destination_id: &str,
    language: Language,
    settings: &TicketSettings,
) -> Result<Ticket, Failure> {
    let body = replica_body(store, "destinations", destination_id)?
        .ok_or_else(|| Failure::Other(format!("no service {destination_id:?} in the replica")))?;
    let hours = body
        .get("opening_hours")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    let day: Weekday = text(h, "weekday")?.parse().ok()?;
                    let time = |name| NaiveTime::parse_from_str(&text(h, name)?, "%H:%M").ok();
                    Some((day, time("open")?, time("close")?))
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let needs = body
        .get("helps_with")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Ticket {
        kind: TicketKind::HelpSlip,
        standing: Standing::Confirmed,
        language,
        when: None,
        from: None,
        to: text(&body, "name"),
        pickup: None,
        notes: Vec::new(),
        code: None,
        hub_phone: settings.hub_phone.clone(),
        help: Some(HelpDetails {
            needs,
            address: address(&body).unwrap_or_default(),
            phone: text(&body, "phone").filter(|p| !p.is_empty()),
            hours,
        }),
    })
}

fn text(body: &Value, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(str::to_string)
}

/// "Markt 7, 38170 Schöppenstedt".
fn address(body: &Value) -> Option<String> {
    let street = text(body, "street")?;
    let town = [text(body, "postcode"), text(body, "city")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(if town.is_empty() {
        street
    } else {
        format!("{street}, {town}")
    })
}

fn replica_body(store: &Store, kind: &str, id: &str) -> Result<Option<Value>, Failure> {
    let rows = store
        .replica_list(kind)
        .map_err(|e| Failure::Other(format!("the store: {e}")))?;
    Ok(rows.into_iter().find(|r| r.id == id).map(|r| r.body))
}

// ---------------------------------------------------------------------------------------------
// ESC/POS

/// `ESC @`: initialise the printer.
pub const ESC_INIT: [u8; 2] = [0x1b, 0x40];
/// `GS v 0`: print a raster bit image (normal size), followed by xL xH yL yH and the rows.
pub const GS_RASTER: [u8; 4] = [0x1d, 0x76, 0x30, 0x00];
/// `GS V 66 0`: feed to the cutter and cut.
pub const GS_CUT: [u8; 4] = [0x1d, 0x56, 0x42, 0x00];

/// The ESC/POS bytes that print `raster`: initialise, the image in bands, feed and cut.
pub fn escpos_raster(raster: &Raster) -> Vec<u8> {
    let row_bytes = raster.row_bytes();
    let mut out = Vec::with_capacity(raster.bits.len() + 64);
    out.extend_from_slice(&ESC_INIT);
    for band in raster.bits.chunks(row_bytes * RASTER_BAND_ROWS) {
        let rows = band.len() / row_bytes;
        out.extend_from_slice(&GS_RASTER);
        // Widths and heights are little-endian 16-bit numbers; both fit (576 / 8, 256 rows).
        out.extend_from_slice(&u16::try_from(row_bytes).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&u16::try_from(rows).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(band);
    }
    // `ESC d 4`: four lines of paper past the print head before the cut.
    out.extend_from_slice(&[0x1b, 0x64, 0x04]);
    out.extend_from_slice(&GS_CUT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raster_goes_in_bands_framed_by_init_and_cut() {
        let raster = Raster {
            width: 16,
            height: 300,
            bits: vec![0xaa; 2 * 300],
        };
        let bytes = escpos_raster(&raster);
        assert!(bytes.starts_with(&ESC_INIT));
        assert!(bytes.ends_with(&GS_CUT));
        // Two bands: 256 rows and 44.
        let first = &bytes[2..10];
        assert_eq!(first, &[0x1d, 0x76, 0x30, 0x00, 2, 0, 0, 1]);
        let second = 10 + 2 * 256;
        assert_eq!(
            &bytes[second..second + 8],
            &[0x1d, 0x76, 0x30, 0x00, 2, 0, 44, 0]
        );
        assert_eq!(bytes.len(), 2 + 8 + 512 + 8 + 88 + 3 + 4);
    }

    #[test]
    fn addresses_read_from_the_replica() {
        let body =
            serde_json::json!({"street": "Markt 7", "postcode": "38170", "city": "Schöppenstedt"});
        assert_eq!(
            address(&body).as_deref(),
            Some("Markt 7, 38170 Schöppenstedt")
        );
        assert_eq!(address(&serde_json::json!({"name": "x"})), None);
    }
}

//! The `Printing` global's Rust side: "Drucken" hands a job to the print worker
//! ([`crate::printing`]) in the language on screen and returns at once; the worker's reports come
//! back through the event loop into `Printing.state`, which shows the problem dialog when the
//! printer has no paper, is offline or failed.

use slint::{ComponentHandle, SharedString};

use super::{AppWindow, PrintState, Printing, Settings};
use crate::printing::{self, Job, PrintWorker, Report};
use crate::ticket::Language;

/// Connects the `Printing` callbacks of `app` to `worker` and shows its reports.
pub fn init(app: &AppWindow, worker: &PrintWorker) {
    let weak = app.as_weak();
    worker.listen(move |report| {
        // The window may be gone (the kiosk shutting down): nothing to show then.
        let _ = weak.upgrade_in_event_loop(move |app| show(&app, &report));
    });

    let printing = app.global::<Printing>();
    let (weak, jobs) = (app.as_weak(), worker.clone());
    printing.on_print_booking(move |code: SharedString| {
        let Some(app) = weak.upgrade() else { return };
        match code.trim().parse() {
            Ok(code) => jobs.submit(Job::Booking {
                code,
                language: language(&app),
            }),
            // Only codes the kiosk showed reach here; a broken one is a bug, not the resident's.
            Err(e) => {
                tracing::error!(%code, %e, "printing a booking with a malformed code");
                app.global::<Printing>().set_state(PrintState::Failed);
            }
        }
    });
    let (weak, jobs) = (app.as_weak(), worker.clone());
    printing.on_print_help(move |destination_id: SharedString| {
        let Some(app) = weak.upgrade() else { return };
        jobs.submit(Job::HelpSlip {
            destination_id: destination_id.to_string(),
            language: language(&app),
        });
    });
    let (weak, worker) = (app.as_weak(), worker.clone());
    printing.on_acknowledge(move || {
        worker.acknowledge();
        if let Some(app) = weak.upgrade() {
            forget(&app);
        }
    });
}

/// The language on screen, which the ticket prints next to German.
fn language(app: &AppWindow) -> Language {
    Language::from_code(&app.global::<Settings>().get_language()).unwrap_or(Language::De)
}

/// Shows a report of the worker.
pub fn show(app: &AppWindow, report: &Report) {
    let printing = app.global::<Printing>();
    printing.set_state(match report.state {
        printing::PrintState::Idle => PrintState::Idle,
        printing::PrintState::Printing => PrintState::Printing,
        printing::PrintState::Printed => PrintState::Printed,
        printing::PrintState::NoPaper => PrintState::NoPaper,
        printing::PrintState::Offline => PrintState::Offline,
        printing::PrintState::Failed => PrintState::Failed,
    });
    printing.set_code(
        report
            .code
            .map(|c| c.to_string())
            .unwrap_or_default()
            .into(),
    );
}

/// Takes the printer's state and the booking code off the screen.
pub fn forget(app: &AppWindow) {
    let printing = app.global::<Printing>();
    printing.set_state(PrintState::Idle);
    printing.set_code(SharedString::new());
}

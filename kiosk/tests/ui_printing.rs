//! Printing from the touch UI with the print worker on a simulated printer: "Drucken" on the ride
//! result hands the job over, out of paper shows the problem dialog (found by its accessible
//! label) in German and in Arabic with the booking code, OK closes it, and the same booking
//! prints once paper is back. The worker's reports reach the UI through Slint's event loop.

use std::time::{Duration, Instant};

use hardware::simulated::SimPrinter;
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::core::{BookingResult, BookingStatus};
use kiosk::printing::{Backend, PrintWorker};
use kiosk::ui::{Activity, AppWindow, PrintState, Printing};
use slint::{ComponentHandle, PhysicalSize};

use crate::printing::{settings, store_with_a_ride};
use crate::ui::{button, buttons_labelled, tap};

/// A kiosk window whose event loop takes posts from other threads (the print worker's).
fn window() -> AppWindow {
    let backend = TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: true,
        renderer_name: Some("software".into()),
    });
    slint::platform::set_platform(Box::new(backend)).expect("a fresh test thread has no platform");
    let app = AppWindow::new().expect("the kiosk window is made");
    kiosk::ui::init(&app, "Groß Vahlberg");
    app.window().set_size(PhysicalSize::new(1280, 800));
    app.show().expect("the window shows");
    app
}

/// Runs the event loop over what other threads posted until `state` shows.
fn wait_for(app: &AppWindow, state: PrintState) {
    let started = Instant::now();
    while app.global::<Printing>().get_state() != state {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still {:?}, not {state:?}",
            app.global::<Printing>().get_state()
        );
        std::thread::sleep(Duration::from_millis(20));
        // Everything posted before this quit runs first.
        slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        })
        .expect("the event loop takes posts");
        slint::run_event_loop().expect("the event loop runs");
    }
}

/// The problem dialog: the group labelled `problem`, with the code in its text.
fn dialog_shows(app: &AppWindow, problem: &str, code: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, problem)
        .any(|e| e.accessible_description().is_some_and(|d| d.contains(code)))
}

#[test]
fn out_of_paper_shows_the_dialog_in_german_and_arabic_and_the_ticket_prints_later() {
    let (_dir, store, code) = store_with_a_ride();
    let printer = SimPrinter::default();
    let worker = PrintWorker::spawn(
        store.clone(),
        Backend::EscPos(Box::new(printer.clone())),
        settings(),
    )
    .expect("the worker starts");
    let app = window();
    kiosk::ui::printing::init(&app, &worker);
    let result = BookingResult {
        id: uuid::Uuid::nil(),
        code,
        status: BookingStatus::Confirmed {
            window_start: "2026-11-23T07:50:00Z".into(),
            window_end: "2026-11-23T08:10:00Z".into(),
        },
    };
    kiosk::ui::ride::show_result(&app, &result, chrono_tz::Europe::Berlin);

    printer.set_state(hardware::PrinterState::PaperOut);
    tap(&app, "Drucken");
    wait_for(&app, PrintState::NoPaper);
    let code = code.to_string();
    assert!(
        dialog_shows(&app, "Der Drucker hat kein Papier.", &code),
        "the dialog names the problem and the code"
    );
    let ok = button(&app, "OK");
    let size = ok.size();
    assert!(size.height >= 95.0 && size.width >= 95.0, "{size:?}");
    tap(&app, "OK");
    assert_eq!(app.global::<Printing>().get_state(), PrintState::Idle);
    assert_eq!(buttons_labelled(&app, "OK"), 0, "the dialog is gone");
    assert!(printer.printed().is_empty());

    // The same in Arabic.
    kiosk::ui::set_language(&app, "ar").expect("Arabic is bundled");
    tap(&app, "اطبع");
    wait_for(&app, PrintState::NoPaper);
    assert!(
        dialog_shows(&app, "لا يوجد ورق في الطابعة.", &code),
        "the dialog in Arabic"
    );
    tap(&app, "حسنًا");
    assert_eq!(app.global::<Printing>().get_state(), PrintState::Idle);

    // Paper back: the booking prints, nothing was lost.
    printer.set_state(hardware::PrinterState::Ok);
    tap(&app, "اطبع");
    wait_for(&app, PrintState::Printed);
    assert_eq!(printer.printed().len(), 1);
    assert_eq!(
        buttons_labelled(&app, "حسنًا"),
        0,
        "no dialog when it printed"
    );
}

#[test]
fn the_idle_reset_forgets_the_printer_problem_and_the_code() {
    let app = crate::ui::kiosk_window();
    let printing = app.global::<Printing>();
    printing.set_state(PrintState::Offline);
    printing.set_code("ABC-123".into());
    assert_eq!(buttons_labelled(&app, "OK"), 1);
    assert!(dialog_shows(
        &app,
        "Der Drucker ist nicht bereit.",
        "ABC-123"
    ));
    // Someone was there (the tap on "Drucken"); then a minute without a tap, and the half
    // minute to answer "Mehr Zeit?".
    app.global::<Activity>().invoke_touched();
    for _ in 0..95 {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(buttons_labelled(&app, "OK"), 0);
    assert_eq!(printing.get_state(), PrintState::Idle);
    assert_eq!(printing.get_code(), "");
}

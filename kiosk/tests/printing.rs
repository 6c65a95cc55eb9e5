//! The print worker on a real store: a booking's ticket and a help slip printed through a real
//! CUPS queue (cups-pdf) and read back, the same sent to the simulated ESC/POS printer and parsed
//! back from its bytes (the raster's QR code decoded with `zbarimg`), out of paper reported to
//! the UI's state and the heartbeat with the job still printable afterwards.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hardware::PrintJob;
use hardware::simulated::SimPrinter;
use kiosk::Store;
use kiosk::heartbeat::{self, PowerFlags, PowerMonitor, Readings};
use kiosk::printing::{
    Backend, ESC_INIT, GS_CUT, GS_RASTER, Job, PrintState, PrintWorker, Report, TicketSettings,
};
use kiosk::ticket::{Language, Raster};
use protocol::BookingCode;
use protocol::device::PrinterState;
use protocol::sync::{Ack, AckOutcome, Change, ChangeOp, OutboxKind, SyncResponse};
use serde_json::json;

use crate::ticket::{cups_setup, qr_of, run, squeeze};

pub const DESTINATION: &str = "dest-mueller";

/// A store with a stop and a "find help" service in its replica and one ride the hub confirmed
/// (pickup 08:50–09:10, appointment 09:30 Berlin time); its booking code.
pub fn store_with_a_ride() -> (tempfile::TempDir, Store, BookingCode) {
    store_with("Suchtberatung Müller")
}

/// The same, with the service named `service`.
fn store_with(service: &str) -> (tempfile::TempDir, Store, BookingCode) {
    let (dir, _path, store) = crate::open_store();
    let id = store
        .enqueue(
            OutboxKind::RideRequest,
            json!({
                "region_id": "r1", "resident_id": "res1", "from_stop_id": "stop-dorfplatz",
                "to_destination_id": DESTINATION, "appointment_at": "2026-11-23T08:30:00Z",
                "passengers": 1, "wheelchair": false, "walker": true, "channel": "kiosk"
            }),
        )
        .expect("the ride is stored");
    let change = |seq, kind: &str, id: &str, body| Change {
        seq,
        kind: kind.into(),
        id: id.into(),
        op: ChangeOp::Upsert,
        body,
    };
    store
        .apply(&SyncResponse {
            acks: vec![Ack {
                id,
                outcome: AckOutcome::Accepted {
                    record: json!({
                        "status": "confirmed", "from_stop_id": "stop-dorfplatz",
                        "to_destination_id": DESTINATION,
                        "appointment_at": "2026-11-23T08:30:00Z",
                        "pickup_window_start": "2026-11-23T07:50:00Z",
                        "pickup_window_end": "2026-11-23T08:10:00Z"
                    }),
                },
            }],
            changes: vec![
                change(
                    1,
                    "stops",
                    "stop-dorfplatz",
                    json!({"name": "Bärnreuth, Dorfplatz"}),
                ),
                change(
                    2,
                    "destinations",
                    DESTINATION,
                    json!({
                        "name": service, "category": "counselling",
                        "street": "Hauptstraße 5", "postcode": "95163", "city": "Weißenstadt",
                        "phone": "09253 4711",
                        "opening_hours": [
                            {"weekday": "mon", "open": "08:00", "close": "12:00"},
                            {"weekday": "mon", "open": "15:00", "close": "18:00"},
                            {"weekday": "fri", "open": "09:00", "close": "13:00"}
                        ],
                        "helps_with": ["alcohol", "loneliness"]
                    }),
                ),
            ],
            cursor: 2,
            more: false,
            update: None,
        })
        .expect("the answer and the replica are stored");
    (dir, store, BookingCode::from_uuid(id))
}

pub fn settings() -> TicketSettings {
    TicketSettings {
        hub_phone: "09201 123456".into(),
        tz: chrono_tz::Europe::Berlin,
    }
}

/// A worker whose reports arrive on the returned channel.
pub fn worker(store: &Store, backend: Backend) -> (PrintWorker, mpsc::Receiver<Report>) {
    let worker = PrintWorker::spawn(store.clone(), backend, settings()).expect("the worker starts");
    let (tx, rx) = mpsc::channel();
    worker.listen(move |report| {
        let _ = tx.send(report);
    });
    (worker, rx)
}

/// The first report after `Printing`.
fn outcome(reports: &mpsc::Receiver<Report>) -> Report {
    loop {
        let report = reports
            .recv_timeout(Duration::from_secs(60))
            .expect("the worker reports within a minute");
        if report.state != PrintState::Printing {
            return report;
        }
    }
}

/// The raster an ESC/POS job prints, read from its bytes: `ESC @`, `GS v 0` bands of one width,
/// then feed and cut.
fn parse_escpos(bytes: &[u8]) -> Raster {
    assert!(bytes.starts_with(&ESC_INIT), "starts with ESC @");
    assert!(bytes.ends_with(&GS_CUT), "ends with a cut");
    let mut at = ESC_INIT.len();
    let (mut width, mut height, mut bits) = (0u32, 0u32, Vec::new());
    while bytes[at..].starts_with(&GS_RASTER) {
        let n = |i: usize| u32::from(bytes[at + i]);
        let (row_bytes, rows) = (n(4) | n(5) << 8, n(6) | n(7) << 8);
        assert!(width == 0 || width == row_bytes * 8, "bands of one width");
        width = row_bytes * 8;
        height += rows;
        let len = (row_bytes * rows) as usize;
        bits.extend_from_slice(&bytes[at + 8..at + 8 + len]);
        at += 8 + len;
    }
    assert!(height > 0, "a raster image");
    // What follows the image: feed (ESC d n) and the cut.
    assert_eq!(&bytes[at..], &[0x1b, 0x64, 0x04, 0x1d, 0x56, 0x42, 0x00]);
    Raster {
        width,
        height,
        bits,
    }
}

/// The QR codes zbarimg finds in a raster.
fn qr_of_raster(raster: &Raster, dir: &Path) -> String {
    let path = dir.join("receipt.pbm");
    std::fs::write(&path, raster.to_pbm()).expect("the image is written");
    run(
        "zbarimg",
        &["--quiet", path.to_str().expect("a UTF-8 path")],
    )
}

struct NoPower;
impl PowerMonitor for NoPower {
    fn flags(&self) -> PowerFlags {
        PowerFlags::default()
    }
}

#[test]
fn a_booking_and_a_help_slip_print_on_the_escpos_printer_as_raster() {
    let (dir, store, code) = store_with_a_ride();
    let printer = SimPrinter::default();
    let (worker, reports) = worker(&store, Backend::EscPos(Box::new(printer.clone())));

    worker.submit(Job::Booking {
        code,
        language: Language::Ar,
    });
    assert_eq!(
        outcome(&reports),
        Report {
            state: PrintState::Printed,
            code: Some(code)
        }
    );
    worker.submit(Job::HelpSlip {
        destination_id: DESTINATION.into(),
        language: Language::Uk,
    });
    assert_eq!(outcome(&reports).state, PrintState::Printed);

    let jobs = printer.printed();
    assert_eq!(jobs.len(), 2);
    let PrintJob::EscPos(ticket) = &jobs[0] else {
        panic!("ESC/POS bytes, not {:?}", jobs[0]);
    };
    let raster = parse_escpos(ticket);
    assert_eq!(raster.width, 576);
    assert_eq!(
        qr_of_raster(&raster, dir.path()).trim(),
        format!("QR-Code:{}", code.compact())
    );
    let PrintJob::EscPos(slip) = &jobs[1] else {
        panic!("ESC/POS bytes, not {:?}", jobs[1]);
    };
    let slip = parse_escpos(slip);
    // A help slip has no booking code.
    assert_eq!(qr_status(&slip, dir.path()), 4, "zbarimg finds no code");
}

/// zbarimg's exit status on a raster (4: no code found).
fn qr_status(raster: &Raster, dir: &Path) -> i32 {
    let path = dir.join("slip.pbm");
    std::fs::write(&path, raster.to_pbm()).expect("the image is written");
    Command::new("zbarimg")
        .args(["--quiet", path.to_str().expect("a UTF-8 path")])
        .status()
        .expect("zbarimg runs")
        .code()
        .unwrap_or(-1)
}

#[test]
fn out_of_paper_is_reported_to_the_heartbeat_and_the_ticket_prints_once_paper_is_back() {
    let (dir, store, code) = store_with_a_ride();
    let printer = SimPrinter::default();
    let (worker, reports) = worker(&store, Backend::EscPos(Box::new(printer.clone())));
    let heartbeat = |worker: &PrintWorker| {
        heartbeat::gather(&store, dir.path(), &NoPower, Readings::with_printer(worker))
            .expect("a heartbeat")
            .printer
    };

    printer.set_state(hardware::PrinterState::PaperOut);
    let job = Job::Booking {
        code,
        language: Language::De,
    };
    worker.submit(job.clone());
    assert_eq!(
        outcome(&reports),
        Report {
            state: PrintState::NoPaper,
            code: Some(code)
        }
    );
    assert!(printer.printed().is_empty());
    assert_eq!(heartbeat(&worker), PrinterState::Out);

    printer.set_state(hardware::PrinterState::Offline);
    worker.submit(job.clone());
    assert_eq!(outcome(&reports).state, PrintState::Offline);
    assert_eq!(heartbeat(&worker), PrinterState::Offline);

    // Paper back: "Meine Buchung" prints the same booking by its code.
    printer.set_state(hardware::PrinterState::Ok);
    worker.submit(job);
    assert_eq!(outcome(&reports).state, PrintState::Printed);
    assert_eq!(printer.printed().len(), 1);
    assert_eq!(heartbeat(&worker), PrinterState::Ok);
    worker.acknowledge();
    assert_eq!(worker.report().state, PrintState::Idle);
}

#[test]
fn unknown_codes_and_services_fail_without_printing() {
    let (_dir, store, _code) = store_with_a_ride();
    let printer = SimPrinter::default();
    let (worker, reports) = worker(&store, Backend::EscPos(Box::new(printer.clone())));
    let unknown = BookingCode::from_uuid(uuid::Uuid::from_u128(99));
    worker.submit(Job::Booking {
        code: unknown,
        language: Language::De,
    });
    assert_eq!(
        outcome(&reports),
        Report {
            state: PrintState::Failed,
            code: Some(unknown)
        }
    );
    worker.submit(Job::HelpSlip {
        destination_id: "no-such-service".into(),
        language: Language::De,
    });
    assert_eq!(outcome(&reports).state, PrintState::Failed);
    assert!(printer.printed().is_empty());
    // The printer itself is fine.
    assert_eq!(worker.printer_state(), PrinterState::Ok);
}

/// A PDF in cups-pdf's directory whose text contains every one of `needles`, and that text
/// (right-to-left marks taken out).
fn printed_pdf(out_dir: &Path, needles: &[&str]) -> (std::path::PathBuf, String) {
    let started = Instant::now();
    loop {
        let hit = std::fs::read_dir(out_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            .filter_map(|p| {
                let out = Command::new("pdftotext").arg(&p).arg("-").output().ok()?;
                let text = squeeze(&String::from_utf8_lossy(&out.stdout))
                    .replace(['\u{202b}', '\u{202c}'], "");
                out.status.success().then_some((p, text))
            })
            .find(|(_, text)| needles.iter().all(|n| text.contains(n)));
        if let Some(hit) = hit {
            return hit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no PDF with {needles:?} in {}",
            out_dir.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_booking_and_a_help_slip_print_through_cups() {
    const QUEUE: &str = "DorfpunktPDFWorker";
    let out_dir = cups_setup(QUEUE);
    // A name of this run, so a slip of an earlier run cannot pass for this one.
    let service = format!(
        "Suchtberatung Müller {}",
        uuid::Uuid::new_v4().as_u128() % 1_000_000
    );
    let (_dir, store, code) = store_with(&service);
    let (worker, reports) = worker(
        &store,
        Backend::Cups {
            queue: QUEUE.into(),
        },
    );
    worker.submit(Job::Booking {
        code,
        language: Language::Uk,
    });
    assert_eq!(outcome(&reports).state, PrintState::Printed);
    let code_text = code.to_string();
    let (pdf, text) = printed_pdf(&out_dir, &[&code_text, "Поїздка"]);
    // CUPS renders the PDF again for cups-pdf (pdftocairo) and re-encodes the fonts: the
    // printed copy's text layer keeps Latin-1 and most, not all, Cyrillic and Arabic words. The
    // ticket's own PDF reads back whole (`ticket.rs`).
    for expected in [
        "Fahrt",
        "Код бронювання",
        "Gebucht – bestätigt",
        "Bärnreuth, Dorfplatz",
        "Hauptstraße 5, 95163 Weißenstadt",
        "08:50 – 09:10 Uhr",
        "23.11.2026, 09:30 Uhr",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    let scans = tempfile::tempdir().expect("a temporary directory");
    assert_eq!(
        qr_of(&pdf, scans.path()).trim(),
        format!("QR-Code:{}", code.compact())
    );

    // In Arabic, the Arabic words in logical order.
    worker.submit(Job::Booking {
        code,
        language: Language::Ar,
    });
    assert_eq!(outcome(&reports).state, PrintState::Printed);
    let (arabic, _) = printed_pdf(&out_dir, &[&code_text, "Fahrt رحلة", "متى", "رمز"]);
    assert_eq!(
        qr_of(&arabic, scans.path()).trim(),
        format!("QR-Code:{}", code.compact())
    );

    worker.submit(Job::HelpSlip {
        destination_id: DESTINATION.into(),
        language: Language::De,
    });
    assert_eq!(outcome(&reports).state, PrintState::Printed);
    // A help slip has no code: find it by the service's name of this run.
    let (_, slip) = printed_pdf(&out_dir, &[&format!("Hilfe in der Nähe Wo {service}")]);
    for expected in [
        "Mo 08:00–12:00, 15:00–18:00",
        "Hauptstraße 5, 95163 Weißenstadt",
        "Alkohol, Einsamkeit",
        "09253 4711",
        "Fr 09:00–13:00",
    ] {
        assert!(slip.contains(expected), "{expected:?} not in {slip:?}");
    }

    // A disabled queue is offline before anything is sent.
    run("cupsdisable", &[QUEUE]);
    worker.submit(Job::Booking {
        code,
        language: Language::De,
    });
    let offline = outcome(&reports);
    run("cupsenable", &[QUEUE]);
    assert_eq!(offline.state, PrintState::Offline);
    assert_eq!(worker.printer_state(), PrinterState::Offline);
}

//! Tickets as real PDF files read back with poppler (`pdftotext`, `pdffonts`, `pdftoppm`), their
//! QR codes decoded with `zbarimg`, and printed through a real CUPS queue that writes PDFs
//! (cups-pdf, set up by `cups-setup.sh`). Arabic tickets read back in logical order. The helpers
//! here serve `printing.rs` too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use kiosk::ticket::{self, Language, Standing, Ticket, TicketError, TicketKind};
use protocol::BookingCode;
use protocol::device::PrinterState;
use uuid::Uuid;

const QUEUE: &str = "DorfpunktPDF";

fn ride(language: Language, standing: Standing, seed: u128) -> Ticket {
    Ticket {
        kind: TicketKind::Ride,
        standing,
        language,
        when: NaiveDate::from_ymd_opt(2026, 11, 23).and_then(|d| d.and_hms_opt(9, 30, 0)),
        from: Some("Bärnreuth, Dorfplatz".to_string()),
        to: Some("Praxis Dr. Müller, Hauptstraße 5, Weißenstadt".to_string()),
        pickup: Some((
            NaiveTime::from_hms_opt(8, 50, 0).expect("a time"),
            NaiveTime::from_hms_opt(9, 10, 0).expect("a time"),
        )),
        notes: Vec::new(),
        code: Some(BookingCode::from_uuid(Uuid::from_u128(seed))),
        hub_phone: "09201 123456".to_string(),
        help: None,
    }
}

pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (poppler-utils, zbar-tools): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tool output is UTF-8")
}

pub fn text_of(pdf: &Path) -> String {
    run("pdftotext", &[pdf.to_str().expect("a UTF-8 path"), "-"])
}

/// The QR codes zbarimg finds on the first page rendered at 300 dpi.
pub fn qr_of(pdf: &Path, dir: &Path) -> String {
    let prefix = dir.join("page");
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "300",
            "-singlefile",
            pdf.to_str().expect("a UTF-8 path"),
            prefix.to_str().expect("a UTF-8 path"),
        ],
    );
    let png = dir.join("page.png");
    run("zbarimg", &["--quiet", png.to_str().expect("a UTF-8 path")])
}

/// pdftotext may break lines differently from the layout: compare with whitespace squeezed.
pub fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn receipt_and_a4_read_back_with_umlauts_cyrillic_and_a_decodable_qr_code() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let t = ride(Language::Uk, Standing::Request, 7);
    let code = t.code.expect("a code");
    for (name, pdf) in [
        (
            "receipt.pdf",
            ticket::render_receipt(&t).expect("a receipt"),
        ),
        ("a4.pdf", ticket::render_a4(&t).expect("an A4 ticket")),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &pdf).expect("the PDF is written");
        let text = squeeze(&text_of(&path));
        for expected in [
            "Fahrt",
            "Поїздка",
            "Anfrage – noch nicht bestätigt",
            "Запит – ще не підтверджено",
            "Bärnreuth, Dorfplatz",
            "Praxis Dr. Müller, Hauptstraße 5",
            "08:50 – 09:10 Uhr",
            "Mo / Пн 23.11.2026, 09:30 Uhr",
            "Buchungscode / Код бронювання",
            "09201 123456",
        ] {
            assert!(
                text.contains(expected),
                "{name}: {expected:?} not in {text:?}"
            );
        }
        assert!(text.contains(&code.to_string()), "{name}: code in {text:?}");
        let qr = qr_of(&path, dir.path());
        assert_eq!(qr.trim(), format!("QR-Code:{}", code.compact()), "{name}");

        let fonts = run("pdffonts", &[path.to_str().expect("a UTF-8 path")]);
        assert!(fonts.contains("DejaVuSans"), "{fonts}");
        // Every font embedded (emb column "yes") and subset (column "sub" "yes").
        for line in fonts.lines().skip(2) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let n = cols.len();
            assert!(n >= 5, "{line}");
            assert_eq!(&cols[n - 5..n - 3], &["yes", "yes"], "{name}: {line}");
        }
        assert!(pdf.len() < 120_000, "{name} is {} bytes", pdf.len());
    }

    // A receipt is 80 mm wide; A4 is A4.
    let info = run(
        "pdfinfo",
        &[dir
            .path()
            .join("receipt.pdf")
            .to_str()
            .expect("a UTF-8 path")],
    );
    assert!(info.contains("Page size:       226.77"), "{info}");
    let info = run(
        "pdfinfo",
        &[dir.path().join("a4.pdf").to_str().expect("a UTF-8 path")],
    );
    assert!(info.contains("(A4)"), "{info}");
}

#[test]
fn an_arabic_ticket_reads_back_in_logical_order_beside_german() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let t = ride(Language::Ar, Standing::Request, 9);
    for (name, pdf) in [
        (
            "receipt.pdf",
            ticket::render_receipt(&t).expect("a receipt"),
        ),
        ("a4.pdf", ticket::render_a4(&t).expect("an A4 ticket")),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &pdf).expect("the PDF is written");
        // pdftotext marks right-to-left runs with embedding controls (U+202B … U+202C).
        let text = squeeze(&text_of(&path)).replace(['\u{202b}', '\u{202c}'], "");
        for expected in [
            "Fahrt",
            "رحلة",
            "Anfrage – noch nicht bestätigt",
            "طلب",
            "لم يتم التأكيد بعد",
            "رمز الحجز",
            "Praxis Dr. Müller, Hauptstraße 5",
            "Mo 23.11.2026, 09:30 Uhr / الاثنين",
            "نأتي لأخذك بين",
        ] {
            assert!(
                text.contains(expected),
                "{name}: {expected:?} not in {text:?}"
            );
        }
        let qr = qr_of(&path, dir.path());
        assert_eq!(
            qr.trim(),
            format!("QR-Code:{}", t.code.expect("a code").compact())
        );
    }
}

#[test]
fn a_confirmed_ticket_does_not_say_request() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let t = ride(Language::De, Standing::Confirmed, 8);
    let path = dir.path().join("confirmed.pdf");
    std::fs::write(&path, ticket::render_receipt(&t).expect("a receipt")).expect("written");
    let text = squeeze(&text_of(&path));
    assert!(text.contains("Gebucht – bestätigt"), "{text}");
    assert!(!text.contains("Anfrage"), "{text}");
}

/// Starts cupsd and adds the cups-pdf queue when missing; returns cups-pdf's output directory.
pub fn cups_setup(queue: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cups-setup.sh");
    let out = run("sh", &[script.to_str().expect("a UTF-8 path"), queue]);
    PathBuf::from(
        out.lines()
            .last()
            .expect("the script prints the output directory")
            .trim(),
    )
}

#[test]
fn a_ticket_printed_through_cups_reads_back_and_errors_are_errors() {
    let out_dir = cups_setup(QUEUE);
    assert_eq!(
        ticket::printer_state(QUEUE).expect("lpstat answers"),
        PrinterState::Ok
    );

    // A fresh code, so a PDF of an earlier run cannot pass for this one.
    let t = ride(Language::Tr, Standing::Confirmed, Uuid::new_v4().as_u128());
    let code = t.code.expect("a code").to_string();
    let pdf = ticket::render_receipt(&t).expect("a receipt");
    let started = Instant::now();
    let job = ticket::print(&pdf, QUEUE).expect("CUPS accepts the job");
    assert!(job.0.starts_with(QUEUE), "{job}");

    // cups-pdf writes the job as a PDF named after the title; find the one with this code.
    let (printed, found) = loop {
        let hit = std::fs::read_dir(&out_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            // A file cups-pdf is still writing (or replacing) does not read yet: skip it.
            .filter_map(|p| {
                let out = Command::new("pdftotext").arg(&p).arg("-").output().ok()?;
                let text = squeeze(&String::from_utf8_lossy(&out.stdout));
                out.status.success().then_some((p, text))
            })
            .find(|(_, text)| text.contains(&code));
        if let Some(hit) = hit {
            break hit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no PDF with {code} in {}",
            out_dir.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // CUPS turns the PDF into PostScript for cups-pdf and re-encodes the fonts on the way: with
    // the pdftocairo renderer that cups-setup.sh sets, Latin-1 text (umlauts, ß) reads back,
    // other letters (Turkish ı, some Cyrillic) may not. The ticket's own PDF is checked whole
    // above; here it is the printed copy.
    for expected in [
        "Fahrt",
        "Gebucht – bestätigt",
        "Rezerve edildi",
        "Bärnreuth, Dorfplatz",
        "Praxis Dr. Müller, Hauptstraße 5",
    ] {
        assert!(found.contains(expected), "{expected:?} not in {found:?}");
    }
    let scans = tempfile::tempdir().expect("a temporary directory");
    assert_eq!(
        qr_of(&printed, scans.path()).trim(),
        format!("QR-Code:{}", t.code.expect("a code").compact())
    );

    // An unknown queue is a clear error, for printing and for the state.
    let err = ticket::print(&pdf, "NoSuchDorfpunktQueue").expect_err("no such queue");
    assert!(matches!(err, TicketError::UnknownQueue(_)), "{err:?}");
    assert!(err.to_string().contains("NoSuchDorfpunktQueue"));
    let err = ticket::printer_state("NoSuchDorfpunktQueue").expect_err("no such queue");
    assert!(matches!(err, TicketError::UnknownQueue(_)), "{err:?}");
}

#[test]
fn a_disabled_queue_is_offline() {
    // A queue of its own, so the printing test's queue stays enabled.
    let queue = "DorfpunktPDFOff";
    cups_setup(queue);
    run("cupsdisable", &[queue]);
    let state = ticket::printer_state(queue).expect("lpstat answers");
    run("cupsenable", &[queue]);
    assert_eq!(state, PrinterState::Offline);
}

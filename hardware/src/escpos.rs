//! ESC/POS receipt printers: the paper status query and its answer, and a printer that owns its
//! port on its own thread.
//!
//! The port is anything that reads and writes bytes with a read timeout (a serial device on the
//! Pi, an in-memory transcript in tests), so the whole conversation is tested without a printer.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use crate::{PrintDone, PrintError, PrintJob, Printer, PrinterState, lock};

/// `DLE EOT 4`: transmit the roll paper sensor status (one byte back).
pub const PAPER_STATUS_QUERY: [u8; 3] = [0x10, 0x04, 0x04];

/// Bits of the answer that are fixed: bit 1 and bit 4 set, bits 0 and 7 clear.
const FIXED_MASK: u8 = 0b1001_0011;
const FIXED_BITS: u8 = 0b0001_0010;
/// Bits 2 and 3: roll paper near-end sensor.
const NEAR_END: u8 = 0b0000_1100;
/// Bits 5 and 6: roll paper end sensor.
const PAPER_END: u8 = 0b0110_0000;

/// The answer to [`PAPER_STATUS_QUERY`] was not a status byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a paper status byte: {0:#04x}")]
pub struct NotAStatusByte(pub u8);

/// Reads the paper state from the answer to `DLE EOT 4`. Some printers set only one bit of
/// each pair, so either bit counts.
pub fn parse_paper_status(byte: u8) -> Result<PrinterState, NotAStatusByte> {
    if byte & FIXED_MASK != FIXED_BITS {
        return Err(NotAStatusByte(byte));
    }
    Ok(if byte & PAPER_END != 0 {
        PrinterState::PaperOut
    } else if byte & NEAR_END != 0 {
        PrinterState::PaperLow
    } else {
        PrinterState::Ok
    })
}

/// Asks the printer for its paper state. No answer (timeout, closed port) or a byte that is no
/// status means offline.
pub fn query_paper_status<P: Read + Write>(port: &mut P) -> PrinterState {
    if port.write_all(&PAPER_STATUS_QUERY).is_err() || port.flush().is_err() {
        return PrinterState::Offline;
    }
    let mut answer = [0u8; 1];
    match port.read(&mut answer) {
        Ok(1) => parse_paper_status(answer[0]).unwrap_or(PrinterState::Offline),
        _ => PrinterState::Offline,
    }
}

/// Opens (or reopens, after an error) the printer's port.
pub type Opener<P> = Box<dyn FnMut() -> io::Result<P> + Send + 'static>;

/// An ESC/POS printer driven from its own thread: jobs are queued, the paper state is polled
/// every `poll_every` and after each job, and [`Printer::state`] reads the last result.
pub struct EscPosPrinter {
    jobs: mpsc::Sender<(PrintJob, PrintDone)>,
    state: Arc<Mutex<PrinterState>>,
}

impl EscPosPrinter {
    /// Starts the printer's thread. It ends when the `EscPosPrinter` is dropped (after the job
    /// in hand, or within `poll_every`).
    pub fn spawn<P>(open: Opener<P>, poll_every: Duration) -> io::Result<Self>
    where
        P: Read + Write + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel();
        let state = Arc::new(Mutex::new(PrinterState::Offline));
        let worker = Worker {
            open,
            port: None,
            state: Arc::clone(&state),
        };
        thread::Builder::new()
            .name("escpos-printer".into())
            .spawn(move || worker.run(queue, poll_every))?;
        Ok(Self { jobs, state })
    }
}

impl Printer for EscPosPrinter {
    fn print(&mut self, job: PrintJob, done: PrintDone) {
        if let Err(mpsc::SendError((_, done))) = self.jobs.send((job, done)) {
            // The thread only ends when this value is dropped, or if it panicked.
            done(Err(PrintError::Device("printer thread has stopped".into())));
        }
    }

    fn state(&self) -> PrinterState {
        *lock(&self.state)
    }
}

struct Worker<P> {
    open: Opener<P>,
    port: Option<P>,
    state: Arc<Mutex<PrinterState>>,
}

impl<P: Read + Write> Worker<P> {
    fn run(mut self, queue: mpsc::Receiver<(PrintJob, PrintDone)>, poll_every: Duration) {
        self.refresh();
        loop {
            match queue.recv_timeout(poll_every) {
                Ok((job, done)) => {
                    let result = self.print(job);
                    done(result);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.refresh();
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Queries the paper state, opening the port first if needed; an offline printer's port is
    /// closed so the next attempt opens it again (a replugged USB adapter).
    fn refresh(&mut self) -> PrinterState {
        if self.port.is_none() {
            self.port = (self.open)().ok();
        }
        let state = match self.port.as_mut() {
            Some(port) => query_paper_status(port),
            None => PrinterState::Offline,
        };
        if state == PrinterState::Offline {
            self.port = None;
        }
        *lock(&self.state) = state;
        state
    }

    fn print(&mut self, job: PrintJob) -> Result<(), PrintError> {
        let bytes = match job {
            PrintJob::EscPos(bytes) => bytes,
            PrintJob::Pdf(_) => return Err(PrintError::Unsupported("PDF")),
        };
        match self.refresh() {
            PrinterState::PaperOut => return Err(PrintError::PaperOut),
            PrinterState::Offline => return Err(PrintError::Offline),
            PrinterState::Ok | PrinterState::PaperLow => {}
        }
        let port = self.port.as_mut().ok_or(PrintError::Offline)?;
        if port.write_all(&bytes).and_then(|()| port.flush()).is_err() {
            self.port = None;
            *lock(&self.state) = PrinterState::Offline;
            return Err(PrintError::Offline);
        }
        // Paper that ran out during the job may have cut the ticket short: say so, the kiosk
        // offers a reprint. Offline right after writing is the same doubt.
        match self.refresh() {
            PrinterState::PaperOut => Err(PrintError::PaperOut),
            PrinterState::Offline => Err(PrintError::Offline),
            PrinterState::Ok | PrinterState::PaperLow => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn status_bytes_from_the_manual() {
        assert_eq!(parse_paper_status(0x12), Ok(PrinterState::Ok));
        assert_eq!(parse_paper_status(0x1e), Ok(PrinterState::PaperLow));
        assert_eq!(
            parse_paper_status(0x16),
            Ok(PrinterState::PaperLow),
            "one bit"
        );
        assert_eq!(parse_paper_status(0x72), Ok(PrinterState::PaperOut));
        assert_eq!(
            parse_paper_status(0x7e),
            Ok(PrinterState::PaperOut),
            "end wins"
        );
        assert_eq!(
            parse_paper_status(0x32),
            Ok(PrinterState::PaperOut),
            "one bit"
        );
    }

    #[test]
    fn bytes_without_the_fixed_bits_are_refused() {
        for byte in [0x00, 0xff, 0x13, 0x92, 0x02, 0x10] {
            assert_eq!(parse_paper_status(byte), Err(NotAStatusByte(byte)));
        }
    }

    /// A printer port as a transcript: answers queued by the test, everything written kept.
    #[derive(Clone, Default)]
    struct Transcript {
        answers: Arc<Mutex<VecDeque<u8>>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Transcript {
        fn answer(&self, bytes: &[u8]) {
            lock(&self.answers).extend(bytes);
        }
        fn written(&self) -> Vec<u8> {
            lock(&self.written).clone()
        }
    }

    impl Read for Transcript {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match lock(&self.answers).pop_front() {
                Some(byte) if !buf.is_empty() => {
                    buf[0] = byte;
                    Ok(1)
                }
                _ => Err(io::ErrorKind::TimedOut.into()),
            }
        }
    }

    impl Write for Transcript {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.written).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn printer(port: &Transcript) -> EscPosPrinter {
        let port = port.clone();
        EscPosPrinter::spawn(Box::new(move || Ok(port.clone())), HOUR).unwrap()
    }

    fn print(printer: &mut EscPosPrinter, job: PrintJob) -> Result<(), PrintError> {
        let (tx, rx) = mpsc::channel();
        printer.print(
            job,
            Box::new(move |result| {
                tx.send(result).unwrap();
            }),
        );
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn a_job_is_framed_by_status_queries() {
        let port = Transcript::default();
        // At start, before the job, after the job.
        port.answer(&[0x12, 0x12, 0x1e]);
        let mut printer = printer(&port);
        let ticket = b"\x1b@Dorfpunkt\n\x1dV\x00".to_vec();
        assert_eq!(
            print(&mut printer, PrintJob::EscPos(ticket.clone())),
            Ok(())
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(&PAPER_STATUS_QUERY);
        expected.extend_from_slice(&PAPER_STATUS_QUERY);
        expected.extend_from_slice(&ticket);
        expected.extend_from_slice(&PAPER_STATUS_QUERY);
        assert_eq!(port.written(), expected);
        assert_eq!(printer.state(), PrinterState::PaperLow);
    }

    #[test]
    fn out_of_paper_refuses_the_job_without_sending_it() {
        let port = Transcript::default();
        port.answer(&[0x12, 0x72]);
        let mut printer = printer(&port);
        let result = print(&mut printer, PrintJob::EscPos(b"ticket".to_vec()));
        assert_eq!(result, Err(PrintError::PaperOut));
        assert_eq!(
            port.written(),
            [PAPER_STATUS_QUERY, PAPER_STATUS_QUERY].concat()
        );
        assert_eq!(printer.state(), PrinterState::PaperOut);
    }

    #[test]
    fn paper_running_out_during_the_job_asks_for_a_reprint() {
        let port = Transcript::default();
        port.answer(&[0x12, 0x1e, 0x72]);
        let mut printer = printer(&port);
        let result = print(&mut printer, PrintJob::EscPos(b"ticket".to_vec()));
        assert_eq!(result, Err(PrintError::PaperOut));
    }

    #[test]
    fn a_silent_printer_is_offline() {
        let port = Transcript::default();
        let mut printer = printer(&port);
        let result = print(&mut printer, PrintJob::EscPos(b"ticket".to_vec()));
        assert_eq!(result, Err(PrintError::Offline));
        assert_eq!(printer.state(), PrinterState::Offline);
        assert!(!port.written().ends_with(b"ticket"));
    }

    #[test]
    fn a_port_that_cannot_be_opened_is_offline_and_retried() {
        let port = Transcript::default();
        port.answer(&[0x12]);
        let attempts = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&attempts);
        let opened = port.clone();
        let mut printer = EscPosPrinter::spawn(
            Box::new(move || {
                *lock(&counted) += 1;
                if *lock(&counted) == 1 {
                    Err(io::ErrorKind::NotFound.into())
                } else {
                    Ok(opened.clone())
                }
            }),
            HOUR,
        )
        .unwrap();
        // First refresh at start fails to open; the job opens it again and prints.
        port.answer(&[0x12]);
        assert_eq!(print(&mut printer, PrintJob::EscPos(b"x".to_vec())), Ok(()));
        assert_eq!(*lock(&attempts), 2);
    }

    #[test]
    fn a_pdf_is_not_for_an_escpos_printer() {
        let port = Transcript::default();
        port.answer(&[0x12]);
        let mut printer = printer(&port);
        let result = print(&mut printer, PrintJob::Pdf("/tmp/ticket.pdf".into()));
        assert_eq!(result, Err(PrintError::Unsupported("PDF")));
    }
}

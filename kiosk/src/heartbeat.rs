//! What the kiosk tells its hub about itself every few minutes: software version, uptime, free
//! disk, the Pi's power and temperature flags, storage and printer state, last sync and outbox
//! length ([`protocol::device::Heartbeat`]).
//!
//! The readings come from the running system (`/proc/uptime`, `statvfs` of the data directory,
//! `vcgencmd get_throttled` on a Pi) behind small functions and one trait, so tests feed their own.

use std::path::Path;
use std::process::Command;

use protocol::API_VERSION;
use protocol::device::{Heartbeat, PrinterState};

use crate::store::{Store, StoreResult};

/// The Pi firmware's power and temperature flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PowerFlags {
    /// Under-voltage now or since boot.
    pub under_voltage: bool,
    /// The CPU throttled or frequency-capped now or since boot.
    pub throttled: bool,
}

/// Where the power flags come from.
pub trait PowerMonitor {
    fn flags(&self) -> PowerFlags;
}

/// The Raspberry Pi firmware through `vcgencmd get_throttled`. On a machine without it (a PC, a
/// board without the tool) every flag reads false.
#[derive(Clone, Copy, Debug, Default)]
pub struct VcGenCmd;

impl PowerMonitor for VcGenCmd {
    fn flags(&self) -> PowerFlags {
        Command::new("vcgencmd")
            .arg("get_throttled")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| parse_throttled(&String::from_utf8_lossy(&out.stdout)))
            .unwrap_or_default()
    }
}

/// Reads `throttled=0x50005`. Bits (Raspberry Pi documentation): 0 under-voltage now, 1 ARM
/// frequency capped now, 2 throttled now, 3 soft temperature limit now; 16 to 19 the same since
/// boot.
pub fn parse_throttled(text: &str) -> Option<PowerFlags> {
    let value = text.trim().strip_prefix("throttled=")?;
    let hex = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))?;
    let bits = u32::from_str_radix(hex, 16).ok()?;
    let any = |mask: u32| bits & mask != 0;
    Some(PowerFlags {
        under_voltage: any(1 | 1 << 16),
        throttled: any(0b1110 | 0b1110 << 16),
    })
}

/// Seconds since boot, from `/proc/uptime`; 0 where it cannot be read.
pub fn uptime_s() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| parse_uptime(&text))
        .unwrap_or(0)
}

fn parse_uptime(text: &str) -> Option<u64> {
    let first = text.split_whitespace().next()?;
    let seconds: f64 = first.parse().ok()?;
    // Whole seconds; an uptime is never negative and far below u64::MAX.
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds as u64)
}

/// Bytes free for an unprivileged writer on the file system holding `dir`.
pub fn disk_free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// What is not read from the system but known to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readings {
    /// The print worker's last known state ([`Readings::with_printer`]).
    pub printer: PrinterState,
    /// `ok`, `worn` or `errors`; see [`Heartbeat::storage`].
    pub storage: String,
}

impl Default for Readings {
    fn default() -> Self {
        Readings {
            printer: PrinterState::Ok,
            storage: "ok".into(),
        }
    }
}

impl Readings {
    /// The readings with the printer as the print worker last saw it (before and after each job;
    /// offline or out of paper also when a job failed on it).
    pub fn with_printer(worker: &crate::printing::PrintWorker) -> Readings {
        Readings {
            printer: worker.printer_state(),
            ..Readings::default()
        }
    }
}

/// The printer state of the `hardware` crate in the wire's terms.
pub fn printer_state(state: hardware::PrinterState) -> PrinterState {
    match state {
        hardware::PrinterState::Ok => PrinterState::Ok,
        hardware::PrinterState::PaperLow => PrinterState::PaperLow,
        hardware::PrinterState::PaperOut => PrinterState::Out,
        hardware::PrinterState::Offline => PrinterState::Offline,
    }
}

/// A heartbeat from the running system and the store (last sync, outbox length). Blocks on
/// SQLite and on `vcgencmd`: call it off the async executor.
pub fn gather(
    store: &Store,
    data_dir: &Path,
    power: &dyn PowerMonitor,
    readings: Readings,
) -> StoreResult<Heartbeat> {
    let flags = power.flags();
    Ok(Heartbeat {
        api_version: API_VERSION,
        software_version: crate::update::running_version(),
        uptime_s: uptime_s(),
        // An unreadable file system has no space worth reporting.
        disk_free_bytes: disk_free_bytes(data_dir).unwrap_or(0),
        under_voltage: flags.under_voltage,
        throttled: flags.throttled,
        storage: readings.storage,
        printer: readings.printer,
        last_sync_at: store.last_sync_at()?,
        outbox_len: store.pending_count()?,
        update: crate::update::report(data_dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_flags_read_as_the_pi_documents_them() {
        assert_eq!(
            parse_throttled("throttled=0x0\n"),
            Some(PowerFlags::default())
        );
        assert_eq!(
            parse_throttled("throttled=0x50005"),
            Some(PowerFlags {
                under_voltage: true,
                throttled: true
            })
        );
        // Under-voltage since boot only.
        assert_eq!(
            parse_throttled("throttled=0x10000"),
            Some(PowerFlags {
                under_voltage: true,
                throttled: false
            })
        );
        // Soft temperature limit now, no power problem.
        assert_eq!(
            parse_throttled("throttled=0x8"),
            Some(PowerFlags {
                under_voltage: false,
                throttled: true
            })
        );
        assert_eq!(parse_throttled("error=1"), None);
        assert_eq!(parse_throttled("throttled=zz"), None);
    }

    #[test]
    fn uptime_is_the_first_number_of_proc_uptime() {
        assert_eq!(parse_uptime("12345.67 54321.00\n"), Some(12345));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("-1 0"), None);
        assert!(uptime_s() > 0, "this machine has been up a while");
    }

    #[test]
    fn free_disk_of_a_real_directory_is_positive() {
        let dir = tempfile::tempdir().unwrap();
        assert!(disk_free_bytes(dir.path()).unwrap() > 0);
        assert!(disk_free_bytes(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn printer_states_map_one_to_one() {
        assert_eq!(
            printer_state(hardware::PrinterState::PaperOut),
            PrinterState::Out
        );
        assert_eq!(
            printer_state(hardware::PrinterState::PaperLow),
            PrinterState::PaperLow
        );
    }
}

//! The systemd watchdog and readiness notifications of `kiosk run` (the `sd_notify` protocol).
//!
//! systemd starts the kiosk with `Type=notify` and `WatchdogSec=` (images/systemd/): it passes
//! the address of its notification socket in `$NOTIFY_SOCKET` and the watchdog interval in
//! `$WATCHDOG_USEC`. The kiosk sends `READY=1` once its loop runs and `WATCHDOG=1` at half the
//! interval from that loop ([`crate::appliance`]), so a loop that hangs stops the pings and
//! systemd restarts the kiosk. Each message is one datagram of `KEY=value` lines; nothing is ever
//! read back. Without `$NOTIFY_SOCKET` (a kiosk started by hand, tests) every call does nothing.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// The socket systemd named in `$NOTIFY_SOCKET`, if any.
    pub fn from_env() -> Option<Notifier> {
        let value = std::env::var("NOTIFY_SOCKET").ok()?;
        match Notifier::at(&value) {
            Ok(notifier) => Some(notifier),
            Err(e) => {
                tracing::warn!(socket = %value, error = %e, "NOTIFY_SOCKET unusable: no systemd notifications");
                None
            }
        }
    }

    /// A notifier for a `$NOTIFY_SOCKET` value: a file system path, or `@name` for a socket in the
    /// abstract namespace (Linux).
    pub fn at(value: &str) -> io::Result<Notifier> {
        let address = if let Some(name) = value.strip_prefix('@') {
            abstract_address(name.as_bytes())?
        } else if value.starts_with('/') {
            SocketAddr::from_pathname(value)?
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "neither an absolute path nor @name",
            ));
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            address,
        })
    }

    /// Sends one message (`KEY=value` lines) to the service manager.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(state.as_bytes(), &self.address)?;
        if sent != state.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "notification cut short",
            ));
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist on Linux only",
    ))
}

/// Readiness and the watchdog's pings, paced at half of the interval systemd gave.
#[derive(Debug)]
pub struct Watchdog {
    notifier: Option<Notifier>,
    /// Half of `$WATCHDOG_USEC`; `None` without a watchdog.
    every: Option<Duration>,
    last: Option<Instant>,
}

impl Watchdog {
    /// What systemd passed to this process (`$NOTIFY_SOCKET`, `$WATCHDOG_USEC`,
    /// `$WATCHDOG_PID`); a watchdog meant for another process (the variables were inherited) is
    /// ignored.
    pub fn from_env() -> Watchdog {
        Watchdog::new(
            Notifier::from_env(),
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        )
    }

    /// A watchdog from the variables' values; `own_pid` is this process's id.
    pub fn new(
        notifier: Option<Notifier>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        own_pid: u32,
    ) -> Watchdog {
        let for_us = watchdog_pid.is_none_or(|pid| pid.trim().parse::<u32>() == Ok(own_pid));
        let every = watchdog_usec
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .filter(|&usec| usec > 0 && for_us && notifier.is_some())
            .map(|usec| Duration::from_micros(usec) / 2);
        Watchdog {
            notifier,
            every,
            last: None,
        }
    }

    /// The pause between pings: half of systemd's interval, or `None` without a watchdog.
    pub fn every(&self) -> Option<Duration> {
        self.every
    }

    /// Tells systemd that the kiosk is up (`READY=1`), with a status line for `systemctl status`,
    /// and counts as the first ping.
    pub fn ready(&mut self, status: &str) {
        let message = format!("READY=1\nSTATUS={}", one_line(status));
        if self.send(&message) {
            self.last = Some(Instant::now());
        }
    }

    /// Tells systemd that the kiosk is stopping (`STOPPING=1`).
    pub fn stopping(&mut self) {
        self.send("STOPPING=1");
    }

    /// When the next ping is due; `None` without a watchdog.
    pub fn next_due(&self) -> Option<Instant> {
        let every = self.every?;
        Some(self.last.map_or_else(Instant::now, |last| last + every))
    }

    /// Sends `WATCHDOG=1` if half the interval has passed since the last ping (or none was sent);
    /// whether it sent one.
    pub fn ping_if_due(&mut self, now: Instant) -> bool {
        let Some(every) = self.every else {
            return false;
        };
        if self.last.is_some_and(|last| now < last + every) {
            return false;
        }
        let sent = self.send("WATCHDOG=1");
        if sent {
            self.last = Some(now);
        }
        sent
    }

    fn send(&self, message: &str) -> bool {
        let Some(notifier) = &self.notifier else {
            return false;
        };
        match notifier.notify(message) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "systemd notification failed");
                false
            }
        }
    }
}

/// A status text fit for one `STATUS=` line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service manager's end: a real datagram socket in a temporary directory.
    fn manager() -> (tempfile::TempDir, UnixDatagram, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (dir, socket, path.to_str().unwrap().to_string())
    }

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn nothing_waiting(socket: &UnixDatagram) -> bool {
        socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        let empty =
            matches!(socket.recv(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        socket.set_nonblocking(false).unwrap();
        empty
    }

    #[test]
    fn ready_and_pings_reach_the_socket() {
        let (_dir, socket, path) = manager();
        let notifier = Notifier::at(&path).unwrap();
        let mut watchdog = Watchdog::new(Some(notifier), Some("4000000"), None, 1);
        assert_eq!(watchdog.every(), Some(Duration::from_secs(2)));
        watchdog.ready("syncing with\nhub");
        assert_eq!(received(&socket), "READY=1\nSTATUS=syncing with hub");
        let start = Instant::now();
        assert!(
            !watchdog.ping_if_due(start),
            "READY counts as the first ping"
        );
        assert!(nothing_waiting(&socket));
        let later = start + Duration::from_secs(3);
        assert!(watchdog.ping_if_due(later));
        assert_eq!(received(&socket), "WATCHDOG=1");
        assert!(!watchdog.ping_if_due(later + Duration::from_secs(1)));
        assert_eq!(watchdog.next_due(), Some(later + Duration::from_secs(2)));
        assert!(watchdog.ping_if_due(later + Duration::from_secs(2)));
        assert_eq!(received(&socket), "WATCHDOG=1");
        watchdog.stopping();
        assert_eq!(received(&socket), "STOPPING=1");
    }

    #[test]
    fn abstract_socket_names_work() {
        let name = format!("dorfpunkt-watchdog-test-{}", std::process::id());
        let address = abstract_address(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier::at(&format!("@{name}")).unwrap();
        notifier.notify("READY=1").unwrap();
        assert_eq!(received(&socket), "READY=1");
    }

    #[test]
    fn a_watchdog_for_another_process_or_without_socket_stays_silent() {
        let (_dir, socket, path) = manager();
        let mut other = Watchdog::new(
            Some(Notifier::at(&path).unwrap()),
            Some("4000000"),
            Some("4242"),
            1,
        );
        assert_eq!(other.every(), None);
        assert!(!other.ping_if_due(Instant::now()));
        assert_eq!(other.next_due(), None);
        // Readiness still goes out: only the watchdog belongs to another process.
        other.ready("up");
        assert_eq!(received(&socket), "READY=1\nSTATUS=up");

        let mut ours = Watchdog::new(
            Some(Notifier::at(&path).unwrap()),
            Some("4000000"),
            Some("7"),
            7,
        );
        assert!(ours.ping_if_due(Instant::now()));
        assert_eq!(received(&socket), "WATCHDOG=1");

        let mut alone = Watchdog::new(None, Some("4000000"), None, 1);
        assert_eq!(alone.every(), None);
        alone.ready("up");
        assert!(!alone.ping_if_due(Instant::now()));
        assert!(nothing_waiting(&socket));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Notifier::at("relative/path").is_err());
        assert!(Notifier::at("").is_err());
        let (_dir, _socket, path) = manager();
        for usec in ["", "0", "-5", "soon"] {
            let watchdog = Watchdog::new(Some(Notifier::at(&path).unwrap()), Some(usec), None, 1);
            assert_eq!(watchdog.every(), None, "WATCHDOG_USEC={usec:?}");
        }
    }

    #[test]
    fn a_gone_manager_is_an_error_not_a_panic() {
        let (dir, socket, path) = manager();
        let notifier = Notifier::at(&path).unwrap();
        drop(socket);
        drop(dir);
        assert!(notifier.notify("WATCHDOG=1").is_err());
        let mut watchdog = Watchdog::new(Some(notifier), Some("2000000"), None, 1);
        assert!(
            !watchdog.ping_if_due(Instant::now()),
            "a failed ping is not counted"
        );
    }
}

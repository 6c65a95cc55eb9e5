//! The hub's SNTP server (RFC 4330, RFC 5905 server mode), off unless `ntp_listen` is set.
//!
//! Kiosks point systemd-timesyncd at the hub as their fallback NTP server (issue 8): when the
//! public pool is unreachable from a village, they still get the time from the hub. The hub does
//! not discipline a clock of its own; it hands out its host's clock and assumes that clock is kept
//! by the host's own NTP client (chrony, timesyncd). That is why the default stratum is 3 and the
//! leap indicator is always 0 ("no warning"): telling whether the host clock is synchronised would
//! need `adjtimex`, which this crate does not call.
//!
//! Only client requests (mode 3, versions 1 to 4) of at least 48 bytes get an answer, and the
//! answer is always exactly 48 bytes: never more than was received, so the hub cannot be used to
//! amplify traffic. Control (mode 6) and private (mode 7) packets, the classic amplification
//! vectors, and everything else are dropped without a word.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::net::UdpSocket;

/// Length of an NTP header without extension fields or MAC; requests and answers.
pub const PACKET_LEN: usize = 48;

/// Seconds from 1900-01-01 (the NTP epoch) to 1970-01-01 (the Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

const MODE_CLIENT: u8 = 3;
const MODE_SERVER: u8 = 4;

/// About one microsecond (2^-20 s): what the system clock reads to, not what it is accurate to.
const PRECISION: i8 = -20;

/// Root delay and root dispersion in NTP short format (16.16 seconds): 1/64 s each, a modest
/// allowance for the hub's own distance from its upstream servers, which it does not know.
const ROOT_DELAY: u32 = 0x0000_0400;
const ROOT_DISPERSION: u32 = 0x0000_0400;

/// Reference id for stratum 2 and above, where it normally names the upstream server's IPv4
/// address. The hub does not know its host's upstream, so it gives 127.0.0.1, which can never be
/// a client's own address on the network and so never trips a client's loop detection.
const REFID_UPSTREAM: [u8; 4] = [127, 0, 0, 1];
/// Reference id at stratum 1: the host clock as the hub's reference (an uncalibrated local clock).
const REFID_LOCAL: [u8; 4] = *b"LOCL";

/// An NTP timestamp: seconds since 1900 in the high 32 bits, the fraction of a second in the low
/// 32 bits. Seconds are taken modulo 2^32, as on the wire; reading them back assumes era 0
/// (until 2036-02-07), which only the tests do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The system clock now.
    pub fn now() -> Timestamp {
        Timestamp::from_system(SystemTime::now())
    }

    pub fn from_system(time: SystemTime) -> Timestamp {
        // A clock before 1970 is broken; it is answered as 1970 rather than refused.
        let since_unix = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = (since_unix.as_secs() + NTP_UNIX_OFFSET) & 0xffff_ffff;
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        Timestamp((seconds << 32) | fraction)
    }

    /// The time this stands for, reading the seconds as era 0.
    pub fn to_system(self) -> SystemTime {
        let seconds = self.0 >> 32;
        let nanos = ((self.0 & 0xffff_ffff) * 1_000_000_000) >> 32;
        let since_1900 = Duration::new(seconds, nanos as u32);
        (UNIX_EPOCH + since_1900)
            .checked_sub(Duration::from_secs(NTP_UNIX_OFFSET))
            .unwrap_or(UNIX_EPOCH)
    }

    fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

/// What the answer needs from a client's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub version: u8,
    pub poll: u8,
    /// The client's transmit timestamp, returned untouched as the originate timestamp: the client
    /// matches the answer to its request by it, whatever era or format it used.
    pub transmit: [u8; 8],
}

/// The request in `datagram`, or `None` when it must not be answered: shorter than 48 bytes, a
/// version outside 1..=4, or any mode but client (3).
pub fn parse_request(datagram: &[u8]) -> Option<Request> {
    if datagram.len() < PACKET_LEN {
        return None;
    }
    let version = (datagram[0] >> 3) & 0b111;
    let mode = datagram[0] & 0b111;
    if mode != MODE_CLIENT || !(1..=4).contains(&version) {
        return None;
    }
    let mut transmit = [0u8; 8];
    transmit.copy_from_slice(&datagram[40..48]);
    Some(Request {
        version,
        poll: datagram[2],
        transmit,
    })
}

/// The 48-byte server answer to `request`, received at `received` and sent at `transmit`.
pub fn answer(
    request: &Request,
    stratum: u8,
    received: Timestamp,
    transmit: Timestamp,
) -> [u8; PACKET_LEN] {
    let mut packet = [0u8; PACKET_LEN];
    // Leap indicator 0 (see the module comment), the client's version, server mode.
    packet[0] = (request.version << 3) | MODE_SERVER;
    packet[1] = stratum;
    packet[2] = request.poll;
    packet[3] = PRECISION.to_be_bytes()[0];
    packet[4..8].copy_from_slice(&ROOT_DELAY.to_be_bytes());
    packet[8..12].copy_from_slice(&ROOT_DISPERSION.to_be_bytes());
    let refid = if stratum == 1 {
        REFID_LOCAL
    } else {
        REFID_UPSTREAM
    };
    packet[12..16].copy_from_slice(&refid);
    // The host clock is kept continuously by its own NTP client: its last update is "now".
    packet[16..24].copy_from_slice(&received.to_bytes());
    packet[24..32].copy_from_slice(&request.transmit);
    packet[32..40].copy_from_slice(&received.to_bytes());
    packet[40..48].copy_from_slice(&transmit.to_bytes());
    packet
}

/// Binds the UDP socket; the error names the address and why a low port may fail.
pub fn bind(addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr).with_context(|| {
        format!("ntp_listen: binding UDP {addr} (a port below 1024 needs CAP_NET_BIND_SERVICE)")
    })?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket).with_context(|| format!("ntp_listen: UDP {addr}"))
}

/// Answers requests on `socket` until the task is aborted.
pub async fn serve(socket: UdpSocket, stratum: u8) {
    // Larger than any answerable request, so a long one is read whole rather than cut.
    let mut buf = [0u8; 1024];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                // E.g. an ICMP error for an earlier answer; pause so a lasting one cannot spin.
                tracing::debug!(error = %e, "ntp: receiving");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let received = Timestamp::now();
        let Some(request) = parse_request(&buf[..len]) else {
            continue;
        };
        let packet = answer(&request, stratum, received, Timestamp::now());
        if let Err(e) = socket.send_to(&packet, peer).await {
            tracing::debug!(error = %e, %peer, "ntp: answering");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request as `ntpdate -q` / timesyncd send it: version 4, mode 3, poll 6 (64 s),
    /// everything zero but the transmit timestamp, here 2026-12-03 11:51:37.5 UTC.
    const CLIENT: [u8; 48] = [
        0x23, 0x00, 0x06, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xee, 0xbb, 0xd6, 0x49, 0x80, 0x00, 0x00, 0x00,
    ];

    fn seconds_apart(a: SystemTime, b: SystemTime) -> f64 {
        match a.duration_since(b) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => e.duration().as_secs_f64(),
        }
    }

    #[test]
    fn a_client_request_is_read() {
        let request = parse_request(&CLIENT).unwrap();
        assert_eq!(request.version, 4);
        assert_eq!(request.poll, 6);
        assert_eq!(
            request.transmit,
            [0xee, 0xbb, 0xd6, 0x49, 0x80, 0x00, 0x00, 0x00]
        );
        // The transmit timestamp read as a time: the moment written in the comment above.
        let sent = Timestamp(u64::from_be_bytes(request.transmit)).to_system();
        let unix = sent.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(unix.as_secs(), 1_796_298_697);
        assert_eq!(unix.subsec_millis(), 500);
    }

    #[test]
    fn the_answer_is_a_server_packet_for_this_request() {
        let request = parse_request(&CLIENT).unwrap();
        let received = Timestamp::now();
        let sent = Timestamp::now();
        let packet = answer(&request, 3, received, sent);
        assert_eq!(packet.len(), PACKET_LEN);
        assert_eq!(packet[0] >> 6, 0, "leap indicator");
        assert_eq!((packet[0] >> 3) & 0b111, 4, "version");
        assert_eq!(packet[0] & 0b111, 4, "mode");
        assert_eq!(packet[1], 3, "stratum");
        assert_eq!(packet[2], 6, "poll");
        assert_eq!(packet[3] as i8, -20, "precision");
        assert_eq!(&packet[12..16], &[127, 0, 0, 1], "reference id");
        assert_eq!(
            &packet[24..32],
            &CLIENT[40..48],
            "originate = client's transmit"
        );
        assert_eq!(&packet[32..40], &received.0.to_be_bytes(), "receive");
        assert_eq!(&packet[40..48], &sent.0.to_be_bytes(), "transmit");
        let now = SystemTime::now();
        for (name, range) in [
            ("reference", 16..24),
            ("receive", 32..40),
            ("transmit", 40..48),
        ] {
            let bytes: [u8; 8] = packet[range].try_into().unwrap();
            let time = Timestamp(u64::from_be_bytes(bytes)).to_system();
            assert!(seconds_apart(time, now) < 1.0, "{name} timestamp {time:?}");
        }

        // The version is the client's; at stratum 1 the reference is the local clock.
        let mut v3 = CLIENT;
        v3[0] = 0x1b;
        let packet = answer(&parse_request(&v3).unwrap(), 1, received, sent);
        assert_eq!(packet[0], 0x1c);
        assert_eq!(packet[1], 1);
        assert_eq!(&packet[12..16], b"LOCL");
    }

    #[test]
    fn timestamps_convert_both_ways() {
        let unix = UNIX_EPOCH + Duration::new(1_796_298_697, 250_000_000);
        let ts = Timestamp::from_system(unix);
        assert_eq!(ts.0 >> 32, 1_796_298_697 + NTP_UNIX_OFFSET);
        assert_eq!(ts.0 & 0xffff_ffff, 0x4000_0000);
        assert!(seconds_apart(ts.to_system(), unix) < 1e-6);
    }

    #[test]
    fn anything_but_a_client_request_gets_no_answer() {
        assert_eq!(parse_request(&[]), None);
        assert_eq!(parse_request(&CLIENT[..47]), None, "short");
        let with = |first: u8| {
            let mut p = CLIENT;
            p[0] = first;
            p
        };
        assert_eq!(parse_request(&with(0x26)), None, "mode 6, control");
        assert_eq!(parse_request(&with(0x27)), None, "mode 7, private");
        assert_eq!(
            parse_request(&with(0x24)),
            None,
            "mode 4, a server's answer"
        );
        assert_eq!(parse_request(&with(0x21)), None, "mode 1, symmetric active");
        assert_eq!(parse_request(&with(0x03)), None, "version 0");
        assert_eq!(parse_request(&with(0x2b)), None, "version 5");
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: hub.example.org\r\nAccept: */*\r\n\r\n"),
            None
        );
        assert_eq!(parse_request(&[0xff; 48]), None, "garbage");
        // Version 1 to 4 in mode 3 are answered, and a request with extension fields or a MAC
        // still gets only the 48-byte header back.
        for version in 1..=4u8 {
            assert!(
                parse_request(&with((version << 3) | 3)).is_some(),
                "v{version}"
            );
        }
        let mut long = CLIENT.to_vec();
        long.extend_from_slice(&[0u8; 20]);
        assert!(parse_request(&long).is_some());
    }
}

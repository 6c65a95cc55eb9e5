//! The hub's SNTP server (`ntp_listen`) over real UDP on loopback, asked by a hand-made SNTP
//! client the way systemd-timesyncd on a kiosk asks it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hub::config::Config;
use hub::server::{self, Running};
use hub::store::Store;
use tokio::net::UdpSocket;

/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX_OFFSET: f64 = 2_208_988_800.0;

/// The real hub server with the SNTP server on `ntp_listen`.
async fn start_hub(
    dir: &tempfile::TempDir,
    ntp_listen: Option<SocketAddr>,
    ntp_stratum: u8,
) -> anyhow::Result<Running> {
    server::install_crypto();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("address"),
        planning_check_seconds: 0,
        ntp_listen,
        ntp_stratum,
        ..Config::default()
    };
    let store = Store::open(&config.database()).expect("open store");
    server::start(store, config).await
}

fn ntp_seconds(bytes: &[u8]) -> f64 {
    let raw = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
    (raw >> 32) as f64 + (raw & 0xffff_ffff) as f64 / 4_294_967_296.0
}

fn ntp_now() -> (f64, [u8; 8]) {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let seconds = unix.as_secs() + NTP_UNIX_OFFSET as u64;
    let fraction = (u64::from(unix.subsec_nanos()) << 32) / 1_000_000_000;
    let raw = (seconds << 32) | fraction;
    (ntp_seconds(&raw.to_be_bytes()), raw.to_be_bytes())
}

/// A client on its own loopback port.
async fn client(server: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("client socket");
    socket.connect(server).await.expect("connect");
    socket
}

/// The answer to `packet`, or `None` after a second of silence.
async fn ask(socket: &UdpSocket, packet: &[u8]) -> Option<Vec<u8>> {
    socket.send(packet).await.expect("send");
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
        Ok(got) => Some(buf[..got.expect("receive")].to_vec()),
        Err(_) => None,
    }
}

/// A version 4 client request with `transmit` as its transmit timestamp, as SNTP clients send.
fn request(transmit: [u8; 8]) -> [u8; 48] {
    let mut packet = [0u8; 48];
    packet[0] = (4 << 3) | 3;
    packet[2] = 6;
    packet[40..48].copy_from_slice(&transmit);
    packet
}

#[tokio::test]
async fn the_hub_tells_a_client_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(&dir, Some("127.0.0.1:0".parse().unwrap()), 5)
        .await
        .unwrap();
    let (ntp_addr, _) = running.ntp.as_ref().expect("ntp server started");
    let ntp_addr = *ntp_addr;
    assert_ne!(ntp_addr.port(), 0);
    let socket = client(ntp_addr).await;

    let (t1, transmit) = ntp_now();
    let answer = ask(&socket, &request(transmit)).await.expect("an answer");
    let (t4, _) = ntp_now();
    assert_eq!(answer.len(), 48);
    assert_eq!(answer[0] >> 6, 0, "leap indicator");
    assert_eq!((answer[0] >> 3) & 0b111, 4, "version");
    assert_eq!(answer[0] & 0b111, 4, "server mode");
    assert_eq!(answer[1], 5, "the configured stratum");
    assert_eq!(answer[2], 6, "poll copied");
    assert_eq!(
        &answer[24..32],
        &transmit,
        "originate = our transmit timestamp"
    );
    let t2 = ntp_seconds(&answer[32..40]);
    let t3 = ntp_seconds(&answer[40..48]);
    assert!(t2 <= t3, "received {t2} after sending {t3}");
    let offset = ((t2 - t1) + (t3 - t4)) / 2.0;
    let delay = (t4 - t1) - (t3 - t2);
    assert!(offset.abs() < 1.0, "offset {offset} s");
    assert!((0.0..1.0).contains(&delay), "delay {delay} s");

    // Control (6) and private (7) requests, the amplification vectors, get nothing, nor does a
    // short request; a proper one right after is answered, so the silence was meant.
    let mut control = request(transmit);
    control[0] = (2 << 3) | 6;
    assert_eq!(ask(&socket, &control).await, None, "mode 6");
    let mut private = request(transmit);
    private[0] = (2 << 3) | 7;
    assert_eq!(ask(&socket, &private).await, None, "mode 7");
    assert_eq!(ask(&socket, &request(transmit)[..47]).await, None, "short");
    assert!(ask(&socket, &request(transmit)).await.is_some());

    // Shutting the hub down closes the UDP port: it can be bound again.
    running.shutdown().await.unwrap();
    std::net::UdpSocket::bind(ntp_addr).expect("port free after shutdown");
}

#[tokio::test]
async fn ntp_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(&dir, None, 3).await.unwrap();
    assert!(running.ntp.is_none());
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_taken_ntp_port_stops_the_start_and_is_named() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = match start_hub(&dir, Some(addr), 3).await {
        Ok(_) => panic!("the hub started on a taken NTP port"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(&format!("ntp_listen: binding UDP {addr}")),
        "{err}"
    );
    assert!(err.contains("CAP_NET_BIND_SERVICE"), "{err}");
}

/// `hub serve` as the package runs it, with the SNTP server turned on by environment variables,
/// answers, and gives the port back when SIGTERM stops it.
#[tokio::test]
async fn hub_serve_answers_ntp_when_the_environment_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = HubProcess(
        Command::new(env!("CARGO_BIN_EXE_hub"))
            .env_remove("DORFPUNKT_HUB_CONFIG")
            .env("DORFPUNKT_LOG", "warn")
            .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0")
            .env("DORFPUNKT_HUB_NTP_LISTEN", "127.0.0.1:0")
            .env("DORFPUNKT_HUB_NTP_STRATUM", "2")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(needle) => break line,
            Ok(_) => {}
            Err(_) => panic!("no line with '{needle}'"),
        }
    };
    let line = wait_for("SNTP");
    let ntp_addr: SocketAddr = line
        .rsplit("udp ")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("address in {line:?}"));

    let socket = client(ntp_addr).await;
    let (_, transmit) = ntp_now();
    let answer = ask(&socket, &request(transmit)).await;

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for("hub stopped");
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit}");

    let answer = answer.expect("an answer from hub serve");
    assert_eq!(answer[1], 2, "stratum from DORFPUNKT_HUB_NTP_STRATUM");
    assert_eq!(&answer[24..32], &transmit);
    std::net::UdpSocket::bind(ntp_addr).expect("port free after the hub stopped");
}

/// A `hub serve` process, killed if a test fails half-way.
struct HubProcess(std::process::Child);

impl Drop for HubProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

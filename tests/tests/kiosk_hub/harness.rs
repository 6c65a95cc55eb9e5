//! Real processes for the end-to-end tests: a `hub` serving the demo region over TLS on loopback,
//! `kiosk` commands enrolled with it, a byte-level TCP proxy that cuts connections, and readers
//! of both SQLite files to count what each side holds.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A binary of the workspace, built by `cargo test --workspace` next to this test's own
/// executable (`target/<profile>/deps/..` → `target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (README), which builds it",
        path.display()
    );
    path
}

/// A free port on loopback (bound and released; the hub binds it again at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// A process and the lines it printed on stdout so far.
pub struct Process {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Process {
    pub fn spawn(mut command: Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("process starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `within`) for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with '{needle}' in {:#?}", self.seen),
            }
        }
    }

    /// Every line until the process ends, and its exit status.
    pub fn finish(mut self, within: Duration) -> (Vec<String>, bool) {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("process still running after {within:?}: {:#?}", self.seen)
                }
            }
        }
        let status = self.child.wait().expect("exit status");
        (std::mem::take(&mut self.seen), status.success())
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    /// A test that fails half-way must not leave processes behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A hub serving the demo region from `dir` on a fixed port (so kiosks find it after a restart).
pub struct Hub {
    pub dir: PathBuf,
    pub port: u16,
    pub process: Option<Process>,
    /// Settings given to the hub process as environment variables (`DORFPUNKT_HUB_<KEY>`).
    pub env: Vec<(String, String)>,
}

impl Hub {
    /// Creates the demo region in `dir` (once) and serves it.
    pub fn start(dir: &Path) -> Hub {
        Hub::start_with(dir, &[])
    }

    /// Like [`Hub::start`], with settings as environment variables.
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Hub {
        let mut hub = Hub {
            dir: dir.to_path_buf(),
            port: free_port(),
            process: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        hub.restart();
        hub
    }

    /// Starts the hub process again on the same data and port.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "already running");
        let mut command = Command::new(binary("hub"));
        command
            .env_remove("DORFPUNKT_HUB_CONFIG")
            .env("DORFPUNKT_LOG", "warn")
            .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0")
            .args(["demo", "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut process = Process::spawn(command);
        process.wait_for("hub listening on https://", Duration::from_secs(120));
        self.process = Some(process);
    }

    /// SIGKILL, as in a power cut.
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.join("tls/hub-cert.pem")
    }

    /// Runs `hub ARGS --data-dir DIR` to its end.
    pub fn command(&self, args: &[&str]) -> Output {
        Command::new(binary("hub"))
            .env_remove("DORFPUNKT_HUB_CONFIG")
            .env("DORFPUNKT_LOG", "warn")
            .args(args)
            .arg("--data-dir")
            .arg(&self.dir)
            .output()
            .expect("hub command runs")
    }

    /// A read-only look at the hub's database.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.dir.join("hub.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("hub.db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    /// The first value of `sql`.
    pub fn one(&self, sql: &str) -> String {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Adds a kiosk at the first stop of `village` (by name) and returns its one-time code.
    pub fn add_device(&self, name: &str, village: &str) -> String {
        let stop = self.one(&format!(
            "SELECT s.id FROM stops s JOIN villages v ON v.id = s.village_id
             WHERE v.name = '{village}' ORDER BY s.name LIMIT 1"
        ));
        let out = self.command(&["device", "add", "--name", name, "--stop", &stop]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "device add: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .find_map(|l| l.strip_prefix("code="))
            .unwrap_or_else(|| panic!("no code= line in {text}"))
            .trim()
            .to_string()
    }

    /// A resident of the demo region to book for.
    pub fn resident(&self) -> String {
        self.one("SELECT id FROM residents ORDER BY name LIMIT 1")
    }

    /// The ids of the ride requests kiosk devices made in the hub (the demo's own kiosk-channel
    /// rides have no device), and the ids of every answered kiosk entry.
    pub fn ride_ids(&self) -> Vec<String> {
        let conn = self.db();
        let mut stmt = conn
            .prepare(
                "SELECT id FROM ride_requests WHERE booked_by LIKE 'device:%'
                 UNION ALL SELECT entry_id FROM device_writes
                 WHERE kind = 'ride_request' AND answer NOT LIKE '%\"accepted\"%'
                 ORDER BY 1",
            )
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A kiosk's data directory, enrolled with a hub.
pub struct Kiosk {
    pub dir: PathBuf,
}

impl Kiosk {
    /// `kiosk enroll` with a fresh code for a new device at `village`.
    pub fn enrol(hub: &Hub, dir: &Path, name: &str, village: &str) -> Kiosk {
        let code = hub.add_device(name, village);
        Self::enrol_via(hub, &hub.url(), dir, &code)
    }

    /// `kiosk enroll` through `url` (the hub or a proxy in front of it).
    pub fn enrol_via(hub: &Hub, url: &str, dir: &Path, code: &str) -> Kiosk {
        let out = Command::new(binary("kiosk"))
            .args(["enroll", "--hub", url, "--code", code, "--data-dir"])
            .arg(dir)
            .arg("--hub-ca")
            .arg(hub.cert())
            .output()
            .expect("kiosk enroll runs");
        assert!(
            out.status.success(),
            "kiosk enroll: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Kiosk {
            dir: dir.to_path_buf(),
        }
    }

    /// `kiosk sim` booking `bookings` rides for `resident`, as a running process.
    pub fn sim(&self, bookings: u32, resident: &str, wait_s: u64) -> Process {
        let mut command = Command::new(binary("kiosk"));
        command
            .env("DORFPUNKT_LOG", "warn")
            .args([
                "sim",
                "--bookings",
                &bookings.to_string(),
                "--resident",
                resident,
            ])
            .args(["--wait-s", &wait_s.to_string(), "--sync-every-s", "1"])
            .arg("--data-dir")
            .arg(&self.dir);
        Process::spawn(command)
    }

    /// `kiosk sync` once; whether it succeeded.
    pub fn sync(&self) -> bool {
        Command::new(binary("kiosk"))
            .env("DORFPUNKT_LOG", "error")
            .arg("sync")
            .arg("--data-dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("kiosk sync runs")
            .success()
    }

    /// Syncs until the outbox is empty (at most `tries` times).
    pub fn drain(&self, tries: usize) {
        for _ in 0..tries {
            if self.sync() && self.pending() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "outbox of {} not empty: {}",
            self.dir.display(),
            self.pending()
        );
    }

    fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.dir.join("kiosk.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("kiosk.db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    /// Entries without the hub's answer.
    pub fn pending(&self) -> i64 {
        self.db()
            .query_row(
                "SELECT count(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .expect("count")
    }

    /// Every ride booking the kiosk ever committed (answered or not).
    pub fn bookings(&self) -> BTreeSet<String> {
        if !self.dir.join("kiosk.db").exists() {
            return BTreeSet::new();
        }
        let conn = self.db();
        let mut stmt = conn
            .prepare("SELECT id FROM outbox WHERE kind = 'ride_request'")
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids")
    }
}

/// What a proxy does to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Pass every byte both ways.
    None,
    /// Pass the request, let the hub answer, then close without passing the answer on: the hub
    /// committed, the kiosk never hears of it.
    LoseReply,
    /// Close both sides after this many bytes in total have passed.
    AfterBytes(usize),
}

/// A TCP proxy on loopback in front of the hub; each new connection takes the next cut from
/// `plan` (then passes everything once the plan is used up).
pub struct Proxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub connections: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn start(target: u16, plan: Vec<Cut>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let plan = Arc::new(Mutex::new(plan.into_iter()));
        let (stop2, count) = (stop.clone(), connections.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let cut = plan
                            .lock()
                            .map(|mut p| p.next().unwrap_or(Cut::None))
                            .unwrap_or(Cut::None);
                        std::thread::spawn(move || relay(client, target, cut));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            port,
            stop,
            connections,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Relays one connection, cutting it as told.
fn relay(client: TcpStream, target: u16, cut: Cut) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let passed = Arc::new(AtomicUsize::new(0));
    // Client flights seen after the server first spoke: the second one carries the request.
    let request_sent = Arc::new(AtomicBool::new(false));
    let server_spoke = Arc::new(AtomicBool::new(false));
    let pipe = |mut from: TcpStream, mut to: TcpStream, upstream: bool| {
        let (passed, request_sent, server_spoke) =
            (passed.clone(), request_sent.clone(), server_spoke.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if upstream && server_spoke.load(Ordering::SeqCst) {
                    request_sent.store(true, Ordering::SeqCst);
                }
                if !upstream {
                    server_spoke.store(true, Ordering::SeqCst);
                }
                let mut n = n;
                if let Cut::AfterBytes(limit) = cut {
                    let before = passed.fetch_add(n, Ordering::SeqCst);
                    if before >= limit {
                        break;
                    }
                    n = n.min(limit - before);
                }
                if cut == Cut::LoseReply && !upstream && request_sent.load(Ordering::SeqCst) {
                    // The hub has the request; give it time to commit and answer, then drop
                    // the answer and the connection.
                    std::thread::sleep(Duration::from_millis(300));
                    break;
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                if let Cut::AfterBytes(limit) = cut
                    && passed.load(Ordering::SeqCst) >= limit
                {
                    // Cut now, mid-message: both ends see the connection drop.
                    break;
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        })
    };
    let up = pipe(
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
        true,
    );
    let down = pipe(server, client, false);
    let _ = up.join();
    let _ = down.join();
}

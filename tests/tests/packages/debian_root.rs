//! What the package tests share (`packages.rs` for amd64, `packages_arm64.rs`): commands run to
//! success, a clean Debian root unpacked from `images/packages/prepare-test-root`'s tarball and
//! commands chrooted into it, and the packaged hub started inside it as its system user and asked
//! for `/healthz` over TLS.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const HUB: &str = "dorfpunkt-hub";

/// How long the hub may take to listen: the emulated arm64 dev build starts slower than the
/// native one.
const HUB_START: Duration = Duration::from_secs(120);

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// The profile folder of this test (`target/debug`), where `cargo test --workspace` put the
/// `hub` and `kiosk` binaries.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// Runs `command`, failing the test with its output unless it succeeds.
pub fn run(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("starting {shown}: {e}"));
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A field of a package's control file.
pub fn field(deb: &Path, name: &str) -> String {
    text(&run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name)).stdout)
        .trim()
        .to_string()
}

/// Owner, group and permission bits of a file.
pub fn owner(path: &Path) -> (u32, u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

/// The names in a hub database's schema_migrations, in order.
pub fn applied(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the hub database");
    let mut statement = conn
        .prepare("SELECT name FROM schema_migrations ORDER BY name")
        .expect("schema_migrations");
    statement
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// A clean Debian root, unpacked from the cached tarball into a temporary folder.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    /// A root of this machine's architecture.
    pub fn new() -> Root {
        Root::unpack(&[])
    }

    /// A root of a Debian architecture (`arm64`); its programs run under qemu-user.
    pub fn of_arch(arch: &str) -> Root {
        Root::unpack(&["--arch", arch])
    }

    fn unpack(prepare_args: &[&str]) -> Root {
        let tarball = run(
            Command::new(workspace().join("images/packages/prepare-test-root")).args(prepare_args),
        )
        .stdout;
        let tarball = PathBuf::from(text(&tarball).trim());
        let scratch = profile_dir().parent().expect("target folder").join("tmp");
        std::fs::create_dir_all(&scratch).expect("target/tmp");
        let dir = tempfile::Builder::new()
            .prefix("packages-root-")
            .tempdir_in(&scratch)
            .expect("temporary root");
        run(Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(dir.path()));
        Root { dir }
    }

    pub fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    /// A command run inside the root as root, with a plain environment.
    pub fn chroot(&self, args: &[&str]) -> Command {
        self.chroot_as(None, args)
    }

    /// A command run inside the root as `uid:gid`, or as root.
    pub fn chroot_as(&self, user: Option<(u32, u32)>, args: &[&str]) -> Command {
        let mut command = Command::new("chroot");
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive");
        if let Some((uid, gid)) = user {
            command.arg(format!("--userspec={uid}:{gid}"));
        }
        command.arg(self.dir.path()).args(args);
        command
    }

    /// Installs package files with dpkg (no network: the root holds their dependencies).
    pub fn install(&self, debs: &[&Path]) -> String {
        let mut args = vec!["dpkg".to_string(), "--install".to_string()];
        for deb in debs {
            let name = deb.file_name().expect("file name").to_string_lossy();
            std::fs::copy(deb, self.path(&format!("tmp/{name}"))).expect("copy the package");
            args.push(format!("/tmp/{name}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&mut self.chroot(&args));
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }

    /// A user's line in the root's /etc/passwd: name, uid, gid, home, shell.
    pub fn user(&self, name: &str) -> (u32, u32, String, String) {
        let passwd = std::fs::read_to_string(self.path("etc/passwd")).expect("passwd");
        let line = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no user {name} in the root"));
        let parts: Vec<&str> = line.split(':').collect();
        (
            parts[2].parse().expect("uid"),
            parts[3].parse().expect("gid"),
            parts[5].to_string(),
            parts[6].to_string(),
        )
    }

    /// The groups `name` is a member of (besides its own).
    pub fn groups_of(&self, name: &str) -> Vec<String> {
        let group = std::fs::read_to_string(self.path("etc/group")).expect("group");
        group
            .lines()
            .filter(|l| {
                l.rsplit(':')
                    .next()
                    .is_some_and(|members| members.split(',').any(|m| m == name))
            })
            .filter_map(|l| l.split(':').next().map(String::from))
            .collect()
    }
}

/// The hub running inside the root as its system user.
pub struct Hub {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub port: u16,
}

impl Hub {
    /// `hub serve` with the packaged configuration.
    pub fn start(root: &Root) -> Hub {
        Hub::start_with(root, &["--config", "/etc/dorfpunkt/hub.toml", "serve"])
    }

    /// `hub ARGS --listen 127.0.0.1:<free port>` as the hub's user.
    pub fn start_with(root: &Root, args: &[&str]) -> Hub {
        let (uid, gid, _, _) = root.user(HUB);
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("address")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["/usr/bin/hub"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--listen", &listen]);
        let mut command = root.chroot_as(Some((uid, gid)), &all);
        command
            .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0")
            .env("DORFPUNKT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("starting the hub in the root");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let hub = Hub { child, lines, port };
        hub.wait_for("hub listening on", HUB_START);
        hub
    }

    /// Waits for a line containing `what`; the lines read on the way.
    pub fn wait_for(&self, what: &str, within: Duration) -> Vec<String> {
        let until = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(what);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(e) => panic!("no line with {what:?} ({e}); the hub printed {seen:?}"),
            }
        }
    }

    /// GET /healthz over TLS, trusting the certificate the hub made in its data folder.
    pub fn health(&self, root: &Root) -> serde_json::Value {
        hub::server::install_crypto();
        let pem = std::fs::read(root.path("var/lib/dorfpunkt-hub/tls/hub-cert.pem"))
            .expect("the hub's self-signed certificate");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let url = format!("https://localhost:{}/healthz", self.port);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let answer = client.get(&url).send().await.expect("GET /healthz");
                assert!(answer.status().is_success(), "{}", answer.status());
                answer.json().await.expect("JSON")
            })
    }

    /// SIGTERM, and the hub's exit status once it stopped (it must stop gracefully).
    pub fn stop(mut self) -> std::process::ExitStatus {
        run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        self.wait_for("hub stopped", Duration::from_secs(20));
        self.child.wait().expect("the hub's exit")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What both package tests check once the hub's package is installed in `root`: the database
/// has every migration and belongs to the hub's user (`hub_uid`); the hub starts inside the root
/// as that user with the packaged configuration, answers /healthz over TLS, stops gracefully on
/// SIGTERM, and its TLS key is its user's. `installed` (dpkg's output) explains a failure.
pub fn hub_migrated_serves_and_stops(root: &Root, hub_uid: u32, installed: &str) {
    let db = root.path("var/lib/dorfpunkt-hub/hub.db");
    assert_eq!(
        applied(&db).len(),
        hub::store::migrations::MIGRATIONS.len(),
        "{installed}"
    );
    assert_eq!(
        owner(&db).0,
        hub_uid,
        "the database belongs to the hub's user"
    );
    let hub = Hub::start(root);
    let health = hub.health(root);
    assert_eq!(health["status"], "ok", "{health}");
    let status = hub.stop();
    assert!(status.success(), "the hub's exit after SIGTERM: {status}");
    assert_eq!(
        owner(&root.path("var/lib/dorfpunkt-hub/tls/hub-key.pem")).0,
        hub_uid
    );
}

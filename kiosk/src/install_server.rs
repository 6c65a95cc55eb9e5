//! The root side of kiosk updates: `kiosk install-server`, started by systemd for each
//! connection to `/run/dorfpunkt-kiosk-install.sock` (`dorfpunkt-kiosk-install.socket`,
//! `Accept=yes`, the connection as stdin and stdout), and its client `kiosk install-request`,
//! the `KIOSK_INSTALLER` of the hardened kiosk service, which may not run dpkg itself.
//!
//! **Nothing unsigned is installed, here either.** The kiosk asks for one version; the server
//! takes the package only from where the kiosk keeps it
//! (`/var/lib/dorfpunkt-kiosk/update/packages/<version>.pkg`), copies it into its own store
//! (`/var/lib/dorfpunkt-kiosk-installer/<version>.deb`, root's, mode 0700) and checks the copy
//! again: size, SHA-256 and Ed25519 signature of the offer the kiosk kept beside the package
//! (`<version>.offer.json`) against the pinned key, and the package's control fields (`Package:
//! dorfpunkt-kiosk`, `Version: <version>`). A version already in the store (checked earlier, or
//! put there by the image build for the first version) is installed from the store without
//! reading the kiosk's files: that is how a roll-back to the image's version works. Every
//! refusal is answered with its reason and changes nothing.
//!
//! **Read-only root.** On the appliance `/` is mounted read-only (`/var` is a writable data
//! partition with dpkg's database). The server remounts it read-write for `dpkg -i` and
//! read-only again after answering. That fails with EBUSY while a replaced program is still open,
//! and this server is one (it runs the `kiosk` dpkg just replaced): after a few seconds it starts
//! `dorfpunkt-kiosk-root-ro.service`, which remounts once the server has ended (failing that,
//! the next boot mounts `/` read-only).
//!
//! **dpkg stops the kiosk.** The package's prerm stops `dorfpunkt-kiosk.service` (with the
//! client, which waits in it) and its postinst starts it again; the client may therefore never
//! read the answer. The kiosk writes what it is doing before it asks (`crate::update`), and the
//! server finishes its work whether or not anybody listens.
//!
//! The wire: one JSON line each way, `{"version":"0.2.0-1","package":"/var/lib/...pkg"}` and
//! `{"ok":true}` or `{"ok":false,"error":"..."}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use protocol::update::{UpdateOffer, check_version};
use serde::{Deserialize, Serialize};

use crate::update::{self, MAX_PACKAGE_BYTES, PACKAGE_NAME};

/// Where systemd listens for install requests.
pub const SOCKET: &str = "/run/dorfpunkt-kiosk-install.sock";
/// The kiosk's data directory, where it keeps the packages it downloaded.
pub const KIOSK_DATA_DIR: &str = "/var/lib/dorfpunkt-kiosk";
/// Root's store of checked packages.
pub const STORE_DIR: &str = "/var/lib/dorfpunkt-kiosk-installer";
/// The longest request line.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// Packages kept in the store besides the one installed last.
pub const KEPT: usize = 3;
/// How the package is installed. Nobody is there to answer dpkg's question about a changed
/// conffile (`kiosk.env`): the admin's version stays, and the package's lands beside it as
/// `.dpkg-dist`.
pub const DPKG: &str = "dpkg --force-confdef --force-confold -i";
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the kiosk asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: String,
    pub package: PathBuf,
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the server looks and what it runs. Everything but the defaults is for tests; the
/// service passes no flags and sets no environment.
#[derive(Clone, Debug)]
pub struct Server {
    /// The kiosk's data directory.
    pub data_dir: PathBuf,
    /// Root's store of checked packages.
    pub store: PathBuf,
    /// The pinned release public key.
    pub key: PathBuf,
    /// The mount table read to see whether `/` is read-only.
    pub mountinfo: PathBuf,
    /// dpkg and its arguments; the package path is added (`KIOSK_DPKG`, default [`DPKG`]).
    pub dpkg: Vec<String>,
    /// mount (`KIOSK_MOUNT`, default `mount`), given `-o remount,rw /` or `-o remount,ro /`.
    pub mount: Vec<String>,
    /// How long the read-only remount is tried here.
    pub remount_for: Duration,
    /// What tries it on after this process has ended (`KIOSK_REMOUNT_LATER`, default
    /// [`REMOUNT_LATER`]): this server runs the old `kiosk` program, which dpkg just replaced,
    /// and the kernel keeps `/` writable while a deleted file is open, so the remount can only
    /// succeed once the server is gone.
    pub remount_later: Vec<String>,
}

/// The answer while another install runs; `kiosk install-request` then ends with
/// [`update::RESTART_EXIT_CODE`] (try again later) instead of a failure.
pub const BUSY: &str = "another install is under way";

/// Starts the unit that remounts `/` read-only once nothing holds a replaced file.
pub const REMOUNT_LATER: &str = "systemctl --no-block start dorfpunkt-kiosk-root-ro.service";

impl Server {
    /// The paths of the appliance, with `KIOSK_DPKG` and `KIOSK_MOUNT` for tests.
    pub fn from_env() -> Server {
        let words = |name: &str, default: &str| -> Vec<String> {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_string())
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        Server {
            data_dir: PathBuf::from(KIOSK_DATA_DIR),
            store: PathBuf::from(STORE_DIR),
            key: PathBuf::from(update::DEFAULT_KEY),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            dpkg: words("KIOSK_DPKG", DPKG),
            mount: words("KIOSK_MOUNT", "mount"),
            remount_for: Duration::from_secs(5),
            remount_later: words("KIOSK_REMOUNT_LATER", REMOUNT_LATER),
        }
    }

    /// Serves one connection: reads the request from `input`, installs, answers on `output`,
    /// then puts `/` back to read-only if it was, and prunes the store.
    pub fn serve(&self, input: impl Read, mut output: impl Write) {
        let outcome = read_request(input).and_then(|request| self.install(&request));
        let answer = match &outcome {
            Ok(done) => {
                tracing::info!(version = %done.version, "installed");
                Answer {
                    ok: true,
                    error: None,
                }
            }
            Err(e) => {
                tracing::error!(error = %e.message, "install request refused or failed");
                Answer {
                    ok: false,
                    error: Some(e.message.clone()),
                }
            }
        };
        // dpkg may have stopped the client with the kiosk: nobody may be listening any more.
        if let Ok(mut line) = serde_json::to_vec(&answer) {
            line.push(b'\n');
            if let Err(e) = output.write_all(&line).and_then(|()| output.flush()) {
                tracing::info!(error = %e, "the client is gone; the answer is not read");
            }
        }
        drop(output);
        let remounted = match &outcome {
            Ok(done) => done.remounted,
            Err(e) => e.remounted,
        };
        if remounted {
            self.remount_read_only();
        }
        if let Ok(done) = &outcome {
            prune(&self.store, &done.version);
        }
    }

    /// Checks the request, stores and checks the package, and installs it.
    fn install(&self, request: &Request) -> Result<Done, Failure> {
        check_version(&request.version)
            .map_err(|e| Failure::refused(format!("version {:?}: {e}", request.version)))?;
        let version = request.version.as_str();
        let expected = update::package_path(&self.data_dir, version);
        if request.package != expected {
            return Err(Failure::refused(format!(
                "the package of {version} must be {}, not {}",
                expected.display(),
                request.package.display()
            )));
        }
        create_private_dir(&self.store)?;
        // One install at a time. A second one is refused rather than made to wait: the first
        // may be waiting in dpkg's postinst for the kiosk's start, and that kiosk for this one.
        let lock = std::fs::File::create(self.store.join(".lock"))
            .map_err(|e| Failure::refused(format!("the store's lock: {e}")))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| Failure::refused(BUSY.to_string()))?;
        let stored = self.store.join(format!("{version}.deb"));
        if stored.exists() {
            tracing::info!(version, "installing the stored package");
        } else {
            self.take(version, &expected, &stored)?;
        }
        check_control(&stored, version)?;
        let remounted = self.remount_if_read_only()?;
        let result = self.dpkg(&stored);
        match result {
            Ok(()) => {
                // The store keeps the packages used last.
                if let Ok(file) = std::fs::File::options().write(true).open(&stored) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Ok(Done {
                    version: version.to_string(),
                    remounted,
                })
            }
            Err(message) => Err(Failure { message, remounted }),
        }
    }

    /// Copies the kiosk's package into the store and checks the copy; only a checked copy gets
    /// its final name.
    fn take(&self, version: &str, package: &Path, stored: &Path) -> Result<(), Failure> {
        let offer_path = update::offer_path(&self.data_dir, version);
        let offer: UpdateOffer = std::fs::read(&offer_path)
            .map_err(|e| {
                Failure::refused(format!(
                    "version {version} is not in the store and has no signed offer ({}: {e})",
                    offer_path.display()
                ))
            })
            .and_then(|bytes| {
                serde_json::from_slice(&bytes).map_err(|e| {
                    Failure::refused(format!("{} is unreadable: {e}", offer_path.display()))
                })
            })?;
        if offer.version != version {
            return Err(Failure::refused(format!(
                "the offer beside the package is for {}, not {version}",
                offer.version
            )));
        }
        let key =
            update::read_public_key(&self.key).map_err(|e| Failure::refused(e.to_string()))?;
        let part = self.store.join(format!("{version}.deb.part"));
        let copied = copy_owned(&self.data_dir, package, &part).and_then(|()| {
            let (sha, size) = update::hash_file(&part)
                .map_err(|e| Failure::refused(format!("{}: {e}", part.display())))?;
            update::verify(&offer, &key, &sha, size)
                .map_err(|e| Failure::refused(format!("package {version} refused: {e}")))?;
            check_control(&part, version)
        });
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        std::fs::rename(&part, stored)
            .and_then(|()| std::fs::File::open(&self.store)?.sync_all())
            .map_err(|e| Failure::refused(format!("{}: {e}", stored.display())))?;
        tracing::info!(version, "package checked and stored");
        Ok(())
    }

    /// Whether `/` is mounted read-only, from the last mount on `/` in the mount table.
    fn root_read_only(&self) -> Result<bool, Failure> {
        let table = std::fs::read_to_string(&self.mountinfo)
            .map_err(|e| Failure::refused(format!("{}: {e}", self.mountinfo.display())))?;
        Ok(root_is_read_only(&table))
    }

    fn remount_if_read_only(&self) -> Result<bool, Failure> {
        if !self.root_read_only()? {
            return Ok(false);
        }
        run(&self.mount, &["-o", "remount,rw", "/"])
            .map_err(|e| Failure::refused(format!("/ could not be made writable: {e}")))?;
        tracing::info!("/ remounted read-write for the install");
        Ok(true)
    }

    /// Remounts `/` read-only, trying again while the old kiosk still holds a replaced file.
    fn remount_read_only(&self) {
        let until = Instant::now() + self.remount_for;
        loop {
            match run(&self.mount, &["-o", "remount,ro", "/"]) {
                Ok(()) => {
                    tracing::info!("/ remounted read-only");
                    return;
                }
                Err(e) if Instant::now() < until => {
                    tracing::info!(error = %e, "/ is still busy; trying again");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => {
                    match run(&self.remount_later, &[]) {
                        Ok(()) => {
                            tracing::info!(error = %e, "/ is busy; remounting read-only once this installer has ended")
                        }
                        Err(later) => {
                            tracing::error!(error = %e, later = %later, "/ stays writable until the next boot")
                        }
                    }
                    return;
                }
            }
        }
    }

    fn dpkg(&self, package: &Path) -> Result<(), String> {
        let package = package.to_string_lossy();
        run(&self.dpkg, &[&package])
    }
}

/// A finished install.
struct Done {
    version: String,
    remounted: bool,
}

/// A refusal or a failed install, and whether `/` was made writable before it.
#[derive(Debug)]
struct Failure {
    message: String,
    remounted: bool,
}

impl Failure {
    fn refused(message: String) -> Failure {
        Failure {
            message,
            remounted: false,
        }
    }
}

/// Reads one request line of at most [`MAX_REQUEST_BYTES`].
fn read_request(input: impl Read) -> Result<Request, Failure> {
    let mut line = Vec::new();
    BufReader::new(input.take(MAX_REQUEST_BYTES as u64 + 1))
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::refused(format!("reading the request: {e}")))?;
    if line.last() != Some(&b'\n') {
        return Err(Failure::refused(if line.len() > MAX_REQUEST_BYTES {
            format!("the request is longer than {MAX_REQUEST_BYTES} bytes")
        } else {
            "the request is not one whole line".to_string()
        }));
    }
    serde_json::from_slice(&line).map_err(|e| Failure::refused(format!("a bad request: {e}")))
}

/// Whether the last mount on `/` in a `/proc/self/mountinfo` text is read-only.
pub fn root_is_read_only(mountinfo: &str) -> bool {
    mountinfo
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.get(4) == Some(&"/")).then(|| fields.get(5).copied())?
        })
        .next_back()
        .is_some_and(|options| options.split(',').any(|o| o == "ro"))
}

/// Makes `dir` (mode 0700) if it is missing.
fn create_private_dir(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::refused(format!("{}: {e}", dir.display())))
}

/// Copies the kiosk's `package` into `part`: a regular file (no symbolic link) owned by the
/// owner of the kiosk's data directory, at most [`MAX_PACKAGE_BYTES`].
fn copy_owned(data_dir: &Path, package: &Path, part: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::refused(format!("{}: {e}", package.display()));
    let owner = std::fs::metadata(data_dir)
        .map_err(|e| Failure::refused(format!("{}: {e}", data_dir.display())))?
        .uid();
    let source = std::fs::File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(package)
        .map_err(fail)?;
    let meta = source.metadata().map_err(fail)?;
    if !meta.is_file() || meta.uid() != owner {
        return Err(Failure::refused(format!(
            "{} is not a file of the kiosk's",
            package.display()
        )));
    }
    if meta.len() > MAX_PACKAGE_BYTES {
        return Err(Failure::refused(format!(
            "{} is larger than {MAX_PACKAGE_BYTES} bytes",
            package.display()
        )));
    }
    let mut out = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(part)
        .map_err(|e| Failure::refused(format!("{}: {e}", part.display())))?;
    std::io::copy(&mut source.take(MAX_PACKAGE_BYTES + 1), &mut out)
        .and_then(|_| out.sync_all())
        .map_err(|e| Failure::refused(format!("copying {}: {e}", package.display())))
}

/// Checks the control fields of a Debian package: it is the kiosk's, of `version`.
fn check_control(deb: &Path, version: &str) -> Result<(), Failure> {
    let output = Command::new("dpkg-deb")
        .arg("--field")
        .arg(deb)
        .args(["Package", "Version"])
        .output()
        .map_err(|e| Failure::refused(format!("dpkg-deb: {e}")))?;
    if !output.status.success() {
        return Err(Failure::refused(format!(
            "package {version} is no Debian package: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let fields = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let (package, got) = (field("Package"), field("Version"));
    if package != PACKAGE_NAME || got != version {
        return Err(Failure::refused(format!(
            "the package is {package} {got}, not {PACKAGE_NAME} {version}"
        )));
    }
    Ok(())
}

/// Runs `command` with `args`; its error output on failure.
fn run(command: &[String], args: &[&str]) -> Result<(), String> {
    let Some((program, fixed)) = command.split_first() else {
        return Err("no command configured".into());
    };
    // No input (stdin is the client's connection; `output` gives the child none) and no
    // questions from maintainer scripts.
    let output = Command::new(program)
        .args(fixed)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&output.stderr);
    let out = String::from_utf8_lossy(&output.stdout);
    let said = if err.trim().is_empty() { out } else { err };
    // The end of dpkg's output says what went wrong.
    let said: String = said.trim().chars().rev().take(400).collect();
    Err(format!(
        "{program} ended with {}: {}",
        output.status,
        said.chars().rev().collect::<String>()
    ))
}

/// Removes all but the package installed last and the [`KEPT`] newest others (by when they were
/// stored or last installed). A roll-back's target is among them: it was installed before.
fn prune(store: &Path, installed: &str) {
    let Ok(entries) = std::fs::read_dir(store) else {
        return;
    };
    let mut packages: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".deb"))
        .filter(|e| e.file_name().to_string_lossy() != format!("{installed}.deb"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    packages.sort_by_key(|p| std::cmp::Reverse(p.0));
    for (_, old) in packages.into_iter().skip(KEPT) {
        tracing::info!(package = %old.display(), "removed from the store");
        let _ = std::fs::remove_file(old);
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// `kiosk install-request PACKAGE`: asks the server at `socket` to install `package` as
/// `version` and waits for its answer (dpkg takes its time on a Pi: up to 15 minutes).
pub fn request(socket: &Path, version: &str, package: &Path) -> Result<(), String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("the installer at {}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(900)))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_vec(&Request {
        version: version.to_string(),
        package: package.to_path_buf(),
    })
    .map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut answer = String::new();
    BufReader::new(stream.take(64 * 1024))
        .read_line(&mut answer)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if answer.trim().is_empty() {
        return Err("the installer closed the connection without an answer".into());
    }
    let answer: Answer =
        serde_json::from_str(&answer).map_err(|e| format!("the installer's answer: {e}"))?;
    if answer.ok {
        Ok(())
    } else {
        Err(answer
            .error
            .unwrap_or_else(|| "the installer failed".to_string()))
    }
}

/// Gives a socket connection on stdin a time limit for the request (not possible on a pipe, in
/// which case nothing changes).
pub fn limit_request_time() {
    use std::os::fd::AsFd;
    if let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() {
        let stream = std::os::unix::net::UnixStream::from(fd);
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_mount_on_root_decides() {
        let table = "22 1 179:2 / / ro,relatime shared:1 - ext4 /dev/mmcblk0p2 ro\n\
                     23 22 179:3 / /var rw,relatime shared:2 - ext4 /dev/mmcblk0p3 rw\n";
        assert!(root_is_read_only(table));
        let again = format!("{table}40 22 179:2 / / rw,relatime - ext4 /dev/mmcblk0p2 rw\n");
        assert!(!root_is_read_only(&again));
        assert!(!root_is_read_only(
            "23 22 179:3 / /var ro,relatime - ext4 x ro\n"
        ));
    }

    #[test]
    fn a_request_is_one_short_json_line() {
        let good = br#"{"version":"0.2.0-1","package":"/var/lib/x.pkg"}
"#;
        assert_eq!(read_request(&good[..]).unwrap().version, "0.2.0-1");
        assert!(read_request(&br#"{"version":"0.2.0-1","package":"/x"}"#[..]).is_err());
        let long = format!("{}\n", "x".repeat(MAX_REQUEST_BYTES + 10));
        assert!(
            read_request(long.as_bytes())
                .unwrap_err()
                .message
                .contains("longer")
        );
        assert!(read_request(&b"{\"version\":\"1\",\"package\":\"/x\",\"more\":1}\n"[..]).is_err());
    }
}

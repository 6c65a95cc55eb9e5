//! The root-side installer with real parts: the `kiosk install-server` binary serving a
//! connection accepted on a real Unix socket (as systemd's `Accept=yes` hands it over, as stdin
//! and stdout), the `kiosk install-request` binary as its client, real Debian packages made with
//! `dpkg-deb --build` and signed with `hub update`'s code; only dpkg and mount are recording
//! scripts (this machine's / is not remounted, nor a package installed). Checked: a signed
//! package is copied into the store, checked and installed between the remounts; tampered,
//! wrongly signed, mislabelled and misplaced packages and bad requests are refused with nothing
//! installed, stored or remounted; a version only in the store (the image's first) installs
//! without an offer.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use protocol::update::UpdateOffer;

/// A kiosk data directory, root's store, a release key, and the recording dpkg and mount.
struct Installer {
    root: tempfile::TempDir,
}

impl Installer {
    fn new() -> Installer {
        let root = tempfile::tempdir().expect("root");
        let installer = Installer { root };
        for dir in ["data/update/packages", "keys", "bin"] {
            std::fs::create_dir_all(installer.path(dir)).expect("folder");
        }
        hub::updates::keygen(&installer.path("keys")).expect("release key");
        // dpkg and mount write what they were asked into one log, in order; dpkg fails while a
        // file `dpkg-fails` exists; the read-only remount fails as often as `root-busy` says
        // (as while the old kiosk still holds its replaced program open).
        let log = installer.path("calls.log");
        let busy = installer.path("root-busy");
        for (name, extra) in [
            (
                "dpkg",
                format!(
                    "[ ! -f '{}' ] || exit 3\n",
                    installer.path("dpkg-fails").display()
                ),
            ),
            (
                "mount",
                format!(
                    "B='{}'\nif [ \"$2\" = remount,ro ] && [ -f \"$B\" ] && [ \"$(cat \"$B\")\" -gt 0 ]; then\n\
                     \x20 echo $(($(cat \"$B\") - 1)) > \"$B\"\n  echo 'mount: /: target is busy.' >&2\n  exit 32\nfi\n",
                    busy.display()
                ),
            ),
        ] {
            let script = installer.path(&format!("bin/{name}"));
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{extra}",
                    log.display()
                ),
            )
            .expect("script");
            std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .expect("mode");
        }
        // The appliance's / is read-only, /var writable.
        std::fs::write(
            installer.path("mountinfo"),
            "22 1 179:2 / / ro,relatime shared:1 - ext4 /dev/mmcblk0p2 ro\n\
             23 22 179:3 / /var rw,relatime shared:2 - ext4 /dev/mmcblk0p3 rw\n",
        )
        .expect("mountinfo");
        installer
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.root.path().join(inside)
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The `.deb` files in the store.
    fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.store())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".deb"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// A Debian package `name` `version` built with dpkg-deb.
    fn deb(&self, name: &str, version: &str) -> PathBuf {
        let tree = self.path(&format!("build-{name}-{version}"));
        std::fs::create_dir_all(tree.join("DEBIAN")).expect("DEBIAN");
        std::fs::create_dir_all(tree.join("usr/share/doc/dorfpunkt-test")).expect("doc");
        std::fs::write(
            tree.join("DEBIAN/control"),
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: Test <test@example.invalid>\nDescription: test package\n"
            ),
        )
        .expect("control");
        std::fs::write(
            tree.join("usr/share/doc/dorfpunkt-test/version"),
            format!("{version}\n"),
        )
        .expect("content");
        let deb = self.path(&format!("{name}_{version}.deb"));
        let out = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb)
            .output()
            .expect("dpkg-deb runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        deb
    }

    /// Signs `deb` as `version` with `keys` and puts it where the kiosk keeps a verified
    /// download: the package and its offer.
    fn download(&self, deb: &Path, version: &str, keys: &Path) {
        let sig = hub::updates::sign(&keys.join("update-key"), deb, version).expect("signed");
        let (sha256, size) = kiosk::update::hash_file(deb).expect("hash");
        let offer = UpdateOffer {
            version: version.into(),
            sha256,
            size,
            signature: std::fs::read_to_string(sig)
                .expect("signature")
                .trim()
                .into(),
        };
        std::fs::copy(deb, kiosk::update::package_path(&self.data(), version)).expect("package");
        std::fs::write(
            kiosk::update::offer_path(&self.data(), version),
            serde_json::to_vec(&offer).expect("offer"),
        )
        .expect("offer file");
    }

    /// Serves one connection on a fresh socket with the real `kiosk install-server`, while
    /// `client` talks to it; returns what the client returned.
    fn serve<R>(&self, client: impl FnOnce(&Path) -> R) -> R {
        let socket = self.path("install.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("socket");
        let (data, store, key, mountinfo, bin) = (
            self.data(),
            self.store(),
            self.path("keys/update-key.pub"),
            self.path("mountinfo"),
            self.path("bin"),
        );
        let server = std::thread::spawn(move || {
            let (connection, _) = listener.accept().expect("a connection");
            let output = connection.try_clone().expect("clone");
            Command::new(env!("CARGO_BIN_EXE_kiosk"))
                .arg("install-server")
                .arg("--data-dir")
                .arg(data)
                .arg("--store")
                .arg(store)
                .arg("--key")
                .arg(key)
                .arg("--mountinfo")
                .arg(mountinfo)
                .env("KIOSK_DPKG", format!("{} -i", bin.join("dpkg").display()))
                .env("KIOSK_MOUNT", bin.join("mount"))
                .stdin(Stdio::from(std::os::fd::OwnedFd::from(connection)))
                .stdout(Stdio::from(std::os::fd::OwnedFd::from(output)))
                .stderr(Stdio::piped())
                .output()
                .expect("install-server runs")
        });
        let answer = client(&socket);
        let served = server.join().expect("server thread");
        assert!(
            served.status.success(),
            "install-server: {}",
            String::from_utf8_lossy(&served.stderr)
        );
        answer
    }

    /// `kiosk install-request PACKAGE` for `version`, served once.
    fn request(&self, version: &str, package: &Path) -> Output {
        self.serve(|socket| {
            Command::new(env!("CARGO_BIN_EXE_kiosk"))
                .arg("install-request")
                .arg(package)
                .env("KIOSK_UPDATE_VERSION", version)
                .env("KIOSK_INSTALL_SOCKET", socket)
                .output()
                .expect("install-request runs")
        })
    }

    /// Sends `bytes` as they are and returns the answer line.
    fn raw(&self, bytes: &[u8]) -> serde_json::Value {
        self.serve(|socket| {
            let mut stream = UnixStream::connect(socket).expect("connect");
            // A server that stops reading early may close before all is written.
            let _ = stream.write_all(bytes);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line).expect("answer");
            serde_json::from_str(&line).expect("a JSON answer")
        })
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_signed_package_is_stored_checked_and_installed_between_the_remounts() {
    let installer = Installer::new();
    let deb = installer.deb("dorfpunkt-kiosk", "0.2.0-1");
    installer.download(&deb, "0.2.0-1", &installer.path("keys"));

    let out = installer.request(
        "0.2.0-1",
        &kiosk::update::package_path(&installer.data(), "0.2.0-1"),
    );

    assert!(out.status.success(), "{}", stderr(&out));
    let stored = installer.store().join("0.2.0-1.deb");
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&deb).unwrap()
    );
    assert_eq!(
        installer.calls(),
        [
            "mount -o remount,rw /".to_string(),
            format!("dpkg -i {}", stored.display()),
            "mount -o remount,ro /".to_string(),
        ]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(installer.store())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "root's store is private");

    // A failing dpkg is reported to the kiosk, and / is made read-only again all the same.
    std::fs::write(installer.path("dpkg-fails"), "").unwrap();
    let out = installer.request(
        "0.2.0-1",
        &kiosk::update::package_path(&installer.data(), "0.2.0-1"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ended with"), "{}", stderr(&out));
    assert_eq!(installer.calls().len(), 6, "{:?}", installer.calls());
    assert_eq!(installer.calls()[5], "mount -o remount,ro /");

    // A busy / is remounted read-only once it is free again.
    std::fs::remove_file(installer.path("dpkg-fails")).unwrap();
    std::fs::write(installer.path("root-busy"), "2").unwrap();
    let out = installer.request(
        "0.2.0-1",
        &kiosk::update::package_path(&installer.data(), "0.2.0-1"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        installer.calls()[6..],
        [
            "mount -o remount,rw /".to_string(),
            format!("dpkg -i {}", stored.display()),
            "mount -o remount,ro /".to_string(),
            "mount -o remount,ro /".to_string(),
            "mount -o remount,ro /".to_string(),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(installer.path("root-busy"))
            .unwrap()
            .trim(),
        "0"
    );
}

#[test]
fn bad_packages_and_bad_requests_are_refused_and_nothing_changes() {
    let installer = Installer::new();
    let keys = installer.path("keys");
    let package = |v: &str| kiosk::update::package_path(&installer.data(), v);

    // Changed after it was signed.
    let deb = installer.deb("dorfpunkt-kiosk", "0.3.0-1");
    installer.download(&deb, "0.3.0-1", &keys);
    let mut bytes = std::fs::read(package("0.3.0-1")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(package("0.3.0-1"), bytes).unwrap();
    // Signed with a key the kiosk does not pin.
    let other = installer.path("other-keys");
    hub::updates::keygen(&other).unwrap();
    let deb = installer.deb("dorfpunkt-kiosk", "0.3.1-1");
    installer.download(&deb, "0.3.1-1", &other);
    // Signed, but another package, or another version than it says it is.
    let deb = installer.deb("dorfpunkt-hub", "0.3.2-1");
    installer.download(&deb, "0.3.2-1", &keys);
    let deb = installer.deb("dorfpunkt-kiosk", "0.3.9-1");
    installer.download(&deb, "0.3.3-1", &keys);
    // Good, for the requests that name it wrongly.
    let deb = installer.deb("dorfpunkt-kiosk", "0.4.0-1");
    installer.download(&deb, "0.4.0-1", &keys);
    let outside = installer.path("0.4.0-1.pkg");
    std::fs::copy(package("0.4.0-1"), &outside).unwrap();

    for (version, path, why) in [
        ("0.3.0-1", package("0.3.0-1"), "SHA-256"),
        ("0.3.1-1", package("0.3.1-1"), "signature"),
        ("0.3.2-1", package("0.3.2-1"), "not dorfpunkt-kiosk 0.3.2-1"),
        (
            "0.3.3-1",
            package("0.3.3-1"),
            "dorfpunkt-kiosk 0.3.9-1, not",
        ),
        ("0.4.0-1", package("0.3.3-1"), "must be"),
        ("0.4.0-1", outside.clone(), "must be"),
        ("0.5.0-1", package("0.5.0-1"), "no signed offer"),
        ("../0.4.0-1", package("0.4.0-1"), "version"),
    ] {
        let out = installer.request(version, &path);
        assert!(!out.status.success(), "{version} {path:?} was installed");
        assert!(stderr(&out).contains(why), "{version}: {}", stderr(&out));
    }
    for (request, why) in [
        (
            format!("{}\n", "x".repeat(5000)).into_bytes(),
            "longer than",
        ),
        (b"not json\n".to_vec(), "bad request"),
        (
            format!(
                "{{\"version\":\"0.4.0-1\",\"package\":\"{}\",\"force\":true}}\n",
                package("0.4.0-1").display()
            )
            .into_bytes(),
            "bad request",
        ),
        (b"{\"version\":\"0.4.0-1\"".to_vec(), "one whole line"),
    ] {
        let answer = installer.raw(&request);
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(
            answer["error"].as_str().unwrap_or("").contains(why),
            "{answer}"
        );
    }

    assert!(installer.calls().is_empty(), "{:?}", installer.calls());
    assert!(installer.stored().is_empty(), "{:?}", installer.stored());
    // The good package still installs.
    let out = installer.request("0.4.0-1", &package("0.4.0-1"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(installer.stored(), ["0.4.0-1.deb"]);
}

#[test]
fn a_version_only_in_the_store_installs_without_an_offer_and_the_store_is_pruned() {
    let installer = Installer::new();
    // The image's first version: in the store, nothing of it in the kiosk's folder.
    std::fs::create_dir_all(installer.store()).unwrap();
    let first = installer.deb("dorfpunkt-kiosk", "0.1.0-1");
    std::fs::copy(&first, installer.store().join("0.1.0-1.deb")).unwrap();
    // It is in a writable / (no remount).
    std::fs::write(
        installer.path("mountinfo"),
        "22 1 179:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
    )
    .unwrap();

    let package = |v: &str| kiosk::update::package_path(&installer.data(), v);
    let out = installer.request("0.1.0-1", &package("0.1.0-1"));
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = installer.store().join("0.1.0-1.deb");
    assert_eq!(installer.calls(), [format!("dpkg -i {}", stored.display())]);

    // Four updates later the first version has left the store; the three before the installed
    // one stay.
    for v in ["0.2.0-1", "0.3.0-1", "0.4.0-1", "0.5.0-1"] {
        let deb = installer.deb("dorfpunkt-kiosk", v);
        installer.download(&deb, v, &installer.path("keys"));
        let out = installer.request(v, &package(v));
        assert!(out.status.success(), "{v}: {}", stderr(&out));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        installer.stored(),
        ["0.2.0-1.deb", "0.3.0-1.deb", "0.4.0-1.deb", "0.5.0-1.deb"]
    );
    // A roll-back to 0.4.0-1 comes from the store even when the kiosk's copy is gone.
    std::fs::remove_file(package("0.4.0-1")).unwrap();
    let out = installer.request("0.4.0-1", &package("0.4.0-1"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        installer.calls().last().unwrap(),
        &format!(
            "dpkg -i {}",
            installer.store().join("0.4.0-1.deb").display()
        )
    );
}

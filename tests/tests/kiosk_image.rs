//! The kiosk image (issue 8), built and booted here: `images/kiosk-image/build` makes an arm64
//! Debian disk image with the real arm64 kiosk package (a read-only root, a writable data
//! partition), and `images/kiosk-image/boot-test` boots it under qemu-system-aarch64 against a
//! real hub on this machine (its port on loopback is 10.0.2.2 to the guest). Checked, each in a
//! bounded time:
//!
//! - without a code on the boot partition the kiosk service starts all the same and its setup
//!   screen, asking for the code, is on the emulated display;
//! - the first boot enrols the kiosk with the hub address and code from the boot partition, the
//!   kiosk service starts (its journal line on the serial console) and its heartbeat reaches the
//!   hub with the package's version; the guest takes its time from the hub's NTP answer; the root
//!   partition's bytes are untouched, `/` is mounted read-only, SSH answers only because a key
//!   was put on the boot partition, and the kiosk's start screen is on the emulated display;
//! - an update: the hub stages a newer signed package for this kiosk, which downloads it,
//!   verifies it, has the root-side installer install it (dpkg on a root remounted writable for
//!   the time), restarts into it and reports it healthy; `/` is read-only again;
//! - a broken version (a package whose kiosk cannot reach the hub) is staged next: it is
//!   installed, fails its health check, and the kiosk rolls back to the version before and says so
//!   in its heartbeat; the hub never offers that version to it again.
//!
//! Needs root (mmdebstrap, chroot), qemu-system-arm, qemu-user-static and binfmt-support,
//! mtools, dosfstools, e2fsprogs, fdisk, openssh-client, and the arm64 kiosk
//! (`images/cross/build kiosk`); `tests/run` provides them all.

#[allow(dead_code)]
#[path = "packages/debian_root.rs"]
mod debian_root;
#[allow(dead_code)]
#[path = "kiosk_hub/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use debian_root::{field, run, text, workspace};

/// The version the image is built with, the update, and the broken one.
const FIRST: &str = "0.1.0-1";
const SECOND: &str = "0.1.1-1";
const BROKEN: &str = "0.1.2-1";
/// Emulated (TCG) and unoptimised: the boot to the kiosk's READY=1 took about a minute here.
const BOOT_TIMEOUT_S: u64 = 900;
/// From staging a version to the hub hearing of its health or roll-back.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(900);
/// The health window of the image built for this test (the default is 180 s).
const HEALTH_S: u64 = 150;

/// The test's work folder beside the build (the base root is cached there between runs).
fn work_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.ancestors()
        .nth(3)
        .expect("the target folder above <profile>/deps")
        .join("kiosk-image")
}

fn require_tools() {
    let uid = text(&run(Command::new("id").arg("-u")).stdout);
    assert_eq!(
        uid.trim(),
        "0",
        "the kiosk image test needs root (mmdebstrap, chroot): run tests/run as root"
    );
    for (tool, package) in [
        ("qemu-system-aarch64", "qemu-system-arm"),
        ("mmdebstrap", "mmdebstrap"),
        ("mcopy", "mtools"),
        ("mkfs.vfat", "dosfstools"),
        ("debugfs", "e2fsprogs"),
        ("sfdisk", "fdisk"),
        ("ssh", "openssh-client"),
        ("openssl", "openssl"),
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is missing: apt-get install {package} (tests/run does)"
        );
    }
    assert!(
        Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(),
        "qemu-aarch64 is not registered with binfmt_misc: apt-get install qemu-user-static \
         binfmt-support (tests/run does)"
    );
}

/// The arm64 kiosk packaged as `version` (from the binary `images/cross/build` made).
fn package(version: &str, out: &Path) -> PathBuf {
    let made = run(Command::new(workspace().join("images/packages/build"))
        .args([
            "--arch",
            "arm64",
            "--no-build",
            "--profile",
            "dev",
            "--fast",
        ])
        .args(["--deb-version", version, "--out"])
        .arg(out));
    let path = text(&made.stdout)
        .lines()
        .map(PathBuf::from)
        .find(|p| p.to_string_lossy().contains("dorfpunkt-kiosk_"))
        .expect("the kiosk package's path");
    assert_eq!(field(&path, "Architecture").trim(), "arm64");
    assert_eq!(field(&path, "Version").trim(), version);
    path
}

/// A broken release: the real package whose kiosk cannot reach the hub (its program is wrapped
/// with a proxy that does not exist), as a version that passes every check before it runs.
fn broken_package(good: &Path, version: &str, out: &Path) -> PathBuf {
    let tree = out.join("broken-tree");
    let _ = std::fs::remove_dir_all(&tree);
    run(Command::new("dpkg-deb").arg("-R").arg(good).arg(&tree));
    let bin = tree.join("usr/bin/kiosk");
    let real = tree.join("usr/lib/dorfpunkt-kiosk/kiosk");
    std::fs::create_dir_all(real.parent().expect("folder")).expect("lib folder");
    std::fs::rename(&bin, &real).expect("move the program");
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\n# A broken release for the update test: no way to the hub.\n\
             export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
             KIOSK_SOFTWARE_VERSION={version}\nexec /usr/lib/dorfpunkt-kiosk/kiosk \"$@\"\n"
        ),
    )
    .expect("wrapper");
    run(Command::new("chmod").arg("0755").arg(&bin));
    let control = tree.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).expect("control");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("Version:") {
                format!("Version: {version}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&control, text).expect("control");
    // The md5sums name the moved program.
    let sums = tree.join("DEBIAN/md5sums");
    if sums.exists() {
        let listed = std::fs::read_to_string(&sums).expect("md5sums");
        let listed: String = listed
            .lines()
            .filter(|l| !l.ends_with(" usr/bin/kiosk"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&sums, listed).expect("md5sums");
    }
    let path = out.join(format!("dorfpunkt-kiosk_{version}_arm64.deb"));
    run(Command::new("dpkg-deb")
        .args(["-Zgzip", "--root-owner-group", "-b"])
        .arg(&tree)
        .arg(&path));
    path
}

/// A certificate for the hub that the guest can check: it names 10.0.2.2 (the host as qemu's
/// user network shows it) and 127.0.0.1. Written where `hub demo` takes its TLS files from.
fn hub_certificate(hub_dir: &Path) {
    let tls = hub_dir.join("tls");
    std::fs::create_dir_all(&tls).expect("tls folder");
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=dorfpunkt-test-hub"])
        .args([
            "-addext",
            "subjectAltName=IP:10.0.2.2,IP:127.0.0.1,DNS:localhost",
        ])
        // A server's certificate, not a CA's (webpki refuses a CA as the server's own).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(tls.join("hub-key.pem"))
        .arg("-out")
        .arg(tls.join("hub-cert.pem")));
}

/// Signs `package` as `version` with the release key and adds it to the hub.
fn release(hub: &harness::Hub, keys: &Path, package: &Path, version: &str) {
    let hub_bin = harness::binary("hub");
    run(Command::new(&hub_bin)
        .args(["update", "sign", "--version", version, "--key"])
        .arg(keys.join("update-key"))
        .arg("--package")
        .arg(package));
    let signature = PathBuf::from(format!("{}.sig", package.display()));
    let out = hub.command(&[
        "update",
        "add",
        "--version",
        version,
        "--package",
        &package.to_string_lossy(),
        "--signature",
        &signature.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "hub update add {version}: {}",
        text(&out.stderr)
    );
}

/// Stages `version` for one kiosk, as an admin does in the console.
fn stage(hub: &harness::Hub, device: &str, version: &str) {
    let store = hub::store::Store::open(&hub.dir.join("hub.db")).expect("hub store");
    let input = hub::updates::StageInput {
        id: uuid::Uuid::new_v4(),
        version: version.to_string(),
        device_id: Some(device.to_string()),
        region_id: None,
    };
    store
        .blocking(|conn| {
            hub::updates::stage(
                conn,
                &hub::store::logs::Who::cli("kiosk-image-test"),
                &input,
                chrono::Utc::now(),
            )
        })
        .expect("staged");
}

/// Waits until `sql` (one row, one text column; no row counts as "") gives `want`, reporting
/// the console's tail on a timeout.
fn wait_for_hub(hub: &harness::Hub, sql: &str, want: &str, within: Duration, console: &Path) {
    let until = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < until {
        last = hub
            .db()
            .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
            .ok()
            .flatten()
            .unwrap_or_default();
        if last == want {
            return;
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    panic!(
        "the hub's `{sql}` gave '{last}', not '{want}', within {within:?}; console:\n{}",
        tail(console, 80)
    );
}

fn tail(path: &Path, lines: usize) -> String {
    let all = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let lines_all: Vec<&str> = all.lines().collect();
    lines_all[lines_all.len().saturating_sub(lines)..].join("\n")
}

/// `ssh` to the guest's forwarded port, host key unchecked (a new guest each run), never asking.
fn ssh_to_guest(port: u16) -> Command {
    let mut ssh = Command::new("ssh");
    ssh.args(["-p", &port.to_string()]).args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",
        "-o",
        "LogLevel=ERROR",
    ]);
    ssh
}

/// Runs `command` in the guest as root over SSH (the key from the boot partition).
fn ssh(key: &Path, port: u16, command: &str) -> String {
    let out = run(ssh_to_guest(port)
        .arg("-i")
        .arg(key)
        .args(["root@127.0.0.1", command]));
    text(&out.stdout)
}

/// Whether `/` is mounted read-only in the guest, waiting up to `within` for it (after an
/// install the remount waits until the installer has ended).
fn root_read_only(key: &Path, port: u16, within: Duration) -> bool {
    let until = Instant::now() + within;
    loop {
        let options = ssh(key, port, "findmnt -no OPTIONS /");
        if options.split(',').any(|o| o.trim() == "ro") {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// `boot-test start` with `args` (the hub, a code, ...): boots a copy of the image and returns
/// what it printed once the kiosk service started.
fn start_guest(boot_test: &Path, work: &Path, args: &[&str]) -> String {
    let started = Command::new(boot_test)
        .arg("start")
        .arg("--work")
        .arg(work)
        .args(args)
        .args(["--timeout", &BOOT_TIMEOUT_S.to_string()])
        .output()
        .expect("boot-test runs");
    assert!(
        started.status.success(),
        "boot-test start {args:?} failed:\n{}\n{}",
        text(&started.stdout),
        text(&started.stderr)
    );
    text(&started.stdout)
}

/// Waits up to `within` for a console line containing `line`; fails with the console's tail,
/// saying `what` did not happen.
fn wait_for_console(console: &Path, line: &str, within: Duration, what: &str) {
    let until = Instant::now() + within;
    while !tail(console, 100_000).contains(line) {
        assert!(
            Instant::now() < until,
            "{what}; console:\n{}",
            tail(console, 80)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The emulated display's picture through qemu's monitor (`screendump`, a binary PPM): width,
/// height and the RGB pixels.
fn screendump(monitor: &Path, file: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let _ = std::fs::remove_file(file);
    let mut socket = UnixStream::connect(monitor).expect("qemu monitor");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    writeln!(socket, "screendump {}", file.display()).expect("monitor command");
    let until = Instant::now() + Duration::from_secs(60);
    while !file.exists() || std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) < 1_000 {
        assert!(Instant::now() < until, "no screendump from qemu");
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf);
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(1));
    let bytes = std::fs::read(file).expect("screendump file");
    let (width, height, rgb) = parse_ppm(&bytes);
    let pixels = rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    (width, height, pixels)
}

/// Width, height and RGB bytes of a binary PPM (P6, maxval 255).
fn parse_ppm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P6", "a binary PPM");
    assert_eq!(fields[3], "255");
    let width: usize = fields[1].parse().expect("width");
    let height: usize = fields[2].parse().expect("height");
    let pixels = bytes[at + 1..].to_vec();
    assert_eq!(pixels.len(), width * height * 3, "the picture's size");
    (width, height, pixels)
}

/// The most frequent colour of RGB pixels and its share.
fn dominant(pixels: &[[u8; 3]]) -> ([u8; 3], f64) {
    let mut counts = std::collections::HashMap::new();
    for p in pixels {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    let (colour, n) = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("a picture with pixels");
    (colour, n as f64 / pixels.len() as f64)
}

/// The share of `colour` among the pixels.
fn share(pixels: &[[u8; 3]], colour: [u8; 3]) -> f64 {
    pixels.iter().filter(|p| **p == colour).count() as f64 / pixels.len() as f64
}

/// The native kiosk's own picture `name` (`start-de`, software renderer), as the reference for
/// the colours.
fn reference_screen(dir: &Path, name: &str) -> Vec<[u8; 3]> {
    run(Command::new(harness::binary("kiosk"))
        .args(["screenshots", "--only", name, "--out"])
        .arg(dir));
    let file = std::fs::File::open(dir.join(format!("{name}.png"))).expect("the picture");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a picture of sane size")];
    let frame = reader.next_frame(&mut buffer).expect("the PNG's pixels");
    let step = frame.color_type.samples();
    buffer[..frame.buffer_size()]
        .chunks(step)
        .map(|c| [c[0], c[1], c[2]])
        .collect()
}

#[test]
fn the_image_boots_enrols_shows_the_kiosk_updates_and_rolls_a_broken_version_back() {
    require_tools();
    let cross_kiosk = workspace().join("target/aarch64-unknown-linux-gnu/debug/kiosk");
    let target = work_dir().parent().expect("target").to_path_buf();
    let cross_kiosk = if cross_kiosk.exists() {
        cross_kiosk
    } else {
        target.join("aarch64-unknown-linux-gnu/debug/kiosk")
    };
    assert!(
        cross_kiosk.exists(),
        "{} is missing: run images/cross/build kiosk",
        cross_kiosk.display()
    );
    let work = work_dir();
    std::fs::create_dir_all(&work).expect("work folder");
    let scratch = tempfile::tempdir().expect("scratch");
    let debs = scratch.path().join("debs");
    std::fs::create_dir_all(&debs).expect("debs folder");

    // The hub: the demo region, a certificate the guest can check, the release key.
    let hub_dir = scratch.path().join("hub");
    hub_certificate(&hub_dir);
    let keys = scratch.path().join("keys");
    run(Command::new(harness::binary("hub"))
        .args(["update", "keygen", "--out"])
        .arg(&keys));
    // The hub also answers NTP on the host's port 123 (10.0.2.2:123 to the guest), the time
    // source the image falls back to.
    let hub = harness::Hub::start_with(&hub_dir, &[("DORFPUNKT_HUB_NTP_LISTEN", "127.0.0.1:123")]);
    std::fs::copy(keys.join("update-key.pub"), hub_dir.join("update-key.pub")).expect("key");
    let code = hub.add_device("Kiosk im Test-Image", "Kneitlingen");
    let device = hub.one("SELECT id FROM devices ORDER BY rowid DESC LIMIT 1");

    // The packages: the first (in the image), the update, the broken one.
    let first = package(FIRST, &debs);
    let second = package(SECOND, &debs);
    let broken = broken_package(&second, BROKEN, &debs);
    release(&hub, &keys, &second, SECOND);
    release(&hub, &keys, &broken, BROKEN);

    // The image, with a shorter health window and quicker syncs and heartbeats for the test.
    let build = Instant::now();
    run(Command::new(workspace().join("images/kiosk-image/build"))
        .arg("--work")
        .arg(&work)
        .arg("--kiosk-deb")
        .arg(&first)
        .arg("--update-key")
        .arg(keys.join("update-key.pub"))
        .args(["--kiosk-env", &format!("KIOSK_UPDATE_HEALTH_S={HEALTH_S}")])
        .args(["--kiosk-args", "--sync-every-s 5 --heartbeat-every-s 10"]));
    eprintln!("image built in {:?}", build.elapsed());

    let hub_url = format!("https://10.0.2.2:{}", hub.port);
    let boot_test = workspace().join("images/kiosk-image/boot-test");
    let run_dir = work.join("boot-test");
    let console = run_dir.join("console.log");
    // qemu is stopped whatever happens below.
    struct Stop(PathBuf, PathBuf);
    impl Stop {
        fn now(&self) {
            let _ = Command::new(&self.0)
                .arg("stop")
                .arg("--work")
                .arg(&self.1)
                .output();
        }
    }
    impl Drop for Stop {
        fn drop(&mut self) {
            self.now();
        }
    }
    let stop = Stop(boot_test.clone(), work.clone());

    // A kiosk given the hub but no code: the service starts all the same and the setup screen
    // asks for the code. Told from the start screen by colour: the background is the same, the
    // start screen's blue tiles are missing.
    let setup_boot = Instant::now();
    let hub_ca = hub.cert();
    let hub_ca = hub_ca.to_str().expect("a UTF-8 path");
    start_guest(&boot_test, &work, &["--hub", &hub_url, "--hub-ca", hub_ca]);
    wait_for_console(
        &console,
        "not enrolled: the setup screen is up",
        Duration::from_secs(120),
        "no setup screen",
    );
    let setup_reference = reference_screen(scratch.path(), "setup-de");
    let start_reference = reference_screen(scratch.path(), "start-de");
    // Inside the first tile of the start screen, away from its text.
    let tile_blue = start_reference[170 * 1280 + 60];
    let (setup_colour, setup_share) = dominant(&setup_reference);
    // Drawn a moment after the log line (the emulated machine is slow): until the background
    // shows, for at most a minute.
    let until = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let (_, _, screen) = screendump(&run_dir.join("monitor.sock"), &run_dir.join("screen.ppm"));
        if dominant(&screen).0 == setup_colour || Instant::now() > until {
            break screen;
        }
        std::thread::sleep(Duration::from_secs(3));
    };
    let (screen_colour, screen_share) = dominant(&screen);
    eprintln!(
        "setup screen {:?} after qemu: main colour {screen_colour:?} on {:.0} % (reference \
         {setup_colour:?} on {:.0} %), tile blue {tile_blue:?} on {:.1} % (start screen {:.0} %)",
        setup_boot.elapsed(),
        screen_share * 100.0,
        setup_share * 100.0,
        share(&screen, tile_blue) * 100.0,
        share(&start_reference, tile_blue) * 100.0
    );
    assert_eq!(screen_colour, setup_colour, "the setup screen's background");
    assert!(
        (screen_share - setup_share).abs() < 0.15,
        "the setup screen's layout: {screen_share} against {setup_share}"
    );
    assert!(
        share(&start_reference, tile_blue) > 0.2,
        "the start screen's tiles are blue"
    );
    assert!(share(&screen, tile_blue) < 0.01, "not the start screen");
    assert_eq!(
        hub.one(&format!("SELECT status FROM devices WHERE id = '{device}'")),
        "pending",
        "no code, no enrolment"
    );
    stop.now();

    // First boot.
    let ssh_key = scratch.path().join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&ssh_key));
    let boot = Instant::now();
    let public_key = ssh_key.with_extension("pub");
    let started = start_guest(
        &boot_test,
        &work,
        &[
            "--hub",
            &hub_url,
            "--code",
            &code,
            "--ntp",
            "192.0.2.1",
            "--hub-ca",
            hub_ca,
            "--ssh-key",
            public_key.to_str().expect("a UTF-8 path"),
        ],
    );
    eprintln!("{started}");
    eprintln!("kiosk service started {:?} after qemu", boot.elapsed());

    // The heartbeat reaches the hub with the package's version.
    wait_for_hub(
        &hub,
        &format!("SELECT software_version FROM devices WHERE id = '{device}'"),
        FIRST,
        Duration::from_secs(300),
        &console,
    );
    eprintln!("first heartbeat {:?} after qemu", boot.elapsed());

    // The guest's clock is set from the hub: the NTP server named first does not answer (a
    // documentation address), so timesyncd moves on to the hub.
    wait_for_console(
        &console,
        "Contacted time server 10.0.2.2:123",
        Duration::from_secs(300),
        "timesyncd never reached the hub's NTP",
    );
    eprintln!("time from the hub {:?} after qemu", boot.elapsed());

    // Nothing wrote to the root partition (read-only), SSH works with the key only.
    let check = Command::new(&boot_test)
        .args(["check-root", "--work"])
        .arg(&work)
        .output()
        .expect("boot-test check-root");
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    let port: u16 = std::fs::read_to_string(run_dir.join("ssh.port"))
        .expect("ssh.port")
        .trim()
        .parse()
        .expect("port");
    assert!(
        root_read_only(&ssh_key, port, Duration::ZERO),
        "/ is not read-only"
    );
    let password = ssh_to_guest(port)
        .args(["-o", "PreferredAuthentications=password"])
        .args(["-o", "PubkeyAuthentication=no", "root@127.0.0.1", "true"])
        .output()
        .expect("ssh runs");
    assert!(!password.status.success(), "a password log-in was accepted");
    assert_eq!(
        ssh(&ssh_key, port, "systemctl is-active dorfpunkt-kiosk").trim(),
        "active"
    );

    // The start screen is on the display: the picture's main colour is the start screen's
    // background as the native kiosk draws it, and it is not a blank or a text console.
    let (width, height, screen) =
        screendump(&run_dir.join("monitor.sock"), &run_dir.join("screen.ppm"));
    let (screen_colour, screen_share) = dominant(&screen);
    let (reference_colour, reference_share) = dominant(&start_reference);
    eprintln!(
        "screen {width}x{height}: main colour {screen_colour:?} on {:.0} % (reference \
         {reference_colour:?} on {:.0} %)",
        screen_share * 100.0,
        reference_share * 100.0
    );
    assert_eq!((width, height), (1280, 800));
    assert_eq!(
        screen_colour, reference_colour,
        "the start screen's background"
    );
    assert!(
        (screen_share - reference_share).abs() < 0.15,
        "the start screen's layout: {screen_share} against {reference_share}"
    );

    // The update.
    let update = Instant::now();
    stage(&hub, &device, SECOND);
    wait_for_hub(
        &hub,
        &format!(
            "SELECT version || ' ' || status FROM device_updates WHERE device_id = '{device}'"
        ),
        &format!("{SECOND} healthy"),
        UPDATE_TIMEOUT,
        &console,
    );
    wait_for_hub(
        &hub,
        &format!("SELECT software_version FROM devices WHERE id = '{device}'"),
        SECOND,
        Duration::from_secs(120),
        &console,
    );
    eprintln!("update to {SECOND} healthy after {:?}", update.elapsed());
    assert_eq!(
        ssh(
            &ssh_key,
            port,
            "dpkg-query -W -f '${Version}' dorfpunkt-kiosk"
        )
        .trim(),
        SECOND
    );
    assert!(
        root_read_only(&ssh_key, port, Duration::from_secs(120)),
        "/ stayed writable after the update"
    );

    // The broken version, rolled back.
    let broken_at = Instant::now();
    stage(&hub, &device, BROKEN);
    wait_for_hub(
        &hub,
        &format!(
            "SELECT version || ' ' || status || ' ' || coalesce(previous_version, '') \
             FROM device_updates WHERE device_id = '{device}'"
        ),
        &format!("{BROKEN} rolled_back {SECOND}"),
        UPDATE_TIMEOUT + Duration::from_secs(HEALTH_S),
        &console,
    );
    eprintln!("{BROKEN} rolled back after {:?}", broken_at.elapsed());
    assert_eq!(
        ssh(
            &ssh_key,
            port,
            "dpkg-query -W -f '${Version}' dorfpunkt-kiosk"
        )
        .trim(),
        SECOND
    );
    assert_eq!(
        hub.one(&format!(
            "SELECT CAST(count(*) AS TEXT) FROM device_update_failures WHERE device_id = '{device}' \
             AND version = '{BROKEN}'"
        )),
        "1"
    );
    wait_for_hub(
        &hub,
        &format!("SELECT software_version FROM devices WHERE id = '{device}'"),
        SECOND,
        Duration::from_secs(120),
        &console,
    );
    assert!(
        root_read_only(&ssh_key, port, Duration::from_secs(120)),
        "/ stayed writable after the roll-back"
    );

    // Off, like pulling the plug; then from outside: the data partition holds the identity and
    // the enrolment code left the boot partition.
    let stopped = Command::new(&boot_test)
        .args(["stop", "--work"])
        .arg(&work)
        .output()
        .expect("boot-test stop");
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    let checked = Command::new(&boot_test)
        .args(["check-data", "--work"])
        .arg(&work)
        .output()
        .expect("boot-test check-data");
    assert!(
        checked.status.success(),
        "{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
}

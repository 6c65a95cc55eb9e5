//! The hub's Debian package for arm64 (the Raspberry Pi) installed into a fresh arm64 Debian
//! root: built with cargo-deb from the binary `images/cross/build hub` cross-compiled
//! (`images/packages/build --arch arm64 --no-build`), installed with dpkg into a clean arm64
//! bookworm root made by mmdebstrap (`images/packages/prepare-test-root --arch arm64`), where
//! dpkg, the maintainer scripts and the hub itself run under qemu-user through binfmt_misc; the
//! unit checked with `systemd-analyze verify`, the hub started as its system user, asked for
//! `/healthz` over TLS from this (amd64) test, stopped with SIGTERM, then removed and purged.
//! Needs root (chroot, mmdebstrap), cargo-deb, binutils-aarch64-linux-gnu, and qemu-user-static
//! with binfmt-support.

#[path = "packages/debian_root.rs"]
#[allow(dead_code)]
mod debian_root;

use std::path::{Path, PathBuf};
use std::process::Command;

use debian_root::{HUB, Root, applied, field, owner, profile_dir, run, text, workspace};
use hub::store::migrations::MIGRATIONS;

const TARGET: &str = "aarch64-unknown-linux-gnu";
/// The folder of the profile `images/cross/build` builds by default (dev).
const PROFILE_DIR: &str = "debug";
/// ELF `e_machine` of arm64.
const EM_AARCH64: u16 = 183;
/// What the hub's package may depend on: `$auto` (the C library today; libgcc's unwinder should
/// a Rust release link it) and the package's own Depends (adduser, ca-certificates).
const ALLOWED_DEPENDS: [&str; 4] = ["libc6", "libgcc-s1", "adduser", "ca-certificates"];

/// The arm64 hub `images/cross/build hub` left in the target folder.
fn cross_hub() -> PathBuf {
    let target = profile_dir().parent().expect("target folder").to_path_buf();
    let path = target.join(TARGET).join(PROFILE_DIR).join("hub");
    assert!(
        path.exists(),
        "{} is missing: run `images/cross/build hub` first (it cross-builds the hub for arm64; \
         tests/run does it before `cargo test`)",
        path.display()
    );
    path
}

/// `e_machine` of an ELF program (little-endian, as both of ours are).
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() >= 64 && bytes[..4] == *b"\x7fELF" && bytes[5] == 1,
        "{} is not a little-endian ELF file",
        path.display()
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// Builds the arm64 hub package at `version` into `out`. `images/packages/build` packages every
/// arm64 binary it finds, so it is shown a target folder holding the cross-built hub alone (a
/// link), not the kiosk `images/cross/build` may have made beside it.
fn build_hub_package(version: &str, out: &Path) -> PathBuf {
    let hub = cross_hub();
    let target = out.join("target");
    let bin_dir = target.join(TARGET).join(PROFILE_DIR);
    std::fs::create_dir_all(&bin_dir).expect("staging target folder");
    std::os::unix::fs::symlink(&hub, bin_dir.join("hub")).expect("link the arm64 hub");
    let output = run(Command::new(workspace().join("images/packages/build"))
        .env("CARGO_TARGET_DIR", &target)
        .args(["--no-build", "--fast", "--arch", "arm64"])
        .args(["--profile", "dev", "--deb-version", version, "--out"])
        .arg(out));
    let made: Vec<PathBuf> = text(&output.stdout).lines().map(PathBuf::from).collect();
    assert_eq!(made.len(), 1, "one package, the hub's: {made:?}");
    let deb = made[0].clone();
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .expect("package file name");
    assert_eq!(name, format!("{HUB}_{version}_arm64.deb"));
    deb
}

#[test]
fn arm64_hub_package_installs_and_serves_in_an_emulated_debian_root() {
    let hub_binary = cross_hub();
    assert_eq!(
        elf_machine(&hub_binary),
        EM_AARCH64,
        "{} is not an arm64 program",
        hub_binary.display()
    );
    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    let debs = tempfile::tempdir().unwrap();
    let deb = build_hub_package(&version, debs.path());

    // The control file: an arm64 package whose needs an arm64 Debian has.
    assert_eq!(field(&deb, "Package"), HUB);
    assert_eq!(field(&deb, "Version"), version);
    assert_eq!(field(&deb, "Architecture"), "arm64");
    let depends = field(&deb, "Depends");
    let names: Vec<&str> = depends
        .split(',')
        .map(|d| d.split_whitespace().next().expect("a package name"))
        .collect();
    for need in ["libc6", "adduser", "ca-certificates"] {
        assert!(names.contains(&need), "Depends: {depends}");
    }
    for name in &names {
        assert!(
            ALLOWED_DEPENDS.contains(name),
            "unexpected dependency {name} (an architecture-qualified or stray library?): \
             {depends}"
        );
    }

    let root = Root::of_arch("arm64");
    let arch = text(&run(&mut root.chroot(&["dpkg", "--print-architecture"])).stdout);
    assert_eq!(arch.trim(), "arm64", "the root's dpkg (itself emulated)");
    let installed = root.install(&[&deb]);

    // The packaged program is the arm64 one: whatever runs below runs emulated.
    assert_eq!(elf_machine(&root.path("usr/bin/hub")), EM_AARCH64);
    assert_eq!(owner(&root.path("usr/bin/hub")).2, 0o755);

    // The unit passes systemd's own check against the root and is enabled.
    let unit = ["lib/systemd/system", "usr/lib/systemd/system"]
        .iter()
        .map(|dir| root.path(&format!("{dir}/{HUB}.service")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{HUB}.service is not installed"));
    let verified = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.dir.path().display()))
        .arg(&unit));
    assert!(
        verified.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&verified.stderr)
    );
    assert!(
        root.path(&format!(
            "etc/systemd/system/multi-user.target.wants/{HUB}.service"
        ))
        .symlink_metadata()
        .is_ok(),
        "{HUB}.service is not enabled"
    );

    // The emulated postinst made the system user and its data folder, and migrated the database
    // as that user.
    let (hub_uid, hub_gid, home, shell) = root.user(HUB);
    assert_eq!(home, "/var/lib/dorfpunkt-hub");
    assert_eq!(shell, "/usr/sbin/nologin");
    assert!(hub_uid < 1000, "a system user: uid {hub_uid}");
    assert_eq!(
        owner(&root.path("var/lib/dorfpunkt-hub")),
        (hub_uid, hub_gid, 0o750)
    );
    // The emulated hub starts as its user with the packaged configuration, answers over TLS, and
    // stops gracefully on SIGTERM.
    debian_root::hub_migrated_serves_and_stops(&root, hub_uid, &installed);

    // The emulated prerm and postrm: purge removes the configuration and keeps the data.
    let purged = run(&mut root.chroot(&["dpkg", "--purge", HUB]));
    assert!(!root.path("usr/bin/hub").exists());
    assert!(!root.path("etc/dorfpunkt/hub.toml").exists());
    assert!(
        text(&purged.stderr).contains("/var/lib/dorfpunkt-hub (database, keys, backups) was kept"),
        "{}",
        text(&purged.stderr)
    );
    let db = root.path("var/lib/dorfpunkt-hub/hub.db");
    assert_eq!(applied(&db).len(), MIGRATIONS.len());
}

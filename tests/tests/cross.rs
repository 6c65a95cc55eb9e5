//! The kiosk cross-built for arm64 by `images/cross/build` (the Raspberry Pi build): an aarch64
//! program that starts under qemu-user and draws its start screen with the software renderer,
//! pixel for pixel as the native x86-64 kiosk draws it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TARGET: &str = "aarch64-unknown-linux-gnu";
/// The folder of the profile `images/cross/build` builds by default (dev).
const PROFILE_DIR: &str = "debug";
/// The C library and loader of Debian's arm64 cross toolchain (libc6-arm64-cross).
const QEMU_PREFIX: &str = "/usr/aarch64-linux-gnu";
/// ELF machine numbers (`e_machine`).
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
/// The start screen in German and in Arabic (shaped, right to left): the pictures compared.
const PICTURES: [&str; 2] = ["start-de", "start-ar"];
/// Pixels that may differ between the two architectures (0.1 % of 1280 x 800): room for a last
/// bit of a C library's maths in anti-aliased edges, not for a missing word or button.
const MAX_DIFFERENT_PIXELS: usize = 1024;
/// Emulated and unoptimised, the two pictures take about 20 s here.
const QEMU_DEADLINE: Duration = Duration::from_secs(300);

/// The workspace's target folder, from this test's own executable
/// (`<target>/<profile>/deps/cross-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.ancestors()
        .nth(3)
        .expect("the target folder above <profile>/deps")
        .to_path_buf()
}

/// The arm64 kiosk `images/cross/build` leaves in the target folder.
fn cross_kiosk() -> PathBuf {
    let path = target_dir().join(TARGET).join(PROFILE_DIR).join("kiosk");
    assert!(
        path.exists(),
        "{} is missing: run images/cross/build (it cross-builds the kiosk for arm64; see \
         images/README.md)",
        path.display()
    );
    path
}

/// The native kiosk, built by `cargo test --workspace` next to this test's `deps` folder.
fn native_kiosk() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let path = exe
        .ancestors()
        .nth(2)
        .expect("the profile folder above deps")
        .join("kiosk");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (README), which builds it",
        path.display()
    );
    path
}

/// The parts of an ELF header this test checks.
#[derive(Debug, PartialEq, Eq)]
struct Elf {
    /// ELFCLASS64.
    bits64: bool,
    little_endian: bool,
    machine: u16,
}

/// Reads the ELF identification and `e_machine` (bytes 18 and 19) of a program.
fn elf_header(path: &Path) -> Elf {
    let bytes = std::fs::read(path).expect("read the program");
    assert!(
        bytes.len() >= 64 && bytes[..4] == *b"\x7fELF",
        "{} is not an ELF file",
        path.display()
    );
    let little_endian = bytes[5] == 1;
    let machine = [bytes[18], bytes[19]];
    Elf {
        bits64: bytes[4] == 2,
        little_endian,
        machine: if little_endian {
            u16::from_le_bytes(machine)
        } else {
            u16::from_be_bytes(machine)
        },
    }
}

/// Runs a command to its end, or kills it after `deadline`.
fn run_bounded(mut command: Command, deadline: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for the program").is_some() {
            return child.wait_with_output().expect("the program's output");
        }
        if started.elapsed() > deadline {
            child.kill().expect("kill the program");
            let output = child.wait_with_output().expect("the program's output");
            panic!(
                "{command:?} did not finish within {deadline:?}; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The arm64 kiosk under qemu-user, its loader and C library from the cross toolchain.
fn under_qemu(kiosk: &Path) -> Command {
    let qemu = Command::new("qemu-aarch64").arg("--version").output();
    assert!(
        qemu.is_ok_and(|o| o.status.success()),
        "qemu-aarch64 is missing: install Debian's qemu-user"
    );
    let mut command = Command::new("qemu-aarch64");
    command.arg("-L").arg(QEMU_PREFIX).arg(kiosk);
    command
}

/// `kiosk screenshots --only <picture>…` into `out`; returns the files it printed.
fn draw_start_screens(mut kiosk: Command, out: &Path) -> Vec<PathBuf> {
    kiosk.arg("screenshots").arg("--out").arg(out);
    for picture in PICTURES {
        kiosk.arg("--only").arg(picture);
    }
    let output = run_bounded(kiosk, QEMU_DEADLINE);
    assert!(
        output.status.success(),
        "kiosk screenshots failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// A PNG's size and its pixels as RGB.
fn read_rgb(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::fs::File::open(path).expect("open the picture");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a picture of sane size")];
    let frame = reader.next_frame(&mut buffer).expect("the PNG's pixels");
    assert_eq!(
        (frame.color_type, frame.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight),
        "{} is not 8-bit RGB",
        path.display()
    );
    let pixels = buffer[..frame.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (frame.width, frame.height, pixels)
}

/// The share of the picture its most frequent colour covers, and how many colours it has.
fn colour_spread(pixels: &[[u8; 3]]) -> (f64, usize) {
    let mut counts = std::collections::HashMap::new();
    for p in pixels {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    (most as f64 / pixels.len().max(1) as f64, counts.len())
}

#[test]
fn arm64_kiosk_is_an_aarch64_program_and_draws_the_start_screen_as_the_native_one_does() {
    let cross = cross_kiosk();
    let native = native_kiosk();
    assert_eq!(
        elf_header(&cross),
        Elf {
            bits64: true,
            little_endian: true,
            machine: EM_AARCH64
        },
        "{} is not a 64-bit little-endian aarch64 program",
        cross.display()
    );
    assert_eq!(
        elf_header(&native).machine,
        EM_X86_64,
        "the native kiosk is the x86-64 side of the comparison"
    );

    // It starts: the same version line as the native build.
    let version = |mut kiosk: Command| {
        kiosk.arg("version");
        let output = run_bounded(kiosk, QEMU_DEADLINE);
        assert!(output.status.success(), "kiosk version: {output:?}");
        String::from_utf8(output.stdout).expect("UTF-8 version line")
    };
    let emulated = version(under_qemu(&cross));
    assert!(emulated.starts_with("kiosk "), "{emulated:?}");
    assert_eq!(
        emulated,
        version(Command::new(&native)),
        "the arm64 kiosk is another version: run images/cross/build again"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let arm64 = draw_start_screens(under_qemu(&cross), &dir.path().join("arm64"));
    let x86 = draw_start_screens(Command::new(&native), &dir.path().join("x86_64"));
    assert_eq!(
        arm64.len(),
        PICTURES.len(),
        "pictures drawn under qemu: {arm64:?}"
    );
    assert_eq!(
        x86.len(),
        PICTURES.len(),
        "pictures drawn natively: {x86:?}"
    );

    for (picture, (arm64, x86)) in PICTURES.iter().zip(arm64.iter().zip(&x86)) {
        assert_eq!(
            arm64.file_name(),
            Some(format!("{picture}.png").as_ref()),
            "{arm64:?}"
        );
        let (width, height, emulated) = read_rgb(arm64);
        let (native_width, native_height, native) = read_rgb(x86);
        assert_eq!(
            (width, height),
            (1280, 800),
            "{picture}: the kiosk's screen size"
        );
        assert_eq!((width, height), (native_width, native_height), "{picture}");

        // Not blank: the start screen has a background, buttons and anti-aliased text.
        let (most, colours) = colour_spread(&emulated);
        assert!(
            most < 0.8 && colours >= 16,
            "{picture} under qemu looks blank: one colour covers {:.0} %, {colours} colours",
            most * 100.0
        );

        let different = emulated.iter().zip(&native).filter(|(a, b)| a != b).count();
        assert!(
            different <= MAX_DIFFERENT_PIXELS,
            "{picture}: {different} of {} pixels differ between arm64 (qemu) and x86-64 (at most \
             {MAX_DIFFERENT_PIXELS}); if the kiosk changed, run images/cross/build again",
            emulated.len()
        );
    }
}

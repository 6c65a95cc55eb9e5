//! Start-up bench of the kiosk's screen: the time from starting the program to its start screen
//! on the display, and the memory it takes (peak RSS of the process and all its children), for
//! the Slint kiosk (`kiosk run --screen on`) and for the same start screen as a web page
//! (`tests/bench/start.html`) in Chromium's kiosk mode, measured the same way.
//!
//! Both draw on a private Xvfb display (1280x800). The bench looks at the display every
//! `--poll-ms` with `xwd` until the pixel inside the first tile has the tile's blue; that moment
//! counts as the first frame (so the figure is at most one poll late). Memory is the sum of
//! RSS over the process tree, sampled at the same polls until `--settle-s` after the first
//! frame; the largest sum counts. PSS (shared pages divided among the processes using them) is
//! reported beside it, because Chromium's many processes share libraries that RSS counts again
//! in each. One warm-up run of each is not counted (disk cache).
//!
//! The kiosk needs an enrolment: the bench serves the demo region with `hub demo --with-kiosk`
//! (without a display, so that kiosk runs without its screen), copies the identity it made, syncs
//! the copy once and measures that kiosk against the running hub, as a kiosk starts in the field.
//!
//! ```sh
//! cargo build --release -p hub -p kiosk -p tests
//! target/release/kiosk-start --runs 5
//! ```
//! Needs Debian's `xvfb`, `x11-apps` (xwd) and `chromium`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The first tile's blue (Palette.tile) and a point inside the first tile.
const TILE: [u8; 3] = [0x0b, 0x3b, 0x75];
const PROBE: (usize, usize) = (60, 170);

struct Options {
    runs: usize,
    poll: Duration,
    settle: Duration,
    chromium: String,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        runs: 5,
        poll: Duration::from_millis(20),
        settle: Duration::from_secs(3),
        chromium: "chromium".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("a value after the option");
        match arg.as_str() {
            "--runs" => o.runs = value()?.parse()?,
            "--poll-ms" => o.poll = Duration::from_millis(value()?.parse()?),
            "--settle-s" => o.settle = Duration::from_secs(value()?.parse()?),
            "--chromium" => o.chromium = value()?,
            other => bail!("unknown option {other}; see the source's header"),
        }
    }
    Ok(o)
}

/// A program built beside this bench (`target/release/`).
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("bench directory")?.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: cargo build --release -p hub -p kiosk",
            path.display()
        );
    }
    Ok(path)
}

/// Ends a process tree: SIGTERM to everything, then SIGKILL to what is left.
fn end(child: &mut Child) {
    let tree = tree(child.id());
    for pid in &tree {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in tree {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let _ = child.wait();
}

/// `root` and all its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The parent is the second field after the command, which is in parentheses.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found
}

/// The sums of RSS and of PSS (shared pages divided among their users) over the tree, in KiB.
/// RSS counts a library shared by several processes once per process; PSS counts it once.
fn memory_kib(root: u32) -> (u64, u64) {
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tree(root)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .map(|s| (field(&s, "Rss:"), field(&s, "Pss:")))
        .fold((0, 0), |(r, p), (r2, p2)| (r + r2, p + p2))
}

/// The colour of the display's pixel at `at`, read with `xwd`.
fn pixel(display: &str, at: (usize, usize)) -> Option<[u8; 3]> {
    let out = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .output()
        .ok()?;
    let data = out.stdout;
    let field = |i: usize| -> Option<u32> {
        let b = data.get(i * 4..i * 4 + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (header, byte_order, bpp, line) = (field(0)?, field(7)?, field(11)?, field(12)?);
    let (red, green, blue, colours) = (field(14)?, field(15)?, field(16)?, field(19)?);
    if bpp != 32 {
        return None;
    }
    let start = header as usize + colours as usize * 12 + at.1 * line as usize + at.0 * 4;
    let b = data.get(start..start + 4)?;
    let word = if byte_order == 0 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    } else {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    };
    let channel = |mask: u32| ((word & mask) >> mask.trailing_zeros()) as u8;
    Some([channel(red), channel(green), channel(blue)])
}

/// One measured start: the first frame after the spawn, and the peak memory until `settle` after
/// it.
struct Start {
    first_frame: Duration,
    peak_kib: u64,
    peak_pss_kib: u64,
}

fn measure(mut command: Command, display: &str, o: &Options) -> anyhow::Result<Start> {
    let t0 = Instant::now();
    let mut child = command
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the program")?;
    let mut first = None;
    let (mut peak, mut peak_pss) = (0, 0);
    let deadline = t0 + Duration::from_secs(60);
    loop {
        let (rss, pss) = memory_kib(child.id());
        peak = peak.max(rss);
        peak_pss = peak_pss.max(pss);
        if first.is_none() && pixel(display, PROBE) == Some(TILE) {
            first = Some(t0.elapsed());
        }
        if let Some(f) = first
            && t0.elapsed() > f + o.settle
        {
            break;
        }
        if Instant::now() > deadline {
            end(&mut child);
            bail!("no start screen within a minute");
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("the program ended early: {status}");
        }
        std::thread::sleep(o.poll);
    }
    end(&mut child);
    // The screen is empty again before the next run starts.
    let until = Instant::now() + Duration::from_secs(10);
    while pixel(display, PROBE) == Some(TILE) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Start {
        first_frame: first.context("no first frame")?,
        peak_kib: peak,
        peak_pss_kib: peak_pss,
    })
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn report(name: &str, starts: &[Start]) {
    let frames: Vec<Duration> = starts.iter().map(|s| s.first_frame).collect();
    let peaks: Vec<u64> = starts.iter().map(|s| s.peak_kib).collect();
    let (min, max) = (
        frames.iter().min().copied().unwrap_or_default(),
        frames.iter().max().copied().unwrap_or_default(),
    );
    let pss: Vec<u64> = starts.iter().map(|s| s.peak_pss_kib).collect();
    println!(
        "{name}: first frame median {} ms (min {} ms, max {} ms), peak RSS median {:.1} MiB (max {:.1} MiB), peak PSS median {:.1} MiB, {} runs",
        median(frames.clone()).as_millis(),
        min.as_millis(),
        max.as_millis(),
        median(peaks.clone()) as f64 / 1024.0,
        peaks.iter().max().copied().unwrap_or_default() as f64 / 1024.0,
        median(pss) as f64 / 1024.0,
        starts.len()
    );
}

/// A hub serving the demo region from `dir` with its kiosk enrolled; waits for the enrolment.
fn demo_hub(dir: &Path) -> anyhow::Result<Child> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut hub = Command::new(sibling("hub")?)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("DORFPUNKT_LOG", "warn")
        .env("KIOSK_LOG", "warn")
        .args([
            "demo",
            "--with-kiosk",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the hub")?;
    let stdout = hub.stdout.take().context("hub output")?;
    // Read to the end on a thread of its own, so the hub never writes into a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("demo kiosk") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .context("the hub did not start its kiosk")?;
    let identity = dir.join("kiosk/identity.json");
    let until = Instant::now() + Duration::from_secs(60);
    while !identity.is_file() {
        if Instant::now() > until {
            bail!("the demo kiosk did not enrol");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(hub)
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let root = std::env::temp_dir().join(format!("kiosk-start-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let display = format!(":{}", 90 + std::process::id() % 9);
    let mut xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting Xvfb (Debian: xvfb)")?;
    std::thread::sleep(Duration::from_secs(1));

    let result = (|| -> anyhow::Result<()> {
        let mut hub = demo_hub(&root.join("hub"))?;
        let kiosk_dir = root.join("kiosk");
        std::fs::create_dir_all(&kiosk_dir)?;
        std::fs::copy(
            root.join("hub/kiosk/identity.json"),
            kiosk_dir.join("identity.json"),
        )?;
        let synced = Command::new(sibling("kiosk")?)
            .args(["sync", "--data-dir"])
            .arg(&kiosk_dir)
            .stdout(Stdio::null())
            .status()?;
        if !synced.success() {
            bail!("the kiosk copy did not sync");
        }
        let kiosk = || -> anyhow::Result<Command> {
            let mut c = Command::new(sibling("kiosk")?);
            c.env("KIOSK_LOG", "warn")
                .args(["run", "--screen", "on", "--data-dir"])
                .arg(&kiosk_dir);
            Ok(c)
        };
        let page =
            std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/start.html"))?;
        let profile = root.join("chromium-profile");
        let chromium = || {
            let mut c = Command::new(&o.chromium);
            c.args([
                "--kiosk",
                "--no-sandbox",
                "--no-first-run",
                "--disable-gpu",
                "--password-store=basic",
                "--window-size=1280,800",
                "--window-position=0,0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("file://{}", page.display()));
            c
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for run in 0..=o.runs {
            let k = measure(kiosk()?, &display, &o)?;
            let c = measure(chromium(), &display, &o)?;
            eprintln!(
                "run {run}{}: kiosk {} ms {} KiB, chromium {} ms {} KiB",
                if run == 0 { " (warm-up)" } else { "" },
                k.first_frame.as_millis(),
                k.peak_kib,
                c.first_frame.as_millis(),
                c.peak_kib
            );
            if run > 0 {
                ours.push(k);
                theirs.push(c);
            }
        }
        report("kiosk (Slint, software renderer, winit on X11)", &ours);
        report("Chromium --kiosk, the same start screen as HTML", &theirs);
        end(&mut hub);
        Ok(())
    })();
    end(&mut xvfb);
    let _ = std::fs::remove_dir_all(&root);
    result
}

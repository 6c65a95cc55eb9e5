//! Checks that keep the project's promises to a new user true: the README's two quick-start
//! commands exist, CI runs exactly the README's test command, and the workspace layout is the
//! one the design card names.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The commands in the README's quick-start code block.
fn quick_start() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let block = section
        .split("```")
        .nth(1)
        .expect("a code block in Quick start");
    block
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_quick_start_is_two_commands_and_ci_runs_the_second() {
    let commands = quick_start();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands[0].contains("demo"),
        "the first command runs the demo: {}",
        commands[0]
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let ci_commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('#') && !l.starts_with("set ") && !l.starts_with("cd ")
        })
        .collect();
    assert_eq!(
        ci_commands,
        vec![commands[1].as_str()],
        ".ci/run must run exactly the README's test command"
    );
    let script = commands[1].split_whitespace().next().expect("a command");
    assert!(root().join(script).is_file(), "{script} exists");
}

#[test]
fn the_design_card_layout_is_there() {
    for entry in [
        "Cargo.toml",
        "kiosk",
        "hub",
        "hardware",
        "images",
        "migrations",
        "tests",
        "README.md",
        "ARCHITECTURE.md",
        "LICENSE",
        "migrations/hub",
        "migrations/kiosk",
    ] {
        assert!(root().join(entry).exists(), "{entry} missing");
    }
    let license = std::fs::read_to_string(root().join("LICENSE")).expect("LICENSE");
    assert!(license.contains("GNU GENERAL PUBLIC LICENSE") && license.contains("Version 3"));
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    assert!(manifest.contains("license = \"GPL-3.0-or-later\""));
}

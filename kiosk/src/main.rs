//! The kiosk appliance binary. The local store and the sync client live in the library
//! (`kiosk::store`, `kiosk::sync`); the touch UI arrives with the kiosk issues. Today the binary
//! reports the contract version it speaks, which packaging and support use.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kiosk", version, about = "Dorfpunkt village kiosk")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the software version and the kiosk-hub contract version.
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("{}", version_line()),
    }
    Ok(())
}

fn version_line() -> String {
    format!(
        "kiosk {} protocol v{}",
        env!("CARGO_PKG_VERSION"),
        protocol::API_VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_line_names_the_protocol() {
        assert!(version_line().ends_with(&format!("protocol v{}", protocol::API_VERSION)));
    }
}

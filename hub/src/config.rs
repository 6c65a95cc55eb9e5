//! Hub configuration: built-in defaults, then a TOML file, then environment variables
//! (`DORFPUNKT_HUB_*`), then command-line flags; later sources win.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything the hub needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Holds `hub.db`, the TLS material and the first administrator's credentials.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// PEM certificate chain and key; when absent, a self-signed one for localhost is made.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted.
    pub body_limit_bytes: usize,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// How often the hub looks for a due evening re-optimisation, seconds; 0 turns it off.
    pub planning_check_seconds: u64,
    /// The SMTP server for e-mail to caregivers (reminders); none turns e-mail off. The password
    /// never sits here: it comes from `smtp_password_file` or `DORFPUNKT_HUB_SMTP_PASSWORD`.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// The sender address, e.g. `Dorfpunkt <erinnerung@example.org>`; needed with `smtp_host`.
    pub smtp_from: Option<String>,
    /// Whether to insist on STARTTLS (off only for a relay on the same machine).
    pub smtp_starttls: bool,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    /// A PEM certificate to trust for STARTTLS besides the system's (a relay with its own CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// How often the hub makes and sends due reminders, seconds; 0 turns it off.
    pub reminder_check_seconds: u64,
    /// Where the SNTP server answers kiosks' time requests (`ntp`); none (the default) turns it
    /// off. Port 123 needs CAP_NET_BIND_SERVICE.
    pub ntp_listen: Option<SocketAddr>,
    /// The stratum the SNTP server announces, 1..=15: 3 assumes the hub's host is kept by its
    /// own NTP client from stratum 2 servers.
    pub ntp_stratum: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/dorfpunkt-hub"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls_cert: None,
            tls_key: None,
            body_limit_bytes: 64 * 1024,
            log_format: "text".into(),
            planning_check_seconds: 60,
            smtp_host: None,
            smtp_port: 587,
            smtp_from: None,
            smtp_starttls: true,
            smtp_username: None,
            smtp_password_file: None,
            smtp_ca_file: None,
            reminder_check_seconds: 60,
            ntp_listen: None,
            ntp_stratum: 3,
        }
    }
}

/// The file form: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    body_limit_bytes: Option<usize>,
    log_format: Option<String>,
    planning_check_seconds: Option<u64>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_from: Option<String>,
    smtp_starttls: Option<bool>,
    smtp_username: Option<String>,
    smtp_password_file: Option<PathBuf>,
    smtp_ca_file: Option<PathBuf>,
    reminder_check_seconds: Option<u64>,
    ntp_listen: Option<SocketAddr>,
    ntp_stratum: Option<u8>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults overlaid with `file` (if given) and the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let parsed: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            config.apply(parsed);
        }
        let var = |name: &str| env(&format!("DORFPUNKT_HUB_{name}"));
        let parse_env = |name: &str, value: String| -> Result<FileConfig, ConfigError> {
            let key = name.to_ascii_lowercase();
            let toml_text = match key.as_str() {
                "body_limit_bytes"
                | "planning_check_seconds"
                | "smtp_port"
                | "smtp_starttls"
                | "reminder_check_seconds"
                | "ntp_stratum" => format!("{key} = {value}"),
                _ => format!("{key} = {}", toml_string(&value)),
            };
            toml::from_str(&toml_text).map_err(|e| ConfigError::Env {
                name: format!("DORFPUNKT_HUB_{name}"),
                message: e.message().to_string(),
            })
        };
        for name in [
            "DATA_DIR",
            "LISTEN",
            "TLS_CERT",
            "TLS_KEY",
            "BODY_LIMIT_BYTES",
            "LOG_FORMAT",
            "PLANNING_CHECK_SECONDS",
            "SMTP_HOST",
            "SMTP_PORT",
            "SMTP_FROM",
            "SMTP_STARTTLS",
            "SMTP_USERNAME",
            "SMTP_PASSWORD_FILE",
            "SMTP_CA_FILE",
            "REMINDER_CHECK_SECONDS",
            "NTP_LISTEN",
            "NTP_STRATUM",
        ] {
            if let Some(value) = var(name) {
                config.apply(parse_env(name, value)?);
            }
        }
        config.check()?;
        Ok(config)
    }

    fn apply(&mut self, f: FileConfig) {
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if f.tls_cert.is_some() {
            self.tls_cert = f.tls_cert;
        }
        if f.tls_key.is_some() {
            self.tls_key = f.tls_key;
        }
        if let Some(v) = f.body_limit_bytes {
            self.body_limit_bytes = v;
        }
        if let Some(v) = f.log_format {
            self.log_format = v;
        }
        if let Some(v) = f.planning_check_seconds {
            self.planning_check_seconds = v;
        }
        self.apply_smtp(
            f.smtp_host,
            f.smtp_from,
            f.smtp_username,
            f.smtp_password_file,
        );
        if f.smtp_ca_file.is_some() {
            self.smtp_ca_file = f.smtp_ca_file;
        }
        if let Some(v) = f.smtp_port {
            self.smtp_port = v;
        }
        if let Some(v) = f.smtp_starttls {
            self.smtp_starttls = v;
        }
        if let Some(v) = f.reminder_check_seconds {
            self.reminder_check_seconds = v;
        }
        if f.ntp_listen.is_some() {
            self.ntp_listen = f.ntp_listen;
        }
        if let Some(v) = f.ntp_stratum {
            self.ntp_stratum = v;
        }
    }

    /// The optional SMTP texts: a given one replaces the one before.
    fn apply_smtp(
        &mut self,
        host: Option<String>,
        from: Option<String>,
        username: Option<String>,
        password_file: Option<PathBuf>,
    ) {
        self.smtp_host = host.or(self.smtp_host.take());
        self.smtp_from = from.or(self.smtp_from.take());
        self.smtp_username = username.or(self.smtp_username.take());
        self.smtp_password_file = password_file.or(self.smtp_password_file.take());
    }

    /// Checks combinations no single key can.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key go together".into(),
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.body_limit_bytes) {
            return Err(ConfigError::Invalid(
                "body_limit_bytes must lie between 1 KiB and 16 MiB".into(),
            ));
        }
        if !["text", "json"].contains(&self.log_format.as_str()) {
            return Err(ConfigError::Invalid("log_format is text or json".into()));
        }
        if self.planning_check_seconds > 3600 {
            return Err(ConfigError::Invalid(
                "planning_check_seconds must lie between 0 (off) and 3600".into(),
            ));
        }
        if self.smtp_host.is_some() && (self.smtp_from.is_none() || self.smtp_port == 0) {
            return Err(ConfigError::Invalid(
                "smtp_host needs smtp_from and a smtp_port above 0".into(),
            ));
        }
        if self.reminder_check_seconds > 3600 {
            return Err(ConfigError::Invalid(
                "reminder_check_seconds must lie between 0 (off) and 3600".into(),
            ));
        }
        if !(1..=15).contains(&self.ntp_stratum) {
            return Err(ConfigError::Invalid(
                "ntp_stratum must lie between 1 and 15 (0 and 16 mean unsynchronised)".into(),
            ));
        }
        Ok(())
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("hub.db")
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nbody_limit_bytes = 2048\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), |name| {
            (name == "DORFPUNKT_HUB_DATA_DIR").then(|| "/tmp/x".to_string())
        })
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.body_limit_bytes, 2048);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_configuration_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, "listn = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), |_| None).unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
        let err = Config::load(None, |n| {
            (n == "DORFPUNKT_HUB_LISTEN").then(|| "nowhere".into())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("DORFPUNKT_HUB_LISTEN"), "{err}");
        let err = Config::load(None, |n| {
            (n == "DORFPUNKT_HUB_TLS_CERT").then(|| "/c.pem".into())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("go together"), "{err}");
    }

    #[test]
    fn ntp_is_off_unless_configured() {
        let config = Config::load(None, |_| None).unwrap();
        assert_eq!(config.ntp_listen, None);
        assert_eq!(config.ntp_stratum, 3);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, "ntp_listen = \"0.0.0.0:123\"\nntp_stratum = 2\n").unwrap();
        let config = Config::load(Some(&file), |_| None).unwrap();
        assert_eq!(config.ntp_listen, Some("0.0.0.0:123".parse().unwrap()));
        assert_eq!(config.ntp_stratum, 2);

        // The environment wins over the file.
        let config = Config::load(Some(&file), |name| match name {
            "DORFPUNKT_HUB_NTP_LISTEN" => Some("127.0.0.1:1123".into()),
            "DORFPUNKT_HUB_NTP_STRATUM" => Some("4".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.ntp_listen, Some("127.0.0.1:1123".parse().unwrap()));
        assert_eq!(config.ntp_stratum, 4);
    }

    #[test]
    fn bad_ntp_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        for (text, expected) in [
            ("ntp_listen = 123\n", "ntp_listen"),
            ("ntp_listen = \"hub:123\"\n", "ntp_listen"),
            ("ntp_stratum = \"3\"\n", "ntp_stratum"),
            ("ntp_stratum = 300\n", "ntp_stratum"),
            ("ntp_stratum = 0\n", "between 1 and 15"),
            ("ntp_stratum = 16\n", "between 1 and 15"),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = Config::load(Some(&file), |_| None).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        for (name, value, expected) in [
            (
                "DORFPUNKT_HUB_NTP_LISTEN",
                "nowhere",
                "DORFPUNKT_HUB_NTP_LISTEN",
            ),
            (
                "DORFPUNKT_HUB_NTP_STRATUM",
                "three",
                "DORFPUNKT_HUB_NTP_STRATUM",
            ),
            (
                "DORFPUNKT_HUB_NTP_STRATUM",
                "-1",
                "DORFPUNKT_HUB_NTP_STRATUM",
            ),
            ("DORFPUNKT_HUB_NTP_STRATUM", "0", "between 1 and 15"),
            ("DORFPUNKT_HUB_NTP_STRATUM", "16", "between 1 and 15"),
        ] {
            let err = Config::load(None, |n| (n == name).then(|| value.to_string()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{name}={value}: {err}");
        }
    }
}

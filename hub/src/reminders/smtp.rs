//! Sending one e-mail: the `Mailer` seam the outbox talks to, and its SMTP form with lettre
//! (STARTTLS over rustls with ring, the system's trusted certificates). Tests point it at a real
//! SMTP server on loopback, or at a port where nothing listens.

use std::future::Future;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// How long one SMTP conversation may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(20);

/// One plain-text message to one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Why a message did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailError {
    /// Trying again cannot help (the address is not an address).
    pub permanent: bool,
    pub text: String,
}

/// Something that delivers mail: SMTP in the hub, anything else in a test.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// Mail over SMTP as configured (`smtp_*` keys of the hub configuration).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// The configured mailer; `Ok(None)` when no SMTP server is configured. The password comes
    /// from `smtp_password_file`, else from `DORFPUNKT_HUB_SMTP_PASSWORD`.
    pub fn from_config(config: &Config) -> Result<Option<SmtpMailer>, String> {
        let Some(host) = config.smtp_host.as_deref() else {
            return Ok(None);
        };
        let from = config
            .smtp_from
            .as_deref()
            .ok_or("smtp_from is missing")?
            .parse::<Mailbox>()
            .map_err(|e| format!("smtp_from: {e}"))?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
        let builder = if config.smtp_starttls {
            builder.tls(Tls::Required(tls_parameters(host, config)?))
        } else {
            builder
        };
        let mut builder = builder.port(config.smtp_port).timeout(Some(TIMEOUT));
        if let Some(user) = &config.smtp_username {
            builder = builder.credentials(Credentials::new(user.clone(), password(config)?));
        }
        Ok(Some(SmtpMailer {
            transport: builder.build(),
            from,
        }))
    }
}

/// STARTTLS required, the server's certificate checked against the system's trusted roots and
/// `smtp_ca_file`, for the name `host`.
fn tls_parameters(host: &str, config: &Config) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &config.smtp_ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("smtp_ca_file {}: {e}", path.display()))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| format!("smtp_ca_file {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| format!("smtp_host {host}: {e}"))
}

fn password(config: &Config) -> Result<String, String> {
    match &config.smtp_password_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| format!("smtp_password_file {}: {e}", path.display())),
        None => std::env::var("DORFPUNKT_HUB_SMTP_PASSWORD").map_err(|_| {
            "smtp_username needs smtp_password_file or DORFPUNKT_HUB_SMTP_PASSWORD".into()
        }),
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let permanent = |text: String| MailError {
            permanent: true,
            text,
        };
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| permanent(format!("Ungültige Adresse {}: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| permanent(format!("Nachricht: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError {
                permanent: e.is_permanent(),
                text: format!("SMTP: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (format!("DORFPUNKT_HUB_{k}"), v.to_string()))
            .collect();
        Config::load(None, |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn e_mail_is_off_until_a_server_is_configured() {
        let config = load(&[]).unwrap();
        assert!(SmtpMailer::from_config(&config).unwrap().is_none());
        let config = load(&[
            ("SMTP_HOST", "mail.example.org"),
            ("SMTP_PORT", "2525"),
            ("SMTP_STARTTLS", "false"),
            ("SMTP_FROM", "Dorfpunkt <erinnerung@example.org>"),
        ])
        .unwrap();
        assert_eq!(config.smtp_port, 2525);
        assert!(!config.smtp_starttls);
        assert!(SmtpMailer::from_config(&config).unwrap().is_some());
        let err = load(&[("SMTP_HOST", "mail.example.org")]).unwrap_err();
        assert!(err.to_string().contains("smtp_from"), "{err}");
    }

    #[test]
    fn the_password_comes_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "geheim\n").unwrap();
        let mut config = load(&[
            ("SMTP_HOST", "mail.example.org"),
            ("SMTP_FROM", "erinnerung@example.org"),
            ("SMTP_USERNAME", "dorfpunkt"),
        ])
        .unwrap();
        config.smtp_password_file = Some(file);
        assert_eq!(password(&config).unwrap(), "geheim");
        assert!(SmtpMailer::from_config(&config).unwrap().is_some());
        config.smtp_password_file = Some(dir.path().join("missing"));
        assert!(SmtpMailer::from_config(&config).is_err());
    }
}

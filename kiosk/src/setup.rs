//! A kiosk that is not enrolled yet: what `kiosk run` does until it is, and the enrolment the
//! setup screen ([`crate::ui::setup`]) starts with a code typed on the touch screen.
//!
//! The image names the hub: `KIOSK_HUB` and `KIOSK_HUB_CA` (in /etc/dorfpunkt/kiosk.env when the
//! county builds its image for its hub, or in /run/dorfpunkt-setup/kiosk.env, which the first boot
//! writes from the boot partition's `dorfpunkt.conf` when that file has no `CODE=` line). The
//! person setting the kiosk up types only the kiosk's one-time code. Without a screen the kiosk
//! waits for `kiosk enroll` (or the first boot's enrolment from the file); either way it starts as
//! enrolled once `identity.json` is there ([`wait_for_identity`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use protocol::device::normalise_enrol_code;

use crate::hub_client::{HubClient, HubError, Timeouts};
use crate::identity::{self, Enrolment, Identity, IdentityError};
use crate::watchdog::Watchdog;

/// How often a waiting kiosk looks for its identity file.
const POLL: Duration = Duration::from_secs(1);

/// The hub a kiosk that is not enrolled yet will join: its address and its certificate, the only
/// one trusted for it.
#[derive(Debug, Clone)]
pub struct SetupHub {
    pub url: String,
    pub ca_pem: String,
}

/// Why the kiosk cannot be set up on its screen.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the image names no hub (KIOSK_HUB, or HUB= in dorfpunkt.conf)")]
    NoHub,
    #[error("the image names no hub certificate (KIOSK_HUB_CA, or HUB_CA= in dorfpunkt.conf)")]
    NoCertificate,
    #[error("reading the hub certificate {}: {source}", path.display())]
    Certificate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Unusable(String),
}

impl SetupHub {
    /// The hub at `url` with the certificate in the file `ca`, checked as far as it can be
    /// without asking the hub (an HTTPS address, a PEM certificate).
    pub fn from_settings(url: Option<&str>, ca: Option<&Path>) -> Result<SetupHub, SetupError> {
        let url = url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(SetupError::NoHub)?;
        let ca = ca
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or(SetupError::NoCertificate)?;
        let ca_pem = std::fs::read_to_string(ca).map_err(|source| SetupError::Certificate {
            path: ca.to_path_buf(),
            source,
        })?;
        HubClient::anonymous(url, &ca_pem, Timeouts::default())
            .map_err(|e| SetupError::Unusable(e.to_string()))?;
        Ok(SetupHub {
            url: url.to_string(),
            ca_pem,
        })
    }
}

/// What an enrolment from the setup screen came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Enrolled {
        device_id: String,
        region_id: String,
    },
    /// Not 12 characters of the code alphabet: nothing was sent.
    NotACode,
    /// The hub said no: an unknown, expired, used or replaced code. Its words in `detail`.
    Refused { detail: String },
    /// No answer (network, the hub down, its certificate not the one named).
    Unreachable { detail: String },
    /// Anything else (the hub failed, the data directory cannot be written).
    Failed { detail: String },
}

/// Enrols this kiosk with `hub` using the code as typed (grouped or not). Never gives up unsent
/// outbox entries of an earlier identity: that stays `kiosk enroll --discard-pending`.
pub async fn enrol(hub: &SetupHub, typed: &str, data_dir: &Path) -> Answer {
    let Some(code) = normalise_enrol_code(typed) else {
        return Answer::NotACode;
    };
    answer(identity::enrol_with(&hub.url, &hub.ca_pem, &code, data_dir, false).await)
}

/// The setup screen's reading of an enrolment's result.
fn answer(result: Result<Enrolment, IdentityError>) -> Answer {
    match result {
        Ok(enrolment) => Answer::Enrolled {
            device_id: enrolment.identity.device_id,
            region_id: enrolment.identity.region_id,
        },
        Err(IdentityError::Refused {
            status,
            title,
            detail,
        }) if (400..500).contains(&status) => Answer::Refused {
            detail: if detail.is_empty() {
                title
            } else {
                format!("{title}: {detail}")
            },
        },
        Err(IdentityError::Hub(e @ HubError::Unreachable(_))) => Answer::Unreachable {
            detail: e.to_string(),
        },
        Err(other) => Answer::Failed {
            detail: other.to_string(),
        },
    }
}

/// Waits until `data_dir` holds an identity (`true`) or `stop` completes (`false`). Meanwhile
/// the kiosk counts as started for systemd (`READY=1`, so the unit does not time out while
/// nobody types the code) and pings its watchdog.
pub async fn wait_for_identity(data_dir: &Path, stop: impl Future<Output = ()>) -> bool {
    let mut watchdog = Watchdog::from_env();
    watchdog.ready("not enrolled: waiting for the enrolment code");
    let file = Identity::path(data_dir);
    let mut stop = std::pin::pin!(stop);
    loop {
        if file.exists() {
            return true;
        }
        watchdog.ping_if_due(Instant::now());
        tokio::select! {
            biased;
            () = &mut stop => return false,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

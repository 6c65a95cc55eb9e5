//! The kiosk's HTTPS client to its hub: JSON over TLS that trusts only the hub's certificate (the
//! file the admin copied), with the device's client certificate for every call but enrolment.
//!
//! Every call has a connect timeout and a timeout for the whole exchange, so a mobile connection
//! that drops mid-answer ends in an error the caller can retry later, never in a hang. The hub
//! answers errors as RFC 9457 problem documents; their title and detail reach the caller.

use std::time::Duration;

use protocol::device::{HEARTBEAT_PATH, Heartbeat, HeartbeatAnswer, SYNC_PATH};
use protocol::sync::{SyncRequest, SyncResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::identity::Identity;
use crate::sync::{Transport, TransportError};

/// How long a call may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To open the TCP connection and finish the TLS handshake.
    pub connect: Duration,
    /// For the whole exchange, from connecting to the last byte of the answer.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(20),
        }
    }
}

/// Why a call to the hub produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No connection, a timeout, a TLS failure, a connection closed mid-answer. Whether the hub
    /// acted on the request is unknown.
    #[error("hub unreachable: {0}")]
    Unreachable(String),
    /// The hub refused the request with a problem document (or at least an error status).
    #[error("{title} (HTTP {status}): {detail}")]
    Problem {
        status: u16,
        title: String,
        detail: String,
        field: Option<String>,
    },
    /// The answer did not read as what the endpoint promises.
    #[error("the hub's answer is unreadable: {0}")]
    Malformed(String),
    /// The client cannot be built: a bad hub URL, certificate or key.
    #[error("cannot talk to the hub: {0}")]
    Setup(String),
}

impl From<HubError> for TransportError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Unreachable(why) => TransportError::Unreachable(why),
            HubError::Problem {
                status,
                title,
                detail,
                ..
            } => TransportError::Status {
                status,
                detail: if detail.is_empty() {
                    title
                } else {
                    format!("{title}: {detail}")
                },
            },
            HubError::Malformed(why) => TransportError::Malformed(why),
            // A client that cannot be built cannot reach the hub; the entries stay pending.
            HubError::Setup(why) => TransportError::Unreachable(why),
        }
    }
}

/// An HTTPS client bound to one hub.
#[derive(Clone, Debug)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
}

/// Installs the ring crypto provider for rustls once per process (reqwest uses the default).
pub fn install_crypto() {
    // Fails only when a provider is installed already, which is what we want either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HubClient {
    /// A client without a client certificate, for enrolment: it trusts only `hub_ca_pem`.
    pub fn anonymous(
        hub_url: &str,
        hub_ca_pem: &str,
        timeouts: Timeouts,
    ) -> Result<HubClient, HubError> {
        Self::build(hub_url, hub_ca_pem, None, timeouts)
    }

    /// A client that presents the device's certificate (mutual TLS).
    pub fn for_device(identity: &Identity, timeouts: Timeouts) -> Result<HubClient, HubError> {
        let pem = format!("{}\n{}", identity.certificate_pem, identity.key_pem);
        let client_identity = reqwest::Identity::from_pem(pem.as_bytes())
            .map_err(|e| HubError::Setup(format!("the device certificate or key: {e}")))?;
        Self::build(
            &identity.hub_url,
            &identity.hub_ca_pem,
            Some(client_identity),
            timeouts,
        )
    }

    fn build(
        hub_url: &str,
        hub_ca_pem: &str,
        identity: Option<reqwest::Identity>,
        timeouts: Timeouts,
    ) -> Result<HubClient, HubError> {
        install_crypto();
        let base = normalise_url(hub_url)?;
        let roots = reqwest::Certificate::from_pem_bundle(hub_ca_pem.as_bytes())
            .map_err(|e| HubError::Setup(format!("the hub certificate: {e}")))?;
        if roots.is_empty() {
            return Err(HubError::Setup(
                "the hub certificate file holds no certificate".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .tls_built_in_root_certs(false)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .user_agent(concat!("dorfpunkt-kiosk/", env!("CARGO_PKG_VERSION")));
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| HubError::Setup(error_chain(&e)))?;
        Ok(HubClient { http, base })
    }

    /// The hub's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST`s `body` as JSON to `path` and reads the JSON answer.
    pub async fn post<Req, Resp>(&self, path: &str, body: &Req) -> Result<Resp, HubError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let url = format!("{}{}", self.base, path);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| HubError::Unreachable(error_chain(&e)))?;
        let status = response.status();
        // Reading the body can fail too when the connection drops mid-answer.
        let bytes = response
            .bytes()
            .await
            .map_err(|e| HubError::Unreachable(error_chain(&e)))?;
        if !status.is_success() {
            return Err(problem(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| HubError::Malformed(e.to_string()))
    }

    /// `GET`s `path` and returns the answer to read in pieces (a software package), allowing it
    /// `total` instead of the client's usual time; an error status becomes a [`HubError`].
    pub async fn get(&self, path: &str, total: Duration) -> Result<reqwest::Response, HubError> {
        let url = format!("{}{}", self.base, path);
        let response = self
            .http
            .get(&url)
            .timeout(total)
            .send()
            .await
            .map_err(|e| HubError::Unreachable(error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(problem(status, &bytes));
        }
        Ok(response)
    }

    /// Sends a heartbeat ([`HEARTBEAT_PATH`]).
    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatAnswer, HubError> {
        self.post(HEARTBEAT_PATH, heartbeat).await
    }
}

impl Transport for HubClient {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        Ok(self.post(SYNC_PATH, &request).await?)
    }
}

/// The hub URL without a trailing slash; only `https://` is accepted.
fn normalise_url(url: &str) -> Result<String, HubError> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        HubError::Setup(format!("the hub URL must start with https://, not '{url}'"))
    })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(HubError::Setup(format!("'{url}' is not a hub URL")));
    }
    Ok(url.to_string())
}

/// The hub's error answer as a [`HubError::Problem`]: the problem document's fields when the
/// body is one, else the status and the start of whatever came.
fn problem(status: reqwest::StatusCode, body: &[u8]) -> HubError {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |name: &str| doc.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let fallback_title = status.canonical_reason().unwrap_or("Error").to_string();
    let detail = text("detail").unwrap_or_else(|| {
        if doc.is_null() {
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
        } else {
            String::new()
        }
    });
    HubError::Problem {
        status: status.as_u16(),
        title: text("title").unwrap_or(fallback_title),
        detail,
        field: text("field"),
    }
}

/// An error with its causes, so "error sending request" says what went wrong underneath
/// (connection refused, certificate unknown, timed out).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_are_accepted_and_trailing_slashes_go() {
        assert_eq!(
            normalise_url("https://hub.example:8443/").unwrap(),
            "https://hub.example:8443"
        );
        assert!(matches!(
            normalise_url("http://hub.example"),
            Err(HubError::Setup(_))
        ));
        assert!(normalise_url("https://").is_err());
    }

    #[test]
    fn a_problem_document_gives_title_detail_and_field() {
        let body = br#"{"type":"about:blank","title":"Enrolment code refused","status":403,
                        "detail":"the code has expired","field":"code"}"#;
        let HubError::Problem {
            status,
            title,
            detail,
            field,
        } = problem(reqwest::StatusCode::FORBIDDEN, body)
        else {
            panic!("a problem")
        };
        assert_eq!(status, 403);
        assert_eq!(title, "Enrolment code refused");
        assert_eq!(detail, "the code has expired");
        assert_eq!(field.as_deref(), Some("code"));
    }

    #[test]
    fn a_plain_error_body_still_says_something() {
        let e = problem(reqwest::StatusCode::BAD_GATEWAY, b"upstream down");
        assert_eq!(e.to_string(), "Bad Gateway (HTTP 502): upstream down");
        let t: TransportError = e.into();
        assert!(
            matches!(t, TransportError::Status { status: 502, ref detail } if detail.starts_with("Bad Gateway"))
        );
    }
}

//! An enrolled test kiosk: it makes its key pair and CSR with rcgen like a real one, enrols with a
//! fresh one-time code and then calls the hub with its client certificate.

use protocol::device::{ENROL_PATH, HEARTBEAT_PATH};
use rcgen::{CertificateParams, DnType, KeyPair};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, TestHub, answer};

/// An enrolled (or pretending) kiosk: a client that shows its certificate.
pub struct Kiosk {
    pub client: reqwest::Client,
    pub certificate_pem: String,
}

/// A kiosk's key pair and certificate signing request with the common name `cn`, as rcgen makes
/// them on a real kiosk.
pub fn csr(cn: &str) -> (KeyPair, String) {
    let key = KeyPair::generate().expect("key pair");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let pem = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    (key, pem)
}

/// A client that trusts only the hub and shows `certificate_pem` with `key`.
pub fn client_with(hub: &TestHub, certificate_pem: &str, key: &KeyPair) -> reqwest::Client {
    let identity = reqwest::Identity::from_pem(
        format!("{certificate_pem}\n{}", key.serialize_pem()).as_bytes(),
    )
    .expect("identity");
    hub.client_builder()
        .identity(identity)
        .build()
        .expect("client")
}

impl Kiosk {
    /// A kiosk that shows `certificate_pem` with `key`, whoever signed it.
    pub fn new(hub: &TestHub, certificate_pem: &str, key: &KeyPair) -> Kiosk {
        Kiosk {
            client: client_with(hub, certificate_pem, key),
            certificate_pem: certificate_pem.to_string(),
        }
    }

    /// Enrols for `device` the way a real kiosk does: key pair, CSR, a fresh one-time code.
    pub async fn enrol(hub: &TestHub, device: &str) -> Kiosk {
        let code = hub
            .post(
                &format!("/api/v1/devices/{device}/enrolment-code"),
                json!({}),
            )
            .await;
        assert_eq!(code.status, StatusCode::CREATED, "{:#}", code.body);
        let (key, csr) = csr("kiosk");
        let enrolled = answer(
            hub.client
                .post(hub.url(ENROL_PATH))
                .json(&json!({"api_version": 1, "code": code.body["code"], "csr_pem": csr}))
                .send()
                .await
                .expect("request sent"),
        )
        .await;
        assert_eq!(enrolled.status, StatusCode::CREATED, "{:#}", enrolled.body);
        let cert = enrolled.body["certificate_pem"].as_str().expect("cert");
        Kiosk::new(hub, cert, &key)
    }

    pub async fn post(&self, hub: &TestHub, path: &str, body: Value) -> Answer {
        answer(
            self.client
                .post(hub.url(path))
                .json(&body)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn heartbeat(&self, hub: &TestHub, body: Value) -> Answer {
        self.post(hub, HEARTBEAT_PATH, body).await
    }
}

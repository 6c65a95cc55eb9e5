//! An enrolled test kiosk: it makes its key pair and CSR with rcgen like a real one, enrols with a
//! fresh one-time code and then calls the hub with its client certificate.

use protocol::device::ENROL_PATH;
use rcgen::{CertificateParams, DnType, KeyPair};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, TestHub, answer};

/// An enrolled kiosk: a client that shows its certificate.
pub struct Kiosk {
    pub client: reqwest::Client,
}

impl Kiosk {
    pub async fn enrol(hub: &TestHub, device: &str) -> Kiosk {
        let code = hub
            .post(
                &format!("/api/v1/devices/{device}/enrolment-code"),
                json!({}),
            )
            .await;
        assert_eq!(code.status, StatusCode::CREATED, "{:#}", code.body);
        let key = KeyPair::generate().expect("key pair");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, "kiosk");
        let csr = params
            .serialize_request(&key)
            .expect("csr")
            .pem()
            .expect("pem");
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
        let hub_cert = std::fs::read(hub.dir.path().join("tls/hub-cert.pem")).expect("hub cert");
        let identity =
            reqwest::Identity::from_pem(format!("{cert}\n{}", key.serialize_pem()).as_bytes())
                .expect("identity");
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&hub_cert).expect("pem"))
            .identity(identity)
            .resolve("localhost", hub.addr)
            .build()
            .expect("client");
        Kiosk { client }
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
}

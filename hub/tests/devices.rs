//! Kiosk enrolment, mutual TLS and device management over real TLS on loopback: a test kiosk
//! makes its key pair and CSR with rcgen like a real one, enrols with a one-time code, and calls
//! the device endpoints with its client certificate.

use protocol::device::{ENROL_PATH, HEARTBEAT_PATH, ROTATE_PATH, SYNC_PATH};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::kiosk::Kiosk;
use crate::common::{Answer, TestHub, answer, fixture, id};

/// A kiosk's key pair and certificate signing request.
fn csr() -> (KeyPair, String) {
    crate::common::kiosk::csr("kiosk asking")
}

fn beat(printer: &str) -> Value {
    json!({"api_version": 1, "software_version": "kiosk 0.1.0", "uptime_s": 3600,
           "disk_free_bytes": 8_000_000_000u64, "under_voltage": false, "throttled": false,
           "storage": "ok", "printer": printer, "last_sync_at": "2026-11-23T08:00:00+01:00",
           "outbox_len": 0})
}

/// Enrolment is open: no staff credentials, no client certificate.
async fn enrol(hub: &TestHub, code: &str, csr_pem: &str) -> Answer {
    answer(
        hub.client
            .post(hub.url(ENROL_PATH))
            .json(&json!({"api_version": 1, "code": code, "csr_pem": csr_pem}))
            .send()
            .await
            .expect("request sent"),
    )
    .await
}

async fn new_code(hub: &TestHub, device: &str) -> String {
    let answer = hub
        .post(
            &format!("/api/v1/devices/{device}/enrolment-code"),
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    answer.body["code"].as_str().expect("code").to_string()
}

/// Issues a code and enrols a new kiosk key with it.
async fn enrolled_kiosk(hub: &TestHub, device: &str) -> (Kiosk, Value) {
    let code = new_code(hub, device).await;
    let (key, csr_pem) = csr();
    let answer = enrol(hub, &code, &csr_pem).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    let cert = answer.body["certificate_pem"].as_str().expect("cert");
    (Kiosk::new(hub, cert, &key), answer.body)
}

fn assert_refused(answer: &Answer, status: StatusCode, title: &str) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.body["title"], title, "{:#}", answer.body);
    assert!(
        answer.content_type.starts_with("application/problem+json"),
        "{}",
        answer.content_type
    );
}

fn device_status(hub: &TestHub, device: &str) -> String {
    hub.store
        .blocking(|c| {
            Ok(
                c.query_row("SELECT status FROM devices WHERE id = ?1", [device], |r| {
                    r.get(0)
                })?,
            )
        })
        .expect("status")
}

async fn status_of(hub: &TestHub, region: &str, device: &str) -> Value {
    let list = hub
        .get(&format!("/api/v1/regions/{region}/devices/status"))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["id"] == device)
        .cloned()
        .expect("device listed")
}

#[tokio::test]
async fn a_kiosk_enrols_and_its_heartbeat_shows_in_the_device_list() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    assert_eq!(device_status(&hub, &f.device), "pending");
    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(listed["status"], "pending");
    assert_eq!(
        listed["alerts"],
        json!([]),
        "a pending kiosk raises no alert"
    );

    let (kiosk, enrolled) = enrolled_kiosk(&hub, &f.device).await;
    assert_eq!(enrolled["device_id"], f.device.as_str());
    assert_eq!(enrolled["region_id"], f.region.as_str());
    assert!(
        enrolled["ca_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(device_status(&hub, &f.device), "active");

    let answer = kiosk.heartbeat(&hub, beat("out")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    assert!(answer.body["hub_time"].as_str().unwrap().ends_with('Z'));

    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(listed["status"], "active");
    assert_eq!(listed["online"], true);
    assert_eq!(listed["software_version"], "kiosk 0.1.0");
    assert_eq!(listed["heartbeat"]["printer"], "out");
    assert_eq!(
        listed["heartbeat"]["last_sync_at"], "2026-11-23T07:00:00Z",
        "instants are stored in UTC"
    );
    assert_eq!(listed["alerts"], json!(["printer_out"]));

    // Every write is audited, by the device itself where it acted.
    let log = hub.get("/api/v1/audit-log?limit=50").await;
    let lines: Vec<(String, String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["actor"].as_str().unwrap().to_string(),
                l["action"].as_str().unwrap().to_string(),
                l["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let by_device = format!("device:{}", f.device);
    for (action, kind) in [
        ("update", "device_heartbeats"),
        ("create", "device_certificates"),
        ("update", "devices"),
        ("update", "enrolment_codes"),
    ] {
        assert!(
            lines
                .iter()
                .any(|(a, b, c)| a == &by_device && b == action && c == kind),
            "{action} {kind} in {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|(a, b, c)| a.starts_with("account:") && b == "create" && c == "enrolment_codes")
    );
    // Kiosks learn that the device is active through the change log.
    let changes = hub
        .get(&format!("/api/v1/regions/{}/changes?limit=1000", f.region))
        .await;
    assert!(
        changes.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "devices" && c["body"]["status"] == "active")
    );
}

#[tokio::test]
async fn wrong_expired_reused_and_replaced_codes_and_bad_requests_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (_, csr_pem) = csr();

    let wrong = enrol(&hub, "ABCD-EFGH-JKMN", &csr_pem).await;
    assert_refused(&wrong, StatusCode::FORBIDDEN, "unknown enrolment code");
    let garbled = enrol(&hub, "hello", &csr_pem).await;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(garbled.body["field"], "code");

    let code = new_code(&hub, &f.device).await;
    // A malformed CSR is refused and does not use up the code.
    let bad_csr = enrol(
        &hub,
        &code,
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    )
    .await;
    bad_csr.assert_invalid("csr_pem");
    let not_pem = enrol(&hub, &code, "a CSR, honestly").await;
    assert_eq!(not_pem.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Missing fields, wrong types, other media types and oversized bodies: clear 4xx.
    let missing = hub
        .client
        .post(hub.url(ENROL_PATH))
        .json(&json!({"api_version": 1, "code": code}))
        .send()
        .await
        .unwrap();
    let missing = answer(missing).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["field"], "csr_pem");
    let typed = answer(
        hub.client
            .post(hub.url(ENROL_PATH))
            .json(&json!({"api_version": "one", "code": code, "csr_pem": csr_pem}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(typed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(typed.body["field"], "api_version");
    let text = answer(
        hub.client
            .post(hub.url(ENROL_PATH))
            .header("content-type", "text/plain")
            .body(code.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = answer(
        hub.client
            .post(hub.url(ENROL_PATH))
            .json(&json!({"api_version": 1, "code": code, "csr_pem": "x".repeat(70 * 1024)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(hub.count("device_certificates"), 0);
    assert_eq!(device_status(&hub, &f.device), "pending");

    // A newer code replaces the older unused one.
    let newer = new_code(&hub, &f.device).await;
    let replaced = enrol(&hub, &code, &csr_pem).await;
    assert_refused(&replaced, StatusCode::FORBIDDEN, "enrolment code replaced");

    // An expired code.
    hub.exec(
        "UPDATE enrolment_codes SET expires_at = '2020-01-01T00:00:00Z' WHERE used_at IS NULL AND replaced_at IS NULL",
        &[],
    );
    let expired = enrol(&hub, &newer, &csr_pem).await;
    assert_refused(&expired, StatusCode::FORBIDDEN, "enrolment code expired");
    assert_eq!(hub.count("device_certificates"), 0);

    // A fresh code works once, typed in lower case with spaces; a second use is refused.
    let fresh = new_code(&hub, &f.device).await;
    let typed_in = fresh.to_lowercase().replace('-', " ");
    let ok = enrol(&hub, &typed_in, &csr_pem).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:#}", ok.body);
    let (_, other_csr) = csr();
    let reused = enrol(&hub, &fresh, &other_csr).await;
    assert_refused(
        &reused,
        StatusCode::FORBIDDEN,
        "enrolment code already used",
    );
    assert_eq!(hub.count("device_certificates"), 1);

    // Codes only for existing devices, only for administrators.
    let nobody = hub
        .post(
            &format!("/api/v1/devices/{}/enrolment-code", id()),
            json!({}),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let anonymous = answer(
        hub.client
            .post(hub.url(&format!("/api/v1/devices/{}/enrolment-code", f.device)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // Only a hash of a code is stored.
    let stored: Vec<String> = hub
        .store
        .blocking(|c| {
            let mut stmt = c.prepare("SELECT code_hash FROM enrolment_codes")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(stored.len(), 3);
    let canonical = fresh.replace('-', "");
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&canonical))
    );
}

/// A second region with a village, a stop and a device.
async fn second_region(hub: &TestHub) -> (String, String) {
    let region = hub.create_id("regions", json!({"name": "Nordkreis"})).await;
    let village = hub
        .create_id("villages", json!({"region_id": region, "name": "Dahlum", "municipality": "Dahlum", "lat": 52.10, "lon": 10.80}))
        .await;
    let stop = hub
        .create_id("stops", json!({"region_id": region, "village_id": village, "name": "Kirche", "lat": 52.101, "lon": 10.801}))
        .await;
    let device = hub
        .create_id(
            "devices",
            json!({"region_id": region, "name": "Kiosk Dahlum", "stop_id": stop}),
        )
        .await;
    (region, device)
}

/// A client certificate for `cn` signed by `issuer`, for `key`.
fn mint(cn: &str, key: &KeyPair, issuer: &Issuer<'_, KeyPair>) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.signed_by(key, issuer).expect("signed").pem()
}

#[tokio::test]
async fn device_endpoints_refuse_missing_unknown_and_foreign_certificates() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (region_b, device_b) = second_region(&hub).await;

    // No client certificate: refused on every device path, also on ones served elsewhere.
    for path in [HEARTBEAT_PATH, ROTATE_PATH, SYNC_PATH] {
        let bare = answer(
            hub.client
                .post(hub.url(path))
                .json(&beat("ok"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused(&bare, StatusCode::UNAUTHORIZED, "device certificate needed");
    }
    // Staff credentials are no device certificate.
    let staff = hub
        .call(Method::POST, HEARTBEAT_PATH, Some(beat("ok")))
        .await;
    assert_refused(
        &staff,
        StatusCode::UNAUTHORIZED,
        "device certificate needed",
    );

    // A certificate from a CA the kiosk made itself, naming a real device.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Dorfpunkt device CA (fake)");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let _ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let fake_issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let fake = Kiosk::new(&hub, &mint(&f.device, &key, &fake_issuer), &key);
    let refused = fake.heartbeat(&hub, beat("ok")).await;
    assert_refused(
        &refused,
        StatusCode::UNAUTHORIZED,
        "unknown device certificate",
    );

    // Enrolling with region A's code makes region A's device, never B's.
    let (kiosk_a, enrolled_a) = enrolled_kiosk(&hub, &f.device).await;
    assert_eq!(enrolled_a["device_id"], f.device.as_str());
    assert_eq!(device_status(&hub, &device_b), "pending");
    let (kiosk_b, enrolled_b) = enrolled_kiosk(&hub, &device_b).await;
    assert_eq!(enrolled_b["region_id"], region_b.as_str());
    assert_ne!(
        enrolled_a["ca_pem"], enrolled_b["ca_pem"],
        "each region has its own CA"
    );
    assert_eq!(
        kiosk_a.heartbeat(&hub, beat("ok")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        kiosk_b.heartbeat(&hub, beat("ok")).await.status,
        StatusCode::OK
    );

    // A certificate signed by region A's CA for a device of region B.
    let (ca_cert_pem, ca_key_pem): (String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT cert_pem, key_pem FROM device_cas WHERE region_id = ?1",
                [&f.region],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    let issuer_a =
        Issuer::from_ca_cert_pem(&ca_cert_pem, KeyPair::from_pem(&ca_key_pem).unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let foreign = Kiosk::new(&hub, &mint(&device_b, &key, &issuer_a), &key);
    let refused = foreign.heartbeat(&hub, beat("ok")).await;
    assert_refused(
        &refused,
        StatusCode::FORBIDDEN,
        "certificate of another region",
    );
    // Even when the store (wrongly) lists it for device B.
    let fingerprint = {
        use sha2::Digest;
        let der = rustls_pemfile::certs(&mut foreign.certificate_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        hex::encode(sha2::Sha256::digest(der.as_ref()))
    };
    hub.exec(
        "INSERT INTO device_certificates (fingerprint, device_id, region_id, serial, not_after, issued_at)
         VALUES (?1, ?2, ?3, '01', '2099-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        &[&fingerprint, &device_b, &f.region],
    );
    let refused = foreign.heartbeat(&hub, beat("ok")).await;
    assert_refused(
        &refused,
        StatusCode::FORBIDDEN,
        "certificate of another region",
    );
    // Nothing the refused kiosks sent was stored.
    let seen: i64 = hub
        .store
        .blocking(|c| Ok(c.query_row("SELECT count(*) FROM device_heartbeats", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(seen, 2);
    // Bad heartbeats from a good kiosk change nothing either.
    let mut bad = beat("ok");
    bad["printer"] = json!("on fire");
    let refused = kiosk_a.heartbeat(&hub, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "printer");
    let mut bad = beat("ok");
    bad.as_object_mut().unwrap().remove("uptime_s");
    let refused = kiosk_a.heartbeat(&hub, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "uptime_s");
    let status = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(status["heartbeat"]["printer"], "ok");
}

#[tokio::test]
async fn a_revoked_device_is_refused_at_once_and_can_be_enrolled_again() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (kiosk, _) = enrolled_kiosk(&hub, &f.device).await;
    assert_eq!(
        kiosk.heartbeat(&hub, beat("ok")).await.status,
        StatusCode::OK
    );

    let revoked = hub
        .post(&format!("/api/v1/devices/{}/revoke", f.device), json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:#}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");
    // The same client, likely on the same open connection, is refused now.
    let refused = kiosk.heartbeat(&hub, beat("ok")).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "device revoked");
    let (_, csr_pem) = csr();
    let rotate = kiosk
        .post(
            &hub,
            ROTATE_PATH,
            json!({"api_version": 1, "csr_pem": csr_pem}),
        )
        .await;
    assert_refused(&rotate, StatusCode::FORBIDDEN, "device revoked");
    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(listed["status"], "revoked");
    assert_eq!(listed["alerts"], json!([]));

    // A new code re-enrols it with a new key; the old certificate stays refused.
    let (again, _) = enrolled_kiosk(&hub, &f.device).await;
    assert_eq!(device_status(&hub, &f.device), "active");
    assert_eq!(
        again.heartbeat(&hub, beat("ok")).await.status,
        StatusCode::OK
    );
    let refused = kiosk.heartbeat(&hub, beat("ok")).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "device revoked");

    // Revoking through the generic cancel route does the same.
    let cancelled = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/devices/{}", f.device),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    let refused = again.heartbeat(&hub, beat("ok")).await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "device revoked");
    // An unused code of a revoked device is void as well.
    let code = new_code(&hub, &f.device).await;
    let revoked = hub
        .post(&format!("/api/v1/devices/{}/revoke", f.device), json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let (_, csr_pem) = csr();
    let void = enrol(&hub, &code, &csr_pem).await;
    assert_refused(&void, StatusCode::FORBIDDEN, "enrolment code replaced");
}

#[tokio::test]
async fn rotation_gives_a_working_new_certificate_and_expiry_is_enforced() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (old, first) = enrolled_kiosk(&hub, &f.device).await;

    let (key, csr_pem) = csr();
    let rotated = old
        .post(
            &hub,
            ROTATE_PATH,
            json!({"api_version": 1, "csr_pem": csr_pem}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:#}", rotated.body);
    assert_eq!(rotated.body["device_id"], f.device.as_str());
    assert_ne!(rotated.body["certificate_pem"], first["certificate_pem"]);
    let new = Kiosk::new(
        &hub,
        rotated.body["certificate_pem"].as_str().unwrap(),
        &key,
    );
    assert_eq!(new.heartbeat(&hub, beat("ok")).await.status, StatusCode::OK);
    // The old certificate works until it expires.
    assert_eq!(old.heartbeat(&hub, beat("ok")).await.status, StatusCode::OK);
    let bad = old
        .post(
            &hub,
            ROTATE_PATH,
            json!({"api_version": 1, "csr_pem": "nope"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(hub.count("device_certificates"), 2);

    hub.exec(
        "UPDATE device_certificates SET not_after = '2020-01-01T00:00:00Z' WHERE fingerprint <> (SELECT cert_fingerprint FROM devices WHERE id = ?1)",
        &[&f.device],
    );
    let expired = old.heartbeat(&hub, beat("ok")).await;
    assert_refused(
        &expired,
        StatusCode::UNAUTHORIZED,
        "device certificate expired",
    );
    assert_eq!(new.heartbeat(&hub, beat("ok")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_device_list_raises_silent_and_printer_alerts() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let (kiosk, _) = enrolled_kiosk(&hub, &f.device).await;
    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(
        listed["alerts"],
        json!(["silent"]),
        "enrolled but never heard from"
    );

    let mut worrying = beat("ok");
    worrying["under_voltage"] = json!(true);
    worrying["disk_free_bytes"] = json!(100_000_000);
    assert_eq!(kiosk.heartbeat(&hub, worrying).await.status, StatusCode::OK);
    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(listed["alerts"], json!(["under_voltage", "disk_low"]));

    assert_eq!(
        kiosk.heartbeat(&hub, beat("out")).await.status,
        StatusCode::OK
    );
    let eleven_minutes_ago = (chrono::Utc::now() - chrono::Duration::minutes(11))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    hub.exec(
        "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
        &[&eleven_minutes_ago, &f.device],
    );
    let listed = status_of(&hub, &f.region, &f.device).await;
    assert_eq!(listed["online"], false);
    assert_eq!(listed["alerts"], json!(["silent", "printer_out"]));
    assert_eq!(listed["last_seen_at"], eleven_minutes_ago.as_str());

    let nowhere = hub
        .get(&format!("/api/v1/regions/{}/devices/status", id()))
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn remote_settings_a_kiosk_cannot_follow_are_refused_and_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let path = format!("/api/v1/devices/{}", f.device);
    let good = hub
        .call(
            Method::PATCH,
            &path,
            Some(
                json!({"settings": {"languages": ["de", "tr"], "screen_on": "07:00",
                                     "screen_off": "21:00", "brightness_night": 30}}),
            ),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{:#}", good.body);
    for (settings, field) in [
        (json!({"colour": "red"}), "settings.colour"),
        (json!({"languages": ["de", "fr"]}), "settings.languages"),
        (
            json!({"brightness_night": 500}),
            "settings.brightness_night",
        ),
        (
            json!({"screen_on": "7 Uhr", "screen_off": "21:00"}),
            "settings.screen_on",
        ),
        (json!({"languages": "de"}), "settings.languages"),
    ] {
        let bad = hub
            .call(Method::PATCH, &path, Some(json!({ "settings": settings })))
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{settings}: {:#}",
            bad.body
        );
        assert_eq!(bad.body["field"], field, "{:#}", bad.body);
    }
    let now = hub.get(&path).await;
    assert_eq!(now.body["settings"]["languages"], json!(["de", "tr"]));
    assert_eq!(now.body["settings"]["brightness_night"], 30);
    hub.stop().await;
}

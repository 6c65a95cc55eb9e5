//! Web pages: devices. The admin's map and table of kiosks, adding one with its enrolment code,
//! a new code, revoking and remote settings; roles, CSRF, bad input and unknown ids.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::kiosk::Kiosk;
use crate::common::web::{admin, as_role};
use crate::common::{TestHub, fixture};

fn device_column(hub: &TestHub, device: &str, column: &str) -> Option<String> {
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                &format!("SELECT {column} FROM devices WHERE id = ?1"),
                [device],
                |r| r.get(0),
            )?)
        })
        .expect("device column")
}

/// The code shown on a code page.
fn shown_code(body: &str) -> String {
    let start = body.find("id=\"enrol-code\">").expect("code on page") + 16;
    let end = start + body[start..].find('<').expect("end of code");
    body[start..end].to_string()
}

/// Whether the code was issued for `device` and can still be used.
fn code_usable(hub: &TestHub, device: &str, code: &str) -> bool {
    let canonical = hub::devices::codes::normalise(code).expect("a code");
    let hash = hub::devices::codes::hash(&canonical);
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM enrolment_codes WHERE code_hash = ?1 AND device_id = ?2
                 AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ?3",
                rusqlite::params![hash, device, hub::store::now_text()],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .expect("codes")
        == 1
}

#[tokio::test]
async fn an_admin_sees_kiosks_on_the_map_and_in_the_table() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let kiosk = Kiosk::enrol(&hub, &f.device).await;
    let beat = json!({"api_version": 1, "software_version": "kiosk 0.9.1", "uptime_s": 3600,
        "disk_free_bytes": 8_000_000_000u64, "under_voltage": false, "throttled": false,
        "storage": "ok", "printer": "out", "last_sync_at": null, "outbox_len": 3});
    let answer = kiosk.heartbeat(&hub, beat).await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    let browser = admin(&hub).await;
    let page = browser
        .get(&format!("/console/devices?region={}", f.region))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    // The map: an image with a text alternative, the village as a label, the kiosk as a
    // triangle (alert) with its name and state in words.
    assert!(body.contains("<svg"), "{body}");
    assert!(body.contains("role=\"img\""));
    assert!(body.contains("aria-label=\"Karte der Kioske in Elm-Asse: 0 erreichbar, 0 nicht erreichbar, 1 mit Warnung."));
    assert!(body.contains("class=\"village-label\""));
    assert!(body.contains(">Kneitlingen</text>"));
    assert!(body.contains("<polygon class=\"dev-alert\""));
    assert!(body.contains("Kiosk Edeka Kneitlingen (Warnung)</text>"));
    // The same facts in the table.
    assert!(body.contains("<th scope=\"row\">Kiosk Edeka Kneitlingen</th>"));
    assert!(body.contains("Kneitlingen, Dorfplatz"));
    assert!(body.contains("kiosk 0.9.1"));
    assert!(body.contains("kein Papier"));
    assert!(body.contains("Drucker ohne Papier"));
    assert!(body.contains("<td>3</td>"), "outbox length");
    assert!(!body.contains("noch nie"), "it was seen");
    assert!(!body.contains("style="), "no inline style");
}

#[tokio::test]
async fn an_admin_adds_a_kiosk_and_gets_its_code_once() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let path = format!("/console/devices?region={}", f.region);
    let form = browser.get(&path).await;
    let client_id =
        crate::common::web::hidden_value(&form.body, "client_id").expect("client id on form");
    let before = hub.count("devices");
    let fields = [
        ("_csrf", form.csrf()),
        ("region", f.region.clone()),
        ("name", "Kiosk Rathaus".to_string()),
        ("stop_id", f.stop.clone()),
        ("client_id", client_id.clone()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shown = browser.post("/console/devices", &fields).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("Gültig bis"));
    assert!(shown.body.contains("kiosk enroll --hub https://"));
    let code = shown_code(&shown.body);
    assert_eq!(hub.count("devices"), before + 1);
    assert_eq!(
        device_column(&hub, &client_id, "name").as_deref(),
        Some("Kiosk Rathaus")
    );
    assert_eq!(
        device_column(&hub, &client_id, "status").as_deref(),
        Some("pending")
    );
    assert!(code_usable(&hub, &client_id, &code));
    // Sending the same form again makes no second kiosk.
    let again = browser.post("/console/devices", &fields).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(hub.count("devices"), before + 1);

    // A new code for the pending kiosk replaces the earlier one.
    let latest = shown_code(&again.body);
    let renewed = browser
        .submit(&path, &format!("/console/devices/{client_id}/code"), &[])
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let newest = shown_code(&renewed.body);
    assert_ne!(newest, latest);
    assert!(code_usable(&hub, &client_id, &newest));
    assert!(!code_usable(&hub, &client_id, &latest));
    assert!(!code_usable(&hub, &client_id, &code));
}

#[tokio::test]
async fn revoking_on_the_page_stops_the_kiosk_at_once() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let kiosk = Kiosk::enrol(&hub, &f.device).await;
    let browser = admin(&hub).await;
    let page = browser
        .get(&format!("/console/devices?region={}", f.region))
        .await;
    assert!(page.body.contains("data-confirm="), "revoking asks first");
    let done = browser
        .post(
            &format!("/console/devices/{}/revoke", f.device),
            &[("_csrf", &page.csrf())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        device_column(&hub, &f.device, "status").as_deref(),
        Some("revoked")
    );
    let open: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM device_certificates WHERE device_id = ?1 AND revoked_at IS NULL",
                [&f.device],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(open, 0, "no certificate of the kiosk still counts");
    let refused = kiosk.heartbeat(&hub, json!({"api_version": 1})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:#}", refused.body);
}

#[tokio::test]
async fn an_admin_changes_a_kiosks_settings() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let path = format!("/console/devices/{}/settings", f.device);
    let saved = browser
        .submit(
            &path,
            &path,
            &[
                ("languages", "de"),
                ("languages", "uk"),
                ("screen_on", "07:30"),
                ("screen_off", "20:00"),
                ("brightness_day", "90"),
                ("brightness_night", "30"),
                ("opening_hours", "Mo 08:00-20:00\r\nSa 08:00-14:00"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let settings: Value =
        serde_json::from_str(&device_column(&hub, &f.device, "settings").unwrap()).unwrap();
    assert_eq!(
        settings,
        json!({"languages": ["de", "uk"], "screen_on": "07:30", "screen_off": "20:00",
               "brightness_day": 90, "brightness_night": 30,
               "opening_hours": [{"weekday": "mon", "open": "08:00", "close": "20:00"},
                                 {"weekday": "sat", "open": "08:00", "close": "14:00"}]})
    );
    // The form shows what is stored.
    let again = browser.get(&format!("{path}?saved=1")).await;
    assert!(again.body.contains("Die Einstellungen sind gespeichert"));
    assert!(again.body.contains("value=\"07:30\""));
    assert!(again.body.contains("Sa 08:00-14:00"));
    assert!(again.body.contains("value=\"uk\" checked"));
}

#[tokio::test]
async fn dispatchers_and_drivers_may_not_manage_devices() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    for (role, name) in [("dispatcher", "disp.devices"), ("driver", "driver.devices")] {
        let browser = as_role(&hub, role, name, &f.region).await;
        let page = browser.get("/console/devices").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}");
        let page = browser
            .get(&format!("/console/devices/{}/settings", f.device))
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}");
        let revoke = browser
            .submit(
                "/account/password",
                &format!("/console/devices/{}/revoke", f.device),
                &[],
            )
            .await;
        assert_eq!(revoke.status, StatusCode::FORBIDDEN, "{role}");
        let before = hub.count("devices");
        let add = browser
            .submit(
                "/account/password",
                "/console/devices",
                &[
                    ("region", &f.region),
                    ("name", "Kiosk X"),
                    ("stop_id", &f.stop),
                    ("client_id", &crate::common::id()),
                ],
            )
            .await;
        assert_eq!(add.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(hub.count("devices"), before);
    }
    assert_eq!(
        device_column(&hub, &f.device, "status").as_deref(),
        Some("pending")
    );
}

#[tokio::test]
async fn forms_without_the_token_or_from_elsewhere_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let mut browser = admin(&hub).await;
    let revoke = format!("/console/devices/{}/revoke", f.device);
    let missing = browser.post(&revoke, &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = browser.post(&revoke, &[("_csrf", "0000")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let settings = format!("/console/devices/{}/settings", f.device);
    let no_token = browser.post(&settings, &[("brightness_day", "50")]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let before = hub.count("devices");
    let add = browser
        .post(
            "/console/devices",
            &[
                ("region", &f.region),
                ("name", "Kiosk X"),
                ("stop_id", &f.stop),
                ("client_id", &crate::common::id()),
            ],
        )
        .await;
    assert_eq!(add.status, StatusCode::FORBIDDEN);
    let page = browser.get("/console/devices").await;
    browser.origin = "https://evil.example".into();
    let elsewhere = browser.post(&revoke, &[("_csrf", &page.csrf())]).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert_eq!(hub.count("devices"), before);
    assert_eq!(
        device_column(&hub, &f.device, "status").as_deref(),
        Some("pending")
    );
    assert_eq!(
        device_column(&hub, &f.device, "settings").as_deref(),
        Some("{}")
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let list = format!("/console/devices?region={}", f.region);
    let before = hub.count("devices");
    let long = "K".repeat(101);
    for (name, stop) in [
        ("", f.stop.as_str()),
        ("   ", f.stop.as_str()),
        (long.as_str(), f.stop.as_str()),
        ("Kiosk Ohne Halt", "no-such-stop"),
        ("Kiosk Fremder Halt", f.village.as_str()),
    ] {
        let id = crate::common::id();
        let page = browser
            .submit(
                &list,
                "/console/devices",
                &[
                    ("region", &f.region),
                    ("name", name),
                    ("stop_id", stop),
                    ("client_id", &id),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name:?} {stop}");
        assert!(page.body.contains("role=\"alert\""));
    }
    assert_eq!(hub.count("devices"), before);
    assert_eq!(hub.count("enrolment_codes"), 0);

    let settings = format!("/console/devices/{}/settings", f.device);
    let long_value = "9".repeat(200);
    for fields in [
        vec![("colour", "red")],
        vec![("brightness_day", "5")],
        vec![("brightness_day", "hell")],
        vec![("brightness_night", long_value.as_str())],
        vec![("screen_on", "07:30")],
        vec![("screen_on", "25:00"), ("screen_off", "20:00")],
        vec![("languages", "fr")],
        vec![("opening_hours", "Mo 20:00-08:00")],
        vec![("opening_hours", "immer offen")],
    ] {
        let page = browser.submit(&settings, &settings, &fields).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{fields:?}");
    }
    assert_eq!(
        device_column(&hub, &f.device, "settings").as_deref(),
        Some("{}")
    );
}

#[tokio::test]
async fn unknown_devices_are_not_found() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let page = browser
        .get("/console/devices/no-such-device/settings")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let list = format!("/console/devices?region={}", f.region);
    for action in ["code", "revoke", "settings"] {
        let page = browser
            .submit(
                &list,
                &format!("/console/devices/no-such-device/{action}"),
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}");
    }
    let other_region = browser.get("/console/devices?region=no-such-region").await;
    assert_eq!(other_region.status, StatusCode::NOT_FOUND);
    assert_eq!(hub.count("enrolment_codes"), 0);
}

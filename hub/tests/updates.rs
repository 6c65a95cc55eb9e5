//! Kiosk software updates through the hub: the release key, signing and adding releases with the
//! real `hub` binary (signatures checked with OpenSSL too), staging for one kiosk and then for
//! all over the real API, the offer in the sync answer and the package download over mutual TLS,
//! kiosks' reports in heartbeats (healthy, rolled back), bad input and roles, and the console page.

use std::path::{Path, PathBuf};
use std::process::Command;

use protocol::device::{HEARTBEAT_PATH, SYNC_PATH};
use protocol::update::{download_path, signed_message};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::kiosk::Kiosk;
use crate::common::web::{Browser, account, admin};
use crate::common::{TestHub, answer, fixture, id};

fn hub_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(args)
        .env_remove("DORFPUNKT_HUB_CONFIG")
        .output()
        .expect("hub runs")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A package file with some content.
fn package(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("package written");
    path
}

/// Signs with the library (as `hub update sign` does) and adds the release to the test hub.
fn add_release(hub: &TestHub, keys: &Path, version: &str, content: &[u8]) -> PathBuf {
    let pkg = package(keys, &format!("kiosk-{version}.deb"), content);
    let sig = hub::updates::sign(&keys.join("update-key"), &pkg, version).expect("signed");
    let (release, added) = hub::updates::add_release(
        &hub.store,
        hub.dir.path(),
        Some(&keys.join("update-key.pub")),
        &pkg,
        &sig,
        version,
        &hub::store::logs::Who::cli("test"),
    )
    .expect("release added");
    assert_eq!(added, hub::updates::Added::New);
    assert_eq!(release.size, content.len() as u64);
    pkg
}

async fn sync(kiosk: &Kiosk, hub: &TestHub) -> Value {
    let a = kiosk
        .post(
            hub,
            SYNC_PATH,
            json!({"api_version": 1, "cursor": 0, "outbox": [], "limit": 1}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:#}", a.body);
    a.body
}

fn beat(version: &str, update: Option<Value>) -> Value {
    let mut b = json!({"api_version": 1, "software_version": version, "uptime_s": 60,
        "disk_free_bytes": 8_000_000_000u64, "under_voltage": false, "throttled": false,
        "storage": "ok", "printer": "ok", "last_sync_at": null, "outbox_len": 0});
    if let Some(u) = update {
        b["update"] = u;
    }
    b
}

async fn second_device(hub: &TestHub, region: &str, stop: &str) -> String {
    hub.create(
        "devices",
        json!({"region_id": region, "name": "Kiosk Dorfladen Ampleben", "stop_id": stop}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[test]
fn keys_are_made_signed_and_added_with_the_cli_and_openssl_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = hub_cli(&["update", "keygen", "--out", s(&keys)]);
    assert!(out.status.success(), "{}", text(&out));
    let private = keys.join("update-key");
    let public = keys.join("update-key.pub");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second keygen never overwrites the private key.
    let again = hub_cli(&["update", "keygen", "--out", s(&keys)]);
    assert!(!again.status.success(), "{}", text(&again));

    // OpenSSL reads both keys and derives the same public key.
    let derived = Command::new("openssl")
        .args(["pkey", "-in", s(&private), "-pubout"])
        .output()
        .unwrap();
    assert!(derived.status.success(), "{}", text(&derived));
    assert_eq!(
        String::from_utf8_lossy(&derived.stdout),
        std::fs::read_to_string(&public).unwrap()
    );

    let pkg = package(
        dir.path(),
        "kiosk_0.2.0_arm64.deb",
        b"a kiosk package, version 0.2.0",
    );
    let out = hub_cli(&[
        "update",
        "sign",
        "--key",
        s(&private),
        "--package",
        s(&pkg),
        "--version",
        "0.2.0",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let sig_path = dir.path().join("kiosk_0.2.0_arm64.deb.sig");
    let sig_hex = std::fs::read_to_string(&sig_path).unwrap();
    // OpenSSL checks the signature over the documented message.
    let (sha, size) = hub::updates::hash_file(&pkg).unwrap();
    let message = dir.path().join("message");
    std::fs::write(&message, signed_message("0.2.0", &sha, size)).unwrap();
    let raw_sig = dir.path().join("sig.bin");
    std::fs::write(&raw_sig, hex::decode(sig_hex.trim()).unwrap()).unwrap();
    let verify = |msg: &Path| {
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                s(&public),
                "-rawin",
            ])
            .args(["-in", s(msg), "-sigfile", s(&raw_sig)])
            .output()
            .unwrap()
    };
    let checked = verify(&message);
    assert!(checked.status.success(), "{}", text(&checked));
    let other = dir.path().join("other-message");
    std::fs::write(&other, signed_message("0.2.1", &sha, size)).unwrap();
    assert!(
        !verify(&other).status.success(),
        "another version must not verify"
    );

    // Adding: the hub's key is the one in its data directory.
    let data = dir.path().join("hub");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(&public, data.join("update-key.pub")).unwrap();
    let add = |pkg: &Path, sig: &Path, version: &str| {
        hub_cli(&[
            "update",
            "add",
            "--data-dir",
            s(&data),
            "--package",
            s(pkg),
            "--signature",
            s(sig),
            "--version",
            version,
        ])
    };
    let out = add(&pkg, &sig_path, "0.2.0");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("release 0.2.0 added"), "{}", text(&out));
    assert_eq!(
        std::fs::read(data.join("updates/0.2.0.pkg")).unwrap(),
        std::fs::read(&pkg).unwrap()
    );
    // Again: nothing new.
    let out = add(&pkg, &sig_path, "0.2.0");
    assert!(text(&out).contains("already there"), "{}", text(&out));

    // A tampered package, another version than signed, a bad version, another key: refused.
    let tampered = package(
        dir.path(),
        "tampered.deb",
        b"a kiosk package, version 0.2.9",
    );
    let out = add(&tampered, &sig_path, "0.2.1");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("signature does not match"),
        "{}",
        text(&out)
    );
    let out = add(&pkg, &sig_path, "0.2.1");
    assert!(!out.status.success(), "{}", text(&out));
    let out = add(&pkg, &sig_path, "../0.2.0");
    assert!(!out.status.success(), "{}", text(&out));
    let other_keys = dir.path().join("other");
    assert!(
        hub_cli(&["update", "keygen", "--out", s(&other_keys)])
            .status
            .success()
    );
    std::fs::copy(
        other_keys.join("update-key.pub"),
        data.join("update-key.pub"),
    )
    .unwrap();
    let pkg3 = package(dir.path(), "kiosk-0.3.0.deb", b"version 0.3.0");
    let signed = hub_cli(&[
        "update",
        "sign",
        "--key",
        s(&private),
        "--package",
        s(&pkg3),
        "--version",
        "0.3.0",
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let out = add(&pkg3, &dir.path().join("kiosk-0.3.0.deb.sig"), "0.3.0");
    assert!(
        !out.status.success(),
        "a release signed with another key: {}",
        text(&out)
    );
    // Only the one good release is there, and no stray package files.
    let conn = rusqlite::Connection::open(data.join("hub.db")).unwrap();
    let versions: Vec<String> = conn
        .prepare("SELECT version FROM update_releases")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, ["0.2.0"]);
    let files: Vec<String> = std::fs::read_dir(data.join("updates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["0.2.0.pkg"]);
}

#[tokio::test]
async fn a_release_goes_to_one_kiosk_first_then_to_all() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let other = second_device(&hub, &f.region, &f.stop).await;
    let a = Kiosk::enrol(&hub, &f.device).await;
    let b = Kiosk::enrol(&hub, &other).await;
    let keys = tempfile::tempdir().unwrap();
    hub::updates::keygen(keys.path()).unwrap();
    let content = b"kiosk package 0.2.0 with some bytes".repeat(1000);
    add_release(&hub, keys.path(), "0.2.0", &content);
    for k in [&a, &b] {
        let r = k.post(&hub, HEARTBEAT_PATH, beat("0.1.0", None)).await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    }
    let listed = hub.get("/api/v1/updates").await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.body);
    assert_eq!(listed.body["releases"][0]["version"], "0.2.0");
    assert_eq!(listed.body["releases"][0]["size"], content.len());

    // Nothing staged: no offer.
    assert!(sync(&a, &hub).await.get("update").is_none());
    // All first: refused, nothing staged.
    let all = json!({"id": id(), "version": "0.2.0", "region_id": f.region});
    let refused = hub.post("/api/v1/updates/rollouts", all.clone()).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:#}", refused.body);
    assert_eq!(hub.count("update_rollouts"), 0);

    // One kiosk: staged once, however often the request comes.
    let one_id = id();
    let one = json!({"id": one_id, "version": "0.2.0", "device_id": f.device});
    let staged = hub.post("/api/v1/updates/rollouts", one.clone()).await;
    assert_eq!(staged.status, StatusCode::CREATED, "{:#}", staged.body);
    let repeat = hub.post("/api/v1/updates/rollouts", one.clone()).await;
    assert_eq!(repeat.status, StatusCode::OK);
    assert_eq!(repeat.body, staged.body);
    let other_content = hub
        .post(
            "/api/v1/updates/rollouts",
            json!({"id": one_id, "version": "0.2.0", "device_id": other}),
        )
        .await;
    assert_eq!(other_content.status, StatusCode::CONFLICT);
    assert_eq!(hub.count("update_rollouts"), 1);

    // Kiosk A is offered the release, B is not.
    let offer = sync(&a, &hub).await["update"].clone();
    let (sha, size) = hub::updates::hash_file(&hub.dir.path().join("updates/0.2.0.pkg")).unwrap();
    assert_eq!(offer["version"], "0.2.0");
    assert_eq!(offer["sha256"], sha);
    assert_eq!(offer["size"], size);
    let public = hub::updates::read_public_key(&keys.path().join("update-key.pub")).unwrap();
    hub::updates::verify(
        &public,
        "0.2.0",
        &sha,
        size,
        offer["signature"].as_str().unwrap(),
    )
    .expect("the offered signature checks");
    assert!(sync(&b, &hub).await.get("update").is_none());

    // A downloads the package over mutual TLS; B, and a client without certificate, cannot.
    let got = a
        .client
        .get(hub.url(&download_path("0.2.0")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), content.as_slice());
    let not_b = answer(
        b.client
            .get(hub.url(&download_path("0.2.0")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(not_b.status, StatusCode::NOT_FOUND, "{:#}", not_b.body);
    let unknown = answer(
        a.client
            .get(hub.url(&download_path("9.9.9")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anonymous = answer(
        hub.client
            .get(hub.url(&download_path("0.2.0")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{:#}",
        anonymous.body
    );

    // A restarts into 0.2.0 and reports it healthy (twice: the same as once).
    let healthy = json!({"version": "0.2.0", "status": "healthy", "previous_version": "0.1.0",
                         "at": "2026-12-03T08:00:00Z"});
    for _ in 0..2 {
        let r = a
            .post(&hub, HEARTBEAT_PATH, beat("0.2.0", Some(healthy.clone())))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    }
    assert!(
        sync(&a, &hub).await.get("update").is_none(),
        "A runs its target"
    );

    // Now for all: B is offered it too.
    let staged = hub.post("/api/v1/updates/rollouts", all.clone()).await;
    assert_eq!(staged.status, StatusCode::CREATED, "{:#}", staged.body);
    assert_eq!(sync(&b, &hub).await["update"]["version"], "0.2.0");

    // B fails to come up with it and rolls back: never offered again, not to be staged for B.
    let rolled = json!({"version": "0.2.0", "status": "rolled_back", "previous_version": "0.1.0",
                        "detail": "no sync with the hub within 180 s of the start",
                        "at": "2026-12-03T08:10:00Z"});
    let r = b
        .post(&hub, HEARTBEAT_PATH, beat("0.1.0", Some(rolled)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert!(sync(&b, &hub).await.get("update").is_none());
    let again = hub
        .post(
            "/api/v1/updates/rollouts",
            json!({"id": id(), "version": "0.2.0", "device_id": other}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:#}", again.body);
    assert!(again.body["detail"].as_str().unwrap().contains("rolled"));

    // A new release goes to B again.
    add_release(&hub, keys.path(), "0.2.1", b"kiosk package 0.2.1");
    let fixed = hub
        .post(
            "/api/v1/updates/rollouts",
            json!({"id": id(), "version": "0.2.1", "device_id": other}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::CREATED, "{:#}", fixed.body);
    assert_eq!(sync(&b, &hub).await["update"]["version"], "0.2.1");

    let listed = hub
        .get(&format!("/api/v1/updates?region={}", f.region))
        .await;
    let devices = listed.body["devices"].as_array().unwrap();
    let of = |id: &str| devices.iter().find(|d| d["id"] == id).unwrap().clone();
    assert_eq!(of(&f.device)["update"]["status"], "healthy");
    assert_eq!(of(&f.device)["software_version"], "0.2.0");
    assert_eq!(of(&other)["update"]["status"], "rolled_back");
    assert_eq!(of(&other)["rolled_back"], json!(["0.2.0"]));
    assert_eq!(of(&other)["target_version"], "0.2.1");
}

#[tokio::test]
async fn bad_input_and_other_roles_are_refused_and_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let keys = tempfile::tempdir().unwrap();
    hub::updates::keygen(keys.path()).unwrap();
    add_release(&hub, keys.path(), "0.2.0", b"package");
    let kiosk = Kiosk::enrol(&hub, &f.device).await;
    let path = "/api/v1/updates/rollouts";
    for (body, field) in [
        (json!({"id": id(), "version": "0.2.0"}), "device_id"),
        (
            json!({"id": id(), "version": "0.2.0", "device_id": f.device, "region_id": f.region}),
            "device_id",
        ),
        (
            json!({"id": id(), "version": "9.9.9", "device_id": f.device}),
            "version",
        ),
        (
            json!({"id": id(), "version": "../x", "device_id": f.device}),
            "version",
        ),
        (
            json!({"id": id(), "version": "0.2.0", "device_id": "nope"}),
            "device_id",
        ),
        (
            json!({"id": id(), "version": "0.2.0", "region_id": "nope"}),
            "region_id",
        ),
        (
            json!({"id": "not-a-uuid", "version": "0.2.0", "device_id": f.device}),
            "id",
        ),
        (
            json!({"id": id(), "version": "0.2.0", "device_id": f.device, "all": true}),
            "all",
        ),
        (json!({"version": "0.2.0", "device_id": f.device}), "id"),
    ] {
        let a = hub.post(path, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            a.body
        );
        assert_eq!(a.body["field"], field, "{body}: {:#}", a.body);
    }
    let not_json = hub
        .send_raw(reqwest::Method::POST, path, "text/plain", b"x".to_vec())
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        hub.get("/api/v1/updates?regio=x").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        hub.get("/api/v1/updates?region=nope").await.status,
        StatusCode::NOT_FOUND
    );
    // A revoked kiosk gets nothing staged.
    let revoked = second_device(&hub, &f.region, &f.stop).await;
    let r = hub
        .post(&format!("/api/v1/devices/{revoked}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    let a = hub
        .post(
            path,
            json!({"id": id(), "version": "0.2.0", "device_id": revoked}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", a.body);

    // Roles: only admins; without credentials nothing.
    let (_, password) = account(&hub, "dispatcher", "disponent", Some(&f.region)).await;
    let as_dispatcher = answer(
        hub.client
            .post(hub.url(path))
            .basic_auth("disponent", Some(&password))
            .json(&json!({"id": id(), "version": "0.2.0", "device_id": f.device}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(as_dispatcher.status, StatusCode::FORBIDDEN);
    let listed = answer(
        hub.client
            .get(hub.url("/api/v1/updates"))
            .basic_auth("disponent", Some(&password))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);
    let anonymous = answer(
        hub.client
            .get(hub.url("/api/v1/updates"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(hub.count("update_rollouts"), 0);

    // A heartbeat with a bad update report is refused whole: not even the heartbeat is stored.
    for (report, field) in [
        (
            json!({"version": "a b", "status": "healthy", "at": "2026-12-03T08:00:00Z"}),
            "update.version",
        ),
        (
            json!({"version": "0.2.0", "status": "healthy", "at": "yesterday"}),
            "update.at",
        ),
        (
            json!({"version": "0.2.0", "status": "great", "at": "2026-12-03T08:00:00Z"}),
            "update",
        ),
    ] {
        let r = kiosk
            .post(&hub, HEARTBEAT_PATH, beat("0.2.0", Some(report.clone())))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{report}: {:#}",
            r.body
        );
        assert!(
            r.body["field"].as_str().unwrap().starts_with(field),
            "{report}: {:#}",
            r.body
        );
    }
    assert_eq!(hub.count("device_heartbeats"), 0);
    assert_eq!(hub.count("device_updates"), 0);
}

#[tokio::test]
async fn the_console_page_lists_and_stages_with_csrf_and_roles() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let keys = tempfile::tempdir().unwrap();
    hub::updates::keygen(keys.path()).unwrap();
    add_release(&hub, keys.path(), "0.2.0", b"package 0.2.0");
    let browser = admin(&hub).await;
    let page_path = format!("/console/updates?region={}", f.region);
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<th scope=\"row\">0.2.0</th>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Kiosk Edeka Kneitlingen"));
    assert!(
        page.body.contains("href=\"/console/updates\""),
        "navigation entry"
    );

    // For all before one is healthy: refused in German, nothing staged.
    let token = page.csrf();
    let all = browser
        .post(
            "/console/updates/stage",
            &[
                ("_csrf", &token),
                ("id", &id()),
                ("version", "0.2.0"),
                ("region", &f.region),
            ],
        )
        .await;
    assert_eq!(all.status, StatusCode::CONFLICT, "{}", all.body);
    assert!(all.body.contains("zuerst für einen Kiosk"), "{}", all.body);
    assert_eq!(hub.count("update_rollouts"), 0);

    // For the kiosk: staged once even when the form is sent twice.
    let form_id = id();
    let fields = [
        ("_csrf", token.as_str()),
        ("id", form_id.as_str()),
        ("version", "0.2.0"),
        ("device", f.device.as_str()),
    ];
    for _ in 0..2 {
        let staged = browser.post("/console/updates/stage", &fields).await;
        assert_eq!(staged.status, StatusCode::SEE_OTHER, "{}", staged.body);
        assert!(staged.location.as_deref().unwrap().contains("done=staged"));
    }
    assert_eq!(hub.count("update_rollouts"), 1);
    let page = browser.get(&page_path).await;
    assert!(
        page.body.contains("Die Version ist bereitgestellt")
            || page.body.contains("0.2.0 für Kiosk Edeka Kneitlingen"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("0.2.0 für Kiosk Edeka Kneitlingen"),
        "{}",
        page.body
    );

    // Without the CSRF token: refused.
    let forged = browser
        .post(
            "/console/updates/stage",
            &[("id", &id()), ("version", "0.2.0"), ("device", &f.device)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // An unknown version: a German message.
    let bad = browser
        .post(
            "/console/updates/stage",
            &[
                ("_csrf", &token),
                ("id", &id()),
                ("version", "7.7.7"),
                ("device", &f.device),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Version wählen"), "{}", bad.body);
    assert_eq!(hub.count("update_rollouts"), 1);

    // A dispatcher may not see the page.
    let (_, password) = account(&hub, "dispatcher", "disponentin", Some(&f.region)).await;
    let dispatcher = Browser::logged_in(&hub, "disponentin", &password).await;
    assert_eq!(
        dispatcher.get(&page_path).await.status,
        StatusCode::FORBIDDEN
    );
}

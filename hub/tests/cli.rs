//! The `hub` binary as an operator uses it: help, migrate, import, serve and demo, stopped with
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

fn hub() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hub"));
    command
        .env_remove("DORFPUNKT_HUB_CONFIG")
        .env("DORFPUNKT_LOG", "warn")
        .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0");
    command
}

/// A hub process and the lines it printed so far.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    fn spawn(mut command: Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hub starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most a minute) for a line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with '{needle}' in {:#?}", self.seen),
            }
        }
    }

    /// The https base URL from the "listening" line.
    fn base_url(&mut self) -> (String, u16) {
        let line = self.wait_for("hub listening on https://");
        let addr = line
            .split("https://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .expect("address");
        let port: u16 = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        (format!("https://localhost:{port}"), port)
    }

    /// Sends SIGTERM and expects a clean exit with the goodbye line.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
        self.wait_for("hub stopped");
        let exit = self.child.wait().expect("exit status");
        assert!(exit.success(), "exit after SIGTERM: {exit}");
    }
}

impl Drop for Process {
    /// A test that fails half-way must not leave a hub running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client(data_dir: &Path, port: u16) -> reqwest::Client {
    hub::server::install_crypto();
    let pem = std::fs::read(data_dir.join("tls/hub-cert.pem")).expect("certificate");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .expect("client")
}

#[test]
fn help_is_there_for_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["import", "--help"],
        vec!["demo", "--help"],
    ] {
        let out = hub().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: hub"), "{args:?}: {text}");
    }
    let out = hub().arg("fly").output().expect("runs");
    assert!(!out.status.success());
}

#[test]
fn migrate_creates_an_up_to_date_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = hub()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    assert!(dir.path().join("hub.db").is_file());
    // Twice is harmless.
    assert!(
        hub()
            .args(["migrate", "--data-dir"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_bad_configuration_file_stops_the_hub_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "body_limit_bytes = \"big\"\n").unwrap();
    let out = hub()
        .arg("--config")
        .arg(&config)
        .args(["migrate"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("body_limit_bytes"));
}

#[tokio::test]
async fn serve_answers_over_tls_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = hub();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    let mut process = Process::spawn(command);
    let credentials = process.wait_for("administrator credentials:");
    process.wait_for("self-signed TLS certificate");
    assert!(credentials.contains("admin-credentials.txt"));
    let (base, port) = process.base_url();
    let client = client(dir.path(), port);
    let health = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let (user, password) =
        hub::accounts::read_credentials(&dir.path().join("admin-credentials.txt")).unwrap();
    let regions = client
        .get(format!("{base}/api/v1/regions"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(regions.status(), StatusCode::OK);
    process.terminate();
}

#[tokio::test]
async fn demo_serves_the_elm_asse_region_and_starts_again_on_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let mut command = hub();
        command
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path());
        let mut process = Process::spawn(command);
        let (base, port) = process.base_url();
        let client = client(dir.path(), port);
        let (user, password) =
            hub::accounts::read_credentials(&dir.path().join("admin-credentials.txt")).unwrap();
        let get = |path: &str| {
            client
                .get(format!("{base}{path}"))
                .basic_auth(&user, Some(&password))
                .send()
        };
        let regions: Value = get("/api/v1/regions").await.unwrap().json().await.unwrap();
        let regions = regions["items"].as_array().unwrap();
        assert_eq!(regions.len(), 1, "round {round}: one demo region");
        assert_eq!(regions[0]["name"], "Elm-Asse (Demo)");
        let villages: Value = get("/api/v1/villages?limit=100")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            villages["items"].as_array().unwrap().len(),
            12,
            "the 12 member municipalities"
        );
        let residents: Value = get("/api/v1/residents?limit=100")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(residents["items"].as_array().unwrap().len(), 30);
        let rides: Value = get("/api/v1/ride-requests?limit=500")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!rides["items"].as_array().unwrap().is_empty());
        let doc: Value = client
            .get(format!("{base}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/api/v1/ride-requests"].is_object());
        process.terminate();
    }
}

#[test]
fn import_reports_bad_rows_with_line_numbers_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let region =
        serde_json::from_value::<hub::domain::Region>(serde_json::json!({"name": "Testregion"}))
            .unwrap();
    let region_id = store
        .blocking(|c| {
            hub::store::records::create(c, &hub::store::logs::Who::cli("test"), None, &region)
        })
        .unwrap()
        .record["id"]
        .as_str()
        .unwrap()
        .to_string();
    drop(store);
    let csv = dir.path().join("villages.csv");
    std::fs::write(
        &csv,
        "name,municipality,lat,lon\nDahlum,Dahlum,52.10,10.80\nDenkte,Denkte,nördlich,10.69\nRoklum,Roklum,52.08,10.74\n",
    )
    .unwrap();
    let out = hub()
        .args(["import", "--region", &region_id, "--data-dir"])
        .arg(dir.path())
        .arg(&csv)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("villages.csv:3: lat:"), "{err}");
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let villages: i64 = store
        .blocking(|c| Ok(c.query_row("SELECT count(*) FROM villages", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(villages, 0, "nothing of a file with a bad row");

    std::fs::write(
        &csv,
        "name,municipality,lat,lon\nDahlum,Dahlum,52.10,10.80\nRoklum,Roklum,52.08,10.74\n",
    )
    .unwrap();
    let out = hub()
        .args(["import", "--region", &region_id, "--data-dir"])
        .arg(dir.path())
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let villages: i64 = store
        .blocking(|c| Ok(c.query_row("SELECT count(*) FROM villages", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(villages, 2);
}

#[test]
fn device_add_prints_a_one_time_code_and_list_shows_the_devices() {
    use hub::store::logs::Who;
    use hub::store::records;
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let who = Who::cli("test");
    let stop = store
        .blocking(|c| {
            let region: hub::domain::Region =
                serde_json::from_value(serde_json::json!({"name": "Testregion"})).unwrap();
            let region = records::create(c, &who, None, &region)?.record["id"]
                .as_str()
                .unwrap()
                .to_string();
            let village: hub::domain::Village = serde_json::from_value(serde_json::json!({
                "region_id": region, "name": "Dahlum", "municipality": "Dahlum", "lat": 52.1, "lon": 10.8
            }))
            .unwrap();
            let village = records::create(c, &who, None, &village)?.record["id"]
                .as_str()
                .unwrap()
                .to_string();
            let stop: hub::domain::Stop = serde_json::from_value(serde_json::json!({
                "region_id": region, "village_id": village, "name": "Kirche", "lat": 52.1, "lon": 10.8
            }))
            .unwrap();
            Ok(records::create(c, &who, None, &stop)?.record["id"]
                .as_str()
                .unwrap()
                .to_string())
        })
        .unwrap();
    drop(store);

    let out = hub()
        .args(["device", "add", "--name", "Kiosk Dahlum", "--stop", &stop])
        .args(["--settings", r#"{"languages": ["de", "uk"]}"#, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = text
        .lines()
        .find_map(|l| l.strip_prefix("code="))
        .expect("a code= line")
        .to_string();
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        code.split('-').all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())),
        "{code}"
    );
    assert!(text.contains("valid until"), "{text}");
    let device = text
        .split_whitespace()
        .nth(1)
        .expect("device id")
        .to_string();

    let list = |dir: &Path| {
        let out = hub()
            .args(["device", "list", "--data-dir"])
            .arg(dir)
            .output()
            .expect("runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = list(dir.path());
    let line = listed
        .lines()
        .find(|l| l.contains(&device))
        .expect("device listed");
    assert!(line.starts_with("Kiosk Dahlum"), "{line}");
    assert!(line.contains("pending"), "{line}");
    assert!(line.contains("never-seen"), "{line}");

    // The printed code enrols the device through the same code the API runs.
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let csr_pem = rcgen::CertificateParams::default()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let request = protocol::device::EnrolRequest {
        api_version: protocol::API_VERSION,
        code: code.clone(),
        csr_pem,
    };
    let enrolled = store
        .blocking(|c| Ok(hub::devices::enrol(c, &request, None, chrono::Utc::now())))
        .unwrap()
        .expect("the printed code enrols");
    assert_eq!(enrolled.device_id, device);
    drop(store);
    let listed = list(dir.path());
    assert!(listed.contains("active"), "{listed}");
    assert!(listed.contains("alerts=silent"), "{listed}");

    let out = hub()
        .args(["device", "revoke", "--device", &device, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(list(dir.path()).contains("revoked"));
    let out = hub()
        .args(["device", "code", "--device", &device, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("code="));
    assert!(list(dir.path()).contains("pending"), "a new code re-enrols");

    let out = hub()
        .args([
            "device",
            "add",
            "--name",
            "Nowhere",
            "--stop",
            "no-such-stop",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop_id"));
}

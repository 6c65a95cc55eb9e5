//! A hub on a free loopback port with a fresh database, and a client that trusts its certificate.

pub mod kiosk;
pub mod web;

use std::net::SocketAddr;

use hub::config::Config;
use hub::server::{self, Running};
use hub::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestHub {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Store,
    pub user: String,
    pub password: String,
    pub dir: tempfile::TempDir,
    config: Config,
    running: Option<Running>,
}

/// An answer: status, content type and parsed body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// Fails unless this is a 422 problem document naming `field` as the one at fault.
    pub fn assert_invalid(&self, field: &str) {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:#}",
            self.body
        );
        assert_eq!(self.body["field"], field, "{:#}", self.body);
    }
}

impl TestHub {
    pub async fn start() -> TestHub {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestHub {
        server::install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("address"),
            // Tests that want the evening re-optimisation turn it on.
            planning_check_seconds: 0,
            ..Config::default()
        };
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    async fn start_in(dir: tempfile::TempDir, config: Config) -> TestHub {
        let store = Store::open(&config.database()).expect("open store");
        let credentials = hub::accounts::ensure_admin(&store, &config.data_dir)
            .expect("admin")
            .expect("credentials file");
        let (user, password) = hub::accounts::read_credentials(&credentials).expect("credentials");
        let running = server::start(store.clone(), config.clone())
            .await
            .expect("server starts");
        let client = trusting_hub(&config.data_dir, running.addr)
            .build()
            .expect("client");
        TestHub {
            addr: running.addr,
            client,
            store,
            user,
            password,
            dir,
            config,
            running: Some(running),
        }
    }

    /// A client builder that trusts only this hub's certificate and reaches it as `localhost`.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        trusting_hub(self.dir.path(), self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Sends a request as the administrator with a JSON body (if any).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .client
            .request(method, self.url(path))
            .basic_auth(&self.user, Some(&self.password));
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.expect("request sent")).await
    }

    /// Sends raw bytes as the body with the given content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Answer {
        let req = self
            .client
            .request(method, self.url(path))
            .basic_auth(&self.user, Some(&self.password))
            .header("content-type", content_type)
            .body(bytes);
        answer(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates a record and returns it, failing the test unless it was created.
    pub async fn create(&self, segment: &str, body: Value) -> Value {
        let answer = self.post(&format!("/api/v1/{segment}"), body).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "creating {segment}: {:#}",
            answer.body
        );
        answer.body
    }

    /// Creates a record like [`TestHub::create`] and returns its id.
    pub async fn create_id(&self, segment: &str, body: Value) -> String {
        self.create(segment, body).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// How many rows a table holds (straight from the database file).
    pub fn count(&self, table: &str) -> i64 {
        self.store
            .blocking(|c| {
                Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
            })
            .expect("count")
    }

    /// Runs one SQL statement with `args` as `?1`, `?2`, … straight on the database file (for
    /// states the API does not make, such as times in the past).
    pub fn exec(&self, sql: &str, args: &[&str]) {
        self.store
            .blocking(|c| {
                c.execute(sql, rusqlite::params_from_iter(args.iter()))?;
                Ok(())
            })
            .expect("statement");
    }

    /// The first column of the row `sql` finds with `arg` as `?1` (NULL as `None`), straight from
    /// the database file; fails the test when there is no row.
    pub fn text(&self, sql: &str, arg: &str) -> Option<String> {
        self.store
            .blocking(|c| Ok(c.query_row(sql, [arg], |r| r.get(0))?))
            .expect("one value")
    }

    /// The number in the first column of the row `sql` finds with `arg` as `?1`.
    pub fn number(&self, sql: &str, arg: &str) -> i64 {
        self.store
            .blocking(|c| Ok(c.query_row(sql, [arg], |r| r.get(0))?))
            .expect("one number")
    }

    /// When the IMBUS visit starts.
    pub fn visit_start(&self, visit: &str) -> chrono::DateTime<chrono::Utc> {
        self.text("SELECT starts_at FROM imbus_visits WHERE id = ?1", visit)
            .expect("start")
            .parse()
            .expect("instant")
    }

    /// Stops the hub gracefully and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestHub {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("graceful shutdown");
        }
        let TestHub { dir, config, .. } = self;
        Self::start_in(dir, config).await
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("graceful shutdown");
        }
    }
}

/// A client builder that trusts only the certificate of the hub in `data_dir` (no system roots)
/// and reaches it at `addr` as `localhost`.
fn trusting_hub(data_dir: &std::path::Path, addr: SocketAddr) -> reqwest::ClientBuilder {
    let cert_pem = std::fs::read(data_dir.join("tls/hub-cert.pem")).expect("certificate");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert_pem).expect("pem"))
        .resolve("localhost", addr)
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        content_type,
        body,
    }
}

/// An instant `days` ahead of now at `hh:mm` Berlin time, in RFC 3339 with offset.
pub fn ahead(days: i64, hh: u32, mm: u32) -> String {
    use chrono::TimeZone;
    let date = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
    let local = chrono_tz::Europe::Berlin
        .from_local_datetime(&date.and_hms_opt(hh, mm, 0).expect("time"))
        .earliest()
        .expect("local time exists");
    local.to_rfc3339()
}

/// The next date at least `min_days` ahead that falls on a Monday to Friday.
pub fn weekday_ahead(min_days: i64) -> i64 {
    use chrono::Datelike;
    let mut days = min_days;
    loop {
        let date = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
        if date.weekday().number_from_monday() <= 5 {
            return days;
        }
        days += 1;
    }
}

/// A small region with every kind of record, made through the API.
pub struct Fixture {
    pub region: String,
    pub village: String,
    pub stop: String,
    pub destination: String,
    pub vehicle: String,
    pub resident: String,
    pub caregiver: String,
    pub device: String,
    pub visit: String,
    pub slot: String,
    /// Days ahead of a weekday on which the destination is open 08:00-12:00 and 14:00-18:00.
    pub day: i64,
}

pub fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn fixture(hub: &TestHub, wheelchair_places: u32) -> Fixture {
    let day = weekday_ahead(2);
    let region = hub
        .create_id(
            "regions",
            json!({"id": id(), "name": "Elm-Asse", "phone": "05332 1234",
                   "target_groups": ["age_75_plus", "wheelchair"],
                   "destination_categories": ["general_practice", "counselling"]}),
        )
        .await;
    let village = hub
        .create_id("villages", json!({"region_id": region, "name": "Kneitlingen", "municipality": "Kneitlingen", "lat": 52.13, "lon": 10.72}))
        .await;
    let stop = hub
        .create_id("stops", json!({"region_id": region, "village_id": village, "name": "Dorfplatz", "lat": 52.131, "lon": 10.721}))
        .await;
    let mut hours = Vec::new();
    for weekday in ["mon", "tue", "wed", "thu", "fri"] {
        hours.push(json!({"weekday": weekday, "open": "08:00", "close": "12:00"}));
        hours.push(json!({"weekday": weekday, "open": "14:00", "close": "18:00"}));
    }
    let destination = hub
        .create_id(
            "destinations",
            json!({"region_id": region, "name": "Hausarztpraxis Dr. Berger", "category": "general_practice",
                   "street": "Markt 3", "postcode": "38170", "city": "Schöppenstedt",
                   "lat": 52.142, "lon": 10.776, "opening_hours": hours, "step_free": true}),
        )
        .await;
    let vehicle = hub
        .create_id(
            "vehicles",
            json!({"region_id": region, "name": "Bus 1", "seats": 6, "wheelchair_places": wheelchair_places,
                   "depot_name": "DRK Schöppenstedt", "depot_lat": 52.14, "depot_lon": 10.77}),
        )
        .await;
    let resident = hub
        .create_id(
            "residents",
            json!({"region_id": region, "name": "Erna Köhler", "street": "Lindenweg 4", "village_id": village,
                   "lat": 52.132, "lon": 10.722, "uses_walker": true, "birth_year": 1944, "consent_at": "2026-01-05T10:00:00+01:00",
                   "consent_given_to": "DRK Fahrdienst", "consent_purpose": "Fahrten und Beratung"}),
        )
        .await;
    let caregiver = hub
        .create_id(
            "caregivers",
            json!({"region_id": region, "name": "Jonas Köhler", "phone": "0171 2345678"}),
        )
        .await;
    let device = hub
        .create_id(
            "devices",
            json!({"region_id": region, "name": "Kiosk Edeka Kneitlingen", "stop_id": stop}),
        )
        .await;
    let visit = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": region, "village_id": village, "stop_id": stop,
                   "starts_at": ahead(day, 9, 0), "ends_at": ahead(day, 11, 0), "counsellor": "Frau Aydin"}),
        )
        .await;
    let slot = hub
        .create_id(
            "slots",
            json!({"region_id": region, "visit_id": visit, "starts_at": ahead(day, 9, 0), "ends_at": ahead(day, 9, 20),
                   "reserved_for_device_id": device}),
        )
        .await;
    Fixture {
        region,
        village,
        stop,
        destination,
        vehicle,
        resident,
        caregiver,
        device,
        visit,
        slot,
        day,
    }
}

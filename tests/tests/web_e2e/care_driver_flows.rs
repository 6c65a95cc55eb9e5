//! Browser flows of caregivers and drivers against the demo hub: a caregiver registers, is linked
//! to a resident once staff record the resident's consent, books a ride (pickup window or
//! alternatives) and a counselling appointment, downloads the ticket PDF and cancels; a
//! caregiver never sees anyone else's people; a driver marks picked up and no-show on the run
//! sheet, also with the phone offline (queued in the page, sent once when back online).
//!
//! Caregiver pages are found by ids, names and form actions rather than by their words, which
//! are translated; the database is checked after every step.

use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{Datelike, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};

use super::browser::{Browser, axe_script};
use super::harness::Hub;
use super::{account, admin, first_login, login};

/// The demo region's time zone.
const ZONE: &str = "Europe/Berlin";
/// A caregiver's password (at least 12 characters).
const PASSWORD: &str = "ein langes Passwort 42";
/// The driver page's queue in the phone's storage (`hub/web/driver.js`).
const QUEUE: &str = "dorfpunkt.driver.queue";
/// A destination of the demo open Monday to Friday 08:00-12:00.
const PRACTICE: &str = "Hausarztpraxis Dr. med. Katrin Behrens";

/// Evaluates `$check` (which may `.await`) every 200 ms until it holds, at most `$within`.
macro_rules! eventually {
    ($within:expr, $what:expr, $check:expr) => {{
        let within: Duration = $within;
        let until = Instant::now() + within;
        while !($check) {
            assert!(Instant::now() < until, "not after {within:?}: {}", $what);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }};
}

/// The demo hub's API, as its administrator.
struct Api {
    client: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

impl Api {
    fn new(hub: &Hub) -> Api {
        hub::server::install_crypto();
        let (user, password) = admin(hub);
        let cert = std::fs::read(hub.cert()).expect("hub certificate");
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Api {
            client,
            base: hub.url(),
            user,
            password,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let answer = self
            .client
            .request(method, format!("{}/api/v1/{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .json(&body)
            .send()
            .await
            .expect("api request");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// Creates a record with a fresh id; returns the stored record.
    async fn create(&self, segment: &str, body: Value) -> Value {
        let mut body = body;
        body["id"] = json!(uuid::Uuid::new_v4().to_string());
        let (status, record) = self.call(reqwest::Method::POST, segment, body).await;
        assert_eq!(status, 201, "{segment}: {record:#}");
        record
    }

    async fn create_id(&self, segment: &str, body: Value) -> String {
        self.create(segment, body).await["id"]
            .as_str()
            .expect("created record has an id")
            .to_string()
    }

    async fn patch(&self, segment: &str, id: &str, body: Value) {
        let (status, record) = self
            .call(reqwest::Method::PATCH, &format!("{segment}/{id}"), body)
            .await;
        assert_eq!(status, 200, "{segment}/{id}: {record:#}");
    }
}

/// The demo resident called `name`.
fn resident(hub: &Hub, name: &str) -> String {
    hub.one(&format!("SELECT id FROM residents WHERE name = '{name}'"))
}

/// The resident's number as printed on their tickets, assigned through the hub's library as a
/// kiosk booking does (the demo's people have none yet).
fn resident_number(hub: &Hub, resident: &str) -> String {
    let conn = rusqlite::Connection::open(hub.dir.join("hub.db")).expect("hub.db");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let who = hub::store::logs::Who::cli("e2e-ticket");
    hub::sync::riders::number_of(&conn, &who, resident)
        .expect("resident number")
        .to_string()
}

/// Today in the demo region.
fn region_today() -> NaiveDate {
    let tz = ZONE.parse().expect("time zone");
    hub::domain::common::Instant(Utc::now())
        .local(tz)
        .date_naive()
}

/// `HH:MM` of an instant in the demo region, as the pages show times.
fn hhmm(instant: &str) -> String {
    hub::web::local_time(instant, ZONE)
        .rsplit(", ")
        .next()
        .expect("time part")
        .to_string()
}

/// The instant of a local date and time in the demo region (RFC 3339, UTC).
fn local_instant(date: NaiveDate, hh: u32, mm: u32) -> String {
    let time = NaiveTime::from_hms_opt(hh, mm, 0).expect("time");
    hub::domain::common::local_to_instant(ZONE.parse().expect("time zone"), date, time)
        .expect("local time exists")
        .text()
}

/// The booking code of the booking page the browser shows.
async fn booking_code(browser: &Browser) -> String {
    let url = browser.url().await;
    match url.split("/care/bookings/").nth(1) {
        Some(code) => code.to_string(),
        None => panic!("not a booking page: {url}: {}", browser.text().await),
    }
}

/// A string field of a fetched answer.
fn field<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {answer:#}"))
}

/// The text of a PDF, read back with `pdftotext`.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ticket.pdf");
    std::fs::write(&path, bytes).expect("write");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A caregiver record linked to `resident` (consent on paper) with a caregiver account;
/// returns the caregiver id and the account's one-time password.
async fn caregiver_account(
    api: &Api,
    hub: &Hub,
    name: &str,
    username: &str,
    resident: &str,
) -> (String, String) {
    let region = hub::demo::demo_region_id();
    let caregiver = api
        .create_id(
            "caregivers",
            json!({"region_id": region, "name": name, "phone": "0171 5550101"}),
        )
        .await;
    api.create(
        "caregiver-links",
        json!({"region_id": region, "caregiver_id": caregiver, "resident_id": resident,
               "consent_at": Utc::now().to_rfc3339(), "consent_how": "paper"}),
    )
    .await;
    api.create(
        "accounts",
        json!({"username": username, "display_name": name, "role": "caregiver",
               "region_id": region, "caregiver_id": caregiver}),
    )
    .await;
    let output = hub.command(&["account", "password", "--username", username]);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{text}");
    let one_time = text
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .unwrap_or_else(|| panic!("no password= line in {text}"))
        .trim()
        .to_string();
    (caregiver, one_time)
}

/// A ride to the practice at 10:00 on `day`, booked by phone for `caregiver`'s resident;
/// returns its booking code.
async fn phone_ride(
    api: &Api,
    hub: &Hub,
    resident: &str,
    caregiver: &str,
    day: NaiveDate,
) -> String {
    let ride = api
        .create(
            "ride-requests",
            json!({"region_id": hub::demo::demo_region_id(), "resident_id": resident,
                   "from_home": true, "to_destination_id": practice(hub),
                   "appointment_at": local_instant(day, 10, 0), "channel": "phone",
                   "caregiver_id": caregiver}),
        )
        .await;
    ride["booking_code"]
        .as_str()
        .expect("booking code")
        .to_string()
}

/// The practice's id.
fn practice(hub: &Hub) -> String {
    hub.one(&format!(
        "SELECT id FROM destinations WHERE name = '{PRACTICE}'"
    ))
}

#[tokio::test]
async fn a_caregiver_registers_is_linked_with_consent_books_prints_the_ticket_and_cancels() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let region = hub::demo::demo_region_id();
    let dieter = resident(&hub, "Dieter Kusche");
    let number = resident_number(&hub, &dieter);

    // Registration: the caregiver record and the account, logged in at once.
    let carer = Browser::start(&hub.cert()).await;
    carer.goto(&format!("{}/care/register", hub.url())).await;
    carer.assert_accessible(&axe).await;
    carer.set_value("#f-region", &region).await;
    carer.fill("#f-name", "Anja Sommerfeld").await;
    carer.fill("#f-email", "anja.sommerfeld@example.org").await;
    carer.fill("#f-phone", "05332 778899").await;
    carer.fill("#f-password", PASSWORD).await;
    carer.fill("#f-repeat", PASSWORD).await;
    carer.click("#f-consent").await;
    carer
        .click_and_load("form[action='/care/register'] button[type=submit]")
        .await;
    assert!(
        carer.url().await.ends_with("/care?welcome=1"),
        "{}",
        carer.text().await
    );
    carer.assert_accessible(&axe).await;
    let caregiver =
        hub.one("SELECT id FROM caregivers WHERE email = 'anja.sommerfeld@example.org'");
    assert_eq!(
        hub.one(
            "SELECT role || ' ' || caregiver_id || ' ' || region_id FROM accounts
             WHERE username = 'anja.sommerfeld-at-example.org'"
        ),
        format!("caregiver {caregiver} {region}")
    );
    assert!(!carer.text().await.contains("Dieter"));

    // She asks to act for Dieter with the number from his ticket.
    carer.fill("#f-number", &number).await;
    carer.fill("#f-name", "Dieter Kusche").await;
    carer
        .click_and_load("form[action='/care/link-requests'] button[type=submit]")
        .await;
    assert!(carer.url().await.ends_with("/care?requested=1"));
    carer.assert_accessible(&axe).await;
    let request = hub.one(&format!(
        "SELECT id FROM caregiver_link_requests WHERE caregiver_id = '{caregiver}'
         AND resident_id = '{dieter}' AND status = 'pending'"
    ));
    // Nothing of Dieter before his consent.
    let early = carer.fetch(&format!("/care/people/{dieter}")).await;
    assert_eq!(early["status"], 404, "{early:#}");
    assert!(!field(&early, "text").contains("Stobenstraße"));
    assert!(!carer.text().await.contains("Stobenstraße"));
    assert_eq!(
        count(
            &hub,
            &format!("SELECT count(*) FROM caregiver_links WHERE caregiver_id = '{caregiver}'")
        ),
        0
    );

    // Staff ask Dieter and record how he agreed.
    let staff = Browser::start(&hub.cert()).await;
    let (admin_user, admin_password) = admin(&hub);
    login(&staff, &hub, &axe, &admin_user, &admin_password).await;
    staff.assert_accessible(&axe).await;
    staff
        .goto(&format!("{}/console/link-requests", hub.url()))
        .await;
    staff.assert_accessible(&axe).await;
    assert!(staff.text().await.contains("Anja Sommerfeld"));
    let confirm = format!("form[action^='/console/link-requests/{request}/confirm']");
    staff
        .set_value(&format!("{confirm} select[name=consent_how]"), "in_person")
        .await;
    staff
        .click_and_load(&format!("{confirm} button[type=submit]"))
        .await;
    assert!(
        staff.url().await.contains("/console/link-requests"),
        "{}",
        staff.text().await
    );
    staff.assert_accessible(&axe).await;
    let (how, by, status, decided_by, linked): (String, String, String, String, String) = hub
        .db()
        .query_row(
            "SELECT l.consent_how, l.consent_recorded_by, q.status, q.decided_by,
                    l.caregiver_id || ' ' || l.resident_id
             FROM caregiver_link_requests q JOIN caregiver_links l ON l.id = q.link_id
             WHERE q.id = ?1",
            [&request],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("the confirmed link");
    assert_eq!(how, "in_person");
    assert_eq!(by, format!("account:{admin_user}"));
    assert_eq!(status, "confirmed");
    assert_eq!(decided_by, format!("account:{admin_user}"));
    assert_eq!(linked, format!("{caregiver} {dieter}"));
    staff.quit().await;

    // Now Dieter is hers: she books him a ride to the practice.
    carer.goto(&format!("{}/care", hub.url())).await;
    carer.find(&format!("#p-{dieter}")).await;
    assert!(carer.text().await.contains("Dieter Kusche"));
    carer.assert_accessible(&axe).await;
    carer
        .click_and_load(&format!("a[href='/care/people/{dieter}/ride']"))
        .await;
    carer.assert_accessible(&axe).await;
    let day = hub::demo::demo_week(region_today())[0];
    carer.set_value("#f-destination", &practice(&hub)).await;
    carer.set_value("#f-date", &day.to_string()).await;
    carer.set_value("#f-time", "10:00").await;
    let ride_id = carer
        .execute(
            "return document.querySelector('input[name=ride_id]').value;",
            json!([]),
        )
        .await;
    carer
        .click_and_load(&format!(
            "form[action='/care/people/{dieter}/ride'] button[type=submit]"
        ))
        .await;
    let code = booking_code(&carer).await;
    carer.assert_accessible(&axe).await;
    let (id, booked_for, booked_by, channel, start, end, planning): (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = hub
        .db()
        .query_row(
            "SELECT id, resident_id, caregiver_id, channel, pickup_window_start,
                    pickup_window_end, planning
             FROM ride_requests WHERE booking_code = ?1",
            [&code],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .expect("the booked ride");
    assert_eq!(json!(id), ride_id, "the form's own id");
    assert_eq!(booked_for, dieter);
    assert_eq!(booked_by, caregiver);
    assert_eq!(channel, "web");
    let page = carer.text().await;
    assert!(page.contains(&code), "{page}");
    // The planner's answer at once, as the kiosk gives it: the pickup window.
    let (start, end) = (
        start.unwrap_or_else(|| panic!("not served: {planning:?}")),
        end.expect("window end"),
    );
    assert!(page.contains(&hhmm(&start)), "{start}: {page}");
    assert!(page.contains(&hhmm(&end)), "{end}: {page}");

    // The ticket: a link on the page, a PDF with the code.
    carer
        .find(&format!("a[href='/care/tickets/{code}.pdf']"))
        .await;
    let ticket = carer.fetch(&format!("/care/tickets/{code}.pdf")).await;
    assert_eq!(ticket["status"], 200, "{}", field(&ticket, "text"));
    assert_eq!(field(&ticket, "type"), "application/pdf");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(field(&ticket, "base64"))
        .expect("base64");
    let text = pdf_text(&bytes);
    assert!(text.contains(&code), "{text}");
    assert!(text.contains("Dieter Kusche"), "{text}");
    assert!(text.contains(&number), "the resident number: {text}");

    // A ride the buses cannot serve (Monday 17:50, after every shift): the reason and the
    // alternatives as buttons; taking one books it with a pickup window.
    let monday = *hub::demo::demo_week(region_today())
        .iter()
        .find(|d| d.weekday().number_from_monday() == 1)
        .expect("the demo week has a Monday");
    carer
        .goto(&format!("{}/care/people/{dieter}/ride", hub.url()))
        .await;
    carer.set_value("#f-destination", &practice(&hub)).await;
    carer.set_value("#f-date", &monday.to_string()).await;
    carer.set_value("#f-time", "17:50").await;
    carer
        .click_and_load(&format!(
            "form[action='/care/people/{dieter}/ride'] button[type=submit]"
        ))
        .await;
    let late = booking_code(&carer).await;
    carer.assert_accessible(&axe).await;
    let (status, planning, asked): (String, Option<String>, String) = hub
        .db()
        .query_row(
            "SELECT status, planning, appointment_at FROM ride_requests WHERE booking_code = ?1",
            [&late],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the late ride");
    assert_eq!(status, "requested");
    let planning: Value = serde_json::from_str(&planning.expect("a ride not served says why"))
        .expect("planning JSON");
    let offered = planning["alternatives"].as_array().map_or(0, Vec::len);
    assert!(offered > 0, "{planning:#}");
    let choices = format!("form[action='/care/bookings/{late}/alternative']");
    let buttons = carer
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([choices]),
        )
        .await;
    assert_eq!(buttons, json!(offered), "{planning:#}");
    let page = carer.text().await;
    assert!(
        page.contains(planning["message_de"].as_str().unwrap_or("?")),
        "{page}"
    );
    carer
        .click_and_load(&format!("{choices} button[type=submit]"))
        .await;
    carer.assert_accessible(&axe).await;
    let (status, moved, start): (String, String, Option<String>) = hub
        .db()
        .query_row(
            "SELECT status, appointment_at, pickup_window_start FROM ride_requests
             WHERE booking_code = ?1",
            [&late],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the moved ride");
    assert_eq!(status, "confirmed");
    assert_ne!(moved, asked);
    let start = start.expect("a pickup window now");
    assert!(carer.text().await.contains(&hhmm(&start)));

    // Counselling at the IMBUS in Schöppenstedt.
    carer
        .goto(&format!("{}/care/people/{dieter}", hub.url()))
        .await;
    carer.assert_accessible(&axe).await;
    assert!(carer.text().await.contains(&code));
    carer
        .click_and_load(&format!("a[href='/care/people/{dieter}/counselling']"))
        .await;
    carer.assert_accessible(&axe).await;
    let form = format!("form[action='/care/people/{dieter}/counselling']");
    carer.find(&form).await;
    let slot = carer
        .execute(
            "return document.querySelector(arguments[0] + ' input[name=slot]:checked').value;",
            json!([form]),
        )
        .await;
    carer
        .set_value(&format!("{form} select[name=topic]"), "money")
        .await;
    carer
        .click_and_load(&format!("{form} button[type=submit]"))
        .await;
    let appointment_code = booking_code(&carer).await;
    carer.assert_accessible(&axe).await;
    let (slot_id, person, channel, status, topic): (String, String, String, String, String) = hub
        .db()
        .query_row(
            "SELECT slot_id, resident_id, channel, status, topic FROM appointments
             WHERE booking_code = ?1",
            [&appointment_code],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("the appointment");
    assert_eq!(json!(slot_id), slot);
    assert_eq!(person, dieter);
    assert_eq!(
        (channel.as_str(), status.as_str(), topic.as_str()),
        ("web", "booked", "money")
    );

    // She cancels the ride; the page asks first.
    carer
        .goto(&format!("{}/care/bookings/{code}", hub.url()))
        .await;
    let cancel = format!("form[action='/care/bookings/{code}/cancel']");
    let question = carer
        .click_confirm_and_load(&format!("{cancel} button[type=submit]"))
        .await;
    assert!(!question.trim().is_empty());
    assert_eq!(
        hub.one(&format!(
            "SELECT status FROM ride_requests WHERE booking_code = '{code}'"
        )),
        "cancelled"
    );
    let gone = carer
        .execute(
            "return document.querySelector(arguments[0]) === null;",
            json!([cancel]),
        )
        .await;
    assert_eq!(gone, json!(true), "a cancelled ride has no cancel button");
    carer.assert_accessible(&axe).await;
    carer.goto(&format!("{}/care", hub.url())).await;
    carer.assert_accessible(&axe).await;
    let home = carer.text().await;
    assert!(!home.contains(&code), "{home}");
    assert!(home.contains(&appointment_code), "{home}");
    assert_eq!(
        hub.one(&format!(
            "SELECT status FROM appointments WHERE booking_code = '{appointment_code}'"
        )),
        "booked"
    );
    carer.quit().await;
}

#[tokio::test]
async fn a_caregiver_sees_only_their_own_people_and_bookings() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let api = Api::new(&hub);
    let inge = resident(&hub, "Inge Brandes");
    let mehmet = resident(&hub, "Mehmet Öztürk");
    let (clara, one_time) = caregiver_account(&api, &hub, "Clara Neumann", "clara", &inge).await;
    let (bernd, _) = caregiver_account(&api, &hub, "Bernd Ostermann", "bernd", &mehmet).await;
    let day = hub::demo::demo_week(region_today())[1];
    let own = phone_ride(&api, &hub, &inge, &clara, day).await;
    let other = phone_ride(&api, &hub, &mehmet, &bernd, day).await;
    let secrets = ["Mehmet", "Öztürk", "Burgstraße", other.as_str()];

    let browser = Browser::start(&hub.cert()).await;
    first_login(&browser, &hub, &axe, "clara", &one_time, PASSWORD).await;
    browser.goto(&format!("{}/care", hub.url())).await;
    browser.assert_accessible(&axe).await;
    let home = browser.text().await;
    assert!(
        home.contains("Inge Brandes") && home.contains(&own),
        "{home}"
    );
    for secret in secrets {
        assert!(!home.contains(secret), "{secret}: {home}");
    }
    // Her own pages open; the same addresses for Bernd's resident and booking do not.
    for path in [
        format!("/care/people/{inge}"),
        format!("/care/bookings/{own}"),
        format!("/care/tickets/{own}.pdf"),
    ] {
        let answer = browser.fetch(&path).await;
        assert_eq!(answer["status"], 200, "{path}");
    }
    for path in [
        format!("/care/people/{mehmet}"),
        format!("/care/people/{mehmet}/ride"),
        format!("/care/people/{mehmet}/counselling"),
        format!("/care/bookings/{other}"),
        format!("/care/tickets/{other}.pdf"),
    ] {
        let answer = browser.fetch(&path).await;
        let status = answer["status"].as_u64().unwrap_or_default();
        assert!(status == 403 || status == 404, "{path}: {answer:#}");
        for secret in secrets {
            assert!(!field(&answer, "text").contains(secret), "{path}: {secret}");
        }
    }
    // Opened in the browser, the refusal page says nothing of him either, and passes axe.
    browser
        .goto(&format!("{}/care/bookings/{other}", hub.url()))
        .await;
    let refused = browser.text().await;
    for secret in secrets {
        assert!(!refused.contains(secret), "{secret}: {refused}");
    }
    browser.assert_accessible(&axe).await;
    // Forms sent by hand with her valid token change nothing of his.
    browser.goto(&format!("{}/care", hub.url())).await;
    let before = hub.one(&format!(
        "SELECT count(*) || ' ' || group_concat(status) FROM ride_requests
         WHERE resident_id = '{mehmet}'"
    ));
    let date = day.to_string();
    for (path, body) in [
        (format!("/care/bookings/{other}/cancel"), String::new()),
        (
            format!("/care/people/{mehmet}/ride"),
            format!(
                "ride_id={}&destination={}&date={date}&time=11%3A00",
                uuid::Uuid::new_v4(),
                practice(&hub)
            ),
        ),
    ] {
        let status = browser
            .execute_async(
                "const [path, body, done] = arguments;
                 const token = document.querySelector('input[name=_csrf]').value;
                 fetch(path, { method: 'POST', credentials: 'same-origin',
                     headers: { 'content-type': 'application/x-www-form-urlencoded' },
                     body: '_csrf=' + encodeURIComponent(token) + (body ? '&' + body : '') })
                   .then(r => done(r.status)).catch(e => done(String(e)));",
                json!([path, body]),
            )
            .await;
        assert!(
            status == json!(404) || status == json!(403),
            "{path}: {status}"
        );
    }
    assert_eq!(
        hub.one(&format!(
            "SELECT count(*) || ' ' || group_concat(status) FROM ride_requests
             WHERE resident_id = '{mehmet}'"
        )),
        before
    );
    browser.quit().await;
}

/// Today's shift of a driver account with two rides on it.
struct Sheet {
    /// The driver's one-time password.
    one_time: String,
    account: String,
    /// Werner (walker) and Friedrich (wheelchair).
    rides: [String; 2],
    /// Werner's pickup, Friedrich's pickup, Werner's drop-off, Friedrich's drop-off.
    stops: [String; 4],
    /// When each stop is planned (RFC 3339).
    planned: [String; 4],
}

/// Sets a shift up as dispatch would: a driver account, a shift of today given to it, and two
/// confirmed rides (booked for a later day, as rides cannot be booked in the past) whose stops
/// are written onto the shift in driving order.
async fn sheet(hub: &Hub) -> Sheet {
    let api = Api::new(hub);
    let region = hub::demo::demo_region_id();
    let one_time = account(hub, "driver", "fahrer").await;
    let account = hub.one("SELECT id FROM accounts WHERE username = 'fahrer'");
    let vehicle = hub.one("SELECT id FROM vehicles WHERE name = 'Rollstuhlbus Elm-Asse'");
    let now = Utc::now();
    let text = |at: chrono::DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let shift = api
        .create_id(
            "shifts",
            json!({"region_id": region, "vehicle_id": vehicle, "driver_name": "Uwe Brandes",
                   "starts_at": text(now - chrono::Duration::hours(3)),
                   "ends_at": text(now + chrono::Duration::hours(5))}),
        )
        .await;
    api.patch("shifts", &shift, json!({"driver_account_id": account}))
        .await;
    // A working day after the demo week: no shift there, so the rides wait for dispatch.
    let mut day = region_today() + chrono::Duration::days(10);
    while day.weekday().number_from_monday() > 5 {
        day += chrono::Duration::days(1);
    }
    let practice = practice(hub);
    let mut rides = Vec::new();
    for (name, walker) in [("Werner Heuer", true), ("Friedrich Warnecke", false)] {
        let ride = api
            .create_id(
                "ride-requests",
                json!({"region_id": region, "resident_id": resident(hub, name),
                       "from_home": true, "to_destination_id": practice, "walker": walker,
                       "appointment_at": local_instant(day, 10, 0), "channel": "phone"}),
            )
            .await;
        api.patch("ride-requests", &ride, json!({"status": "confirmed"}))
            .await;
        rides.push(ride);
    }
    let mut stops = Vec::new();
    let mut planned = Vec::new();
    for (position, (ride, kind, ago)) in [
        (0, "pickup", 100),
        (1, "pickup", 80),
        (0, "dropoff", 60),
        (1, "dropoff", 40),
    ]
    .into_iter()
    .enumerate()
    {
        let at = text(now - chrono::Duration::minutes(ago));
        stops.push(
            api.create_id(
                "route-stops",
                json!({"region_id": region, "shift_id": shift, "position": position,
                       "ride_request_id": rides[ride], "kind": kind, "planned_at": at}),
            )
            .await,
        );
        planned.push(at);
    }
    Sheet {
        one_time,
        account,
        rides: rides.try_into().expect("two rides"),
        stops: stops.try_into().expect("four stops"),
        planned: planned.try_into().expect("four times"),
    }
}

/// The driver's queue as the page holds it.
async fn queue(browser: &Browser) -> Vec<Value> {
    let held = browser
        .execute(
            "return JSON.parse(localStorage.getItem(arguments[0]) || '[]');",
            json!([QUEUE]),
        )
        .await;
    held.as_array().cloned().unwrap_or_default()
}

/// The text of the element matching `css`, or `None` when there is none.
async fn text_of(browser: &Browser, css: &str) -> Option<String> {
    browser
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([css]),
        )
        .await
        .as_str()
        .map(str::to_string)
}

fn count(hub: &Hub, sql: &str) -> i64 {
    hub.db()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The event form of `kind` at `stop`.
fn event_button(stop: &str, kind: &str) -> String {
    format!("form.driver-event[data-stop='{stop}'][data-kind='{kind}'] button[type=submit]")
}

#[tokio::test]
async fn a_driver_sees_the_run_sheet_and_marks_a_pickup_and_a_no_show() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let s = sheet(&hub).await;
    let browser = Browser::start(&hub.cert()).await;
    first_login(
        &browser,
        &hub,
        &axe,
        "fahrer",
        &s.one_time,
        "fahrer-passwort-2026",
    )
    .await;
    browser.goto(&format!("{}/driver", hub.url())).await;
    browser.assert_accessible(&axe).await;

    // The stops in driving order, each with its time, first name, needs and whom to call.
    let shown = browser
        .execute(
            "return Array.from(document.querySelectorAll('li.stop')).map(li => ({
                 id: li.dataset.stop,
                 title: li.querySelector('h3').textContent,
                 place: (li.querySelector('.stop-place') || {}).textContent || '',
                 needs: (li.querySelector('.stop-needs') || {}).textContent || '',
                 tel: Array.from(li.querySelectorAll('a[href^=\"tel:\"]'))
                     .map(a => a.getAttribute('href')) }));",
            json!([]),
        )
        .await;
    let shown = shown.as_array().expect("stops");
    let ids: Vec<&str> = shown.iter().map(|s| field(s, "id")).collect();
    assert_eq!(ids, s.stops.iter().map(String::as_str).collect::<Vec<_>>());
    let expected = [
        ("Werner", "Rollator", "tel:053369920"),
        ("Friedrich", "Rollstuhl", "tel:053362291"),
        ("Werner", "Rollator", "tel:053369920"),
        ("Friedrich", "Rollstuhl", "tel:053362291"),
    ];
    for (i, (stop, (name, need, tel))) in shown.iter().zip(expected).enumerate() {
        let title = field(stop, "title");
        assert!(title.contains(&hhmm(&s.planned[i])), "{stop:#}");
        assert!(title.contains(name), "{stop:#}");
        assert!(field(stop, "needs").contains(need), "{stop:#}");
        assert!(
            stop["tel"].as_array().expect("links").contains(&json!(tel)),
            "{stop:#}"
        );
    }
    assert!(
        field(&shown[0], "place").contains("Hauptstraße 25"),
        "{:#}",
        shown[0]
    );
    let page = browser.text().await;
    assert!(
        !page.contains("Heuer") && !page.contains("Warnecke"),
        "first names only: {page}"
    );

    // Werner is picked up.
    let [
        werner_pickup,
        friedrich_pickup,
        werner_dropoff,
        friedrich_dropoff,
    ] = &s.stops;
    browser
        .click(&event_button(werner_pickup, "picked_up"))
        .await;
    eventually!(Duration::from_secs(30), "the pickup is recorded", {
        count(
            &hub,
            &format!("SELECT count(*) FROM driver_events WHERE route_stop_id = '{werner_pickup}'"),
        ) == 1
    });
    // Friedrich is not there: the page asks first.
    browser
        .click(&event_button(friedrich_pickup, "no_show"))
        .await;
    let question = browser.accept_dialog().await;
    assert!(question.contains("Friedrich"), "{question}");
    eventually!(Duration::from_secs(30), "the no-show is recorded", {
        count(
            &hub,
            &format!(
                "SELECT count(*) FROM driver_events WHERE route_stop_id = '{friedrich_pickup}'"
            ),
        ) == 1
    });
    eventually!(Duration::from_secs(10), "the queue is empty", {
        queue(&browser).await.is_empty()
    });
    let events: Vec<(String, String, String)> = {
        let conn = hub.db();
        let mut stmt = conn
            .prepare("SELECT route_stop_id, kind, account_id FROM driver_events ORDER BY kind")
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("events")
    };
    assert_eq!(
        events,
        vec![
            (
                friedrich_pickup.clone(),
                "no_show".into(),
                s.account.clone()
            ),
            (werner_pickup.clone(), "picked_up".into(), s.account.clone()),
        ]
    );
    let status =
        |table: &str, id: &str| hub.one(&format!("SELECT status FROM {table} WHERE id = '{id}'"));
    assert_eq!(status("ride_requests", &s.rides[0]), "picked_up");
    assert_eq!(status("ride_requests", &s.rides[1]), "no_show");
    assert_eq!(status("route_stops", werner_pickup), "done");
    assert_eq!(status("route_stops", friedrich_pickup), "no_show");
    assert_eq!(status("route_stops", friedrich_dropoff), "cancelled");
    assert_eq!(status("route_stops", werner_dropoff), "planned");
    // The page says so at once, and again when loaded anew.
    assert_eq!(
        text_of(&browser, &format!("#halt-{werner_pickup}-status strong")).await,
        Some("abgeholt".into())
    );
    browser.assert_accessible(&axe).await;
    browser.goto(&format!("{}/driver", hub.url())).await;
    assert_eq!(
        text_of(&browser, &format!("#halt-{friedrich_pickup}-status strong")).await,
        Some("nicht angetroffen".into())
    );
    assert_eq!(
        text_of(&browser, &format!("#halt-{friedrich_dropoff}")).await,
        None,
        "the way back is called off"
    );
    assert!(
        text_of(&browser, &event_button(werner_dropoff, "dropped_off"))
            .await
            .is_some()
    );
    assert!(
        text_of(&browser, &event_button(werner_pickup, "picked_up"))
            .await
            .is_none()
    );
    browser.assert_accessible(&axe).await;
    browser.quit().await;
}

#[tokio::test]
async fn a_no_show_marked_offline_is_queued_and_sent_once_when_back_online() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let s = sheet(&hub).await;
    let browser = Browser::start(&hub.cert()).await;
    first_login(
        &browser,
        &hub,
        &axe,
        "fahrer",
        &s.one_time,
        "fahrer-passwort-2026",
    )
    .await;
    browser.goto(&format!("{}/driver", hub.url())).await;
    browser.assert_accessible(&axe).await;
    let stop = &s.stops[1];
    let event = browser
        .execute(
            "return document.querySelector(arguments[0]).value;",
            json!([format!(
                "form.driver-event[data-stop='{stop}'][data-kind='no_show'] input[name=event_id]"
            )]),
        )
        .await;
    let event = event.as_str().expect("event id").to_string();

    // In a dead spot: the tap is kept on the phone, nothing reaches the hub.
    browser.set_offline(true).await;
    browser.click(&event_button(stop, "no_show")).await;
    browser.accept_dialog().await;
    eventually!(Duration::from_secs(15), "the page says it waits", {
        text_of(&browser, "#driver-queue-status")
            .await
            .is_some_and(|t| t.contains('1') && t.contains("wartet"))
    });
    let held = queue(&browser).await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["id"], json!(event));
    assert_eq!(held[0]["kind"], "no_show");
    assert_eq!(held[0]["stop"], json!(stop));
    assert!(
        text_of(&browser, &format!("#halt-{stop}-meldung"))
            .await
            .is_some_and(|t| !t.trim().is_empty())
    );
    let locked = browser
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0]))
                 .every(b => b.disabled);",
            json!([format!("form.driver-event[data-stop='{stop}'] button")]),
        )
        .await;
    assert_eq!(locked, json!(true), "the stop's buttons wait");
    browser.assert_accessible(&axe).await;
    // Still offline after a retry or two: the hub has nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(count(&hub, "SELECT count(*) FROM driver_events"), 0);
    assert_eq!(
        hub.one(&format!(
            "SELECT status FROM ride_requests WHERE id = '{}'",
            s.rides[1]
        )),
        "confirmed"
    );
    assert_eq!(queue(&browser).await.len(), 1);

    // Back online: the queue is sent by itself, once.
    browser.set_offline(false).await;
    eventually!(Duration::from_secs(90), "the queued event arrives", {
        count(
            &hub,
            &format!("SELECT count(*) FROM driver_events WHERE id = '{event}'"),
        ) == 1
    });
    eventually!(Duration::from_secs(30), "the queue empties", {
        queue(&browser).await.is_empty()
    });
    assert_eq!(
        hub.one(&format!(
            "SELECT route_stop_id || ' ' || kind || ' ' || account_id FROM driver_events
             WHERE id = '{event}'"
        )),
        format!("{stop} no_show {}", s.account)
    );
    assert_eq!(
        hub.one(&format!(
            "SELECT status FROM ride_requests WHERE id = '{}'",
            s.rides[1]
        )),
        "no_show"
    );
    eventually!(Duration::from_secs(10), "the page says it is sent", {
        text_of(&browser, "#driver-queue-status")
            .await
            .is_some_and(|t| t.trim().is_empty())
    });

    // Sent a second time (its answer lost on the way, the page loaded again): still one event.
    let versions = "SELECT (SELECT total(version) FROM ride_requests)
                    + (SELECT total(version) FROM route_stops)";
    let before = hub.one(&format!("SELECT CAST(({versions}) AS TEXT)"));
    browser
        .execute(
            "localStorage.setItem(arguments[0], JSON.stringify(arguments[1])); return null;",
            json!([QUEUE, held]),
        )
        .await;
    browser.goto(&format!("{}/driver", hub.url())).await;
    eventually!(Duration::from_secs(30), "the repeat is answered", {
        queue(&browser).await.is_empty()
    });
    assert_eq!(count(&hub, "SELECT count(*) FROM driver_events"), 1);
    assert_eq!(
        hub.one(&format!("SELECT CAST(({versions}) AS TEXT)")),
        before,
        "nothing written again"
    );
    assert_eq!(
        text_of(&browser, "#driver-queue-error")
            .await
            .unwrap_or_default()
            .trim(),
        "",
        "the repeat is not refused"
    );
    browser.assert_accessible(&axe).await;
    browser.quit().await;
}

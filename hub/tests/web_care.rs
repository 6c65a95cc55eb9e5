//! Caregivers on the web: registration, link requests confirmed by a dispatcher with the
//! resident's consent, and booking, seeing and cancelling for the people one cares for, with the
//! ticket PDF. A caregiver sees only their own people: everything else is 404.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, Page, account, hidden_value};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

const PASSWORD: &str = "ein langes Passwort 42";

/// A caregiver account for caregiver record `caregiver`; returns its password.
async fn caregiver_account(hub: &TestHub, username: &str, f: &Fixture, caregiver: &str) -> String {
    hub.create(
        "accounts",
        json!({"username": username, "display_name": format!("{username} Test"),
               "role": "caregiver", "region_id": f.region, "caregiver_id": caregiver}),
    )
    .await;
    let password = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, username, &password).expect("password");
    password
}

/// Links the fixture's caregiver to the fixture's resident through the API.
async fn link(hub: &TestHub, f: &Fixture) {
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
               "consent_at": "2026-01-05T10:00:00Z", "consent_how": "paper"}),
    )
    .await;
}

/// The fixture's caregiver, linked and logged in.
async fn linked_browser<'a>(hub: &'a TestHub, f: &Fixture) -> Browser<'a> {
    link(hub, f).await;
    let password = caregiver_account(hub, "jonas", f, &f.caregiver).await;
    let browser = Browser::new(hub);
    browser.login("jonas", &password).await;
    browser
}

/// A second caregiver of the region, linked to nobody, logged in.
async fn other_browser<'a>(hub: &'a TestHub, f: &Fixture) -> Browser<'a> {
    let other = hub
        .create(
            "caregivers",
            json!({"region_id": f.region, "name": "Petra Lange", "phone": "0171 999888"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let password = caregiver_account(hub, "petra", f, &other).await;
    let browser = Browser::new(hub);
    browser.login("petra", &password).await;
    browser
}

/// A shift on the fixture's day, so rides there can be planned.
async fn shift(hub: &TestHub, f: &Fixture) {
    hub.create(
        "shifts",
        json!({"region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, 7, 0), "ends_at": ahead(f.day, 16, 0)}),
    )
    .await;
}

fn scalar(hub: &TestHub, sql: &str, arg: &str) -> String {
    hub.store
        .blocking(|c| Ok(c.query_row(sql, [arg], |r| r.get::<_, String>(0))?))
        .expect(sql)
}

fn count(hub: &TestHub, sql: &str, arg: &str) -> i64 {
    hub.store
        .blocking(|c| Ok(c.query_row(sql, [arg], |r| r.get(0))?))
        .expect(sql)
}

/// The local date (YYYY-MM-DD) `days` ahead.
fn date_ahead(days: i64) -> String {
    ahead(days, 12, 0)[..10].to_string()
}

/// Books a ride through the form at 10:00 on the fixture's day; returns the form's answer and
/// the ride id the form carried.
async fn book_ride(browser: &Browser<'_>, f: &Fixture, time: &str) -> (Page, String) {
    let path = format!("/care/people/{}/ride", f.resident);
    let form = browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let ride_id = hidden_value(&form.body, "ride_id").expect("ride id");
    let date = date_ahead(f.day);
    let answer = browser
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("ride_id", &ride_id),
                ("destination", &f.destination),
                ("date", &date),
                ("time", time),
                ("walker", "yes"),
            ],
        )
        .await;
    (answer, ride_id)
}

fn register_fields<'a>(region: &'a str, email: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("region", region),
        ("name", name),
        ("email", email),
        ("phone", "05331 123456"),
        ("password", PASSWORD),
        ("repeat", PASSWORD),
        ("consent", "yes"),
    ]
}

#[tokio::test]
async fn a_caregiver_registers_and_is_logged_in_and_a_second_registration_is_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = Browser::new(&hub);
    let fields = register_fields(&f.region, "Anna.Schmidt@example.org", "Anna Schmidt");
    let done = browser
        .submit("/care/register", "/care/register", &fields)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/care?welcome=1"));
    let home = browser.get("/care?welcome=1").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Willkommen"), "{}", home.body);
    assert!(
        home.body.contains("anna.schmidt-at-example.org"),
        "{}",
        home.body
    );

    let caregiver = scalar(
        &hub,
        "SELECT id FROM caregivers WHERE email = ?1",
        "Anna.Schmidt@example.org",
    );
    let (role, linked, region, hash): (String, String, String, Option<String>) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT role, caregiver_id, region_id, password_hash FROM accounts
                 WHERE username = 'anna.schmidt-at-example.org'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .expect("account");
    assert_eq!(role, "caregiver");
    assert_eq!(linked, caregiver);
    assert_eq!(region, f.region);
    assert!(hash.expect("password set").starts_with("$argon2id$"));

    // Logging out and in again with the shown user name works.
    let again = Browser::new(&hub);
    let login = again
        .password_step("anna.schmidt-at-example.org", PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);

    // The same address again (other case): refused, nothing made.
    let (caregivers, accounts) = (hub.count("caregivers"), hub.count("accounts"));
    let second = Browser::new(&hub);
    let fields = register_fields(&f.region, "anna.schmidt@EXAMPLE.org", "Anna Zwei");
    let refused = second
        .submit("/care/register", "/care/register", &fields)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("schon jemand registriert"));
    assert_eq!(hub.count("caregivers"), caregivers);
    assert_eq!(hub.count("accounts"), accounts);
}

#[tokio::test]
async fn registration_refuses_bad_input_and_forms_from_elsewhere() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let (caregivers, accounts) = (hub.count("caregivers"), hub.count("accounts"));
    let long_name = "A".repeat(200);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            register_fields(&f.region, "kein-at-zeichen.de", "Anna"),
            "gültige E-Mail-Adresse",
        ),
        (
            register_fields(&f.region, "anna@example.org", &long_name),
            "Name ist zu lang",
        ),
        (
            register_fields("no-such-region", "anna@example.org", "Anna"),
            "Region",
        ),
        (
            vec![
                ("region", f.region.as_str()),
                ("name", "Anna"),
                ("email", "anna@example.org"),
                ("password", "kurz"),
                ("repeat", "kurz"),
                ("consent", "yes"),
            ],
            "zu kurz",
        ),
        (
            vec![
                ("region", f.region.as_str()),
                ("name", "Anna"),
                ("email", "anna@example.org"),
                ("password", PASSWORD),
                ("repeat", PASSWORD),
            ],
            "zu",
        ),
    ];
    for (fields, text) in cases {
        let browser = Browser::new(&hub);
        let answer = browser
            .submit("/care/register", "/care/register", &fields)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{text}: {}",
            answer.body
        );
        assert!(answer.body.contains(text), "{text}: {}", answer.body);
    }
    // Without the token, or from another origin: 403.
    let browser = Browser::new(&hub);
    browser.get("/care/register").await;
    let fields = register_fields(&f.region, "anna@example.org", "Anna");
    let no_token = browser.post("/care/register", &fields).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let mut evil = Browser::new(&hub);
    evil.origin = "https://evil.example".into();
    let elsewhere = evil
        .submit("/care/register", "/care/register", &fields)
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert_eq!(hub.count("caregivers"), caregivers);
    assert_eq!(hub.count("accounts"), accounts);
}

#[tokio::test]
async fn a_link_request_becomes_a_link_only_when_a_dispatcher_records_consent() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let number = hub
        .store
        .blocking(|c| {
            hub::sync::riders::number_of(c, &hub::store::logs::Who::cli("test"), &f.resident)
        })
        .expect("number")
        .to_string();
    let password = caregiver_account(&hub, "jonas", &f, &f.caregiver).await;
    let carer = Browser::new(&hub);
    carer.login("jonas", &password).await;

    // Right number with a wrong name, an unknown number, and the right pair: the same answer.
    let unknown = "000-000-0";
    let mut answers = Vec::new();
    for (num, name) in [
        (number.as_str(), "Erna Meier"),
        (unknown, "Erna Köhler"),
        (number.as_str(), "erna  köhler"),
    ] {
        let answer = carer
            .submit(
                "/care",
                "/care/link-requests",
                &[("number", num), ("name", name)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answers.push(answer.location);
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(hub.count("caregiver_link_requests"), 3);
    // Nothing of the resident before the consent.
    let before = carer.get(&format!("/care/people/{}", f.resident)).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);
    assert!(!carer.get("/care").await.body.contains("Lindenweg"));
    // A caregiver may not open the dispatcher's page nor decide.
    assert_eq!(
        carer.get("/console/link-requests").await.status,
        StatusCode::FORBIDDEN
    );
    let any = scalar(
        &hub,
        "SELECT id FROM caregiver_link_requests WHERE caregiver_id = ?1 LIMIT 1",
        &f.caregiver,
    );
    let self_confirm = carer
        .submit(
            "/care",
            &format!("/console/link-requests/{any}/confirm"),
            &[("consent_how", "phone")],
        )
        .await;
    assert_eq!(self_confirm.status, StatusCode::FORBIDDEN);

    let (_, dispatcher_password) = account(&hub, "dispatcher", "disp", Some(&f.region)).await;
    let dispatcher = Browser::new(&hub);
    dispatcher.login("disp", &dispatcher_password).await;
    let list = dispatcher.get("/console/link-requests").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Jonas Köhler"));
    assert!(list.body.contains("passen zu keiner Person"));
    let matched = scalar(
        &hub,
        "SELECT id FROM caregiver_link_requests WHERE resident_id = ?1",
        &f.resident,
    );
    let unmatched: Vec<String> = hub
        .store
        .blocking(|c| {
            let mut stmt =
                c.prepare("SELECT id FROM caregiver_link_requests WHERE resident_id IS NULL")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .expect("ids");
    assert_eq!(unmatched.len(), 2);
    // An unknown request: 404; a way of consent the web does not record: 400.
    let unknown_request = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{}/confirm", id()),
            &[("consent_how", "phone")],
        )
        .await;
    assert_eq!(unknown_request.status, StatusCode::NOT_FOUND);
    let kiosk = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{matched}/confirm"),
            &[("consent_how", "kiosk")],
        )
        .await;
    assert_eq!(kiosk.status, StatusCode::BAD_REQUEST);
    assert_eq!(hub.count("caregiver_links"), 0);
    // An unmatched request cannot be confirmed; it is refused.
    let wrong = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{}/confirm", unmatched[0]),
            &[("consent_how", "phone")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    let refused = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{}/refuse", unmatched[0]),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    // Consent on the phone: the link is made and says who recorded it.
    let confirmed = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{matched}/confirm"),
            &[("consent_how", "phone")],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let (how, by, status, decided_by): (String, String, String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT l.consent_how, l.consent_recorded_by, q.status, q.decided_by
                 FROM caregiver_link_requests q JOIN caregiver_links l ON l.id = q.link_id
                 WHERE q.id = ?1",
                [&matched],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .expect("link");
    assert_eq!(how, "phone");
    assert_eq!(by, "account:disp");
    assert_eq!(status, "confirmed");
    assert_eq!(decided_by, "account:disp");
    // Deciding twice is refused.
    let twice = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{matched}/refuse"),
            &[],
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    let after = carer.get(&format!("/care/people/{}", f.resident)).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert!(after.body.contains("Erna Köhler"));
    assert!(after.body.contains(&number));
    // Audited reads of the resident.
    let reads = count(
        &hub,
        "SELECT count(*) FROM audit_log WHERE actor = 'account:jonas' AND kind = 'residents'
         AND entity_id = ?1",
        &f.resident,
    );
    assert!(reads >= 1);
}

#[tokio::test]
async fn a_refused_request_gives_no_access() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let number = hub
        .store
        .blocking(|c| {
            hub::sync::riders::number_of(c, &hub::store::logs::Who::cli("test"), &f.resident)
        })
        .expect("number")
        .to_string();
    let password = caregiver_account(&hub, "jonas", &f, &f.caregiver).await;
    let carer = Browser::new(&hub);
    carer.login("jonas", &password).await;
    carer
        .submit(
            "/care",
            "/care/link-requests",
            &[("number", &number), ("name", "Erna Köhler")],
        )
        .await;
    let request = scalar(
        &hub,
        "SELECT id FROM caregiver_link_requests WHERE caregiver_id = ?1",
        &f.caregiver,
    );
    let (_, dispatcher_password) = account(&hub, "dispatcher", "disp", Some(&f.region)).await;
    let dispatcher = Browser::new(&hub);
    dispatcher.login("disp", &dispatcher_password).await;
    let refused = dispatcher
        .submit(
            "/console/link-requests",
            &format!("/console/link-requests/{request}/refuse"),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    assert_eq!(hub.count("caregiver_links"), 0);
    let page = carer.get(&format!("/care/people/{}", f.resident)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(carer.get("/care").await.body.contains("nicht bestätigt"));
    // Bad input on the request form: 400, nothing stored; a form without token: 403.
    let before = hub.count("caregiver_link_requests");
    let bad = carer
        .submit(
            "/care",
            "/care/link-requests",
            &[("number", "123-456-0"), ("name", "Erna Köhler")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let long_name = "E".repeat(200);
    let too_long = carer
        .submit(
            "/care",
            "/care/link-requests",
            &[("number", &number), ("name", &long_name)],
        )
        .await;
    assert_eq!(
        too_long.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_long.body
    );
    let no_token = carer
        .post(
            "/care/link-requests",
            &[("number", &number), ("name", "Erna Köhler")],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(hub.count("caregiver_link_requests"), before);
}

#[tokio::test]
async fn a_caregiver_books_a_ride_once_sees_it_prints_the_ticket_and_cancels_it() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    shift(&hub, &f).await;
    let browser = linked_browser(&hub, &f).await;
    let (first, ride_id) = book_ride(&browser, &f, "10:00").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    // The same form sent again: the same ride.
    let path = format!("/care/people/{}/ride", f.resident);
    let form = browser.get(&path).await;
    let date = date_ahead(f.day);
    let again = browser
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("ride_id", &ride_id),
                ("destination", &f.destination),
                ("date", &date),
                ("time", "10:00"),
                ("walker", "yes"),
            ],
        )
        .await;
    assert_eq!(again.location, first.location);
    let (rides, channel, caregiver, code): (i64, String, String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*), max(channel), max(caregiver_id), max(booking_code)
                 FROM ride_requests WHERE resident_id = ?1",
                [&f.resident],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .expect("ride");
    assert_eq!(rides, 1);
    assert_eq!(channel, "web");
    assert_eq!(caregiver, f.caregiver);
    let location = first.location.expect("location");
    assert_eq!(location, format!("/care/bookings/{code}"));

    // Its page: pickup window, and it is listed on the caregiver's start page.
    let shown = browser.get(&location).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.body.contains("Abholzeit"));
    assert!(shown.body.contains("zwischen"), "{}", shown.body);
    assert!(browser.get("/care").await.body.contains(&code));

    // The ticket PDF has the code.
    let pdf = browser.get(&format!("/care/tickets/{code}.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert_eq!(
        pdf.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let text = pdf_text(&hub, &browser, &code).await;
    assert!(text.contains(&code), "{text}");
    assert!(text.contains("Fahrschein"));
    assert!(text.contains("05332 1234"));

    // Cancel through the page.
    let cancelled = browser
        .submit(&location, &format!("{location}/cancel"), &[])
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    let status = scalar(
        &hub,
        "SELECT status FROM ride_requests WHERE booking_code = ?1",
        &code,
    );
    assert_eq!(status, "cancelled");
    assert!(browser.get(&location).await.body.contains("Abgesagt"));
}

/// The text of a ticket PDF, read back with `pdftotext`.
async fn pdf_text(hub: &TestHub, browser: &Browser<'_>, code: &str) -> String {
    let response = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(hub.dir.path().join("tls/hub-cert.pem")).expect("certificate"),
            )
            .expect("pem"),
        )
        .resolve("localhost", hub.addr)
        .build()
        .expect("client")
        .get(hub.url(&format!("/care/tickets/{code}.pdf")))
        .header(
            "cookie",
            format!(
                "__Host-dorfpunkt={}; __Host-dorfpunkt-lang={}",
                browser.cookie("__Host-dorfpunkt").expect("session"),
                browser
                    .cookie("__Host-dorfpunkt-lang")
                    .unwrap_or_else(|| "de".into())
            ),
        )
        .send()
        .await
        .expect("ticket");
    let bytes = response.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF"));
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ticket.pdf");
    std::fs::write(&path, &bytes).expect("write");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test]
async fn bad_ride_input_is_refused_and_changes_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = linked_browser(&hub, &f).await;
    let path = format!("/care/people/{}/ride", f.resident);
    let date = date_ahead(f.day);
    let past = date_ahead(-2);
    let unknown = id();
    let cases: Vec<(&str, &str, &str)> = vec![
        (f.destination.as_str(), date.as_str(), "25:00"),
        (f.destination.as_str(), "2026-02-30", "10:00"),
        (f.destination.as_str(), past.as_str(), "10:00"),
        (unknown.as_str(), date.as_str(), "10:00"),
    ];
    for (destination, day, time) in cases {
        let form = browser.get(&path).await;
        let ride_id = hidden_value(&form.body, "ride_id").expect("ride id");
        let answer = browser
            .post(
                &path,
                &[
                    ("_csrf", &form.csrf()),
                    ("ride_id", &ride_id),
                    ("destination", destination),
                    ("date", day),
                    ("time", time),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{day} {time}: {}",
            answer.body
        );
    }
    // Without the token: 403.
    let no_token = browser
        .post(
            &path,
            &[
                ("ride_id", &id()),
                ("destination", &f.destination),
                ("date", &date),
                ("time", "10:00"),
            ],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(hub.count("ride_requests"), 0);
}

#[tokio::test]
async fn another_caregivers_resident_is_not_found_on_every_route() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let mine = linked_browser(&hub, &f).await;
    let (booked, _) = book_ride(&mine, &f, "10:00").await;
    let location = booked.location.expect("booked");
    let code = location.rsplit('/').next().expect("code").to_string();

    let other = other_browser(&hub, &f).await;
    let home = other.get("/care").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains("Erna"));
    for path in [
        format!("/care/people/{}", id()),
        "/care/bookings/AAAA-AAAA-A".to_string(),
        "/care/tickets/nothing.pdf".to_string(),
        format!("/care/people/{}", f.resident),
        format!("/care/people/{}/ride", f.resident),
        format!("/care/people/{}/counselling", f.resident),
        location.clone(),
        format!("/care/tickets/{code}.pdf"),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
    }
    let token = home.csrf();
    let date = date_ahead(f.day);
    for (path, fields) in [
        (format!("{location}/cancel"), vec![]),
        (
            format!("/care/people/{}/ride", f.resident),
            vec![
                ("ride_id", id()),
                ("destination", f.destination.clone()),
                ("date", date.clone()),
                ("time", "11:00".to_string()),
            ],
        ),
    ] {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let answer = other.post(&path, &all).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.body
        );
    }
    assert_eq!(hub.count("ride_requests"), 1);
    assert_eq!(
        scalar(
            &hub,
            "SELECT status FROM ride_requests WHERE booking_code = ?1",
            &code
        ),
        "requested"
    );

    // Other roles may not use the caregiver pages at all.
    let (_, driver_password) = account(&hub, "driver", "fahrer", Some(&f.region)).await;
    let driver = Browser::new(&hub);
    driver.login("fahrer", &driver_password).await;
    assert_eq!(driver.get("/care").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        driver
            .get(&format!("/care/tickets/{code}.pdf"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_caregiver_books_a_free_counselling_slot_but_not_the_kiosk_share() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let published = hub
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/imbus-visits/{}", f.visit),
            Some(json!({"status": "published"})),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:#}", published.body);
    let free = hub
        .create(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit,
                   "starts_at": ahead(f.day, 9, 40), "ends_at": ahead(f.day, 10, 0)}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let browser = linked_browser(&hub, &f).await;
    let path = format!("/care/people/{}/counselling", f.resident);
    let form = browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains(&free));
    assert!(
        !form.body.contains(&f.slot),
        "the kiosk's share is not offered"
    );
    let appointment_id = hidden_value(&form.body, "appointment_id").expect("id");
    // The kiosk's slot sent by hand: refused, nothing booked.
    let share = browser
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("appointment_id", &appointment_id),
                ("slot", &f.slot),
                ("topic", "care"),
            ],
        )
        .await;
    assert_eq!(share.status, StatusCode::BAD_REQUEST, "{}", share.body);
    assert_eq!(hub.count("appointments"), 0);
    let booked = browser
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("appointment_id", &appointment_id),
                ("slot", &free),
                ("topic", "care"),
            ],
        )
        .await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let (channel, resident, code): (String, String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT channel, resident_id, booking_code FROM appointments WHERE slot_id = ?1",
                [&free],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .expect("appointment");
    assert_eq!(channel, "web");
    assert_eq!(resident, f.resident);
    let location = format!("/care/bookings/{code}");
    assert_eq!(booked.location.as_deref(), Some(location.as_str()));
    // The slot is no longer offered; the appointment can be cancelled.
    assert!(!browser.get(&path).await.body.contains(&free));
    let cancelled = browser
        .submit(&location, &format!("{location}/cancel"), &[])
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    assert_eq!(
        scalar(
            &hub,
            "SELECT status FROM appointments WHERE booking_code = ?1",
            &code
        ),
        "cancelled"
    );
}

#[tokio::test]
async fn a_ride_that_cannot_be_served_offers_alternatives_that_book_it() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    hub.create(
        "shifts",
        json!({"region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, 7, 0), "ends_at": ahead(f.day, 10, 0)}),
    )
    .await;
    let browser = linked_browser(&hub, &f).await;
    let (booked, _) = book_ride(&browser, &f, "15:00").await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let location = booked.location.expect("location");
    let page = browser.get(&location).await;
    assert!(page.body.contains("noch offen"), "{}", page.body);
    assert!(page.body.contains("Diese Zeiten gehen"), "{}", page.body);
    let before = scalar(
        &hub,
        "SELECT appointment_at FROM ride_requests WHERE resident_id = ?1",
        &f.resident,
    );
    let taken = browser
        .submit(
            &location,
            &format!("{location}/alternative"),
            &[("choice", "0")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    let (after, status, start): (String, String, Option<String>) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT appointment_at, status, pickup_window_start FROM ride_requests
                 WHERE resident_id = ?1",
                [&f.resident],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .expect("ride");
    assert_ne!(after, before);
    assert_eq!(status, "confirmed");
    assert!(start.is_some());
    assert_eq!(hub.count("ride_requests"), 1);
    // A choice that does not exist: 400.
    let none = browser
        .submit(
            &location,
            &format!("{location}/alternative"),
            &[("choice", "7")],
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
}

/// Chooses a language through the language link of a page; returns the answer.
async fn choose(browser: &Browser<'_>, tag: &str, back: &str) -> Page {
    let page = browser
        .get(&format!("/care/language?lang={tag}&back={back}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page
}

/// The opening `<html …>` tag of a page.
fn html_tag(page: &Page) -> &str {
    let start = page.body.find("<html").expect("an html element");
    let end = start + page.body[start..].find('>').expect("its end");
    &page.body[start..=end]
}

/// What each language must show on the caregiver pages (written here by hand, not taken from the
/// code): html tag, start page title, booking button, ride form question, counselling title,
/// booking code label, pickup time label, registration button, log-in button, not found.
const LANGUAGES: &[(&str, &str, [&str; 9])] = &[
    (
        "de",
        r#"<html lang="de" dir="ltr">"#,
        [
            "Meine Personen",
            "Fahrt buchen",
            "Wohin?",
            "Beratung für Erna Köhler",
            "Buchungscode",
            "Abholzeit",
            "Registrieren",
            "Anmelden",
            "Nicht gefunden",
        ],
    ),
    (
        "en",
        r#"<html lang="en" dir="ltr">"#,
        [
            "My people",
            "Book a ride",
            "Where to?",
            "Counselling for Erna Köhler",
            "Booking code",
            "Pickup time",
            "Register",
            "Log in",
            "Not found",
        ],
    ),
    (
        "uk",
        r#"<html lang="uk" dir="ltr">"#,
        [
            "Мої підопічні",
            "Замовити поїздку",
            "Куди?",
            "Консультація для: Erna Köhler",
            "Код бронювання",
            "Час подачі",
            "Зареєструватися",
            "Увійти",
            "Не знайдено",
        ],
    ),
    (
        "ar",
        r#"<html lang="ar" dir="rtl">"#,
        [
            "الأشخاص الذين أرعاهم",
            "حجز رحلة",
            "إلى أين؟",
            "استشارة من أجل \u{2068}Erna Köhler\u{2069}",
            "رمز الحجز",
            "وقت الاصطحاب",
            "تسجيل",
            "تسجيل الدخول",
            "غير موجود",
        ],
    ),
    (
        "tr",
        r#"<html lang="tr" dir="ltr">"#,
        [
            "Baktığım kişiler",
            "Yolculuk rezerve et",
            "Nereye?",
            "Erna Köhler için danışmanlık",
            "Rezervasyon kodu",
            "Alınma saati",
            "Kaydol",
            "Giriş yap",
            "Bulunamadı",
        ],
    ),
];

#[tokio::test]
async fn every_caregiver_page_speaks_the_chosen_language_with_its_direction() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    shift(&hub, &f).await;
    let browser = linked_browser(&hub, &f).await;
    let (booked, _) = book_ride(&browser, &f, "10:00").await;
    let location = booked.location.expect("booked");
    for (
        tag,
        html,
        [
            home,
            book,
            where_to,
            counselling,
            code,
            pickup,
            register,
            login,
            missing,
        ],
    ) in LANGUAGES
    {
        let chosen = choose(&browser, tag, "/care").await;
        assert_eq!(chosen.location.as_deref(), Some("/care"));
        assert_eq!(
            browser.cookie("__Host-dorfpunkt-lang").as_deref(),
            Some(*tag)
        );
        let pages = [
            ("/care".to_string(), vec![*home, *book]),
            (format!("/care/people/{}", f.resident), vec![*book]),
            (format!("/care/people/{}/ride", f.resident), vec![*where_to]),
            (
                format!("/care/people/{}/counselling", f.resident),
                vec![*counselling],
            ),
            (location.clone(), vec![*code, *pickup]),
            ("/care/register".to_string(), vec![*register]),
            ("/login".to_string(), vec![*login]),
        ];
        for (path, wanted) in pages {
            let page = browser.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{tag} {path}: {}", page.body);
            assert_eq!(html_tag(&page), *html, "{tag} {path}");
            for text in wanted {
                assert!(
                    page.body.contains(text),
                    "{tag} {path}: {text} in {}",
                    page.body
                );
            }
            // Every page offers every language, each link named in its own language.
            for (other, name) in [("de", "Deutsch"), ("uk", "Українська"), ("ar", "العربية")]
            {
                assert!(
                    page.body
                        .contains(&format!(r#"lang="{other}" hreflang="{other}""#)),
                    "{tag} {path}: link to {other}"
                );
                assert!(page.body.contains(name), "{tag} {path}: {name}");
            }
            if *tag != "de" {
                assert!(
                    !page.body.contains("Fahrt buchen") && !page.body.contains("Zurück"),
                    "{tag} {path}: German left in {}",
                    page.body
                );
            }
        }
        // Refusals too: a person that is not there, with the same status as in German.
        let gone = browser.get(&format!("/care/people/{}", id())).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(html_tag(&gone), *html);
        assert!(gone.body.contains(missing), "{tag}: {}", gone.body);
    }
}

#[tokio::test]
async fn the_language_cookie_is_strict_secure_and_unknown_values_fall_back_to_german() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = linked_browser(&hub, &f).await;
    let chosen = choose(&browser, "uk", "/care/people/x").await;
    assert_eq!(chosen.location.as_deref(), Some("/care/people/x"));
    let set = chosen
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("text").to_string())
        .find(|c| c.starts_with("__Host-dorfpunkt-lang="))
        .expect("the language cookie");
    assert!(set.starts_with("__Host-dorfpunkt-lang=uk;"), "{set}");
    for part in ["Path=/", "Secure", "SameSite=Strict", "Max-Age="] {
        assert!(set.contains(part), "{part} missing in {set}");
    }
    assert!(!set.contains("Domain"), "{set}");
    assert!(
        browser.get("/care").await.body.contains("Мої підопічні"),
        "Ukrainian chosen"
    );

    // An unknown language: German, and the way back only to caregiver pages.
    for (tag, back) in [
        ("xx", "https://evil.example/"),
        ("", "//evil.example"),
        ("DE", "/console"),
        ("de-AT", "/careless"),
    ] {
        let chosen = choose(&browser, tag, back).await;
        assert_eq!(chosen.location.as_deref(), Some("/care"), "{tag} {back}");
        assert_eq!(
            browser.cookie("__Host-dorfpunkt-lang").as_deref(),
            Some("de")
        );
        let home = browser.get("/care").await;
        assert_eq!(html_tag(&home), r#"<html lang="de" dir="ltr">"#);
        assert!(home.body.contains("Meine Personen"));
    }

    // A cookie set by hand to something unknown: German as well.
    for value in ["xx", "ar-EG", "%3Cscript%3E"] {
        let page = get_with_cookie(&hub, "/login", &format!("__Host-dorfpunkt-lang={value}")).await;
        assert!(
            page.starts_with("<!DOCTYPE html><html lang=\"de\" dir=\"ltr\">"),
            "{value}: {page}"
        );
        assert!(page.contains("Benutzername oder E-Mail-Adresse"), "{value}");
    }
    let arabic = get_with_cookie(&hub, "/login", "__Host-dorfpunkt-lang=ar").await;
    assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#), "{arabic}");
}

/// A page fetched with a cookie header of our own (the browser keeps only cookies the hub set).
async fn get_with_cookie(hub: &TestHub, path: &str, cookie: &str) -> String {
    let cert = std::fs::read(hub.dir.path().join("tls/hub-cert.pem")).expect("certificate");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .resolve("localhost", hub.addr)
        .build()
        .expect("client")
        .get(hub.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn refusals_and_the_registration_speak_the_chosen_language() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = linked_browser(&hub, &f).await;
    choose(&browser, "tr", "/care").await;
    // A ride form without a time: 400 in Turkish.
    let path = format!("/care/people/{}/ride", f.resident);
    let form = browser.get(&path).await;
    let ride_id = hidden_value(&form.body, "ride_id").expect("ride id");
    let answer = browser
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("ride_id", &ride_id),
                ("destination", &f.destination),
                ("date", &date_ahead(f.day)),
                ("time", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.body.contains(r#"<html lang="tr" dir="ltr">"#));
    assert!(
        answer.body.contains("Lütfen saati girin, örneğin 09:30."),
        "{}",
        answer.body
    );
    // A form without its token: 403, in Turkish.
    let forged = browser
        .post(&path, &[("ride_id", &id()), ("time", "10:00")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        forged.body.contains("Formun süresi doldu"),
        "{}",
        forged.body
    );
    assert_eq!(hub.count("ride_requests"), 0);

    // Registration in Arabic, right to left, with its problems in Arabic; it says that the
    // e-mail address is the log-in.
    let stranger = Browser::new(&hub);
    choose(&stranger, "ar", "/care/register").await;
    let page = stranger.get("/care/register").await;
    assert!(page.body.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(
        page.body
            .contains("ستسجّل الدخول لاحقًا بهذا البريد الإلكتروني.")
    );
    let fields = register_fields(&f.region, "kein-at-zeichen.de", "Samira Khalil");
    let refused = stranger
        .submit("/care/register", "/care/register", &fields)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("يرجى إدخال بريد إلكتروني صحيح"),
        "{}",
        refused.body
    );
    let mut short = register_fields(&f.region, "samira@example.org", "Samira Khalil");
    short.retain(|(k, _)| *k != "password" && *k != "repeat");
    short.extend([("password", "kurz"), ("repeat", "kurz")]);
    let refused = stranger
        .submit("/care/register", "/care/register", &short)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("كلمة المرور الجديدة قصيرة جدًا"),
        "{}",
        refused.body
    );

    // In German the page says the same.
    let german = Browser::new(&hub).get("/care/register").await;
    assert!(
        german
            .body
            .contains("Mit dieser E-Mail-Adresse melden Sie sich später an.")
    );
}

#[tokio::test]
async fn the_ticket_is_german_with_the_chosen_language_under_it_but_not_arabic() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    shift(&hub, &f).await;
    let browser = linked_browser(&hub, &f).await;
    let (booked, _) = book_ride(&browser, &f, "10:00").await;
    let code = booked
        .location
        .expect("booked")
        .rsplit('/')
        .next()
        .expect("code")
        .to_string();
    choose(&browser, "uk", "/care").await;
    let text = pdf_text(&hub, &browser, &code).await;
    for wanted in [
        "Fahrschein",
        "Квиток",
        "Buchungscode",
        "Код бронювання",
        "Abholzeit",
        "Час подачі",
        "Підтверджено",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert!(text.contains(&code));

    choose(&browser, "tr", "/care").await;
    let text = pdf_text(&hub, &browser, &code).await;
    assert!(text.contains("Alınma saati"), "{text}");
    assert!(text.contains("Fahrschein"), "{text}");

    // Arabic cannot be shaped in this PDF: the Arabic reader gets the German ticket.
    choose(&browser, "ar", "/care").await;
    let text = pdf_text(&hub, &browser, &code).await;
    assert!(
        text.contains("Fahrschein") && text.contains("Abholzeit"),
        "{text}"
    );
    assert!(
        !text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "{text}"
    );
    assert!(!text.contains("Квиток"), "{text}");
}

#[tokio::test]
async fn a_ride_not_served_is_explained_with_its_alternatives_in_the_chosen_language() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    hub.create(
        "shifts",
        json!({"region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, 7, 0), "ends_at": ahead(f.day, 10, 0)}),
    )
    .await;
    let browser = linked_browser(&hub, &f).await;
    choose(&browser, "uk", "/care").await;
    let (booked, _) = book_ride(&browser, &f, "15:00").await;
    let location = booked.location.expect("location");
    let page = browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let planning: serde_json::Value = serde_json::from_str(&scalar(
        &hub,
        "SELECT planning FROM ride_requests WHERE resident_id = ?1",
        &f.resident,
    ))
    .expect("planning");
    let german = planning["message_de"].as_str().expect("German reason");
    assert!(!page.body.contains(german), "{german} in {}", page.body);
    for text in [
        "Можливий такий час:",
        "ще не відомо",
        "Поїздка для: Erna Köhler",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let alternatives = planning["alternatives"].as_array().expect("alternatives");
    assert!(!alternatives.is_empty());
    // Each alternative is a button in Ukrainian: a weekday of the language, no "Uhr".
    let buttons = page
        .body
        .matches(r#"<button type="submit" class="secondary">"#)
        .count();
    assert_eq!(buttons, alternatives.len());
    assert!(
        ["Пн ", "Вт ", "Ср ", "Чт ", "Пт ", "Сб ", "Нд "]
            .iter()
            .any(|day| page.body.contains(day)),
        "{}",
        page.body
    );
    assert!(!page.body.contains(" Uhr"), "{}", page.body);
}

//! Browser flows of the admin and dispatch console against a real `hub demo`: enrolling a real
//! kiosk process with the code the device page shows, booking a ride on the phone as a
//! dispatcher, planning and publishing an IMBUS cycle with its downloads, and every console page
//! checked with axe-core. Each step is checked in the hub's database as well as on the page.

use std::process::Command;

use base64::Engine;
use serde_json::json;

use super::browser::{Browser, axe_script};
use super::harness::{Hub, Kiosk, binary};
use super::{account, admin, first_login, login};

/// A browser with the demo hub's administrator logged in (second factor included).
async fn admin_browser(hub: &Hub, axe: &str) -> Browser {
    let browser = Browser::start(&hub.cert()).await;
    let (user, password) = admin(hub);
    login(&browser, hub, axe, &user, &password).await;
    assert!(
        browser.url().await.ends_with("/console"),
        "{}",
        browser.url().await
    );
    browser
}

/// Follows the main navigation's link to `path`, as a person clicks it.
async fn open_nav(browser: &Browser, path: &str) {
    browser
        .click_and_load(&format!("header nav a[href='{path}']"))
        .await;
    assert!(
        browser.url().await.contains(path),
        "{path}: {}",
        browser.url().await
    );
}

/// Sets a field's value as the browser's own date, time and selection widgets would (typing
/// into them depends on the browser's locale); a selection must offer the value.
async fn set_value(browser: &Browser, css: &str, value: &str) {
    let set = browser
        .execute(
            "const e = document.querySelector(arguments[0]);
             if (!e) return 'missing';
             e.value = arguments[1];
             e.dispatchEvent(new Event('input', { bubbles: true }));
             e.dispatchEvent(new Event('change', { bubbles: true }));
             return e.value === arguments[1] ? 'ok' : 'refused';",
            json!([css, value]),
        )
        .await;
    assert_eq!(set, json!("ok"), "setting {css} to {value}");
}

/// The value of the form field matching `css`.
async fn value_of(browser: &Browser, css: &str) -> String {
    let value = browser
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
            json!([css]),
        )
        .await;
    value
        .as_str()
        .unwrap_or_else(|| panic!("no field {css}"))
        .to_string()
}

/// The text of the element matching `css`, or `None` if the page has none.
async fn text_at(browser: &Browser, css: &str) -> Option<String> {
    browser
        .execute(
            "const e = document.querySelector(arguments[0]);
             return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null;",
            json!([css]),
        )
        .await
        .as_str()
        .map(str::to_string)
}

/// Answers the page's next confirmation question (`data-confirm` forms) with yes and keeps the
/// question in the tab's session storage, so the test can check it was asked.
async fn accept_confirm(browser: &Browser) {
    browser
        .execute(
            "sessionStorage.removeItem('dorfpunkt-asked');
             window.confirm = (question) => {
                 sessionStorage.setItem('dorfpunkt-asked', question);
                 return true;
             };
             return null;",
            json!([]),
        )
        .await;
}

/// The last confirmation question the page asked (see [`accept_confirm`]).
async fn asked(browser: &Browser) -> String {
    browser
        .execute(
            "return sessionStorage.getItem('dorfpunkt-asked');",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What fetching a link of the page gives.
struct Fetched {
    status: u64,
    content_type: String,
    body: Vec<u8>,
}

/// Fetches the target of the first link matching `css` from the page, with the page's session.
async fn fetch_link(browser: &Browser, css: &str) -> Fetched {
    let answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector(arguments[0]);
             if (!link) { done({ error: 'no link ' + arguments[0] }); return; }
             fetch(link.href).then(async (r) => {
                 const bytes = new Uint8Array(await r.arrayBuffer());
                 let binary = '';
                 for (let i = 0; i < bytes.length; i += 8192) {
                     binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
                 }
                 done({ status: r.status, type: r.headers.get('content-type') || '',
                        body: btoa(binary) });
             }).catch((e) => done({ error: String(e) }));",
            json!([css]),
        )
        .await;
    assert!(answer.get("error").is_none(), "{css}: {answer}");
    Fetched {
        status: answer["status"].as_u64().unwrap_or_default(),
        content_type: answer["type"].as_str().unwrap_or_default().to_string(),
        body: base64::engine::general_purpose::STANDARD
            .decode(answer["body"].as_str().unwrap_or_default())
            .expect("base64 body"),
    }
}

/// The text of a PDF, read back with poppler's `pdftotext`.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("poster.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `hub.one` for a query with parameters.
fn one_with(hub: &Hub, sql: &str, params: &[&str]) -> String {
    hub.db()
        .query_row(sql, rusqlite::params_from_iter(params), |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql} {params:?}: {e}"))
}

/// A ride's booking code and promised window (if it has one).
fn booking_state(hub: &Hub, ride: &str) -> (String, Option<String>) {
    hub.db()
        .query_row(
            "SELECT booking_code, pickup_window_start FROM ride_requests WHERE id = ?1",
            [ride],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("ride {ride}: {e}"))
}

/// Books the first other time the page offers for `ride` and checks the page says it is moved
/// there; returns the time (`HH:MM`) it was booked for.
async fn take_first_alternative(browser: &Browser, ride: &str) -> String {
    let form = format!("ul.alternatives form[action='/console/rides/{ride}/move']");
    let time = value_of(browser, &format!("{form} input[name=time]")).await;
    browser
        .click_and_load(&format!("{form} button[type=submit]"))
        .await;
    let page = text_at(browser, "main").await.unwrap_or_default();
    assert!(page.contains("Verlegt"), "{page}");
    assert!(page.contains("Die Fahrt ist eingeplant."), "{page}");
    time
}

#[tokio::test]
async fn an_admin_adds_a_kiosk_on_the_device_page_enrols_it_with_the_shown_code_and_revokes_it() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let browser = admin_browser(&hub, &axe).await;
    open_nav(&browser, "/console/devices").await;
    browser.assert_accessible(&axe).await;

    // Add a kiosk at a stop of Kneitlingen through the form.
    let name = "Kiosk Dorfladen Kneitlingen";
    let stop = hub.one(
        "SELECT s.id FROM stops s JOIN villages v ON v.id = s.village_id
         WHERE v.name = 'Kneitlingen' AND s.archived_at IS NULL ORDER BY s.name LIMIT 1",
    );
    browser.fill("#f-name", name).await;
    set_value(&browser, "#f-stop_id", &stop).await;
    browser
        .click_and_load("form[action='/console/devices'][method='post'] button[type=submit]")
        .await;
    assert_eq!(
        text_at(&browser, "h1").await.as_deref(),
        Some("Einrichtungscode")
    );
    browser.assert_accessible(&axe).await;
    let code = text_at(&browser, "#enrol-code")
        .await
        .expect("the page shows the enrolment code");
    assert!(!code.is_empty());
    let device = one_with(&hub, "SELECT id FROM devices WHERE name = ?1", &[name]);
    assert_eq!(
        one_with(
            &hub,
            "SELECT status || ' ' || stop_id FROM devices WHERE id = ?1",
            &[&device]
        ),
        format!("pending {stop}")
    );

    // A real kiosk process enrols with the code read from the page and sends a heartbeat.
    let kiosk_dir = tempfile::tempdir().expect("kiosk dir");
    let kiosk = Kiosk::enrol_via(&hub, &hub.url(), kiosk_dir.path(), &code);
    assert_eq!(
        one_with(&hub, "SELECT status FROM devices WHERE id = ?1", &[&device]),
        "active"
    );
    let beat = Command::new(binary("kiosk"))
        .env("DORFPUNKT_LOG", "warn")
        .arg("heartbeat")
        .arg("--data-dir")
        .arg(&kiosk.dir)
        .output()
        .expect("kiosk heartbeat runs");
    assert!(
        beat.status.success(),
        "kiosk heartbeat: {}{}",
        String::from_utf8_lossy(&beat.stdout),
        String::from_utf8_lossy(&beat.stderr)
    );

    // The device list shows it set up and online.
    browser
        .click_and_load("main a[href='/console/devices']")
        .await;
    let row = format!("#device-{device}");
    let row_text = text_at(&browser, &row).await.expect("the kiosk's row");
    assert!(row_text.contains(name), "{row_text}");
    assert!(row_text.contains("eingerichtet"), "{row_text}");
    assert_eq!(
        text_at(&browser, &format!("{row} .dev-online-text"))
            .await
            .as_deref(),
        Some("erreichbar"),
        "{row_text}"
    );
    assert!(
        text_at(&browser, "figure.device-map svg")
            .await
            .unwrap_or_default()
            .contains(&format!("{name} (erreichbar)")),
        "the map shows the kiosk online"
    );
    browser.assert_accessible(&axe).await;

    // Its settings page.
    browser
        .click_and_load(&format!("a[href='/console/devices/{device}/settings']"))
        .await;
    browser.assert_accessible(&axe).await;
    browser
        .click_and_load("main a[href='/console/devices']")
        .await;

    // Revoke it on the page: asked first, then refused at once.
    accept_confirm(&browser).await;
    browser
        .click_and_load(&format!(
            "form[action='/console/devices/{device}/revoke'] button[type=submit]"
        ))
        .await;
    assert!(
        asked(&browser).await.contains("widerrufen"),
        "{}",
        asked(&browser).await
    );
    assert!(
        browser.url().await.contains("/console/devices?region="),
        "{}",
        browser.url().await
    );
    assert_eq!(
        one_with(&hub, "SELECT status FROM devices WHERE id = ?1", &[&device]),
        "revoked"
    );
    assert_eq!(
        one_with(
            &hub,
            "SELECT count(*) || '/' || count(revoked_at) FROM device_certificates
             WHERE device_id = ?1",
            &[&device]
        ),
        "1/1",
        "the kiosk's certificate is revoked"
    );
    let row_text = text_at(&browser, &row).await.expect("the kiosk's row");
    assert!(row_text.contains("widerrufen"), "{row_text}");
    assert!(
        text_at(&browser, &format!("{row} .dev-online-text"))
            .await
            .is_none(),
        "{row_text}"
    );
    browser
        .find(&format!("form[action='/console/devices/{device}/code']"))
        .await;
    browser.assert_accessible(&axe).await;
    assert!(!kiosk.sync(), "a revoked kiosk is refused");
    browser.quit().await;
}

#[tokio::test]
async fn a_dispatcher_books_a_ride_by_phone_sees_it_on_the_day_then_moves_and_cancels_it() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let one_time = account(&hub, "dispatcher", "disponent").await;
    let browser = Browser::start(&hub.cert()).await;
    first_login(
        &browser,
        &hub,
        &axe,
        "disponent",
        &one_time,
        "disponent-passwort-2026",
    )
    .await;
    assert!(
        browser.url().await.ends_with("/console"),
        "{}",
        browser.url().await
    );
    browser.assert_accessible(&axe).await;
    open_nav(&browser, "/console/rides").await;
    browser.assert_accessible(&axe).await;

    // Find the caller by name and open the booking form for him.
    let resident = hub.one("SELECT id FROM residents WHERE name = 'Heinrich Bode'");
    browser
        .click_and_load("main a[href^='/console/rides/book']")
        .await;
    browser.assert_accessible(&axe).await;
    browser.fill("#f-q", "Bode").await;
    browser
        .click_and_load("form.search button[type=submit]")
        .await;
    browser.assert_accessible(&axe).await;
    browser
        .click_and_load(&format!("main a[href*='resident={resident}']"))
        .await;
    browser.assert_accessible(&axe).await;

    // To his doctor (open Monday to Friday 08:00-12:00) on the first working day of the demo.
    let day = hub.one("SELECT substr(min(starts_at), 1, 10) FROM shifts");
    let doctor = hub
        .one("SELECT id FROM destinations WHERE name = 'Hausarztpraxis Dr. med. Katrin Behrens'");
    set_value(&browser, "#f-from", "home").await;
    set_value(&browser, "#f-to", &format!("destination:{doctor}")).await;
    set_value(&browser, "#f-date", &day).await;
    set_value(&browser, "#f-time_kind", "appointment").await;
    set_value(&browser, "#f-time", "10:30").await;
    let ride = value_of(&browser, "form.booking input[name=id]").await;
    browser
        .click_and_load("form.booking button[type=submit]")
        .await;
    assert_eq!(
        text_at(&browser, "h1").await.as_deref(),
        Some("Antwort auf die Buchung")
    );
    browser.assert_accessible(&axe).await;

    // The ride is stored as a phone booking by the dispatcher; the page gives the planner's
    // answer: the promised window with the booking code, or other times that are free.
    assert_eq!(
        one_with(
            &hub,
            "SELECT channel || ' ' || booked_by || ' ' || resident_id || ' ' || to_destination_id
             FROM ride_requests WHERE id = ?1",
            &[&ride]
        ),
        format!("phone account:disponent {resident} {doctor}")
    );
    let answer = text_at(&browser, "main").await.unwrap_or_default();
    let (code, window) = booking_state(&hub, &ride);
    if window.is_some() {
        assert!(answer.contains(&code), "{answer}");
        assert!(
            answer.contains("Die Fahrt ist eingeplant. Abholung am"),
            "{answer}"
        );
    } else {
        // Every bus is taken at that time: the page offers other times, and the dispatcher
        // books the first one with its button, as agreed with the caller.
        assert!(
            answer.contains("Die Fahrt ist so nicht möglich"),
            "{answer}"
        );
        take_first_alternative(&browser, &ride).await;
        browser.assert_accessible(&axe).await;
        assert!(
            booking_state(&hub, &ride).1.is_some(),
            "the alternative got no window"
        );
    }
    assert_eq!(
        one_with(
            &hub,
            "SELECT status || ' ' || (shift_id IS NOT NULL) FROM ride_requests WHERE id = ?1",
            &[&ride]
        ),
        "confirmed 1",
        "a ride with a promised window is confirmed and on a shift"
    );

    // The day view of that day shows the ride on its shift's timeline and stop table.
    browser
        .click_and_load("main a[href^='/console/rides?region=']")
        .await;
    set_value(&browser, "#f-day", &day).await;
    browser
        .click_and_load("form.day-choice button[type=submit]")
        .await;
    assert!(
        browser.url().await.contains(&format!("day={day}")),
        "{}",
        browser.url().await
    );
    let stops = browser
        .execute(
            "const links = [...document.querySelectorAll(
                 `section.shift a[href='/console/rides/${arguments[0]}']`)];
             return links.map((a) => {
                 const cells = a.closest('tr').querySelectorAll('td');
                 const titles = [...a.closest('section.shift')
                     .querySelectorAll('svg.timeline title')].map((t) => t.textContent);
                 return { at: cells[1].textContent, what: cells[3].textContent, titles };
             });",
            json!([ride]),
        )
        .await;
    let stops = stops.as_array().cloned().unwrap_or_default();
    assert_eq!(stops.len(), 2, "pickup and drop-off on a shift: {stops:?}");
    for stop in &stops {
        let wanted = format!(
            "{} {} Heinrich, ",
            stop["at"].as_str().unwrap_or_default(),
            stop["what"].as_str().unwrap_or_default()
        );
        let titles = stop["titles"].as_array().cloned().unwrap_or_default();
        assert!(
            titles
                .iter()
                .any(|t| t.as_str().is_some_and(|t| t.starts_with(&wanted))),
            "the timeline lacks {wanted}: {titles:?}"
        );
    }
    browser.assert_accessible(&axe).await;

    // Move the appointment half an hour later on the ride's page.
    browser
        .click_and_load(&format!("section.shift a[href='/console/rides/{ride}']"))
        .await;
    browser.assert_accessible(&axe).await;
    let before = one_with(
        &hub,
        "SELECT appointment_at || ' ' || pickup_window_start FROM ride_requests WHERE id = ?1",
        &[&ride],
    );
    let current = value_of(&browser, "#f-time").await;
    let later = chrono::NaiveTime::parse_from_str(&current, "%H:%M").expect("HH:MM")
        + chrono::Duration::minutes(30);
    let later = later.format("%H:%M").to_string();
    accept_confirm(&browser).await;
    set_value(&browser, "#f-time", &later).await;
    browser
        .click_and_load(&format!(
            "form[action='/console/rides/{ride}/move'] button[type=submit]"
        ))
        .await;
    assert!(asked(&browser).await.contains("verlegen"));
    browser.assert_accessible(&axe).await;
    let page = text_at(&browser, "main").await.unwrap_or_default();
    let moved_to = if page.contains("Die Fahrt wurde nicht verlegt") {
        // No place at the new time: nothing changed, the promised window stands, and the
        // page offers other times; the first one is taken.
        assert_eq!(
            one_with(
                &hub,
                "SELECT appointment_at || ' ' || pickup_window_start FROM ride_requests
                 WHERE id = ?1",
                &[&ride]
            ),
            before
        );
        take_first_alternative(&browser, &ride).await
    } else {
        assert!(page.contains("Verlegt"), "{page}");
        assert!(page.contains("Die Fahrt ist eingeplant."), "{page}");
        later
    };
    let facts = text_at(&browser, "table.facts").await.unwrap_or_default();
    assert!(facts.contains(&moved_to), "{moved_to}: {facts}");
    let (_, window) = booking_state(&hub, &ride);
    assert!(window.is_some(), "the moved ride keeps a promised window");
    assert_ne!(
        one_with(
            &hub,
            "SELECT appointment_at || ' ' || pickup_window_start FROM ride_requests WHERE id = ?1",
            &[&ride]
        ),
        before
    );

    // Cancel it with a reason.
    accept_confirm(&browser).await;
    browser
        .fill("#f-reason", "Termin beim Arzt abgesagt (Anruf)")
        .await;
    browser
        .click_and_load(&format!(
            "form[action='/console/rides/{ride}/cancel'] button[type=submit]"
        ))
        .await;
    assert!(asked(&browser).await.contains("absagen"));
    let page = text_at(&browser, "main").await.unwrap_or_default();
    assert!(page.contains("Die Fahrt ist abgesagt."), "{page}");
    browser.assert_accessible(&axe).await;
    assert_eq!(
        one_with(
            &hub,
            "SELECT status || ' ' || (shift_id IS NULL) FROM ride_requests WHERE id = ?1",
            &[&ride]
        ),
        "cancelled 1"
    );
    // The day now lists it among the cancelled rides, no longer on a shift.
    browser
        .click_and_load("main a[href^='/console/rides?region=']")
        .await;
    assert!(
        browser.url().await.contains(&format!("day={day}")),
        "{}",
        browser.url().await
    );
    let on_shift = browser
        .execute(
            "return document.querySelectorAll(
                 `section.shift a[href='/console/rides/${arguments[0]}']`).length;",
            json!([ride]),
        )
        .await;
    assert_eq!(on_shift, json!(0));
    browser
        .find(&format!("main table a[href='/console/rides/{ride}']"))
        .await;
    browser.assert_accessible(&axe).await;
    browser.quit().await;
}

#[tokio::test]
async fn an_admin_plans_and_publishes_an_imbus_cycle_and_its_poster_and_calendar_download() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let browser = admin_browser(&hub, &axe).await;
    let demo_plan = hub.one("SELECT id FROM tour_plans WHERE status = 'published'");
    open_nav(&browser, "/console/imbus").await;
    browser.assert_accessible(&axe).await;

    // Plan a cycle from next Monday (the form's proposal), four weeks.
    let plan = value_of(
        &browser,
        "form[action='/console/imbus/plans'] input[name=plan_id]",
    )
    .await;
    let first_day = value_of(&browser, "#f-first_day").await;
    assert_eq!(value_of(&browser, "#f-weeks").await, "4");
    accept_confirm(&browser).await;
    browser
        .click_and_load("form[action='/console/imbus/plans'] button[type=submit]")
        .await;
    assert!(asked(&browser).await.contains("Tourenplan"));
    assert!(
        browser
            .url()
            .await
            .ends_with(&format!("/console/imbus/plans/{plan}")),
        "{}",
        browser.url().await
    );
    assert_eq!(
        one_with(
            &hub,
            "SELECT status || ' ' || first_day || ' ' || weeks FROM tour_plans WHERE id = ?1",
            &[&plan]
        ),
        format!("draft {first_day} 4")
    );
    let page = text_at(&browser, "main").await.unwrap_or_default();
    assert!(page.contains("Entwurf"), "{page}");
    assert!(!page.contains("Regelverstoß"), "{page}");
    browser.assert_accessible(&axe).await;

    // Publish it: the calendar of its first weeks follows, the demo's plan gives way.
    accept_confirm(&browser).await;
    browser
        .click_and_load(&format!(
            "form[action='/console/imbus/plans/{plan}/publish'] button[type=submit]"
        ))
        .await;
    assert!(asked(&browser).await.contains("veröffentlichen"));
    assert!(
        browser.url().await.contains("/console/imbus?region="),
        "{}",
        browser.url().await
    );
    assert_eq!(
        one_with(
            &hub,
            "SELECT status || ' ' || (published_at IS NOT NULL) FROM tour_plans WHERE id = ?1",
            &[&plan]
        ),
        "published 1"
    );
    assert_eq!(
        one_with(
            &hub,
            "SELECT status FROM tour_plans WHERE id = ?1",
            &[&demo_plan]
        ),
        "superseded"
    );
    let published: i64 = hub
        .one(&format!(
            "SELECT '' || count(*) FROM imbus_visits WHERE status = 'published' AND starts_at >= '{first_day}'"
        ))
        .parse()
        .expect("count");
    assert!(published > 0, "no published visits from {first_day}");
    // The calendar shows published visits (links to them) and no unpublished ones.
    let visits = browser
        .execute(
            "return document.querySelectorAll(\"table.imbus-calendar a[href^='/console/imbus/visits/']\").length;",
            json!([]),
        )
        .await;
    assert!(visits.as_u64().unwrap_or_default() > 0, "{visits}");
    browser.assert_accessible(&axe).await;

    // The downloads the page links to work.
    let calendar = fetch_link(&browser, "a[href^='/api/v1/timetable.ics']").await;
    assert_eq!(calendar.status, 200);
    assert!(
        calendar.content_type.starts_with("text/calendar"),
        "{}",
        calendar.content_type
    );
    let text = String::from_utf8_lossy(&calendar.body);
    assert!(text.starts_with("BEGIN:VCALENDAR"), "{text}");
    assert!(text.contains("BEGIN:VEVENT"), "the calendar has no events");
    let poster_link = "ul.imbus-downloads a[href$='/poster.pdf']";
    let village = text_at(&browser, poster_link).await.expect("poster link");
    let village = village
        .strip_prefix("Aushang für ")
        .and_then(|v| v.strip_suffix(" (A4, PDF)"))
        .unwrap_or_else(|| panic!("link text {village}"))
        .to_string();
    let poster = fetch_link(&browser, poster_link).await;
    assert_eq!(poster.status, 200);
    assert_eq!(poster.content_type, "application/pdf");
    assert!(poster.body.starts_with(b"%PDF"));
    let text = pdf_text(&poster.body);
    assert!(
        text.contains(&village),
        "{village} not on the poster: {text}"
    );
    let feed = fetch_link(&browser, "a[href^='/api/v1/gtfs.zip']").await;
    assert_eq!(feed.status, 200);
    assert_eq!(feed.content_type, "application/zip");
    assert!(feed.body.starts_with(b"PK"));

    // The visit page of one of the new visits.
    browser
        .click_and_load("table.imbus-calendar a[href^='/console/imbus/visits/']")
        .await;
    browser.assert_accessible(&axe).await;
    browser.quit().await;
}

#[tokio::test]
async fn every_console_page_passes_axe() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = Hub::start(dir.path());
    let axe = axe_script();
    let browser = admin_browser(&hub, &axe).await;
    let mut problems: Vec<String> = Vec::new();
    let mut checked = 0;

    // Every entry of the administrator's navigation, followed by clicking it.
    for (path, _, roles) in hub::web::layout::NAV {
        if !roles.contains(&hub::domain::Role::Admin) {
            continue;
        }
        open_nav(&browser, path).await;
        check_page(&browser, &axe, &mut problems).await;
        checked += 1;
    }

    // The important pages below them, opened by address.
    let (admin_name, _) = admin(&hub);
    let first = |sql: &str| hub.one(sql);
    let mut pages = vec![
        format!(
            "/console/accounts/{}",
            one_with(
                &hub,
                "SELECT id FROM accounts WHERE username = ?1",
                &[&admin_name]
            )
        ),
        format!(
            "/console/devices/{}/settings",
            first("SELECT id FROM devices ORDER BY name LIMIT 1")
        ),
        "/console/data/regions".to_string(),
        "/console/data/villages/import".to_string(),
        "/console/privacy?q=Bode".to_string(),
        format!(
            "/console/privacy/residents/{}",
            first("SELECT id FROM residents ORDER BY name LIMIT 1")
        ),
        format!(
            "/console/rides?day={}",
            first("SELECT substr(min(starts_at), 1, 10) FROM shifts")
        ),
        format!(
            "/console/rides/{}",
            first("SELECT id FROM ride_requests WHERE shift_id IS NOT NULL ORDER BY id LIMIT 1")
        ),
        format!(
            "/console/rides/{}",
            first(
                "SELECT COALESCE((SELECT id FROM ride_requests WHERE pickup_window_start IS NULL
                                  ORDER BY id LIMIT 1),
                                 (SELECT id FROM ride_requests ORDER BY id DESC LIMIT 1))"
            )
        ),
        "/console/rides/book?q=Bode".to_string(),
        format!(
            "/console/rides/book?resident={}",
            first("SELECT id FROM residents ORDER BY name LIMIT 1")
        ),
        format!(
            "/console/imbus/plans/{}",
            first("SELECT id FROM tour_plans WHERE status = 'published' LIMIT 1")
        ),
        format!(
            "/console/imbus/visits/{}",
            first("SELECT id FROM imbus_visits ORDER BY starts_at LIMIT 1")
        ),
        format!(
            "/console/imbus?from={}",
            first("SELECT date(max(starts_at)) FROM imbus_visits")
        ),
        // A page that does not exist: the error page is a page too.
        "/console/rides/00000000-0000-0000-0000-000000000000".to_string(),
    ];
    for kind in [
        "villages",
        "stops",
        "destinations",
        "vehicles",
        "shifts",
        "residents",
        "caregivers",
        "caregiver_links",
    ] {
        pages.push(format!("/console/data/{kind}"));
        pages.push(format!("/console/data/{kind}/new"));
        pages.push(format!(
            "/console/data/{kind}/{}",
            first(&format!("SELECT id FROM {kind} ORDER BY id LIMIT 1"))
        ));
    }
    for path in &pages {
        browser.goto(&format!("{}{path}", hub.url())).await;
        let url = browser.url().await;
        if url.contains("/login") {
            problems.push(format!("{path}: sent to the log-in ({url})"));
            continue;
        }
        check_page(&browser, &axe, &mut problems).await;
        checked += 1;
    }
    // On a phone's width the wide tables scroll sideways: their boxes must still be reachable by
    // keyboard and every page must still pass.
    browser.set_window_size(360, 740).await;
    let phone_width: i64 = browser
        .execute("return window.innerWidth;", json!([]))
        .await
        .as_i64()
        .expect("inner width");
    assert!(phone_width <= 400, "window is {phone_width} px wide");
    let mut narrow = 0;
    for path in hub::web::layout::NAV
        .iter()
        .filter(|(_, _, roles)| roles.contains(&hub::domain::Role::Admin))
        .map(|(path, _, _)| path.to_string())
        .chain(pages.iter().take(12).cloned())
    {
        browser.goto(&format!("{}{path}", hub.url())).await;
        check_page(&browser, &axe, &mut problems).await;
        narrow += 1;
    }
    browser.quit().await;
    assert!(checked > 30, "only {checked} pages checked");
    assert!(
        narrow > 15,
        "only {narrow} pages checked at a phone's width"
    );
    assert!(
        problems.is_empty(),
        "{} problems on {checked} pages:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Runs axe on the page and adds what it finds (and a page without its heading) to `problems`.
async fn check_page(browser: &Browser, axe: &str, problems: &mut Vec<String>) {
    let url = browser.url().await;
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or(url);
    if text_at(browser, "main h1")
        .await
        .is_none_or(|h| h.is_empty())
    {
        problems.push(format!("{path}: no page heading"));
    }
    for v in browser.axe(axe).await {
        problems.push(format!(
            "{path}: {} ({}): {} at {}",
            v.id,
            v.impact,
            v.help,
            v.targets.join(", ")
        ));
    }
}

//! Reminders to caregivers by e-mail: made the day before, sent over SMTP to a real server on
//! loopback (aiosmtpd, `smtp_sink.py`), once only, never for a cancelled ride; retried while the
//! server is down, then shown to the dispatcher as failed and sent again from the page.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, Duration, Utc};
use hub::config::Config;
use hub::reminders::{self, Scheduled, SmtpMailer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::web::{Browser, account, as_role};
use crate::common::{Fixture, TestHub, ahead, fixture};

/// The Python with Debian's python3-aiosmtpd (a pyenv `python3` first in PATH may lack it).
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A real SMTP server on 127.0.0.1:`port` that writes each message it accepts as JSON.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start(port: u16) -> Sink {
        Self::start_with(port, &[])
    }

    /// With `tls` (certificate and key files) the server requires STARTTLS.
    fn start_with(port: u16, tls: &[&std::path::Path]) -> Sink {
        let dir = tempfile::tempdir().expect("sink dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(tls)
            .stdout(Stdio::piped())
            .spawn()
            .expect("smtp_sink.py starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink answers");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink { child, dir }
    }

    /// The messages received so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("message")).expect("json"))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (until a sink is started there).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

fn smtp(config: &mut Config, port: u16) {
    config.smtp_host = Some("127.0.0.1".into());
    config.smtp_port = port;
    config.smtp_from = Some("Dorfpunkt <erinnerung@dorfpunkt.test>".into());
    config.smtp_starttls = false;
    // The tests drive schedule and send with their own clock.
    config.reminder_check_seconds = 0;
}

fn mailer(port: u16) -> SmtpMailer {
    mailer_with(port, |_| {})
}

fn mailer_with(port: u16, adjust: impl FnOnce(&mut Config)) -> SmtpMailer {
    let mut config = Config::default();
    smtp(&mut config, port);
    adjust(&mut config);
    SmtpMailer::from_config(&config)
        .expect("mailer")
        .expect("configured")
}

/// `hh:mm` Berlin time on the day before the fixture's day.
fn day_before(f: &Fixture, hh: u32, mm: u32) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&ahead(f.day - 1, hh, mm))
        .expect("instant")
        .with_timezone(&Utc)
}

async fn caregiver_with_email(hub: &TestHub, f: &Fixture, name: &str, email: &str) -> String {
    let id = hub
        .create_id(
            "caregivers",
            json!({"region_id": f.region, "name": name, "email": email}),
        )
        .await;
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": id, "resident_id": f.resident,
               "consent_at": "2026-02-01T09:00:00Z"}),
    )
    .await;
    id
}

async fn ride(hub: &TestHub, f: &Fixture, hh: u32) -> Value {
    hub.create(
        "ride-requests",
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, hh, 30),
               "channel": "phone"}),
    )
    .await
}

/// An appointment of the fixture's resident booked by phone, at 09:20 of the fixture's visit (the
/// fixture's own slot is the kiosk's share, so the booking gets a slot of its own).
async fn phone_appointment(hub: &TestHub, f: &Fixture, topic: &str) -> Value {
    let slot = hub
        .create(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit, "starts_at": ahead(f.day, 9, 20),
                   "ends_at": ahead(f.day, 9, 40)}),
        )
        .await;
    hub.create(
        "appointments",
        json!({"region_id": f.region, "slot_id": slot["id"], "resident_id": f.resident,
               "topic": topic, "channel": "phone"}),
    )
    .await
}

fn schedule(hub: &TestHub, now: DateTime<Utc>) -> Scheduled {
    hub.store
        .blocking(|c| reminders::schedule(c, now))
        .expect("schedule")
}

/// (status, attempts, next_try_at, last_error) of the only reminder of `entity`.
fn state(hub: &TestHub, entity: &str) -> (String, i64, String, Option<String>) {
    hub.store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT status, attempts, next_try_at, last_error FROM reminders WHERE entity_id = ?1",
                [entity],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .expect("reminder")
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn each_caregiver_gets_one_reminder_and_none_for_a_cancelled_ride() {
    let port = free_port();
    let sink = Sink::start(port);
    let hub = TestHub::start_with(|c| smtp(c, port)).await;
    let f = fixture(&hub, 1).await;
    caregiver_with_email(&hub, &f, "Anna Köhler", "anna@example.org").await;
    caregiver_with_email(&hub, &f, "Bernd Köhler", "bernd@example.org").await;
    let kept = ride(&hub, &f, 9).await;
    let dropped = ride(&hub, &f, 15).await;
    let appointment = phone_appointment(&hub, &f, "loneliness").await;
    let mailer = mailer(port);

    // Two days ahead nothing is made; the day before, one per booking and caregiver.
    let early = day_before(&f, 12, 0) - Duration::days(1);
    assert_eq!(schedule(&hub, early), Scheduled::default());
    let noon = day_before(&f, 12, 0);
    assert_eq!(schedule(&hub, noon).made, 6);
    assert_eq!(schedule(&hub, noon).made, 0, "made once only");
    // Not due before 17:00.
    let sent = reminders::send_due(&hub.store, &mailer, noon)
        .await
        .expect("send");
    assert_eq!(sent.sent, 0);
    assert!(sink.messages().is_empty());

    // The second ride is cancelled: its reminders are cancelled too.
    let id = dropped["id"].as_str().expect("id");
    let cancel = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/ride-requests/{id}?reason=Test"),
            None,
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{:#}", cancel.body);
    let evening = day_before(&f, 17, 5);
    assert_eq!(schedule(&hub, evening).cancelled, 2);
    let sent = reminders::send_due(&hub.store, &mailer, evening)
        .await
        .expect("send");
    assert_eq!((sent.sent, sent.retrying, sent.failed), (4, 0, 0));

    let messages = sink.messages();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    let code = kept["booking_code"].as_str().expect("code");
    let other_code = dropped["booking_code"].as_str().expect("code");
    let appointment_code = appointment["booking_code"].as_str().expect("code");
    // The day as people read it: "Mi 9.12."
    let local = DateTime::parse_from_rfc3339(&ahead(f.day, 9, 30)).expect("instant");
    let weekday = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
        [chrono::Datelike::weekday(&local).num_days_from_monday() as usize];
    let day = format!(
        "{weekday} {}.{}.",
        chrono::Datelike::day(&local),
        chrono::Datelike::month(&local)
    );
    for address in ["anna@example.org", "bernd@example.org"] {
        let mine: Vec<&Value> = messages
            .iter()
            .filter(|m| m["rcpt_to"] == json!([address]))
            .collect();
        assert_eq!(mine.len(), 2, "{address}: {messages:#?}");
        let ride_mail = mine
            .iter()
            .find(|m| m["subject"].as_str().unwrap().contains("Fahrt"))
            .expect("ride reminder");
        let body = ride_mail["text"].as_str().unwrap();
        assert_eq!(
            ride_mail["subject"],
            json!(format!("Erinnerung: Fahrt von Erna am {day}"))
        );
        assert!(body.contains(&format!("Buchungscode: {code}")), "{body}");
        assert!(
            body.contains(&format!("Wann: {day}, Ankunft bis 9:30 Uhr")),
            "{body}"
        );
        assert!(body.contains("Nach: Hausarztpraxis Dr. Berger"), "{body}");
        assert!(
            body.contains("Meine Buchung") && body.contains("05332 1234"),
            "{body}"
        );
        assert!(!body.contains(other_code), "no word of the cancelled ride");
        assert_eq!(ride_mail["charset"], json!("utf-8"));
        assert!(
            ride_mail["from"]
                .as_str()
                .unwrap()
                .contains("erinnerung@dorfpunkt.test")
        );
        let visit = mine
            .iter()
            .find(|m| m["subject"].as_str().unwrap().contains("Beratungstermin"))
            .expect("appointment reminder");
        let body = visit["text"].as_str().unwrap();
        assert!(body.contains(&format!("Wann: {day} um 9:20 Uhr")), "{body}");
        assert!(
            body.contains("Wo: IMBUS-Beratung in Kneitlingen, Dorfplatz"),
            "{body}"
        );
        assert!(
            body.contains(&format!("Buchungscode: {appointment_code}")),
            "{body}"
        );
        assert!(
            !body.contains("Einsam") && !body.contains("loneliness"),
            "no topic: {body}"
        );
    }
    for m in &messages {
        assert!(
            !m["text"].as_str().unwrap().contains("Erna Köhler"),
            "first name only"
        );
    }

    // A second run sends nothing more.
    let later = evening + Duration::minutes(30);
    assert_eq!(schedule(&hub, later).made, 0);
    let sent = reminders::send_due(&hub.store, &mailer, later)
        .await
        .expect("send");
    assert_eq!(sent, reminders::Sent::default());
    assert_eq!(sink.messages().len(), 4);
    let statuses: Vec<(String, i64)> = hub
        .store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT status, count(*) FROM reminders GROUP BY status ORDER BY status",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .expect("statuses");
    assert_eq!(
        statuses,
        vec![("cancelled".to_string(), 2), ("sent".to_string(), 4)]
    );
}

#[tokio::test]
async fn an_undeliverable_reminder_is_retried_then_failed_and_sent_again_from_the_page() {
    let port = free_port();
    let hub = TestHub::start_with(|c| smtp(c, port)).await;
    let f = fixture(&hub, 1).await;
    caregiver_with_email(&hub, &f, "Anna Köhler", "anna@example.org").await;
    let booked = ride(&hub, &f, 9).await;
    let ride_id = booked["id"].as_str().expect("id").to_string();
    let code = booked["booking_code"].as_str().expect("code").to_string();
    let mailer = mailer(port);

    // Nothing listens on the port: each try fails and the next waits longer.
    let mut now = day_before(&f, 17, 5);
    assert_eq!(schedule(&hub, now).made, 1);
    for (attempt, wait) in [(1, 5), (2, 15), (3, 60), (4, 180)] {
        let sent = reminders::send_due(&hub.store, &mailer, now)
            .await
            .expect("send");
        assert_eq!((sent.sent, sent.retrying), (0, 1), "try {attempt}");
        let (status, attempts, next, error) = state(&hub, &ride_id);
        assert_eq!((status.as_str(), attempts), ("pending", attempt));
        assert_eq!(next, text(now + Duration::minutes(wait)));
        assert!(error.is_some_and(|e| e.contains("SMTP")));
        // Not again before its time.
        let early = reminders::send_due(&hub.store, &mailer, now + Duration::minutes(wait - 1))
            .await
            .expect("send");
        assert_eq!(early, reminders::Sent::default());
        now += Duration::minutes(wait);
    }
    let sent = reminders::send_due(&hub.store, &mailer, now)
        .await
        .expect("send");
    assert_eq!(sent.failed, 1);
    let (status, attempts, _, error) = state(&hub, &ride_id);
    assert_eq!((status.as_str(), attempts), ("failed", 5));

    // The dispatcher sees it as failed, with the error and the tries.
    let dispatcher = as_role(&hub, "dispatcher", "disponentin", &f.region).await;
    let page = dispatcher.get("/console/reminders").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Fehlgeschlagen (1)"), "{}", page.body);
    assert!(page.body.contains(&code));
    assert!(page.body.contains("anna@example.org"));
    assert!(page.body.contains("<td>5</td>"), "{}", page.body);
    let error = error.expect("last error");
    assert!(
        page.body.contains(error.split(':').next().unwrap()),
        "{}",
        page.body
    );
    assert!(page.body.contains("Erneut senden"));
    let reminder: String = hub
        .store
        .blocking(|c| Ok(c.query_row("SELECT id FROM reminders", [], |r| r.get(0))?))
        .expect("id");
    let action = format!("/console/reminders/{reminder}/retry");

    // Other roles may not see or send.
    for role in ["driver", "health_worker"] {
        let other = as_role(&hub, role, role, &f.region).await;
        assert_eq!(
            other.get("/console/reminders").await.status,
            StatusCode::FORBIDDEN
        );
        let page = other.get("/account/password").await;
        let refused = other.post(&action, &[("_csrf", &page.csrf())]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role}");
    }
    // No or a wrong CSRF token: refused, nothing changed.
    assert_eq!(
        dispatcher.post(&action, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let wrong = dispatcher.post(&action, &[("_csrf", "falsch")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(state(&hub, &ride_id).0, "failed");
    // An unknown reminder.
    let page = dispatcher.get("/console/reminders").await;
    let unknown = dispatcher
        .post("/console/reminders/nope/retry", &[("_csrf", &page.csrf())])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A dispatcher of another region neither sees it nor sends it.
    let elsewhere = hub
        .create(
            "regions",
            json!({"id": crate::common::id(), "name": "Harz"}),
        )
        .await;
    let (_, password) = account(&hub, "dispatcher", "harz", elsewhere["id"].as_str()).await;
    let stranger = Browser::logged_in(&hub, "harz", &password).await;
    let page = stranger.get("/console/reminders").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(&code) && page.body.contains("Fehlgeschlagen (0)"));
    let refused = stranger.post(&action, &[("_csrf", &page.csrf())]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(state(&hub, &ride_id).0, "failed");

    // The server is up again: "Erneut senden" delivers it at once.
    let sink = Sink::start(port);
    let done = dispatcher.submit("/console/reminders", &action, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location
            .as_deref()
            .unwrap_or_default()
            .contains("done=sent")
    );
    let (status, attempts, _, error) = state(&hub, &ride_id);
    assert_eq!((status.as_str(), attempts, error), ("sent", 6, None));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["rcpt_to"], json!(["anna@example.org"]));
    assert!(messages[0]["text"].as_str().unwrap().contains(&code));
    let page = dispatcher.get(done.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Die Erinnerung ist gesendet."));
    assert!(
        page.body.contains("Gesendet (letzte 7 Tage) (1)"),
        "{}",
        page.body
    );
    // Sent once: not again.
    let again = dispatcher.submit("/console/reminders", &action, &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_cancelled_visit_is_told_by_e_mail_and_the_notice_marked_sent() {
    let port = free_port();
    let sink = Sink::start(port);
    let hub = TestHub::start_with(|c| smtp(c, port)).await;
    let f = fixture(&hub, 1).await;
    caregiver_with_email(&hub, &f, "Anna Köhler", "anna@example.org").await;
    // A caregiver with a phone only keeps the notice for another sender.
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
               "consent_at": "2026-02-01T09:00:00Z"}),
    )
    .await;
    let appointment = phone_appointment(&hub, &f, "money").await;
    let cancel = hub
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/imbus-visits/{}?reason=Der%20Bus%20ist%20in%20der%20Werkstatt",
                f.visit
            ),
            None,
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{:#}", cancel.body);
    let now = Utc::now();
    assert_eq!(
        schedule(&hub, now).made,
        1,
        "only the caregiver with an address"
    );
    assert_eq!(schedule(&hub, now).made, 0);
    let sent = reminders::send_due(&hub.store, &mailer(port), now)
        .await
        .expect("send");
    assert_eq!(sent.sent, 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["rcpt_to"], json!(["anna@example.org"]));
    assert_eq!(
        messages[0]["subject"],
        json!("Dorfpunkt: Ein IMBUS-Termin fällt aus")
    );
    let body = messages[0]["text"].as_str().unwrap();
    assert!(body.contains("Der IMBUS-Termin von Erna am"), "{body}");
    assert!(
        body.contains("fällt aus: Der Bus ist in der Werkstatt."),
        "{body}"
    );
    // Marked sent in the notices; the phone-only caregiver's stays for another sender.
    let (sent, unsent): (i64, i64) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(sent_at), count(*) - count(sent_at) FROM notices
                 WHERE appointment_id = ?1",
                [appointment["id"].as_str().unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("notices");
    assert_eq!((sent, unsent), (1, 1));
    let again = reminders::send_due(&hub.store, &mailer(port), now + Duration::hours(1))
        .await
        .expect("send");
    assert_eq!(again, reminders::Sent::default());
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn starttls_is_required_and_the_servers_certificate_checked() {
    let files = tempfile::tempdir().expect("dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key");
    let port = free_port();
    let sink = Sink::start_with(port, &[&cert, &key]);
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    caregiver_with_email(&hub, &f, "Anna Köhler", "anna@example.org").await;
    let booked = ride(&hub, &f, 9).await;
    let ride_id = booked["id"].as_str().expect("id").to_string();
    let now = day_before(&f, 17, 5);
    assert_eq!(schedule(&hub, now).made, 1);

    // A certificate nobody vouches for: refused, nothing sent in the clear.
    let untrusted = mailer_with(port, |c| {
        c.smtp_host = Some("localhost".into());
        c.smtp_starttls = true;
    });
    let sent = reminders::send_due(&hub.store, &untrusted, now)
        .await
        .expect("send");
    assert_eq!((sent.sent, sent.retrying), (0, 1));
    assert!(sink.messages().is_empty());
    let (_, attempts, _, error) = state(&hub, &ride_id);
    assert_eq!(attempts, 1);
    assert!(error.is_some_and(|e| e.to_lowercase().contains("certificate")));

    // With the relay's certificate trusted the reminder goes out over STARTTLS.
    let trusted = mailer_with(port, |c| {
        c.smtp_host = Some("localhost".into());
        c.smtp_starttls = true;
        c.smtp_ca_file = Some(cert.clone());
    });
    let later = now + Duration::minutes(5);
    let sent = reminders::send_due(&hub.store, &trusted, later)
        .await
        .expect("send");
    assert_eq!(sent.sent, 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let code = booked["booking_code"].as_str().expect("code");
    assert!(messages[0]["text"].as_str().unwrap().contains(code));

    // Plain text to a server that requires STARTTLS is refused for good, not retried.
    hub.store
        .blocking(|c| {
            c.execute(
                "UPDATE reminders SET status = 'pending', next_try_at = due_at, attempts = 0",
                [],
            )?;
            Ok(())
        })
        .expect("again");
    let plain = mailer_with(port, |c| c.smtp_host = Some("localhost".into()));
    let sent = reminders::send_due(&hub.store, &plain, later)
        .await
        .expect("send");
    assert_eq!((sent.sent, sent.failed), (0, 1));
    assert_eq!(state(&hub, &ride_id).0, "failed");
    assert_eq!(sink.messages().len(), 1);
}

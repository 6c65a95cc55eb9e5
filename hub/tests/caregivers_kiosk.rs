//! Who a kiosk ride is for, over real TLS on loopback and the real sync route: a new resident
//! registered with their ride (once, also on repeat; bad input refused with nothing written),
//! resident numbers that resolve or are refused, village streets, and caregivers' kiosk PINs
//! (set by admin, own account or `hub caregiver pin`; right, wrong, locked, other region).

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{SecondsFormat, Utc};
use protocol::ResidentNumber;
use protocol::device::SYNC_PATH;
use protocol::people::CAREGIVER_SESSIONS_PATH;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::kiosk::Kiosk;
use crate::common::{Answer, Fixture, TestHub, ahead, answer, fixture, id};

impl Kiosk {
    /// Sends entries through the sync route; the hub's acks.
    async fn sync(&self, hub: &TestHub, entries: &[Value]) -> Vec<Value> {
        let answer = self
            .post(
                hub,
                SYNC_PATH,
                json!({"api_version": 1, "cursor": 0, "outbox": entries, "limit": 1}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
        answer.body["acks"].as_array().expect("acks").clone()
    }

    async fn caregiver_login(&self, hub: &TestHub, phone: &str, pin: &str) -> Answer {
        self.post(
            hub,
            CAREGIVER_SESSIONS_PATH,
            json!({"phone": phone, "pin": pin}),
        )
        .await
    }
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ride_entry(f: &Fixture, who: Value) -> Value {
    let mut body = json!({"region_id": f.region, "from_home": true,
        "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0),
        "passengers": 1, "wheelchair": false, "walker": true, "channel": "kiosk"});
    for (k, v) in who.as_object().expect("object") {
        body[k] = v.clone();
    }
    json!({"id": Uuid::new_v4(), "kind": "ride_request", "created_at": now_text(), "body": body})
}

fn newcomer() -> Value {
    json!({"name": "Hannelore Wiese", "phone": "05332 44 12", "street": "Lindenweg",
           "house_number": "7a", "language": "de", "consent": true})
}

/// The fixture with streets for its village.
async fn setup(hub: &TestHub) -> (Fixture, Kiosk) {
    let f = fixture(hub, 1).await;
    let patched = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/villages/{}", f.village),
            Some(json!({"streets": ["Lindenweg", "Am Kamp", "Hauptstraße"]})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    assert_eq!(
        patched.body["streets"],
        json!(["Lindenweg", "Am Kamp", "Hauptstraße"])
    );
    let kiosk = Kiosk::enrol(hub, &f.device).await;
    (f, kiosk)
}

fn count_where(hub: &TestHub, sql: &str) -> i64 {
    let sql = sql.to_string();
    hub.store
        .blocking(move |c| Ok(c.query_row(&sql, [], |r| r.get(0))?))
        .expect("count")
}

#[tokio::test]
async fn a_new_resident_and_their_ride_are_made_once_and_the_number_resolves() {
    let hub = TestHub::start().await;
    let (f, kiosk) = setup(&hub).await;
    let residents = hub.count("residents");
    // The fixture's region serves target groups only (75 and older, wheelchair); a newcomer
    // gives no birth year, so a ride outside the groups is refused, and no resident is kept.
    let outside = ride_entry(&f, json!({"new_resident": newcomer()}));
    let acks = kiosk.sync(&hub, &[outside]).await;
    assert_eq!(acks[0]["outcome"], "refused", "{:#}", acks[0]);
    assert_eq!(hub.count("residents"), residents);
    // In a wheelchair they belong to a group.
    let entry = ride_entry(&f, json!({"new_resident": newcomer(), "wheelchair": true}));

    let acks = kiosk.sync(&hub, std::slice::from_ref(&entry)).await;
    assert_eq!(acks[0]["outcome"], "accepted", "{:#}", acks[0]);
    let record = &acks[0]["record"];
    let number: ResidentNumber = record["resident_number"]
        .as_str()
        .expect("number")
        .parse()
        .expect("a valid resident number");
    assert!(record.get("resident_id").is_none() && record.get("name").is_none());
    assert_eq!(hub.count("residents"), residents + 1);

    // The resident as stored: the village's street, the village centre, the consent.
    let row = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT r.street, r.lat = v.lat AND r.lon = v.lon, r.consent_purpose, r.language,
                        r.kiosk_number, NOT r.uses_wheelchair
                 FROM residents r JOIN villages v ON v.id = r.village_id
                 WHERE r.name = 'Hannelore Wiese'",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, bool>(5)?,
                    ))
                },
            )?)
        })
        .expect("resident");
    assert_eq!(row.0, "Lindenweg 7a");
    assert!(row.1, "the home is the village centre");
    assert_eq!(row.2, protocol::people::CONSENT_PURPOSE);
    assert_eq!(
        (row.3.as_str(), row.4.as_str(), row.5),
        ("de", number.compact().as_str(), false)
    );

    // The same entry again: the first answer, nothing new.
    let footprint = (
        hub.count("residents"),
        hub.count("ride_requests"),
        hub.count("audit_log"),
    );
    let again = kiosk.sync(&hub, std::slice::from_ref(&entry)).await;
    assert_eq!(again[0], acks[0]);
    assert_eq!(
        (
            hub.count("residents"),
            hub.count("ride_requests"),
            hub.count("audit_log")
        ),
        footprint
    );

    // Next time the resident books by number, typed with or without dashes.
    let by_number = ride_entry(&f, json!({"resident_number": number.compact()}));
    let acks = kiosk.sync(&hub, std::slice::from_ref(&by_number)).await;
    assert_eq!(acks[0]["outcome"], "accepted", "{:#}", acks[0]);
    assert_eq!(acks[0]["record"]["resident_number"], number.to_string());
    let owner = count_where(
        &hub,
        &format!(
            "SELECT count(*) FROM ride_requests r JOIN residents p ON p.id = r.resident_id
             WHERE r.id = '{}' AND p.name = 'Hannelore Wiese'",
            by_number["id"].as_str().expect("id")
        ),
    );
    assert_eq!(owner, 1);
    assert_eq!(hub.count("residents"), residents + 1);

    // A known resident by id gets a number on their first kiosk ride, and keeps it.
    let known = kiosk
        .sync(&hub, &[ride_entry(&f, json!({"resident_id": f.resident}))])
        .await;
    let first = known[0]["record"]["resident_number"].clone();
    assert!(
        first
            .as_str()
            .is_some_and(|n| n.parse::<ResidentNumber>().is_ok())
    );
    let known = kiosk
        .sync(&hub, &[ride_entry(&f, json!({"resident_id": f.resident}))])
        .await;
    assert_eq!(known[0]["record"]["resident_number"], first);
}

#[tokio::test]
async fn unknown_numbers_and_bad_newcomers_are_refused_with_nothing_written() {
    let hub = TestHub::start().await;
    let (f, kiosk) = setup(&hub).await;
    // A valid number nobody has, a mistyped one.
    let nobody = ResidentNumber::from_body(424_242).to_string();
    let typo = {
        let mut digits: Vec<char> = nobody.chars().collect();
        digits[0] = if digits[0] == '9' { '8' } else { '9' };
        digits.into_iter().collect::<String>()
    };
    let with = |change: Value| {
        let mut person = newcomer();
        for (k, v) in change.as_object().expect("object") {
            if v.is_null() {
                person.as_object_mut().expect("object").remove(k);
            } else {
                person[k] = v.clone();
            }
        }
        json!({"new_resident": person})
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"resident_number": nobody}), "resident_number"),
        (json!({"resident_number": typo}), "resident_number"),
        (json!({"resident_number": 4242427}), "resident_number"),
        (with(json!({"name": null})), "new_resident.name"),
        (with(json!({"name": " "})), "new_resident.name"),
        (with(json!({"name": "A".repeat(81)})), "new_resident.name"),
        (with(json!({"name": "B".repeat(600)})), "new_resident.name"),
        (with(json!({"street": "Mondweg"})), "new_resident.street"),
        (
            with(json!({"house_number": "x"})),
            "new_resident.house_number",
        ),
        (with(json!({"phone": "call me"})), "new_resident.phone"),
        (with(json!({"consent": false})), "new_resident.consent"),
        (with(json!({"consent": "yes"})), "new_resident.consent"),
        (with(json!({"language": "fr"})), "new_resident.language"),
        (
            with(json!({"birthday": "1940-01-01"})),
            "new_resident.birthday",
        ),
        (json!({"new_resident": "Hannelore"}), "new_resident"),
        (json!({}), "resident_id"),
        (
            json!({"resident_id": f.resident, "new_resident": newcomer()}),
            "resident_id",
        ),
        (
            json!({"new_resident": newcomer(), "caregiver_id": f.caregiver}),
            "caregiver_id",
        ),
    ];
    let footprint = || {
        (
            hub.count("residents"),
            hub.count("ride_requests"),
            count_where(
                &hub,
                "SELECT count(*) FROM residents WHERE kiosk_number IS NOT NULL",
            ),
        )
    };
    let before = footprint();
    for (who, field) in cases {
        let acks = kiosk.sync(&hub, &[ride_entry(&f, who.clone())]).await;
        let ack = &acks[0];
        assert_eq!(ack["outcome"], "refused", "{who}: {ack:#}");
        assert_eq!(ack["status"], 422, "{who}: {ack:#}");
        let said = ack["field"].as_str().unwrap_or_default();
        assert!(
            said.starts_with(field),
            "{who}: field {said}, wanted {field}"
        );
        assert_eq!(footprint(), before, "{who} wrote something");
    }

    // A village's streets are checked too: too long, twice, too many.
    for streets in [
        json!(["S".repeat(61)]),
        json!(["Am Kamp", "Am Kamp"]),
        json!((0..401).map(|i| format!("Weg {i}")).collect::<Vec<_>>()),
        json!("Am Kamp"),
    ] {
        let patched = hub
            .call(
                Method::PATCH,
                &format!("/api/v1/villages/{}", f.village),
                Some(json!({ "streets": streets })),
            )
            .await;
        assert_eq!(
            patched.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:#}",
            patched.body
        );
        assert!(
            patched.body["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with("streets")
        );
    }
}

/// A caregiver linked to the fixture's resident, with a kiosk PIN set by the administrator.
async fn caregiver_with_pin(hub: &TestHub, f: &Fixture, pin: &str) {
    let link = hub
        .create(
            "caregiver-links",
            json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
                   "consent_at": "2026-01-05T10:00:00Z"}),
        )
        .await;
    assert!(link["id"].is_string());
    let set = hub
        .post(
            &format!("/api/v1/caregivers/{}/kiosk-pin", f.caregiver),
            json!({ "pin": pin }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:#}", set.body);
}

#[tokio::test]
async fn a_caregiver_logs_in_with_phone_and_pin_and_books_for_a_linked_resident() {
    let hub = TestHub::start().await;
    let (f, kiosk) = setup(&hub).await;
    caregiver_with_pin(&hub, &f, "480517").await;
    // No hash in any API read of the caregiver.
    let read = hub
        .get(&format!("/api/v1/caregivers/{}", f.caregiver))
        .await;
    assert!(!read.body.to_string().contains("argon2"), "{:#}", read.body);

    // The fixture's caregiver phone is "0171 2345678"; typed as digits, or internationally.
    let session = kiosk
        .caregiver_login(&hub, "+49 171 2345678", "480517")
        .await;
    assert_eq!(session.status, StatusCode::OK, "{:#}", session.body);
    assert_eq!(session.body["caregiver_id"], f.caregiver);
    let residents = session.body["residents"].as_array().expect("residents");
    assert_eq!(residents.len(), 1);
    assert_eq!(
        residents[0],
        json!({"resident_id": f.resident, "first_name": "Erna", "village": "Kneitlingen"})
    );

    let entry = ride_entry(
        &f,
        json!({"resident_id": f.resident, "caregiver_id": f.caregiver}),
    );
    let acks = kiosk.sync(&hub, std::slice::from_ref(&entry)).await;
    assert_eq!(acks[0]["outcome"], "accepted", "{:#}", acks[0]);
    let noted = hub
        .store
        .blocking({
            let id = entry["id"].as_str().expect("id").to_string();
            move |c| {
                Ok(c.query_row(
                    "SELECT booked_by, caregiver_id FROM ride_requests WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )?)
            }
        })
        .expect("ride");
    assert_eq!(
        noted,
        (
            format!("device:{} caregiver:{}", f.device, f.caregiver),
            f.caregiver.clone()
        )
    );

    // A caregiver not linked to the resident, or without a PIN, cannot book for them.
    let other = hub
        .create(
            "caregivers",
            json!({"region_id": f.region, "name": "Uwe Lange", "phone": "0160 1111111"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let acks = kiosk
        .sync(
            &hub,
            &[ride_entry(
                &f,
                json!({"resident_id": f.resident, "caregiver_id": other}),
            )],
        )
        .await;
    assert_eq!(acks[0]["outcome"], "refused");
    assert_eq!(acks[0]["field"], "caregiver_id");
}

#[tokio::test]
async fn wrong_pins_count_and_lock_and_other_regions_are_refused() {
    let hub = TestHub::start().await;
    let (f, kiosk) = setup(&hub).await;
    caregiver_with_pin(&hub, &f, "480517").await;

    // Bad shapes change nothing.
    for (body, field) in [
        (json!({"phone": "0171 2345678", "pin": "48051"}), "pin"),
        (json!({"phone": "0171 2345678", "pin": 480517}), "pin"),
        (json!({"phone": "ring ring", "pin": "480517"}), "phone"),
        (json!({"phone": "0171 2345678"}), "pin"),
        (
            json!({"phone": "0171 2345678", "pin": "480517", "name": "x"}),
            "name",
        ),
        (json!({"phone": "1".repeat(600), "pin": "480517"}), "phone"),
    ] {
        let refused = kiosk
            .post(&hub, CAREGIVER_SESSIONS_PATH, body.clone())
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            refused.body
        );
        assert_eq!(refused.body["field"], field, "{body}");
    }
    // An unknown phone number reads like a wrong PIN, and counts nothing.
    let unknown = kiosk.caregiver_login(&hub, "0999 123456", "480517").await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);

    for left in (1..5).rev() {
        let wrong = kiosk.caregiver_login(&hub, "0171 2345678", "111222").await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{:#}", wrong.body);
        assert!(
            wrong.body["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&left.to_string()),
            "{:#}",
            wrong.body
        );
    }
    let fifth = kiosk.caregiver_login(&hub, "0171 2345678", "111222").await;
    assert_eq!(
        fifth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:#}",
        fifth.body
    );
    // Locked: even the right PIN is refused for 15 minutes.
    let locked = kiosk.caregiver_login(&hub, "0171 2345678", "480517").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:#}",
        locked.body
    );
    let until = hub
        .store
        .blocking(|c| {
            Ok(
                c.query_row("SELECT locked_until FROM caregiver_kiosk_pins", [], |r| {
                    r.get::<_, String>(0)
                })?,
            )
        })
        .expect("lock");
    let until: chrono::DateTime<Utc> = until.parse().expect("instant");
    let minutes = (until - Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes), "{minutes}");

    // The lock runs out (set back in time): the right PIN works and resets the count.
    hub.store
        .blocking(|c| {
            c.execute(
                "UPDATE caregiver_kiosk_pins SET locked_until = '2020-01-01T00:00:00Z'",
                [],
            )?;
            Ok(())
        })
        .expect("unlock");
    let right = kiosk.caregiver_login(&hub, "0171 2345678", "480517").await;
    assert_eq!(right.status, StatusCode::OK, "{:#}", right.body);

    // A kiosk of another region does not find this caregiver.
    let g = fixture(&hub, 1).await;
    let theirs = Kiosk::enrol(&hub, &g.device).await;
    let other = theirs.caregiver_login(&hub, "0171 2345678", "480517").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{:#}", other.body);
    // …nor may its kiosk book with this caregiver.
    let acks = theirs
        .sync(
            &hub,
            &[ride_entry(
                &g,
                json!({"resident_id": g.resident, "caregiver_id": f.caregiver}),
            )],
        )
        .await;
    assert_eq!(acks[0]["outcome"], "refused");
    assert_eq!(acks[0]["field"], "caregiver_id");
}

#[tokio::test]
async fn kiosk_pins_are_set_by_admin_own_account_or_the_command_line_only() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let path = format!("/api/v1/caregivers/{}/kiosk-pin", f.caregiver);
    for (body, field) in [
        (json!({"pin": "123456"}), "pin"),
        (json!({"pin": "000000"}), "pin"),
        (json!({"pin": "12345"}), "pin"),
        (json!({"pin": 480517}), "pin"),
        (json!({"pin": "480517", "extra": 1}), "extra"),
        (json!({}), "pin"),
    ] {
        let refused = hub.post(&path, body.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(refused.body["field"], field, "{body}");
    }
    assert_eq!(hub.count("caregiver_kiosk_pins"), 0);
    let missing = hub
        .post(
            &format!("/api/v1/caregivers/{}/kiosk-pin", id()),
            json!({"pin": "480517"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The caregiver's own account may; another caregiver's account may not.
    let own = |name: &str, caregiver: &str| {
        json!({"id": id(), "region_id": f.region, "username": name, "display_name": name,
               "role": "caregiver", "caregiver_id": caregiver})
    };
    hub.create("accounts", own("jonas", &f.caregiver)).await;
    let other = hub
        .create(
            "caregivers",
            json!({"region_id": f.region, "name": "Uwe Lange", "phone": "0160 1111111"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    hub.create("accounts", own("uwe", &other)).await;
    hub::accounts::set_password(&hub.store, "jonas", "pass-of-jonas-1").expect("password");
    hub::accounts::set_password(&hub.store, "uwe", "pass-of-uwe-123").expect("password");
    let as_user = |user: &'static str, password: &'static str| {
        hub.client
            .post(hub.url(&path))
            .basic_auth(user, Some(password))
            .json(&json!({"pin": "480517"}))
            .send()
    };
    let theirs = answer(as_user("uwe", "pass-of-uwe-123").await.expect("sent")).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{:#}", theirs.body);
    let mine = answer(as_user("jonas", "pass-of-jonas-1").await.expect("sent")).await;
    assert_eq!(mine.status, StatusCode::OK, "{:#}", mine.body);
    assert_eq!(hub.count("caregiver_kiosk_pins"), 1);

    // `hub caregiver pin --id` reads the PIN from stdin.
    let data_dir = hub.dir.path().to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["caregiver", "pin", "--data-dir"])
        .arg(&data_dir)
        .args(["--id", &other])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hub runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"731942\n")
        .expect("pin written");
    let out = child.wait_with_output().expect("hub ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hub.count("caregiver_kiosk_pins"), 2);
    let bad = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args(["caregiver", "pin", "--data-dir"])
        .arg(&data_dir)
        .args(["--id", &other])
        .stdin(Stdio::null())
        .output()
        .expect("hub runs");
    assert!(!bad.status.success(), "an empty PIN is refused");
}

//! Kiosk and hub as real processes over real TLS on loopback: enrolment, booking online and
//! offline, SIGKILL of the kiosk at random points, SIGKILL of the hub while kiosks sync, and a
//! proxy that cuts connections (also after the hub committed, so the reply is lost). Afterwards
//! the hub holds every booking exactly once and every kiosk's outbox is empty.

#[path = "kiosk_hub/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{Cut, Hub, Kiosk, Proxy};

/// Booking lines `booking=<code> status=<..>` of a `kiosk sim` run.
fn booking_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with("booking=")).collect()
}

/// The hub holds each of the kiosks' bookings exactly once, and nothing else from kiosks.
fn assert_exactly_once(hub: &Hub, kiosks: &[&Kiosk]) {
    let held = hub.ride_ids();
    let distinct: BTreeSet<String> = held.iter().cloned().collect();
    assert_eq!(distinct.len(), held.len(), "a booking twice in the hub");
    let made: BTreeSet<String> = kiosks.iter().flat_map(|k| k.bookings()).collect();
    assert_eq!(distinct, made, "hub and kiosks disagree");
    for kiosk in kiosks {
        assert_eq!(
            kiosk.pending(),
            0,
            "outbox of {} not empty",
            kiosk.dir.display()
        );
    }
}

#[test]
fn a_kiosk_enrols_books_online_then_offline_and_catches_up() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut hub = Hub::start(&root.path().join("hub"));
    let resident = hub.resident();
    let kiosk = Kiosk::enrol(
        &hub,
        &root.path().join("kiosk"),
        "Kiosk Kneitlingen",
        "Kneitlingen",
    );
    assert_eq!(
        hub.one("SELECT status FROM devices WHERE name = 'Kiosk Kneitlingen'"),
        "active"
    );

    // Online: the hub's answer at once.
    let (lines, ok) = kiosk.sim(3, &resident, 30).finish(Duration::from_secs(90));
    assert!(ok, "{lines:#?}");
    let booked = booking_lines(&lines);
    assert_eq!(booked.len(), 3, "{lines:#?}");
    assert!(
        booked
            .iter()
            .all(|l| l.contains("status=confirmed") || l.contains("status=requested")),
        "{lines:#?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("outbox=0"));
    assert_exactly_once(&hub, &[&kiosk]);

    // The hub is gone: the kiosk takes requests, prints them as such, and waits.
    hub.kill();
    let mut offline = kiosk.sim(2, &resident, 60);
    for _ in 0..2 {
        let line = offline.wait_for("booking=", Duration::from_secs(60));
        assert!(line.ends_with("status=requested"), "{line}");
    }
    assert_eq!(kiosk.pending(), 2);
    // The hub comes back; the waiting kiosk delivers and empties its outbox.
    hub.restart();
    let (lines, ok) = offline.finish(Duration::from_secs(90));
    assert!(ok, "{lines:#?}");
    assert_eq!(lines.last().map(String::as_str), Some("outbox=0"));
    assert_eq!(kiosk.bookings().len(), 5);
    assert_exactly_once(&hub, &[&kiosk]);
}

/// The setup screen's enrolment against the real hub: the code as the admin reads it (grouped,
/// lower case from a careless hand) enrols the kiosk; the same code again, and an unknown one,
/// are refused in the hub's words and leave the second kiosk unenrolled.
#[test]
fn the_setup_screen_enrolment_is_accepted_once_and_refusals_say_why() {
    use kiosk::setup::{Answer, SetupHub};
    let root = tempfile::tempdir().expect("temp dir");
    let hub = Hub::start(&root.path().join("hub"));
    let code = hub.add_device("Kiosk Kneitlingen Markt", "Kneitlingen");
    let named = SetupHub::from_settings(Some(&hub.url()), Some(&hub.cert())).expect("the hub");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let first = root.path().join("first");
    let answer = runtime.block_on(kiosk::setup::enrol(&named, &code.to_lowercase(), &first));
    let Answer::Enrolled { device_id, .. } = answer else {
        panic!("not enrolled: {answer:?}");
    };
    assert_eq!(
        hub.one(&format!(
            "SELECT name FROM devices WHERE id = '{device_id}'"
        )),
        "Kiosk Kneitlingen Markt"
    );
    assert!(first.join("identity.json").exists());

    let second = root.path().join("second");
    let again = runtime.block_on(kiosk::setup::enrol(&named, &code, &second));
    assert!(
        matches!(&again, Answer::Refused { detail } if detail.contains("already used")),
        "{again:?}"
    );
    let unknown = runtime.block_on(kiosk::setup::enrol(&named, "2345-6789-ABCD", &second));
    assert!(
        matches!(&unknown, Answer::Refused { detail } if detail.contains("unknown")),
        "{unknown:?}"
    );
    assert!(!second.join("identity.json").exists());
}

/// A small seeded generator for kill times (no dependency for one number a round).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn killing_the_kiosk_at_random_points_a_hundred_times_loses_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let hub = Hub::start(&root.path().join("hub"));
    let resident = hub.resident();
    let kiosk = Kiosk::enrol(
        &hub,
        &root.path().join("kiosk"),
        "Kiosk Remlingen",
        "Remlingen-Semmenstedt",
    );
    let mut seed = 0x5eed_u64;
    let mut killed_with_pending = 0;
    for _ in 0..100 {
        let sim = kiosk.sim(1, &resident, 5);
        // Somewhere in opening the store, booking, committing, syncing or applying the answer.
        std::thread::sleep(Duration::from_millis(next(&mut seed) % 400));
        sim.kill();
        if kiosk.pending() > 0 {
            killed_with_pending += 1;
        }
    }
    kiosk.drain(20);
    let made = kiosk.bookings().len();
    assert!(made > 0, "some bookings were committed before a kill");
    assert_exactly_once(&hub, &[&kiosk]);
    eprintln!(
        "{made} bookings committed in 100 killed runs, {killed_with_pending} kills left entries pending"
    );
}

#[test]
fn killing_the_hub_while_kiosks_sync_loses_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut hub = Hub::start(&root.path().join("hub"));
    let resident = hub.resident();
    let kiosks: Vec<Kiosk> = ["Kneitlingen", "Remlingen-Semmenstedt", "Schöppenstedt"]
        .iter()
        .enumerate()
        .map(|(i, village)| {
            Kiosk::enrol(
                &hub,
                &root.path().join(format!("kiosk{i}")),
                &format!("Kiosk {village}"),
                village,
            )
        })
        .collect();
    let sims: Vec<_> = kiosks.iter().map(|k| k.sim(6, &resident, 90)).collect();
    for pause in [700, 400, 900] {
        std::thread::sleep(Duration::from_millis(pause));
        hub.kill();
        std::thread::sleep(Duration::from_millis(500));
        hub.restart();
    }
    for sim in sims {
        let (lines, ok) = sim.finish(Duration::from_secs(150));
        assert!(ok, "{lines:#?}");
        assert_eq!(booking_lines(&lines).len(), 6, "{lines:#?}");
        assert_eq!(lines.last().map(String::as_str), Some("outbox=0"));
    }
    let all: Vec<&Kiosk> = kiosks.iter().collect();
    assert_exactly_once(&hub, &all);
    assert_eq!(hub.ride_ids().len(), 18);
}

#[test]
fn a_lost_reply_is_answered_again_and_cut_connections_lose_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let hub = Hub::start(&root.path().join("hub"));
    let resident = hub.resident();
    let code = hub.add_device("Kiosk Kneitlingen", "Kneitlingen");
    let kiosk = Kiosk::enrol_via(&hub, &hub.url(), &root.path().join("kiosk"), &code);
    // Learn the region first (places to book) over a clean line.
    assert!(kiosk.sync());

    // Every connection loses the hub's reply: the booking is committed at the hub but the
    // kiosk only knows it as a request.
    let lossy = Proxy::start(hub.port, vec![Cut::LoseReply; 1000]);
    rewrite_hub_url(&kiosk, &lossy.url());
    let (lines, ok) = kiosk.sim(1, &resident, 2).finish(Duration::from_secs(60));
    assert!(
        !ok,
        "the outbox cannot empty while every reply is lost: {lines:#?}"
    );
    assert_eq!(kiosk.pending(), 1);
    assert_eq!(hub.ride_ids().len(), 1, "the hub committed the booking");
    drop(lossy);

    // Connections cut after a few bytes, at many places in the handshake and the exchange.
    let cuts: Vec<Cut> = (0..15).map(|i| Cut::AfterBytes(150 + i * 431)).collect();
    let choppy = Proxy::start(hub.port, cuts);
    rewrite_hub_url(&kiosk, &choppy.url());
    let (lines, _) = kiosk.sim(3, &resident, 60).finish(Duration::from_secs(120));
    assert_eq!(booking_lines(&lines).len(), 3, "{lines:#?}");
    assert!(
        choppy
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
            > 1
    );
    kiosk.drain(60);
    // The lost reply was answered again from the hub's first answer; nothing doubled.
    assert_exactly_once(&hub, &[&kiosk]);
    assert_eq!(hub.ride_ids().len(), 4);
}

/// Points an enrolled kiosk at another address (the proxy), as an admin would after moving the
/// hub.
fn rewrite_hub_url(kiosk: &Kiosk, url: &str) {
    let path = kiosk.dir.join("identity.json");
    let text = std::fs::read_to_string(&path).expect("identity.json");
    let mut identity: serde_json::Value = serde_json::from_str(&text).expect("json");
    identity["hub_url"] = serde_json::Value::String(url.to_string());
    std::fs::write(&path, identity.to_string()).expect("write identity");
}

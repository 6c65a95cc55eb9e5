//! The setup screen of a kiosk that is not enrolled, on Slint's testing backend, against the TLS
//! hub on loopback: the code typed on the keypad by its keys' labels enrols the kiosk for real; a
//! short code is explained and sends nothing; a refused code and a hub that does not answer are
//! explained, keep the code typed and leave the kiosk unenrolled; without a hub named there is
//! nothing to type. And the wait of `kiosk run` for an identity, in process and as the service.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use kiosk::identity::{self, Identity};
use kiosk::setup::{self, Answer, SetupError, SetupHub};
use kiosk::ui::{AppWindow, Navigation, Page, SetupScreen, SetupState};
use slint::ComponentHandle;

use crate::tls_hub::TlsHub;
use crate::ui::{buttons_labelled, kiosk_window, tap};
use crate::{LogLines, runtime};

/// The code the hub knows, as the admin reads it off the device list, and as the kiosk sends it.
const CODE: &str = "SETU-PK7Q-M2XA";
const CANONICAL: &str = "SETUPK7QM2XA";

/// The hub as the image names it: its address and a file with its certificate.
fn named(hub: &TlsHub, dir: &Path) -> SetupHub {
    let ca = dir.join("hub-ca.pem");
    std::fs::write(&ca, &hub.hub_cert_pem).expect("the certificate file");
    SetupHub::from_settings(Some(&hub.url()), Some(&ca)).expect("a usable hub")
}

/// A setup screen for `hub` whose "Einrichten" records the codes it was given.
fn setup_window(hub: &SetupHub) -> (AppWindow, Rc<RefCell<Vec<String>>>) {
    let app = kiosk_window();
    let sent = Rc::new(RefCell::new(Vec::new()));
    let record = sent.clone();
    kiosk::ui::setup::init(&app, Ok(hub.url.as_str()), move |code| {
        record.borrow_mut().push(code)
    });
    (app, sent)
}

fn type_code(app: &AppWindow, code: &str) {
    for key in code.chars().filter(|c| *c != '-') {
        tap(app, &key.to_string());
    }
}

fn screen(app: &AppWindow) -> (SetupState, String, String) {
    let screen = app.global::<SetupScreen>();
    (
        screen.get_state(),
        screen.get_typed().to_string(),
        screen.get_detail().to_string(),
    )
}

#[test]
fn a_code_typed_on_the_setup_screen_enrols_the_kiosk_with_the_hub() {
    let rt = runtime();
    let hub = rt.block_on(TlsHub::start(CANONICAL));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");
    let named = named(&hub, dir.path());
    let (app, sent) = setup_window(&named);
    assert_eq!(app.global::<Navigation>().get_page(), Page::Setup);
    assert_eq!(app.global::<SetupScreen>().get_hub(), hub.url().as_str());

    // Too short: explained, nothing sent; the next key clears the problem.
    type_code(&app, "SETU-PK7");
    tap(&app, "Einrichten");
    assert_eq!(screen(&app).0, SetupState::CodeLength);
    assert!(sent.borrow().is_empty());

    // Typed to the end, one key too many ignored, a typo deleted and corrected.
    type_code(&app, "QM2XB");
    tap(&app, "Löschen");
    type_code(&app, "A2");
    assert_eq!(
        screen(&app),
        (SetupState::Typing, CODE.to_string(), String::new())
    );
    tap(&app, "Einrichten");
    assert_eq!(screen(&app).0, SetupState::Connecting);
    assert_eq!(*sent.borrow(), [CANONICAL]);
    // While the hub is asked the keys change nothing.
    tap(&app, "7");
    tap(&app, "Einrichten");
    assert_eq!(screen(&app).1, CODE);
    assert_eq!(sent.borrow().len(), 1);

    let answer = rt.block_on(setup::enrol(&named, &sent.borrow()[0], &data));
    kiosk::ui::setup::show_answer(&app, &answer);
    assert_eq!(
        answer,
        Answer::Enrolled {
            device_id: "dev-1".into(),
            region_id: crate::tls_hub::REGION.into()
        }
    );
    let (state, _, detail) = screen(&app);
    assert_eq!(state, SetupState::Enrolled);
    assert!(detail.contains("dev-1"), "{detail}");
    assert_eq!(
        buttons_labelled(&app, "Einrichten"),
        0,
        "nothing left to type"
    );
    let identity = Identity::load(&data).unwrap();
    assert_eq!(identity.device_id, "dev-1");
    assert_eq!(identity.hub_url, hub.url());
    // The code is spent: the hub knows it no more.
    assert!(hub.shared.state().codes.is_empty());
}

#[test]
fn a_refused_code_and_a_silent_hub_are_explained_and_leave_the_kiosk_unenrolled() {
    let rt = runtime();
    let mut hub = rt.block_on(TlsHub::start(CANONICAL));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");
    let named = named(&hub, dir.path());
    let (app, sent) = setup_window(&named);

    let wrong = "SETU-PK7Q-M2XB";
    type_code(&app, wrong);
    tap(&app, "Einrichten");
    let answer = rt.block_on(setup::enrol(&named, &sent.borrow()[0], &data));
    kiosk::ui::setup::show_answer(&app, &answer);
    let (state, typed, detail) = screen(&app);
    assert_eq!(state, SetupState::Refused);
    assert_eq!(typed, wrong, "the code stays to be corrected");
    assert!(detail.contains("unknown, has expired"), "{detail}");
    assert!(!Identity::path(&data).exists());
    assert_eq!(hub.shared.state().codes.len(), 1, "the right code is kept");

    // Corrected, but the hub is down: no answer, still not enrolled, and it can be tried again.
    tap(&app, "Löschen");
    tap(&app, "A");
    rt.block_on(hub.down());
    tap(&app, "Einrichten");
    let answer = rt.block_on(setup::enrol(&named, &sent.borrow()[1], &data));
    kiosk::ui::setup::show_answer(&app, &answer);
    let (state, typed, detail) = screen(&app);
    assert_eq!(state, SetupState::Unreachable);
    assert_eq!(typed, CODE);
    assert!(detail.contains("unreachable"), "{detail}");
    assert!(!Identity::path(&data).exists());

    rt.block_on(hub.up());
    tap(&app, "Einrichten");
    assert_eq!(sent.borrow().len(), 3);
    let answer = rt.block_on(setup::enrol(&named, &sent.borrow()[2], &data));
    assert!(matches!(answer, Answer::Enrolled { .. }), "{answer:?}");
    assert!(Identity::path(&data).exists());
    // Not a code at all never reaches the hub.
    assert_eq!(
        rt.block_on(setup::enrol(&named, "SETU-0000", &data)),
        Answer::NotACode
    );
}

#[test]
fn without_a_usable_hub_the_screen_says_how_to_name_one_and_takes_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let url = Some("https://hub.example:8443");
    let cases = [
        SetupHub::from_settings(None, Some(&garbage)).unwrap_err(),
        SetupHub::from_settings(Some("  "), Some(&garbage)).unwrap_err(),
        SetupHub::from_settings(url, None).unwrap_err(),
        SetupHub::from_settings(url, Some(&missing)).unwrap_err(),
        SetupHub::from_settings(url, Some(&garbage)).unwrap_err(),
    ];
    assert!(matches!(cases[0], SetupError::NoHub));
    assert!(matches!(cases[1], SetupError::NoHub));
    assert!(matches!(cases[2], SetupError::NoCertificate));
    assert!(matches!(cases[3], SetupError::Certificate { .. }));
    assert!(matches!(cases[4], SetupError::Unusable(_)), "{}", cases[4]);
    assert!(cases[3].to_string().contains("missing.pem"));

    let app = kiosk_window();
    let sent = Rc::new(RefCell::new(0));
    let count = sent.clone();
    kiosk::ui::setup::init(&app, Err(cases[0].to_string()), move |_| {
        *count.borrow_mut() += 1
    });
    let (state, typed, detail) = screen(&app);
    assert_eq!(state, SetupState::NoHub);
    assert_eq!(typed, "");
    assert!(detail.contains("KIOSK_HUB"), "{detail}");
    assert_eq!(buttons_labelled(&app, "Einrichten"), 0);
    assert_eq!(buttons_labelled(&app, "A"), 0);
    // Invoked anyway (a stale tap), the callbacks change nothing.
    let global = app.global::<SetupScreen>();
    global.invoke_key("A".into());
    global.invoke_connect();
    assert_eq!(screen(&app).1, "");
    assert_eq!(*sent.borrow(), 0);
}

#[test]
fn the_wait_for_an_identity_ends_when_one_appears_or_on_stop() {
    let rt = runtime();
    let hub = rt.block_on(TlsHub::start(CANONICAL));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");

    let stopped = rt.block_on(async {
        setup::wait_for_identity(&data, tokio::time::sleep(Duration::from_millis(300))).await
    });
    assert!(!stopped, "stopped before anyone enrolled");

    let (url, pem, enrol_dir) = (hub.url(), hub.hub_cert_pem.clone(), data.clone());
    let enrolled = rt.block_on(async move {
        let enrol = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            identity::enrol(&url, &pem, CANONICAL, &enrol_dir).await
        });
        let waited = setup::wait_for_identity(&data, std::future::pending()).await;
        enrol.await.unwrap().unwrap();
        waited
    });
    assert!(enrolled);
}

/// `kiosk run` as the service runs it on a kiosk nobody enrolled: it stays up and waits (no
/// restart loop), and starts syncing once `kiosk enroll` ran beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_waits_for_enrolment_then_syncs() {
    let hub = TlsHub::start(CANONICAL).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args([
            "run",
            "--screen",
            "off",
            "--sync-every-s",
            "1",
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("KIOSK_HUB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiosk run starts");
    let log = LogLines::of(&mut child);

    log.until("the wait", || log.count("not enrolled: waiting") > 0)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "it waits, it does not exit"
    );
    assert!(hub.shared.state().syncs.is_empty());

    identity::enrol(&hub.url(), &hub.hub_cert_pem, CANONICAL, &data)
        .await
        .unwrap();
    log.until("a sync as the enrolled device", || {
        !hub.shared.state().syncs.is_empty()
    })
    .await;
    assert_eq!(log.count("enrolled: starting"), 1);

    log.stop(child).await;
}

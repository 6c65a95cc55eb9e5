//! "Hilfe finden" on Slint's testing backend, every element found by its accessible label, in
//! German and Arabic: a need, its services, one service with address, phone and opening hours in
//! words, the slip printed, and a call back from counselling typed on the on-screen keyboards and
//! queued in a real kiosk store's outbox (the hub out of reach). Wrong input is explained and
//! sends nothing; the idle reset forgets what was typed.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::Store;
use kiosk::requests::{CallBackAsk, HelpService, Need, Opening, request_call_back};
use kiosk::sync::{Transport, TransportError};
use kiosk::ui::help::{self, CallBackDraft};
use kiosk::ui::{AppWindow, HelpScreen, Navigation, Page, Printing};
use protocol::sync::{OutboxKind, SyncRequest, SyncResponse};
use slint::{ComponentHandle, Model};
use tempfile::TempDir;

use crate::open_store;
use crate::ui::{bounds, button, buttons_labelled, kiosk_window, tap};

/// The hub out of reach.
pub struct Offline;

impl Transport for Offline {
    async fn exchange(&self, _: SyncRequest) -> Result<SyncResponse, TransportError> {
        Err(TransportError::Unreachable(
            "no network in this test".into(),
        ))
    }
}

/// A Tuesday, 10:00 in the region.
fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 1)
        .expect("a date")
        .and_hms_opt(10, 0, 0)
        .expect("a time")
}

fn services() -> Vec<HelpService> {
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("a time");
    vec![
        HelpService {
            id: "d-sucht".into(),
            name: "Suchtberatung Wolfenbüttel".into(),
            address: "Harzstraße 24, 38300 Wolfenbüttel".into(),
            phone: Some("05331 881910".into()),
            hours: vec![Opening {
                weekday: Weekday::Tue,
                open: t("09:00"),
                close: t("12:00"),
            }],
            helps_with: vec![Need::Alcohol, Need::Anxiety],
        },
        HelpService {
            id: "d-familie".into(),
            name: "Familienberatung Wolfenbüttel".into(),
            address: "Lange Herzogstraße 44, 38300 Wolfenbüttel".into(),
            phone: None,
            hours: vec![Opening {
                weekday: Weekday::Thu,
                open: t("14:00"),
                close: t("17:00"),
            }],
            helps_with: vec![Need::FamilyStrain, Need::Anxiety],
        },
    ]
}

/// A kiosk whose call backs go into a real store's outbox with the hub out of reach; the slips
/// printed are kept.
struct HelpKiosk {
    app: AppWindow,
    store: Store,
    _dir: TempDir,
    slips: Rc<RefCell<Vec<String>>>,
    drafts: Rc<RefCell<Vec<CallBackDraft>>>,
}

fn help_kiosk() -> HelpKiosk {
    let app = kiosk_window();
    let (dir, _, store) = open_store();
    let drafts = Rc::new(RefCell::new(Vec::new()));
    let (weak, seen, queue) = (app.as_weak(), drafts.clone(), store.clone());
    help::init(&app, services(), now, move |draft: CallBackDraft| {
        seen.borrow_mut().push(draft.clone());
        let ask = CallBackAsk {
            region_id: "r-elm-asse".into(),
            name: draft.name,
            phone: draft.phone,
            need: draft.need,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let sent = runtime
            .block_on(request_call_back(
                &queue,
                &Offline,
                &ask,
                Duration::from_millis(500),
            ))
            .expect("the store takes it")
            .expect("a valid request");
        let app = weak.upgrade().expect("the window is open");
        help::show_sent(&app, &sent.1);
    });
    let slips = Rc::new(RefCell::new(Vec::new()));
    let printed = slips.clone();
    app.global::<Printing>()
        .on_print_help(move |id| printed.borrow_mut().push(id.to_string()));
    HelpKiosk {
        app,
        store,
        _dir: dir,
        slips,
        drafts,
    }
}

/// Taps the button `label` after checking it is a big enough target.
fn press(app: &AppWindow, label: &str) {
    let (_, size) = bounds(&button(app, label));
    assert!(
        size.width >= 95.0 && size.height >= 95.0,
        "{label:?} is {size:?}"
    );
    tap(app, label);
}

/// Whether a text labelled `label` is on screen.
pub fn shows(app: &AppWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, label)
        .any(|e| e.accessible_role() == Some(AccessibleRole::Text))
}

fn page(app: &AppWindow) -> Page {
    app.global::<Navigation>().get_page()
}

/// Types `text` on the on-screen keyboard, one key a character (capitals: the keys' labels).
fn type_keys(app: &AppWindow, text: &str) {
    for c in text.chars() {
        press(app, &c.to_string());
    }
}

/// The labels the flow taps and reads, in one language.
struct Words {
    find_help: &'static str,
    alcohol: &'static str,
    call_back: &'static str,
    print: &'static str,
    next: &'static str,
    send: &'static str,
    delete: &'static str,
    back: &'static str,
    phone: &'static str,
    open_until: &'static str,
    name_typed: &'static str,
    no_name: &'static str,
    short_phone: &'static str,
    stored: &'static str,
    done: &'static str,
}

const DE: Words = Words {
    find_help: "Hilfe finden",
    alcohol: "Alkohol",
    call_back: "Rückruf von der Beratung",
    print: "Zettel drucken",
    next: "Weiter",
    send: "Absenden",
    delete: "Löschen",
    back: "Zurück",
    phone: "Telefon: 05331 881910",
    open_until: "Jetzt geöffnet bis 12:00 Uhr",
    name_typed: "Ihr Name: Erna_",
    no_name: "Bitte tippen Sie Ihren Namen.",
    short_phone: "Bitte tippen Sie Ihre ganze Telefonnummer.",
    stored: "Ihre Bitte ist gespeichert. Die Beratung ruft Sie an.",
    done: "Fertig",
};

const AR: Words = Words {
    find_help: "البحث عن مساعدة",
    alcohol: "الكحول",
    call_back: "اتصال من الاستشارة",
    print: "اطبع الورقة",
    next: "التالي",
    send: "أرسل",
    delete: "حذف",
    back: "رجوع",
    phone: "الهاتف: 05331 881910",
    open_until: "مفتوح الآن حتى الساعة 12:00",
    name_typed: "اسمك: Erna_",
    no_name: "اكتب اسمك من فضلك.",
    short_phone: "اكتب رقم هاتفك كاملًا من فضلك.",
    stored: "تم حفظ طلبك. ستتصل بك الاستشارة.",
    done: "انتهى",
};

/// From the start screen to a queued call back about alcohol, through the service's page.
fn walk(k: &HelpKiosk, w: &Words) {
    let app = &k.app;
    press(app, w.find_help);
    assert_eq!(page(app), Page::HelpNeeds);
    press(app, w.alcohol);
    assert_eq!(page(app), Page::HelpPlaces);
    // The services for that need only.
    assert_eq!(buttons_labelled(app, "Familienberatung Wolfenbüttel"), 0);
    press(app, "Suchtberatung Wolfenbüttel");
    assert_eq!(page(app), Page::HelpPlace);
    assert!(shows(app, "Harzstraße 24, 38300 Wolfenbüttel"));
    assert!(shows(app, w.phone));
    assert!(shows(app, w.open_until), "hours in words");
    press(app, w.print);
    assert_eq!(k.slips.borrow().as_slice(), ["d-sucht"]);

    press(app, w.call_back);
    assert_eq!(page(app), Page::HelpName);
    // Nothing typed yet: refused with a reason, and nothing sent.
    press(app, w.next);
    assert_eq!(page(app), Page::HelpName);
    assert!(shows(app, w.no_name));
    type_keys(app, "ERNX");
    press(app, w.delete);
    type_keys(app, "A");
    assert!(
        shows(app, w.name_typed),
        "capital first, small letters after"
    );
    press(app, w.next);
    assert_eq!(page(app), Page::HelpPhone);
    type_keys(app, "0533");
    press(app, w.send);
    assert_eq!(page(app), Page::HelpPhone, "four digits are not a number");
    assert!(shows(app, w.short_phone));
    assert!(k.drafts.borrow().is_empty(), "nothing was sent");
    type_keys(app, "1881910");
    press(app, w.send);
    assert_eq!(page(app), Page::HelpSent);
    assert!(shows(app, w.stored));
}

/// The call back waits in the outbox, with the name and number until the hub has it.
fn assert_queued(k: &HelpKiosk) {
    assert_eq!(
        k.drafts.borrow().as_slice(),
        [CallBackDraft {
            need: Need::Alcohol,
            name: "Erna".into(),
            phone: "05331881910".into(),
        }]
    );
    let pending = k.store.pending(10).expect("the outbox");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].kind, OutboxKind::CallBack);
    assert_eq!(pending[0].body["contact_name"], "Erna");
    assert_eq!(pending[0].body["contact_phone"], "05331881910");
    assert_eq!(pending[0].body["topic"], "addiction");
    // Not on screen any more.
    let screen = k.app.global::<HelpScreen>();
    assert!(screen.get_name().is_empty() && screen.get_phone().is_empty());
}

#[test]
fn a_call_back_about_alcohol_is_queued_in_german() {
    let k = help_kiosk();
    walk(&k, &DE);
    assert_queued(&k);
    press(&k.app, DE.done);
    assert_eq!(page(&k.app), Page::Start);
}

#[test]
fn a_call_back_about_alcohol_is_queued_in_arabic_with_mirrored_rows() {
    let k = help_kiosk();
    tap(&k.app, "Sprache");
    tap(&k.app, "العربية");
    press(&k.app, AR.find_help);
    // The first need is on the right in Arabic.
    let (first, _) = bounds(&button(&k.app, "لا يوجد سكن"));
    let (second, _) = bounds(&button(&k.app, AR.alcohol));
    assert!(second.x < first.x, "tiles run right to left");
    tap(&k.app, AR.back);
    assert_eq!(page(&k.app), Page::Start);
    walk(&k, &AR);
    assert_queued(&k);
}

#[test]
fn back_goes_one_step_and_a_need_without_services_still_offers_a_call_back() {
    let k = help_kiosk();
    let app = &k.app;
    press(app, DE.find_help);
    press(app, "Demenz");
    assert!(shows(app, "Hier ist noch keine Stelle eingetragen."));
    press(app, DE.call_back);
    assert_eq!(page(app), Page::HelpName);
    press(app, DE.back);
    assert_eq!(page(app), Page::HelpPlaces, "back to the list it came from");
    press(app, DE.back);
    press(app, "Angst");
    // Both services help with anxiety, by name.
    button(app, "Familienberatung Wolfenbüttel");
    press(app, "Familienberatung Wolfenbüttel");
    assert!(shows(app, "Kein Telefon bekannt"));
    assert!(shows(app, "Wieder geöffnet am Donnerstag ab 14:00 Uhr"));
    press(app, DE.call_back);
    press(app, DE.back);
    assert_eq!(
        page(app),
        Page::HelpPlace,
        "back to the service it came from"
    );
    for expected in [Page::HelpPlaces, Page::HelpNeeds, Page::Start] {
        press(app, DE.back);
        assert_eq!(page(app), expected);
    }
    assert!(k.drafts.borrow().is_empty());
    assert_eq!(k.store.pending_count().expect("count"), 0, "nothing queued");
}

#[test]
fn the_idle_reset_forgets_the_name_typed() {
    let k = help_kiosk();
    let app = &k.app;
    press(app, DE.find_help);
    press(app, DE.alcohol);
    press(app, DE.call_back);
    type_keys(app, "ERNA");
    assert!(shows(app, DE.name_typed));
    for _ in 0..91 {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(page(app), Page::Start);
    let screen = app.global::<HelpScreen>();
    assert!(screen.get_name().is_empty());
    assert_eq!(
        screen.get_places().row_count(),
        0,
        "the services shown are gone"
    );
    assert_eq!(k.store.pending_count().expect("count"), 0);
}

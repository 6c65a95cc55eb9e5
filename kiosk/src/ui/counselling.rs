//! The counselling screens' Rust side: what is offered (the IMBUS visits and this kiosk's
//! consultation hours with their free slots, and the IMBUS timetable), built from the replica by
//! pure functions; the resident's choices read back as an [`AppointmentDraft`]; the answer shown.
//!
//! The UI never books itself: "Buchen" hands the draft to the `book` function given to [`init`],
//! which returns at once; whoever books (the app, with `kiosk::core::book_appointment` on a worker
//! thread) calls [`show_result`] on the UI thread when the answer is there. The offer is made
//! off the UI thread ([`Rows::read`], [`offer`]) and handed in with [`set_offer`]; what lies in
//! the past by the time a resident opens a screen is dropped then, by the clock given to [`init`].

use std::collections::HashSet;
use std::rc::Rc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use super::{
    AppWindow, CounsellingScreen, CounsellingSession, CounsellingSlot, CounsellingState,
    ImbusScreen, ImbusVisit, Navigation, Page,
};
use crate::core::{BookingResult, BookingStatus, SLOT_TAKEN, Topic};
use crate::store::{ReplicaRow, Store, StoreResult};

/// How many visits the IMBUS timetable shows of this village, and of the neighbouring villages.
pub const VISITS_SHOWN: usize = 8;

/// Villages whose centres lie at most this far from this kiosk's village are its neighbours.
pub const NEIGHBOUR_KM: f64 = 15.0;

/// The topics in the order the topic screen shows them (its buttons are numbered so).
pub const TOPICS: [Topic; 8] = [
    Topic::Health,
    Topic::Care,
    Topic::Money,
    Topic::Housing,
    Topic::Loneliness,
    Topic::Addiction,
    Topic::Family,
    Topic::Other,
];

/// The replica rows the counselling screens are made from, one list per kind.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub visits: Vec<ReplicaRow>,
    pub hours: Vec<ReplicaRow>,
    pub slots: Vec<ReplicaRow>,
    pub stops: Vec<ReplicaRow>,
    pub villages: Vec<ReplicaRow>,
}

impl Rows {
    /// Reads the rows from the store (blocks on SQLite: not on the UI thread).
    pub fn read(store: &Store) -> StoreResult<Rows> {
        Ok(Rows {
            visits: store.replica_list("imbus_visits")?,
            hours: store.replica_list("consultation_hours")?,
            slots: store.replica_list("slots")?,
            stops: store.replica_list("stops")?,
            villages: store.replica_list("villages")?,
        })
    }
}

/// Where the kiosk stands: its device and its village (from its replica's device row).
#[derive(Clone, Copy, Debug)]
pub struct Here<'a> {
    pub device_id: &'a str,
    pub village_id: &'a str,
}

/// Who counsels at a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// The IMBUS at one of the village's stops.
    Imbus,
    /// A health worker's consultation hours at this kiosk.
    Kiosk,
}

/// A slot that can be booked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotOffer {
    pub id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start in the region's time zone.
    pub time: NaiveTime,
}

/// An IMBUS visit or one day's consultation hours, with its free slots, earliest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub host: Host,
    /// The day and the hours, in the region's time zone.
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
    /// The stop's name for a visit; empty for consultation hours (here, at the kiosk).
    pub place: String,
    pub slots: Vec<SlotOffer>,
}

/// One line of the IMBUS timetable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitLine {
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
    pub ends_at: DateTime<Utc>,
    pub stop: String,
    pub village: String,
    /// In this kiosk's village.
    pub here: bool,
    /// `Some(reason)` when the visit was called off (the reason may be empty).
    pub cancelled: Option<String>,
}

/// Everything the counselling and IMBUS screens show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    pub sessions: Vec<Session>,
    pub visits: Vec<VisitLine>,
}

/// The offer at `now`: [`sessions`] and [`timetable`].
pub fn offer(
    rows: &Rows,
    here: Here<'_>,
    held: &HashSet<String>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Offer {
    Offer {
        sessions: sessions(rows, here, held, now, tz),
        visits: timetable(rows, here.village_id, now, tz),
    }
}

fn text<'a>(row: &'a ReplicaRow, name: &str) -> Option<&'a str> {
    row.body.get(name).and_then(Value::as_str)
}

fn instant(row: &ReplicaRow, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text(row, name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn local(at: DateTime<Utc>, tz: Tz) -> (NaiveDate, NaiveTime) {
    let at = at.with_timezone(&tz);
    (at.date_naive(), at.time())
}

fn find<'a>(rows: &'a [ReplicaRow], id: &str) -> Option<&'a ReplicaRow> {
    rows.iter().find(|r| r.id == id)
}

/// The free slots of this village at `now`, grouped into sessions, earliest first. A slot is
/// offered when it is open, starts after `now`, is not in `held` (the slots this kiosk's outbox
/// holds), and belongs to a published IMBUS visit in this village or to this kiosk's own
/// consultation hours. Sessions without a free slot are left out.
pub fn sessions(
    rows: &Rows,
    here: Here<'_>,
    held: &HashSet<String>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Session> {
    // Keyed by visit id, or by consultation hours id and local date.
    let mut found: Vec<(String, Session)> = Vec::new();
    for slot in &rows.slots {
        if text(slot, "status").is_some_and(|s| s != "open") || held.contains(&slot.id) {
            continue;
        }
        let (Some(starts_at), Some(ends_at)) =
            (instant(slot, "starts_at"), instant(slot, "ends_at"))
        else {
            continue;
        };
        if starts_at <= now {
            continue;
        }
        let Some((key, session)) = session_of(rows, slot, here, starts_at, tz) else {
            continue;
        };
        let offer = SlotOffer {
            id: slot.id.clone(),
            starts_at,
            ends_at,
            time: local(starts_at, tz).1,
        };
        match found.iter_mut().find(|(k, _)| *k == key) {
            Some((_, known)) => known.slots.push(offer),
            None => {
                let mut session = session;
                session.slots.push(offer);
                found.push((key, session));
            }
        }
    }
    let mut sessions: Vec<Session> = found.into_iter().map(|(_, s)| s).collect();
    for s in &mut sessions {
        s.slots.sort_by_key(|o| o.starts_at);
    }
    sessions.sort_by_key(|s| (s.date, s.from, s.slots.first().map(|o| o.starts_at)));
    sessions
}

/// The session a slot belongs to (still without slots) and its key; `None` when the slot may not
/// be offered here.
fn session_of(
    rows: &Rows,
    slot: &ReplicaRow,
    here: Here<'_>,
    starts_at: DateTime<Utc>,
    tz: Tz,
) -> Option<(String, Session)> {
    if let Some(visit_id) = text(slot, "visit_id") {
        let visit = find(&rows.visits, visit_id)?;
        let village = text(slot, "village_id").or_else(|| text(visit, "village_id"));
        if text(visit, "status") != Some("published") || village != Some(here.village_id) {
            return None;
        }
        let (date, from) = local(instant(visit, "starts_at")?, tz);
        let (_, to) = local(instant(visit, "ends_at")?, tz);
        let place = text(visit, "stop_id")
            .and_then(|id| find(&rows.stops, id))
            .and_then(|stop| text(stop, "name"))
            .unwrap_or_default()
            .to_string();
        let session = Session {
            host: Host::Imbus,
            date,
            from,
            to,
            place,
            slots: Vec::new(),
        };
        return Some((format!("visit/{visit_id}"), session));
    }
    let hours_id = text(slot, "consultation_hours_id")?;
    let hours = find(&rows.hours, hours_id)?;
    if text(hours, "device_id") != Some(here.device_id)
        || text(slot, "village_id").is_some_and(|v| v != here.village_id)
        || hours.body.get("archived_at").is_some_and(|a| !a.is_null())
    {
        return None;
    }
    let (date, slot_time) = local(starts_at, tz);
    let time =
        |name: &str| text(hours, name).and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    let session = Session {
        host: Host::Kiosk,
        date,
        from: time("start_time").unwrap_or(slot_time),
        to: time("end_time").unwrap_or(slot_time),
        place: String::new(),
        slots: Vec::new(),
    };
    Some((format!("hours/{hours_id}/{date}"), session))
}

/// The IMBUS timetable at `now`: the next [`VISITS_SHOWN`] visits in `village_id`, then the
/// next [`VISITS_SHOWN`] in the neighbouring villages (within [`NEIGHBOUR_KM`]), each part by
/// time. Published and cancelled visits that have not ended; a cancelled one carries its reason.
pub fn timetable(rows: &Rows, village_id: &str, now: DateTime<Utc>, tz: Tz) -> Vec<VisitLine> {
    let position = |id: &str| {
        let village = find(&rows.villages, id)?;
        let coordinate = |name: &str| village.body.get(name).and_then(Value::as_f64);
        Some((coordinate("lat")?, coordinate("lon")?))
    };
    let centre = position(village_id);
    let mut lines: Vec<(DateTime<Utc>, VisitLine)> = Vec::new();
    for visit in &rows.visits {
        let cancelled = match text(visit, "status") {
            Some("published") => None,
            Some("cancelled") => Some(text(visit, "cancel_reason").unwrap_or_default().to_string()),
            _ => continue,
        };
        let (Some(starts_at), Some(ends_at), Some(village)) = (
            instant(visit, "starts_at"),
            instant(visit, "ends_at"),
            text(visit, "village_id"),
        ) else {
            continue;
        };
        if ends_at <= now {
            continue;
        }
        let here = village == village_id;
        if !here {
            let near = match (centre, position(village)) {
                (Some(a), Some(b)) => km(a, b) <= NEIGHBOUR_KM,
                _ => false,
            };
            if !near {
                continue;
            }
        }
        let name = |rows: &[ReplicaRow], id: Option<&str>| {
            id.and_then(|id| find(rows, id))
                .and_then(|r| text(r, "name"))
                .unwrap_or_default()
                .to_string()
        };
        let (date, from) = local(starts_at, tz);
        let (_, to) = local(ends_at, tz);
        lines.push((
            starts_at,
            VisitLine {
                date,
                from,
                to,
                ends_at,
                stop: name(&rows.stops, text(visit, "stop_id")),
                village: name(&rows.villages, Some(village)),
                here,
                cancelled,
            },
        ));
    }
    lines.sort_by_key(|(starts_at, line)| (!line.here, *starts_at));
    let own = lines.iter().filter(|(_, l)| l.here).take(VISITS_SHOWN);
    let near = lines.iter().filter(|(_, l)| !l.here).take(VISITS_SHOWN);
    own.chain(near).map(|(_, l)| l.clone()).collect()
}

/// The great-circle distance of two (lat, lon) points in km.
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// What the resident chose, when "Buchen" is tapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentDraft {
    pub slot_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub host: Host,
    pub topic: Topic,
}

/// Connects the counselling and IMBUS screens: `now` is the clock that decides what lies in the
/// past when a screen opens, `book` gets the draft when the resident taps "Buchen". The offer
/// comes with [`set_offer`].
pub fn init(
    app: &AppWindow,
    now: impl Fn() -> DateTime<Utc> + 'static,
    book: impl Fn(AppointmentDraft) + 'static,
) {
    let screen = app.global::<CounsellingScreen>();
    let weak = app.as_weak();
    screen.on_drop_past(move || {
        let Some(app) = weak.upgrade() else { return };
        drop_past(&app, now());
    });
    let weak = app.as_weak();
    screen.on_book(move || {
        let Some(app) = weak.upgrade() else { return };
        let Some(draft) = draft(&app) else {
            tracing::error!("booking counselling without a slot or a topic");
            return;
        };
        app.global::<CounsellingScreen>()
            .set_state(CounsellingState::Waiting);
        app.global::<Navigation>().set_page(Page::CounsellingResult);
        book(draft);
    });
    let weak = app.as_weak();
    app.global::<ImbusScreen>().on_book(move || {
        let Some(app) = weak.upgrade() else { return };
        start(&app);
        app.global::<CounsellingScreen>().set_from_imbus(true);
    });
}

/// Shows `offer` from now on (call it on the UI thread, e.g. after every sync).
pub fn set_offer(app: &AppWindow, offer: &Offer) {
    let sessions: Vec<CounsellingSession> = offer
        .sessions
        .iter()
        .map(|s| CounsellingSession {
            imbus: s.host == Host::Imbus,
            weekday: weekday(s.date),
            date: s.date.format("%d.%m.").to_string().into(),
            time: span(s.from, s.to),
            place: s.place.as_str().into(),
            slots: model(
                s.slots
                    .iter()
                    .map(|o| CounsellingSlot {
                        id: o.id.as_str().into(),
                        time: o.time.format("%H:%M").to_string().into(),
                        starts_at: rfc3339(o.starts_at),
                        ends_at: rfc3339(o.ends_at),
                    })
                    .collect(),
            ),
        })
        .collect();
    app.global::<CounsellingScreen>()
        .set_sessions(model(sessions));
    let visits: Vec<ImbusVisit> = offer
        .visits
        .iter()
        .map(|v| ImbusVisit {
            weekday: weekday(v.date),
            date: v.date.format("%d.%m.").to_string().into(),
            time: span(v.from, v.to),
            stop: v.stop.as_str().into(),
            village: v.village.as_str().into(),
            here: v.here,
            cancelled: v.cancelled.is_some(),
            reason: v.cancelled.as_deref().unwrap_or_default().into(),
            ends_at: rfc3339(v.ends_at),
        })
        .collect();
    app.global::<ImbusScreen>().set_visits(model(visits));
}

fn rfc3339(at: DateTime<Utc>) -> SharedString {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into()
}

fn span(from: NaiveTime, to: NaiveTime) -> SharedString {
    format!("{}–{}", from.format("%H:%M"), to.format("%H:%M")).into()
}

/// Monday 0 … Sunday 6, as the screens name the days.
fn weekday(date: NaiveDate) -> i32 {
    i32::try_from(date.weekday().num_days_from_monday()).unwrap_or_default()
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(items)))
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Drops slots that start at or before `now` (and sessions left without one) and visits that
/// have ended.
pub fn drop_past(app: &AppWindow, now: DateTime<Utc>) {
    let future = |t: &SharedString| parse(t).is_some_and(|t| t > now);
    let screen = app.global::<CounsellingScreen>();
    let sessions: Vec<CounsellingSession> = screen
        .get_sessions()
        .iter()
        .filter_map(|mut s| {
            let slots: Vec<CounsellingSlot> =
                s.slots.iter().filter(|o| future(&o.starts_at)).collect();
            (!slots.is_empty()).then(|| {
                s.slots = model(slots);
                s
            })
        })
        .collect();
    screen.set_sessions(model(sessions));
    let imbus = app.global::<ImbusScreen>();
    let visits: Vec<ImbusVisit> = imbus
        .get_visits()
        .iter()
        .filter(|v| future(&v.ends_at))
        .collect();
    imbus.set_visits(model(visits));
}

/// The resident's choices so far; `None` before a slot and a topic are chosen.
pub fn draft(app: &AppWindow) -> Option<AppointmentDraft> {
    let screen = app.global::<CounsellingScreen>();
    if screen.get_slot_id().is_empty() {
        return None;
    }
    Some(AppointmentDraft {
        slot_id: screen.get_slot_id().into(),
        starts_at: parse(&screen.get_slot_starts_at())?,
        ends_at: parse(&screen.get_slot_ends_at())?,
        host: if screen.get_chosen_imbus() {
            Host::Imbus
        } else {
            Host::Kiosk
        },
        topic: *TOPICS.get(usize::try_from(screen.get_topic()).ok()?)?,
    })
}

/// Starts a new booking: nothing chosen yet, the sessions on screen.
pub fn start(app: &AppWindow) {
    forget(app);
    app.global::<CounsellingScreen>().invoke_drop_past();
    app.global::<Navigation>().set_page(Page::CounsellingWhen);
}

/// Shows the IMBUS timetable.
pub fn show_imbus(app: &AppWindow) {
    app.global::<CounsellingScreen>().invoke_drop_past();
    app.global::<Navigation>().set_page(Page::Imbus);
}

/// Forgets every choice and answer of the last resident (the offer stays: it is the region's).
pub fn forget(app: &AppWindow) {
    let screen = app.global::<CounsellingScreen>();
    screen.set_from_imbus(false);
    screen.set_slots(ModelRc::default());
    screen.set_chosen_imbus(false);
    screen.set_chosen_weekday(0);
    screen.set_chosen_date(SharedString::new());
    screen.set_chosen_place(SharedString::new());
    screen.set_slot_id(SharedString::new());
    screen.set_slot_time(SharedString::new());
    screen.set_slot_starts_at(SharedString::new());
    screen.set_slot_ends_at(SharedString::new());
    screen.set_topic(-1);
    screen.set_state(CounsellingState::Waiting);
    screen.set_code(SharedString::new());
}

/// Shows the booking's answer with its code: confirmed, a stored request, the slot taken (then
/// the resident may choose another), or refused. A slot answered so is no longer offered.
pub fn show_result(app: &AppWindow, result: &BookingResult) {
    let screen = app.global::<CounsellingScreen>();
    let state = match &result.status {
        BookingStatus::Confirmed { .. } => CounsellingState::Confirmed,
        BookingStatus::Requested { .. } => CounsellingState::Requested,
        BookingStatus::Refused { title, .. } if title.eq_ignore_ascii_case(SLOT_TAKEN) => {
            CounsellingState::Taken
        }
        BookingStatus::Refused { .. } => CounsellingState::Refused,
    };
    let booked = matches!(
        state,
        CounsellingState::Confirmed | CounsellingState::Requested
    );
    screen.set_code(if booked {
        result.code.to_string().into()
    } else {
        SharedString::new()
    });
    if state != CounsellingState::Refused {
        let taken = screen.get_slot_id();
        let sessions: Vec<CounsellingSession> = screen
            .get_sessions()
            .iter()
            .filter_map(|mut s| {
                let slots: Vec<CounsellingSlot> =
                    s.slots.iter().filter(|o| o.id != taken).collect();
                (!slots.is_empty()).then(|| {
                    s.slots = model(slots);
                    s
                })
            })
            .collect();
        screen.set_sessions(model(sessions));
    }
    screen.set_state(state);
    app.global::<Navigation>().set_page(Page::CounsellingResult);
}

/// A fixed offer and a resident's choices for `kiosk screenshots`: the IMBUS at the Dorfplatz
/// on Thursday 3 December 2026 (09:00–12:00, every 20 minutes), the consultation hours here on
/// Friday, a visit on Monday; 09:20 on Thursday chosen, about loneliness. Its timetable has a
/// cancelled visit and one in a neighbouring village.
pub(crate) fn sample(app: &AppWindow) {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default();
    let hm = |h: u32, m: u32| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    // Berlin is UTC+1 in December.
    let at =
        |d: u32, h: u32, m: u32| day(d).and_time(hm(h, m)).and_utc() - chrono::Duration::hours(1);
    let slots = |d: u32, from: u32, count: u32| {
        (0..count)
            .map(|n| {
                let (h, m) = (from + n * 20 / 60, n * 20 % 60);
                SlotOffer {
                    id: format!("sample-{d}-{h}-{m}"),
                    starts_at: at(d, h, m),
                    ends_at: at(d, h, m) + chrono::Duration::minutes(20),
                    time: hm(h, m),
                }
            })
            .collect()
    };
    let session = |host, d, from, to, place: &str, slots| Session {
        host,
        date: day(d),
        from: hm(from, 0),
        to: hm(to, 0),
        place: place.into(),
        slots,
    };
    let visit = |d: u32, stop: &str, village: &str, here, cancelled: Option<&str>| VisitLine {
        date: day(d),
        from: hm(9, 0),
        to: hm(12, 0),
        ends_at: at(d, 12, 0),
        stop: stop.into(),
        village: village.into(),
        here,
        cancelled: cancelled.map(String::from),
    };
    let offer = Offer {
        sessions: vec![
            session(Host::Imbus, 3, 9, 12, "Dorfplatz", slots(3, 9, 9)),
            session(Host::Kiosk, 4, 10, 12, "", slots(4, 10, 4)),
            session(Host::Imbus, 7, 9, 12, "Dorfplatz", slots(7, 9, 9)),
        ],
        visits: vec![
            visit(3, "Dorfplatz", "Groß Vahlberg", true, None),
            visit(
                10,
                "Dorfplatz",
                "Groß Vahlberg",
                true,
                Some("Der Bus ist in der Werkstatt."),
            ),
            visit(4, "Kirche", "Remlingen", false, None),
        ],
    };
    set_offer(app, &offer);
    let screen = app.global::<CounsellingScreen>();
    if let Some(first) = screen.get_sessions().row_data(0) {
        screen.set_slots(first.slots.clone());
        screen.set_chosen_imbus(first.imbus);
        screen.set_chosen_weekday(first.weekday);
        screen.set_chosen_date(first.date.clone());
        screen.set_chosen_place(first.place.clone());
        if let Some(slot) = first.slots.row_data(1) {
            screen.set_slot_id(slot.id);
            screen.set_slot_time(slot.time);
            screen.set_slot_starts_at(slot.starts_at);
            screen.set_slot_ends_at(slot.ends_at);
        }
    }
    screen.set_topic(4);
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    const TZ: Tz = chrono_tz::Europe::Berlin;
    const HERE: Here<'static> = Here {
        device_id: "k-vahlberg",
        village_id: "v-vahlberg",
    };

    fn row(id: &str, body: Value) -> ReplicaRow {
        ReplicaRow {
            id: id.into(),
            seq: 1,
            body,
        }
    }

    /// 2 December 2026, 08:00 in Berlin.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap()
    }

    fn visit(id: &str, village: &str, day: u32, status: &str) -> ReplicaRow {
        row(
            id,
            json!({"village_id": village, "stop_id": format!("s-{village}"),
                   "starts_at": format!("2026-12-{day:02}T08:00:00Z"),
                   "ends_at": format!("2026-12-{day:02}T11:00:00Z"),
                   "counsellor": "Frau Özdemir", "status": status}),
        )
    }

    fn slot(id: &str, village: &str, visit: &str, start: &str) -> ReplicaRow {
        let starts = DateTime::parse_from_rfc3339(start).unwrap();
        row(
            id,
            json!({"village_id": village, "visit_id": visit, "starts_at": start,
                   "ends_at": (starts + chrono::Duration::minutes(20)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                   "status": "open"}),
        )
    }

    fn rows() -> Rows {
        let village = |id: &str, name: &str, lat: f64, lon: f64| {
            row(id, json!({"name": name, "lat": lat, "lon": lon}))
        };
        let stop = |village: &str, name: &str| {
            row(
                &format!("s-{village}"),
                json!({"name": name, "village_id": village}),
            )
        };
        Rows {
            visits: vec![
                visit("vis-3", "v-vahlberg", 3, "published"),
                visit("vis-1", "v-vahlberg", 1, "published"),
                visit("vis-planned", "v-vahlberg", 4, "planned"),
                visit("vis-cancelled", "v-vahlberg", 5, "cancelled"),
                visit("vis-other", "v-remlingen", 3, "published"),
                visit("vis-far", "v-harz", 3, "published"),
            ],
            hours: vec![
                row(
                    "h-own",
                    json!({"device_id": "k-vahlberg", "weekday": "thu", "start_time": "10:00",
                                    "end_time": "12:00", "health_worker": "Herr Kaya", "valid_from": "2026-11-01"}),
                ),
                row(
                    "h-other",
                    json!({"device_id": "k-remlingen", "weekday": "thu", "start_time": "10:00",
                                      "end_time": "12:00", "health_worker": "Frau Lenz", "valid_from": "2026-11-01"}),
                ),
            ],
            slots: vec![
                slot("sl-late", "v-vahlberg", "vis-3", "2026-12-03T08:40:00Z"),
                slot("sl-early", "v-vahlberg", "vis-3", "2026-12-03T08:00:00Z"),
                slot("sl-held", "v-vahlberg", "vis-3", "2026-12-03T08:20:00Z"),
                // Past: the visit of 1 December.
                slot("sl-past", "v-vahlberg", "vis-1", "2026-12-01T08:00:00Z"),
                // A planned (unpublished) and a cancelled visit, a cancelled slot.
                slot(
                    "sl-planned",
                    "v-vahlberg",
                    "vis-planned",
                    "2026-12-04T08:00:00Z",
                ),
                slot(
                    "sl-of-cancelled",
                    "v-vahlberg",
                    "vis-cancelled",
                    "2026-12-05T08:00:00Z",
                ),
                row(
                    "sl-cancelled",
                    json!({"village_id": "v-vahlberg", "visit_id": "vis-3",
                    "starts_at": "2026-12-03T09:00:00Z", "ends_at": "2026-12-03T09:20:00Z",
                    "status": "cancelled"}),
                ),
                // Another village's visit.
                slot(
                    "sl-other",
                    "v-remlingen",
                    "vis-other",
                    "2026-12-03T08:00:00Z",
                ),
                // A visit the replica does not hold.
                slot(
                    "sl-unknown",
                    "v-vahlberg",
                    "vis-gone",
                    "2026-12-03T08:00:00Z",
                ),
                // Consultation hours: this kiosk's, and another kiosk's.
                row(
                    "sl-hours",
                    json!({"village_id": "v-vahlberg", "consultation_hours_id": "h-own",
                    "starts_at": "2026-12-03T09:30:00Z", "ends_at": "2026-12-03T10:00:00Z",
                    "reserved_for_device_id": "k-vahlberg", "status": "open"}),
                ),
                row(
                    "sl-hours-other",
                    json!({"village_id": "v-vahlberg", "consultation_hours_id": "h-other",
                    "starts_at": "2026-12-03T09:30:00Z", "ends_at": "2026-12-03T10:00:00Z",
                    "status": "open"}),
                ),
            ],
            stops: vec![
                stop("v-vahlberg", "Dorfplatz"),
                stop("v-remlingen", "Kirche"),
                stop("v-harz", "Markt"),
            ],
            villages: vec![
                village("v-vahlberg", "Groß Vahlberg", 52.107, 10.679),
                village("v-remlingen", "Remlingen", 52.113, 10.675),
                village("v-harz", "Braunlage", 51.726, 10.610),
            ],
        }
    }

    fn held() -> HashSet<String> {
        HashSet::from(["sl-held".to_string()])
    }

    #[test]
    fn only_free_future_slots_of_this_village_and_kiosk_are_offered() {
        let sessions = sessions(&rows(), HERE, &held(), now(), TZ);
        let offered: Vec<(Host, &str, Vec<&str>)> = sessions
            .iter()
            .map(|s| {
                (
                    s.host,
                    s.place.as_str(),
                    s.slots.iter().map(|o| o.id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            offered,
            [
                // The visit of 3 December 09:00–12:00 local, its slots by time; the held and the
                // cancelled slot are not offered.
                (Host::Imbus, "Dorfplatz", vec!["sl-early", "sl-late"]),
                // This kiosk's consultation hours on the same day, 10:00–12:00.
                (Host::Kiosk, "", vec!["sl-hours"]),
            ]
        );
        let visit = &sessions[0];
        assert_eq!(visit.date, NaiveDate::from_ymd_opt(2026, 12, 3).unwrap());
        assert_eq!(
            (visit.from, visit.to),
            (
                NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(12, 0, 0).unwrap()
            )
        );
        assert_eq!(
            visit.slots[1].time,
            NaiveTime::from_hms_opt(9, 40, 0).unwrap()
        );
        assert_eq!(sessions[1].from, NaiveTime::from_hms_opt(10, 0, 0).unwrap());
    }

    #[test]
    fn a_slot_starting_now_is_past_and_a_visit_without_free_slots_is_not_offered() {
        let at_first_slot = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        let sessions = sessions(&rows(), HERE, &held(), at_first_slot, TZ);
        assert_eq!(sessions[0].slots.len(), 1, "{sessions:?}");
        let mut all_held = held();
        all_held.extend(["sl-early", "sl-late", "sl-hours"].map(String::from));
        assert!(super::sessions(&rows(), HERE, &all_held, now(), TZ).is_empty());
        // Another kiosk of the region sees none of them: other village, other device.
        let there = Here {
            device_id: "k-remlingen",
            village_id: "v-remlingen",
        };
        let theirs = super::sessions(&rows(), there, &HashSet::new(), now(), TZ);
        let ids: Vec<&str> = theirs
            .iter()
            .flat_map(|s| s.slots.iter().map(|o| o.id.as_str()))
            .collect();
        assert_eq!(ids, ["sl-other"]);
    }

    #[test]
    fn the_timetable_shows_this_village_first_then_near_ones_with_cancellations() {
        let mut rows = rows();
        rows.visits[3].body["cancel_reason"] = json!("Fahrzeug in der Werkstatt");
        let lines = timetable(&rows, "v-vahlberg", now(), TZ);
        let shown: Vec<(u32, &str, bool, Option<&str>)> = lines
            .iter()
            .map(|l| {
                (
                    l.date.day(),
                    l.village.as_str(),
                    l.here,
                    l.cancelled.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (3, "Groß Vahlberg", true, None),
                (5, "Groß Vahlberg", true, Some("Fahrzeug in der Werkstatt")),
                // Remlingen is near; Braunlage (40 km) is not; the planned and past visits not.
                (3, "Remlingen", false, None),
            ]
        );
        assert_eq!(lines[0].stop, "Dorfplatz");
        assert_eq!(lines[2].stop, "Kirche");
        assert_eq!(lines[0].from, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    }

    #[test]
    fn the_timetable_shows_at_most_eight_of_each() {
        let mut rows = rows();
        for day in 6..20 {
            rows.visits
                .push(visit(&format!("own-{day}"), "v-vahlberg", day, "published"));
            rows.visits.push(visit(
                &format!("near-{day}"),
                "v-remlingen",
                day,
                "published",
            ));
        }
        let lines = timetable(&rows, "v-vahlberg", now(), TZ);
        assert_eq!(lines.len(), 2 * VISITS_SHOWN);
        assert!(lines[..VISITS_SHOWN].iter().all(|l| l.here));
        assert!(lines[VISITS_SHOWN..].iter().all(|l| !l.here));
        assert!(
            lines
                .windows(2)
                .take(VISITS_SHOWN - 1)
                .all(|w| w[0].date <= w[1].date)
        );
        // The nearest: Remlingen lies under a kilometre from Groß Vahlberg.
        assert!(km((52.107, 10.679), (52.113, 10.675)) < 1.0);
        assert!(km((52.107, 10.679), (51.726, 10.610)) > NEIGHBOUR_KM);
    }
}

//! The counselling screens' Rust side: what is offered (the IMBUS visits and this kiosk's
//! consultation hours with their free slots, and the IMBUS timetable), built from the replica by
//! pure functions; the resident's choices read back as an [`AppointmentDraft`]; the answer shown.
//! A visit changed after publication says so ([`VisitChange`]): called off with the reason (never
//! bookable then), moved with its earlier time and the reason, or a replacement.
//!
//! The UI never books itself: "Buchen" hands the draft to the `book` function given to [`init`],
//! which returns at once; whoever books (the app, with `kiosk::core::book_appointment` on a worker
//! thread) calls [`show_result`] on the UI thread when the answer is there. The offer is made
//! off the UI thread ([`Rows::read`], [`offer`]) and handed in with [`set_offer`]; what lies in
//! the past by the time a resident opens a screen is dropped then, by the clock given to [`init`].

use std::collections::HashSet;
use std::rc::Rc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use super::{
    AppWindow, CounsellingScreen, CounsellingSession, CounsellingSlot, CounsellingState,
    ImbusScreen, ImbusVisit, Navigation, Page, VisitChange as ShownChange,
};
use crate::core::{BookingResult, BookingStatus, SLOT_TAKEN, Topic};
use crate::store::{BookingState, ReplicaRow, Store, StoreResult};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, OutboxKind};

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

/// A reason up to this many characters fits on one line after "Fällt aus: " in every language
/// at the normal text size; a longer one gets two.
pub const SHORT_REASON: usize = 18;

/// How an IMBUS visit changed after it was published, as residents are told. The reasons are the
/// admin's German texts, shown as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitChange {
    /// `Some(reason)` when the visit was called off (the reason may be empty).
    pub cancelled: Option<String>,
    /// Where a moved visit began before, in the region's time zone.
    pub moved_from: Option<NaiveDateTime>,
    /// Why it was moved or added (may be empty).
    pub reason: String,
    /// It makes up for a visit that could not take place.
    pub replacement: bool,
}

impl VisitChange {
    /// The change a replica visit carries (`status`, `cancel_reason`, `moved_from`,
    /// `change_reason`, `replacement`).
    pub fn of(visit: &ReplicaRow, tz: Tz) -> VisitChange {
        let trimmed = |name: &str| text(visit, name).unwrap_or_default().trim().to_string();
        let replacement = visit
            .body
            .get("replacement")
            .is_some_and(|r| r.as_bool() == Some(true) || r.as_i64() == Some(1));
        VisitChange {
            cancelled: (text(visit, "status") == Some("cancelled"))
                .then(|| trimmed("cancel_reason")),
            moved_from: instant(visit, "moved_from").map(|t| t.with_timezone(&tz).naive_local()),
            reason: trimmed("change_reason"),
            replacement,
        }
    }

    /// The reason shown: the cancellation's, else the move's or replacement's.
    pub fn shown_reason(&self) -> &str {
        self.cancelled.as_deref().unwrap_or(&self.reason)
    }

    /// The text lines what changed takes: two for a reason longer than [`SHORT_REASON`]
    /// characters (it wraps), else one.
    pub fn reason_lines(&self) -> i32 {
        if self.shown_reason().chars().count() > SHORT_REASON {
            2
        } else {
            1
        }
    }

    /// The text lines a list row of the visit takes: when and where, then what changed (with the
    /// reason), then for a moved visit when it was before.
    pub fn lines(&self) -> i32 {
        let moved = i32::from(self.moved_from.is_some());
        if self.cancelled.is_some() || self.moved_from.is_some() || self.replacement {
            2 + self.reason_lines() + moved
        } else {
            2
        }
    }
}

/// An IMBUS visit or one day's consultation hours, with its free slots, earliest first; or an
/// IMBUS visit here that was called off (no slots, shown so residents know).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub host: Host,
    /// The day and the hours, in the region's time zone.
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
    /// When it ends: a cancelled visit is shown until then.
    pub ends_at: DateTime<Utc>,
    /// The stop's name for a visit; empty for consultation hours (here, at the kiosk).
    pub place: String,
    pub slots: Vec<SlotOffer>,
    /// How the visit changed (nothing for consultation hours).
    pub change: VisitChange,
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
    pub change: VisitChange,
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
/// consultation hours. Sessions without a free slot are left out, but for the IMBUS visits in
/// this village called off and not yet ended: they come without slots, never bookable.
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
        if let Some(last) = s.slots.iter().map(|o| o.ends_at).max() {
            s.ends_at = s.ends_at.max(last);
        }
    }
    sessions.extend(cancelled_here(rows, here, now, tz));
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
        return Some((format!("visit/{visit_id}"), visit_session(rows, visit, tz)?));
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
        ends_at: starts_at,
        place: String::new(),
        slots: Vec::new(),
        change: VisitChange::default(),
    };
    Some((format!("hours/{hours_id}/{date}"), session))
}

/// An IMBUS visit as a session without slots yet: its day, hours, stop and change.
fn visit_session(rows: &Rows, visit: &ReplicaRow, tz: Tz) -> Option<Session> {
    let ends_at = instant(visit, "ends_at")?;
    let (date, from) = local(instant(visit, "starts_at")?, tz);
    let (_, to) = local(ends_at, tz);
    let place = text(visit, "stop_id")
        .and_then(|id| find(&rows.stops, id))
        .and_then(|stop| text(stop, "name"))
        .unwrap_or_default()
        .to_string();
    Some(Session {
        host: Host::Imbus,
        date,
        from,
        to,
        ends_at,
        place,
        slots: Vec::new(),
        change: VisitChange::of(visit, tz),
    })
}

/// The IMBUS visits in this village called off that have not ended at `now`, without slots.
fn cancelled_here<'a>(
    rows: &'a Rows,
    here: Here<'a>,
    now: DateTime<Utc>,
    tz: Tz,
) -> impl Iterator<Item = Session> + 'a {
    rows.visits
        .iter()
        .filter(move |v| {
            text(v, "status") == Some("cancelled") && text(v, "village_id") == Some(here.village_id)
        })
        .filter_map(move |v| visit_session(rows, v, tz))
        .filter(move |s| s.ends_at > now)
}

/// The IMBUS timetable at `now`: the next [`VISITS_SHOWN`] visits in `village_id`, then the
/// next [`VISITS_SHOWN`] in the neighbouring villages (within [`NEIGHBOUR_KM`]), each part by
/// time. Published and cancelled visits that have not ended, each with its [`VisitChange`].
pub fn timetable(rows: &Rows, village_id: &str, now: DateTime<Utc>, tz: Tz) -> Vec<VisitLine> {
    let position = |id: &str| {
        let village = find(&rows.villages, id)?;
        let coordinate = |name: &str| village.body.get(name).and_then(Value::as_f64);
        Some((coordinate("lat")?, coordinate("lon")?))
    };
    let centre = position(village_id);
    let mut lines: Vec<(DateTime<Utc>, VisitLine)> = Vec::new();
    for visit in &rows.visits {
        if !matches!(text(visit, "status"), Some("published" | "cancelled")) {
            continue;
        }
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
                change: VisitChange::of(visit, tz),
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

/// Whether the IMBUS visit of this kiosk's appointment `code` was called off: `Some(reason)` (the
/// reason may be empty) when the replica holds its visit as cancelled; `None` when it takes place,
/// the booking is no appointment of this kiosk, or it is not at an IMBUS visit. The visit is the
/// one of the appointment's slot; when the slot has left the replica (cancelled with its visit),
/// the visit in the appointment's village at its time. Blocks on SQLite.
pub fn cancelled_visit_of(store: &Store, code: &BookingCode) -> StoreResult<Option<String>> {
    let Some(booking) = store.booking_by_code(code)? else {
        return Ok(None);
    };
    if booking.kind != OutboxKind::Appointment {
        return Ok(None);
    }
    // What is known of the appointment, the latest last: the request, the hub's answer, and the
    // hub's later change (replica kind `appointments` holds this kiosk's own only).
    let mut known = vec![booking.body.clone()];
    if let BookingState::Answered {
        outcome: AckOutcome::Accepted { record },
        ..
    } = &booking.state
    {
        known.push(record.clone());
    }
    let id = booking.id.to_string();
    if let Some(later) = store
        .replica_list("appointments")?
        .into_iter()
        .find(|r| r.id == id)
    {
        known.push(later.body);
    }
    let field = |name: &str| {
        known
            .iter()
            .rev()
            .find_map(|k| k.get(name).and_then(Value::as_str))
    };
    let visits = store.replica_list("imbus_visits")?;
    let slot = match field("slot_id") {
        Some(slot_id) => store
            .replica_list("slots")?
            .into_iter()
            .find(|r| r.id == slot_id),
        None => None,
    };
    let visit = match &slot {
        Some(slot) => text(slot, "visit_id").and_then(|v| find(&visits, v)),
        None => match (field("village_id"), field("starts_at").and_then(parse)) {
            (Some(village), Some(at)) => visits.iter().find(|v| {
                text(v, "village_id") == Some(village)
                    && instant(v, "starts_at").is_some_and(|s| s <= at)
                    && instant(v, "ends_at").is_some_and(|e| at < e)
            }),
            _ => None,
        },
    };
    Ok(visit
        .filter(|v| text(v, "status") == Some("cancelled"))
        .map(|v| {
            text(v, "cancel_reason")
                .unwrap_or_default()
                .trim()
                .to_string()
        }))
}

/// Shows next to the booking on "Meine Buchung" that its IMBUS visit was called off, and why
/// (`None`: nothing to say). Call it after [`super::booking::show`].
pub fn show_booking_visit(app: &AppWindow, cancelled: Option<&str>) {
    let screen = app.global::<CounsellingScreen>();
    screen.set_booking_visit_cancelled(cancelled.is_some());
    screen.set_booking_visit_reason(cancelled.unwrap_or_default().into());
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
            change: shown_change(&s.change),
            ends_at: rfc3339(s.ends_at),
        })
        .collect();
    set_sessions(app, sessions);
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
            change: shown_change(&v.change),
            ends_at: rfc3339(v.ends_at),
        })
        .collect();
    set_visits(app, visits);
}

/// A change as the screens show it; `lines` is the height of its list row in text lines.
fn shown_change(change: &VisitChange) -> ShownChange {
    let before = change.moved_from.unwrap_or_default();
    ShownChange {
        cancelled: change.cancelled.is_some(),
        moved: change.moved_from.is_some(),
        replacement: change.replacement,
        reason: change.shown_reason().into(),
        reason_lines: change.reason_lines(),
        before_weekday: weekday(before.date()),
        before_date: before.format("%d.%m.").to_string().into(),
        before_time: before.format("%H:%M").to_string().into(),
        lines: change.lines(),
    }
}

/// The sessions list with its rows' heights (the pager needs them apart).
fn set_sessions(app: &AppWindow, sessions: Vec<CounsellingSession>) {
    let screen = app.global::<CounsellingScreen>();
    screen.set_session_lines(model(sessions.iter().map(|s| s.change.lines).collect()));
    screen.set_sessions(model(sessions));
}

/// The timetable with its rows' heights.
fn set_visits(app: &AppWindow, visits: Vec<ImbusVisit>) {
    let screen = app.global::<ImbusScreen>();
    screen.set_visit_lines(model(visits.iter().map(|v| v.change.lines).collect()));
    screen.set_visits(model(visits));
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

/// Drops slots that start at or before `now` (and sessions left without one; a cancelled visit
/// once it has ended) and visits that have ended.
pub fn drop_past(app: &AppWindow, now: DateTime<Utc>) {
    let future = |t: &SharedString| parse(t).is_some_and(|t| t > now);
    let screen = app.global::<CounsellingScreen>();
    let sessions: Vec<CounsellingSession> = screen
        .get_sessions()
        .iter()
        .filter_map(|mut s| {
            if s.change.cancelled {
                return future(&s.ends_at).then_some(s);
            }
            let slots: Vec<CounsellingSlot> =
                s.slots.iter().filter(|o| future(&o.starts_at)).collect();
            (!slots.is_empty()).then(|| {
                s.slots = model(slots);
                s
            })
        })
        .collect();
    set_sessions(app, sessions);
    let visits: Vec<ImbusVisit> = app
        .global::<ImbusScreen>()
        .get_visits()
        .iter()
        .filter(|v| future(&v.ends_at))
        .collect();
    set_visits(app, visits);
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
    show_booking_visit(app, None);
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
                if s.change.cancelled {
                    return Some(s);
                }
                let slots: Vec<CounsellingSlot> =
                    s.slots.iter().filter(|o| o.id != taken).collect();
                (!slots.is_empty()).then(|| {
                    s.slots = model(slots);
                    s
                })
            })
            .collect();
        set_sessions(app, sessions);
    }
    screen.set_state(state);
    app.global::<Navigation>().set_page(Page::CounsellingResult);
}

/// The changed visit a screenshot shows first ([`sample_changes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SampleChange {
    Cancelled,
    Moved,
    Replacement,
}

/// The fixed offer of the screenshots: with `first`, that changed visit leads the sessions and
/// the timetable (a page shows what fits from the top).
fn sample_offer(first: Option<SampleChange>) -> Offer {
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
    let session = |host, d, from, to, place: &str, slots, change| Session {
        host,
        date: day(d),
        from: hm(from, 0),
        to: hm(to, 0),
        ends_at: at(d, to, 0),
        place: place.into(),
        slots,
        change,
    };
    let visit = |d: u32, stop: &str, village: &str, here, change| VisitLine {
        date: day(d),
        from: hm(9, 0),
        to: hm(12, 0),
        ends_at: at(d, 12, 0),
        stop: stop.into(),
        village: village.into(),
        here,
        change,
    };
    let cancelled = VisitChange {
        cancelled: Some("Der Bus ist in der Werkstatt.".into()),
        ..VisitChange::default()
    };
    let moved = VisitChange {
        moved_from: Some(day(7).and_time(hm(9, 0))),
        reason: "Am Montag ist Markt.".into(),
        ..VisitChange::default()
    };
    let replacement = VisitChange {
        replacement: true,
        ..VisitChange::default()
    };
    let same = VisitChange::default;
    let Some(first) = first else {
        return Offer {
            sessions: vec![
                session(Host::Imbus, 3, 9, 12, "Dorfplatz", slots(3, 9, 9), same()),
                session(Host::Kiosk, 4, 10, 12, "", slots(4, 10, 4), same()),
                session(Host::Imbus, 7, 9, 12, "Dorfplatz", slots(7, 9, 9), same()),
            ],
            visits: vec![
                visit(3, "Dorfplatz", "Groß Vahlberg", true, same()),
                visit(10, "Dorfplatz", "Groß Vahlberg", true, cancelled),
                visit(4, "Kirche", "Remlingen", false, same()),
            ],
        };
    };
    let (lead, lead_day, lead_slots) = match first {
        SampleChange::Cancelled => (cancelled, 10, Vec::new()),
        SampleChange::Moved => (moved, 8, slots(8, 9, 9)),
        SampleChange::Replacement => (replacement, 11, slots(11, 9, 9)),
    };
    Offer {
        sessions: vec![
            session(
                Host::Imbus,
                lead_day,
                9,
                12,
                "Dorfplatz",
                lead_slots,
                lead.clone(),
            ),
            session(Host::Imbus, 17, 9, 12, "Dorfplatz", slots(17, 9, 9), same()),
        ],
        visits: vec![
            visit(lead_day, "Dorfplatz", "Groß Vahlberg", true, lead),
            visit(17, "Dorfplatz", "Groß Vahlberg", true, same()),
        ],
    }
}

/// A fixed offer and a resident's choices for `kiosk screenshots`: the IMBUS at the Dorfplatz
/// on Thursday 3 December 2026 (09:00–12:00, every 20 minutes), the consultation hours here on
/// Friday, a visit on Monday; 09:20 on Thursday chosen, about loneliness. Its timetable has a
/// cancelled visit and one in a neighbouring village.
pub(crate) fn sample(app: &AppWindow) {
    set_offer(app, &sample_offer(None));
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

/// The screenshots' offer led by a changed visit: called off on 10 December (the bus in the
/// workshop), moved from Monday 7 to Tuesday 8 December (market day), or a replacement on
/// Friday 11 December; then an unchanged visit. [`sample`] puts the usual offer back.
pub(crate) fn sample_changes(app: &AppWindow, first: SampleChange) {
    set_offer(app, &sample_offer(Some(first)));
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
                // The visit of 5 December called off: shown, its open slot not offered.
                (Host::Imbus, "Dorfplatz", vec![]),
            ]
        );
        assert_eq!(sessions[2].change.cancelled.as_deref(), Some(""));
        assert!(
            sessions[..2]
                .iter()
                .all(|s| s.change == VisitChange::default())
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
        let left = super::sessions(&rows(), HERE, &all_held, now(), TZ);
        assert_eq!(left.len(), 1, "only the cancelled visit: {left:?}");
        assert!(left[0].slots.is_empty() && left[0].change.cancelled.is_some());
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
                    l.change.cancelled.as_deref(),
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
    fn a_change_is_read_from_the_visit_and_sized_in_lines() {
        let mut moved = visit("vis-8", "v-vahlberg", 8, "published");
        moved.body["moved_from"] = json!("2026-12-07T08:00:00Z");
        moved.body["change_reason"] = json!("  Markt  ");
        let change = VisitChange::of(&moved, TZ);
        assert_eq!(
            change.moved_from,
            NaiveDate::from_ymd_opt(2026, 12, 7).and_then(|d| d.and_hms_opt(9, 0, 0))
        );
        assert_eq!((change.reason.as_str(), change.lines()), ("Markt", 4));
        moved.body["change_reason"] = json!("Am Montag ist Markt auf dem Dorfplatz");
        assert_eq!(VisitChange::of(&moved, TZ).lines(), 5);
        let mut off = visit("vis-5", "v-vahlberg", 5, "cancelled");
        assert_eq!(VisitChange::of(&off, TZ).lines(), 3, "no reason: one line");
        off.body["cancel_reason"] = json!("Der Bus ist in der Werkstatt");
        assert_eq!(VisitChange::of(&off, TZ).reason_lines(), 2);
        let mut extra = visit("vis-11", "v-vahlberg", 11, "published");
        extra.body["replacement"] = json!(1);
        assert!(VisitChange::of(&extra, TZ).replacement);
        extra.body["replacement"] = json!(0);
        assert_eq!(VisitChange::of(&extra, TZ), VisitChange::default());
        assert_eq!(VisitChange::default().lines(), 2);
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

//! What "Hilfe finden" and "Meine Buchung" ask of the kiosk, the same for the touch UI and tests:
//! the region's help services by need (from the replica's destinations and their `helps_with`),
//! their opening hours in words, a call-back request from counselling, a booking found by its
//! code, and its cancellation.
//!
//! Call-backs and cancellations go through the outbox like bookings: on disk before the screen
//! says anything, then one sync with a short time limit. A call-back's name and phone number stay
//! on the kiosk only until the hub has answered (the store then keeps the allow-listed fields of
//! [`crate::store::personal`], none of which is a name or number). A cancellation names only a
//! booking code; the hub cancels the ride or appointment with that code in the kiosk's region,
//! also one booked elsewhere, and answers cancelled, unknown code or already done.

use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, OutboxKind};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::core::{BookingStatus, CoreError, Topic, booking_status, sync_within};
use crate::store::{BookingState, ReplicaRow, Store, StoreError};
use crate::sync::Transport;

/// The needs a resident can look for help with, the sociolance's groups, in the order the
/// screen shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    Homelessness,
    Alcohol,
    Anxiety,
    Loneliness,
    Dementia,
    FamilyStrain,
}

impl Need {
    pub const ALL: [Need; 6] = [
        Need::Homelessness,
        Need::Alcohol,
        Need::Anxiety,
        Need::Loneliness,
        Need::Dementia,
        Need::FamilyStrain,
    ];

    /// The code in a destination's `helps_with` (the hub's `HELP_NEEDS`).
    pub fn code(self) -> &'static str {
        match self {
            Need::Homelessness => "homelessness",
            Need::Alcohol => "alcohol",
            Need::Anxiety => "anxiety",
            Need::Loneliness => "loneliness",
            Need::Dementia => "dementia",
            Need::FamilyStrain => "family_strain",
        }
    }

    /// The counselling topic a call-back about this need is filed under.
    pub fn topic(self) -> Topic {
        match self {
            Need::Homelessness => Topic::Housing,
            Need::Alcohol => Topic::Addiction,
            Need::Anxiety => Topic::Health,
            Need::Loneliness => Topic::Loneliness,
            Need::Dementia => Topic::Care,
            Need::FamilyStrain => Topic::Family,
        }
    }
}

/// One weekly opening interval, wall-clock time of the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opening {
    pub weekday: Weekday,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

/// A health or social service as "Hilfe finden" shows it and the slip prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpService {
    /// The destination's id in the replica.
    pub id: String,
    pub name: String,
    /// Street, postcode and town.
    pub address: String,
    pub phone: Option<String>,
    pub hours: Vec<Opening>,
    pub helps_with: Vec<Need>,
}

/// The replica's destinations that help with some need, by name. Rows without a name or with
/// unreadable hours are shown without them rather than not at all; unknown need codes (a newer
/// hub) are passed over.
pub fn help_services(rows: &[ReplicaRow]) -> Vec<HelpService> {
    let mut services: Vec<HelpService> = rows
        .iter()
        .filter_map(|row| {
            let text = |name: &str| row.body.get(name).and_then(Value::as_str);
            let helps_with: Vec<Need> = row
                .body
                .get("helps_with")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|code| Need::ALL.into_iter().find(|n| n.code() == code))
                .collect();
            if helps_with.is_empty() {
                return None;
            }
            let town = [text("postcode"), text("city")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Some(HelpService {
                id: row.id.clone(),
                name: text("name")?.to_string(),
                address: [text("street").unwrap_or_default(), town.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
                phone: text("phone").map(str::to_string),
                hours: openings(row.body.get("opening_hours")),
                helps_with,
            })
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    services
}

/// The services that help with `need`, in the order given.
pub fn services_for(services: &[HelpService], need: Need) -> Vec<HelpService> {
    services
        .iter()
        .filter(|s| s.helps_with.contains(&need))
        .cloned()
        .collect()
}

fn openings(value: Option<&Value>) -> Vec<Opening> {
    let weekday = |text: &str| match text {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    };
    let time = |v: &Value| {
        v.as_str()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
    };
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some(Opening {
                weekday: weekday(h.get("weekday")?.as_str()?)?,
                open: time(h.get("open")?)?,
                close: time(h.get("close")?)?,
            })
        })
        .collect()
}

/// A service's opening hours seen from one moment, for a sentence on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenNow {
    /// Open now, until this time today.
    OpenUntil(NaiveTime),
    /// Closed now, opens later today.
    OpensToday(NaiveTime),
    /// Opens next on this weekday (tomorrow or later in the week).
    OpensOn(Weekday, NaiveTime),
    /// No opening hours known.
    Unknown,
}

/// Where `hours` stand at `now` (wall-clock time of the region).
pub fn open_now(hours: &[Opening], now: NaiveDateTime) -> OpenNow {
    let today = now.weekday();
    let time = now.time();
    let mut todays: Vec<&Opening> = hours.iter().filter(|h| h.weekday == today).collect();
    todays.sort_by_key(|h| h.open);
    if let Some(open) = todays.iter().find(|h| h.open <= time && time < h.close) {
        // Intervals that touch (08:00-12:00, 12:00-14:00) read as one.
        let mut until = open.close;
        while let Some(next) = todays.iter().find(|h| h.open == until) {
            until = next.close;
        }
        return OpenNow::OpenUntil(until);
    }
    if let Some(later) = todays.iter().find(|h| h.open > time) {
        return OpenNow::OpensToday(later.open);
    }
    let mut day = today;
    for _ in 0..7 {
        day = day.succ();
        if let Some(first) = hours
            .iter()
            .filter(|h| h.weekday == day)
            .min_by_key(|h| h.open)
        {
            return OpenNow::OpensOn(day, first.open);
        }
    }
    OpenNow::Unknown
}

/// Why a call-back request was not taken; nothing was stored then.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallBackError {
    #[error("the name is empty or longer than {MAX_NAME} characters")]
    Name,
    #[error("a phone number has 5 to 20 digits")]
    Phone,
}

/// The longest name the call-back takes.
pub const MAX_NAME: usize = 60;

/// A request to be phoned by counselling about a need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallBackAsk {
    /// The kiosk's region (from its identity).
    pub region_id: String,
    pub name: String,
    /// Digits as typed on the keypad.
    pub phone: String,
    pub need: Need,
}

impl CallBackAsk {
    /// Checks what the hub would refuse, so the resident hears it at once.
    pub fn check(&self) -> Result<(), CallBackError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(CallBackError::Name);
        }
        let digits = self.phone.chars().filter(char::is_ascii_digit).count();
        if !(5..=20).contains(&digits) || !self.phone.chars().all(|c| c.is_ascii_digit()) {
            return Err(CallBackError::Phone);
        }
        Ok(())
    }

    /// The outbox body: the hub's kiosk call-back fields.
    pub fn body(&self) -> Value {
        json!({
            "region_id": self.region_id,
            "contact_name": self.name.trim(),
            "contact_phone": self.phone,
            "topic": self.need.topic().as_str(),
        })
    }
}

/// What became of a call-back request or a cancellation after the short wait for the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// On disk, the hub not reached yet: it goes with the next sync.
    Stored,
    /// The hub took it (call-back queued; booking cancelled, also if it was before).
    Done,
    /// The hub knows no booking of this region with the code.
    UnknownCode,
    /// The booking took place already (or was missed): nothing to cancel.
    AlreadyDone,
    /// Refused for another reason (the hub's problem title).
    Refused(String),
}

/// Queues a call-back request (on disk when this proceeds) and gives the hub up to
/// `answer_within` to take it. Refuses a name or number the hub would refuse, storing nothing.
pub async fn request_call_back<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    ask: &CallBackAsk,
    answer_within: Duration,
) -> Result<Result<(Uuid, Sent), CallBackError>, CoreError> {
    if let Err(e) = ask.check() {
        return Ok(Err(e));
    }
    let id = enqueue(store, OutboxKind::CallBack, ask.body()).await?;
    Ok(Ok((id, answer(store, transport, id, answer_within).await?)))
}

/// Queues the cancellation of the booking `code` (on disk when this proceeds) and gives the hub
/// up to `answer_within` to answer. The code need not be one of this kiosk's bookings.
pub async fn cancel_booking<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    code: &BookingCode,
    answer_within: Duration,
) -> Result<(Uuid, Sent), CoreError> {
    let body = json!({ "booking_code": code.to_string() });
    let id = enqueue(store, OutboxKind::Cancel, body).await?;
    Ok((id, answer(store, transport, id, answer_within).await?))
}

/// The hub's titles for a cancellation it refused (`hub::sync::cancel`).
const UNKNOWN_CODE: &str = "unknown booking code";
const ALREADY_DONE: &str = "already done";

/// What the stored answer to entry `id` says; [`Sent::Stored`] while there is none.
pub fn sent(store: &Store, id: Uuid) -> Result<Sent, StoreError> {
    // Neither a call-back's nor a cancellation's answer carries a booking code, so the entry
    // keeps the code derived from its id.
    let Some(entry) = store.booking_by_code(&BookingCode::from_uuid(id))? else {
        return Ok(Sent::Stored);
    };
    Ok(match entry.state {
        BookingState::Requested => Sent::Stored,
        BookingState::Answered {
            outcome: AckOutcome::Accepted { .. },
            ..
        } => Sent::Done,
        BookingState::Answered {
            outcome: AckOutcome::Refused { title, .. },
            ..
        } => match title.as_str() {
            UNKNOWN_CODE => Sent::UnknownCode,
            ALREADY_DONE => Sent::AlreadyDone,
            _ => Sent::Refused(title),
        },
    })
}

async fn enqueue(store: &Store, kind: OutboxKind, body: Value) -> Result<Uuid, CoreError> {
    let store = store.clone();
    Ok(
        tokio::task::spawn_blocking(move || store.enqueue(kind, body))
            .await
            .map_err(|_| CoreError::Interrupted)??,
    )
}

async fn answer<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    id: Uuid,
    answer_within: Duration,
) -> Result<Sent, CoreError> {
    // The hub out of reach is a normal outcome: the entry waits in the outbox.
    if let Err(e) = sync_within(store, transport, answer_within).await {
        tracing::info!(error = %e, "the hub did not answer; the entry waits for the next sync");
    }
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || sent(&store, id))
        .await
        .map_err(|_| CoreError::Interrupted)??)
}

/// What a booking is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    Ride,
    Appointment,
}

/// Where a booking stands, as "Meine Buchung" says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Confirmed,
    /// A request the hub has not confirmed (yet).
    Requested,
    Refused,
    Cancelled,
    /// A cancellation waits in the outbox for the hub.
    CancelSent,
}

/// A booking as "Meine Buchung" shows it: what, when, where, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingView {
    pub code: BookingCode,
    pub what: What,
    /// RFC 3339 UTC: the pickup window or appointment (start, and end where known).
    pub from: Option<String>,
    pub until: Option<String>,
    /// The destination, stop or village, by name; `None` when the replica does not know it.
    pub place: Option<String>,
    /// The ride goes home (no place name).
    pub home: bool,
    pub standing: Standing,
}

/// The booking with `code` as far as this kiosk knows it: from its outbox (with the hub's answer
/// and later changes the hub sent), or `None` when it was booked elsewhere. A cancellation of the
/// code still waiting for the hub shows as [`Standing::CancelSent`].
pub fn booking_view(store: &Store, code: &BookingCode) -> Result<Option<BookingView>, StoreError> {
    let Some((booking, status)) = booking_status(store, code)? else {
        return Ok(None);
    };
    let what = match booking.kind {
        OutboxKind::Appointment => What::Appointment,
        OutboxKind::RideRequest => What::Ride,
        // A call-back, cancellation or other message has no code of its own on a ticket.
        _ => return Ok(None),
    };
    // The hub's record: the answer, overlaid by its later changes (replica kinds
    // `ride_requests` and `appointments` hold this kiosk's own bookings only).
    let mut record = booking.body.clone();
    if let BookingState::Answered {
        outcome: AckOutcome::Accepted { record: answer },
        ..
    } = &booking.state
    {
        merge(&mut record, answer);
    }
    let kind = match what {
        What::Ride => "ride_requests",
        What::Appointment => "appointments",
    };
    let id = booking.id.to_string();
    if let Some(later) = store.replica_list(kind)?.into_iter().find(|r| r.id == id) {
        merge(&mut record, &later.body);
    }
    let text = |name: &str| record.get(name).and_then(Value::as_str).map(str::to_string);
    let later_status = text("status");
    let mut standing = match (&status, later_status.as_deref()) {
        (_, Some("cancelled")) => Standing::Cancelled,
        (BookingStatus::Refused { .. }, _) => Standing::Refused,
        (_, Some("confirmed" | "planned" | "booked")) => Standing::Confirmed,
        (BookingStatus::Confirmed { .. }, _) => Standing::Confirmed,
        _ => Standing::Requested,
    };
    if standing != Standing::Cancelled && cancel_waiting(store, code)? {
        standing = Standing::CancelSent;
    }
    let (from, until) = match (&status, what) {
        (
            BookingStatus::Confirmed {
                window_start,
                window_end,
            },
            _,
        ) => (Some(window_start.clone()), Some(window_end.clone())),
        (_, What::Ride) => (
            text("pickup_window_start")
                .or_else(|| text("appointment_at"))
                .or_else(|| text("pickup_at")),
            text("pickup_window_end"),
        ),
        (_, What::Appointment) => (text("starts_at"), text("ends_at")),
    };
    let name_of = |kind: &str, id: Option<String>| -> Result<Option<String>, StoreError> {
        let Some(id) = id else { return Ok(None) };
        Ok(store
            .replica_list(kind)?
            .into_iter()
            .find(|r| r.id == id)
            .and_then(|r| {
                r.body
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }))
    };
    let home = record.get("to_home").and_then(Value::as_bool) == Some(true);
    let place = match what {
        What::Ride => match name_of("destinations", text("to_destination_id"))? {
            Some(name) => Some(name),
            None => name_of("stops", text("to_stop_id"))?,
        },
        What::Appointment => {
            let village = text("village_id").or_else(|| {
                let slot = text("slot_id")?;
                store
                    .replica_list("slots")
                    .ok()?
                    .into_iter()
                    .find(|r| r.id == slot)
                    .and_then(|r| {
                        r.body
                            .get("village_id")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
            });
            name_of("villages", village)?
        }
    };
    Ok(Some(BookingView {
        code: booking.booking_code,
        what,
        from,
        until,
        place,
        home,
        standing,
    }))
}

/// The day of a reminder line on "Meine Buchung".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderDay {
    Today,
    Tomorrow,
}

/// The reminder a standing booking of today or tomorrow (in `tz`, as of `now`) shows, the same
/// the hub e-mails to caregivers the day before: the day and the local time ("9:30") it starts.
/// None for a booking that no longer stands, has begun, or lies further ahead.
pub fn reminder(
    view: &BookingView,
    now: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> Option<(ReminderDay, String)> {
    if !matches!(view.standing, Standing::Confirmed | Standing::Requested) {
        return None;
    }
    let starts = chrono::DateTime::parse_from_rfc3339(view.from.as_deref()?).ok()?;
    if starts <= now {
        return None;
    }
    let local = starts.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    let day = match (local.date_naive() - today).num_days() {
        0 => ReminderDay::Today,
        1 => ReminderDay::Tomorrow,
        _ => return None,
    };
    use chrono::Timelike;
    Some((day, format!("{}:{:02}", local.hour(), local.minute())))
}

/// Whether a cancellation of `code` waits in the outbox.
pub fn cancel_waiting(store: &Store, code: &BookingCode) -> Result<bool, StoreError> {
    let wanted = code.to_string();
    Ok(store.pending(usize::MAX)?.iter().any(|e| {
        e.kind == OutboxKind::Cancel
            && e.body
                .get("booking_code")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<BookingCode>().ok())
                .map(|c| c.to_string())
                == Some(wanted.clone())
    }))
}

/// `into` with the fields of `from` (objects only; non-null values win).
fn merge(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            if !v.is_null() {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn a_booking_of_today_or_tomorrow_shows_its_reminder() {
        let tz = chrono_tz::Europe::Berlin;
        let view = |from: &str, standing| BookingView {
            code: BookingCode::from_uuid(Uuid::nil()),
            what: What::Ride,
            from: Some(from.into()),
            until: None,
            place: None,
            home: false,
            standing,
        };
        let now: chrono::DateTime<chrono::Utc> = "2026-12-07T16:00:00Z".parse().unwrap();
        let tomorrow = view("2026-12-08T08:30:00Z", Standing::Confirmed);
        assert_eq!(
            reminder(&tomorrow, now, tz),
            Some((ReminderDay::Tomorrow, "9:30".into()))
        );
        let today = view("2026-12-07T18:05:00Z", Standing::Requested);
        assert_eq!(
            reminder(&today, now, tz),
            Some((ReminderDay::Today, "19:05".into()))
        );
        // Berlin's midnight, not UTC's: 23:30 UTC on the 7th is the 8th there.
        let late = view("2026-12-07T23:30:00Z", Standing::Confirmed);
        assert_eq!(
            reminder(&late, now, tz).map(|r| r.0),
            Some(ReminderDay::Tomorrow)
        );
        for gone in [
            view("2026-12-09T08:30:00Z", Standing::Confirmed),
            view("2026-12-07T15:00:00Z", Standing::Confirmed),
            view("2026-12-08T08:30:00Z", Standing::Cancelled),
            view("2026-12-08T08:30:00Z", Standing::CancelSent),
            view("2026-12-08T08:30:00Z", Standing::Refused),
        ] {
            assert_eq!(reminder(&gone, now, tz), None, "{gone:?}");
        }
    }

    /// 2026-12-01 is a Tuesday.
    fn day(date: u32, hh: u32, mm: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, date)
            .unwrap()
            .and_hms_opt(hh, mm, 0)
            .unwrap()
    }

    fn hours() -> Vec<Opening> {
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        vec![
            Opening {
                weekday: Weekday::Tue,
                open: t("14:00"),
                close: t("18:00"),
            },
            Opening {
                weekday: Weekday::Tue,
                open: t("09:00"),
                close: t("12:00"),
            },
            Opening {
                weekday: Weekday::Thu,
                open: t("09:00"),
                close: t("12:00"),
            },
            Opening {
                weekday: Weekday::Thu,
                open: t("12:00"),
                close: t("13:00"),
            },
        ]
    }

    #[test]
    fn opening_hours_read_as_now_later_today_or_the_next_day() {
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let tuesday = |hh, mm| day(1, hh, mm);
        assert_eq!(tuesday(0, 0).weekday(), Weekday::Tue);
        assert_eq!(
            open_now(&hours(), tuesday(8, 0)),
            OpenNow::OpensToday(t("09:00"))
        );
        assert_eq!(
            open_now(&hours(), tuesday(9, 0)),
            OpenNow::OpenUntil(t("12:00"))
        );
        assert_eq!(
            open_now(&hours(), tuesday(12, 0)),
            OpenNow::OpensToday(t("14:00"))
        );
        assert_eq!(
            open_now(&hours(), tuesday(18, 0)),
            OpenNow::OpensOn(Weekday::Thu, t("09:00"))
        );
        // Touching intervals are one: open until 13:00.
        assert_eq!(
            open_now(&hours(), day(3, 10, 0)),
            OpenNow::OpenUntil(t("13:00"))
        );
        // From Thursday evening the week wraps round to Tuesday.
        assert_eq!(
            open_now(&hours(), day(3, 13, 0)),
            OpenNow::OpensOn(Weekday::Tue, t("09:00"))
        );
        assert_eq!(open_now(&[], tuesday(9, 0)), OpenNow::Unknown);
    }

    #[test]
    fn help_services_come_from_destinations_with_needs() {
        let row = |id: &str, body: Value| ReplicaRow {
            id: id.into(),
            seq: 1,
            body,
        };
        let rows = [
            row(
                "d1",
                json!({"name": "Suchtberatung", "street": "Harzstraße 24", "postcode": "38300",
                       "city": "Wolfenbüttel", "phone": "05331 881910",
                       "opening_hours": [{"weekday": "tue", "open": "09:00", "close": "12:00"}],
                       "helps_with": ["alcohol", "anxiety", "a_later_need"]}),
            ),
            row("d2", json!({"name": "Hausarzt", "helps_with": []})),
            row("d3", json!({"name": "Apotheke"})),
            row(
                "d4",
                json!({"name": "Familienberatung", "helps_with": ["family_strain", "anxiety"],
                       "opening_hours": "not a list"}),
            ),
        ];
        let all = help_services(&rows);
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Familienberatung", "Suchtberatung"]);
        assert_eq!(all[1].address, "Harzstraße 24, 38300 Wolfenbüttel");
        assert_eq!(all[1].helps_with, [Need::Alcohol, Need::Anxiety]);
        assert_eq!(all[1].hours.len(), 1);
        assert!(all[0].hours.is_empty() && all[0].phone.is_none());
        let anxiety: Vec<String> = services_for(&all, Need::Anxiety)
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(anxiety, ["d4", "d1"]);
        assert!(services_for(&all, Need::Dementia).is_empty());
    }

    #[test]
    fn a_call_back_needs_a_name_and_a_phone_number() {
        let ask = CallBackAsk {
            region_id: "r1".into(),
            name: " Erna K ".into(),
            phone: "05331881910".into(),
            need: Need::Alcohol,
        };
        assert_eq!(ask.check(), Ok(()));
        assert_eq!(
            ask.body(),
            json!({"region_id": "r1", "contact_name": "Erna K", "contact_phone": "05331881910",
                   "topic": "addiction"})
        );
        let with = |name: &str, phone: &str| CallBackAsk {
            name: name.into(),
            phone: phone.into(),
            ..ask.clone()
        };
        assert_eq!(with("  ", "05331881910").check(), Err(CallBackError::Name));
        assert_eq!(
            with(&"A".repeat(MAX_NAME + 1), "05331881910").check(),
            Err(CallBackError::Name)
        );
        assert_eq!(with("Erna", "1234").check(), Err(CallBackError::Phone));
        assert_eq!(
            with("Erna", &"1".repeat(21)).check(),
            Err(CallBackError::Phone)
        );
        assert_eq!(
            with("Erna", "0533a1881910").check(),
            Err(CallBackError::Phone)
        );
    }
}

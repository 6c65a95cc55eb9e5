//! Reminders to caregivers the day before a ride or an appointment, sent by e-mail.
//!
//! An outbox in the `reminders` table (migration 0013): `schedule` makes one pending row per
//! booking of tomorrow (region time) and caregiver with an e-mail address — linked to the resident
//! by a live `caregiver_links` row, or named on the ride — due at the region's `reminder_at`
//! (setting, `HH:MM`, default 17:00) the day before; the unique index makes it once only.
//! `send_due` claims each due row, checks that the booking still stands, renders the German text
//! (who, what, when, where, the booking code, how to cancel; never the topic of a consultation)
//! and hands it to a `Mailer`. A failure is retried after 5 min, 15 min, 1 h and 3 h, then the
//! row is `failed` with its last error for the dispatcher (`/console/reminders`), who may send it
//! again (`retry`).
//!
//! The caregivers' notices of counselling (`counselling::notices`: a visit cancelled or moved, a
//! slot given from the waiting list) travel the same way as kind `notice` when the caregiver has
//! an e-mail address: queued at once, the text as `notices` renders it, and marked sent there
//! once delivered (so an SMS sender does not send it again, and one that did first cancels ours).

pub mod smtp;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};

use crate::counselling::notices::{self, Which};
use crate::counselling::{Staff, first_name, instant, local_day_de};
use crate::domain::Role;
use crate::store::logs::{self, Action, Who};
use crate::store::{Store, StoreError, StoreResult};
pub use smtp::{Mail, MailError, Mailer, SmtpMailer};

/// The audit log's kind.
const KIND: &str = "reminders";
/// Waits after the first, second, third and fourth failed try; the fifth failure is final.
pub const BACKOFF_MINUTES: [i64; 4] = [5, 15, 60, 180];
/// How long a claimed reminder is left to its sender before another may try it.
const CLAIM_MINUTES: i64 = 10;
/// The reminder hour when a region sets none.
const DEFAULT_AT: (u32, u32) = (17, 0);

/// What one `schedule` run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scheduled {
    pub made: usize,
    pub cancelled: usize,
}

/// What one `send_due` run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    /// Failed tries that will be tried again.
    pub retrying: usize,
    /// Reminders given up (after the last try, or a permanent refusal).
    pub failed: usize,
    /// Reminders whose booking no longer stands.
    pub cancelled: usize,
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn who() -> Who {
    Who::system("reminders")
}

/// Makes the pending reminders of tomorrow's bookings in every region and cancels those of
/// cancelled bookings. Safe to run any number of times.
pub fn schedule(conn: &mut Connection, now: DateTime<Utc>) -> StoreResult<Scheduled> {
    let tx = conn.transaction()?;
    let cancelled = cancel_stale(&tx, now)?;
    let regions: Vec<(String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, time_zone, settings FROM regions WHERE archived_at IS NULL ORDER BY id",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut made = enqueue_notices(&tx, now)?;
    for (region, zone, settings) in regions {
        made += schedule_region(&tx, &region, &zone, &settings, now)?;
    }
    tx.commit()?;
    Ok(Scheduled { made, cancelled })
}

/// The region's reminder hour from its settings (`reminder_at`, `HH:MM`).
fn reminder_at(settings: &str) -> NaiveTime {
    serde_json::from_str::<serde_json::Value>(settings)
        .ok()
        .and_then(|s| s["reminder_at"].as_str().map(str::to_string))
        .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok())
        .unwrap_or(NaiveTime::from_hms_opt(DEFAULT_AT.0, DEFAULT_AT.1, 0).expect("valid time"))
}

/// A local wall-clock time as an instant; a time skipped by the clock change counts from the
/// hour after it.
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wall = date.and_time(time);
    tz.from_local_datetime(&wall)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(wall + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&wall))
}

fn schedule_region(
    tx: &Connection,
    region: &str,
    zone: &str,
    settings: &str,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let tz: Tz = zone
        .parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {zone}")))?;
    let today = now.with_timezone(&tz).date_naive();
    let tomorrow = today + Duration::days(1);
    let midnight = NaiveTime::MIN;
    let from = text(local_instant(tz, tomorrow, midnight));
    let until = text(local_instant(tz, tomorrow + Duration::days(1), midnight));
    let due = text(local_instant(tz, today, reminder_at(settings)));
    // Who to tell: caregivers with an address, linked to the resident or named on the ride.
    let rides = "SELECT 'ride', r.id, c.id, trim(c.email) FROM ride_requests r
        JOIN residents p ON p.id = r.resident_id AND p.archived_at IS NULL
        JOIN caregivers c ON c.region_id = r.region_id AND c.archived_at IS NULL
        WHERE r.region_id = ?1 AND r.status IN ('requested', 'planned', 'confirmed')
          AND COALESCE(r.pickup_at, r.appointment_at) >= ?2
          AND COALESCE(r.pickup_at, r.appointment_at) < ?3
          AND trim(COALESCE(c.email, '')) <> ''
          AND (c.id = r.caregiver_id OR EXISTS (
                SELECT 1 FROM caregiver_links l WHERE l.caregiver_id = c.id
                AND l.resident_id = r.resident_id AND l.archived_at IS NULL))";
    let appointments = "SELECT 'appointment', a.id, c.id, trim(c.email) FROM appointments a
        JOIN residents p ON p.id = a.resident_id AND p.archived_at IS NULL
        JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.archived_at IS NULL
        JOIN caregivers c ON c.id = l.caregiver_id AND c.archived_at IS NULL
        WHERE a.region_id = ?1 AND a.status = 'booked' AND a.starts_at >= ?2 AND a.starts_at < ?3
          AND trim(COALESCE(c.email, '')) <> ''";
    let mut made = 0;
    for sql in [rides, appointments] {
        let wanted: Vec<(String, String, String, String)> = {
            let mut stmt = tx.prepare(sql)?;
            stmt.query_map(params![region, from, until], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?
        };
        for (kind, entity, caregiver, address) in wanted {
            let id = uuid::Uuid::new_v4().to_string();
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO reminders (id, region_id, kind, entity_id, caregiver_id,
                     to_address, due_at, next_try_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?8)",
                params![id, region, kind, entity, caregiver, address, due, text(now)],
            )?;
            if inserted > 0 {
                logs::audit(tx, &who(), Action::Create, KIND, Some(&id), Some(region))?;
                made += 1;
            }
        }
    }
    Ok(made)
}

/// Queues the unsent notices to caregivers with an e-mail address, due at once.
fn enqueue_notices(tx: &Connection, now: DateTime<Utc>) -> StoreResult<usize> {
    let wanted: Vec<(String, String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT n.id, n.region_id, c.id, trim(c.email) FROM notices n
             JOIN caregivers c ON c.id = n.caregiver_id AND c.archived_at IS NULL
             WHERE n.sent_at IS NULL AND trim(COALESCE(c.email, '')) <> ''
               AND NOT EXISTS (SELECT 1 FROM reminders m
                               WHERE m.kind = 'notice' AND m.entity_id = n.id)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?
    };
    let at = text(now);
    for (notice, region, caregiver, address) in &wanted {
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO reminders (id, region_id, kind, entity_id, caregiver_id, to_address,
                 due_at, next_try_at, created_at, updated_at)
             VALUES (?1, ?2, 'notice', ?3, ?4, ?5, ?6, ?6, ?6, ?6)",
            params![id, region, notice, caregiver, address, at],
        )?;
        logs::audit(tx, &who(), Action::Create, KIND, Some(&id), Some(region))?;
    }
    Ok(wanted.len())
}

/// The hub itself passing on notices, as the notices module wants an account.
fn sender() -> Staff {
    Staff {
        account_id: "system:reminders".into(),
        role: Role::Admin,
        region_id: None,
        who: who(),
    }
}

fn store_error(e: crate::counselling::CounsellingError) -> StoreError {
    match e {
        crate::counselling::CounsellingError::Store(e) => e,
        other => StoreError::Internal(other.to_string()),
    }
}

/// The e-mail of an unsent notice; `None` once another sender passed it on.
fn notice_mail(
    conn: &mut Connection,
    id: &str,
    region: &str,
    to: String,
) -> StoreResult<Option<Mail>> {
    let unsent = notices::list(conn, &sender(), Some(region), Which::Unsent, u32::MAX)
        .map_err(store_error)?;
    let Some(notice) = unsent.into_iter().find(|n| n.id == id) else {
        return Ok(None);
    };
    let phone: Option<String> = conn
        .query_row("SELECT phone FROM regions WHERE id = ?1", [region], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let subject = match notice.kind.as_str() {
        "visit_cancelled" => "Dorfpunkt: Ein IMBUS-Termin fällt aus",
        "visit_moved" => "Dorfpunkt: Ein IMBUS-Termin ist verschoben",
        _ => "Dorfpunkt: Ein IMBUS-Termin ist frei geworden",
    };
    let phone = phone
        .map(|p| format!("Fragen beantworten wir telefonisch unter {p}.\n\n"))
        .unwrap_or_default();
    Ok(Some(Mail {
        to,
        subject: subject.into(),
        body: format!(
            "Guten Tag {},\n\n{}\n\n{phone}Diese Nachricht wurde automatisch vom Dorfpunkt versandt.\n",
            notice.caregiver.name, notice.text_de
        ),
    }))
}

/// Cancels the pending reminders of bookings that were cancelled.
fn cancel_stale(tx: &Connection, now: DateTime<Utc>) -> StoreResult<usize> {
    Ok(tx.execute(
        "UPDATE reminders SET status = 'cancelled', updated_at = ?1
         WHERE status = 'pending' AND (
           (kind = 'ride' AND entity_id IN (SELECT id FROM ride_requests WHERE status = 'cancelled'))
           OR (kind = 'appointment'
               AND entity_id IN (SELECT id FROM appointments WHERE status = 'cancelled'))
           OR (kind = 'notice'
               AND entity_id IN (SELECT id FROM notices WHERE sent_at IS NOT NULL)))",
        [text(now)],
    )?)
}

/// A claimed reminder: what to send, or why not to.
enum Claimed {
    /// The message, and the notice to mark sent once it went out.
    Send(Mail, Option<String>),
    /// The booking no longer stands, or the caregiver is no longer linked.
    Cancelled,
    /// The booking began before the reminder could go out.
    TooLate,
}

/// Sends every due reminder (each claimed first, so two senders never send one twice).
pub async fn send_due<M: Mailer>(
    store: &Store,
    mailer: &M,
    now: DateTime<Utc>,
) -> StoreResult<Sent> {
    let mut sent = Sent::default();
    loop {
        let next = store.run(move |conn| claim_next(conn, None, now)).await?;
        let Some((id, claimed)) = next else {
            return Ok(sent);
        };
        deliver(store, mailer, id, claimed, now, &mut sent).await?;
    }
}

/// Makes a reminder pending again and due at once (a dispatcher's "Erneut senden"), then tries
/// it with `mailer` if there is one. Answers the reminder's status afterwards.
pub async fn retry<M: Mailer>(
    store: &Store,
    mailer: Option<&M>,
    id: &str,
    who: Who,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    let key = id.to_string();
    store
        .run(move |conn| {
            let tx = conn.transaction()?;
            let region: String = tx
                .query_row(
                    "SELECT region_id FROM reminders WHERE id = ?1 AND status IN ('failed', 'pending')",
                    [&key],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(StoreError::NotFound {
                    kind: "reminder",
                    id: key.clone(),
                })?;
            tx.execute(
                "UPDATE reminders SET status = 'pending', next_try_at = ?2, updated_at = ?2
                 WHERE id = ?1",
                params![key, text(now)],
            )?;
            logs::audit(&tx, &who, Action::Update, KIND, Some(&key), Some(&region))?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    if let Some(mailer) = mailer {
        let key = id.to_string();
        if let Some((id, claimed)) = store
            .run(move |conn| claim_next(conn, Some(&key), now))
            .await?
        {
            deliver(store, mailer, id, claimed, now, &mut Sent::default()).await?;
        }
    }
    let key = id.to_string();
    store
        .run(move |conn| {
            Ok(
                conn.query_row("SELECT status FROM reminders WHERE id = ?1", [key], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
}

async fn deliver<M: Mailer>(
    store: &Store,
    mailer: &M,
    id: String,
    claimed: Claimed,
    now: DateTime<Utc>,
    sent: &mut Sent,
) -> StoreResult<()> {
    let outcome = match claimed {
        Claimed::Send(mail, notice) => {
            let tried = mailer.send(&mail).await;
            if let (Ok(()), Some(notice)) = (&tried, notice) {
                store
                    .run(move |conn| {
                        notices::mark_sent(conn, &sender(), &notice)
                            .map(|_| ())
                            .map_err(store_error)
                    })
                    .await?;
            }
            Outcome::Tried(tried)
        }
        Claimed::Cancelled => Outcome::Cancelled,
        Claimed::TooLate => Outcome::TooLate,
    };
    match &outcome {
        Outcome::Tried(Ok(())) => sent.sent += 1,
        Outcome::Cancelled => sent.cancelled += 1,
        Outcome::TooLate => sent.failed += 1,
        Outcome::Tried(Err(_)) => {}
    }
    let gave_up = store
        .run(move |conn| record(conn, &id, outcome, now))
        .await?;
    match gave_up {
        Some(true) => sent.failed += 1,
        Some(false) => sent.retrying += 1,
        None => {}
    }
    Ok(())
}

enum Outcome {
    Tried(Result<(), MailError>),
    Cancelled,
    TooLate,
}

/// Claims the oldest due reminder (or the one with `only`) and renders its message.
fn claim_next(
    conn: &mut Connection,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Option<(String, Claimed)>> {
    let tx = conn.transaction()?;
    let row: Option<(String, String, String, String, String, String)> = tx
        .query_row(
            "SELECT id, region_id, kind, entity_id, caregiver_id, to_address FROM reminders
             WHERE status = 'pending' AND next_try_at <= ?1 AND (?2 IS NULL OR id = ?2)
             ORDER BY next_try_at, rowid LIMIT 1",
            params![text(now), only],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, region, kind, entity, caregiver, to)) = row else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE reminders SET next_try_at = ?2 WHERE id = ?1",
        params![id, text(now + Duration::minutes(CLAIM_MINUTES))],
    )?;
    logs::audit(&tx, &who(), Action::Read, KIND, Some(&id), Some(&region))?;
    if kind == "notice" {
        tx.commit()?;
        let claimed = match notice_mail(conn, &entity, &region, to)? {
            Some(mail) => Claimed::Send(mail, Some(entity)),
            None => Claimed::Cancelled,
        };
        return Ok(Some((id, claimed)));
    }
    let booking = match kind.as_str() {
        "ride" => ride(&tx, &entity, &caregiver)?,
        _ => appointment(&tx, &entity, &caregiver)?,
    };
    tx.commit()?;
    let claimed = match booking {
        None => Claimed::Cancelled,
        Some(b) if instant(&b.starts_at)? <= now => Claimed::TooLate,
        Some(b) => Claimed::Send(render(&b, to)?, None),
    };
    Ok(Some((id, claimed)))
}

/// Writes the outcome of a try; answers whether the reminder was given up (`None`: not a
/// failed try).
fn record(
    conn: &mut Connection,
    id: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> StoreResult<Option<bool>> {
    let at = text(now);
    match outcome {
        Outcome::Tried(Ok(())) => {
            conn.execute(
                "UPDATE reminders SET status = 'sent', attempts = attempts + 1, sent_at = ?2,
                     last_error = NULL, updated_at = ?2 WHERE id = ?1",
                params![id, at],
            )?;
            Ok(None)
        }
        Outcome::Cancelled => {
            conn.execute(
                "UPDATE reminders SET status = 'cancelled', updated_at = ?2 WHERE id = ?1",
                params![id, at],
            )?;
            Ok(None)
        }
        Outcome::TooLate => {
            conn.execute(
                "UPDATE reminders SET status = 'failed', updated_at = ?2,
                     last_error = 'Nicht mehr gesendet: die Buchung hat schon begonnen.'
                 WHERE id = ?1",
                params![id, at],
            )?;
            Ok(None)
        }
        Outcome::Tried(Err(error)) => {
            let attempts: i64 = conn.query_row(
                "SELECT attempts + 1 FROM reminders WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?;
            let wait = usize::try_from(attempts - 1)
                .ok()
                .and_then(|i| BACKOFF_MINUTES.get(i))
                .filter(|_| !error.permanent);
            let (status, next) = match wait {
                Some(minutes) => ("pending", now + Duration::minutes(*minutes)),
                None => ("failed", now),
            };
            conn.execute(
                "UPDATE reminders SET status = ?2, attempts = ?3, next_try_at = ?4,
                     last_error = ?5, updated_at = ?6 WHERE id = ?1",
                params![id, status, attempts, text(next), error.text, at],
            )?;
            Ok(Some(wait.is_none()))
        }
    }
}

/// What a reminder says about its booking.
struct Booking {
    what: What,
    code: String,
    resident: String,
    caregiver: String,
    starts_at: String,
    zone: String,
    region_phone: Option<String>,
}

enum What {
    Ride {
        window: Option<(String, String)>,
        pickup_at: Option<String>,
        arrive_by: Option<String>,
        from: String,
        to: String,
    },
    Appointment {
        place: String,
    },
}

/// The ride of a reminder while it stands and the caregiver may still be told.
fn ride(tx: &Connection, id: &str, caregiver: &str) -> StoreResult<Option<Booking>> {
    let place = |home: &str, stop: &str, dest: &str| {
        format!(
            "CASE WHEN r.{home} = 1 THEN 'zu Hause'
                  ELSE COALESCE((SELECT name FROM stops WHERE id = r.{stop}),
                                (SELECT name FROM destinations WHERE id = r.{dest}), '') END"
        )
    };
    let sql = format!(
        "SELECT r.booking_code, p.name, c.name, r.pickup_window_start, r.pickup_window_end,
                r.pickup_at, r.appointment_at,
                COALESCE(r.pickup_window_start, r.planned_pickup_at, r.pickup_at, r.appointment_at),
                {}, {}, g.time_zone, g.phone
         FROM ride_requests r
         JOIN residents p ON p.id = r.resident_id AND p.archived_at IS NULL
         JOIN caregivers c ON c.id = ?2 AND c.archived_at IS NULL
         JOIN regions g ON g.id = r.region_id
         WHERE r.id = ?1 AND r.status IN ('requested', 'planned', 'confirmed')
           AND (r.caregiver_id = ?2 OR EXISTS (SELECT 1 FROM caregiver_links l
                WHERE l.caregiver_id = ?2 AND l.resident_id = r.resident_id
                AND l.archived_at IS NULL))",
        place("from_home", "from_stop_id", "from_destination_id"),
        place("to_home", "to_stop_id", "to_destination_id"),
    );
    Ok(tx
        .query_row(&sql, params![id, caregiver], |r| {
            let window: (Option<String>, Option<String>) = (r.get(3)?, r.get(4)?);
            Ok(Booking {
                code: r.get(0)?,
                resident: r.get(1)?,
                caregiver: r.get(2)?,
                what: What::Ride {
                    window: window.0.zip(window.1),
                    pickup_at: r.get(5)?,
                    arrive_by: r.get(6)?,
                    from: r.get(8)?,
                    to: r.get(9)?,
                },
                starts_at: r.get(7)?,
                zone: r.get(10)?,
                region_phone: r.get(11)?,
            })
        })
        .optional()?)
}

/// The appointment of a reminder while it stands and the caregiver is still linked.
fn appointment(tx: &Connection, id: &str, caregiver: &str) -> StoreResult<Option<Booking>> {
    let sql = "SELECT a.booking_code, p.name, c.name, a.starts_at, g.time_zone, g.phone,
                CASE WHEN s.visit_id IS NOT NULL
                     THEN 'IMBUS-Beratung in ' || vi.name || ', ' || st.name
                     ELSE 'Gesundheitskiosk ' || COALESCE(d.name, '') END
         FROM appointments a
         JOIN slots s ON s.id = a.slot_id
         JOIN villages vi ON vi.id = a.village_id
         LEFT JOIN imbus_visits v ON v.id = s.visit_id
         LEFT JOIN stops st ON st.id = v.stop_id
         LEFT JOIN consultation_hours h ON h.id = s.consultation_hours_id
         LEFT JOIN devices d ON d.id = h.device_id
         JOIN residents p ON p.id = a.resident_id AND p.archived_at IS NULL
         JOIN caregiver_links l ON l.resident_id = a.resident_id AND l.caregiver_id = ?2
              AND l.archived_at IS NULL
         JOIN caregivers c ON c.id = ?2 AND c.archived_at IS NULL
         JOIN regions g ON g.id = a.region_id
         WHERE a.id = ?1 AND a.status = 'booked'";
    Ok(tx
        .query_row(sql, params![id, caregiver], |r| {
            Ok(Booking {
                code: r.get(0)?,
                resident: r.get(1)?,
                caregiver: r.get(2)?,
                starts_at: r.get(3)?,
                zone: r.get(4)?,
                region_phone: r.get(5)?,
                what: What::Appointment { place: r.get(6)? },
            })
        })
        .optional()?)
}

/// "9:30" of a stored instant in the zone.
fn clock(tz: Tz, at: &str) -> StoreResult<String> {
    let local = instant(at)?.with_timezone(&tz);
    Ok(format!("{}:{:02}", local.hour(), local.minute()))
}

/// The German message: the resident's first name only, local day and times, the place, the
/// booking code and how to cancel. Nothing about the reason for a consultation.
fn render(b: &Booking, to: String) -> StoreResult<Mail> {
    let tz: Tz = b
        .zone
        .parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {}", b.zone)))?;
    let name = first_name(&b.resident);
    let day = local_day_de(tz, &b.starts_at)?;
    let (noun, lines) = match &b.what {
        What::Ride {
            window,
            pickup_at,
            arrive_by,
            from,
            to,
        } => {
            let when = match (window, pickup_at, arrive_by) {
                (Some((start, end)), _, _) => format!(
                    "Abholung zwischen {} und {} Uhr",
                    clock(tz, start)?,
                    clock(tz, end)?
                ),
                (None, Some(at), _) => format!("Abholung um {} Uhr", clock(tz, at)?),
                (None, None, Some(at)) => format!("Ankunft bis {} Uhr", clock(tz, at)?),
                (None, None, None) => String::new(),
            };
            (
                "Fahrt",
                format!("Wann: {day}, {when}\nVon: {from}\nNach: {to}\n"),
            )
        }
        What::Appointment { place } => (
            "Beratungstermin",
            format!(
                "Wann: {day} um {} Uhr\nWo: {place}\n",
                clock(tz, &b.starts_at)?
            ),
        ),
    };
    let phone = b
        .region_phone
        .as_deref()
        .map(|p| format!(" oder telefonisch unter {p}"))
        .unwrap_or_default();
    let body = format!(
        "Guten Tag {caregiver},\n\n\
         dies ist eine Erinnerung an die {noun} von {name}.\n\n\
         {lines}Buchungscode: {code}\n\n\
         Absagen können Sie am Dorfpunkt-Kiosk unter „Meine Buchung“ mit dem Buchungscode{phone}.\n\
         Bitte sagen Sie ab, sobald der Termin nicht gebraucht wird.\n\n\
         Diese Nachricht wurde automatisch vom Dorfpunkt versandt.\n",
        caregiver = b.caregiver,
        code = b.code,
    );
    Ok(Mail {
        to,
        subject: format!("Erinnerung: {noun} von {name} am {day}"),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reminder_hour_comes_from_the_settings() {
        assert_eq!(
            reminder_at("{}"),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap()
        );
        assert_eq!(
            reminder_at(r#"{"reminder_at":"18:30"}"#),
            NaiveTime::from_hms_opt(18, 30, 0).unwrap()
        );
        assert_eq!(reminder_at(r#"{"reminder_at":"25:00"}"#).hour(), 17);
    }

    #[test]
    fn a_ride_reads_in_german_with_local_times_and_no_health_details() {
        let booking = Booking {
            what: What::Ride {
                window: Some(("2026-12-08T07:50:00Z".into(), "2026-12-08T08:05:00Z".into())),
                pickup_at: None,
                arrive_by: Some("2026-12-08T08:30:00Z".into()),
                from: "zu Hause".into(),
                to: "Hausarztpraxis Dr. Berger".into(),
            },
            code: "7KQM-2XHD-R".into(),
            resident: "Erna Köhler".into(),
            caregiver: "Jonas Köhler".into(),
            starts_at: "2026-12-08T07:50:00Z".into(),
            zone: "Europe/Berlin".into(),
            region_phone: Some("05332 1234".into()),
        };
        let mail = render(&booking, "jonas@example.org".into()).unwrap();
        assert_eq!(mail.subject, "Erinnerung: Fahrt von Erna am Di 8.12.");
        assert!(
            mail.body
                .contains("Wann: Di 8.12., Abholung zwischen 8:50 und 9:05 Uhr"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("Buchungscode: 7KQM-2XHD-R"));
        assert!(mail.body.contains("05332 1234"));
        assert!(mail.body.starts_with("Guten Tag Jonas Köhler,"));
        assert!(!mail.body.contains("Erna Köhler"), "first name only");
    }
}

//! Notices to caregivers: a slot given from the waiting list (`waiting`), a visit cancelled or
//! moved (triggers of migration 0011, so every path that changes a visit queues them), told to
//! the caregivers of the residents booked on the visit and of those on its waiting list. A
//! notice is stored as structured data; its German text is rendered when listed, with times in
//! the region's zone. A sender (SMS or e-mail gateway, not part of the hub yet) lists the unsent
//! ones and marks each sent; marking twice keeps the first time.

use chrono_tz::Tz;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{
    Result, Staff, audit_update, check_region, first_name, forbidden, local_day_de, local_hm,
    region_and,
};
use crate::domain::Role;
use crate::store::logs::{self, Action};
use crate::store::{StoreError, StoreResult, now_text};

/// The audit log's kind.
const KIND: &str = "notices";

/// Which notices a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Unsent,
    Sent,
    All,
}

/// Whom to tell.
#[derive(Debug, Serialize)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A notice as a sender gets it.
#[derive(Debug, Serialize)]
pub struct Notice {
    pub id: String,
    pub region_id: String,
    pub kind: String,
    pub caregiver: Recipient,
    pub resident_id: String,
    pub appointment_id: Option<String>,
    /// The waiting-list entry the notice is about (a slot given, or the visit of a waiting
    /// resident cancelled or moved).
    pub waiting_id: Option<String>,
    pub visit_id: String,
    pub old_start: Option<String>,
    pub new_start: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The message in German, ready to send.
    pub text_de: String,
}

fn check_staff(staff: &Staff) -> Result<()> {
    match staff.role {
        Role::Admin | Role::Dispatcher => Ok(()),
        role => forbidden(format!("{role:?} accounts may not pass on notices")),
    }
}

const SELECT: &str = "
    SELECT n.id, n.region_id, n.kind, c.id, c.name, c.phone, c.email, n.resident_id,
           n.appointment_id, n.visit_id, n.old_start, n.new_start,
           COALESCE(n.reason, CASE n.kind WHEN 'visit_cancelled' THEN v.cancel_reason
                                          WHEN 'visit_moved' THEN v.change_reason END),
           n.created_at, n.sent_at, r.name, vi.name, st.name, a.booking_code, rg.time_zone,
           n.waiting_id
    FROM notices n
    JOIN caregivers c ON c.id = n.caregiver_id
    JOIN residents r ON r.id = n.resident_id
    JOIN imbus_visits v ON v.id = n.visit_id
    JOIN villages vi ON vi.id = v.village_id
    JOIN stops st ON st.id = v.stop_id
    JOIN regions rg ON rg.id = n.region_id
    LEFT JOIN appointments a ON a.id = n.appointment_id";

/// The facts the text needs besides the notice's own columns.
struct Place {
    resident_name: String,
    village: String,
    stop: String,
    booking_code: Option<String>,
    zone: String,
}

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Notice, Place)> {
    Ok((
        Notice {
            id: row.get(0)?,
            region_id: row.get(1)?,
            kind: row.get(2)?,
            caregiver: Recipient {
                id: row.get(3)?,
                name: row.get(4)?,
                phone: row.get(5)?,
                email: row.get(6)?,
            },
            resident_id: row.get(7)?,
            appointment_id: row.get(8)?,
            waiting_id: row.get(20)?,
            visit_id: row.get(9)?,
            old_start: row.get(10)?,
            new_start: row.get(11)?,
            reason: row.get(12)?,
            created_at: row.get(13)?,
            sent_at: row.get(14)?,
            text_de: String::new(),
        },
        Place {
            resident_name: row.get(15)?,
            village: row.get(16)?,
            stop: row.get(17)?,
            booking_code: row.get(18)?,
            zone: row.get(19)?,
        },
    ))
}

fn finish((mut notice, place): (Notice, Place)) -> StoreResult<Notice> {
    let tz: Tz = place
        .zone
        .parse()
        .map_err(|_| StoreError::Internal(format!("bad time zone {}", place.zone)))?;
    notice.text_de = text_de(&notice, &place, tz)?;
    Ok(notice)
}

/// The German message: short sentences, the resident's first name, local day and time.
fn text_de(notice: &Notice, place: &Place, tz: Tz) -> StoreResult<String> {
    let name = first_name(&place.resident_name);
    let when = |at: &Option<String>| -> StoreResult<String> {
        match at {
            Some(at) => Ok(format!(
                "am {} um {}",
                local_day_de(tz, at)?,
                local_hm(tz, at)?
            )),
            None => Ok(String::new()),
        }
    };
    let reason = notice
        .reason
        .as_deref()
        .map(|r| r.trim().trim_end_matches('.'))
        .filter(|r| !r.is_empty());
    let end = |text: String| match reason {
        Some(reason) => format!("{text}: {reason}."),
        None => format!("{text}."),
    };
    // A waiting resident had no appointment: the message is about the visit.
    let waiting = notice.appointment_id.is_none() && notice.waiting_id.is_some();
    Ok(match notice.kind.as_str() {
        "visit_cancelled" if waiting => end(format!(
            "Der IMBUS-Besuch {} in {}, für den {name} auf der Warteliste stand, fällt aus",
            when(&notice.old_start)?,
            place.village
        )),
        "visit_moved" if waiting => format!(
            "{} {name} bleibt auf der Warteliste.",
            end(format!(
                "Der IMBUS-Besuch {} in {} ist verschoben auf {}",
                when(&notice.old_start)?,
                place.village,
                when(&notice.new_start)?.trim_start_matches("am ")
            ))
        ),
        "visit_cancelled" => end(format!(
            "Der IMBUS-Termin von {name} {} in {} fällt aus",
            when(&notice.old_start)?,
            place.village
        )),
        "visit_moved" => end(format!(
            "Der IMBUS-Termin von {name} {} in {} ist verschoben auf {}",
            when(&notice.old_start)?,
            place.village,
            when(&notice.new_start)?.trim_start_matches("am ")
        )),
        _ => {
            let code = place
                .booking_code
                .as_deref()
                .map(|c| format!(" Buchungscode: {c}."))
                .unwrap_or_default();
            format!(
                "Für {name} ist ein IMBUS-Termin frei geworden: {} in {}, {}.{code}",
                when(&notice.new_start)?.trim_start_matches("am "),
                place.village,
                place.stop
            )
        }
    })
}

/// Notices of `region` (the dispatcher's own; all regions for an administrator without one),
/// oldest first, at most `limit`. Audited as a list: they name people.
pub fn list(
    conn: &mut Connection,
    staff: &Staff,
    region: Option<&str>,
    which: Which,
    limit: u32,
) -> Result<Vec<Notice>> {
    check_staff(staff)?;
    let region = match (region, staff.role) {
        (Some(region), _) => {
            if !crate::store::records::exists(conn, "regions", region)? {
                return Err(StoreError::NotFound {
                    kind: "region",
                    id: region.to_string(),
                }
                .into());
            }
            check_region(staff, region)?;
            Some(region.to_string())
        }
        (None, Role::Admin) => None,
        (None, _) => staff.region_id.clone(),
    };
    let sent = match which {
        Which::Unsent => "n.sent_at IS NULL",
        Which::Sent => "n.sent_at IS NOT NULL",
        Which::All => "1",
    };
    let tx = conn.transaction()?;
    let notices = {
        let mut stmt = tx.prepare(&format!(
            "{SELECT} WHERE (?1 IS NULL OR n.region_id = ?1) AND {sent}
             ORDER BY n.created_at, n.rowid LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![region, limit], read)?;
        let mut notices = Vec::new();
        for row in rows {
            notices.push(finish(row?)?);
        }
        notices
    };
    logs::audit(&tx, &staff.who, Action::List, KIND, None, region.as_deref())?;
    tx.commit()?;
    Ok(notices)
}

/// Marks a notice sent (once: a repeat keeps the first time) and answers with it.
pub fn mark_sent(conn: &mut Connection, staff: &Staff, id: &str) -> Result<Notice> {
    check_staff(staff)?;
    let tx = conn.transaction()?;
    let (region, sent_at): (String, Option<String>) =
        region_and(&tx, "notices", "sent_at", "notice", id)?;
    check_region(staff, &region)?;
    if sent_at.is_none() {
        tx.execute(
            "UPDATE notices SET sent_at = ?2, sent_by = ?3 WHERE id = ?1",
            params![id, now_text(), staff.who.actor],
        )?;
        audit_update(&tx, staff, KIND, id, &region)?;
    }
    let notice = tx.query_row(&format!("{SELECT} WHERE n.id = ?1"), [id], read)?;
    let notice = finish(notice)?;
    tx.commit()?;
    Ok(notice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: &str, old: Option<&str>, new: Option<&str>, reason: Option<&str>) -> Notice {
        Notice {
            id: "n".into(),
            region_id: "r".into(),
            kind: kind.into(),
            caregiver: Recipient {
                id: "c".into(),
                name: "Jonas".into(),
                phone: None,
                email: None,
            },
            resident_id: "p".into(),
            appointment_id: Some("a".into()),
            waiting_id: None,
            visit_id: "v".into(),
            old_start: old.map(str::to_string),
            new_start: new.map(str::to_string),
            reason: reason.map(str::to_string),
            created_at: "2026-12-01T08:00:00Z".into(),
            sent_at: None,
            text_de: String::new(),
        }
    }

    #[test]
    fn texts_are_german_with_local_times() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let place = Place {
            resident_name: "Erika Mustermann".into(),
            village: "Dahlum".into(),
            stop: "Dorfplatz".into(),
            booking_code: Some("7KQM-2XHD-R".into()),
            zone: "Europe/Berlin".into(),
        };
        let cancelled = notice(
            "visit_cancelled",
            Some("2026-12-08T09:00:00Z"),
            None,
            Some("Der Bus ist in der Werkstatt."),
        );
        assert_eq!(
            text_de(&cancelled, &place, tz).unwrap(),
            "Der IMBUS-Termin von Erika am Di 8.12. um 10:00 in Dahlum fällt aus: Der Bus ist in der Werkstatt."
        );
        let moved = notice(
            "visit_moved",
            Some("2026-12-08T09:00:00Z"),
            Some("2026-12-09T10:00:00Z"),
            None,
        );
        assert_eq!(
            text_de(&moved, &place, tz).unwrap(),
            "Der IMBUS-Termin von Erika am Di 8.12. um 10:00 in Dahlum ist verschoben auf Mi 9.12. um 11:00."
        );
        let given = notice("slot_given", None, Some("2026-12-08T09:20:00Z"), None);
        assert_eq!(
            text_de(&given, &place, tz).unwrap(),
            "Für Erika ist ein IMBUS-Termin frei geworden: Di 8.12. um 10:20 in Dahlum, Dorfplatz. Buchungscode: 7KQM-2XHD-R."
        );
        // For a waiting resident the message is about the visit, not an appointment.
        let waiting = |mut n: Notice| {
            n.appointment_id = None;
            n.waiting_id = Some("w".into());
            n
        };
        assert_eq!(
            text_de(&waiting(cancelled), &place, tz).unwrap(),
            "Der IMBUS-Besuch am Di 8.12. um 10:00 in Dahlum, für den Erika auf der Warteliste stand, fällt aus: Der Bus ist in der Werkstatt."
        );
        assert_eq!(
            text_de(&waiting(moved), &place, tz).unwrap(),
            "Der IMBUS-Besuch am Di 8.12. um 10:00 in Dahlum ist verschoben auf Mi 9.12. um 11:00. Erika bleibt auf der Warteliste."
        );
    }
}

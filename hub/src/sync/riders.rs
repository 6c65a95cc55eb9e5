//! Who a kiosk ride is for: a resident the hub knows by id, a resident number typed at the kiosk,
//! a new resident registered with the ride, or a resident a caregiver chose after logging in.
//!
//! Everything here runs inside the ride entry's savepoint, so a new resident and their ride are
//! made together or not at all, and the entry's first answer (kept in `device_writes`) makes a
//! repeat change nothing. A new resident's id is derived from the entry id for the same reason.
//!
//! **Resident numbers** ([`protocol::ResidentNumber`]) are assigned on first need, when the hub
//! answers a kiosk ride: six digits from a hash of the resident's id (the next hash on a clash
//! in the region) and a check digit. The answer carries the number so the ticket prints it.
//!
//! **Home position**: a new resident's home is placed at the village centre; the street list
//! holds names only (the demo region has no OSM extract to place streets). Drivers go by the
//! address; the planner's straight-line estimate is off by the village's size at most.

use protocol::ResidentNumber;
use protocol::people::{CONSENT_PURPOSE, NewResident};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::devices::DeviceIdentity;
use crate::domain::Resident;
use crate::domain::common::{Instant, check_name, check_phone};
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

/// A new resident's name is at most this long (the kiosk's keyboard stops there too).
pub const MAX_NAME_CHARS: usize = 80;
/// A house number such as `12a` or `3-5`.
const MAX_HOUSE_NUMBER_CHARS: usize = 8;

/// Who the entry names, as sent.
pub struct Named {
    pub resident_id: Option<String>,
    pub resident_number: Option<String>,
    pub new_resident: Option<NewResident>,
    pub caregiver_id: Option<String>,
}

/// The resident the ride is for and who books it.
pub struct Rider {
    pub resident_id: String,
    /// `device:<id>`, or `device:<id> caregiver:<id>` when a caregiver booked.
    pub who: Who,
    pub caregiver_id: Option<String>,
}

/// Resolves who the ride is for; a new resident is created here. `walker` and `wheelchair` are
/// the ride's, recorded for a new resident.
pub fn resolve(
    tx: &Connection,
    device: &DeviceIdentity,
    who: &Who,
    entry_id: Uuid,
    created_at: &str,
    named: Named,
    (walker, wheelchair): (bool, bool),
) -> StoreResult<Rider> {
    let given = [
        named.resident_id.is_some(),
        named.resident_number.is_some(),
        named.new_resident.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err(StoreError::invalid(
            "resident_id",
            "name the resident by exactly one of resident_id, resident_number and new_resident",
        ));
    }
    if named.caregiver_id.is_some() && named.resident_id.is_none() {
        return Err(StoreError::invalid(
            "caregiver_id",
            "a caregiver books for a linked resident by resident_id",
        ));
    }
    let resident_id = if let Some(id) = named.resident_id {
        id
    } else if let Some(number) = named.resident_number {
        by_number(tx, &device.region_id, &number)?
    } else if let Some(new) = named.new_resident {
        create_resident(
            tx, device, who, entry_id, created_at, new, walker, wheelchair,
        )?
    } else {
        unreachable!("exactly one was given")
    };
    let who = match &named.caregiver_id {
        Some(caregiver) => {
            check_kiosk_caregiver(tx, &device.region_id, caregiver)?;
            Who {
                actor: format!("{} caregiver:{caregiver}", who.actor),
                request_id: who.request_id.clone(),
            }
        }
        None => who.clone(),
    };
    Ok(Rider {
        resident_id,
        who,
        caregiver_id: named.caregiver_id,
    })
}

/// The live resident of the region with this number.
fn by_number(tx: &Connection, region_id: &str, text: &str) -> StoreResult<String> {
    let number: ResidentNumber = text
        .parse()
        .map_err(|e| StoreError::invalid("resident_number", format!("'{text}': {e}")))?;
    tx.query_row(
        "SELECT id FROM residents
         WHERE region_id = ?1 AND kiosk_number = ?2 AND archived_at IS NULL",
        params![region_id, number.compact()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| {
        StoreError::invalid(
            "resident_number",
            format!("no resident of this region has the number {number}"),
        )
    })
}

/// A caregiver who books at a kiosk has set a kiosk PIN (they logged in with it) and belongs to
/// the kiosk's region; the ride's own check makes sure they are linked to the resident.
fn check_kiosk_caregiver(tx: &Connection, region_id: &str, caregiver: &str) -> StoreResult<()> {
    let row: Option<(String, bool, Option<String>)> = tx
        .query_row(
            "SELECT c.region_id,
                    EXISTS (SELECT 1 FROM caregiver_kiosk_pins p WHERE p.caregiver_id = c.id),
                    c.archived_at
             FROM caregivers c WHERE c.id = ?1",
            [caregiver],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((region, true, None)) if region == region_id => Ok(()),
        _ => Err(StoreError::invalid(
            "caregiver_id",
            "no caregiver of this region with a kiosk PIN has this id",
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn create_resident(
    tx: &Connection,
    device: &DeviceIdentity,
    who: &Who,
    entry_id: Uuid,
    created_at: &str,
    new: NewResident,
    walker: bool,
    wheelchair: bool,
) -> StoreResult<String> {
    let field = |name: &str| format!("new_resident.{name}");
    if !new.consent {
        return Err(StoreError::invalid(
            field("consent"),
            "the resident must agree to the consent text before their data is kept",
        ));
    }
    check_name(&field("name"), &new.name)?;
    if new.name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid(
            field("name"),
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if let Some(phone) = &new.phone {
        check_phone(&field("phone"), phone)?;
    }
    let house = new.house_number.as_str();
    let house_ok = (1..=MAX_HOUSE_NUMBER_CHARS).contains(&house.chars().count())
        && house.starts_with(|c: char| c.is_ascii_digit())
        && house
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/ ".contains(c));
    if !house_ok {
        return Err(StoreError::invalid(
            field("house_number"),
            format!("'{house}' is not a house number (such as 12 or 12a)"),
        ));
    }
    if !protocol::is_supported_language(&new.language) {
        return Err(StoreError::invalid(
            field("language"),
            format!("one of {}", protocol::LANGUAGES.join(", ")),
        ));
    }
    let (streets, lat, lon, region_name): (String, f64, f64, String) = tx.query_row(
        "SELECT v.streets, v.lat, v.lon, r.name FROM villages v JOIN regions r ON r.id = v.region_id
         WHERE v.id = ?1",
        [&device.village_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let streets: Vec<String> = serde_json::from_str(&streets)
        .map_err(|e| StoreError::Internal(format!("villages.streets holds bad JSON: {e}")))?;
    if !streets.contains(&new.street) {
        return Err(StoreError::invalid(
            field("street"),
            format!("'{}' is not a street of the kiosk's village", new.street),
        ));
    }
    let consent_at: Instant = created_at
        .parse()
        .map_err(|reason| StoreError::invalid("created_at", reason))?;
    let resident = Resident {
        region_id: device.region_id.clone(),
        name: new.name,
        phone: new.phone,
        street: format!("{} {}", new.street, house.trim()),
        village_id: device.village_id.clone(),
        lat,
        lon,
        uses_walker: walker,
        uses_wheelchair: wheelchair,
        needs_companion: false,
        language: new.language,
        consent_at,
        consent_given_to: format!("Fahrdienst {region_name}"),
        consent_purpose: CONSENT_PURPOSE.into(),
        birth_year: None,
        target_groups: Vec::new(),
    };
    let id = Uuid::new_v5(&entry_id, b"dorfpunkt kiosk resident");
    let created = records::create_in(tx, who, Some(id), &resident)?;
    Ok(created
        .record
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string())
}

/// The resident's number, assigned now if they have none.
pub fn number_of(tx: &Connection, who: &Who, resident_id: &str) -> StoreResult<ResidentNumber> {
    let (region_id, stored): (String, Option<String>) = tx.query_row(
        "SELECT region_id, kiosk_number FROM residents WHERE id = ?1",
        [resident_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let Some(number) = stored.and_then(|s| s.parse().ok()) {
        return Ok(number);
    }
    for attempt in 0u32..1000 {
        let digest = Sha256::digest(format!("{resident_id}/{attempt}"));
        let body = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let number = ResidentNumber::from_body(body);
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM residents WHERE region_id = ?1 AND kiosk_number = ?2)",
            params![region_id, number.compact()],
            |r| r.get(0),
        )?;
        if !taken {
            tx.execute(
                "UPDATE residents SET kiosk_number = ?1 WHERE id = ?2",
                params![number.compact(), resident_id],
            )?;
            logs::audit(
                tx,
                who,
                Action::Update,
                "residents",
                Some(resident_id),
                Some(&region_id),
            )?;
            return Ok(number);
        }
    }
    Err(StoreError::Internal(
        "no free resident number after 1000 tries".into(),
    ))
}

//! People: residents who ride and get counselling, caregivers (Kümmerer:innen) who book for
//! them, the consented links between the two, and staff accounts.

use rusqlite::types::Value as Sql;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{
    Instant, check_coordinates, check_email, check_language, check_name, check_phone, column_of,
};
use crate::store::records::{Cancel, Ctx, Filters, Resource};
use crate::store::{StoreError, StoreResult};

/// A resident: the least the services need to fetch and bring back a person.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resident {
    pub region_id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Street and house number; the village is `village_id`.
    pub street: String,
    pub village_id: String,
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub uses_walker: bool,
    #[serde(default)]
    pub uses_wheelchair: bool,
    #[serde(default)]
    pub needs_companion: bool,
    /// Language for tickets and reminders: de, en, uk, ar, tr.
    #[serde(default = "german")]
    pub language: String,
    /// When the resident agreed that their data is kept.
    pub consent_at: Instant,
    /// To whom the consent was given (e.g. the region's ride service).
    pub consent_given_to: String,
    /// For what (e.g. "Fahrten und Beratung").
    pub consent_purpose: String,
    /// Year of birth, for a region's age rule (the year, not the date: it is enough).
    #[serde(default)]
    pub birth_year: Option<i32>,
    /// Target groups of the region the resident was found to belong to when registered, e.g.
    /// `no_car`, `low_income`, `refugee`. Age and mobility groups follow from the fields above.
    #[serde(default)]
    pub target_groups: Vec<String>,
}

fn german() -> String {
    "de".into()
}

impl Resource for Resident {
    const KIND: &'static str = "residents";
    const NOUN: &'static str = "resident";
    const CANCEL: Cancel = Cancel::Archive;
    const BOOL_COLUMNS: &'static [&'static str] =
        &["uses_walker", "uses_wheelchair", "needs_companion"];
    const JSON_COLUMNS: &'static [&'static str] = &["target_groups"];
    const REFS: &'static [(&'static str, &'static str)] = &[("village_id", "villages")];
    const FILTERS: Filters = Filters {
        time: None,
        village: Some("village_id"),
        status: false,
    };
    const PERSONAL: bool = true;

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        check_name("street", &self.street)?;
        if let Some(phone) = &self.phone {
            check_phone("phone", phone)?;
        }
        check_coordinates("lat", self.lat, "lon", self.lon)?;
        check_language("language", &self.language)?;
        check_name("consent_given_to", &self.consent_given_to)?;
        check_name("consent_purpose", &self.consent_purpose)?;
        if self.consent_at.0 > ctx.now + chrono::Duration::minutes(5) {
            return Err(StoreError::invalid("consent_at", "lies in the future"));
        }
        if let Some(year) = self.birth_year {
            let this_year = chrono::Datelike::year(&ctx.now);
            if !(this_year - 120..=this_year).contains(&year) {
                return Err(StoreError::invalid(
                    "birth_year",
                    format!("must lie between {} and {this_year}", this_year - 120),
                ));
            }
        }
        super::places::check_labels("target_groups", &self.target_groups)?;
        Ok(())
    }
}

/// A caregiver (Kümmerer:in): a relative, neighbour or volunteer who books for others.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Caregiver {
    pub region_id: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub village_id: Option<String>,
}

impl Resource for Caregiver {
    const KIND: &'static str = "caregivers";
    const NOUN: &'static str = "caregiver";
    const CANCEL: Cancel = Cancel::Archive;
    const REFS: &'static [(&'static str, &'static str)] = &[("village_id", "villages")];
    const FILTERS: Filters = Filters {
        time: None,
        village: Some("village_id"),
        status: false,
    };
    const PERSONAL: bool = true;

    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        check_name("name", &self.name)?;
        if let Some(phone) = &self.phone {
            check_phone("phone", phone)?;
        }
        if let Some(email) = &self.email {
            check_email("email", email)?;
        }
        if self.phone.is_none() && self.email.is_none() {
            return Err(StoreError::invalid(
                "phone",
                "a caregiver needs a phone number or an e-mail address",
            ));
        }
        Ok(())
    }
}

/// A caregiver may act for a resident because the resident agreed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaregiverLink {
    pub region_id: String,
    pub caregiver_id: String,
    pub resident_id: String,
    /// When the resident agreed.
    pub consent_at: Instant,
    /// How the resident agreed: on paper, on the phone, in person or at a kiosk.
    #[serde(default)]
    pub consent_how: ConsentHow,
}

/// How a resident gave consent to a caregiver link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentHow {
    #[default]
    Paper,
    Phone,
    InPerson,
    Kiosk,
}

impl Resource for CaregiverLink {
    const KIND: &'static str = "caregiver_links";
    const NOUN: &'static str = "caregiver link";
    const CANCEL: Cancel = Cancel::Archive;
    const REFS: &'static [(&'static str, &'static str)] =
        &[("caregiver_id", "caregivers"), ("resident_id", "residents")];
    const PERSONAL: bool = true;
    const IMMUTABLE: &'static [&'static str] = &["caregiver_id", "resident_id"];
    const DERIVED: &'static [(&'static str, &'static str)] =
        &[("consent_recorded_by", "who recorded the resident's consent")];

    fn derive(&self, ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        if ctx.previous.is_some() {
            return Ok(Vec::new());
        }
        Ok(vec![(
            "consent_recorded_by",
            Sql::Text(ctx.who.actor.clone()),
        )])
    }

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        if self.consent_at.0 > ctx.now + chrono::Duration::minutes(5) {
            return Err(StoreError::invalid("consent_at", "lies in the future"));
        }
        Ok(())
    }
}

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dispatcher,
    HealthWorker,
    Driver,
    Caregiver,
}

/// A person who logs in to the hub. Passwords are set through their own path, never here.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The region the account works in; none for hub-wide administrators.
    #[serde(default)]
    pub region_id: Option<String>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// For caregiver accounts: the caregiver record this login belongs to.
    #[serde(default)]
    pub caregiver_id: Option<String>,
}

impl Resource for Account {
    const KIND: &'static str = "accounts";
    const NOUN: &'static str = "account";
    const CANCEL: Cancel = Cancel::Archive;
    const REFS: &'static [(&'static str, &'static str)] = &[("caregiver_id", "caregivers")];
    const PERSONAL: bool = true;
    const IMMUTABLE: &'static [&'static str] = &["username"];

    fn validate(&self, ctx: &Ctx<'_>) -> StoreResult<()> {
        let ok = (3..=40).contains(&self.username.len())
            && self
                .username
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok {
            return Err(StoreError::invalid(
                "username",
                "3 to 40 characters of a-z, 0-9, . _ -",
            ));
        }
        check_name("display_name", &self.display_name)?;
        if self.role != Role::Admin && self.region_id.is_none() {
            return Err(StoreError::invalid(
                "region_id",
                "only administrators work across regions",
            ));
        }
        match (&self.role, &self.caregiver_id) {
            (Role::Caregiver, None) => {
                return Err(StoreError::invalid(
                    "caregiver_id",
                    "a caregiver account names its caregiver",
                ));
            }
            (Role::Caregiver, Some(id)) => {
                let theirs: Option<String> = column_of(ctx.tx, "caregivers", "region_id", id)?;
                if theirs.as_deref() != self.region_id.as_deref() {
                    return Err(StoreError::invalid(
                        "caregiver_id",
                        "belongs to another region",
                    ));
                }
            }
            (_, Some(_)) => {
                return Err(StoreError::invalid(
                    "caregiver_id",
                    "only caregiver accounts name a caregiver",
                ));
            }
            (_, None) => {}
        }
        Ok(())
    }
}

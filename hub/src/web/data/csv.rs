//! CSV export of a kind of region data in the columns the import reads, so an export imported
//! into another hub (or the same one, emptied) makes the same records with the same ids.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use super::kinds::{Kind, hours_text};
use crate::store::logs::{self, Action, Who};
use crate::store::records::ListQuery;
use crate::store::{StoreError, StoreResult};

/// The columns written per kind: the import's, in a readable order, `id` first.
pub fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Villages => &["id", "name", "municipality", "lat", "lon", "streets"],
        Kind::Stops => &["id", "village", "name", "lat", "lon", "step_free"],
        Kind::Destinations => &[
            "id",
            "name",
            "category",
            "street",
            "postcode",
            "city",
            "lat",
            "lon",
            "phone",
            "opening_hours",
            "step_free",
            "helps_with",
        ],
        Kind::Vehicles => &[
            "id",
            "name",
            "seats",
            "wheelchair_places",
            "depot_name",
            "depot_lat",
            "depot_lon",
        ],
        Kind::Shifts => &[
            "id",
            "vehicle",
            "driver_name",
            "starts_at",
            "ends_at",
            "break_after",
            "break_minutes",
        ],
        Kind::Residents => &[
            "id",
            "name",
            "street",
            "village",
            "lat",
            "lon",
            "phone",
            "uses_walker",
            "uses_wheelchair",
            "needs_companion",
            "language",
            "consent_at",
            "consent_given_to",
            "consent_purpose",
        ],
        Kind::Caregivers => &["id", "name", "phone", "email", "village"],
        Kind::CaregiverLinks => &["id", "caregiver", "resident", "consent_at", "consent_how"],
        Kind::Regions => &[],
    }
}

/// How a row names the record a column refers to: the name where it is unique among the live
/// records of the region (readable, and what people write), else the id (the import takes both).
fn reference_names(
    conn: &Connection,
    table: &str,
    region_id: &str,
) -> StoreResult<HashMap<String, String>> {
    let sql = format!(
        "SELECT id, name, (SELECT count(*) FROM {table} o WHERE o.region_id = t.region_id
                           AND o.name = t.name AND o.archived_at IS NULL)
         FROM {table} t WHERE region_id = ?1 AND archived_at IS NULL"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([region_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut names = HashMap::new();
    for row in rows {
        let (id, name, same) = row?;
        let shown = if same == 1 { name } else { id.clone() };
        names.insert(id, shown);
    }
    Ok(names)
}

/// One cell of a record.
fn cell(record: &Value, column: &str, refs: &HashMap<String, String>) -> String {
    let value = |name: &str| record.get(name).filter(|v| !v.is_null());
    let reference = |name: &str| {
        value(name)
            .and_then(Value::as_str)
            .map(|id| refs.get(id).cloned().unwrap_or_else(|| id.to_string()))
            .unwrap_or_default()
    };
    match column {
        "village" => reference("village_id"),
        "vehicle" => reference("vehicle_id"),
        "caregiver" => reference("caregiver_id"),
        "resident" => reference("resident_id"),
        "streets" => join(value(column), "|"),
        "helps_with" => join(value(column), ","),
        "opening_hours" => value(column).map(hours_text).unwrap_or_default(),
        _ => match value(column) {
            None => String::new(),
            Some(Value::Bool(b)) => if *b { "ja" } else { "nein" }.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        },
    }
}

fn join(list: Option<&Value>, separator: &str) -> String {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(separator)
        })
        .unwrap_or_default()
}

/// The names of the records a kind's rows refer to, by id (ids are UUIDs, so the tables'
/// names share one map). Reading people's names for a link's rows is audited as their list.
fn references_of(
    conn: &Connection,
    who: &Who,
    kind: Kind,
    region_id: &str,
) -> StoreResult<HashMap<String, String>> {
    let tables: &[&str] = match kind {
        Kind::Stops | Kind::Residents | Kind::Caregivers => &["villages"],
        Kind::Shifts => &["vehicles"],
        Kind::CaregiverLinks => &["caregivers", "residents"],
        _ => &[],
    };
    let mut refs = HashMap::new();
    for table in tables {
        refs.extend(reference_names(conn, table, region_id)?);
        if matches!(*table, "caregivers" | "residents") {
            logs::audit(conn, who, Action::List, table, None, Some(region_id))?;
        }
    }
    Ok(refs)
}

/// The live records of a kind in a region as CSV. Personal kinds are listed through the store
/// (which logs the list) and get an `export` line in the audit log besides.
pub fn export(
    conn: &mut Connection,
    who: &Who,
    kind: Kind,
    region_id: &str,
) -> StoreResult<Vec<u8>> {
    let refs = references_of(conn, who, kind, region_id)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let columns = columns(kind);
    let internal = |e: csv::Error| StoreError::Internal(format!("writing CSV: {e}"));
    writer.write_record(columns).map_err(internal)?;
    let mut query = ListQuery {
        region_id: Some(region_id.to_string()),
        status: kind.by_status().then(|| "planned".to_string()),
        limit: 500,
        ..ListQuery::default()
    };
    loop {
        let page = super::list(conn, who, kind, &query)?;
        for record in &page.items {
            let row: Vec<String> = columns.iter().map(|c| cell(record, c, &refs)).collect();
            writer.write_record(&row).map_err(internal)?;
        }
        match page.next_cursor.and_then(|c| c.parse().ok()) {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    if kind.personal() {
        logs::audit(
            conn,
            who,
            Action::Export,
            kind.slug(),
            None,
            Some(region_id),
        )?;
    }
    writer
        .into_inner()
        .map_err(|e| StoreError::Internal(format!("writing CSV: {e}")))
}

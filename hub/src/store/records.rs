//! Generic record operations: create (idempotent by client-made id), read, list, update, cancel.
//!
//! A resource is an input struct whose serialized field names equal its table's column names.
//! The operations here move values between JSON and SQLite, check references and regions, call
//! the resource's own validation, and write the audit and change logs in the same transaction, so
//! a request either does all of it or nothing.

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::fields::field_names;
use super::logs::{self, Action, Who};
use super::{StoreError, StoreResult, now_text};

/// How cancelling a record of a resource works. Nothing is deleted: history and references stay.
#[derive(Clone, Copy, Debug)]
pub enum Cancel {
    /// Sets `archived_at`; archived records are left out of lists unless asked for.
    Archive,
    /// Sets the `status` column to `value` and, where the table has one, the reason column.
    Status {
        value: &'static str,
        reason_column: Option<&'static str>,
    },
}

/// Which list filters a resource supports, as SQL expressions over its columns.
#[derive(Clone, Copy, Debug)]
pub struct Filters {
    /// The instant a `from`/`to` date range applies to.
    pub time: Option<&'static str>,
    /// The village a `village` filter applies to.
    pub village: Option<&'static str>,
    /// Whether the table has a `status` column to filter on.
    pub status: bool,
}

impl Filters {
    pub const NONE: Filters = Filters {
        time: None,
        village: None,
        status: false,
    };
}

/// A kind of record the API serves. Implemented by each domain input struct.
pub trait Resource: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Table name and URL segment, plural (`villages`).
    const KIND: &'static str;
    /// Singular noun for messages (`village`).
    const NOUN: &'static str;
    /// How the API's cancel works for this resource.
    const CANCEL: Cancel;
    /// Columns holding booleans as 0/1.
    const BOOL_COLUMNS: &'static [&'static str] = &[];
    /// Columns holding JSON text.
    const JSON_COLUMNS: &'static [&'static str] = &[];
    /// Fields that name another record: (field, table of the record).
    const REFS: &'static [(&'static str, &'static str)] = &[];
    /// Supported list filters.
    const FILTERS: Filters = Filters::NONE;
    /// Kiosks show these records: every change goes to the region's change log.
    const SYNCED: bool = false;
    /// Records hold personal data: reads are audited too.
    const PERSONAL: bool = false;
    /// Fields that may not change after creation (besides `region_id`).
    const IMMUTABLE: &'static [&'static str] = &[];
    /// Columns the hub fills in itself, with a description for the API document.
    const DERIVED: &'static [(&'static str, &'static str)] = &[];

    /// Checks what the type system cannot: ranges, formats and rules across records.
    fn validate(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        Ok(())
    }

    /// Values for the [`Resource::DERIVED`] columns.
    fn derive(&self, _ctx: &Ctx<'_>) -> StoreResult<Vec<(&'static str, Sql)>> {
        Ok(Vec::new())
    }

    /// Runs after the record was written, in the same transaction and before the answer is
    /// kept for repeats, so what it changes is part of the answer (booking a ride plans it here).
    fn after_write(&self, _ctx: &Ctx<'_>) -> StoreResult<()> {
        Ok(())
    }

    /// Runs after the record was cancelled, in the same transaction; `ctx.previous` is the
    /// record before the cancel.
    fn after_cancel(_ctx: &Ctx<'_>) -> StoreResult<()> {
        Ok(())
    }
}

/// What a resource's validation and derivation may look at.
pub struct Ctx<'a> {
    /// The record's id.
    pub id: &'a str,
    /// The connection inside the open write transaction: rules across records read through it.
    pub tx: &'a Connection,
    /// The stored record before an update; `None` on create.
    pub previous: Option<&'a Value>,
    /// Who acts.
    pub who: &'a Who,
    /// The current instant; passed in so rules about "the past" are testable.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Ctx<'_> {
    /// Whether `field` differs from the stored record (always true on create).
    pub fn changed(&self, field: &str, new: &Value) -> bool {
        self.previous.is_none_or(|p| p.get(field) != Some(new))
    }
}

/// The answer to a create: the record, and whether it was made by an earlier identical request.
#[derive(Debug)]
pub struct Created {
    pub record: Value,
    pub replayed: bool,
}

/// List parameters after parsing; instants in stored form.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub region_id: Option<String>,
    pub village_id: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub include_archived: bool,
    pub limit: u32,
    /// Continue after this row (the `next_cursor` of the previous page).
    pub after: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page {
    pub items: Vec<Value>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Longest text accepted in any field; a name or an address is far shorter.
pub const MAX_TEXT_CHARS: usize = 500;

/// Creates a record with the client-made `id` (or a fresh one). Repeating the same create returns
/// the first answer and writes nothing; the same id with other content is a conflict.
pub fn create<R: Resource>(
    conn: &mut Connection,
    who: &Who,
    id: Option<Uuid>,
    input: &R,
) -> StoreResult<Created> {
    let tx = conn.transaction()?;
    let created = create_in(&tx, who, id, input)?;
    tx.commit()?;
    Ok(created)
}

/// [`create`] inside a transaction the caller holds (an import writes many records in one).
pub fn create_in<R: Resource>(
    tx: &Connection,
    who: &Who,
    id: Option<Uuid>,
    input: &R,
) -> StoreResult<Created> {
    let id = id.unwrap_or_else(Uuid::now_v7).to_string();
    let fields = to_object(input)?;
    let request_hash = hex::encode(Sha256::digest(Value::Object(fields.clone()).to_string()));

    let earlier: Option<(String, String)> = tx
        .query_row(
            "SELECT request_hash, response FROM idempotent_creates WHERE kind = ?1 AND id = ?2",
            [R::KIND, &id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((hash, response)) = earlier {
        if hash != request_hash && !repeat_from_before_upgrade::<R>(tx, &id, &fields, &response)? {
            return Err(StoreError::Conflict(format!(
                "{} {id} was already created with other content; use a new id or update it",
                R::NOUN
            )));
        }
        let record = serde_json::from_str(&response)
            .map_err(|e| StoreError::Internal(format!("stored answer unreadable: {e}")))?;
        return Ok(Created {
            record,
            replayed: true,
        });
    }
    if exists(tx, R::KIND, &id)? {
        return Err(StoreError::Conflict(format!(
            "{} {id} exists already",
            R::NOUN
        )));
    }

    check_texts(&Value::Object(fields.clone()), "")?;
    check_refs::<R>(tx, &fields, region_of::<R>(&id, &fields).as_deref())?;
    let ctx = Ctx {
        id: &id,
        tx,
        previous: None,
        who,
        now: chrono::Utc::now(),
    };
    input.validate(&ctx)?;
    let derived = input.derive(&ctx)?;

    let now = now_text();
    let mut columns: Vec<&str> = vec!["id", "created_at", "updated_at"];
    let mut values: Vec<Sql> = vec![
        Sql::Text(id.clone()),
        Sql::Text(now.clone()),
        Sql::Text(now),
    ];
    for (name, value) in &fields {
        columns.push(name);
        values.push(to_sql(value));
    }
    for (name, value) in derived {
        columns.push(name);
        values.push(value);
    }
    let placeholders = vec!["?"; columns.len()].join(", ");
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({placeholders})",
        R::KIND,
        columns.join(", ")
    );
    tx.execute(&sql, params_from_iter(values))
        .map_err(constraint_to_conflict::<R>)?;
    input.after_write(&ctx)?;

    let record = read_row::<R>(tx, &id)?;
    tx.execute(
        "INSERT INTO idempotent_creates (kind, id, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![R::KIND, id, request_hash, record.to_string(), now_text()],
    )?;
    log_write::<R>(tx, who, Action::Create, &id, &record)?;
    Ok(Created {
        record,
        replayed: false,
    })
}

/// Whether `fields` repeat a create that an older hub answered, before a migration added fields
/// to the resource: the old request hash covered fewer fields, so it cannot match. It is the same
/// content when every field the stored answer has is equal, and every field it lacks equals the
/// row's value (the migration's default, unless the record was changed since). Anything else is
/// other content.
fn repeat_from_before_upgrade<R: Resource>(
    tx: &Connection,
    id: &str,
    fields: &Map<String, Value>,
    response: &str,
) -> StoreResult<bool> {
    let Ok(Value::Object(answer)) = serde_json::from_str::<Value>(response) else {
        return Ok(false);
    };
    if fields.keys().all(|name| answer.contains_key(name)) {
        return Ok(false);
    }
    let Value::Object(row) = read_row::<R>(tx, id)? else {
        return Ok(false);
    };
    Ok(fields.iter().all(|(name, value)| match answer.get(name) {
        Some(answered) => answered == value,
        None => row.get(name) == Some(value),
    }))
}

/// Reads one record.
pub fn get<R: Resource>(conn: &mut Connection, who: &Who, id: &str) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let record = read_row::<R>(&tx, id)?;
    if R::PERSONAL {
        logs::audit(
            &tx,
            who,
            Action::Read,
            R::KIND,
            Some(id),
            region_text(&record),
        )?;
    }
    tx.commit()?;
    Ok(record)
}

/// Lists records in creation order, a page at a time.
pub fn list<R: Resource>(conn: &mut Connection, who: &Who, query: &ListQuery) -> StoreResult<Page> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    let bind = |clause: &str, value: Sql, clauses: &mut Vec<String>, args: &mut Vec<Sql>| {
        args.push(value);
        clauses.push(clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(region) = &query.region_id {
        let column = if R::KIND == "regions" {
            "id"
        } else {
            "region_id"
        };
        bind(
            &format!("{column} = ?"),
            Sql::Text(region.clone()),
            &mut clauses,
            &mut args,
        );
    }
    if let Some(village) = &query.village_id {
        let column = R::FILTERS.village.ok_or_else(|| {
            StoreError::invalid("village", format!("{} have no village", R::KIND))
        })?;
        bind(
            &format!("{column} = ?"),
            Sql::Text(village.clone()),
            &mut clauses,
            &mut args,
        );
    }
    if let Some(status) = &query.status {
        if !R::FILTERS.status {
            return Err(StoreError::invalid(
                "status",
                format!("{} have no status", R::KIND),
            ));
        }
        bind(
            "status = ?",
            Sql::Text(status.clone()),
            &mut clauses,
            &mut args,
        );
    }
    for (bound, op, name) in [(&query.from, ">=", "from"), (&query.to, "<", "to")] {
        if let Some(instant) = bound {
            let column = R::FILTERS.time.ok_or_else(|| {
                StoreError::invalid(name, format!("{} have no date to filter by", R::KIND))
            })?;
            bind(
                &format!("{column} {op} ?"),
                Sql::Text(instant.clone()),
                &mut clauses,
                &mut args,
            );
        }
    }
    if matches!(R::CANCEL, Cancel::Archive) && !query.include_archived {
        clauses.push("archived_at IS NULL".into());
    }
    if let Some(after) = query.after {
        bind("rowid > ?", Sql::Integer(after), &mut clauses, &mut args);
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let limit = query.limit.clamp(1, 500);
    let sql = format!(
        "SELECT rowid, * FROM {} {filter} ORDER BY rowid LIMIT {}",
        R::KIND,
        limit + 1
    );

    let tx = conn.transaction()?;
    let mut rows_read: Vec<(i64, Value)> = Vec::new();
    {
        let mut stmt = tx.prepare(&sql)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            rows_read.push((
                row.get::<_, i64>(0)?,
                row_to_json::<R>(row, &names[1..], 1)?,
            ));
        }
    }
    if R::PERSONAL {
        logs::audit(
            &tx,
            who,
            Action::List,
            R::KIND,
            None,
            query.region_id.as_deref(),
        )?;
    }
    tx.commit()?;
    // One row more than asked for was read to learn whether another page follows.
    let more = rows_read.len() > limit as usize;
    rows_read.truncate(limit as usize);
    let next_cursor = if more {
        rows_read.last().map(|(rowid, _)| rowid.to_string())
    } else {
        None
    };
    let items = rows_read.into_iter().map(|(_, item)| item).collect();
    Ok(Page { items, next_cursor })
}

/// Changes some fields of a record. The patch is merged over the stored input and the result is
/// validated as a whole, exactly like a create.
pub fn update<R: Resource>(
    conn: &mut Connection,
    who: &Who,
    id: &str,
    patch: Map<String, Value>,
) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let record = update_in::<R>(&tx, who, id, patch)?;
    tx.commit()?;
    Ok(record)
}

/// [`update`] inside the caller's transaction (or savepoint), which commits or rolls back.
pub fn update_in<R: Resource>(
    tx: &Connection,
    who: &Who,
    id: &str,
    patch: Map<String, Value>,
) -> StoreResult<Value> {
    let current = read_row::<R>(tx, id)?;
    let names = field_names::<R>();
    let mut merged = Map::new();
    for name in names {
        if let Some(value) = current.get(*name) {
            merged.insert((*name).to_string(), value.clone());
        }
    }
    for (key, value) in patch {
        if !names.contains(&key.as_str()) {
            let reason = if current.get(&key).is_some() {
                "is set by the hub and cannot be changed"
            } else {
                "is not a field of this record"
            };
            return Err(StoreError::invalid(key, reason));
        }
        if (key == "region_id" || R::IMMUTABLE.contains(&key.as_str()))
            && merged.get(&key) != Some(&value)
        {
            return Err(StoreError::invalid(
                key,
                "cannot be changed; cancel and create anew",
            ));
        }
        merged.insert(key, value);
    }
    let input: R = from_object(merged)?;
    let fields = to_object(&input)?;
    check_texts(&Value::Object(fields.clone()), "")?;
    check_refs::<R>(tx, &fields, region_of::<R>(id, &fields).as_deref())?;
    let ctx = Ctx {
        id,
        tx,
        previous: Some(&current),
        who,
        now: chrono::Utc::now(),
    };
    input.validate(&ctx)?;
    let derived = input.derive(&ctx)?;

    let mut sets: Vec<String> = Vec::new();
    let mut values: Vec<Sql> = Vec::new();
    for (name, value) in &fields {
        values.push(to_sql(value));
        sets.push(format!("{name} = ?{}", values.len()));
    }
    for (name, value) in derived {
        values.push(value);
        sets.push(format!("{name} = ?{}", values.len()));
    }
    values.push(Sql::Text(now_text()));
    sets.push(format!("updated_at = ?{}", values.len()));
    values.push(Sql::Text(id.to_string()));
    let sql = format!(
        "UPDATE {} SET {}, version = version + 1 WHERE id = ?{}",
        R::KIND,
        sets.join(", "),
        values.len()
    );
    tx.execute(&sql, params_from_iter(values))
        .map_err(constraint_to_conflict::<R>)?;
    input.after_write(&ctx)?;
    let record = read_row::<R>(tx, id)?;
    log_write::<R>(tx, who, Action::Update, id, &record)?;
    Ok(record)
}

/// Cancels a record (see [`Cancel`]). Cancelling twice is harmless and changes nothing.
pub fn cancel<R: Resource>(
    conn: &mut Connection,
    who: &Who,
    id: &str,
    reason: Option<&str>,
) -> StoreResult<Value> {
    let tx = conn.transaction()?;
    let record = cancel_in::<R>(&tx, who, id, reason)?;
    tx.commit()?;
    Ok(record)
}

/// [`cancel`] inside a transaction the caller holds (the kiosk sync cancels by booking code).
pub fn cancel_in<R: Resource>(
    tx: &Connection,
    who: &Who,
    id: &str,
    reason: Option<&str>,
) -> StoreResult<Value> {
    if let Some(reason) = reason
        && reason.chars().count() > MAX_TEXT_CHARS
    {
        return Err(StoreError::invalid(
            "reason",
            format!("longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    let current = read_row::<R>(tx, id)?;
    let changed = match R::CANCEL {
        Cancel::Archive => {
            if current.get("archived_at").is_some_and(|v| !v.is_null()) {
                false
            } else {
                let now = now_text();
                tx.execute(
                    &format!(
                        "UPDATE {} SET archived_at = ?1, updated_at = ?1, version = version + 1 WHERE id = ?2",
                        R::KIND
                    ),
                    [&now, id],
                )?;
                true
            }
        }
        Cancel::Status {
            value,
            reason_column,
        } => {
            if current.get("status").and_then(Value::as_str) == Some(value) {
                false
            } else {
                let reason_set = reason_column
                    .map(|c| format!(", {c} = ?3"))
                    .unwrap_or_default();
                tx.execute(
                    &format!(
                        "UPDATE {} SET status = ?1, updated_at = ?2, version = version + 1{reason_set} WHERE id = ?4",
                        R::KIND
                    ),
                    rusqlite::params![value, now_text(), reason, id],
                )?;
                true
            }
        }
    };
    if changed {
        R::after_cancel(&Ctx {
            id,
            tx,
            previous: Some(&current),
            who,
            now: chrono::Utc::now(),
        })?;
    }
    let record = read_row::<R>(tx, id)?;
    if changed {
        log_write::<R>(tx, who, Action::Cancel, id, &record)?;
    }
    Ok(record)
}

/// Whether a row with this id exists in `table`.
pub fn exists(conn: &Connection, table: &str, id: &str) -> StoreResult<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], |_| Ok(())).optional()?.is_some())
}

/// Reads one record as JSON, or `NotFound`.
pub fn read_row<R: Resource>(conn: &Connection, id: &str) -> StoreResult<Value> {
    let sql = format!("SELECT * FROM {} WHERE id = ?1", R::KIND);
    let mut stmt = conn.prepare_cached(&sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => row_to_json::<R>(row, &names, 0),
        None => Err(StoreError::NotFound {
            kind: R::NOUN,
            id: id.to_string(),
        }),
    }
}

/// Turns a typed input into a JSON object of column values.
fn to_object<R: Serialize>(input: &R) -> StoreResult<Map<String, Value>> {
    match serde_json::to_value(input) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Internal(
            "a resource must serialize to an object".into(),
        )),
        Err(e) => Err(StoreError::Internal(format!("serializing input: {e}"))),
    }
}

/// Parses a JSON object into a resource's input, naming the offending field on failure.
pub fn from_object<R: DeserializeOwned>(map: Map<String, Value>) -> StoreResult<R> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        StoreError::Invalid {
            field: field_of(&path, &message),
            reason: message,
        }
    })
}

/// serde reports a missing or unknown field at the path of the object that lacks or has it; the
/// field's own name is in the message between backticks.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (named, path) {
        (Some(name), "." | "") => name.to_string(),
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_string()
        }
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, path) => path.to_string(),
    }
}

fn to_sql(value: &Value) -> Sql {
    match value {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        Value::Array(_) | Value::Object(_) => Sql::Text(value.to_string()),
    }
}

fn row_to_json<R: Resource>(
    row: &rusqlite::Row<'_>,
    names: &[String],
    offset: usize,
) -> StoreResult<Value> {
    let mut map = Map::new();
    for (i, name) in names.iter().enumerate() {
        let value = match row.get_ref(i + offset)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) if R::BOOL_COLUMNS.contains(&name.as_str()) => Value::Bool(n != 0),
            ValueRef::Integer(n) => Value::from(n),
            ValueRef::Real(f) => Value::from(f),
            ValueRef::Text(t) => {
                let text = String::from_utf8_lossy(t);
                if R::JSON_COLUMNS.contains(&name.as_str()) {
                    serde_json::from_str(&text).map_err(|e| {
                        StoreError::Internal(format!("{}.{name} holds bad JSON: {e}", R::KIND))
                    })?
                } else {
                    Value::String(text.into_owned())
                }
            }
            ValueRef::Blob(_) => {
                return Err(StoreError::Internal(format!(
                    "{}.{name} is a blob",
                    R::KIND
                )));
            }
        };
        map.insert(name.clone(), value);
    }
    Ok(Value::Object(map))
}

/// The region a record belongs to: its own id for a region, else its `region_id`.
fn region_of<R: Resource>(id: &str, fields: &Map<String, Value>) -> Option<String> {
    if R::KIND == "regions" {
        return Some(id.to_string());
    }
    fields
        .get("region_id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn region_text(record: &Value) -> Option<&str> {
    record.get("region_id").and_then(Value::as_str)
}

/// Every referenced record must exist, be live, and belong to the same region.
fn check_refs<R: Resource>(
    tx: &Connection,
    fields: &Map<String, Value>,
    region: Option<&str>,
) -> StoreResult<()> {
    let mut refs: Vec<(&str, &str)> = R::REFS.to_vec();
    if R::KIND != "regions" && fields.contains_key("region_id") {
        refs.insert(0, ("region_id", "regions"));
    }
    for (field, table) in refs {
        let Some(target) = fields.get(field).and_then(Value::as_str) else {
            continue;
        };
        let sql = format!("SELECT * FROM {table} WHERE id = ?1");
        let mut stmt = tx.prepare_cached(&sql)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = stmt.query([target])?;
        let Some(row) = rows.next()? else {
            return Err(StoreError::invalid(
                field,
                format!("no {} with id {target}", singular(table)),
            ));
        };
        let text = |column: &str| -> StoreResult<Option<String>> {
            match names.iter().position(|n| n == column) {
                Some(i) => Ok(row.get::<_, Option<String>>(i)?),
                None => Ok(None),
            }
        };
        if text("archived_at")?.is_some() {
            return Err(StoreError::invalid(
                field,
                format!("{} {target} is archived", singular(table)),
            ));
        }
        if matches!(text("status")?.as_deref(), Some("cancelled" | "revoked")) {
            return Err(StoreError::invalid(
                field,
                format!("{} {target} is cancelled", singular(table)),
            ));
        }
        if table != "regions"
            && let (Some(theirs), Some(ours)) = (text("region_id")?, region)
            && theirs != ours
        {
            return Err(StoreError::invalid(
                field,
                format!("{} {target} belongs to another region", singular(table)),
            ));
        }
    }
    Ok(())
}

fn singular(table: &str) -> String {
    match table {
        "caregiver_links" => "caregiver link".into(),
        "consultation_hours" => "consultation hours entry".into(),
        "imbus_visits" => "IMBUS visit".into(),
        "ride_requests" => "ride request".into(),
        "route_stops" => "route stop".into(),
        other => other.trim_end_matches('s').replace('_', " "),
    }
}

/// Refuses overlong texts anywhere in the input: a name or address never needs more.
fn check_texts(value: &Value, path: &str) -> StoreResult<()> {
    match value {
        Value::String(s) if s.chars().count() > MAX_TEXT_CHARS => Err(StoreError::invalid(
            path.trim_start_matches('.'),
            format!("longer than {MAX_TEXT_CHARS} characters"),
        )),
        Value::String(s) if s.chars().any(|c| c.is_control() && c != '\n') => Err(
            StoreError::invalid(path.trim_start_matches('.'), "contains control characters"),
        ),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_texts(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_texts(v, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

/// A unique index refusing a write is a conflict with stored state, not a server failure.
fn constraint_to_conflict<R: Resource>(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(err, msg)
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            let msg = msg.clone().unwrap_or_default();
            if msg.contains("UNIQUE") {
                StoreError::Conflict(format!(
                    "this {} clashes with an existing one ({msg})",
                    R::NOUN
                ))
            } else {
                StoreError::invalid("", format!("refused by the database: {msg}"))
            }
        }
        _ => StoreError::Db(e),
    }
}

/// Audit every write; feed kiosk-visible changes to the change log.
fn log_write<R: Resource>(
    tx: &Connection,
    who: &Who,
    action: Action,
    id: &str,
    record: &Value,
) -> StoreResult<()> {
    let region = if R::KIND == "regions" {
        Some(id)
    } else {
        region_text(record)
    };
    logs::audit(tx, who, action, R::KIND, Some(id), region)?;
    if R::SYNCED
        && let Some(region) = region
    {
        logs::record_change(tx, region, R::KIND, id, action == Action::Cancel, record)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_the_field() {
        assert_eq!(field_of(".", "missing field `name`"), "name");
        assert_eq!(
            field_of("opening_hours[0]", "unknown field `x`, expected one of"),
            "opening_hours[0].x"
        );
        assert_eq!(
            field_of("colour", "unknown field `colour`, expected one of"),
            "colour"
        );
        assert_eq!(
            field_of("lat", "invalid type: string \"a\", expected f64"),
            "lat"
        );
    }

    #[test]
    fn long_and_control_texts_are_refused() {
        let ok = serde_json::json!({"name": "Schöppenstedt", "note": "zwei\nZeilen"});
        assert!(check_texts(&ok, "").is_ok());
        let long = serde_json::json!({"list": ["x".repeat(MAX_TEXT_CHARS + 1)]});
        let err = check_texts(&long, "").unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid { ref field, .. } if field == "list[0]"),
            "{err:?}"
        );
        let control = serde_json::json!({"name": "a\u{0}b"});
        assert!(check_texts(&control, "").is_err());
    }
}

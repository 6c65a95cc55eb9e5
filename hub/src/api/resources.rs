//! The generic HTTP surface of every resource: create, read, list, update and cancel, and the
//! OpenAPI description of exactly those routes, generated from the same registration.

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::body::{JsonObject, query_pairs};
use super::error::ApiError;
use crate::domain::Role;
use crate::domain::common::local_to_instant;
use crate::store::records::{self, Filters, ListQuery, Resource};

/// Who may use the generic resource routes. Finer rules (caregivers see their people only,
/// drivers their shifts) arrive with accounts; until then the API is for administrators.
const STAFF: &[Role] = &[Role::Admin];

/// The URL segment of a resource: its table name with hyphens.
pub fn segment<R: Resource>() -> String {
    R::KIND.replace('_', "-")
}

/// Adds the five routes of `R` to `router`.
pub fn routes<R: Resource + ToSchema>(router: Router<AppState>) -> Router<AppState> {
    let base = format!("/api/v1/{}", segment::<R>());
    router.route(&base, get(list::<R>).post(create::<R>)).route(
        &format!("{base}/{{id}}"),
        get(read::<R>).patch(update::<R>).delete(cancel::<R>),
    )
}

async fn create<R: Resource>(
    State(app): State<AppState>,
    caller: Caller,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(STAFF)?;
    let id = match body.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            Uuid::parse_str(&s)
                .map_err(|_| ApiError::invalid("id", format!("'{s}' is not a UUID")))?,
        ),
        Some(_) => return Err(ApiError::invalid("id", "must be a UUID string")),
    };
    let input: R = records::from_object(body)?;
    let who = caller.who();
    let created = app
        .store
        .run(move |conn| records::create(conn, &who, id, &input))
        .await?;
    let id = created
        .record
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(created.record)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/{}/{id}", segment::<R>())) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn read<R: Resource>(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(STAFF)?;
    let who = caller.who();
    Ok(Json(
        app.store
            .run(move |conn| records::get::<R>(conn, &who, &id))
            .await?,
    ))
}

async fn list<R: Resource>(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<records::Page>, ApiError> {
    caller.require(STAFF)?;
    let query = parse_list_query(raw.as_deref(), &R::FILTERS)?;
    let who = caller.who();
    Ok(Json(
        app.store
            .run(move |conn| records::list::<R>(conn, &who, &query))
            .await?,
    ))
}

async fn update<R: Resource>(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(patch): JsonObject,
) -> Result<Json<Value>, ApiError> {
    caller.require(STAFF)?;
    let who = caller.who();
    Ok(Json(
        app.store
            .run(move |conn| records::update::<R>(conn, &who, &id, patch))
            .await?,
    ))
}

async fn cancel<R: Resource>(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(STAFF)?;
    let mut reason = None;
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "reason" => reason = Some(value),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter '{other}'"
                )));
            }
        }
    }
    let who = caller.who();
    Ok(Json(
        app.store
            .run(move |conn| records::cancel::<R>(conn, &who, &id, reason.as_deref()))
            .await?,
    ))
}

/// Default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Parses list parameters; names the parameter that is wrong.
pub fn parse_list_query(raw: Option<&str>, filters: &Filters) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery {
        limit: DEFAULT_LIMIT,
        ..ListQuery::default()
    };
    for (key, value) in query_pairs(raw)? {
        match key.as_str() {
            "region" => query.region_id = Some(value),
            "village" if filters.village.is_some() => query.village_id = Some(value),
            "status" if filters.status => query.status = Some(value),
            "from" if filters.time.is_some() => query.from = Some(instant_param("from", &value)?),
            "to" if filters.time.is_some() => query.to = Some(instant_param("to", &value)?),
            "include_archived" => {
                query.include_archived = value
                    .parse()
                    .map_err(|_| ApiError::invalid("include_archived", "must be true or false"))?;
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "limit",
                            format!("must be a number from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "cursor" => {
                query.after = Some(value.parse().map_err(|_| {
                    ApiError::invalid("cursor", "use next_cursor of the previous page")
                })?);
            }
            "village" | "status" | "from" | "to" => {
                return Err(ApiError::invalid(
                    key.as_str(),
                    "this list cannot be filtered by it",
                ));
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    if let (Some(from), Some(to)) = (&query.from, &query.to)
        && to < from
    {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    Ok(query)
}

/// `from`/`to` take an RFC 3339 instant or a date, meaning midnight in Berlin.
fn instant_param(name: &str, value: &str) -> Result<String, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return local_to_instant(chrono_tz::Europe::Berlin, date, chrono::NaiveTime::MIN)
            .map(|i| i.text())
            .map_err(|e| ApiError::invalid(name, e));
    }
    value
        .parse::<crate::domain::common::Instant>()
        .map(|i| i.text())
        .map_err(|e| ApiError::invalid(name, e))
}

/// The OpenAPI paths and schemas of `R`'s routes.
pub fn describe<R: Resource + ToSchema>(doc: &mut utoipa::openapi::OpenApi) {
    let name = R::name().to_string();
    let record_name = format!("{name}Record");
    let seg = segment::<R>();
    let tag = seg.clone();

    let mut schemas: Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)> =
        vec![(name.clone(), R::schema())];
    R::schemas(&mut schemas);
    let mut meta = ObjectBuilder::new()
        .property(
            "id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(uuid_format())),
        )
        .property("version", ObjectBuilder::new().schema_type(Type::Integer))
        .property("created_at", ObjectBuilder::new().schema_type(Type::String))
        .property("updated_at", ObjectBuilder::new().schema_type(Type::String))
        .required("id")
        .required("version");
    for (field, description) in R::DERIVED {
        meta = meta.property(*field, ObjectBuilder::new().description(Some(*description)));
    }
    let record = AllOfBuilder::new()
        .item(Ref::from_schema_name(&name))
        .item(meta);
    schemas.push((record_name.clone(), record.into()));
    let components = doc.components.get_or_insert_with(Default::default);
    for (schema_name, schema) in schemas {
        components.schemas.insert(schema_name, schema);
    }

    let json_of = |schema: &str| {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build()
    };
    let problem = || {
        ResponseBuilder::new()
            .description("RFC 9457 problem document naming the field and the reason")
            .content("application/problem+json", json_of("Problem"))
            .build()
    };
    let id_param = || {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let query_param = |param: &str, description: &str| {
        ParameterBuilder::new()
            .name(param)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let body = |schema: &str, description: &str| {
        Some(
            RequestBodyBuilder::new()
                .description(Some(description))
                .required(Some(Required::True))
                .content("application/json", json_of(schema))
                .build(),
        )
    };
    let record_response = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", json_of(&record_name))
            .build()
    };

    let mut list_op = OperationBuilder::new()
        .operation_id(Some(format!("list_{}", R::KIND)))
        .summary(Some(format!(
            "List {} a page at a time",
            R::KIND.replace('_', " ")
        )))
        .tag(tag.clone())
        .parameter(query_param("region", "only this region"))
        .parameter(query_param("limit", "page size, 1 to 500 (default 50)"))
        .parameter(query_param("cursor", "next_cursor of the previous page"))
        .parameter(query_param(
            "include_archived",
            "true to include archived records",
        ));
    if R::FILTERS.village.is_some() {
        list_op = list_op.parameter(query_param("village", "only this village"));
    }
    if R::FILTERS.status {
        list_op = list_op.parameter(query_param("status", "only this status"));
    }
    if R::FILTERS.time.is_some() {
        list_op = list_op
            .parameter(query_param(
                "from",
                "from this instant or date (Berlin midnight), inclusive",
            ))
            .parameter(query_param("to", "until this instant or date, exclusive"));
    }
    let page = ObjectBuilder::new()
        .property(
            "items",
            utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name(&record_name)),
        )
        .property(
            "next_cursor",
            ObjectBuilder::new().schema_type(Type::String),
        )
        .required("items");
    let list_op = list_op
        .response(
            "200",
            ResponseBuilder::new().description("one page").content(
                "application/json",
                ContentBuilder::new().schema(Some(page)).build(),
            ),
        )
        .response("400", problem())
        .response("422", problem());

    let create_op = OperationBuilder::new()
        .operation_id(Some(format!("create_{}", R::KIND)))
        .summary(Some(format!(
            "Create a {}; send a client-made UUID as `id` so that repeating the request is harmless",
            R::NOUN
        )))
        .tag(tag.clone())
        .request_body(body(&name, "the new record, with an optional `id` (UUID)"))
        .response("201", record_response("created"))
        .response("200", record_response("the same create was sent before: its first answer"))
        .response("400", problem())
        .response("409", problem())
        .response("413", problem())
        .response("415", problem())
        .response("422", problem());
    let read_op = OperationBuilder::new()
        .operation_id(Some(format!("read_{}", R::KIND)))
        .summary(Some(format!("Read one {}", R::NOUN)))
        .tag(tag.clone())
        .parameter(id_param())
        .response("200", record_response("the record"))
        .response("404", problem());
    let update_op = OperationBuilder::new()
        .operation_id(Some(format!("update_{}", R::KIND)))
        .summary(Some(format!(
            "Change fields of a {}; the result is validated as a whole",
            R::NOUN
        )))
        .tag(tag.clone())
        .parameter(id_param())
        .request_body(body(&name, "the fields to change (any subset)"))
        .response("200", record_response("the changed record"))
        .response("404", problem())
        .response("409", problem())
        .response("422", problem());
    let cancel_op = OperationBuilder::new()
        .operation_id(Some(format!("cancel_{}", R::KIND)))
        .summary(Some(format!(
            "Cancel (or archive) a {}; nothing is deleted",
            R::NOUN
        )))
        .tag(tag)
        .parameter(id_param())
        .parameter(query_param(
            "reason",
            "shown where the cancellation is shown",
        ))
        .response("200", record_response("the cancelled record"))
        .response("404", problem());

    let collection = PathItemBuilder::new()
        .operation(HttpMethod::Get, list_op.build())
        .operation(HttpMethod::Post, create_op.build())
        .build();
    let item = PathItemBuilder::new()
        .operation(HttpMethod::Get, read_op.build())
        .operation(HttpMethod::Patch, update_op.build())
        .operation(HttpMethod::Delete, cancel_op.build())
        .build();
    doc.paths.paths.insert(format!("/api/v1/{seg}"), collection);
    doc.paths
        .paths
        .insert(format!("/api/v1/{seg}/{{id}}"), item);
}

fn uuid_format() -> utoipa::openapi::SchemaFormat {
    utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_are_checked() {
        let all = Filters {
            time: Some("starts_at"),
            village: Some("village_id"),
            status: true,
        };
        let q = parse_list_query(Some("from=2026-11-23&limit=10&status=open"), &all).unwrap();
        assert_eq!(q.from.as_deref(), Some("2026-11-22T23:00:00Z"));
        assert_eq!(q.limit, 10);
        assert!(
            matches!(parse_list_query(Some("limit=0"), &all), Err(ApiError::Invalid { field, .. }) if field == "limit")
        );
        assert!(
            matches!(parse_list_query(Some("colour=red"), &all), Err(ApiError::Invalid { field, .. }) if field == "colour")
        );
        assert!(
            matches!(parse_list_query(Some("from=yesterday"), &all), Err(ApiError::Invalid { field, .. }) if field == "from")
        );
        assert!(parse_list_query(Some("from=2026-11-24&to=2026-11-23"), &all).is_err());
        assert!(
            matches!(parse_list_query(Some("status=open"), &Filters::NONE), Err(ApiError::Invalid { field, .. }) if field == "status")
        );
    }
}

//! API v1: JSON over HTTPS. Every resource gets the same five routes (see `resources`); this
//! module assembles them with health, the OpenAPI document, the logs, request ids and tracing.

pub mod auth;
pub mod body;
pub mod counselling;
pub mod device_caregivers;
pub mod device_staff;
pub mod devices;
pub mod dispatch;
pub mod error;
pub mod resources;
pub mod rides;
pub mod sync;
pub mod timetable;
pub mod tours;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rusqlite::params;
use serde_json::{Value, json};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder};

use crate::config::Config;
use crate::domain::*;
use crate::store::Store;
use auth::{Caller, CredentialCache};
use body::query_pairs;
use error::{ApiError, REQUEST_ID};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub credentials: Arc<CredentialCache>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            credentials: Arc::new(CredentialCache::default()),
        }
    }
}

/// Calls `$m::<R>(args)` for every resource type, so routes and documentation never disagree.
macro_rules! for_each_resource {
    ($f:ident, $acc:expr) => {{
        let acc = $acc;
        let acc = $f::<Region>(acc);
        let acc = $f::<Village>(acc);
        let acc = $f::<Stop>(acc);
        let acc = $f::<Destination>(acc);
        let acc = $f::<Resident>(acc);
        let acc = $f::<Caregiver>(acc);
        let acc = $f::<CaregiverLink>(acc);
        let acc = $f::<Vehicle>(acc);
        let acc = $f::<Shift>(acc);
        let acc = $f::<RideRequest>(acc);
        let acc = $f::<RideSeries>(acc);
        let acc = $f::<CallBack>(acc);
        let acc = $f::<RouteStop>(acc);
        let acc = $f::<ImbusVisit>(acc);
        let acc = $f::<ImbusBus>(acc);
        let acc = $f::<ImbusCounsellor>(acc);
        let acc = $f::<ImbusClosedDay>(acc);
        let acc = $f::<ConsultationHours>(acc);
        let acc = $f::<Slot>(acc);
        let acc = $f::<Appointment>(acc);
        let acc = $f::<Device>(acc);
        $f::<Account>(acc)
    }};
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let routes = timetable::routes(rides::routes(dispatch::routes(for_each_resource!(
        add_routes,
        Router::new()
    ))))
    .route("/healthz", get(healthz))
    .route("/api/v1/openapi.json", get(openapi_json))
    .route("/api/v1/audit-log", get(audit_log))
    .route("/api/v1/regions/{id}/changes", get(changes))
    .merge(devices::routes())
    .merge(device_staff::routes())
    .merge(device_caregivers::routes())
    .merge(tours::routes(Router::new()))
    .merge(counselling::routes())
    .merge(crate::updates::routes())
    .merge(crate::web::routes())
    .route(protocol::device::SYNC_PATH, axum::routing::post(sync::sync))
    .fallback(|| async {
        ApiError::NotFound {
            detail: "no such route".into(),
        }
    })
    .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    routes
        // Device paths need an enrolled device's certificate (see `devices::gate`).
        .layer(middleware::from_fn_with_state(state.clone(), devices::gate))
        .with_state(state)
        .layer(middleware::from_fn(crate::web::page_headers))
        .layer(middleware::from_fn(request_scope))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .extensions()
                    .get::<RequestId>()
                    .and_then(|id| id.header_value().to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

fn add_routes<R: crate::store::records::Resource + utoipa::ToSchema>(
    router: Router<AppState>,
) -> Router<AppState> {
    resources::routes::<R>(router)
}

fn add_docs<R: crate::store::records::Resource + utoipa::ToSchema>(mut doc: OpenApi) -> OpenApi {
    resources::describe::<R>(&mut doc);
    doc
}

/// Makes the request id visible to error responses and the audit log, and keeps security
/// headers on every answer.
async fn request_scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string();
    let mut response = REQUEST_ID.scope(id, next.run(req)).await;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("strict-transport-security"),
        HeaderValue::from_static("max-age=31536000"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    // Personal data must not stay in caches; a route that serves public data sets its own.
    if !headers.contains_key(HeaderName::from_static("cache-control")) {
        headers.insert(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// The OpenAPI document of API v1, generated from the registered resources.
pub fn openapi() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Dorfpunkt hub API")
                .version(format!("1 (hub {})", env!("CARGO_PKG_VERSION")))
                .description(Some(
                    "Region data, ride requests and counselling of a Dorfpunkt hub. Creates take a \
                     client-made UUID `id`: repeating a create returns the first answer. Errors are \
                     RFC 9457 problem documents.",
                ))
                .build(),
        )
        .paths(PathsBuilder::new().build())
        .build();
    let problem = ObjectBuilder::new()
        .property("type", ObjectBuilder::new().schema_type(Type::String))
        .property("title", ObjectBuilder::new().schema_type(Type::String))
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("detail", ObjectBuilder::new().schema_type(Type::String))
        .property("field", ObjectBuilder::new().schema_type(Type::String))
        .property("reason", ObjectBuilder::new().schema_type(Type::String))
        .property("request_id", ObjectBuilder::new().schema_type(Type::String))
        .required("type")
        .required("title")
        .required("status");
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .insert("Problem".into(), problem.into());
    for_each_resource!(add_docs, doc)
}

async fn openapi_json() -> Response {
    match serde_json::to_value(openapi()) {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => ApiError::Internal {
            detail: format!("openapi: {e}"),
        }
        .into_response(),
    }
}

async fn healthz(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let migrations: i64 = app
        .store
        .run(|conn| Ok(conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?))
        .await?;
    Ok(Json(
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "migrations": migrations }),
    ))
}

/// The audit log, newest first, for administrators.
async fn audit_log(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin])?;
    let (before, limit) = seq_paging(raw.as_deref(), "before")?;
    let rows = app
        .store
        .run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, at, actor, action, kind, entity_id, region_id, request_id FROM audit_log
                 WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
                    Ok(json!({
                        "seq": r.get::<_, i64>(0)?, "at": r.get::<_, String>(1)?,
                        "actor": r.get::<_, String>(2)?, "action": r.get::<_, String>(3)?,
                        "kind": r.get::<_, String>(4)?, "entity_id": r.get::<_, Option<String>>(5)?,
                        "region_id": r.get::<_, Option<String>>(6)?,
                        "request_id": r.get::<_, Option<String>>(7)?,
                    }))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(json!({ "items": rows })))
}

/// A region's change log after a sequence number, oldest first: what kiosks sync from.
async fn changes(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Admin])?;
    let (after, limit) = seq_paging(raw.as_deref(), "after")?;
    let rows = app
        .store
        .run(move |conn| {
            if !crate::store::records::exists(conn, "regions", &region)? {
                return Err(crate::store::StoreError::NotFound {
                    kind: "region",
                    id: region,
                });
            }
            let mut stmt = conn.prepare(
                "SELECT seq, at, kind, entity_id, op, body FROM change_log
                 WHERE region_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![region, after.unwrap_or(0), limit], |r| {
                    let body: String = r.get(5)?;
                    Ok(json!({
                        "seq": r.get::<_, i64>(0)?, "at": r.get::<_, String>(1)?,
                        "kind": r.get::<_, String>(2)?, "entity_id": r.get::<_, String>(3)?,
                        "op": r.get::<_, String>(4)?,
                        "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
                    }))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(json!({ "items": rows })))
}

fn seq_paging(raw: Option<&str>, cursor: &str) -> Result<(Option<i64>, i64), ApiError> {
    let mut at = None;
    let mut limit = 100;
    for (key, value) in query_pairs(raw)? {
        if key == cursor {
            at = Some(
                value
                    .parse()
                    .map_err(|_| ApiError::invalid(cursor, "must be a sequence number"))?,
            );
        } else if key == "limit" {
            limit = value
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 1000"))?;
        } else {
            return Err(ApiError::invalid(key, "unknown query parameter"));
        }
    }
    Ok((at, limit))
}

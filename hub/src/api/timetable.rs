//! The published IMBUS timetable: the iCalendar feed of a region or village, a village's poster
//! and the GTFS feed. These are the hub's only public data routes (published information, like a
//! printed timetable): their handlers take no `Caller`, and [`PUBLIC_PATHS`] lists them so a test
//! can check that nothing else answers without credentials.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::AppState;
use super::body::query_pairs;
use super::error::ApiError;
use crate::publish::{self, PublishError, Timetable, gtfs, ics, poster};

/// The routes that answer without credentials (besides `/healthz` and the OpenAPI document).
pub const PUBLIC_PATHS: &[&str] = &[
    "/api/v1/timetable.ics",
    "/api/v1/gtfs.zip",
    "/api/v1/villages/{id}/poster.pdf",
];

/// Adds the timetable routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route(PUBLIC_PATHS[0], get(timetable_ics))
        .route(PUBLIC_PATHS[1], get(gtfs_zip))
        .route(PUBLIC_PATHS[2], get(poster_pdf))
}

impl From<PublishError> for ApiError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::NotFound { kind, id } => ApiError::NotFound {
                detail: format!("no {kind} with id {id}"),
            },
            PublishError::BadRequest(detail) => ApiError::BadRequest { detail },
            PublishError::Store(e) => e.into(),
            PublishError::Render(detail) => ApiError::Internal {
                detail: format!("timetable: {detail}"),
            },
        }
    }
}

/// `region` and `village` of a query, each at most once and a UUID; anything else is refused.
#[derive(Debug, Default, PartialEq)]
struct Selection {
    region: Option<String>,
    village: Option<String>,
}

fn selection(raw: Option<&str>, allowed: &[&str]) -> Result<Selection, ApiError> {
    let mut chosen = Selection::default();
    for (key, value) in query_pairs(raw)? {
        let slot = match key.as_str() {
            "region" if allowed.contains(&"region") => &mut chosen.region,
            "village" if allowed.contains(&"village") => &mut chosen.village,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter '{}'; this route takes {}",
                    key.chars().take(40).collect::<String>(),
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(" and ")
                    }
                )));
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!("'{key}' is given twice")));
        }
        *slot = Some(id_of(&key, &value)?);
    }
    Ok(chosen)
}

/// A record id (a UUID) from the request, or 400.
fn id_of(what: &str, value: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_request(format!("{what}: not an id (a UUID)")))
}

/// Loads the timetable on the store's thread.
async fn load(
    app: &AppState,
    chosen: Selection,
    since: DateTime<Utc>,
    limit: Option<usize>,
) -> Result<Timetable, ApiError> {
    Ok(app
        .store
        .run(move |conn| {
            Ok(
                publish::select(conn, chosen.region.as_deref(), chosen.village.as_deref())
                    .and_then(|(region, village)| {
                        publish::load(conn, region, village, since, limit)
                    }),
            )
        })
        .await??)
}

/// Renders on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PublishError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal {
            detail: format!("timetable task failed: {e}"),
        })??)
}

async fn timetable_ics(
    State(app): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let chosen = selection(raw.as_deref(), &["region", "village"])?;
    let now = Utc::now();
    let timetable = load(&app, chosen, now - Duration::days(publish::DAYS_BACK), None).await?;
    let modified = timetable.visits.iter().map(|v| v.updated_at).max();
    let text = blocking(move || Ok(ics::render(&timetable, now))).await?;
    Ok(answer(
        text.into_bytes(),
        "text/calendar; charset=utf-8",
        "imbus.ics",
        modified,
        &headers,
    ))
}

async fn gtfs_zip(
    State(app): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let chosen = selection(raw.as_deref(), &["region"])?;
    let now = Utc::now();
    let timetable = load(&app, chosen, now - Duration::days(publish::DAYS_BACK), None).await?;
    let modified = timetable.visits.iter().map(|v| v.updated_at).max();
    let url = own_url(&headers);
    let bytes = blocking(move || gtfs::render(&timetable, &url, now)).await?;
    Ok(answer(
        bytes,
        "application/zip",
        "imbus-gtfs.zip",
        modified,
        &headers,
    ))
}

async fn poster_pdf(
    State(app): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    selection(raw.as_deref(), &[])?;
    let village = id_of("village id", &id)?;
    let chosen = Selection {
        region: None,
        village: Some(village),
    };
    let timetable = load(&app, chosen, Utc::now(), Some(poster::MAX_VISITS)).await?;
    let modified = timetable.visits.iter().map(|v| v.updated_at).max();
    let bytes = blocking(move || poster::render(&timetable)).await?;
    Ok(answer(
        bytes,
        "application/pdf",
        "imbus-aushang.pdf",
        modified,
        &headers,
    ))
}

/// The body with its type, an ETag (SHA-256 of the body) and Last-Modified; 304 when the
/// client already holds it.
fn answer(
    body: Vec<u8>,
    content_type: &'static str,
    filename: &str,
    modified: Option<DateTime<Utc>>,
    request: &HeaderMap,
) -> Response {
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let held = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if held {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // Published information: caches may keep it but must ask again (the ETag makes that cheap).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(at) = modified
        && let Ok(value) =
            HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if !held {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// The hub's own address as the client reached it, for the GTFS publisher URL of a region
/// without a website.
fn own_url(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map_or_else(
            || "https://localhost/".to_string(),
            |h| format!("https://{h}/"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0192f0a4-7b1c-7c3e-9d2a-1b2c3d4e5f60";

    #[test]
    fn the_query_takes_region_and_village_ids_once() {
        let both = selection(
            Some(&format!("region={ID}&village={ID}")),
            &["region", "village"],
        )
        .unwrap();
        assert_eq!(both.region.as_deref(), Some(ID));
        assert_eq!(both.village.as_deref(), Some(ID));
        assert_eq!(selection(None, &[]).unwrap(), Selection::default());
        for bad in [
            format!("village={ID}&village={ID}"),
            "village=12".to_string(),
            "village=".to_string(),
            format!("town={ID}"),
            format!("village={}", "a".repeat(5000)),
        ] {
            assert!(
                matches!(
                    selection(Some(&bad), &["region", "village"]),
                    Err(ApiError::BadRequest { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            selection(Some(&format!("village={ID}")), &["region"]),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn the_publisher_url_is_the_host_the_client_used() {
        let mut headers = HeaderMap::new();
        assert_eq!(own_url(&headers), "https://localhost/");
        headers.insert(header::HOST, HeaderValue::from_static("hub.example:8443"));
        assert_eq!(own_url(&headers), "https://hub.example:8443/");
        headers.insert(header::HOST, HeaderValue::from_static("evil\"host"));
        assert_eq!(own_url(&headers), "https://localhost/");
    }
}

//! Routes for dispatch outputs: the run sheet of a shift (JSON and PDF) for staff and drivers,
//! and a region's daily ride figures for staff.

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;

use super::AppState;
use super::auth::Caller;
use super::body::query_pairs;
use super::error::ApiError;
use crate::dispatch::{DayFigures, DispatchError, RunSheet, Scope, figures, pdf, runsheet};
use crate::domain::Role;

/// Adds the dispatch routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v1/shifts/{id}/run-sheet", get(run_sheet_json))
        .route("/api/v1/shifts/{id}/run-sheet.pdf", get(run_sheet_pdf))
        .route("/api/v1/regions/{id}/ride-figures", get(ride_figures))
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::NotFound { kind, id } => ApiError::NotFound {
                detail: format!("no {kind} with id {id}"),
            },
            DispatchError::Forbidden(detail) => ApiError::Forbidden { detail },
            DispatchError::Store(e) => e.into(),
            DispatchError::Pdf(detail) => ApiError::Internal {
                detail: format!("run sheet pdf: {detail}"),
            },
        }
    }
}

/// Whose data the caller may see with `roles`: administrators all regions, everyone else
/// their own region.
fn scope_of(caller: &Caller, roles: &[Role]) -> Result<Scope, ApiError> {
    caller.require(roles)?;
    if caller.role == Role::Admin {
        return Ok(Scope::Hub);
    }
    caller
        .region_id
        .clone()
        .map(Scope::Region)
        .ok_or_else(|| ApiError::Forbidden {
            detail: "this account belongs to no region".into(),
        })
}

/// Dispatchers plan the shifts, drivers drive them. For now any driver of the region may read
/// any of its sheets; tying drivers to their own shifts comes with driver accounts on shifts.
const SHEET_READERS: &[Role] = &[Role::Admin, Role::Dispatcher, Role::Driver];

async fn load_sheet(app: &AppState, caller: &Caller, id: String) -> Result<RunSheet, ApiError> {
    let scope = scope_of(caller, SHEET_READERS)?;
    let who = caller.who();
    Ok(app
        .store
        .run(move |conn| Ok(runsheet::load(conn, &who, &scope, &id)))
        .await??)
}

async fn run_sheet_json(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunSheet>, ApiError> {
    Ok(Json(load_sheet(&app, &caller, id).await?))
}

async fn run_sheet_pdf(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sheet = load_sheet(&app, &caller, id).await?;
    let date = sheet.date.clone();
    // Rendering is CPU work and needs no database connection: a blocking thread of its own.
    let bytes = tokio::task::spawn_blocking(move || pdf::render(&sheet))
        .await
        .map_err(|e| ApiError::Internal {
            detail: format!("run sheet task failed: {e}"),
        })??;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("inline; filename=\"fahrtenzettel-{date}.pdf\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

async fn ride_figures(
    State(app): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DayFigures>, ApiError> {
    let scope = scope_of(&caller, &[Role::Admin, Role::Dispatcher])?;
    let date = date_param(raw.as_deref())?;
    Ok(Json(
        app.store
            .run(move |conn| Ok(figures::load(conn, &scope, &region, date)))
            .await??,
    ))
}

/// The one query parameter of the figures: `date=YYYY-MM-DD`, the region's local date.
fn date_param(raw: Option<&str>) -> Result<NaiveDate, ApiError> {
    let mut date = None;
    for (key, value) in query_pairs(raw)? {
        match key.as_str() {
            "date" => {
                let parsed = NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                    .ok()
                    .filter(|_| value.len() == 10)
                    .ok_or_else(|| {
                        ApiError::invalid("date", format!("'{value}' is not a date YYYY-MM-DD"))
                    })?;
                date = Some(parsed);
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    date.ok_or_else(|| ApiError::invalid("date", "required: the local date, YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_parameter_is_required_and_strict() {
        assert_eq!(
            date_param(Some("date=2026-11-23")).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        for bad in [
            None,
            Some("date=23.11.2026"),
            Some("date=2026-11-3"),
            Some("day=2026-11-23"),
        ] {
            match date_param(bad) {
                Err(ApiError::Invalid { field, .. }) => {
                    assert!(field == "date" || field == "day", "{bad:?}: {field}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}

//! Routes for run sheets and daily ride figures (being written).

use axum::Router;

use super::AppState;

/// Adds the dispatch routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
}

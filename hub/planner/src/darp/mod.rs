//! Dial-a-ride planning: full optimisation of a day's rides and instant insertion of bookings.
//!
//! The hub builds an [`Instance`] from travel-time and distance matrices
//! ([`Matrices::new`]), its [`Request`]s and [`Vehicle`]s, then calls
//!
//! - [`optimise`] for a whole plan (adaptive large neighbourhood search, anytime),
//! - [`insert`] to add one booking to the running plan in milliseconds, getting a pickup
//!   window to promise or a [`RejectReason`] with nearest alternatives,
//! - [`reoptimise`] to improve the running plan later without touching the past or any
//!   promise,
//! - [`check`] to verify any plan independently.
//!
//! Times and distances are plain `f64` in the instance's unit (the hub uses minutes). Nothing
//! here reads a clock: budgets are iteration counts or a caller-supplied progress closure;
//! randomness comes only from the caller's seed, so a run with an iteration budget is
//! reproducible.
//!
//! Inside, each route's times form a simple temporal network solved exactly ([`timing`]);
//! insertion tests prune position pairs with necessary conditions and confirm the cheapest
//! with the exact network ([`insertion`]).

mod alns;
mod booking;
mod check;
pub mod cordeau;
mod insertion;
mod model;
mod problem;
mod solution;
mod timing;

pub use alns::{Budget, SearchOptions};
pub use booking::{
    Alternative, InsertOptions, Inserted, Insertion, RejectReason, Rejected, insert,
};
pub use check::{CheckReport, Violation, check};
pub use model::{
    Break, Instance, Matrices, Plan, Promise, Request, Route, ScheduledStop, Stop, TimeWindow,
    Vehicle, Weights,
};

use problem::Problem;
use solution::Solution;

/// Errors from building instances, parsing files, or misusing the API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DarpError {
    /// The travel matrices are malformed.
    #[error("bad matrix: {0}")]
    Matrix(String),
    /// A request is malformed.
    #[error("request {index}: {message}")]
    Request { index: usize, message: String },
    /// A vehicle is malformed.
    #[error("vehicle {index}: {message}")]
    Vehicle { index: usize, message: String },
    /// A benchmark file could not be parsed.
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
    /// No request with this index.
    #[error("unknown request {0}")]
    UnknownRequest(usize),
    /// The request is already in the plan.
    #[error("request {0} is already planned")]
    AlreadyPlanned(usize),
    /// The plan does not have one route per vehicle of the instance.
    #[error("the plan does not match the instance's vehicles")]
    PlanMismatch,
}

/// Plans all requests of `instance` from scratch: serves as many as possible, then minimises
/// the weighted cost. Returns the best plan found within `budget`.
pub fn optimise(instance: &Instance, options: &SearchOptions, budget: Budget) -> Plan {
    let pb = Problem::new(instance, &[], f64::NEG_INFINITY);
    let start = Solution::empty(&pb);
    alns::search(&pb, start, *options, budget).to_plan(&pb)
}

/// Improves a running plan at time `now`: stops that started before `now` (and those vehicles
/// are driving to) keep place and time, every promise stays a hard window, every promised
/// request stays served, and requests of the instance that the plan does not serve are tried
/// again. Never returns a plan worse than the
/// given one (served count first, then cost) if that was feasible.
pub fn reoptimise(
    instance: &Instance,
    plan: &Plan,
    now: f64,
    promises: &[Promise],
    options: &SearchOptions,
    budget: Budget,
) -> Result<Plan, DarpError> {
    if plan.routes.len() != instance.vehicles().len() {
        return Err(DarpError::PlanMismatch);
    }
    let pb = Problem::new(instance, promises, now);
    let start = Solution::from_plan(&pb, plan);
    Ok(alns::search(&pb, start, *options, budget).to_plan(&pb))
}

#[cfg(test)]
mod testkit;

//! Web pages: counselling.

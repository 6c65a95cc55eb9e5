//! Integration tests of the hub: the real server over real TLS on loopback, a real SQLite file.

mod api;
mod bad_input;
mod caregivers_kiosk;
mod cli;
mod common;
mod counselling;
mod devices;
mod dispatch;
mod help;
mod publish;
mod rides;
mod staff;
mod sync;
mod tours;
mod web_accounts;
mod web_care;
mod web_counselling;
mod web_data;
mod web_devices;
mod web_driver;
mod web_evaluation;
mod web_imbus;
mod web_login;
mod web_privacy;
mod web_reminders;
mod web_rides;

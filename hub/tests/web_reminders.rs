//! Web pages: reminders.

//! Kiosk software updates: verify, install, health check and roll back (slot).

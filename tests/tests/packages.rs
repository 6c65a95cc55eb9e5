//! Debian packages of the hub and the kiosk installed into a fresh Debian root (slot).

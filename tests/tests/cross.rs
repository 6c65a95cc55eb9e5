//! The kiosk cross-built for arm64, run under qemu-user (slot).

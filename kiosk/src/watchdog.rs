//! The systemd watchdog and readiness notifications (slot).

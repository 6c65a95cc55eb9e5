//! Software updates on the kiosk: download, verify, install, health check, roll back (slot).

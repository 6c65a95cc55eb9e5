//! The Dorfpunkt hub: region data, bookings, planning, kiosk sync and device management.

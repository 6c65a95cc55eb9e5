//! Kiosk software updates through the hub (slot).

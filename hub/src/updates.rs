//! Kiosk software updates: signed packages staged per kiosk or for all (slot).

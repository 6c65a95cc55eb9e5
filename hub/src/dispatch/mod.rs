//! Dispatch outputs of the ride service: driver run sheets and daily figures (being written).

//! Dial-a-ride planning (filled by the ride planning work).

//! Travel times between places (filled by the ride planning work).

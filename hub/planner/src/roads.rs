//! Road travel times from an OpenStreetMap extract (filled by the ride planning work).

//! Region data import from CSV and GeoJSON (being written).

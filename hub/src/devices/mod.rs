//! Kiosk devices: enrolment with one-time codes, the region's device CA, client certificates
//! (mutual TLS), revocation and rotation, heartbeats and alerts.

/// The device a request over mutual TLS comes from, as established from its client certificate
/// (and checked against the store: known, active, not revoked). Handlers of device endpoints
/// take it as `axum::Extension<DeviceIdentity>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub region_id: String,
    pub village_id: String,
}

//! Heartbeats (only the latest is kept) and the device list with online state and alerts.

use chrono::{DateTime, Duration, Utc};
use protocol::API_VERSION;
use protocol::device::{Heartbeat, PrinterState};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{DeviceIdentity, stamp};
use crate::store::logs::{self, Action};
use crate::store::{StoreError, StoreResult};

/// A device is online when its last heartbeat is at most this old, and silent after.
pub const SILENT_AFTER_MINUTES: i64 = 10;
/// Below this much free storage the kiosk's outbox and logs are at risk.
pub const DISK_LOW_BYTES: u64 = 512 * 1024 * 1024;

/// Something an admin should look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// No heartbeat for more than ten minutes (or none since enrolment).
    Silent,
    PrinterOut,
    PrinterOffline,
    UnderVoltage,
    DiskLow,
    /// The kiosk reports its storage as worn or failing.
    Storage,
}

impl Alert {
    pub fn as_str(self) -> &'static str {
        match self {
            Alert::Silent => "silent",
            Alert::PrinterOut => "printer_out",
            Alert::PrinterOffline => "printer_offline",
            Alert::UnderVoltage => "under_voltage",
            Alert::DiskLow => "disk_low",
            Alert::Storage => "storage",
        }
    }
}

/// The latest heartbeat as stored.
#[derive(Clone, Debug, Serialize)]
pub struct LastHeartbeat {
    pub received_at: String,
    pub uptime_s: i64,
    pub disk_free_bytes: i64,
    pub under_voltage: bool,
    pub throttled: bool,
    pub storage: String,
    pub printer: String,
    /// The last sync as the kiosk reported it.
    pub last_sync_at: Option<String>,
    pub outbox_len: i64,
}

/// One line of the device list.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceStatus {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub village_id: String,
    pub stop_id: String,
    /// pending, active or revoked.
    pub status: String,
    pub online: bool,
    pub last_seen_at: Option<String>,
    pub software_version: Option<String>,
    /// The last sync the hub answered.
    pub last_sync_at: Option<String>,
    pub heartbeat: Option<LastHeartbeat>,
    pub alerts: Vec<Alert>,
}

/// Stores a heartbeat as the device's latest and marks it seen now.
pub fn heartbeat(
    conn: &mut Connection,
    identity: &DeviceIdentity,
    beat: &Heartbeat,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if beat.api_version != API_VERSION {
        return Err(StoreError::invalid(
            "api_version",
            format!("this hub speaks version {API_VERSION}"),
        ));
    }
    let short = |field: &str, value: &str| -> StoreResult<()> {
        if value.trim().is_empty() || value.chars().count() > 100 {
            Err(StoreError::invalid(field, "must be 1 to 100 characters"))
        } else {
            Ok(())
        }
    };
    short("software_version", &beat.software_version)?;
    short("storage", &beat.storage)?;
    let last_sync_at = beat
        .last_sync_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| stamp(t.with_timezone(&Utc)))
                .map_err(|_| StoreError::invalid("last_sync_at", "must be an RFC 3339 instant"))
        })
        .transpose()?;
    let int = |field: &str, value: u64| -> StoreResult<i64> {
        i64::try_from(value).map_err(|_| StoreError::invalid(field, "is too large"))
    };
    let printer = match beat.printer {
        PrinterState::Ok => "ok",
        PrinterState::PaperLow => "paper_low",
        PrinterState::Out => "out",
        PrinterState::Offline => "offline",
    };
    let tx = conn.transaction()?;
    let now_s = stamp(now);
    tx.execute(
        "INSERT INTO device_heartbeats (device_id, received_at, software_version, uptime_s,
             disk_free_bytes, under_voltage, throttled, storage, printer, last_sync_at, outbox_len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at,
             software_version = excluded.software_version, uptime_s = excluded.uptime_s,
             disk_free_bytes = excluded.disk_free_bytes, under_voltage = excluded.under_voltage,
             throttled = excluded.throttled, storage = excluded.storage,
             printer = excluded.printer, last_sync_at = excluded.last_sync_at,
             outbox_len = excluded.outbox_len",
        params![
            identity.device_id,
            now_s,
            beat.software_version,
            int("uptime_s", beat.uptime_s)?,
            int("disk_free_bytes", beat.disk_free_bytes)?,
            beat.under_voltage,
            beat.throttled,
            beat.storage,
            printer,
            last_sync_at,
            int("outbox_len", beat.outbox_len)?,
        ],
    )?;
    // Not a change kiosks show: no version bump and no change-log line, or every heartbeat
    // would be synced to every kiosk of the region.
    tx.execute(
        "UPDATE devices SET last_seen_at = ?1, software_version = ?2 WHERE id = ?3",
        params![now_s, beat.software_version, identity.device_id],
    )?;
    logs::audit(
        &tx,
        &identity.who(request_id),
        Action::Update,
        "device_heartbeats",
        Some(&identity.device_id),
        Some(&identity.region_id),
    )?;
    tx.commit()?;
    Ok(())
}

/// The devices of a region (or of all regions), by name, with online state and alerts.
pub fn list(
    conn: &Connection,
    region: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<DeviceStatus>> {
    let silent_since = stamp(now - Duration::minutes(SILENT_AFTER_MINUTES));
    let mut stmt = conn.prepare(
        "SELECT d.id, d.name, d.region_id, d.village_id, d.stop_id, d.status, d.last_seen_at,
                d.software_version, d.last_sync_at,
                h.received_at, h.uptime_s, h.disk_free_bytes, h.under_voltage, h.throttled,
                h.storage, h.printer, h.last_sync_at, h.outbox_len
         FROM devices d LEFT JOIN device_heartbeats h ON h.device_id = d.id
         WHERE ?1 IS NULL OR d.region_id = ?1
         ORDER BY d.name, d.id",
    )?;
    let rows = stmt.query_map([region], |r| {
        let heartbeat = match r.get::<_, Option<String>>(9)? {
            Some(received_at) => Some(LastHeartbeat {
                received_at,
                uptime_s: r.get(10)?,
                disk_free_bytes: r.get(11)?,
                under_voltage: r.get(12)?,
                throttled: r.get(13)?,
                storage: r.get(14)?,
                printer: r.get(15)?,
                last_sync_at: r.get(16)?,
                outbox_len: r.get(17)?,
            }),
            None => None,
        };
        Ok(DeviceStatus {
            id: r.get(0)?,
            name: r.get(1)?,
            region_id: r.get(2)?,
            village_id: r.get(3)?,
            stop_id: r.get(4)?,
            status: r.get(5)?,
            online: false,
            last_seen_at: r.get(6)?,
            software_version: r.get(7)?,
            last_sync_at: r.get(8)?,
            heartbeat,
            alerts: Vec::new(),
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let mut device = row?;
        device.online = device
            .last_seen_at
            .as_deref()
            .is_some_and(|seen| seen > silent_since.as_str());
        device.alerts = alerts(&device);
        out.push(device);
    }
    Ok(out)
}

/// Alerts of an enrolled device; pending and revoked devices raise none.
fn alerts(device: &DeviceStatus) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if device.status != "active" {
        return alerts;
    }
    if !device.online {
        alerts.push(Alert::Silent);
    }
    if let Some(beat) = &device.heartbeat {
        match beat.printer.as_str() {
            "out" => alerts.push(Alert::PrinterOut),
            "offline" => alerts.push(Alert::PrinterOffline),
            _ => {}
        }
        if beat.under_voltage {
            alerts.push(Alert::UnderVoltage);
        }
        if u64::try_from(beat.disk_free_bytes).is_ok_and(|free| free < DISK_LOW_BYTES) {
            alerts.push(Alert::DiskLow);
        }
        if beat.storage != "ok" {
            alerts.push(Alert::Storage);
        }
    }
    alerts
}

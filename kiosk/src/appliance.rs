//! `kiosk run`: the appliance's background loop until it is told to stop. It syncs every
//! [`Schedule::sync_every`] (backing off up to [`Schedule::max_backoff`] while the hub is out of
//! reach), sends a heartbeat every [`Schedule::heartbeat_every`], and checks once an hour whether
//! the certificate is due for rotation. Each of these logs one line.
//!
//! Stopping is checked only between tasks: a sync, heartbeat or rotation under way finishes
//! first (each is bounded by the client's timeouts), so the stop never cuts an exchange in half
//! on the kiosk's side. Nothing would be lost if it did (see [`crate::sync`]); it just keeps the
//! log and the hub's view tidy.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::core::CHANGES_PER_EXCHANGE;
use crate::heartbeat::{self, Readings, VcGenCmd};
use crate::hub_client::{HubClient, HubError, Timeouts};
use crate::identity::{self, Identity, IdentityError};
use crate::printing::PrintWorker;
use crate::store::{Store, StoreError};
use crate::sync::{Transport, sync_once};
use crate::update::{Agent, Settings, Step, Watching};

/// How often the loop does what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub sync_every: Duration,
    pub heartbeat_every: Duration,
    pub rotation_check_every: Duration,
    /// The longest pause between syncs while they fail (at least `sync_every`).
    pub max_backoff: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            sync_every: Duration::from_secs(30),
            heartbeat_every: Duration::from_secs(300),
            rotation_check_every: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl Schedule {
    /// The pause before the next sync after `failures` failed ones in a row: the interval, then
    /// doubling per failure up to the cap, so a hub coming back after an outage is not met by
    /// every kiosk at the old pace.
    pub fn sync_delay(&self, failures: u32) -> Duration {
        let cap = self.max_backoff.max(self.sync_every);
        self.sync_every
            .saturating_mul(2u32.saturating_pow(failures.min(16)))
            .min(cap)
    }
}

/// What a run did, for the last log line and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub syncs: u64,
    pub failed_syncs: u64,
    pub heartbeats: u64,
    pub failed_heartbeats: u64,
    pub rotations: u64,
    /// The loop ended to restart into an installed or restored version: `kiosk run` exits with
    /// [`crate::update::RESTART_EXIT_CODE`].
    pub restart: bool,
}

/// Why the loop could not start (once running, failures are logged and retried).
#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("interrupted by shutdown")]
    Interrupted,
}

/// Runs the loop for the kiosk enrolled in `data_dir` until `stop` completes.
pub async fn run(
    data_dir: &Path,
    schedule: &Schedule,
    stop: impl Future<Output = ()>,
) -> Result<RunSummary, ApplianceError> {
    run_with_printer(data_dir, schedule, stop, None).await
}

/// [`run`] with the print worker of the screen, whose last printer state the heartbeats report
/// (without one they report the printer as fine).
pub async fn run_with_printer(
    data_dir: &Path,
    schedule: &Schedule,
    stop: impl Future<Output = ()>,
    printer: Option<PrintWorker>,
) -> Result<RunSummary, ApplianceError> {
    let identity = Identity::load(data_dir)?;
    let (store, adoption) = {
        let (identity, dir) = (identity.clone(), data_dir.to_path_buf());
        tokio::task::spawn_blocking(move || identity.open_store(&dir))
            .await
            .map_err(|_| ApplianceError::Interrupted)??
    };
    if adoption.reset {
        tracing::info!(
            device = %identity.device_id,
            region = %identity.region_id,
            "the replica belonged to another device or was unowned: emptied, syncing from 0"
        );
    }
    let mut client = HubClient::for_device(&identity, Timeouts::default())?;
    tracing::info!(
        device = %identity.device_id,
        region = %identity.region_id,
        hub = %identity.hub_url,
        sync_every_s = schedule.sync_every.as_secs(),
        heartbeat_every_s = schedule.heartbeat_every.as_secs(),
        "kiosk running"
    );

    // systemd's readiness and watchdog (no-ops outside systemd): pinged from this loop, so a
    // loop that hangs gets the kiosk restarted.
    let mut watchdog = crate::watchdog::Watchdog::from_env();
    watchdog.ready(&format!("running, hub {}", identity.hub_url));
    let mut updates = Agent::new(data_dir, Settings::from_env());
    let start = Instant::now();
    let (mut next_sync, mut next_beat, mut next_rotation) = (start, start, start);
    let mut failures = 0u32;
    let mut summary = RunSummary::default();
    let mut stop = std::pin::pin!(stop);
    loop {
        let next = next_sync.min(next_beat).min(next_rotation);
        let next = watchdog
            .next_due()
            .map_or(next, |due| next.min(Instant::from_std(due)));
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = tokio::time::sleep_until(next) => {}
        }
        let now = Instant::now();
        watchdog.ping_if_due(now.into_std());
        if now >= next_rotation {
            next_rotation = now + schedule.rotation_check_every;
            if let Some(new) = rotate(data_dir).await {
                match HubClient::for_device(&new, Timeouts::default()) {
                    Ok(new_client) => {
                        client = new_client;
                        summary.rotations += 1;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the rotated certificate makes no client")
                    }
                }
            }
        }
        if now >= next_sync {
            // The sync answer may offer a software update; a new version checks its health.
            let watching = Watching::new(&client);
            let synced = sync(&store, &watching).await;
            match updates.after_sync(&client, synced, watching.offer()).await {
                Step::Restart => {
                    summary.restart = true;
                    break;
                }
                Step::Healthy => next_beat = Instant::now(),
                Step::Continue => {}
            }
            if synced {
                summary.syncs += 1;
                failures = 0;
            } else {
                summary.failed_syncs += 1;
                failures = failures.saturating_add(1);
                tracing::info!(
                    retry_in_s = schedule.sync_delay(failures).as_secs(),
                    "next sync try"
                );
            }
            next_sync = Instant::now() + schedule.sync_delay(failures);
            watchdog.ping_if_due(std::time::Instant::now());
        }
        if now >= next_beat {
            let readings = printer
                .as_ref()
                .map_or_else(Readings::default, Readings::with_printer);
            if beat(&store, data_dir.to_path_buf(), &client, readings).await {
                summary.heartbeats += 1;
            } else {
                summary.failed_heartbeats += 1;
            }
            next_beat = Instant::now() + schedule.heartbeat_every;
        }
    }
    watchdog.stopping();
    tracing::info!(
        syncs = summary.syncs,
        failed_syncs = summary.failed_syncs,
        heartbeats = summary.heartbeats,
        "kiosk stopped"
    );
    Ok(summary)
}

/// Rotates the certificate when due; the new identity when it was rotated.
async fn rotate(data_dir: &Path) -> Option<Identity> {
    match identity::rotate_if_due(data_dir, Utc::now()).await {
        Ok(Some(new)) => {
            tracing::info!(until = %new.not_after, "certificate rotated");
            Some(new)
        }
        Ok(None) => {
            tracing::debug!("certificate rotation not due");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "certificate rotation failed; trying again later");
            None
        }
    }
}

/// One sync; whether it reached the hub and finished.
async fn sync<T: Transport>(store: &Store, transport: &T) -> bool {
    match sync_once(store, transport, CHANGES_PER_EXCHANGE).await {
        Ok(s) => {
            tracing::info!(
                exchanges = s.exchanges,
                sent = s.sent,
                accepted = s.accepted,
                refused = s.refused,
                changes = s.changes_applied,
                cursor = s.cursor,
                "synced"
            );
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "sync failed; everything unanswered stays pending");
            false
        }
    }
}

/// One heartbeat; whether the hub took it.
async fn beat(store: &Store, data_dir: PathBuf, client: &HubClient, readings: Readings) -> bool {
    let store = store.clone();
    let gathered = tokio::task::spawn_blocking(move || {
        heartbeat::gather(&store, &data_dir, &VcGenCmd, readings)
    })
    .await;
    let beat = match gathered {
        Ok(Ok(beat)) => beat,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the heartbeat could not be gathered");
            return false;
        }
        Err(_) => return false,
    };
    match client.heartbeat(&beat).await {
        Ok(answer) => {
            tracing::info!(outbox = beat.outbox_len, hub_time = %answer.hub_time, "heartbeat sent");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_syncs_back_off_doubling_up_to_five_minutes() {
        let schedule = Schedule::default();
        let delays: Vec<u64> = (0..7).map(|f| schedule.sync_delay(f).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(schedule.sync_delay(u32::MAX).as_secs(), 300);
        let slow = Schedule {
            sync_every: Duration::from_secs(600),
            ..Schedule::default()
        };
        assert_eq!(
            slow.sync_delay(3).as_secs(),
            600,
            "never faster than the interval"
        );
    }
}

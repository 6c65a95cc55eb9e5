//! Sync with the hub: send the outbox, apply the answer, repeat until both sides are level.
//!
//! The transport is a trait so the same loop runs over HTTPS in the appliance and over an
//! in-process hub in tests. Nothing here can lose a write: an entry leaves the pending state only
//! in the transaction that stores the hub's answer to it, so a lost request or a lost response
//! just means the entry is sent again, and the hub answers a repeat with its first answer.

use std::future::Future;

use protocol::API_VERSION;
use protocol::sync::{MAX_CHANGES, MAX_OUTBOX_ENTRIES, SyncRequest, SyncResponse};

use crate::store::{Store, StoreError, StoreResult};

/// One request-response exchange with the hub.
///
/// Implementations may write `async fn exchange(&self, request: SyncRequest) -> …`; the returned
/// future must be `Send` so a sync can run on any executor thread.
pub trait Transport {
    fn exchange(
        &self,
        request: SyncRequest,
    ) -> impl Future<Output = Result<SyncResponse, TransportError>> + Send;
}

/// Why an exchange produced no response. Whether the hub stored the request is unknown: the
/// kiosk sends it again next time.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No connection, a timeout, a TLS failure, a connection closed mid-answer.
    #[error("hub unreachable: {0}")]
    Unreachable(String),
    /// The hub answered the exchange as a whole with an error status (not a refusal of one
    /// outbox entry, which comes as an ack).
    #[error("hub answered with status {status}: {detail}")]
    Status { status: u16, detail: String },
    /// The answer did not read as a `SyncResponse`.
    #[error("hub's answer is unreadable: {0}")]
    Malformed(String),
}

/// What a sync achieved, also when it stopped early.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Exchanges that got a response.
    pub exchanges: u32,
    /// Outbox entries sent, counting every send of an entry (a repeat after a lost response
    /// counts again).
    pub sent: usize,
    /// Entries answered in this sync, by outcome.
    pub accepted: usize,
    pub refused: usize,
    /// Changes written to the replica.
    pub changes_applied: usize,
    /// The stored cursor at the end.
    pub cursor: u64,
}

/// A sync that stopped before both sides were level. Everything before the stop is stored; every
/// unanswered entry is still pending.
#[derive(Debug, thiserror::Error)]
#[error("sync stopped after {} exchanges: {cause}", progress.exchanges)]
pub struct SyncError {
    #[source]
    pub cause: SyncStop,
    pub progress: SyncSummary,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncStop {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub answered none of the entries sent and gave no new changes, or said there was
    /// more without giving any: asking again at once would loop.
    #[error("the hub's answer made no progress")]
    Stalled,
    /// The runtime shut down while the store was busy.
    #[error("interrupted by shutdown")]
    Interrupted,
}

/// Syncs until the hub has answered every pending entry and the kiosk has every change: each
/// exchange sends at most [`MAX_OUTBOX_ENTRIES`] pending entries (oldest first) and asks for at
/// most `limit` changes (clamped to `1..=MAX_CHANGES`).
///
/// Stops at the first transport error with everything unanswered still pending.
pub async fn sync_once<T: Transport>(
    store: &Store,
    transport: &T,
    limit: u32,
) -> Result<SyncSummary, SyncError> {
    let limit = limit.clamp(1, MAX_CHANGES);
    let mut summary = SyncSummary::default();
    let stop = |cause: SyncStop, progress: &SyncSummary| SyncError {
        cause,
        progress: progress.clone(),
    };
    loop {
        let (cursor, outbox) =
            blocking(store, |s| Ok((s.cursor()?, s.pending(MAX_OUTBOX_ENTRIES)?)))
                .await
                .map_err(|c| stop(c, &summary))?;
        summary.cursor = cursor;
        let sent = outbox.len();
        let request = SyncRequest {
            api_version: API_VERSION,
            cursor,
            outbox,
            limit,
        };
        let response = transport
            .exchange(request)
            .await
            .map_err(|e| stop(e.into(), &summary))?;
        summary.exchanges += 1;
        summary.sent += sent;
        let more = response.more;
        let (applied, remaining) = blocking(store, move |s| {
            let applied = s.apply(&response)?;
            Ok((applied, s.pending_count()?))
        })
        .await
        .map_err(|c| stop(c, &summary))?;
        summary.accepted += applied.accepted;
        summary.refused += applied.refused;
        summary.changes_applied += applied.changes_applied;
        summary.cursor = applied.cursor;

        if !more && remaining == 0 {
            return Ok(summary);
        }
        // Entries enqueued during the exchange keep the loop going; a hub that answers nothing
        // it was sent and moves no cursor would keep it going for ever.
        let answered = applied.accepted + applied.refused > 0;
        let advanced = applied.cursor > cursor;
        if !answered && !advanced && (more || sent > 0) {
            return Err(stop(SyncStop::Stalled, &summary));
        }
    }
}

/// Runs store work on the blocking pool, never on an executor thread.
async fn blocking<R, F>(store: &Store, work: F) -> Result<R, SyncStop>
where
    R: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<R> + Send + 'static,
{
    let store = store.clone();
    match tokio::task::spawn_blocking(move || work(&store)).await {
        Ok(result) => result.map_err(SyncStop::Store),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(SyncStop::Interrupted),
    }
}

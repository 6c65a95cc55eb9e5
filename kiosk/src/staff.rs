//! Health worker mode's core: the login at the hub and the outcomes into the outbox.
//!
//! A login needs the hub (the PIN is checked there, and the list of today's appointments comes
//! from there): out of reach, it fails with [`LoginFailure::Offline`] and the screen says so. An
//! outcome goes into the outbox like a booking ([`OutboxKind::AppointmentOutcome`]), committed to
//! disk before the screen moves on, and reaches the hub with the next sync, also hours later: the
//! hub takes it up to a day after the session ended. After the hub's answer the outbox keeps only
//! the entry's status (`store/personal.rs`): the topic and referral are removed.
//!
//! There is no badge reader on this kiosk, so a login is username and PIN only.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use protocol::staff::{AppointmentOutcome, STAFF_SESSIONS_PATH, StaffLogin, StaffSession};
use protocol::sync::OutboxKind;
use serde_json::Value;
use slint::ComponentHandle;
use uuid::Uuid;

use crate::hub_client::{HubClient, HubError, Timeouts};
use crate::identity::Identity;
use crate::store::{Store, StoreError, StoreResult};
use crate::ui::AppWindow;
use crate::ui::staff::{self, LoginFailure, OutcomeDraft};

/// Where a staff session is opened: the hub, or a stand-in in tests.
pub trait StaffHub {
    fn open_session(
        &self,
        login: &StaffLogin,
    ) -> impl Future<Output = Result<StaffSession, HubError>> + Send;
}

impl StaffHub for HubClient {
    async fn open_session(&self, login: &StaffLogin) -> Result<StaffSession, HubError> {
        self.post(STAFF_SESSIONS_PATH, login).await
    }
}

/// The hub with the device's current certificate: the identity file is read at each login, so
/// a rotation by the appliance loop is picked up (logins are rare; the file is small).
pub struct IdentityHub {
    data_dir: PathBuf,
}

impl IdentityHub {
    pub fn new(data_dir: PathBuf) -> IdentityHub {
        IdentityHub { data_dir }
    }
}

impl StaffHub for IdentityHub {
    async fn open_session(&self, login: &StaffLogin) -> Result<StaffSession, HubError> {
        let identity = Identity::load(&self.data_dir)
            .map_err(|e| HubError::Setup(format!("the device identity: {e}")))?;
        HubClient::for_device(&identity, Timeouts::default())?
            .open_session(login)
            .await
    }
}

/// Logs in at the hub with a new session id.
pub async fn login<H: StaffHub>(
    hub: &H,
    username: &str,
    pin: &str,
) -> Result<StaffSession, LoginFailure> {
    let request = StaffLogin {
        id: Uuid::new_v4(),
        username: username.to_string(),
        pin: pin.to_string(),
    };
    hub.open_session(&request).await.map_err(|e| match e {
        HubError::Unreachable(_) | HubError::Setup(_) => LoginFailure::Offline,
        HubError::Problem { status: 401, .. } => LoginFailure::Refused,
        HubError::Problem { status: 423, .. } => LoginFailure::Locked,
        other => LoginFailure::Failed(other.to_string()),
    })
}

/// The outbox body of an outcome.
pub fn outcome_body(draft: &OutcomeDraft) -> Result<Value, StoreError> {
    let session_id = Uuid::parse_str(&draft.session_id)
        .map_err(|e| StoreError::Corrupt(format!("the staff session id is not a UUID: {e}")))?;
    let outcome = AppointmentOutcome {
        session_id,
        appointment_id: draft.appointment_id.clone(),
        status: draft.status,
        topic: draft.topic.to_string(),
        referral: draft.referral.clone(),
    };
    serde_json::to_value(outcome).map_err(StoreError::from)
}

/// Puts an outcome into the outbox; on disk when this returns.
pub fn record_outcome(store: &Store, draft: &OutcomeDraft) -> Result<Uuid, StoreError> {
    store.enqueue(OutboxKind::AppointmentOutcome, outcome_body(draft)?)
}

/// The region's destination categories from the replica: where a health worker may refer to.
pub fn referral_categories(store: &Store, region_id: &str) -> StoreResult<Vec<String>> {
    Ok(store
        .replica_list("regions")?
        .into_iter()
        .find(|r| r.id == region_id)
        .and_then(|r| r.body.get("destination_categories").cloned())
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default())
}

/// The region's time zone from the replica (Europe/Berlin until the region is known).
pub fn region_zone(store: &Store, region_id: &str) -> StoreResult<chrono_tz::Tz> {
    Ok(store
        .replica_list("regions")?
        .into_iter()
        .find(|r| r.id == region_id)
        .and_then(|r| r.body.get("time_zone")?.as_str()?.parse().ok())
        .unwrap_or(chrono_tz::Europe::Berlin))
}

/// Wires the staff screens of `app` to the hub and the outbox: logins run on `runtime`, their
/// answer comes back on the UI thread; outcomes are stored on a blocking thread. Call on the UI
/// thread after `ui::init`, e.g. with `Arc::new(IdentityHub::new(data_dir))`.
pub fn attach<H: StaffHub + Send + Sync + 'static>(
    app: &AppWindow,
    store: Store,
    hub: Arc<H>,
    region_id: String,
    runtime: tokio::runtime::Handle,
) {
    let (weak, login_store, login_runtime) = (app.as_weak(), store.clone(), runtime.clone());
    let login_fn = move |username: String, pin: String| {
        let (weak, store, hub, region_id) = (
            weak.clone(),
            login_store.clone(),
            hub.clone(),
            region_id.clone(),
        );
        login_runtime.spawn(async move {
            let answer = login(hub.as_ref(), &username, &pin).await;
            let read = tokio::task::spawn_blocking(move || {
                Ok::<_, StoreError>((
                    referral_categories(&store, &region_id)?,
                    region_zone(&store, &region_id)?,
                ))
            })
            .await;
            let (referrals, tz) = match read {
                Ok(Ok(read)) => read,
                Ok(Err(e)) => {
                    tracing::error!("reading the replica for health worker mode: {e}");
                    (Vec::new(), chrono_tz::Europe::Berlin)
                }
                Err(_) => return,
            };
            let shown = weak.upgrade_in_event_loop(move |app| match answer {
                Ok(session) => staff::show_session(&app, &session, referrals, tz),
                Err(failure) => {
                    if let LoginFailure::Failed(why) = &failure {
                        tracing::warn!("staff login failed: {why}");
                    }
                    staff::show_failure(&app, &failure);
                }
            });
            if shown.is_err() {
                tracing::warn!("the window closed before the staff login answered");
            }
        });
    };
    let save_fn = move |draft: OutcomeDraft| {
        let store = store.clone();
        runtime.spawn_blocking(move || match record_outcome(&store, &draft) {
            Ok(id) => tracing::info!(%id, at = %Utc::now(), "appointment outcome in the outbox"),
            Err(e) => tracing::error!("storing an appointment outcome: {e}"),
        });
    };
    staff::init(app, login_fn, save_fn);
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use protocol::staff::OutcomeStatus;
    use serde_json::json;

    use super::*;

    struct Hub {
        answer: Mutex<Option<Result<StaffSession, HubError>>>,
    }

    impl StaffHub for Hub {
        async fn open_session(&self, login: &StaffLogin) -> Result<StaffSession, HubError> {
            assert_eq!(login.pin, "246810");
            self.answer.lock().unwrap().take().unwrap()
        }
    }

    fn hub(answer: Result<StaffSession, HubError>) -> Hub {
        Hub {
            answer: Mutex::new(Some(answer)),
        }
    }

    fn problem(status: u16) -> HubError {
        HubError::Problem {
            status,
            title: "x".into(),
            detail: String::new(),
            field: None,
        }
    }

    #[tokio::test]
    async fn the_hubs_refusals_read_as_what_the_screen_says() {
        let offline = hub(Err(HubError::Unreachable("refused".into())));
        assert_eq!(
            login(&offline, "hanna", "246810").await,
            Err(LoginFailure::Offline)
        );
        let wrong = hub(Err(problem(401)));
        assert_eq!(
            login(&wrong, "hanna", "246810").await,
            Err(LoginFailure::Refused)
        );
        let locked = hub(Err(problem(423)));
        assert_eq!(
            login(&locked, "hanna", "246810").await,
            Err(LoginFailure::Locked)
        );
        let broken = hub(Err(problem(500)));
        assert!(matches!(
            login(&broken, "hanna", "246810").await,
            Err(LoginFailure::Failed(_))
        ));
    }

    #[test]
    fn an_outcome_goes_into_the_outbox_without_free_text() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kiosk.db")).unwrap();
        let draft = OutcomeDraft {
            session_id: Uuid::from_u128(7).to_string(),
            appointment_id: "a1".into(),
            status: OutcomeStatus::Attended,
            topic: "money",
            referral: Some("counselling".into()),
        };
        let id = record_outcome(&store, &draft).unwrap();
        let pending = store.pending(10).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, id);
        assert_eq!(pending[0].kind, OutboxKind::AppointmentOutcome);
        assert_eq!(
            pending[0].body,
            json!({"session_id": Uuid::from_u128(7), "appointment_id": "a1",
                   "status": "attended", "topic": "money", "referral": "counselling"})
        );
        let bad = OutcomeDraft {
            session_id: "forgotten".into(),
            ..draft
        };
        assert!(record_outcome(&store, &bad).is_err());
        assert_eq!(store.pending(10).unwrap().len(), 1);
    }
}

//! The kiosk with a screen: the touch UI wired to the replica and the booking core.
//!
//! The UI runs on the main thread and never waits: what reads the disk or talks to the hub runs
//! on the Tokio runtime, and its result comes back with `upgrade_in_event_loop`. [`attach`] gives
//! every flow the data it shows from the replica ([`Shown`], read again every
//! [`REFRESH_EVERY`] while the start screen is up, so a resident's choices never change under
//! their finger) and turns the flows' "Buchen" into [`core::book_ride`] calls.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use slint::{ComponentHandle, Timer, TimerMode};

use crate::core::{
    self, AppointmentAsk, BookingResult, BookingStatus, CoreError, Place, RideAsk, When,
};
use crate::hub_client::{HubClient, Timeouts};
use crate::identity::Identity;
use crate::requests::{self, CallBackAsk, HelpService};
use crate::store::{ReplicaRow, Store, StoreResult};
use crate::sync::{Transport, TransportError};
use crate::ui::booking;
use crate::ui::counselling::{self, AppointmentDraft, Here, Offer};
use crate::ui::help::{self, CallBackDraft};
use crate::ui::person::{self, LoginAnswer, PersonPlace};
use crate::ui::ride::{self, DestinationChoice, RideDraft};
use crate::ui::{self, AppWindow, Navigation, Page, RideScreen, RideState, Status};
use protocol::people::{CAREGIVER_SESSIONS_PATH, CaregiverSession, CaregiverSessionRequest};
use protocol::sync::OutboxKind;
use protocol::sync::{SyncRequest, SyncResponse};
use std::collections::HashSet;

/// How long a booking waits for the hub's answer before the screen shows a stored request.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(8);

/// How often the screens' data is read again from the replica.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// How often the screens look at the replica until the first sync brought the kiosk's village.
pub const FIRST_REFRESH: Duration = Duration::from_secs(2);

/// How long after the appointment the way back is asked for (the driver's call-back queue moves
/// it when the appointment runs longer).
pub const RETURN_AFTER: chrono::Duration = chrono::Duration::minutes(60);

/// What the kiosk's screens need from outside the UI thread.
pub struct Backend<T> {
    pub store: Store,
    pub transport: Arc<T>,
    pub region_id: String,
    pub device_id: String,
    pub runtime: tokio::runtime::Handle,
    pub answer_within: Duration,
}

/// What the screens show from the replica at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The village of the kiosk's stop, empty until the first sync brought it.
    pub village: String,
    /// The region's time zone (Europe/Berlin until the region is known).
    pub tz: Tz,
    /// Today in the region.
    pub today: NaiveDate,
    pub destinations: Vec<DestinationChoice>,
    /// The destinations that help with a need ("Hilfe finden").
    pub help: Vec<HelpService>,
    /// The village's streets, the ride service and the hub's phone ("Für wen?").
    pub person: PersonPlace,
    /// The IMBUS visits and free counselling slots.
    pub counselling: Offer,
}

impl Shown {
    /// Reads what the screens show from the replica (blocks on SQLite: not on the UI thread).
    pub fn read(
        store: &Store,
        region_id: &str,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Shown> {
        let text = |row: &ReplicaRow, name: &str| -> Option<String> {
            row.body.get(name).and_then(Value::as_str).map(String::from)
        };
        let region = store
            .replica_list("regions")?
            .into_iter()
            .find(|r| r.id == region_id);
        let tz = region
            .as_ref()
            .and_then(|r| text(r, "time_zone"))
            .and_then(|t| t.parse::<Tz>().ok())
            .unwrap_or(chrono_tz::Europe::Berlin);
        let village_id = store
            .replica_list("devices")?
            .iter()
            .find(|r| r.id == device_id)
            .and_then(|r| text(r, "village_id"));
        let village_row = match village_id {
            Some(id) => store
                .replica_list("villages")?
                .into_iter()
                .find(|r| r.id == id),
            None => None,
        };
        let village = village_row
            .as_ref()
            .and_then(|r| text(r, "name"))
            .unwrap_or_default();
        let streets: Vec<String> = village_row
            .as_ref()
            .and_then(|r| r.body.get("streets"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // Slots an unanswered entry of this kiosk holds are not offered again.
        let held: HashSet<String> = store
            .pending(usize::MAX)?
            .into_iter()
            .filter(|e| e.kind == OutboxKind::Appointment)
            .filter_map(|e| e.body.get("slot_id")?.as_str().map(String::from))
            .collect();
        let here_village = village_row
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_default();
        let counselling = counselling::offer(
            &counselling::Rows::read(store)?,
            Here {
                device_id,
                village_id: &here_village,
            },
            &held,
            now,
            tz,
        );
        let person = PersonPlace {
            streets,
            service: region
                .as_ref()
                .and_then(|r| text(r, "name"))
                .map(|name| format!("Fahrdienst {name}"))
                .unwrap_or_default(),
            hub_phone: region
                .as_ref()
                .and_then(|r| text(r, "phone"))
                .unwrap_or_default(),
        };
        let live = |row: &ReplicaRow| {
            text(row, "region_id").is_none_or(|r| r == region_id)
                && row.body.get("archived_at").is_none_or(Value::is_null)
        };
        let rows: Vec<ReplicaRow> = store
            .replica_list("destinations")?
            .into_iter()
            .filter(live)
            .collect();
        Ok(Shown {
            village,
            tz,
            today: now.with_timezone(&tz).date_naive(),
            destinations: ride::destinations_from_replica(&rows),
            help: requests::help_services(&rows),
            person,
            counselling,
        })
    }
}

/// Why a draft cannot become a ride request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// The clock skips this local time (the spring clock change).
    #[error("{0} does not exist in the region's time zone")]
    NoSuchTime(NaiveDateTime),
}

/// The ride requests of a draft: the way there to arrive by the appointment, and the way back
/// [`RETURN_AFTER`] it when asked for (`None` otherwise).
/// The resident is the draft's rider ([`core::book_ride_for`] puts them in).
pub fn ride_asks(
    draft: &RideDraft,
    region_id: &str,
    tz: Tz,
) -> Result<(RideAsk, Option<RideAsk>), DraftError> {
    let local = draft.date.and_time(draft.appointment);
    let at = tz
        .from_local_datetime(&local)
        .earliest()
        .ok_or(DraftError::NoSuchTime(local))?
        .with_timezone(&Utc);
    let there = RideAsk {
        region_id: region_id.into(),
        resident_id: String::new(),
        from: Place::Home,
        to: Place::Destination(draft.destination_id.clone()),
        when: When::Appointment(at),
        passengers: if draft.companion { 2 } else { 1 },
        wheelchair: draft.wheelchair,
        walker: draft.walker,
    };
    let back = draft.return_trip.then(|| RideAsk {
        from: Place::Destination(draft.destination_id.clone()),
        to: Place::Home,
        when: When::Pickup(at + RETURN_AFTER),
        ..there.clone()
    });
    Ok((there, back))
}

/// The answer to a ride booking as the result screen shows it.
#[derive(Debug)]
pub enum RideOutcome {
    Booked {
        there: BookingResult,
        back: Option<BookingResult>,
    },
    /// The draft names a time that does not exist; nothing was stored.
    Impossible(DraftError),
    /// The kiosk could not store the booking; nothing was promised.
    Failed(CoreError),
}

impl<T: Transport + Send + Sync + 'static> Backend<T> {
    /// Books the draft's rides for its rider: the way there, then (when it was not refused) the
    /// way back linked to it.
    pub async fn book_ride(&self, draft: &RideDraft, tz: Tz) -> RideOutcome {
        let (there, back) = match ride_asks(draft, &self.region_id, tz) {
            Ok(asks) => asks,
            Err(e) => return RideOutcome::Impossible(e),
        };
        let (transport, rider) = (self.transport.as_ref(), &draft.rider);
        let there =
            match core::book_ride_for(&self.store, transport, &there, rider, self.answer_within)
                .await
            {
                Ok((result, _number)) => result,
                Err(e) => return RideOutcome::Failed(e),
            };
        let back = match back {
            Some(back) if !matches!(there.status, BookingStatus::Refused { .. }) => {
                match core::book_return(
                    &self.store,
                    transport,
                    there.id,
                    &back,
                    rider,
                    self.answer_within,
                )
                .await
                {
                    Ok(result) => Some(result),
                    Err(e) => return RideOutcome::Failed(e),
                }
            }
            _ => None,
        };
        RideOutcome::Booked { there, back }
    }
}

/// Shows a ride booking's outcome on the result screen.
pub fn show_ride_outcome(app: &AppWindow, outcome: &RideOutcome, tz: Tz) {
    match outcome {
        RideOutcome::Booked { there, .. } => ride::show_result(app, there, tz),
        RideOutcome::Impossible(e) => {
            tracing::info!(error = %e, "a ride draft with an impossible time");
            refuse(app);
        }
        RideOutcome::Failed(e) => {
            tracing::error!(error = %e, "a ride could not be stored");
            refuse(app);
        }
    }
}

fn refuse(app: &AppWindow) {
    let screen = app.global::<RideScreen>();
    screen.set_code(Default::default());
    screen.set_state(RideState::Refused);
    app.global::<Navigation>().set_page(Page::RideResult);
}

/// What keeps the kiosk's screen running; dropping it stops the clock.
pub struct Attached {
    _clock: Timer,
}

/// Connects `app` to `backend`: the data of every flow now and every [`REFRESH_EVERY`] after,
/// the clock, and bookings. Call on the UI thread, after [`ui::init`].
pub fn attach<T: HubAccess + Send + Sync + 'static>(
    app: &AppWindow,
    backend: Arc<Backend<T>>,
) -> Attached {
    // The region's time zone, once the replica names it.
    let zone = Arc::new(Mutex::new(chrono_tz::Europe::Berlin));

    let clock = Timer::default();
    let (weak, clock_zone) = (app.as_weak(), zone.clone());
    let tick = move || {
        if let Some(app) = weak.upgrade() {
            let tz = *clock_zone.lock().unwrap_or_else(PoisonError::into_inner);
            ui::set_clock(&app, &Utc::now().with_timezone(&tz));
        }
    };
    tick();
    clock.start(TimerMode::Repeated, Duration::from_secs(5), tick);

    attach_booking(app, &backend, zone.clone());

    // The replica, read on the runtime and handed to the UI thread.
    let weak = app.as_weak();
    let reader = backend.clone();
    backend.runtime.spawn(async move {
        let mut village_known = false;
        loop {
            let store = reader.store.clone();
            let (region, device) = (reader.region_id.clone(), reader.device_id.clone());
            let read = tokio::task::spawn_blocking(move || {
                Shown::read(&store, &region, &device, Utc::now())
            })
            .await;
            match read {
                Ok(Ok(fresh)) => {
                    village_known = !fresh.village.is_empty();
                    *zone.lock().unwrap_or_else(PoisonError::into_inner) = fresh.tz;
                    let backend = reader.clone();
                    let posted = weak.upgrade_in_event_loop(move |app| {
                        apply(&app, fresh, &backend);
                    });
                    if posted.is_err() {
                        // The event loop has ended: the kiosk is shutting down.
                        break;
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "reading the replica for the screens"),
                Err(_) => break,
            }
            // Soon again while the first sync has not brought the region yet.
            let pause = if village_known {
                REFRESH_EVERY
            } else {
                FIRST_REFRESH
            };
            tokio::time::sleep(pause).await;
        }
    });
    Attached { _clock: clock }
}

/// "Meine Buchung": a code looked up in the kiosk's store, a cancellation through the outbox.
fn attach_booking<T: HubAccess + Send + Sync + 'static>(
    app: &AppWindow,
    backend: &Arc<Backend<T>>,
    zone: Arc<Mutex<Tz>>,
) {
    let (find_weak, find_backend) = (app.as_weak(), backend.clone());
    let (cancel_weak, cancel_backend) = (app.as_weak(), backend.clone());
    booking::init(
        app,
        move |code| {
            let (weak, backend, zone) = (find_weak.clone(), find_backend.clone(), zone.clone());
            let store = backend.store.clone();
            backend.runtime.spawn(async move {
                // With the booking, whether its IMBUS visit was called off.
                let view = tokio::task::spawn_blocking(move || {
                    let view = requests::booking_view(&store, &code)?;
                    let visit_off = counselling::cancelled_visit_of(&store, &code)?;
                    Ok::<_, crate::store::StoreError>((code, view, visit_off))
                })
                .await;
                match view {
                    Ok(Ok((code, view, visit_off))) => {
                        let tz = *zone.lock().unwrap_or_else(PoisonError::into_inner);
                        let _ = weak.upgrade_in_event_loop(move |app| {
                            booking::show(&app, &code, view.as_ref(), tz);
                            counselling::show_booking_visit(&app, visit_off.as_deref());
                        });
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "reading a booking"),
                    Err(_) => {}
                }
            });
        },
        move |code| {
            let (weak, backend) = (cancel_weak.clone(), cancel_backend.clone());
            let runtime = backend.runtime.clone();
            runtime.spawn(async move {
                let transport = backend.transport.as_ref();
                let sent = match requests::cancel_booking(
                    &backend.store,
                    transport,
                    &code,
                    backend.answer_within,
                )
                .await
                {
                    Ok((_, sent)) => sent,
                    Err(e) => {
                        tracing::error!(error = %e, "a cancellation could not be stored");
                        requests::Sent::Refused(e.to_string())
                    }
                };
                let _ = weak.upgrade_in_event_loop(move |app| booking::show_cancelled(&app, &sent));
            });
        },
    );
}

/// Hands fresh replica data to the screens, unless a resident is in the middle of a flow.
fn apply<T: HubAccess + Send + Sync + 'static>(
    app: &AppWindow,
    shown: Shown,
    backend: &Arc<Backend<T>>,
) {
    app.global::<Status>()
        .set_village(shown.village.as_str().into());
    if app.global::<Navigation>().get_page() != Page::Start {
        return;
    }
    let tz = shown.tz;
    let (weak, help_backend) = (app.as_weak(), backend.clone());
    help::init(
        app,
        shown.help,
        move || Utc::now().with_timezone(&tz).naive_local(),
        move |draft: CallBackDraft| {
            let (weak, backend) = (weak.clone(), help_backend.clone());
            let runtime = backend.runtime.clone();
            runtime.spawn(async move {
                let ask = CallBackAsk {
                    region_id: backend.region_id.clone(),
                    name: draft.name,
                    phone: draft.phone,
                    need: draft.need,
                };
                let transport = backend.transport.as_ref();
                let sent = requests::request_call_back(
                    &backend.store,
                    transport,
                    &ask,
                    backend.answer_within,
                )
                .await;
                let sent = match sent {
                    Ok(Ok((_, sent))) => sent,
                    Ok(Err(refused)) => requests::Sent::Refused(refused.to_string()),
                    Err(e) => {
                        tracing::error!(error = %e, "a call-back request could not be stored");
                        requests::Sent::Refused(e.to_string())
                    }
                };
                let _ = weak.upgrade_in_event_loop(move |app| help::show_sent(&app, &sent));
            });
        },
    );
    counselling::set_offer(app, &shown.counselling);
    let (weak, booking_backend) = (app.as_weak(), backend.clone());
    counselling::init(app, Utc::now, move |draft: AppointmentDraft| {
        let (weak, backend) = (weak.clone(), booking_backend.clone());
        let runtime = backend.runtime.clone();
        runtime.spawn(async move {
            let ask = AppointmentAsk {
                region_id: backend.region_id.clone(),
                slot_id: draft.slot_id,
                topic: Some(draft.topic),
                resident_id: None,
            };
            let booked = core::book_appointment(
                &backend.store,
                backend.transport.as_ref(),
                &ask,
                &backend.device_id,
                backend.answer_within,
            )
            .await;
            match booked {
                Ok(result) => {
                    let _ = weak
                        .upgrade_in_event_loop(move |app| counselling::show_result(&app, &result));
                }
                Err(e) => tracing::error!(error = %e, "an appointment could not be stored"),
            }
        });
    });
    let (weak, login_backend) = (app.as_weak(), backend.clone());
    person::init(app, shown.person, move |phone, pin| {
        let (weak, backend) = (weak.clone(), login_backend.clone());
        let runtime = backend.runtime.clone();
        runtime.spawn(async move {
            let answer = match backend.transport.client() {
                Ok(client) => LoginAnswer::from_hub(
                    client
                        .post::<_, CaregiverSession>(
                            CAREGIVER_SESSIONS_PATH,
                            &CaregiverSessionRequest { phone, pin },
                        )
                        .await,
                ),
                Err(e) => {
                    tracing::info!(error = %e, "caregiver login without a hub client");
                    LoginAnswer::Offline
                }
            };
            let _ = weak.upgrade_in_event_loop(move |app| person::show_login(&app, answer));
        });
    });
    let (weak, backend) = (app.as_weak(), backend.clone());
    ride::init(app, shown.destinations, shown.today, move |draft| {
        let (weak, backend) = (weak.clone(), backend.clone());
        let runtime = backend.runtime.clone();
        runtime.spawn(async move {
            let outcome = backend.book_ride(&draft, tz).await;
            let _ = weak.upgrade_in_event_loop(move |app| show_ride_outcome(&app, &outcome, tz));
        });
    });
}

/// What the screens need of the hub besides the sync: a client for the calls that write nothing
/// (a caregiver's login).
pub trait HubAccess: Transport {
    fn client(&self) -> Result<HubClient, TransportError>;
}

impl HubAccess for CurrentHub {
    fn client(&self) -> Result<HubClient, TransportError> {
        self.current()
    }
}

/// The hub as the screens reach it, with the device's current certificate: the appliance loop
/// may rotate it at any time, so the identity file is read again before each exchange and a new
/// client made when it changed.
pub struct CurrentHub {
    data_dir: PathBuf,
    client: Mutex<Option<(String, HubClient)>>,
}

impl CurrentHub {
    pub fn new(data_dir: PathBuf) -> CurrentHub {
        CurrentHub {
            data_dir,
            client: Mutex::new(None),
        }
    }

    /// The client with the certificate the identity file holds now.
    pub fn current(&self) -> Result<HubClient, TransportError> {
        let identity = Identity::load(&self.data_dir)
            .map_err(|e| TransportError::Unreachable(format!("the device identity: {e}")))?;
        let mut held = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((issued, client)) = held.as_ref()
            && *issued == identity.issued_at
        {
            return Ok(client.clone());
        }
        let client = HubClient::for_device(&identity, Timeouts::default())
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        *held = Some((identity.issued_at.clone(), client.clone()));
        Ok(client)
    }
}

impl Transport for CurrentHub {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        let client = self.current()?;
        client.exchange(request).await
    }
}

//! The hub's domain records. Each input struct is a [`Resource`](crate::store::records::Resource):
//! its fields are the writable columns of its table, its `validate` holds the rules.

pub mod callbacks;
pub mod common;
pub mod counselling;
pub mod devices;
pub mod fleet;
pub mod people;
pub mod places;
pub mod rides;
pub mod series;
pub mod tours;

pub use callbacks::CallBack;
pub use counselling::{Appointment, ConsultationHours, ImbusVisit, Slot};
pub use devices::Device;
pub use fleet::{Shift, Vehicle};
pub use people::{Account, Caregiver, CaregiverLink, ConsentHow, Resident, Role};
pub use places::{Destination, Region, Stop, Village};
pub use rides::{RideRequest, RouteStop};
pub use series::RideSeries;
pub use tours::{ImbusBus, ImbusClosedDay, ImbusCounsellor};

//! The IMBUS tour planner's input and output.
//!
//! Times are whole minutes after local midnight (wall clock of the region); days are indices into
//! the planned period, counted from its first day, which is always a Monday: day `d` is weekday
//! `d % 7` (0 = Monday) of week `d / 7`. The hub turns them into dates and UTC instants; the
//! planner never sees a calendar or a clock. Places are indices into the caller's
//! [`crate::travel::TravelMatrix`].

/// Everything the tour planner needs to know about one region's cycle.
#[derive(Clone, Debug, PartialEq)]
pub struct TourInput {
    /// Length of the cycle in weeks (1 to 8). Every village's `every_weeks` divides it.
    pub weeks: u32,
    /// The villages to visit, each with its own frequency and visit length.
    pub villages: Vec<TourVillage>,
    /// The counselling buses.
    pub buses: Vec<Bus>,
    /// The counsellors; every bus that drives on a day needs one of them on board.
    pub counsellors: Vec<Counsellor>,
    /// Days on which no bus drives in the whole region: public holidays and blocked days.
    pub closed_days: Vec<u32>,
    /// The timetable's grid: every pattern start and every replacement start is a multiple of
    /// this many minutes after midnight, so residents read round times (15: 08:45, 14:15).
    /// 1 = no rounding. 1 to 60 and a divisor of 60.
    pub start_step_minutes: u32,
}

/// A village the IMBUS visits.
#[derive(Clone, Debug, PartialEq)]
pub struct TourVillage {
    /// The caller's id, returned unchanged in the output.
    pub id: String,
    /// The village's IMBUS stop: a place index of the travel matrix.
    pub place: usize,
    /// A visit every this many weeks (1 = weekly, 2 = fortnightly, 4 = every four weeks).
    pub every_weeks: u32,
    /// How long the bus stands in the village, in minutes.
    pub visit_minutes: u32,
}

/// A counselling bus with its working time.
#[derive(Clone, Debug, PartialEq)]
pub struct Bus {
    /// The caller's id, returned unchanged in the output.
    pub id: String,
    /// Where the bus starts and ends each day: a place index of the travel matrix.
    pub depot: usize,
    /// The weekdays the bus works (0 = Monday ... 6 = Sunday).
    pub weekdays: Vec<u8>,
    /// Working time each working day: leaves the depot no earlier, is back no later (minutes).
    pub day_start: u32,
    pub day_end: u32,
    /// A break of this many minutes, parked (not driving, not visiting), starting no earlier
    /// than `break_from` and ending no later than `break_until`. Zero minutes: no break.
    pub break_minutes: u32,
    pub break_from: u32,
    pub break_until: u32,
    /// Days this bus does not drive (workshop, inspection).
    pub blocked_days: Vec<u32>,
}

/// A counsellor who staffs the bus.
#[derive(Clone, Debug, PartialEq)]
pub struct Counsellor {
    /// The caller's id, returned unchanged in the output.
    pub id: String,
    /// The weekdays the counsellor works (0 = Monday ... 6 = Sunday).
    pub weekdays: Vec<u8>,
    /// Days off: holidays taken, training, illness known in advance.
    pub absent_days: Vec<u32>,
}

/// A village's regular appointment: the same weekday and time every `every_weeks` weeks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    pub village: String,
    pub bus: String,
    /// 0 = Monday ... 6 = Sunday.
    pub weekday: u8,
    /// The first week of the cycle with a visit (0 <= week_offset < every_weeks).
    pub week_offset: u32,
    pub every_weeks: u32,
    /// Arrival and departure in the village, minutes after local midnight.
    pub start: u32,
    pub end: u32,
}

/// One visit on one day of the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedVisit {
    pub village: String,
    pub bus: String,
    pub counsellor: String,
    pub day: u32,
    pub start: u32,
    pub end: u32,
    /// The pattern's day was closed, so this visit stands in for it on another day of the same
    /// week (a replacement, announced as such); `false` for every regular visit.
    pub replacement: bool,
}

/// One bus's working day.
#[derive(Clone, Debug, PartialEq)]
pub struct DayTour {
    pub bus: String,
    pub counsellor: String,
    pub day: u32,
    /// Leaves the depot and is back, minutes after local midnight.
    pub leaves: u32,
    pub returns: u32,
    /// The break's start (minutes), if the bus has one.
    pub break_start: Option<u32>,
    /// Indices into [`TourPlan::visits`], in driving order.
    pub visits: Vec<usize>,
    /// Driving time of the day (depot, visits, depot), seconds.
    pub driving_seconds: f64,
}

/// A village visit the plan could not give, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    pub village: String,
    /// The week of the cycle whose visit is missing.
    pub week: u32,
    pub reason: UnmetReason,
}

/// Why a visit is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmetReason {
    /// No bus day with a counsellor had room for it in that week.
    NoRoom,
    /// The village cannot be reached and left within any bus's working time at all.
    Unreachable,
}

/// How good a plan is, in the order the planner ranks plans.
#[derive(Clone, Debug, PartialEq)]
pub struct TourFigures {
    /// Visits the frequencies ask for in the cycle, and how many the plan gives.
    pub visits_required: u32,
    pub visits_planned: u32,
    /// Villages whose every required visit is planned.
    pub villages_met: u32,
    pub villages: u32,
    /// Driving time of all day tours of the cycle, seconds.
    pub driving_seconds: f64,
    /// A lower bound on `driving_seconds` for any plan that makes all required visits
    /// (see [`crate::tours::lower_bound`]).
    pub driving_lower_bound_seconds: f64,
    /// Visits on another day than their pattern's (closed pattern days).
    pub replacements: u32,
}

/// The result of planning: the regular patterns, the concrete visits and tours of the period,
/// what is missing, and the figures.
#[derive(Clone, Debug, PartialEq)]
pub struct TourPlan {
    pub patterns: Vec<Pattern>,
    pub visits: Vec<PlannedVisit>,
    pub tours: Vec<DayTour>,
    pub unmet: Vec<Unmet>,
    pub figures: TourFigures,
    /// Compared with the previous patterns given to the planner: which villages' regular
    /// appointment moved, and why. Empty without previous patterns.
    pub moves: Vec<Move>,
}

/// A village's regular appointment that changed between the previous plan and this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub village: String,
    pub before: Option<Pattern>,
    pub after: Option<Pattern>,
    pub reason: MoveReason,
}

/// Why a regular appointment changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveReason {
    /// The village is new: it had no pattern before.
    NewVillage,
    /// The village is no longer in the input.
    VillageRemoved,
    /// Its frequency or visit length changed, so its old pattern no longer fits.
    VillageChanged,
    /// Its old pattern's bus no longer exists or no longer works on that weekday.
    DayLost,
    /// Its old pattern would no longer fit the day (working hours, travel, counsellors), or it
    /// moved so another village fits.
    MadeRoom,
}

/// How long the planner searches: a number of local-search iterations (reproducible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TourBudget {
    pub iterations: u32,
}

impl Default for TourBudget {
    /// Enough for a county of 100 villages and 2 buses in a few seconds.
    fn default() -> Self {
        TourBudget { iterations: 2000 }
    }
}

/// Input the planner refuses, with the offending part named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TourError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

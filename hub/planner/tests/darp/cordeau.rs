//! The Cordeau reader on the real benchmark files of both header variants.

use planner::darp::{TimeWindow, cordeau};

use super::data;

#[test]
fn reads_cordeau_2006_with_end_depot_line() {
    let i = cordeau::parse(&data("cordeau-2006/a2-16.txt")).expect("a2-16 parses");
    assert_eq!(i.requests().len(), 16);
    assert_eq!(i.vehicles().len(), 2);
    let v = &i.vehicles()[0];
    assert_eq!((v.start, v.end, v.seats), (0, 33, 3));
    assert_eq!(v.max_duration, 480.0);
    let r = &i.requests()[0];
    assert_eq!(
        (r.pickup, r.dropoff, r.max_ride, r.pickup_service),
        (1, 17, 30.0, 3.0)
    );
}

#[test]
fn reads_cordeau_laporte_2003_without_end_depot_line() {
    let i = cordeau::parse(&data("cordeau-laporte-2003/pr01.txt")).expect("pr01 parses");
    assert_eq!(i.requests().len(), 24);
    assert_eq!(i.vehicles().len(), 3);
    let v = &i.vehicles()[0];
    assert_eq!((v.start, v.end, v.seats), (0, 0, 6));
    assert_eq!(v.shift, TimeWindow::new(0.0, 1440.0));
    assert_eq!(i.requests()[0].dropoff, 25);
    assert_eq!(i.requests()[0].max_ride, 90.0);
    // Request 18 of the file (index 17) is inbound: its pickup has the window.
    assert_eq!(
        i.requests()[17].pickup_window,
        TimeWindow::new(409.0, 426.0)
    );
    let pr07 = cordeau::parse(&data("cordeau-laporte-2003/pr07.txt")).expect("pr07 parses");
    assert_eq!(pr07.requests().len(), 36);
}

#[test]
fn rejects_malformed_files() {
    assert!(cordeau::parse("").is_err());
    assert!(cordeau::parse("2 4 480 6 90\n0 0 0 0 0 0 1440\n1 x 0 0 1 0 1\n").is_err());
    assert!(cordeau::parse("2 4 480 6 90\n0 0 0 0 0 0 1440\n").is_err());
}

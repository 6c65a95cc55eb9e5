//! Input the planner refuses, with the field named.

use planner::tours::{self, TourError, TourInput};

use super::{BUDGET, small};

/// A change that breaks one field of the small region's input.
type Change = Box<dyn FnOnce(&mut TourInput)>;

fn refused(change: impl FnOnce(&mut TourInput)) -> String {
    let (mut input, travel) = small();
    change(&mut input);
    match tours::plan(&input, &travel, &[], 1, BUDGET) {
        Err(TourError::Invalid { field, message }) => {
            assert!(!message.is_empty());
            field
        }
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let cases: Vec<(&str, Change)> = vec![
        ("weeks", Box::new(|i| i.weeks = 0)),
        ("weeks", Box::new(|i| i.weeks = 9)),
        (
            "villages[3].every_weeks",
            Box::new(|i| i.villages[3].every_weeks = 3),
        ),
        (
            "villages[3].every_weeks",
            Box::new(|i| i.villages[3].every_weeks = 0),
        ),
        ("villages[1].place", Box::new(|i| i.villages[1].place = 99)),
        (
            "villages[2].visit_minutes",
            Box::new(|i| i.villages[2].visit_minutes = 0),
        ),
        (
            "villages[4].id",
            Box::new(|i| i.villages[4].id = "Dahlum".into()),
        ),
        (
            "villages[0].id",
            Box::new(|i| i.villages[0].id = " ".into()),
        ),
        ("buses[0].depot", Box::new(|i| i.buses[0].depot = 7)),
        (
            "buses[0].weekdays[1]",
            Box::new(|i| i.buses[0].weekdays[1] = 7),
        ),
        (
            "buses[0].weekdays[2]",
            Box::new(|i| i.buses[0].weekdays[2] = 0),
        ),
        (
            "buses[0].day_start",
            Box::new(|i| i.buses[0].day_start = 1020),
        ),
        ("buses[0].day_end", Box::new(|i| i.buses[0].day_end = 1500)),
        (
            "buses[0].break_minutes",
            Box::new(|i| i.buses[0].break_minutes = 200),
        ),
        (
            "buses[0].break_from",
            Box::new(|i| i.buses[0].break_from = 900),
        ),
        (
            "buses[0].blocked_days[0]",
            Box::new(|i| i.buses[0].blocked_days = vec![28]),
        ),
        (
            "buses[1].id",
            Box::new(|i| i.buses.push(i.buses[0].clone())),
        ),
        (
            "counsellors[0].weekdays[0]",
            Box::new(|i| i.counsellors[0].weekdays[0] = 8),
        ),
        (
            "counsellors[0].absent_days[1]",
            Box::new(|i| i.counsellors[0].absent_days = vec![3, 40]),
        ),
        (
            "counsellors[1].id",
            Box::new(|i| i.counsellors.push(i.counsellors[0].clone())),
        ),
        ("closed_days[1]", Box::new(|i| i.closed_days = vec![0, 28])),
        ("start_step_minutes", Box::new(|i| i.start_step_minutes = 0)),
        ("start_step_minutes", Box::new(|i| i.start_step_minutes = 7)),
        (
            "start_step_minutes",
            Box::new(|i| i.start_step_minutes = 120),
        ),
        (
            "villages",
            Box::new(|i| {
                let v = i.villages[0].clone();
                i.villages = (0..2001)
                    .map(|k| planner::tours::TourVillage {
                        id: format!("V{k}"),
                        ..v.clone()
                    })
                    .collect();
            }),
        ),
    ];
    for (field, change) in cases {
        assert_eq!(refused(change), field);
    }
}

#[test]
fn a_travel_matrix_too_small_for_the_places_is_refused() {
    let (input, _) = small();
    let travel = super::line(&[0.0, 10.0]);
    let err = tours::plan(&input, &travel, &[], 1, BUDGET).expect_err("places 2.. missing");
    assert!(matches!(err, TourError::Invalid { ref field, .. } if field == "villages[1].place"));
    assert_eq!(tours::lower_bound(&input, &travel), 0.0);
}

//! Home rolling logged by a patient, checked against the shipped home-care
//! defaults (clinical reference §10, not evidence): a long needle, inflamed
//! skin, too soon after the last rolling of the same area, or too close to
//! a clinic session each warn in the patient's words; booking a session
//! warns staff of home rolling logged near it. Bad input is refused where
//! it was typed.

use jiff::civil::{date, Date};
use needlepoint_domain::homecare::{booking_warning, warnings, HomeUse, HomeUseInput};
use needlepoint_domain::Depth;

fn used(on: Date, area: &str, um: u32, inflamed: bool) -> HomeUse {
    HomeUse {
        on,
        area: area.into(),
        needle: Depth::from_micrometres(um).unwrap(),
        inflamed,
    }
}

#[test]
fn within_the_advice_there_is_no_warning() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let earlier = [used(date(2027, 3, 1), "cheeks", 250, false)];
    let new = used(date(2027, 3, 3), "cheeks", 300, false);
    assert!(warnings(&kb, &new, &earlier, &[date(2027, 3, 20)]).is_empty());
    // Another area the next day is fine too.
    let other = used(date(2027, 3, 2), "forehead", 200, false);
    assert!(warnings(&kb, &other, &earlier, &[]).is_empty());
}

#[test]
fn each_rule_warns_in_words() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let one = |new: HomeUse, earlier: &[HomeUse], sessions: &[Date]| {
        let w = warnings(&kb, &new, earlier, sessions);
        assert_eq!(w.len(), 1, "{w:?}");
        w[0].clone()
    };
    let w = one(used(date(2027, 3, 3), "cheeks", 500, false), &[], &[]);
    assert!(
        w.contains("we advise a home roller of 0.30 mm at most"),
        "{w}"
    );
    let w = one(used(date(2027, 3, 3), "cheeks", 250, true), &[], &[]);
    assert!(
        w.contains("Never roll on red, sore, broken or spotty skin"),
        "{w}"
    );
    let w = one(
        used(date(2027, 3, 3), "cheeks", 250, false),
        &[used(date(2027, 3, 2), "cheeks", 250, false)],
        &[],
    );
    assert!(w.starts_with("1 day after rolling the same area"), "{w}");
    assert!(w.contains("at least 2 days"), "{w}");
    let w = one(
        used(date(2027, 3, 3), "cheeks", 250, false),
        &[used(date(2027, 3, 3), "cheeks", 250, false)],
        &[],
    );
    assert!(w.starts_with("The same day"), "{w}");
    // Before and after a clinic session alike.
    for on in [date(2027, 3, 4), date(2027, 3, 16)] {
        let w = one(used(on, "cheeks", 250, false), &[], &[date(2027, 3, 10)]);
        assert!(
            w.contains("Too close to your clinic session on 10 Mar 2027")
                && w.contains("7 days before or after"),
            "{w}"
        );
    }
    let ok = used(date(2027, 3, 17), "cheeks", 250, false);
    assert!(warnings(&kb, &ok, &[], &[date(2027, 3, 10)]).is_empty());
    // Everything at once: every reason is said.
    let all = used(date(2027, 3, 10), "cheeks", 1000, true);
    assert_eq!(
        warnings(&kb, &all, std::slice::from_ref(&all), &[date(2027, 3, 10)]).len(),
        4
    );
}

#[test]
fn booking_a_session_warns_of_home_rolling_near_it() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let uses = [
        used(date(2027, 2, 1), "cheeks", 250, false),
        used(date(2027, 3, 6), "cheeks", 250, false),
    ];
    let w = booking_warning(&kb, date(2027, 3, 10), &uses).unwrap();
    assert!(w.contains("6 Mar 2027") && w.contains("Cheeks"), "{w}");
    assert!(booking_warning(&kb, date(2027, 3, 20), &uses).is_none());
    assert!(booking_warning(&kb, date(2027, 3, 10), &[]).is_none());
}

#[test]
fn bad_input_is_refused_where_typed() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let today = date(2027, 3, 10);
    let earliest = date(2026, 12, 10);
    let at = |input: HomeUseInput, field: &str| {
        let e = input.parse(&kb, today, earliest).unwrap_err();
        e.errors
            .iter()
            .find(|x| x.field == field)
            .map(|x| x.message.clone())
            .unwrap_or_else(|| panic!("no error at {field}: {e:?}"))
    };
    let good = HomeUseInput {
        on: "2027-03-09",
        area: "cheeks",
        needle_mm: "0.25",
        inflamed: false,
    };
    assert_eq!(
        good.parse(&kb, today, earliest)
            .unwrap()
            .needle
            .micrometres(),
        250
    );
    assert_eq!(
        at(
            HomeUseInput {
                on: "2027-03-11",
                ..good.clone()
            },
            "on"
        ),
        "That day has not come yet."
    );
    assert!(at(
        HomeUseInput {
            on: "2020-01-01",
            ..good.clone()
        },
        "on"
    )
    .contains("last few months"));
    assert_eq!(
        at(
            HomeUseInput {
                on: "",
                ..good.clone()
            },
            "on"
        ),
        "Choose the day."
    );
    assert_eq!(
        at(
            HomeUseInput {
                area: "elbow",
                ..good.clone()
            },
            "area"
        ),
        "Choose the area rolled."
    );
    assert!(!at(
        HomeUseInput {
            needle_mm: "abc",
            ..good.clone()
        },
        "needle_mm"
    )
    .is_empty());
    assert!(!at(
        HomeUseInput {
            needle_mm: "30",
            ..good.clone()
        },
        "needle_mm"
    )
    .is_empty());
    assert!(at(
        HomeUseInput {
            needle_mm: "0",
            ..good
        },
        "needle_mm"
    )
    .contains("printed on the roller"));
}

//! The adverse-event register's terms and checks on the shipped knowledge
//! base: CTCAE terms with each grade's wording (marked unverified until
//! checked against NCI's list), a grade the term does not have refused,
//! dates inside the session's story, grade 5 and death agreeing.

use jiff::civil::date;
use needlepoint_domain::adverse::{grade_words, AdverseInput, Outcome};

fn good<'a>() -> AdverseInput<'a> {
    AdverseInput {
        term: "skin_infection",
        specify: "",
        onset: "2027-03-13",
        grade: "2",
        expected: false,
        serious: false,
        actions: "Oral flucloxacillin for 7 days.",
        outcome: "resolved",
        resolved_on: "2027-03-20",
    }
}

#[test]
fn the_catalogue_has_the_terms_of_the_reference_with_their_grades() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let term = |c: &str| kb.ae_terms.iter().find(|t| t.code == c).unwrap();
    let infection = term("skin_infection");
    assert_eq!(
        grade_words(infection, 2),
        Some("Oral intervention indicated (e.g. antibiotic, antifungal, antiviral)")
    );
    assert_eq!(grade_words(infection, 6), None);
    assert_eq!(grade_words(infection, 0), None);
    assert_eq!(term("skin_hyperpigmentation").grades.len(), 2);
    assert!(
        kb.ae_terms.iter().all(|t| !t.wording_verified),
        "unverified until checked against NCI's list"
    );
    for code in [
        "rash_maculopapular",
        "pain_of_skin",
        "bruising",
        "edema_face",
        "allergic_reaction",
        "skin_other",
    ] {
        term(code);
    }
}

#[test]
fn a_good_event_is_kept_as_typed() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let e = good()
        .parse(&kb, date(2027, 3, 10), date(2027, 3, 21))
        .unwrap();
    assert_eq!(
        (e.grade, e.outcome, e.serious),
        (2, Outcome::Resolved, false)
    );
    assert_eq!(e.resolved_on, Some(date(2027, 3, 20)));
    // Life-threatening is serious whatever the box says.
    let e = AdverseInput {
        grade: "4",
        outcome: "ongoing",
        resolved_on: "",
        ..good()
    }
    .parse(&kb, date(2027, 3, 10), date(2027, 3, 21))
    .unwrap();
    assert!(e.serious);
}

#[test]
fn bad_input_is_refused_where_typed() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let (session, today) = (date(2027, 3, 10), date(2027, 3, 21));
    let at = |input: AdverseInput, field: &str| {
        let e = input.parse(&kb, session, today).unwrap_err();
        e.errors
            .iter()
            .find(|x| x.field == field)
            .map(|x| x.message.clone())
            .unwrap_or_else(|| panic!("no error at {field}: {e:?}"))
    };
    assert_eq!(
        at(
            AdverseInput {
                grade: "6",
                ..good()
            },
            "grade"
        ),
        "Choose a grade from 1 to 5."
    );
    assert_eq!(
        at(
            AdverseInput {
                grade: "0",
                ..good()
            },
            "grade"
        ),
        "Choose a grade from 1 to 5."
    );
    assert_eq!(
        at(
            AdverseInput {
                term: "skin_hyperpigmentation",
                grade: "3",
                ..good()
            },
            "grade"
        ),
        "Skin hyperpigmentation has grades 1 to 2 in CTCAE."
    );
    assert_eq!(
        at(
            AdverseInput {
                onset: "2027-03-09",
                ..good()
            },
            "onset"
        ),
        "The onset is before the session on 10 Mar 2027."
    );
    assert_eq!(
        at(
            AdverseInput {
                onset: "2027-03-22",
                ..good()
            },
            "onset"
        ),
        "That day has not come yet."
    );
    assert_eq!(
        at(
            AdverseInput {
                term: "elbow",
                ..good()
            },
            "term"
        ),
        "Choose the term from the list."
    );
    assert_eq!(
        at(
            AdverseInput {
                term: "skin_other",
                ..good()
            },
            "specify"
        ),
        "Say what it was."
    );
    assert_eq!(
        at(
            AdverseInput {
                resolved_on: "",
                ..good()
            },
            "resolved_on"
        ),
        "Give the day it resolved."
    );
    assert_eq!(
        at(
            AdverseInput {
                resolved_on: "2027-03-12",
                ..good()
            },
            "resolved_on"
        ),
        "It cannot resolve before it began."
    );
    assert!(at(
        AdverseInput {
            outcome: "ongoing",
            ..good()
        },
        "resolved_on"
    )
    .contains("not resolved yet"));
    assert!(at(
        AdverseInput {
            grade: "5",
            ..good()
        },
        "grade"
    )
    .contains("Grade 5 is death"));
    assert!(at(
        AdverseInput {
            outcome: "fatal",
            resolved_on: "",
            ..good()
        },
        "grade"
    )
    .contains("Grade 5 is death"));
    assert!(!at(
        AdverseInput {
            outcome: "gone",
            ..good()
        },
        "outcome"
    )
    .is_empty());
}

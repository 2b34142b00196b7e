//! A session's aftercare sheet from the shipped knowledge base: the steps
//! for everyone in time order, the steps a history calls for (the
//! antiviral course, sun care for darker skin) only for her, what was put
//! on the skin, and the warning signs most urgent first.

use jiff::civil::date;
use needlepoint_domain::aftercare::sheet;
use needlepoint_domain::history::{ConditionEntry, PatientHistory};
use needlepoint_domain::knowledge::Urgency;

#[test]
fn every_patient_gets_the_steps_in_time_order_with_their_windows() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let s = sheet(
        &kb,
        Some(&PatientHistory::default()),
        date(2026, 12, 7),
        &[],
    );
    assert!(s
        .duties
        .windows(2)
        .all(|w| w[0].from_hours <= w[1].from_hours));
    assert_eq!(s.duties[0].window, "For the first 8 hours");
    assert!(s.expect.iter().any(|x| x.text.contains("moderate sunburn")));
    assert!(!s.text().contains("antiviral"), "{}", s.text());
    // A skin type not recorded is treated as darker skin, to be safe.
    assert!(s.text().contains("any new dark patch"));
    assert!(!s.text().contains("Put on your skin today"));
    assert_eq!(
        s.warnings.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        [Urgency::Emergency, Urgency::Today, Urgency::Days]
    );
    // Without a recorded history, the same.
    let none = sheet(&kb, None, date(2026, 12, 7), &[]);
    assert_eq!(none.duties, s.duties);
}

#[test]
fn her_history_and_products_adapt_the_sheet() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let h = PatientHistory {
        fitzpatrick: Some(5),
        conditions: vec![ConditionEntry {
            code: "herpes_simplex".into(),
            areas: vec![],
            since: None,
            resolved_on: None,
            controlled: None,
            note: None,
        }],
        ..PatientHistory::default()
    };
    let s = sheet(
        &kb,
        Some(&h),
        date(2026, 12, 7),
        &["Hyaluronic acid serum, sterile".to_string()],
    );
    let text = s.text();
    assert!(
        text.contains("For the first 7 days: keep taking the antiviral"),
        "{text}"
    );
    assert!(
        text.contains("tell us at once about any new dark patch"),
        "{text}"
    );
    assert!(text.contains("Put on your skin today: Hyaluronic acid serum, sterile."));
    let light = PatientHistory {
        fitzpatrick: Some(2),
        ..PatientHistory::default()
    };
    assert!(!sheet(&kb, Some(&light), date(2026, 12, 7), &[])
        .text()
        .contains("any new dark patch"));
}

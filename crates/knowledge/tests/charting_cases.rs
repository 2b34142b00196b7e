//! Charting rules against the shipped knowledge base: every checklist gate,
//! every zone guardrail, which lots may be used, and who may sign.

use jiff::civil::{date, Date};
use jiff::{Timestamp, ToSpan};
use needlepoint_domain::charting::*;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::{Deferral, Status};
use needlepoint_domain::Role;

const TODAY: Date = date(2026, 11, 22);

fn kb() -> KnowledgeBase {
    needlepoint_knowledge::shipped().unwrap()
}

fn now() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().unwrap()
}

/// Everything in order for a first session on the cheeks and forehead.
fn ready_facts() -> ChecklistFacts {
    ChecklistFacts {
        screening: ScreeningFact::Current {
            status: Status::Eligible,
            deferral: None,
        },
        screened_areas: vec!["cheeks".into(), "forehead".into(), "neck".into()],
        consented_areas: Some(vec!["cheeks".into(), "forehead".into()]),
        areas: vec!["cheeks".into(), "forehead".into()],
        photos_allowed: true,
        photos: vec!["front".into(), "left_45".into(), "right_45".into()],
        first_session: true,
        anaesthetic: Anaesthetic::AppliedAt {
            at: now() - 40.minutes(),
        },
        antiviral_needed: false,
        antiviral_taken: false,
    }
}

fn state(f: &ChecklistFacts, code: &str) -> CheckState {
    checklist(&kb(), f, now(), TODAY)
        .into_iter()
        .find(|c| c.code == code)
        .unwrap()
        .state
}

#[test]
fn a_complete_checklist_is_ready_and_every_item_says_why() {
    let checks = checklist(&kb(), &ready_facts(), now(), TODAY);
    assert!(ready(&checks), "{checks:#?}");
    assert_eq!(checks.len(), 5);
    for c in &checks {
        assert!(!c.why.is_empty() && !c.source.is_empty(), "{c:?}");
    }
}

/// A change to otherwise complete facts.
type Change = Box<dyn Fn(&mut ChecklistFacts)>;

#[test]
fn each_gate_stops_the_start() {
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "screening",
            Box::new(|f| f.screening = ScreeningFact::None),
            "not been screened",
        ),
        (
            "screening",
            Box::new(|f| {
                f.screening =
                    ScreeningFact::Stale("Older than the clinic's limit of 30 days.".into())
            }),
            "Screen again",
        ),
        (
            "screening",
            Box::new(|f| {
                f.screening = ScreeningFact::Current {
                    status: Status::Deferred,
                    deferral: Some(Deferral::Until(date(2026, 12, 1))),
                }
            }),
            "Deferred until 1 Dec 2026",
        ),
        (
            "screening",
            Box::new(|f| {
                f.screening = ScreeningFact::Current {
                    status: Status::Deferred,
                    deferral: Some(Deferral::UntilResolved),
                }
            }),
            "resolved",
        ),
        (
            "screening",
            Box::new(|f| {
                f.screening = ScreeningFact::Current {
                    status: Status::NeedsPhysicianApproval,
                    deferral: None,
                }
            }),
            "physician",
        ),
        (
            "screening",
            Box::new(|f| {
                f.screening = ScreeningFact::Current {
                    status: Status::NotEligible,
                    deferral: None,
                }
            }),
            "Not eligible",
        ),
        (
            "screening",
            Box::new(|f| f.screened_areas = vec!["cheeks".into()]),
            "The screening did not cover Forehead",
        ),
        (
            "consent",
            Box::new(|f| f.consented_areas = None),
            "No consent",
        ),
        (
            "consent",
            Box::new(|f| f.consented_areas = Some(vec!["cheeks".into()])),
            "does not cover: forehead",
        ),
        (
            "photos",
            Box::new(|f| f.photos = vec!["front".into()]),
            "Baseline photos still to take: Left 45°, Right 45°",
        ),
        (
            "photos",
            Box::new(|f| {
                f.first_session = false;
                f.photos.clear()
            }),
            "Progress photos",
        ),
        (
            "anaesthetic",
            Box::new(|f| f.anaesthetic = Anaesthetic::NotRecorded),
            "Record when",
        ),
        (
            "anaesthetic",
            Box::new(|f| {
                f.anaesthetic = Anaesthetic::AppliedAt {
                    at: now() - 20.minutes(),
                }
            }),
            "wait 10 more",
        ),
        (
            "anaesthetic",
            Box::new(|f| {
                f.anaesthetic = Anaesthetic::AppliedAt {
                    at: now() + 5.minutes(),
                }
            }),
            "future",
        ),
        (
            "antiviral",
            Box::new(|f| f.antiviral_needed = true),
            "cold sores",
        ),
    ];
    for (code, change, says) in cases {
        let mut f = ready_facts();
        change(&mut f);
        let s = state(&f, code);
        assert!(matches!(s, CheckState::Missing(_)), "{code}: {s:?}");
        assert!(
            s.detail().contains(says),
            "{code}: {s:?} should say {says:?}"
        );
        assert!(!ready(&checklist(&kb(), &f, now(), TODAY)));
    }
}

#[test]
fn what_makes_an_item_pass_or_not_apply() {
    let mut f = ready_facts();
    // A deferral that has ended no longer stops the session.
    f.screening = ScreeningFact::Current {
        status: Status::Deferred,
        deferral: Some(Deferral::Until(TODAY)),
    };
    assert!(state(&f, "screening").passes());
    // No anaesthetic, with a reason; no photos when the patient allows none.
    f.anaesthetic = Anaesthetic::NotUsed {
        reason: "allergic to lidocaine".into(),
    };
    f.photos_allowed = false;
    f.photos.clear();
    assert!(matches!(state(&f, "anaesthetic"), CheckState::NotNeeded(_)));
    assert!(matches!(state(&f, "photos"), CheckState::NotNeeded(_)));
    // Exactly the minimum numbing time passes.
    f.anaesthetic = Anaesthetic::AppliedAt {
        at: now() - 30.minutes(),
    };
    assert!(matches!(state(&f, "anaesthetic"), CheckState::Done(_)));
    f.antiviral_needed = true;
    f.antiviral_taken = true;
    assert!(matches!(state(&f, "antiviral"), CheckState::Done(_)));
    assert!(ready(&checklist(&kb(), &f, now(), TODAY)));
}

#[test]
fn a_clinic_can_require_longer_numbing() {
    let mut kb = kb();
    kb.apply_override("charting.min_numbing_minutes", "45")
        .unwrap();
    let f = ready_facts(); // on for 40 minutes
    let c = checklist(&kb, &f, now(), TODAY);
    assert!(c[3].state.detail().contains("wait 5 more"), "{:?}", c[3]);
    assert!(kb
        .apply_override("charting.min_numbing_minutes", "abc")
        .is_err());
}

#[test]
fn body_areas_need_a_close_up_and_no_face_views() {
    let kb = kb();
    assert_eq!(
        required_views(&kb, &["thighs".into()]),
        vec!["closeup_thighs".to_string()]
    );
    assert_eq!(
        required_views(&kb, &["nose".into(), "neck".into()]),
        vec!["front", "left_45", "right_45", "closeup_neck"]
    );
    assert_eq!(view_label(&kb, "closeup_neck").unwrap(), "Close-up: Neck");
    assert!(view_label(&kb, "closeup_elbow").is_none());
}

fn zone(z: &str, depth: &str, device: &str, reason: &str) -> ZoneInput {
    ZoneInput {
        zone: z.into(),
        depth: depth.into(),
        passes: "3".into(),
        device: device.into(),
        speed: "single speed".into(),
        endpoint: "erythema".into(),
        notes: String::new(),
        override_reason: reason.into(),
    }
}

fn all_areas(kb: &KnowledgeBase) -> Vec<String> {
    kb.areas.iter().map(|a| a.code.clone()).collect()
}

#[test]
fn a_depth_within_the_range_is_recorded_without_a_flag() {
    let kb = kb();
    let z = parse_zone(
        &kb,
        &zone("cheeks", "1.0", "skinpen", ""),
        &all_areas(&kb),
        &all_areas(&kb),
    )
    .unwrap();
    assert_eq!(z.depth.micrometres(), 1000);
    assert!(z.flag.is_none() && z.override_reason.is_none());
    assert!(!needs_second_signoff(&[z]));
}

#[test]
fn above_the_range_needs_a_reason_and_is_flagged() {
    let kb = kb();
    let areas = all_areas(&kb);
    let e = parse_zone(
        &kb,
        &zone("forehead", "0.75", "skinpen", ""),
        &areas,
        &areas,
    )
    .unwrap_err();
    let m = e.message_for("depth").unwrap();
    assert!(
        m.contains("above the usual 0.25–0.5 mm") && m.contains("reason"),
        "{m}"
    );
    let z = parse_zone(
        &kb,
        &zone(
            "forehead",
            "0.75",
            "skinpen",
            "Deep rolling scars, agreed with patient",
        ),
        &areas,
        &areas,
    )
    .unwrap();
    assert!(z.flag.as_deref().unwrap().contains("above the usual"));
    assert_eq!(
        z.override_reason.as_deref(),
        Some("Deep rolling scars, agreed with patient")
    );
    assert!(needs_second_signoff(&[z]));
}

#[test]
fn beyond_the_device_or_inside_the_orbital_rim_is_refused_even_with_a_reason() {
    let kb = kb();
    let areas = all_areas(&kb);
    for (z, depth, device, field, says) in [
        (
            "cheeks",
            "2.0",
            "exceed",
            "depth",
            "beyond what Exceed allows (0–1.5 mm",
        ),
        (
            "thighs",
            "2.75",
            "skinpen",
            "depth",
            "beyond what SkinPen Precision allows",
        ),
        (
            "cheeks",
            "0.25",
            "medical_roller",
            "depth",
            "beyond what Medical roller",
        ),
        (
            "inside_orbital_rim",
            "0.25",
            "skinpen",
            "zone",
            "never needled",
        ),
    ] {
        let e = parse_zone(&kb, &zone(z, depth, device, "I am sure"), &areas, &areas).unwrap_err();
        let m = e.message_for(field).unwrap_or_default();
        assert!(m.contains(says), "{z} {depth}: {e:?}");
    }
}

#[test]
fn bad_values_get_a_message_on_their_field() {
    let kb = kb();
    let areas = all_areas(&kb);
    for (depth, says) in [
        ("-1", "cannot be negative"),
        ("abc", "Enter a depth in millimetres"),
        ("", "required"),
        ("0.33", "steps of 0.05"),
    ] {
        let e = parse_zone(&kb, &zone("cheeks", depth, "skinpen", ""), &areas, &areas).unwrap_err();
        assert!(
            e.message_for("depth").unwrap().contains(says),
            "{depth}: {e:?}"
        );
    }
    let mut z = zone("cheeks", "0.5", "", "");
    z.passes = "0".into();
    z.endpoint = "glowing".into();
    let e = parse_zone(&kb, &z, &areas, &areas).unwrap_err();
    assert!(e.message_for("passes").unwrap().contains("1 to 20"));
    assert!(e.message_for("device").is_some());
    assert!(e.message_for("endpoint").is_some());
    z = zone("elbow", "0.5", "skinpen", "");
    assert!(parse_zone(&kb, &z, &areas, &areas)
        .unwrap_err()
        .message_for("zone")
        .is_some());
}

#[test]
fn a_zone_outside_the_signed_consent_is_refused() {
    let kb = kb();
    let e = parse_zone(
        &kb,
        &zone("neck", "0.5", "skinpen", ""),
        &["cheeks".into()],
        &["cheeks".into()],
    )
    .unwrap_err();
    assert!(e
        .message_for("zone")
        .unwrap()
        .contains("does not cover Neck"));
}

#[test]
fn expired_recalled_or_empty_lots_are_refused() {
    let lot = |expires_on, recalled, quantity| LotFacts {
        item: "SkinPen cartridge",
        lot_number: "L1",
        expires_on,
        recalled,
        quantity,
    };
    assert_eq!(lot_refusal(&lot(TODAY, None, 3), TODAY), None);
    let e = lot_refusal(&lot(date(2026, 11, 21), None, 3), TODAY).unwrap();
    assert!(e.contains("expired on 2026-11-21"), "{e}");
    let r = lot_refusal(&lot(TODAY, Some("sterility breach"), 3), TODAY).unwrap();
    assert!(r.contains("recalled (sterility breach)"), "{r}");
    assert!(lot_refusal(&lot(TODAY, None, 0), TODAY)
        .unwrap()
        .contains("none left"));
}

#[test]
fn a_serum_not_made_for_the_dermis_warns_of_granulomas() {
    let kb = kb();
    let w = product_warning(&kb, SupplyKind::Product, false).unwrap();
    assert!(
        w.contains("granulomas") && w.contains("Soltani-Arabshahi"),
        "{w}"
    );
    assert!(product_warning(&kb, SupplyKind::Product, true).is_none());
    assert!(product_warning(&kb, SupplyKind::Cartridge, false).is_none());
}

#[test]
fn only_a_treating_clinician_signs_and_a_medical_director_countersigns() {
    let kb = kb();
    let z = parse_zone(
        &kb,
        &zone("cheeks", "1.0", "skinpen", ""),
        &all_areas(&kb),
        &all_areas(&kb),
    )
    .unwrap();
    let clinician = Signer {
        id: 1,
        role: Role::Clinician,
        practitioner: true,
        medical_director: false,
    };
    assert!(sign_refusals(&kb, clinician, std::slice::from_ref(&z), 1).is_empty());
    let desk = Signer {
        role: Role::FrontDesk,
        ..clinician
    };
    assert!(sign_refusals(&kb, desk, std::slice::from_ref(&z), 1)[0].contains("Only a clinician"));
    let manager = Signer {
        role: Role::Owner,
        practitioner: false,
        ..clinician
    };
    assert_eq!(
        sign_refusals(&kb, manager, std::slice::from_ref(&z), 1).len(),
        1
    );
    let r = sign_refusals(&kb, clinician, &[], 0);
    assert!(
        r[0].contains("at least one zone") && r[1].contains("single-use"),
        "{r:?}"
    );

    let director = Signer {
        id: 2,
        medical_director: true,
        ..clinician
    };
    assert!(second_signoff_refusal(director, 1).is_none());
    assert!(second_signoff_refusal(director, 2)
        .unwrap()
        .contains("someone other"));
    assert!(second_signoff_refusal(clinician, 5)
        .unwrap()
        .contains("medical director"));
}

#[test]
fn an_amendment_needs_a_correction_and_a_reason() {
    let kb = kb();
    let z = parse_zone(
        &kb,
        &zone("cheeks", "1.0", "skinpen", ""),
        &all_areas(&kb),
        &all_areas(&kb),
    )
    .unwrap();
    let a = AmendmentInput {
        zone: "nose".into(),
        text: " ".into(),
        reason: String::new(),
        depth: String::new(),
    };
    let e = a.check(&kb, std::slice::from_ref(&z)).unwrap_err();
    assert!(
        e.message_for("zone").is_some()
            && e.message_for("text").is_some()
            && e.message_for("reason").is_some()
    );
    let ok = AmendmentInput {
        zone: "cheeks".into(),
        text: "Depth was 0.75 mm, not 1.0".into(),
        reason: "Typed the wrong value".into(),
        depth: String::new(),
    };
    assert!(ok.check(&kb, std::slice::from_ref(&z)).is_ok());
}

/// A corrected depth passes the same guardrails as the original zone.
#[test]
fn an_amended_depth_passes_the_guardrails() {
    let kb = kb();
    let cheeks = parse_zone(
        &kb,
        &zone("cheeks", "1.0", "skinpen", ""),
        &all_areas(&kb),
        &all_areas(&kb),
    )
    .unwrap();
    let amend = |zone: &str, depth: &str| AmendmentInput {
        zone: zone.into(),
        text: "Recorded the wrong depth".into(),
        reason: "Typing error".into(),
        depth: depth.into(),
    };
    let ok = amend("cheeks", "0.75");
    assert!(ok.check(&kb, std::slice::from_ref(&cheeks)).is_ok());
    assert_eq!(
        ok.recorded_text(),
        "Depth corrected to 0.75 mm. Recorded the wrong depth"
    );
    for (depth, says) in [
        ("2.8", "beyond what"),
        ("1.5", "cannot take it above the range"),
        ("deep", "millimetres"),
    ] {
        let e = amend("cheeks", depth)
            .check(&kb, std::slice::from_ref(&cheeks))
            .unwrap_err();
        let m = e
            .message_for("depth")
            .unwrap_or_else(|| panic!("{depth}: {e}"));
        assert!(m.contains(says), "{depth}: {m}");
    }
    let e = amend("", "0.5")
        .check(&kb, std::slice::from_ref(&cheeks))
        .unwrap_err();
    assert!(e.message_for("depth").unwrap().contains("Choose the zone"));
    // A zone flagged with a reason at signing may be corrected within what
    // the device allows.
    let flagged = parse_zone(
        &kb,
        &zone("cheeks", "1.5", "skinpen", "Deep scars"),
        &all_areas(&kb),
        &all_areas(&kb),
    )
    .unwrap();
    assert!(flagged.override_reason.is_some());
    assert!(amend("cheeks", "1.75").check(&kb, &[flagged]).is_ok());
}

#[test]
fn a_chart_opens_on_its_day_or_with_a_reason() {
    use needlepoint_domain::charting::may_open_chart;
    assert_eq!(may_open_chart(TODAY, TODAY, None), Ok(None));
    let tomorrow = TODAY.tomorrow().unwrap();
    let e = may_open_chart(tomorrow, TODAY, None).unwrap_err();
    assert_eq!(e.errors[0].field, "reason");
    assert!(e.errors[0].message.contains("ahead of the day"), "{e}");
    let e = may_open_chart(TODAY.yesterday().unwrap(), TODAY, Some("   ")).unwrap_err();
    assert!(e.errors[0].message.contains("after the day"), "{e}");
    assert_eq!(
        may_open_chart(tomorrow, TODAY, Some(" Moved at short notice ")),
        Ok(Some("Moved at short notice".into()))
    );
    assert!(may_open_chart(tomorrow, TODAY, Some(&"x".repeat(501))).is_err());
}

/// An area of the plan whose track is not due today is needled only with a
/// reason, and flagged: its healing window may not have passed.
#[test]
fn a_zone_off_todays_tracks_needs_a_reason_and_is_flagged() {
    let kb = kb();
    let consented: Vec<String> = vec!["scalp".into(), "abdomen".into()];
    let today: Vec<String> = vec!["scalp".into()];
    let e = parse_zone(
        &kb,
        &zone("abdomen", "1.5", "skinpen", ""),
        &consented,
        &today,
    )
    .unwrap_err();
    let m = e.message_for("zone").unwrap();
    assert!(
        m.contains("not planned for this session") && m.contains("reason"),
        "{m}"
    );
    let z = parse_zone(
        &kb,
        &zone(
            "abdomen",
            "1.5",
            "skinpen",
            "Patient travels; agreed to combine",
        ),
        &consented,
        &today,
    )
    .unwrap();
    assert!(z
        .flag
        .as_deref()
        .unwrap()
        .contains("not planned for this session"));
    assert!(z.override_reason.is_some());
    assert!(parse_zone(
        &kb,
        &zone("scalp", "1.5", "skinpen", ""),
        &consented,
        &today
    )
    .unwrap()
    .flag
    .is_none());
}

/// The history bars a zone for the day: a mole being checked on the nose,
/// skin cancer on the forehead, a peel on the chin last week. The map greys
/// them out with why, and charting one is refused with the same words;
/// moles to needle around and the rest of the face stay open.
#[test]
fn zones_the_history_bars_are_refused_with_why() {
    use needlepoint_domain::history::{ConditionEntry, EventEntry, PatientHistory};
    let kb = kb();
    let cond = |code: &str, area: &str| ConditionEntry {
        code: code.into(),
        areas: vec![area.into()],
        since: None,
        resolved_on: None,
        controlled: None,
        note: None,
    };
    let h = PatientHistory {
        date_of_birth: Some(date(1990, 1, 1)),
        fitzpatrick: Some(2),
        conditions: vec![
            cond("lesion_under_review", "nose"),
            cond("skin_cancer", "forehead"),
            cond("mole", "cheeks"),
        ],
        events: vec![EventEntry {
            code: "resurfacing".into(),
            on: date(2026, 11, 16),
            areas: vec!["jaw_chin".into()],
            note: None,
        }],
        ..PatientHistory::default()
    };
    h.validate(&kb, TODAY).unwrap();
    let barred = barred_zones(&kb, &h, TODAY);
    let why = |z: &str| barred.iter().find(|b| b.zone == z).map(|b| b.why.clone());
    assert_eq!(
        why("nose").as_deref(),
        Some("A mole or patch being checked, in the area (until it resolves)")
    );
    assert!(why("forehead").unwrap().starts_with("Active skin cancer"));
    assert!(
        why("jaw_chin").unwrap().contains("(until 30 Nov 2026)"),
        "{barred:?}"
    );
    assert_eq!(
        why("cheeks"),
        None,
        "a mole to needle around does not bar the zone"
    );
    assert_eq!(barred.len(), 3, "{barred:?}");
    let e = check_not_barred(&kb, "nose", &barred).unwrap_err();
    assert_eq!(e.errors[0].field, "zone");
    assert_eq!(
        e.errors[0].message,
        "Nose must not be needled today: A mole or patch being checked, in the area (until it resolves)."
    );
    assert!(check_not_barred(&kb, "cheeks", &barred).is_ok());
}

/// Charting deeper than the device's safety was evaluated to (SkinPen:
/// 1.5 mm) is flagged like going above the area's range, and when both
/// apply both are said.
#[test]
fn charting_beyond_the_evaluated_depth_is_flagged() {
    let kb = kb();
    let skinpen = kb.devices.iter().find(|d| d.code == "skinpen").unwrap();
    let d = |s: &str| needlepoint_domain::Depth::parse_mm("depth", s).unwrap();
    match check_zone(&kb, "cheeks", d("1.75"), skinpen) {
        ZoneCheck::AboveRange(m) => {
            assert!(m.contains("above the usual 0.5–1 mm"), "{m}");
            assert!(
                m.contains("deeper than SkinPen Precision's safety was evaluated to (1.5 mm"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    // In the cheeks' scar range, only the device's limit is left.
    let mut scars = kb.clone();
    let cheeks = scars.areas.iter_mut().find(|a| a.code == "cheeks").unwrap();
    cheeks.depth = cheeks.scar_depth.unwrap();
    match check_zone(&scars, "cheeks", d("1.75"), skinpen) {
        ZoneCheck::AboveRange(m) => assert!(!m.contains("usual") && m.contains("evaluated"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        check_zone(&scars, "cheeks", d("1.5"), skinpen),
        ZoneCheck::Ok
    );
}

//! Plan proposals against the shipped knowledge base: every indication,
//! several indications on one area or course, exclusions from screening,
//! and every depth guardrail.

use jiff::civil::{date, Date};
use needlepoint_domain::history::*;
use needlepoint_domain::knowledge::{DepthRange, KnowledgeBase};
use needlepoint_domain::planning::{check_depth, propose, DepthCheck};
use needlepoint_domain::screening::{screen, Status};

const TODAY: Date = date(2026, 11, 22);

fn kb() -> KnowledgeBase {
    needlepoint_knowledge::shipped().unwrap()
}

fn history(concerns: &[(&str, &str)]) -> PatientHistory {
    PatientHistory {
        date_of_birth: Some(date(1990, 1, 1)),
        fitzpatrick: Some(2),
        concerns: concerns
            .iter()
            .map(|(i, a)| Concern {
                indication: i.to_string(),
                area: a.to_string(),
                severity: Severity::Moderate,
            })
            .collect(),
        ..Default::default()
    }
}

fn plan(
    kb: &KnowledgeBase,
    h: &PatientHistory,
    device: &str,
) -> Result<needlepoint_domain::planning::Proposal, needlepoint_domain::Invalid> {
    let s = screen(kb, h, &h.concern_areas(), TODAY).unwrap();
    let d = kb.devices.iter().find(|d| d.code == device).unwrap();
    propose(kb, h, &s, d, TODAY)
}

fn r(s: &str) -> DepthRange {
    DepthRange::parse(s).unwrap()
}

#[test]
fn every_indication_gets_its_course() {
    let kb = kb();
    // (indication, area, sessions, interval, depth range proposed)
    let expected = [
        ("acne_scars", "cheeks", 3, "4-6 weeks", "0.5-1.5"),
        ("scars", "jaw_chin", 3, "4-6 weeks", "0.5-1"),
        ("surgical_scar", "jaw_chin", 3, "4-6 weeks", "0.5-1"),
        ("fine_lines", "forehead", 4, "30-30 days", "0.5-0.5"),
        ("striae", "abdomen", 3, "4-6 weeks", "1.5-1.5"),
        ("melasma", "cheeks", 3, "4-4 weeks", "0.5-1"),
        ("pigmentation_texture", "nose", 3, "4-6 weeks", "0.5-0.5"),
        ("laxity", "neck", 3, "4-6 weeks", "0.5-0.5"),
        ("androgenetic_alopecia", "scalp", 12, "7-7 days", "1.5-1.5"),
        ("maintenance", "cheeks", 1, "6-12 months", "0.5-1"),
    ];
    assert_eq!(
        expected.len(),
        kb.indications
            .iter()
            .filter(|i| i.not_proposed.is_none())
            .count(),
        "a case per indication the product plans"
    );
    for (ind, area, sessions, interval, depth) in expected {
        let p =
            plan(&kb, &history(&[(ind, area)]), "skinpen").unwrap_or_else(|e| panic!("{ind}: {e}"));
        assert_eq!(p.tracks.len(), 1, "{ind}: one track");
        assert_eq!(p.tracks[0].sessions, sessions, "{ind}: sessions");
        assert_eq!(
            String::from(p.tracks[0].interval),
            interval,
            "{ind}: interval"
        );
        assert_eq!(p.areas[0].depth.to_string(), depth, "{ind}: depth");
        assert!(p.reconciliation.is_empty());
        assert_eq!(p.earliest_start, TODAY);
        assert!(
            p.pretreatment.iter().any(|t| t.contains("numbing cream")),
            "{ind}: pre-treatment"
        );
    }
}

#[test]
fn indications_outside_an_area_keep_the_area_range_and_say_so() {
    let kb = kb();
    let p = plan(&kb, &history(&[("melasma", "cheeks")]), "skinpen").unwrap();
    assert!(
        p.areas[0].notes[0].contains("the shallower range is proposed"),
        "{:?}",
        p.areas[0].notes
    );
    assert_eq!(
        p.areas[0].depth.to_string(),
        "0.5-1",
        "melasma's 1.5 mm is deeper than the cheeks' range"
    );
    // Nothing is put into the channels by default: the cream of Lima 2017 is
    // used at home, and drug delivery is a prescriber's decision.
    assert_eq!(p.adjuncts.len(), 1);
    assert!(
        p.adjuncts[0].contains("triple-combination"),
        "{:?}",
        p.adjuncts
    );
    assert!(p.adjuncts[0].contains("nothing is put into the channels"));
    assert!(!p.adjuncts[0].to_lowercase().contains("tranexamic"));
}

/// Better absorption of products is not an indication: the SkinPen label
/// says the device is not for transdermal delivery. The wish is recorded and
/// the plan says why it is left out.
#[test]
fn product_absorption_is_never_planned() {
    let kb = kb();
    let e = plan(
        &kb,
        &history(&[("product_absorption", "cheeks")]),
        "skinpen",
    )
    .unwrap_err();
    assert!(
        e.errors
            .iter()
            .any(|x| x.message.contains("not planned") && x.message.contains("transdermal")),
        "{e:?}"
    );
    let p = plan(
        &kb,
        &history(&[("product_absorption", "cheeks"), ("acne_scars", "cheeks")]),
        "skinpen",
    )
    .unwrap();
    assert_eq!(p.areas[0].indications, ["acne_scars"]);
    assert!(
        p.reconciliation
            .iter()
            .any(|r| r.starts_with("Better absorption of topical products is not planned")),
        "{:?}",
        p.reconciliation
    );
}

#[test]
fn two_indications_on_one_area_meet_in_the_middle() {
    let kb = kb();
    let p = plan(
        &kb,
        &history(&[("acne_scars", "cheeks"), ("fine_lines", "cheeks")]),
        "skinpen",
    )
    .unwrap();
    assert_eq!(p.areas.len(), 1);
    assert_eq!(p.areas[0].indications, ["acne_scars", "fine_lines"]);
    assert_eq!(p.tracks.len(), 1, "their windows overlap: one course");
    assert_eq!(p.tracks[0].sessions, 4, "fine lines need four");
    assert_eq!(String::from(p.tracks[0].interval), "30-30 days");
    assert!(
        p.tracks[0].reconciliation[1].contains("30 days, the window every indication allows"),
        "{:?}",
        p.tracks[0].reconciliation
    );
    assert_eq!(p.areas[0].depth.to_string(), "0.5-1");
}

/// The acne-scar trials needled the cheeks at 1.5 mm: for scars the
/// cheeks' range reaches 1.5–2.0 mm (bounded by what the device was
/// evaluated to), while fine lines there keep the area's 0.5–1.0 mm.
#[test]
fn acne_scars_on_the_cheeks_reach_the_trials_depth() {
    use needlepoint_domain::plan::Plan;
    let kb = kb();
    let h = history(&[("acne_scars", "cheeks")]);
    let proposal = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(proposal.areas[0].guideline.to_string(), "0.5-1.5");
    let mut p = Plan::from_proposal(&proposal, "skinpen");
    p.areas[0].depth = r("1.5-1.5");
    assert!(
        p.check(&kb, &proposal).unwrap().is_empty(),
        "the trials' 1.5 mm is not off-guideline"
    );
    // The medical roller (0.5–1.5 mm) and a depth SkinPen was not evaluated to.
    let roller = plan(&kb, &h, "medical_roller").unwrap();
    assert_eq!(roller.areas[0].guideline.to_string(), "0.5-1.5");
    assert!(proposal.areas[0]
        .notes
        .iter()
        .any(|n| n.contains("not evaluated beyond 1.5 mm")));
    // Fine lines on the same cheeks do not go deeper with the scars.
    let lines = plan(&kb, &history(&[("fine_lines", "cheeks")]), "skinpen").unwrap();
    assert_eq!(lines.areas[0].guideline.to_string(), "0.5-1");
    let both = plan(
        &kb,
        &history(&[("acne_scars", "cheeks"), ("fine_lines", "cheeks")]),
        "skinpen",
    )
    .unwrap();
    assert_eq!(both.areas[0].guideline.to_string(), "0.5-1");
    // A clinic may keep scars shallower: the range is a setting.
    let mut careful = kb.clone();
    careful
        .apply_override("area.cheeks.scar_depth", "0.5-1.25")
        .unwrap();
    let p = plan(&careful, &h, "skinpen").unwrap();
    assert_eq!(p.areas[0].guideline.to_string(), "0.5-1.25");
    assert!(careful
        .apply_override("area.forehead.scar_depth", "0.5-1.0")
        .is_err());
}

/// Trials report one interval: melasma every 4 weeks (Lima 2017), fine
/// lines every 30 days (Ablon 2018). Two days apart is one course within
/// the clinic's tolerance, not two tracks whose windows "do not overlap".
#[test]
fn intervals_that_meet_within_the_tolerance_are_one_course() {
    let mut kb = kb();
    let h = history(&[("melasma", "cheeks"), ("fine_lines", "cheeks")]);
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(p.tracks.len(), 1, "{:?}", p.reconciliation);
    let t = &p.tracks[0];
    assert_eq!(String::from(t.interval), "28-30 days");
    assert!(
        t.reconciliation.iter().any(|r| r.contains(
            "28–30 days: Melasma (every 4 weeks) and Fine lines and wrinkles (every 30 days) meet within the 3 days"
        )),
        "{:?}",
        t.reconciliation
    );
    assert!(!p
        .reconciliation
        .iter()
        .any(|n| n.contains("do not overlap")));
    // A clinic that allows no give splits them; the give is a setting.
    kb.apply_override("planning.interval_tolerance.days", "0")
        .unwrap();
    let strict = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(String::from(strict.tracks[0].interval), "30-30 days");
    assert!(
        strict
            .reconciliation
            .iter()
            .any(|n| n.contains("do not overlap")),
        "{:?}",
        strict.reconciliation
    );
    assert!(kb
        .apply_override("planning.interval_tolerance.days", "30")
        .is_err());
    // Hair loss weekly and stretch marks monthly stay apart.
    let apart = plan(
        &needlepoint_knowledge::shipped().unwrap(),
        &history(&[("androgenetic_alopecia", "scalp"), ("striae", "abdomen")]),
        "medical_roller",
    )
    .unwrap();
    assert_eq!(apart.tracks.len(), 2);
}

/// Hair loss on the scalp (weekly × 12) with stretch marks on the abdomen
/// (every 4–6 weeks × 3): two tracks, each with its own course, not a year
/// of monthly needling for both.
#[test]
fn windows_that_do_not_overlap_become_tracks() {
    let kb = kb();
    let p = plan(
        &kb,
        &history(&[("androgenetic_alopecia", "scalp"), ("striae", "abdomen")]),
        "skinpen",
    )
    .unwrap();
    let tracks: Vec<(Vec<String>, u32, String)> = p
        .tracks
        .iter()
        .map(|t| (t.areas.clone(), t.sessions, String::from(t.interval)))
        .collect();
    assert_eq!(
        tracks,
        [
            (vec!["scalp".to_string()], 12, "7-7 days".to_string()),
            (vec!["abdomen".to_string()], 3, "4-6 weeks".to_string()),
        ]
    );
    assert!(
        p.reconciliation[0].starts_with("2 tracks"),
        "{:?}",
        p.reconciliation
    );
    // Severity still sets each track's sessions.
    let mut h = history(&[("androgenetic_alopecia", "scalp"), ("striae", "abdomen")]);
    h.concerns[1].severity = Severity::Severe;
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(p.tracks[1].sessions, 5, "severe striae: the most sessions");
    assert_eq!(p.tracks[0].sessions, 12);
}

/// One area with two concerns whose windows do not overlap follows the
/// slower one, so it always heals fully; the other area keeps its own.
#[test]
fn an_area_on_two_tracks_follows_the_slower() {
    let kb = kb();
    let p = plan(
        &kb,
        &history(&[
            ("androgenetic_alopecia", "scalp"),
            ("scars", "scalp"),
            ("androgenetic_alopecia", "forehead"),
        ]),
        "skinpen",
    )
    .unwrap();
    let on = |area: &str| p.track_of(area).map(|t| String::from(p.tracks[t].interval));
    assert_eq!(on("scalp").as_deref(), Some("4-6 weeks"));
    assert_eq!(on("forehead").as_deref(), Some("7-7 days"));
    assert!(
        p.reconciliation
            .iter()
            .any(|r| r.starts_with("Scalp") && r.contains("follows")),
        "{:?}",
        p.reconciliation
    );
}

/// Exceed's dial reads 1.9 mm, but its standard cartridge reaches 1.5 mm:
/// the real reach bounds the plan.
#[test]
fn the_device_caps_the_depth() {
    let kb = kb();
    let p = plan(&kb, &history(&[("striae", "thighs")]), "exceed").unwrap();
    assert_eq!(p.areas[0].guideline.to_string(), "1.5-1.5");
    assert!(p.areas[0]
        .notes
        .iter()
        .any(|n| n.contains("Exceed reaches at most 1.5 mm")));
}

/// SkinPen's safety was not evaluated beyond 1.5 mm: the proposal stops
/// there and a deeper plan needs a reason and is flagged, with the source.
#[test]
fn a_plan_beyond_the_evaluated_depth_is_flagged() {
    use needlepoint_domain::planning::{check_depth, DepthCheck};
    let kb = kb();
    let p = plan(&kb, &history(&[("striae", "abdomen")]), "skinpen").unwrap();
    assert_eq!(p.areas[0].guideline.to_string(), "1.5-1.5");
    assert!(
        p.areas[0]
            .notes
            .iter()
            .any(|n| n.contains("not evaluated beyond 1.5 mm")),
        "{:?}",
        p.areas[0].notes
    );
    let pen = kb.devices.iter().find(|d| d.code == "skinpen").unwrap();
    match check_depth(&kb, "abdomen", r("1.5-2.0"), r("1.5-2.0"), pen) {
        DepthCheck::OffGuideline(m) => {
            assert!(m.contains("evaluated") && m.contains("DEN160029"), "{m}")
        }
        other => panic!("2.0 mm with SkinPen not flagged: {other:?}"),
    }
}

/// A skin type nobody recorded ("I am not sure") keeps the conservative
/// depth and the pre-treatment of the darker types.
#[test]
fn an_unrecorded_skin_type_is_planned_as_the_darker_types() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks")]);
    h.fitzpatrick = None;
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(p.areas[0].depth.to_string(), "0.5-1");
    assert!(
        p.areas[0]
            .notes
            .iter()
            .any(|n| n.contains("Skin type not recorded")),
        "{:?}",
        p.areas[0].notes
    );
    assert!(p
        .pretreatment
        .iter()
        .any(|x| x.contains("Skin types IV–VI")));
}

/// Stainless-steel needles and an allergy to them: not with that device.
#[test]
fn a_stainless_steel_allergy_refuses_steel_needled_devices() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks")]);
    h.allergies.push(needlepoint_domain::history::AllergyEntry {
        code: "nickel".into(),
        note: None,
    });
    for device in ["skinpen", "exceed", "medical_roller"] {
        let e = plan(&kb, &h, device).unwrap_err();
        assert!(
            e.message_for("device")
                .is_some_and(|m| m.contains("stainless steel")),
            "{device}: {e:?}"
        );
    }
}

/// A skin type outside the device's clearance is flagged with its source:
/// Exceed is cleared for types I–IV, SkinPen's neck wrinkles for II–IV.
#[test]
fn a_skin_type_outside_the_clearance_is_flagged() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks")]);
    h.fitzpatrick = Some(5);
    let p = plan(&kb, &h, "exceed").unwrap();
    assert!(
        p.precautions
            .iter()
            .any(|x| x.contains("cleared for skin types I–IV") && x.contains("K182407")),
        "{:?}",
        p.precautions
    );
    let mut neck = history(&[("fine_lines", "neck")]);
    neck.fitzpatrick = Some(1);
    let p = plan(&kb, &neck, "skinpen").unwrap();
    assert!(
        p.precautions.iter().any(|x| x.contains("K202243")),
        "{:?}",
        p.precautions
    );
    neck.fitzpatrick = Some(3);
    let p = plan(&kb, &neck, "skinpen").unwrap();
    assert!(!p.precautions.iter().any(|x| x.contains("K202243")));
}

#[test]
fn dark_skin_gets_a_conservative_depth_and_pretreatment() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks")]);
    h.fitzpatrick = Some(5);
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(p.areas[0].guideline.to_string(), "0.5-1.5");
    assert_eq!(
        p.areas[0].depth.to_string(),
        "0.5-1",
        "half way up the range"
    );
    assert!(p
        .precautions
        .iter()
        .any(|x| x.contains("post-inflammatory hyperpigmentation")));
    assert!(p.pretreatment.iter().any(|x| x.contains("tyrosinase")));
}

#[test]
fn screening_excludes_and_defers() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks"), ("fine_lines", "forehead")]);
    h.conditions.push(ConditionEntry {
        code: "skin_cancer".into(),
        areas: vec!["cheeks".into()],
        since: None,
        resolved_on: None,
        controlled: None,
        note: None,
    });
    h.events.push(EventEntry {
        code: "neurotoxin".into(),
        on: date(2026, 11, 20),
        areas: vec!["forehead".into()],
        note: None,
    });
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert_eq!(
        p.areas.iter().map(|a| a.area.as_str()).collect::<Vec<_>>(),
        ["forehead"]
    );
    assert_eq!(p.excluded[0].0, "cheeks");
    assert!(p.excluded[0].1.starts_with("Not eligible"));
    assert_eq!(
        p.earliest_start,
        date(2026, 12, 4),
        "no session before the deferral ends"
    );

    let mut only_cancer = history(&[("acne_scars", "cheeks")]);
    only_cancer.conditions = h.conditions.clone();
    let e = plan(&kb, &only_cancer, "skinpen").unwrap_err();
    assert!(e.summary().contains("No area"), "{e}");
    let s = screen(&kb, &only_cancer, &["cheeks".into()], TODAY).unwrap();
    assert_eq!(s.status, Status::NotEligible);
}

/// Uncontrolled diabetes needs a physician's approval *and* defers until
/// controlled: the open deferral holds the area back even though the
/// headline status is the stricter approval.
#[test]
fn a_deferral_under_an_approval_still_holds_the_area_back() {
    let kb = kb();
    let mut h = history(&[("acne_scars", "cheeks"), ("fine_lines", "forehead")]);
    h.conditions.push(ConditionEntry {
        code: "diabetes".into(),
        areas: vec![],
        since: None,
        resolved_on: None,
        controlled: Some(false),
        note: None,
    });
    let s = screen(&kb, &h, &h.concern_areas(), TODAY).unwrap();
    assert_eq!(s.status, Status::NeedsPhysicianApproval);
    let e = plan(&kb, &h, "skinpen").unwrap_err();
    assert!(e.summary().contains("No area"), "{e}");
}

#[test]
fn retinoids_and_cold_sores_bring_their_instructions() {
    let kb = kb();
    let mut h = history(&[("fine_lines", "perioral")]);
    h.medications.push(MedicationEntry {
        code: "topical_retinoid".into(),
        started_on: None,
        stopped_on: None,
        note: None,
    });
    h.conditions.push(ConditionEntry {
        code: "herpes_simplex".into(),
        areas: vec![],
        since: None,
        resolved_on: None,
        controlled: None,
        note: None,
    });
    let p = plan(&kb, &h, "skinpen").unwrap();
    assert!(p
        .pretreatment
        .iter()
        .any(|x| x.contains("Stop retinoid creams")));
    assert!(p.pretreatment.iter().any(|x| x.contains("antiviral")));
    assert!(p
        .precautions
        .iter()
        .any(|x| x.contains("antiviral prophylaxis")));
}

#[test]
fn every_depth_guardrail() {
    let kb = kb();
    let pen = kb.devices.iter().find(|d| d.code == "skinpen").unwrap();
    let exceed = kb.devices.iter().find(|d| d.code == "exceed").unwrap();
    let g = r("0.25-0.5");
    assert_eq!(
        check_depth(&kb, "forehead", r("0.25-0.5"), g, pen),
        DepthCheck::Ok
    );
    assert!(
        matches!(check_depth(&kb, "forehead", r("0.25-0.75"), g, pen), DepthCheck::OffGuideline(m) if m.contains("outside the guideline"))
    );
    assert!(
        matches!(
            check_depth(&kb, "forehead", r("0.2-0.5"), g, pen),
            DepthCheck::OffGuideline(_)
        ),
        "below is off-guideline too"
    );
    assert!(
        matches!(check_depth(&kb, "cheeks", r("1.5-2.0"), r("0.5-1.0"), exceed), DepthCheck::Refused(m) if m.contains("beyond what Exceed allows"))
    );
    assert!(
        matches!(
            check_depth(&kb, "cheeks", r("1.5-2.5"), r("0.5-1.0"), pen),
            DepthCheck::OffGuideline(_)
        ),
        "2.5 is the pen's limit"
    );
    assert!(
        matches!(check_depth(&kb, "inside_orbital_rim", r("0.2-0.25"), g, pen), DepthCheck::Refused(m) if m.contains("never needled"))
    );
    assert!(matches!(
        check_depth(&kb, "elbow", r("0.2-0.25"), g, pen),
        DepthCheck::Refused(_)
    ));
}

#[test]
fn plan_edits_pass_the_guardrails() {
    use needlepoint_domain::knowledge::Interval;
    use needlepoint_domain::plan::Plan;
    let kb = kb();
    let h = history(&[("acne_scars", "cheeks"), ("fine_lines", "forehead")]);
    let proposal = plan(&kb, &h, "skinpen").unwrap();
    let base = Plan::from_proposal(&proposal, "skinpen");
    assert!(
        base.check(&kb, &proposal).unwrap().is_empty(),
        "the proposal itself is within the guideline"
    );

    let mut p = base.clone();
    p.areas[0].depth = r("1.5-2.0");
    let e = p.check(&kb, &proposal).unwrap_err();
    assert_eq!(e.errors[0].field, "areas[0].depth");
    assert!(e.errors[0].message.contains("Give a reason"));
    p.areas[0].reason = Some("Deep boxcar scars; tolerated 2.0 mm before".into());
    let flags = p.check(&kb, &proposal).unwrap();
    assert_eq!(flags.len(), 1, "kept, and flagged");
    assert_eq!(
        flags[0].reason,
        "Deep boxcar scars; tolerated 2.0 mm before"
    );

    let mut p = base.clone();
    p.areas[0].depth = r("2.0-3.0");
    p.areas[0].reason = Some("no reason is enough".into());
    assert!(p.check(&kb, &proposal).unwrap_err().errors[0]
        .message
        .contains("beyond what SkinPen Precision allows"));

    let mut p = base.clone();
    p.areas.push(needlepoint_domain::plan::PlanArea {
        area: "inside_orbital_rim".into(),
        indications: vec![],
        guideline: r("0.2-0.3"),
        depth: r("0.2-0.25"),
        reason: Some("x".into()),
    });
    assert_eq!(
        p.check(&kb, &proposal).unwrap_err().errors[0].field,
        "areas[2].area",
        "not screened, not planned"
    );

    let mut p = base.clone();
    p.tracks[0].sessions = 9;
    assert_eq!(
        p.check(&kb, &proposal).unwrap_err().errors[0].field,
        "tracks[0].sessions"
    );
    p.tracks[0].sessions_reason = Some("Severe scarring, agreed with the patient".into());
    assert_eq!(
        p.check(&kb, &proposal).unwrap()[0].field,
        "tracks[0].sessions"
    );

    let mut p = base.clone();
    p.tracks[0].interval = Interval::try_from("2-3 weeks".to_string()).unwrap();
    assert_eq!(
        p.check(&kb, &proposal).unwrap_err().errors[0].field,
        "tracks[0].interval"
    );

    // Every area on exactly one track, and the proposal's tracks kept.
    let mut p = base.clone();
    p.tracks[0].areas.pop();
    assert!(p
        .check(&kb, &proposal)
        .unwrap_err()
        .errors
        .iter()
        .any(|e| e.field == "tracks" && e.message.contains("exactly one track")));
    let mut p = base.clone();
    p.tracks.push(p.tracks[0].clone());
    assert!(
        p.check(&kb, &proposal).is_err(),
        "a track the proposal lacks"
    );

    let mut p = base;
    p.earliest_start = date(2026, 11, 1);
    assert_eq!(
        p.check(&kb, &proposal).unwrap_err().errors[0].field,
        "earliest_start"
    );
}

#[test]
fn the_consent_says_what_the_plan_is_in_plain_words() {
    use needlepoint_domain::plan::{consent_text, Plan};
    let kb = kb();
    let h = history(&[("acne_scars", "cheeks")]);
    let p = Plan::from_proposal(&plan(&kb, &h, "skinpen").unwrap(), "skinpen");
    let t = consent_text(&kb, &p, None, "Amara Okafor", "Harbour Clinic", &h);
    assert!(t.contains("Cheeks and zygoma: 0.5-1.5 mm, for Acne scars"));
    // Risks in words a patient reads, not fractions or jargon.
    assert!(
        t.contains("Raised marks in lines: About 1 in 15 people in one study (2 of 30)"),
        "{t}"
    );
    assert!(t.contains("Darker patches of skin: About 1 in 6 people with darker skin"));
    for jargon in ["tram-track", "granuloma", "0/60", "cheap jewellery"] {
        assert!(!t.to_lowercase().contains(jargon), "{jargon} in:\n{t}");
    }
    assert!(
        t.contains("nothing is injected"),
        "not the seed's 'injecting collagen'"
    );
    assert!(!t.to_lowercase().contains("injecting collagen"));
    assert!(t.contains("3 session(s), 4–6 weeks apart"), "{t}");
    // A consumer article's claim is not "reported in the medical literature".
    let (literature, rest) = t
        .split_once("Also reported, by patients or clinics rather than in studies:")
        .expect("a heading for what studies did not report");
    assert!(!literature.contains("rolling at home"), "{literature}");
    assert!(rest.contains("rolling at home"), "{rest}");
    // Every duty has its time window; outcomes are not duties.
    let duties = t
        .split_once("Afterwards, I agree to\n")
        .and_then(|(_, r)| r.split_once("\n\n"))
        .map(|(d, _)| d)
        .unwrap();
    for line in duties.lines() {
        assert!(
            ["- For the first ", "- Days ", "- From day "]
                .iter()
                .any(|w| line.starts_with(w)),
            "a duty without its window: {line}"
        );
        assert!(
            !line.contains("fade"),
            "an outcome listed as a duty: {line}"
        );
    }
    assert!(duties.contains("For the first 8 hours: put nothing on the skin"));
    assert!(
        duties.contains("mineral sunscreen"),
        "no contradiction with hour 0"
    );
    // Warning signs by urgency, emergencies first.
    let emergency = t.find("Call emergency services at once").unwrap();
    let today = t.find("Call the clinic the same day").unwrap();
    let later = t.find("Tell the clinic within a few days").unwrap();
    assert!(emergency < today && today < later);
    assert!(t.contains("trouble breathing") && t.contains("Blue-grey lips"));
    assert!(t.contains("Eye pain or a change in your vision"));
}

/// Flesch reading ease of a text: 206.835 − 1.015 × words per sentence −
/// 84.6 × syllables per word (syllables counted as vowel groups, a final
/// silent "e" dropped). 60 and above reads easily for most adults.
fn reading_ease(text: &str) -> f64 {
    let sentences = text
        .split(['.', '!', '?', ':', '\n', ';'])
        .filter(|s| {
            s.split_whitespace()
                .any(|w| w.chars().any(char::is_alphabetic))
        })
        .count()
        .max(1);
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphabetic())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let syllables: usize = words
        .iter()
        .map(|w| {
            let mut n = 0;
            let mut prev = false;
            for c in w.chars() {
                let v = "aeiouy".contains(c);
                if v && !prev {
                    n += 1;
                }
                prev = v;
            }
            if w.ends_with('e') && !w.ends_with("le") && n > 1 {
                n -= 1;
            }
            n.max(1)
        })
        .sum();
    let (w, s) = (words.len().max(1) as f64, sentences as f64);
    206.835 - 1.015 * (w / s) - 84.6 * (syllables as f64 / w)
}

/// What a patient reads after the session (aftercare, warning signs and the
/// risks in words) reads easily: Flesch reading ease of 60 or more.
#[test]
fn patient_texts_read_easily() {
    let kb = kb();
    assert!(reading_ease("The cat sat on the mat. It was happy.") > 90.0);
    assert!(
        reading_ease("Post-inflammatory hyperpigmentation necessitates photoprotection.") < 30.0
    );
    let mut texts: Vec<(&str, String)> = vec![];
    for s in &kb.aftercare {
        texts.push(("aftercare", format!("{}: {}", s.window(), s.text)));
    }
    for w in &kb.warning_signs {
        texts.push(("warning sign", w.text.clone()));
    }
    for e in &kb.adverse_events {
        texts.push(("risk", format!("{}: {}.", e.plain_name, e.in_words)));
    }
    let all: String = texts.iter().map(|(_, t)| format!("{t}\n")).collect();
    let score = reading_ease(&all);
    assert!(score >= 60.0, "reading ease {score:.0}:\n{all}");

    // The whole consent a patient signs, and every intake question.
    let h = history(&[("acne_scars", "cheeks"), ("striae", "abdomen")]);
    let p = needlepoint_domain::plan::Plan::from_proposal(
        &plan(&kb, &h, "skinpen").unwrap(),
        "skinpen",
    );
    let consent =
        needlepoint_domain::plan::consent_text(&kb, &p, None, "Amara Okafor", "Harbour Clinic", &h);
    let score = reading_ease(&consent);
    assert!(score >= 60.0, "the consent reads at {score:.0}:\n{consent}");
    let questions: String = [&kb.conditions, &kb.medications, &kb.allergies, &kb.events]
        .iter()
        .flat_map(|l| l.iter().map(|q| format!("{}\n", q.question)))
        .collect();
    let score = reading_ease(&questions);
    assert!(
        score >= 60.0,
        "the intake questions read at {score:.0}:\n{questions}"
    );
}

fn with_severity(indication: &str, area: &str, severity: Severity) -> PatientHistory {
    let mut h = history(&[(indication, area)]);
    h.concerns[0].severity = severity;
    h
}

/// Severity places the course in the indication's sessions range and the
/// area's depth range: mild, moderate and severe acne scars on the cheeks
/// no longer get the same plan.
#[test]
fn severity_sets_sessions_and_depth_within_the_ranges() {
    let kb = kb();
    // (severity, sessions, depth proposed) for acne scars (3–5 sessions,
    // typically 3) on the cheeks (scars 0.5–2.0 mm, SkinPen evaluated to 1.5).
    for (severity, sessions, depth) in [
        (Severity::Mild, 3, "0.5-1"),
        (Severity::Moderate, 3, "0.5-1.5"),
        (Severity::Severe, 5, "1-1.5"),
    ] {
        let p = plan(
            &kb,
            &with_severity("acne_scars", "cheeks", severity),
            "skinpen",
        )
        .unwrap();
        assert_eq!(p.tracks[0].sessions, sessions, "{severity:?}: sessions");
        assert_eq!(p.areas[0].depth.to_string(), depth, "{severity:?}: depth");
        assert_eq!(
            p.areas[0].guideline.to_string(),
            "0.5-1.5",
            "{severity:?}: the guideline is the whole range"
        );
        let t = &p.tracks[0];
        assert!((t.sessions_min..=t.sessions_max).contains(&t.sessions));
    }
    let severe = plan(
        &kb,
        &with_severity("acne_scars", "cheeks", Severity::Severe),
        "skinpen",
    )
    .unwrap();
    assert!(
        severe.tracks[0]
            .reconciliation
            .iter()
            .any(|r| r.contains("5 sessions for a severe concern")),
        "{:?}",
        severe.tracks[0].reconciliation
    );
    assert!(severe.areas[0]
        .notes
        .iter()
        .any(|n| n.contains("upper part")));
    // Still capped for skin types IV–VI: severe scars on type V skin stop
    // at the conservative depth.
    let mut dark = with_severity("acne_scars", "cheeks", Severity::Severe);
    dark.fitzpatrick = Some(5);
    let p = plan(&kb, &dark, "skinpen").unwrap();
    assert_eq!(p.areas[0].depth.to_string(), "1-1");
    // Two concerns on one area: the worse one sets the depth.
    let mut two = history(&[("acne_scars", "cheeks"), ("fine_lines", "cheeks")]);
    two.concerns[0].severity = Severity::Mild;
    two.concerns[1].severity = Severity::Severe;
    let p = plan(&kb, &two, "skinpen").unwrap();
    assert!(
        p.areas[0].notes.iter().any(|n| n.contains("severe")),
        "{:?}",
        p.areas[0].notes
    );
}

#[test]
fn the_knowledge_base_has_one_severity_rule_per_level() {
    let kb = kb();
    for s in [Severity::Mild, Severity::Moderate, Severity::Severe] {
        let r = kb.severity_rule(s).unwrap();
        assert!(!r.source.is_empty());
    }
}

/// Numbing cream over a large area, under a wrap or warmed has killed (FDA
/// advisories 2007, 2009): a plan that numbs the body says how to numb it,
/// and every plan's pre-treatment says no wrap or heat.
#[test]
fn a_large_area_to_numb_carries_the_precaution() {
    let kb = kb();
    let body = plan(&kb, &history(&[("striae", "abdomen")]), "skinpen").unwrap();
    let p = body
        .precautions
        .iter()
        .find(|p| p.contains("a large area to numb"))
        .unwrap_or_else(|| panic!("{:?}", body.precautions));
    assert!(p.starts_with("Abdomen:") && p.contains("never cover it with a wrap"));
    assert!(p.contains("FDA public health advisories"));
    let face = plan(&kb, &history(&[("acne_scars", "cheeks")]), "skinpen").unwrap();
    assert!(!face.precautions.iter().any(|p| p.contains("large area")));
    assert!(face
        .pretreatment
        .iter()
        .any(|t| t.contains("never under a wrap or warmed")));
}

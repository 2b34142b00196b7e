//! Screening against the shipped knowledge base: a table of patient cases,
//! each with its expected outcome per area and the rules behind it. Together
//! they cover every contraindication, every waiting period on the day before
//! and the day it ends, and combinations.

use jiff::civil::{date, Date};
use needlepoint_domain::history::*;
use needlepoint_domain::screening::{screen, Deferral, Status};
use std::collections::BTreeSet;

use Status::*;

fn base() -> PatientHistory {
    PatientHistory {
        date_of_birth: Some(date(1990, 5, 5)),
        fitzpatrick: Some(2),
        ..Default::default()
    }
}

fn cond(code: &str, areas: &[&str]) -> ConditionEntry {
    ConditionEntry {
        code: code.into(),
        areas: areas.iter().map(|a| a.to_string()).collect(),
        since: None,
        resolved_on: None,
        controlled: None,
        note: None,
    }
}

fn med(code: &str, started: Option<Date>, stopped: Option<Date>) -> MedicationEntry {
    MedicationEntry {
        code: code.into(),
        started_on: started,
        stopped_on: stopped,
        note: None,
    }
}

fn event(code: &str, on: Date, areas: &[&str]) -> EventEntry {
    EventEntry {
        code: code.into(),
        on,
        areas: areas.iter().map(|a| a.to_string()).collect(),
        note: None,
    }
}

fn allergy(code: &str) -> AllergyEntry {
    AllergyEntry {
        code: code.into(),
        note: None,
    }
}

/// What one area should come out as.
struct Expect {
    area: &'static str,
    status: Status,
    deferral: Option<Deferral>,
    rules: &'static [&'static str],
}

fn ok(area: &'static str) -> Expect {
    Expect {
        area,
        status: Eligible,
        deferral: None,
        rules: &[],
    }
}

fn is(area: &'static str, status: Status, rules: &'static [&'static str]) -> Expect {
    Expect {
        area,
        status,
        deferral: None,
        rules,
    }
}

fn until(area: &'static str, d: Date, rules: &'static [&'static str]) -> Expect {
    Expect {
        area,
        status: Deferred,
        deferral: Some(Deferral::Until(d)),
        rules,
    }
}

/// Deferred until `d`, and then `status` (a physician's approval, say).
fn until_then(
    area: &'static str,
    d: Date,
    status: Status,
    rules: &'static [&'static str],
) -> Expect {
    Expect {
        area,
        status,
        deferral: Some(Deferral::Until(d)),
        rules,
    }
}

fn resolved(area: &'static str, status: Status, rules: &'static [&'static str]) -> Expect {
    Expect {
        area,
        status,
        deferral: Some(Deferral::UntilResolved),
        rules,
    }
}

struct Case {
    name: &'static str,
    history: PatientHistory,
    on: Date,
    expect: Vec<Expect>,
}

fn case(
    name: &'static str,
    on: Date,
    f: impl FnOnce(&mut PatientHistory),
    expect: Vec<Expect>,
) -> Case {
    let mut history = base();
    f(&mut history);
    Case {
        name,
        history,
        on,
        expect,
    }
}

const NOV22: Date = date(2026, 11, 22);

fn cases() -> Vec<Case> {
    vec![
        // Nothing to find.
        case(
            "healthy adult",
            NOV22,
            |_| {},
            vec![ok("cheeks"), ok("forehead"), ok("abdomen")],
        ),
        case(
            "Fitzpatrick III is no precaution",
            NOV22,
            |h| h.fitzpatrick = Some(3),
            vec![ok("cheeks")],
        ),
        case(
            "a skin type the patient was not sure of keeps the darker types' precaution",
            NOV22,
            |h| h.fitzpatrick = None,
            vec![is(
                "cheeks",
                EligibleWithPrecautions,
                &["fitzpatrick_iv_vi"],
            )],
        ),
        // Area-scoped conditions.
        case(
            "skin cancer in one area",
            NOV22,
            |h| h.conditions.push(cond("skin_cancer", &["cheeks"])),
            vec![
                is("cheeks", NotEligible, &["skin_cancer_area"]),
                ok("forehead"),
            ],
        ),
        case(
            "open wound in one area",
            NOV22,
            |h| h.conditions.push(cond("open_wound", &["jaw_chin"])),
            vec![
                resolved("jaw_chin", Deferred, &["open_wound_area"]),
                ok("cheeks"),
            ],
        ),
        case(
            "active acne on the cheeks",
            NOV22,
            |h| h.conditions.push(cond("active_acne", &["cheeks"])),
            vec![
                resolved("cheeks", Deferred, &["active_acne_area"]),
                ok("forehead"),
                ok("neck"),
            ],
        ),
        case(
            "active acne with no area recorded counts everywhere",
            NOV22,
            |h| h.conditions.push(cond("active_acne", &[])),
            vec![
                resolved("cheeks", Deferred, &["active_acne_area"]),
                resolved("back", Deferred, &["active_acne_area"]),
            ],
        ),
        case(
            "acne resolved yesterday no longer counts",
            NOV22,
            |h| {
                let mut c = cond("active_acne", &["cheeks"]);
                c.resolved_on = Some(date(2026, 11, 21));
                h.conditions.push(c);
            },
            vec![ok("cheeks")],
        ),
        case(
            "acne resolving tomorrow still counts",
            NOV22,
            |h| {
                let mut c = cond("active_acne", &["cheeks"]);
                c.resolved_on = Some(date(2026, 11, 23));
                h.conditions.push(c);
            },
            vec![resolved("cheeks", Deferred, &["active_acne_area"])],
        ),
        case(
            "infection in the area",
            NOV22,
            |h| h.conditions.push(cond("infection", &["nose"])),
            vec![resolved("nose", Deferred, &["infection"]), ok("forehead")],
        ),
        case(
            "eczema flare on the neck",
            NOV22,
            |h| h.conditions.push(cond("inflammatory_flare", &["neck"])),
            vec![
                resolved("neck", Deferred, &["inflammatory_flare_area"]),
                ok("cheeks"),
            ],
        ),
        // Medicines.
        case(
            "isotretinoin taken now",
            NOV22,
            |h| {
                h.medications
                    .push(med("isotretinoin", Some(date(2026, 9, 1)), None))
            },
            vec![
                is("cheeks", NotEligible, &["isotretinoin_current"]),
                is("back", NotEligible, &["isotretinoin_current"]),
            ],
        ),
        case(
            "isotretinoin stopped: the day before the wait ends",
            date(2026, 11, 21),
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2026, 5, 22))))
            },
            vec![until("cheeks", NOV22, &["isotretinoin_stopped"])],
        ),
        case(
            "isotretinoin stopped: the day the wait ends",
            NOV22,
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2026, 5, 22))))
            },
            vec![ok("cheeks")],
        ),
        case(
            "isotretinoin stopped 31 Aug: six months end on 28 Feb",
            date(2027, 2, 27),
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2026, 8, 31))))
            },
            vec![until(
                "forehead",
                date(2027, 2, 28),
                &["isotretinoin_stopped"],
            )],
        ),
        case(
            "isotretinoin stopped 31 Aug: eligible on 28 Feb",
            date(2027, 2, 28),
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2026, 8, 31))))
            },
            vec![ok("forehead")],
        ),
        case(
            "isotretinoin stopped 31 Aug 2027: leap year, 29 Feb",
            date(2028, 2, 28),
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2027, 8, 31))))
            },
            vec![until(
                "forehead",
                date(2028, 2, 29),
                &["isotretinoin_stopped"],
            )],
        ),
        case(
            "isotretinoin stopped today is no longer current",
            NOV22,
            |h| {
                h.medications
                    .push(med("isotretinoin", Some(date(2026, 1, 1)), Some(NOV22)))
            },
            vec![until(
                "cheeks",
                date(2027, 5, 22),
                &["isotretinoin_stopped"],
            )],
        ),
        case(
            "anticoagulant taken now",
            NOV22,
            |h| h.medications.push(med("anticoagulant", None, None)),
            vec![is("cheeks", NeedsPhysicianApproval, &["anticoagulants"])],
        ),
        case(
            "antiplatelet taken now",
            NOV22,
            |h| {
                h.medications
                    .push(med("antiplatelet", Some(date(2020, 1, 1)), None))
            },
            vec![is("neck", NeedsPhysicianApproval, &["anticoagulants"])],
        ),
        case(
            "anticoagulant stopped last month",
            NOV22,
            |h| {
                h.medications.push(med(
                    "anticoagulant",
                    Some(date(2025, 1, 1)),
                    Some(date(2026, 10, 1)),
                ))
            },
            vec![ok("cheeks")],
        ),
        case(
            "a retinoid cream triggers no rule",
            NOV22,
            |h| h.medications.push(med("topical_retinoid", None, None)),
            vec![ok("cheeks")],
        ),
        // Whole-patient conditions.
        case(
            "bleeding disorder",
            NOV22,
            |h| h.conditions.push(cond("bleeding_disorder", &[])),
            vec![
                is("cheeks", NotEligible, &["bleeding_disorder"]),
                is("scalp", NotEligible, &["bleeding_disorder"]),
            ],
        ),
        case(
            "pregnant",
            NOV22,
            |h| h.pregnant = true,
            vec![resolved("cheeks", Deferred, &["pregnancy"])],
        ),
        case(
            "breastfeeding",
            NOV22,
            |h| h.breastfeeding = true,
            vec![resolved("abdomen", Deferred, &["breastfeeding"])],
        ),
        case(
            "immunosuppressed",
            NOV22,
            |h| h.conditions.push(cond("immunosuppression", &[])),
            vec![is("cheeks", NeedsPhysicianApproval, &["immunosuppression"])],
        ),
        case(
            "keloid tendency needs approval and a test spot",
            NOV22,
            |h| h.conditions.push(cond("keloid_tendency", &[])),
            vec![is("chest", NeedsPhysicianApproval, &["keloid_tendency"])],
        ),
        case(
            "controlled diabetes",
            NOV22,
            |h| {
                let mut c = cond("diabetes", &[]);
                c.controlled = Some(true);
                h.conditions.push(c);
            },
            vec![is("cheeks", NeedsPhysicianApproval, &["diabetes"])],
        ),
        case(
            "uncontrolled diabetes: approval, and deferred until controlled",
            NOV22,
            |h| {
                let mut c = cond("diabetes", &[]);
                c.controlled = Some(false);
                h.conditions.push(c);
            },
            vec![resolved(
                "cheeks",
                NeedsPhysicianApproval,
                &["diabetes", "diabetes_uncontrolled"],
            )],
        ),
        // Precautions.
        case(
            "cold sores: precaution on the face only",
            NOV22,
            |h| h.conditions.push(cond("herpes_simplex", &[])),
            vec![
                is(
                    "perioral",
                    EligibleWithPrecautions,
                    &["herpes_simplex_face"],
                ),
                is(
                    "forehead",
                    EligibleWithPrecautions,
                    &["herpes_simplex_face"],
                ),
                ok("neck"),
                ok("abdomen"),
            ],
        ),
        case(
            "nickel allergy",
            NOV22,
            |h| h.allergies.push(allergy("nickel")),
            vec![is("cheeks", EligibleWithPrecautions, &["nickel_allergy"])],
        ),
        case(
            "numbing-cream allergy",
            NOV22,
            |h| h.allergies.push(allergy("topical_anaesthetic")),
            vec![is(
                "cheeks",
                EligibleWithPrecautions,
                &["anaesthetic_allergy"],
            )],
        ),
        case(
            "Fitzpatrick IV",
            NOV22,
            |h| h.fitzpatrick = Some(4),
            vec![is(
                "cheeks",
                EligibleWithPrecautions,
                &["fitzpatrick_iv_vi"],
            )],
        ),
        case(
            "Fitzpatrick VI",
            NOV22,
            |h| h.fitzpatrick = Some(6),
            vec![is("arms", EligibleWithPrecautions, &["fitzpatrick_iv_vi"])],
        ),
        // Age.
        case(
            "21 on the day before the 22nd birthday",
            date(2026, 11, 21),
            |h| h.date_of_birth = Some(date(2004, 11, 22)),
            vec![is("cheeks", NeedsPhysicianApproval, &["under_22"])],
        ),
        case(
            "22 on the birthday",
            NOV22,
            |h| h.date_of_birth = Some(date(2004, 11, 22)),
            vec![ok("cheeks")],
        ),
        case(
            "born 29 Feb: still 21 on 28 Feb",
            date(2026, 2, 28),
            |h| h.date_of_birth = Some(date(2004, 2, 29)),
            vec![is("cheeks", NeedsPhysicianApproval, &["under_22"])],
        ),
        case(
            "born 29 Feb: 22 on 1 Mar",
            date(2026, 3, 1),
            |h| h.date_of_birth = Some(date(2004, 2, 29)),
            vec![ok("cheeks")],
        ),
        // Events with waiting periods, each on both sides of its end.
        case(
            "neurotoxin in the forehead: day before",
            date(2026, 11, 23),
            |h| {
                h.events
                    .push(event("neurotoxin", date(2026, 11, 10), &["forehead"]))
            },
            vec![
                until("forehead", date(2026, 11, 24), &["neurotoxin_area"]),
                ok("cheeks"),
            ],
        ),
        case(
            "neurotoxin in the forehead: the day itself",
            date(2026, 11, 24),
            |h| {
                h.events
                    .push(event("neurotoxin", date(2026, 11, 10), &["forehead"]))
            },
            vec![ok("forehead")],
        ),
        case(
            "filler around the mouth: day before",
            date(2026, 12, 14),
            |h| {
                h.events
                    .push(event("filler", date(2026, 12, 1), &["perioral"]))
            },
            vec![
                until("perioral", date(2026, 12, 15), &["filler_area"]),
                ok("forehead"),
            ],
        ),
        case(
            "filler around the mouth: the day itself",
            date(2026, 12, 15),
            |h| {
                h.events
                    .push(event("filler", date(2026, 12, 1), &["perioral"]))
            },
            vec![ok("perioral")],
        ),
        case(
            "sunburn across the new year: day before",
            date(2027, 1, 2),
            |h| {
                h.events
                    .push(event("sunburn", date(2026, 12, 20), &["chest"]))
            },
            vec![
                until("chest", date(2027, 1, 3), &["sunburn_area"]),
                ok("hands"),
            ],
        ),
        case(
            "sunburn across the new year: the day itself",
            date(2027, 1, 3),
            |h| {
                h.events
                    .push(event("sunburn", date(2026, 12, 20), &["chest"]))
            },
            vec![ok("chest")],
        ),
        case(
            "radiotherapy to the cheeks: day before",
            date(2026, 11, 14),
            |h| {
                h.events
                    .push(event("radiotherapy", date(2026, 8, 15), &["cheeks"]))
            },
            vec![
                until_then(
                    "cheeks",
                    date(2026, 11, 15),
                    NeedsPhysicianApproval,
                    &["radiotherapy_area", "radiotherapy_area_approval"],
                ),
                ok("forehead"),
            ],
        ),
        case(
            "radiotherapy to the cheeks: the day the wait ends, irradiated skin needs approval",
            date(2026, 11, 15),
            |h| {
                h.events
                    .push(event("radiotherapy", date(2026, 8, 15), &["cheeks"]))
            },
            vec![is(
                "cheeks",
                NeedsPhysicianApproval,
                &["radiotherapy_area_approval"],
            )],
        ),
        case(
            "radiotherapy on 30 Nov: three months end on 28 Feb",
            date(2027, 2, 27),
            |h| {
                h.events
                    .push(event("radiotherapy", date(2026, 11, 30), &["chest"]))
            },
            vec![until_then(
                "chest",
                date(2027, 2, 28),
                NeedsPhysicianApproval,
                &["radiotherapy_area", "radiotherapy_area_approval"],
            )],
        ),
        case(
            "an active cold sore on the lips defers the perioral area until it heals",
            NOV22,
            |h| h.conditions.push(cond("viral_lesion", &["perioral"])),
            vec![
                resolved("perioral", Deferred, &["viral_lesion_area"]),
                ok("forehead"),
            ],
        ),
        case(
            "scleroderma: not eligible",
            NOV22,
            |h| h.conditions.push(cond("collagen_vascular", &[])),
            vec![is("cheeks", NotEligible, &["collagen_vascular"])],
        ),
        case(
            "a pacemaker: a physician approves",
            NOV22,
            |h| h.conditions.push(cond("cardiac", &[])),
            vec![is("cheeks", NeedsPhysicianApproval, &["cardiac"])],
        ),
        case(
            "vitiligo, quiet for years: still a physician's approval",
            NOV22,
            |h| h.conditions.push(cond("koebnerising", &[])),
            vec![is("cheeks", NeedsPhysicianApproval, &["koebnerising"])],
        ),
        case(
            "permanent make-up on the lips: not over it",
            NOV22,
            |h| h.conditions.push(cond("tattoo", &["perioral"])),
            vec![
                is("perioral", EligibleWithPrecautions, &["tattoo_area"]),
                ok("cheeks"),
            ],
        ),
        case(
            "moles on the cheeks: needle around them",
            NOV22,
            |h| h.conditions.push(cond("mole", &["cheeks"])),
            vec![
                is("cheeks", EligibleWithPrecautions, &["mole_area"]),
                ok("forehead"),
            ],
        ),
        case(
            "waxing the upper lip on 12 Nov: the day before two weeks end",
            date(2026, 11, 25),
            |h| {
                h.events
                    .push(event("resurfacing", date(2026, 11, 12), &["perioral"]))
            },
            vec![until("perioral", date(2026, 11, 26), &["resurfacing_area"])],
        ),
        case(
            "waxing the upper lip on 12 Nov: the day the two weeks end",
            date(2026, 11, 26),
            |h| {
                h.events
                    .push(event("resurfacing", date(2026, 11, 12), &["perioral"]))
            },
            vec![ok("perioral")],
        ),
        case(
            "silicone filler in the cheeks: a physician approves",
            NOV22,
            |h| h.conditions.push(cond("permanent_implant", &["cheeks"])),
            vec![
                is(
                    "cheeks",
                    NeedsPhysicianApproval,
                    &["permanent_implant_area"],
                ),
                ok("forehead"),
            ],
        ),
        case(
            "allergic to chlorhexidine: another cleanser",
            NOV22,
            |h| h.allergies.push(allergy("skin_prep")),
            vec![is(
                "cheeks",
                EligibleWithPrecautions,
                &["skin_prep_allergy"],
            )],
        ),
        case(
            "fish oil every day: more bruising, said",
            NOV22,
            |h| {
                h.medications
                    .push(med("thinning_supplement", Some(date(2025, 1, 1)), None))
            },
            vec![is(
                "cheeks",
                EligibleWithPrecautions,
                &["thinning_supplement"],
            )],
        ),
        case(
            "G6PD deficiency: numbing cream needs a physician",
            NOV22,
            |h| h.conditions.push(cond("g6pd_deficiency", &[])),
            vec![is(
                "cheeks",
                NeedsPhysicianApproval,
                &["methaemoglobinaemia_risk"],
            )],
        ),
        case(
            "a nitrate spray for angina: numbing cream needs a physician",
            NOV22,
            |h| {
                h.medications
                    .push(med("methaemoglobin_drug", Some(date(2024, 3, 1)), None))
            },
            vec![is(
                "cheeks",
                NeedsPhysicianApproval,
                &["methaemoglobinaemia_drug"],
            )],
        ),
        case(
            "a smoker: slower healing, said",
            NOV22,
            |h| h.conditions.push(cond("smoking", &[])),
            vec![is("cheeks", EligibleWithPrecautions, &["smoking"])],
        ),
        case(
            "aged 17: a guardian consents too, and a physician approves (under 22)",
            NOV22,
            |h| h.date_of_birth = Some(date(2009, 6, 1)),
            vec![is("cheeks", NeedsPhysicianApproval, &["minor", "under_22"])],
        ),
        case(
            "easy bruising is a symptom: a clinician reviews it, it does not exclude",
            NOV22,
            |h| h.conditions.push(cond("easy_bruising", &[])),
            vec![is("cheeks", NeedsPhysicianApproval, &["easy_bruising"])],
        ),
        case(
            "a mole being checked on the nose: deferred until the result, the cheeks clear",
            NOV22,
            |h| h.conditions.push(cond("lesion_under_review", &["nose"])),
            vec![
                resolved("nose", Deferred, &["lesion_under_review_area"]),
                ok("cheeks"),
            ],
        ),
        case(
            "surgery on the jaw: day before",
            date(2026, 11, 11),
            |h| {
                h.events
                    .push(event("surgery", date(2026, 10, 1), &["jaw_chin"]))
            },
            vec![
                until("jaw_chin", date(2026, 11, 12), &["surgery_area"]),
                ok("forehead"),
            ],
        ),
        case(
            "surgery on the jaw: the day itself",
            date(2026, 11, 12),
            |h| {
                h.events
                    .push(event("surgery", date(2026, 10, 1), &["jaw_chin"]))
            },
            vec![ok("jaw_chin")],
        ),
        case(
            "sunburn with no area recorded defers every area",
            date(2026, 11, 25),
            |h| h.events.push(event("sunburn", NOV22, &[])),
            vec![
                until("cheeks", date(2026, 12, 6), &["sunburn_area"]),
                until("arms", date(2026, 12, 6), &["sunburn_area"]),
            ],
        ),
        // Combinations.
        case(
            "two waits: the later date wins",
            NOV22,
            |h| {
                h.medications
                    .push(med("isotretinoin", None, Some(date(2026, 6, 1))));
                h.events
                    .push(event("neurotoxin", date(2026, 11, 20), &["forehead"]));
            },
            vec![
                until(
                    "forehead",
                    date(2026, 12, 4),
                    &["isotretinoin_stopped", "neurotoxin_area"],
                ),
                until("cheeks", date(2026, 12, 1), &["isotretinoin_stopped"]),
            ],
        ),
        case(
            "pregnant with a bleeding disorder: not eligible, deferral kept",
            NOV22,
            |h| {
                h.pregnant = true;
                h.conditions.push(cond("bleeding_disorder", &[]));
            },
            vec![resolved(
                "cheeks",
                NotEligible,
                &["bleeding_disorder", "pregnancy"],
            )],
        ),
        case(
            "approval outranks a dated deferral",
            NOV22,
            |h| {
                h.medications.push(med("anticoagulant", None, None));
                h.events
                    .push(event("filler", date(2026, 11, 20), &["cheeks"]));
            },
            vec![
                Expect {
                    area: "cheeks",
                    status: NeedsPhysicianApproval,
                    deferral: Some(Deferral::Until(date(2026, 12, 4))),
                    rules: &["anticoagulants", "filler_area"],
                },
                is("forehead", NeedsPhysicianApproval, &["anticoagulants"]),
            ],
        ),
        case(
            "precautions add up under a deferral",
            NOV22,
            |h| {
                h.fitzpatrick = Some(5);
                h.conditions.push(cond("herpes_simplex", &[]));
                h.conditions.push(cond("active_acne", &["cheeks"]));
            },
            vec![
                resolved(
                    "cheeks",
                    Deferred,
                    &[
                        "active_acne_area",
                        "fitzpatrick_iv_vi",
                        "herpes_simplex_face",
                    ],
                ),
                is("neck", EligibleWithPrecautions, &["fitzpatrick_iv_vi"]),
            ],
        ),
        case(
            "cancer on the nose, sunburn on the cheeks, neck clear",
            NOV22,
            |h| {
                h.conditions.push(cond("skin_cancer", &["nose"]));
                h.events
                    .push(event("sunburn", date(2026, 11, 15), &["cheeks"]));
            },
            vec![
                is("nose", NotEligible, &["skin_cancer_area"]),
                until("cheeks", date(2026, 11, 29), &["sunburn_area"]),
                ok("neck"),
            ],
        ),
        case(
            "young, pregnant, on isotretinoin",
            NOV22,
            |h| {
                h.date_of_birth = Some(date(2006, 1, 1));
                h.pregnant = true;
                h.medications.push(med("isotretinoin", None, None));
            },
            vec![resolved(
                "scalp",
                NotEligible,
                &["isotretinoin_current", "pregnancy", "under_22"],
            )],
        ),
    ]
}

#[test]
fn every_case_gives_its_expected_outcome() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let cases = cases();
    assert!(cases.len() >= 40, "at least 40 cases ({})", cases.len());
    for c in &cases {
        c.history
            .validate(&kb, c.on)
            .unwrap_or_else(|e| panic!("{}: invalid history: {e}", c.name));
        let areas: Vec<String> = c.expect.iter().map(|e| e.area.to_string()).collect();
        let s = screen(&kb, &c.history, &areas, c.on).unwrap();
        for e in &c.expect {
            let a = s.area(e.area).unwrap();
            assert_eq!(a.status, e.status, "{}: status of {}", c.name, e.area);
            assert_eq!(a.deferral, e.deferral, "{}: deferral of {}", c.name, e.area);
            let got: BTreeSet<&str> = a.reasons.iter().map(|r| r.rule_id.as_str()).collect();
            let want: BTreeSet<&str> = e.rules.iter().copied().collect();
            assert_eq!(got, want, "{}: rules for {}", c.name, e.area);
            for r in &a.reasons {
                assert!(
                    !r.fact.is_empty() && !r.source.is_empty(),
                    "{}: reason names its fact and source",
                    c.name
                );
            }
        }
        let strictest = c.expect.iter().map(|e| e.status).max().unwrap();
        assert_eq!(
            s.status, strictest,
            "{}: overall is the strictest area",
            c.name
        );
    }
}

#[test]
fn the_cases_cover_every_contraindication() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let covered: BTreeSet<&str> = cases()
        .iter()
        .flat_map(|c| {
            c.expect
                .iter()
                .flat_map(|e| e.rules.iter().copied())
                .collect::<Vec<_>>()
        })
        .collect();
    let all: BTreeSet<&str> = kb.rules.iter().map(|r| r.id.as_str()).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
    // Every rule with a waiting period has a case on the day before and on the day it ends.
    for r in kb.rules.iter().filter(|r| r.wait.is_some()) {
        let named: Vec<&str> = cases()
            .iter()
            .filter(|c| c.expect.iter().any(|e| e.rules.contains(&r.id.as_str())))
            .map(|c| c.name)
            .collect();
        assert!(
            named
                .iter()
                .any(|n| n.contains("day before") || n.contains("end on")),
            "{}: no day-before case",
            r.id
        );
    }
}

#[test]
fn reasons_say_what_and_why() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let mut h = base();
    h.medications
        .push(med("isotretinoin", None, Some(date(2026, 6, 1))));
    let s = screen(&kb, &h, &["cheeks".into()], NOV22).unwrap();
    let r = &s.area("cheeks").unwrap().reasons[0];
    assert_eq!(
        r.fact,
        "Isotretinoin (Roaccutane, Accutane), stopped 2026-06-01"
    );
    assert!(r.source.contains("SkinPen label"));
    assert_eq!(s.deferral, Some(Deferral::Until(date(2026, 12, 1))));
    let mut h = base();
    h.conditions.push(cond("herpes_simplex", &[]));
    let s = screen(&kb, &h, &["cheeks".into()], NOV22).unwrap();
    assert_eq!(
        s.precautions,
        ["Oral antiviral prophylaxis, starting before and continuing for a week."]
    );
}

#[test]
fn contradictions_and_unknown_codes_are_refused_with_the_field() {
    let kb = needlepoint_knowledge::shipped().unwrap();
    let fields = |h: &PatientHistory| -> Vec<String> {
        h.validate(&kb, NOV22)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect()
    };
    let mut h = base();
    h.medications.push(med(
        "isotretinoin",
        Some(date(2026, 5, 1)),
        Some(date(2026, 4, 1)),
    ));
    assert_eq!(fields(&h), ["medications[0].stopped_on"]);
    let mut h = base();
    h.date_of_birth = Some(date(2030, 1, 1));
    assert_eq!(fields(&h), ["date_of_birth"]);
    let mut h = base();
    h.conditions.push(cond("acne_vulgaris", &["cheek"]));
    h.events
        .push(event("botox", date(2026, 11, 1), &["forehead"]));
    h.events.push(event("filler", date(2026, 12, 1), &[]));
    h.allergies.push(allergy("latex"));
    h.concerns.push(Concern {
        indication: "hair_removal".into(),
        area: "cheeks".into(),
        severity: Severity::Mild,
    });
    assert_eq!(
        fields(&h),
        [
            "conditions[0].code",
            "conditions[0].areas",
            "allergies[0].code",
            "events[0].code",
            "events[1].on",
            "concerns[0].indication"
        ]
    );
    assert!(screen(&kb, &base(), &["elbow".into()], NOV22).is_err());
    assert!(screen(&kb, &base(), &[], NOV22).is_err());
}

#[test]
fn the_history_json_format_rejects_unknown_keys() {
    let ok: PatientHistory = serde_json::from_str(
        r#"{"date_of_birth": "1990-05-05", "fitzpatrick": 4,
            "medications": [{"code": "isotretinoin", "stopped_on": "2026-06-01"}],
            "events": [{"code": "neurotoxin", "on": "2026-11-10", "areas": ["forehead"]}],
            "concerns": [{"indication": "acne_scars", "area": "cheeks", "severity": "moderate"}]}"#,
    )
    .unwrap();
    assert_eq!(ok.medications[0].stopped_on, Some(date(2026, 6, 1)));
    let bad = serde_json::from_str::<PatientHistory>(
        r#"{"date_of_birth": "1990-05-05", "smoker": true}"#,
    );
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("unknown field `smoker`"));
}

/// When a deferral and a physician's approval both apply, the outcome in
/// words says both, so the approval is never read alone (the headline, the
/// table, the CLI and the API all use these words).
#[test]
fn a_deferral_with_an_approval_says_both() {
    use needlepoint_domain::screening::outcome_words;
    let kb = needlepoint_knowledge::shipped().unwrap();
    let mut h = base();
    let mut c = cond("diabetes", &[]);
    c.controlled = Some(false);
    h.conditions.push(c);
    let s = screen(&kb, &h, &["cheeks".into()], NOV22).unwrap();
    assert_eq!(s.status, NeedsPhysicianApproval);
    assert_eq!(
        outcome_words(s.status, s.deferral, |d| d.to_string()),
        "Deferred until resolved, then needs physician approval"
    );
    let d = date(2026, 12, 4);
    let iso = |d: Date| d.to_string();
    let dated = Some(Deferral::Until(d));
    assert_eq!(
        outcome_words(NeedsPhysicianApproval, dated, iso),
        "Deferred until 2026-12-04, then needs physician approval"
    );
    assert_eq!(
        outcome_words(Deferred, dated, iso),
        "Deferred until 2026-12-04"
    );
    assert_eq!(outcome_words(NotEligible, dated, iso), "Not eligible");
    assert_eq!(
        outcome_words(NeedsPhysicianApproval, None, iso),
        "Needs physician approval"
    );
    // A clinician's override to eligible decides; the engine's wait is not said.
    assert_eq!(outcome_words(Eligible, dated, iso), "Eligible");
}

/// The wait after isotretinoin is the clinic's choice among the waits with
/// a source (0, 3 or 6 months), not a number to retype; 12 months has no
/// source and is refused.
#[test]
fn the_isotretinoin_wait_is_a_choice_with_sources() {
    let mut kb = needlepoint_knowledge::shipped().unwrap();
    let setting = kb
        .settings()
        .into_iter()
        .find(|s| s.key == "contraindication.isotretinoin_stopped.wait")
        .unwrap();
    let values: Vec<&str> = setting.choices.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, ["0 months", "3 months", "6 months"]);
    assert!(setting.choices[0]
        .1
        .contains("Spring et al., JAMA Dermatol 2017"));
    assert_eq!(setting.value, "6 months", "the default");
    let e = kb
        .apply_override("contraindication.isotretinoin_stopped.wait", "12 months")
        .unwrap_err();
    assert!(e.contains("0 months, 3 months, 6 months"), "{e}");
    // Stopped in June: deferred by the default, eligible with no wait.
    let mut h = base();
    h.medications
        .push(med("isotretinoin", None, Some(date(2026, 6, 1))));
    let on = date(2026, 11, 1);
    let areas = ["cheeks".to_string()];
    let s = screen(&kb, &h, &areas, on).unwrap();
    assert_eq!(s.status, Deferred);
    kb.apply_override("contraindication.isotretinoin_stopped.wait", "3 months")
        .unwrap();
    assert_eq!(screen(&kb, &h, &areas, on).unwrap().status, Eligible);
    kb.apply_override("contraindication.isotretinoin_stopped.wait", "0 months")
        .unwrap();
    let s = screen(&kb, &h, &areas, on).unwrap();
    assert_eq!(s.status, Eligible, "{:?}", s.areas);
    assert!(kb.check().is_empty(), "{:?}", kb.check());
}
